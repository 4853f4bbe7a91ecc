//! Several workers on one lake: two `gridlake ingest` processes over the same range at once, on local disk and
//! on a real S3 server (moto). Leases (`_gridlake/locks/<dataset>/<day>`) keep them off each other's days:
//! every day is fetched and committed once, and the ledger holds one commit per day.

use std::process::{Command, Stdio};

use gridlake_replay::{ReplayServer, builtin};
use gridlake_testkit::S3Server;

use crate::common::*;

fn worker(
    config: &std::path::Path,
    lake: &str,
    env: &[(&'static str, String)],
) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridlake"));
    cmd.args([
        "--config",
        config.to_str().unwrap(),
        "--lake",
        lake,
        "ingest",
        "caiso_lmp_dam",
        "--start",
        "2018-10-13",
        "--end",
        "2018-11-06",
        "--json",
    ])
    .env("GRIDLAKE_TODAY", "2026-01-15")
    .env_remove("GRIDLAKE_LAKE")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Runs two workers at once; returns how many data requests the replay server answered and the ledger's
/// commits per day (read through `gridlake gaps`' attempts and the ledger itself).
async fn two_workers(
    lake: &str,
    env: &[(&'static str, String)],
) -> (usize, Vec<serde_json::Value>) {
    let server = ReplayServer::start(builtin::recordings().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gridlake.toml");
    std::fs::write(
        &config,
        format!(
            "[http]\ntime_scale = 0.001\n[sources.caiso]\nbase_url = \"{}/oasisapi\"\nnodes = [\"0096WD_7_N001\"]\nrate_limit = {{ initial = 50.0, max = 50.0 }}\n",
            server.base_url()
        ),
    )
    .unwrap();
    let a = worker(&config, lake, env);
    let b = worker(&config, lake, env);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&a, &b] {
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(o), stderr(o));
    }
    let summaries: Vec<serde_json::Value> = [&a, &b]
        .iter()
        .map(|o| serde_json::from_slice(&o.stdout).unwrap())
        .collect();
    assert!(server.unmatched().is_empty());
    (server.request_count(), summaries)
}

fn check(requests: usize, summaries: &[serde_json::Value]) {
    // One OASIS request covers the 25 days: exactly one worker made it.
    assert_eq!(requests, 1, "{summaries:?}");
    let outcomes: Vec<&str> = summaries
        .iter()
        .flat_map(|s| s["datasets"][0]["requests"].as_array().unwrap().iter())
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    let mut sorted = outcomes.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["data", "elsewhere"], "{summaries:?}");
    let committed: usize = summaries
        .iter()
        .map(|s| s["datasets"][0]["days"].as_array().unwrap().len())
        .sum();
    assert_eq!(committed, 25, "each day committed by exactly one worker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_local_lake_never_both_commit_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let (requests, summaries) = two_workers(lake.to_str().unwrap(), &[]).await;
    check(requests, &summaries);
    let records = std::fs::read_dir(lake.join("_gridlake/ledger/dataset=caiso_lmp_dam"))
        .unwrap()
        .count();
    assert_eq!(
        records, 1,
        "only the worker that fetched wrote ledger records"
    );
    assert_eq!(table_files(&lake, "caiso_lmp_dam").len(), 25);
    let verify = gridlake(&["verify", "--lake", lake.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(0), "{}", stdout(&verify));
    // Every lease was released.
    let locks = lake.join("_gridlake/locks");
    assert!(
        !locks.exists() || tree(&locks).is_empty(),
        "{:?}",
        tree(&locks)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_s3_lake_never_both_commit_a_day() {
    let s3 = S3Server::start();
    let bucket = s3.new_bucket();
    let lake = format!("s3://{bucket}/lake");
    let (requests, summaries) = two_workers(&lake, &s3.env()).await;
    check(requests, &summaries);
}
