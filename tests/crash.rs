//! The crash harness: `gridlake ingest` through the real HTTP path (the replay server), killed with SIGKILL at
//! a random moment of its run (download, conversion, Parquet write, commit, ledger write), then run again to
//! completion. The lake must equal a clean run's: the same files, the same rows (as multisets), nothing in a
//! table folder that a reader would pick up but gridlake did not commit (`gridlake verify`), the same day
//! states. `GRIDLAKE_CRASH_TRIALS` sets the number of trials (CI runs a few; README's development section
//! gives the 100-trial command). The kill points' spread is printed by fifth of a warm run's duration and by
//! phase (the last `phase:` debug event the killed run wrote); DuckDB also reads each table folder back as a
//! user would, so a stray file would show up as extra rows.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Log markers and the phase each one opens, in the order a run passes them. The HTTP client's own debug
/// events mark the download.
const PHASES: [(&str, &str); 8] = [
    ("phase: lease", "lease"),
    (": GET url=", "download"),
    (": downloaded url=", "inspect"),
    ("phase: convert", "convert"),
    ("phase: commit", "parquet write"),
    ("phase: publish", "commit (publish)"),
    ("phase: ledger", "ledger write"),
    ("phase: done", "after ledger (release, exit)"),
];
const STARTUP: &str = "startup, plan";

/// The phase a run is in, from the last marker its log holds.
fn current_phase(log: &str) -> &'static str {
    log.lines()
        .rev()
        .find_map(|l| {
            PHASES
                .iter()
                .find(|(marker, _)| l.contains(marker))
                .map(|(_, name)| *name)
        })
        .unwrap_or(STARTUP)
}

/// A run with its phase events going to a log file.
fn spawn_logged(cfg: &Path, lake: &Path, log: &Path) -> std::process::Child {
    ingest(cfg, lake)
        .env(
            "GRIDLAKE_LOG",
            "gridlake_ingest=debug,gridlake_lake=debug,gridlake_sources=debug",
        )
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Runs to the end, noting when each phase was first seen (the log polled every millisecond).
fn phase_timeline(cfg: &Path, lake: &Path, log: &Path) -> Vec<(&'static str, Duration)> {
    let t0 = Instant::now();
    let mut child = spawn_logged(cfg, lake, log);
    let mut seen: Vec<(&'static str, Duration)> = vec![(STARTUP, Duration::ZERO)];
    loop {
        let done = child.try_wait().unwrap();
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for (marker, name) in PHASES {
            if text.contains(marker) && !seen.iter().any(|(n, _)| *n == name) {
                seen.push((name, t0.elapsed()));
            }
        }
        if let Some(status) = done {
            assert_eq!(status.code(), Some(0), "{text}");
            seen.push(("exit", t0.elapsed()));
            return seen;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
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
    assert_eq!(ingest(&cfg, &clean).status().unwrap().code(), Some(0));
    let want = lake_content(&clean);
    let want_states = states(&clean);
    assert_eq!(want.len(), 2, "{want:?}");
    assert!(want.values().all(|(n, _)| *n > 0));
    let want_duckdb = duckdb_multiset(&clean);

    // A warm run's phases and how long each lasts: every trial aims at one phase in turn (so a short phase
    // such as the ledger write is hit as often as the long conversion) and kills at a uniformly random
    // moment inside it, counted from the moment its marker shows up in the log.
    let warm = dir.path().join("warm");
    let timeline = phase_timeline(&cfg, &warm, &dir.path().join("warm.log"));
    std::fs::remove_dir_all(&warm).unwrap();
    let phases: Vec<(&'static str, Duration)> = timeline
        .windows(2)
        .map(|w| (w[0].0, w[1].1.saturating_sub(w[0].1)))
        .collect();
    assert!(
        phases.len() >= 7,
        "the run should pass startup, lease, download, convert, write, commit and ledger: {timeline:?}"
    );

    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut aimed: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut hit: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut finished_first = 0u32;
    for trial in 0..trials {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let frac = (seed >> 11) as f64 / (1u64 << 53) as f64;
        let (target, length) = phases[trial as usize % phases.len()];
        let offset = length.mul_f64(frac);
        *aimed.entry(target).or_default() += 1;

        let lake = dir.path().join(format!("trial-{trial}"));
        let log_path = dir.path().join(format!("trial-{trial}.log"));
        let mut child = spawn_logged(&cfg, &lake, &log_path);
        let marker = PHASES.iter().find(|(_, n)| *n == target).map(|(m, _)| *m);
        // Wait for the phase to begin (startup begins at once), then for the offset into it.
        while let Some(m) = marker {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if text.contains(m) || !matches!(child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(offset);
        let killed = matches!(child.try_wait(), Ok(None));
        let _ = child.kill();
        let _ = child.wait();
        if killed {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            *hit.entry(current_phase(&log)).or_default() += 1;
        } else {
            finished_first += 1;
        }
        // Run again to completion once the killed worker's leases have expired (1 s here, minutes in
        // production): the lake converges to the clean one.
        std::thread::sleep(Duration::from_millis(1100));
        let status = ingest(&cfg, &lake).status().unwrap();
        assert!(
            status.code() == Some(0),
            "trial {trial}: rerun exited {status:?}"
        );
        let got = lake_content(&lake);
        assert_eq!(
            got, want,
            "trial {trial} (killed {offset:?} into {target}): rows differ from the clean run"
        );
        assert_eq!(
            duckdb_multiset(&lake),
            want_duckdb,
            "trial {trial} (killed {offset:?} into {target}): DuckDB reads other rows than from the clean lake"
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
        "crash harness: {trials} trials; warm run's phases: {phases:?}\n  aimed at: {aimed:?}\n  \
         killed in (last phase marker before the kill): {hit:?}\n  finished before the kill: {finished_first}"
    );
}

/// What DuckDB reads from the table folder as a user would point it at the lake (every Parquet file under
/// it, Hive partitions on): the row count and an order-independent sum of row hashes. A file left behind
/// by a killed run would show up here even where gridlake's own listing ignores it.
fn duckdb_multiset(lake: &Path) -> String {
    run_python(
        r#"
import sys, duckdb
glob = sys.argv[1] + "/caiso_lmp_dam/**/*.parquet"
n, h = duckdb.sql(
    f"SELECT count(*), sum(hash(t)::HUGEINT) FROM read_parquet('{glob}', hive_partitioning = true) t"
).fetchone()
print(n, h)
"#,
        &[lake.to_str().unwrap()],
    )
}
