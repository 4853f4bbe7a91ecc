//! The crash harness: `gridlake ingest` through the real HTTP path (the replay server), killed with SIGKILL at
//! a random moment of its run (download, conversion, Parquet write, commit, ledger write), then run again to
//! completion. The lake must equal a clean run's: the same files, the same rows (as multisets), nothing in a
//! table folder that a reader would pick up but gridlake did not commit (`gridlake verify`), the same day
//! states. `GRIDLAKE_CRASH_TRIALS` sets the number of trials (CI runs a few; README's development section
//! gives the 100-trial command); the kill points' spread over the clean run's duration is printed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use arrow::util::display::{ArrayFormatter, FormatOptions};
use gridlake_replay::{ReplayServer, builtin};

use crate::common::*;

const DEFAULT_TRIALS: u32 = 4;

fn config(dir: &Path, base: &str) -> std::path::PathBuf {
    let path = dir.join("gridlake.toml");
    std::fs::write(
        &path,
        format!(
            "[leases]\nttl_seconds = 1\n[http]\ntime_scale = 0.001\n[sources.caiso]\nbase_url = \"{base}/oasisapi\"\nrate_limit = {{ initial = 50.0, max = 50.0 }}\n"
        ),
    )
    .unwrap();
    path
}

fn ingest(config: &Path, lake: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridlake"));
    cmd.args([
        "--config",
        config.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
        "ingest",
        "caiso_lmp_dam",
        "--start",
        "2020-01-01",
        "--end",
        "2020-01-02",
        "--retry-failed",
    ])
    .env("GRIDLAKE_TODAY", "2026-01-15")
    .env_remove("GRIDLAKE_LAKE")
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    cmd
}

/// Per table file: (relative path, row count, order-independent hash of its rows).
fn lake_content(lake: &Path) -> BTreeMap<String, (usize, u64)> {
    let mut out = BTreeMap::new();
    for rel in table_files(lake, "caiso_lmp_dam") {
        let (batches, _) = read_parquet(&lake.join("caiso_lmp_dam").join(&rel));
        let mut hash = 0u64;
        let opts = FormatOptions::default();
        for b in &batches {
            // Instants as their integer microseconds: formatting a zoned timestamp needs a time zone database.
            let cols: Vec<arrow::array::ArrayRef> = b
                .columns()
                .iter()
                .map(|c| match c.data_type() {
                    arrow::datatypes::DataType::Timestamp(..) => {
                        arrow::compute::cast(c, &arrow::datatypes::DataType::Int64).unwrap()
                    }
                    _ => c.clone(),
                })
                .collect();
            let fmts: Vec<ArrayFormatter> = cols
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
                .collect();
            for row in 0..b.num_rows() {
                let text: Vec<String> = fmts.iter().map(|f| f.value(row).to_string()).collect();
                hash =
                    hash.wrapping_add(xxhash_rust::xxh3::xxh3_64(text.join("\u{1f}").as_bytes()));
            }
        }
        out.insert(rel, (rows(&batches), hash));
    }
    out
}

fn states(lake: &Path) -> Vec<(String, String, u64)> {
    let out = gridlake(&[
        "gaps",
        "caiso_lmp_dam",
        "--lake",
        lake.to_str().unwrap(),
        "--start",
        "2020-01-01",
        "--end",
        "2020-01-02",
        "--all",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["day"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
                r["written_rows"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_any_moment_loses_and_duplicates_nothing() {
    let trials: u32 = std::env::var("GRIDLAKE_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_TRIALS);
    let server = ReplayServer::start(builtin::recordings().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server.base_url());

    let clean = dir.path().join("clean");
    let t0 = Instant::now();
    assert_eq!(ingest(&cfg, &clean).status().unwrap().code(), Some(0));
    let clean_time = t0.elapsed();
    let want = lake_content(&clean);
    let want_states = states(&clean);
    assert_eq!(want.len(), 2, "{want:?}");
    assert!(want.values().all(|(n, _)| *n > 0));

    // Kill moments spread evenly over the clean run's duration, jittered per trial (deterministic).
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut spread = [0u32; 5];
    for trial in 0..trials {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let frac = (seed >> 11) as f64 / (1u64 << 53) as f64;
        let at = clean_time.mul_f64(frac);
        let lake = dir.path().join(format!("trial-{trial}"));
        let mut child = ingest(&cfg, &lake).spawn().unwrap();
        std::thread::sleep(at);
        let killed = matches!(child.try_wait(), Ok(None));
        let _ = child.kill();
        let _ = child.wait();
        if killed {
            spread[((frac * 5.0) as usize).min(4)] += 1;
        }
        // Run again to completion once the killed worker's leases have expired (1 s here, minutes in
        // production): the lake converges to the clean one.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let status = ingest(&cfg, &lake).status().unwrap();
        assert!(
            status.code() == Some(0),
            "trial {trial}: rerun exited {status:?}"
        );
        let got = lake_content(&lake);
        assert_eq!(
            got, want,
            "trial {trial} (killed at {at:?}): rows differ from the clean run"
        );
        assert_eq!(
            states(&lake),
            want_states,
            "trial {trial}: day states differ"
        );
        let verify = gridlake(&["verify", "--lake", lake.to_str().unwrap()]);
        assert_eq!(
            verify.status.code(),
            Some(0),
            "trial {trial}: {}",
            stdout(&verify)
        );
        std::fs::remove_dir_all(&lake).unwrap();
    }
    println!(
        "crash harness: {trials} trials, clean run {clean_time:?}; kills by fifth of the run: {spread:?} (the rest ended before the kill)"
    );
}
