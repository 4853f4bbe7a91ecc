//! A write that fails mid-commit, injected with the fault-injecting store (root ignores file permissions, so
//! no chmod): the day keeps its previous file byte for byte, the failed attempt is in the ledger with its
//! reason, the run reports the failure and a clean retry goes through. On local disk and on S3 (moto).

use std::sync::Arc;

use gridlake_ingest::{ImportOptions, import_files};
use gridlake_lake::{DayState, FaultyStore, Lake};
use gridlake_testkit::S3Server;
use object_store::ObjectStoreExt;

use crate::common::*;

async fn failed_write_keeps_the_previous_day(lake: Lake, listing: impl Fn() -> Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let ds = gridlake_schema::Catalog::builtin()
        .unwrap()
        .get("caiso_lmp_dam")
        .unwrap();
    let first = fixture(CAISO_ONE_DAY);
    let s = import_files(&lake, Arc::clone(&ds), &[first], &ImportOptions::default())
        .await
        .unwrap();
    assert!(!s.has_failures());
    let day = gridlake_schema::date_to_day(chrono::NaiveDate::from_ymd_opt(2020, 5, 10).unwrap());
    let path = lake.partition_path("caiso_lmp_dam", day);
    let before = lake
        .store()
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let objects_before = listing();

    // The same day again from a changed input (one more blank line: another sha256, so a real commit).
    let mut text = std::fs::read(fixture(CAISO_ONE_DAY)).unwrap();
    text.extend_from_slice(b"\n");
    let second = write(dir.path(), "again.csv", text);
    let faulty = FaultyStore::new(Arc::clone(lake.store()));
    faulty.fail_put(1);
    let flaky = lake.wrap_store(|_| Arc::new(faulty.clone()));
    let s = import_files(
        &flaky,
        Arc::clone(&ds),
        std::slice::from_ref(&second),
        &ImportOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(faulty.injected(), 1);
    // The day keeps a complete file, so (as with an input whose every record was rejected) the run is not
    // counted as failed; the day's result carries the error.
    assert_eq!(s.days.len(), 1);
    let error = s.days[0].error.clone().unwrap();
    // The day keeps its earlier file, so its state stays complete; the attempt is logged as failed.
    assert_eq!(s.days[0].state, DayState::Complete, "{error}");
    let after = lake
        .store()
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(before, after, "the previous version of the day is intact");
    assert_eq!(
        listing(),
        objects_before,
        "no new or partial file in the table folder"
    );
    let records = lake.ledger().records(Some("caiso_lmp_dam")).await.unwrap();
    let last = records.last().unwrap();
    assert_eq!(last.state, DayState::Failed);
    assert!(!error.is_empty());
    assert_eq!(last.error.as_deref(), Some(error.as_str()));
    let status = &lake
        .ledger()
        .day_statuses("caiso_lmp_dam", day, day)
        .await
        .unwrap()[0];
    assert_eq!(status.state, DayState::Complete);
    assert_eq!(status.attempts, 2);

    // Without the fault the same input goes in.
    let s = import_files(&lake, ds, &[second], &ImportOptions::default())
        .await
        .unwrap();
    assert!(!s.has_failures());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_on_local_disk_keeps_the_previous_day_and_logs_the_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lake");
    let lake = Lake::open_local(&root).await.unwrap();
    failed_write_keeps_the_previous_day(lake, || table_files(&root, "caiso_lmp_dam")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_on_s3_keeps_the_previous_day_and_logs_the_attempt() {
    let s3 = S3Server::start();
    let bucket = s3.new_bucket();
    let store: Arc<dyn object_store::ObjectStore> =
        Arc::new(s3.builder().with_bucket_name(&bucket).build().unwrap());
    let lake = Lake::open(
        store,
        object_store::path::Path::from("lake"),
        format!("s3://{bucket}/lake"),
    )
    .await
    .unwrap();
    failed_write_keeps_the_previous_day(lake, Vec::new).await;
}
