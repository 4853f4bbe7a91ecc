//! Request budgets: the state of ten years of one dataset costs a handful of LISTs, not a request per
//! day. Counted at the client ([`InstrumentedStore`]) and, on S3, at the server (moto's request log).

use std::sync::Arc;

use futures::StreamExt;
use gridlake_testkit::S3Server;

use super::*;
use crate::{DayState, InstrumentedStore, LedgerRecord, RequestCounts};

/// Ten years of days.
const DAYS: i32 = 3653;

/// Writes a synthetic lake: a (tiny, not Parquet) file for each of `DAYS` days and one ledger file
/// recording every day as complete, as ten years of nightly runs would leave it after compaction.
async fn synthetic(lake: &Lake) -> (i32, i32) {
    let start = day0();
    let end = start + DAYS - 1;
    futures::stream::iter(start..=end)
        .map(|d| {
            let lake = lake.clone();
            async move { put_raw(&lake, &lake.partition_path(DATASET, d), b"x").await }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    let records: Vec<LedgerRecord> = (start..=end)
        .map(|d| LedgerRecord {
            run_id: "r".into(),
            dataset: DATASET.into(),
            day: d,
            state: DayState::Complete,
            rows: 4320,
            expected_rows: Some(4320),
            records_read: 4320,
            records_written: 4320,
            records_rejected: 0,
            records_superseded: 0,
            bytes: 1,
            inputs: vec![],
            error: None,
            recorded_at: i64::from(d),
            duration_ms: 1,
        })
        .collect();
    lake.ledger().append(&records).await.unwrap();
    (start, end)
}

/// Measures `partition_days` and `day_statuses` over the whole range.
async fn measure(lake: &Lake) -> (RequestCounts, RequestCounts) {
    let (start, end) = synthetic(lake).await;
    let counted = InstrumentedStore::new(Arc::clone(lake.store()));
    let probe = lake.wrap_store(|_| Arc::new(counted.clone()));
    let days = probe.partition_days(DATASET).await.unwrap();
    assert_eq!(days.len(), DAYS as usize);
    let partition_days = counted.counts();
    counted.reset();
    let st = probe
        .ledger()
        .day_statuses(DATASET, start, end)
        .await
        .unwrap();
    assert_eq!(st.len(), DAYS as usize);
    assert!(st.iter().all(|s| s.state == DayState::Complete));
    (partition_days, counted.counts())
}

fn check(partition_days: RequestCounts, statuses: RequestCounts) {
    eprintln!("10 years ({DAYS} days): partition_days {partition_days}; day_statuses {statuses}");
    // ⌈3653 / 1000⌉ = 4 pages of the table listing, nothing else.
    assert_eq!(
        partition_days,
        RequestCounts {
            list: 4,
            ..Default::default()
        }
    );
    // The same 4 + one page of the ledger's top level (files of the old flat layout) + one page of the
    // dataset's ledger folder + one GET of its one file; no footer is read, since every file has a record.
    assert_eq!(
        statuses,
        RequestCounts {
            list: 6,
            get: 1,
            ..Default::default()
        }
    );
}

#[tokio::test]
async fn ten_years_of_state_cost_a_few_lists_on_local_disk() {
    let (lake, _dir) = local_lake().await;
    let (p, s) = measure(&lake).await;
    check(p, s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_years_of_state_cost_a_few_lists_on_s3() {
    let server = S3Server::start();
    let lake = s3_lake(&server).await;
    let before = server.requests().len();
    let (p, s) = measure(&lake).await;
    check(p, s);
    // The server agrees: the requests after the synthetic writes are 10 LIST pages and 1 GET.
    let reqs = server.requests();
    let after: Vec<&String> = reqs[before..]
        .iter()
        .filter(|r| !r.starts_with("PUT "))
        .collect();
    let lists = after.iter().filter(|r| r.contains("list-type=2")).count();
    let gets = after.len() - lists;
    eprintln!("moto saw {lists} LIST and {gets} GET requests for partition_days + day_statuses");
    assert_eq!((lists, gets), (10, 1), "{after:?}");
}

/// Footers are read only for files with no ledger record: one GET per such file.
#[tokio::test]
async fn footers_are_read_only_for_files_without_a_record() {
    let (lake, _dir) = local_lake().await;
    let ds = dataset();
    let d = day0();
    for (i, day) in [d, d + 1, d + 2].into_iter().enumerate() {
        lake.commit_day(
            ds.clone(),
            day,
            rows(&[(1, 0, 1.0)]),
            input(&format!("{i}.csv"), &i.to_string(), 1),
            "r",
        )
        .await
        .unwrap();
    }
    // Only d has a record.
    let rec = LedgerRecord {
        run_id: "r".into(),
        dataset: DATASET.into(),
        day: d,
        state: DayState::Incomplete,
        rows: 1,
        expected_rows: Some(4320),
        records_read: 1,
        records_written: 1,
        records_rejected: 0,
        records_superseded: 0,
        bytes: 1,
        inputs: vec![],
        error: None,
        recorded_at: 1,
        duration_ms: 1,
    };
    lake.ledger().append(&[rec]).await.unwrap();
    let counted = InstrumentedStore::new(Arc::clone(lake.store()));
    let probe = lake.wrap_store(|_| Arc::new(counted.clone()));
    probe
        .ledger()
        .day_statuses(DATASET, d, d + 2)
        .await
        .unwrap();
    // 1 GET of the ledger file + 2 footer GETs (d+1, d+2); LISTs: table, ledger top level, dataset folder.
    assert_eq!(
        counted.counts(),
        RequestCounts {
            list: 3,
            get: 3,
            ..Default::default()
        }
    );
}

/// On local disk `partition_days` reads the folders directly; it finds exactly what a LIST through
/// object_store finds, strays and half-made days included.
#[tokio::test]
async fn the_direct_scan_of_a_local_lake_agrees_with_a_list() {
    let (lake, _dir) = local_lake().await;
    let d = day0();
    put_raw(&lake, &lake.partition_path(DATASET, d), b"x").await;
    put_raw(&lake, &lake.partition_path(DATASET, d + 2), b"xyz").await;
    let day1 = gridlake_schema::day_to_string(d + 1);
    // Not partitions: another file in a day folder, a folder that is not a day, a file beside the days.
    for rel in [
        format!("{DATASET}/date={day1}/part-1.parquet"),
        format!("{DATASET}/date=soon/part-0.parquet"),
        format!("{DATASET}/notes.txt"),
    ] {
        put_raw(&lake, &lake.path(&rel), b"y").await;
    }
    let listed = lake.wrap_store(|s| s);
    assert!(lake.local_dir.is_some() && listed.local_dir.is_none());
    let scanned = lake.partition_days(DATASET).await.unwrap();
    assert_eq!(scanned, vec![(d, 1), (d + 2, 3)]);
    assert_eq!(scanned, listed.partition_days(DATASET).await.unwrap());
    // A dataset without a folder has no days either way.
    assert_eq!(lake.partition_days("absent").await.unwrap(), vec![]);
    assert_eq!(listed.partition_days("absent").await.unwrap(), vec![]);
}
