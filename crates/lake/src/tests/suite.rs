//! Commit, upsert by key, unchanged re-commit, rejects and the ledger: one suite, two stores.

use std::time::Duration;

use gridlake_schema::{Reject, day_to_string};
use gridlake_testkit::{S3Server, TEST_SECRET_KEY};

use super::*;
use crate::{CommitStyle, DayState, LakeError, LedgerRecord};

async fn lake_suite(lake: &Lake) {
    let ds = dataset();
    let d = day0();

    // First commit of a day: two rows of 15 expected per interval → incomplete.
    let first = rows(&[(1, 0, 10.0), (2, 0, 20.0)]);
    let c = lake
        .commit_day(ds.clone(), d, first, input("a.csv", "aa", 2), "run-1")
        .await
        .unwrap();
    assert_eq!(
        (c.rows, c.state, c.unchanged),
        (2, DayState::Incomplete, false)
    );
    assert_eq!(lake.partition_days(DATASET).await.unwrap().len(), 1);

    // A second input: ptid 2 is revised (incoming wins), ptid 3 is new; one file, sorted by key.
    let second = rows(&[(3, 0, 30.0), (2, 0, 21.5)]);
    let c = lake
        .commit_day(
            ds.clone(),
            d,
            second.clone(),
            input("b.csv", "bb", 2),
            "run-2",
        )
        .await
        .unwrap();
    assert_eq!((c.rows, c.replaced_rows, c.unchanged), (3, 1, false));
    assert_eq!(
        read_day(lake, d).await,
        vec![(1, 10.0), (2, 21.5), (3, 30.0)]
    );

    // The same input again rewrites nothing.
    let c = lake
        .commit_day(ds.clone(), d, second, input("b.csv", "bb", 2), "run-3")
        .await
        .unwrap();
    assert!(c.unchanged);
    let footer = lake.read_footer(DATASET, d).await.unwrap().unwrap();
    assert_eq!(footer.rows, 3);
    assert_eq!(footer.inputs.len(), 2);

    // Rejects: one file per input and day, removed when the input converts cleanly.
    let reject = Reject {
        file: "a.csv".into(),
        line: 7,
        column: Some("LBMP ($/MWHr)".into()),
        value: Some("x".into()),
        reason: "not a valid number".into(),
        raw: "…".into(),
        day: Some(d),
    };
    lake.write_rejects(DATASET, Some(d), "aa", "run-1", &[&reject])
        .await
        .unwrap();
    let rejects_file = format!(
        "_gridlake/rejects/dataset={DATASET}/date={}/aa.parquet",
        day_to_string(d)
    );
    assert!(objects(lake).await.contains(&rejects_file));
    lake.write_rejects(DATASET, Some(d), "aa", "run-1", &[&reject])
        .await
        .unwrap();
    lake.write_rejects(DATASET, Some(d), "aa", "run-4", &[])
        .await
        .unwrap();
    assert!(!objects(lake).await.contains(&rejects_file));

    // Ledger: records append and read back; day states reconcile records with files.
    let ledger = lake.ledger();
    let rec = |day: i32, state: DayState, rows: u64, error: Option<&str>| LedgerRecord {
        run_id: "run-2".into(),
        dataset: DATASET.into(),
        day,
        state,
        rows,
        expected_rows: Some(4320),
        records_read: rows,
        records_written: rows,
        records_rejected: 0,
        records_superseded: 0,
        bytes: 1,
        inputs: vec!["b.csv".into()],
        error: error.map(str::to_string),
        recorded_at: 1_700_000_000_000_000 + i64::from(day),
        duration_ms: 3,
    };
    ledger
        .append(&[rec(d, DayState::Incomplete, 3, None)])
        .await
        .unwrap();
    ledger
        .append(&[rec(
            d + 1,
            DayState::Failed,
            0,
            Some("HTTP 503 from source"),
        )])
        .await
        .unwrap();
    let records = ledger.records(Some(DATASET)).await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].error.as_deref(), Some("HTTP 503 from source"));
    assert!(ledger.records(Some("other")).await.unwrap().is_empty());
    let st = ledger.day_statuses(DATASET, d, d + 2).await.unwrap();
    let states: Vec<_> = st.iter().map(|s| (s.state, s.written_rows)).collect();
    assert_eq!(
        states,
        vec![
            (DayState::Incomplete, 3),
            (DayState::Failed, 0),
            (DayState::Missing, 0)
        ]
    );

    // A file whose ledger record was lost still counts, from its footer.
    // (The rows are day0's; the commit trusts its caller's routing, and the footer names the day.)
    let other_day = d + 5;
    lake.commit_day(
        ds,
        other_day,
        rows(&[(5, 0, 1.0)]),
        input("c.csv", "cc", 1),
        "run-5",
    )
    .await
    .unwrap();
    let st = ledger
        .day_statuses(DATASET, other_day, other_day)
        .await
        .unwrap();
    assert_eq!((st[0].state, st[0].written_rows), (DayState::Incomplete, 1));

    // Readers see exactly one file per day in the table, nothing in flight anywhere.
    let all = objects(lake).await;
    let table: Vec<_> = all.iter().filter(|o| o.starts_with(DATASET)).collect();
    assert_eq!(
        table,
        vec![
            &format!("{DATASET}/date={}/part-0.parquet", day_to_string(d)),
            &format!("{DATASET}/date={}/part-0.parquet", day_to_string(other_day)),
        ]
    );
    assert!(
        !all.iter().any(|o| o.starts_with("_gridlake/staging")),
        "{all:?}"
    );
    assert_eq!(lake.clean_staging(Duration::ZERO).await.unwrap(), 0);
}

#[tokio::test]
async fn lake_suite_on_local_disk() {
    let (lake, _dir) = local_lake().await;
    assert_eq!(lake.commit_style(), CommitStyle::StageAndRename);
    lake_suite(&lake).await;
}

#[tokio::test]
async fn lake_suite_on_s3() {
    let server = S3Server::start();
    let lake = s3_lake(&server).await;
    assert_eq!(lake.commit_style(), CommitStyle::ConditionalPut);
    lake_suite(&lake).await;
    // The lake lives under its prefix, and its commits were single PUTs to final keys (no copies).
    let reqs = server.requests();
    assert!(
        reqs.iter().any(|r| r.starts_with("PUT /")
            && r.contains("/some/prefix/nyiso_lbmp_rt_zonal/date=2016-02-18/part-0.parquet")),
        "{reqs:?}"
    );
    assert!(
        !reqs
            .iter()
            .any(|r| r.starts_with("PUT") && r.contains("staging")),
        "S3 commits never stage: {reqs:?}"
    );
}

#[tokio::test]
async fn a_wrong_secret_key_is_refused_and_never_shown() {
    let server = S3Server::start_with_auth();
    let err = Lake::open_s3(server.builder(), "some-bucket", "lake")
        .await
        .unwrap_err();
    assert!(matches!(err, LakeError::Store { .. }), "{err:?}");
    let text = format!("{err} | {err:?}");
    assert!(
        text.contains("403") || text.contains("InvalidAccessKeyId"),
        "{text}"
    );
    assert!(!text.contains(TEST_SECRET_KEY), "{text}");
    // The lake's own Debug (tracing fields, panics) shows where it is, not how it signs.
    let lake = s3_lake(&S3Server::start()).await;
    let shown = format!("{lake:?} {}", lake.location());
    assert!(!shown.contains(TEST_SECRET_KEY), "{shown}");
}
