//! Acquisition end to end: every built-in source fetched through the real HTTP path (client, limiter,
//! retries, inspect, unpack, converter, commit, ledger) from the replay server holding the recordings, and
//! the fault cases of issue #4, with millisecond delays (`time_scale`) instead of real waiting.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use chrono::NaiveDate;
use gridlake_ingest::{
    DatasetRun, Fetcher, ImportOptions, IngestOptions, PlanOptions, ingest_dataset, plan_dataset,
    window,
};
use gridlake_lake::{DayState, Lake};
use gridlake_replay::{Fault, ReplayServer, Route, builtin};
use gridlake_schema::{Catalog, date_to_day};
use gridlake_sources::http::HttpConfig;
use gridlake_sources::{Registry, SourcesConfig};

use crate::common::{gridlake_in, run_python, stderr, stdout, tree};

pub(crate) const TOKEN: &str = "tok-5ecret-vAlue-93";

fn d(s: &str) -> i32 {
    date_to_day(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}

/// A lake, the replay server with every built-in recording, and the sources pointed at it.
pub(crate) struct Harness {
    pub(crate) server: ReplayServer,
    pub(crate) lake: Lake,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) catalog: Catalog,
    pub(crate) registry: Registry,
    pub(crate) fetcher: Fetcher,
    pub(crate) max_attempts: u32,
}

pub(crate) fn sources_for(base: &str) -> SourcesConfig {
    let mut s = SourcesConfig::mirrored_at(base);
    s.caiso.nodes = vec!["0096WD_7_N001".into()];
    s.binance.symbols = vec!["ADABTC".into()];
    s.reach.token_env = Some("REACH_TOKEN".into());
    s
}

pub(crate) fn fast_http() -> HttpConfig {
    HttpConfig {
        time_scale: 0.001,
        max_attempts: 3,
        read_timeout: Duration::from_millis(500),
        ..HttpConfig::default()
    }
}

impl Harness {
    pub(crate) async fn new() -> Harness {
        Harness::with(fast_http()).await
    }

    pub(crate) async fn with(http: HttpConfig) -> Harness {
        let server = ReplayServer::start(builtin::recordings().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open_local(dir.path()).await.unwrap();
        let sources = sources_for(&server.base_url());
        let today = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        let registry = Registry::new(&sources, today).unwrap();
        // The real services' documented paces (OASIS: 0.2 requests/s), scaled by time_scale like every delay.
        let fetcher = Fetcher::new(http, sources.rate_limits())
            .unwrap()
            .with_env(Arc::new(|name| {
                (name == "REACH_TOKEN").then(|| TOKEN.to_string())
            }));
        Harness {
            server,
            lake,
            dir,
            catalog: Catalog::builtin().unwrap(),
            registry,
            fetcher,
            max_attempts: 5,
        }
    }

    pub(crate) async fn ingest_with(
        &self,
        dataset: &str,
        start: &str,
        end: &str,
        plan: PlanOptions,
        dry_run: bool,
    ) -> DatasetRun {
        let ds = self.catalog.get(dataset).unwrap();
        let source = Arc::clone(self.registry.get(dataset).unwrap());
        let today = d("2026-01-15");
        let window = window(source.as_ref(), None, today);
        let p = plan_dataset(&self.lake, &ds, window, d(start), d(end), &plan)
            .await
            .unwrap();
        let opts = IngestOptions {
            plan,
            jobs: 4,
            dry_run,
            import: ImportOptions::default(),
            progress: Default::default(),
            leases: Default::default(),
        };
        ingest_dataset(&self.lake, ds, source, &self.fetcher, p, &opts)
            .await
            .unwrap()
    }

    pub(crate) async fn ingest(&self, dataset: &str, start: &str, end: &str) -> DatasetRun {
        let plan = PlanOptions {
            max_attempts: self.max_attempts,
            ..PlanOptions::default()
        };
        self.ingest_with(dataset, start, end, plan, false).await
    }

    pub(crate) async fn state(&self, dataset: &str, day: &str) -> DayState {
        self.lake
            .ledger()
            .day_statuses(dataset, d(day), d(day))
            .await
            .unwrap()[0]
            .state
    }
}

fn states(run: &DatasetRun) -> BTreeMap<String, DayState> {
    run.run
        .days
        .iter()
        .map(|x| (x.day.clone(), x.state))
        .collect()
}

#[test]
fn every_registered_source_has_a_recorded_conformance_case() {
    let registry = Registry::new(
        &sources_for("http://127.0.0.1:1"),
        NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
    )
    .unwrap();
    let recorded: Vec<&str> = builtin::ranges().iter().map(|r| r.dataset).collect();
    let catalog = Catalog::builtin().unwrap();
    for source in registry.iter() {
        assert!(
            recorded.contains(&source.dataset()),
            "source {} ({}) has no recorded conformance case in gridlake_replay::builtin",
            source.family(),
            source.dataset()
        );
        catalog.get(source.dataset()).unwrap();
    }
    assert_eq!(registry.iter().count(), recorded.len());
}

/// The source conformance suite: each built-in dataset's recorded range through the real HTTP path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_every_source_through_the_real_http_path() {
    for range in builtin::ranges() {
        let h = Harness::new().await;
        let start = range.start.to_string();
        let end = range.end.to_string();
        let run = h.ingest(range.dataset, &start, &end).await;
        let ctx = format!("{}: {:?}", range.dataset, run.requests);
        assert!(h.server.unmatched().is_empty(), "unrecorded request: {ctx}");
        assert!(!run.has_failures(), "{ctx}");
        assert!(run.run.records.balanced(), "{ctx}");
        assert_eq!(run.run.records.rejected, 0, "{ctx}");
        let days = usize::try_from(d(&end) - d(&start) + 1).unwrap();
        assert_eq!(run.run.days.len(), days, "{ctx}");
        for day in &run.run.days {
            assert!(
                matches!(day.state, DayState::Complete | DayState::Incomplete),
                "{ctx}: {day:?}"
            );
            assert!(day.rows > 0, "{ctx}");
            let file = h
                .dir
                .path()
                .join(format!("{}/date={}/part-0.parquet", range.dataset, day.day));
            assert!(file.exists(), "{}", file.display());
        }
        // A token goes only where the config names it (REACH), as a header, never into the URL or the lake.
        for r in h.server.requests() {
            let auth = r.header("authorization");
            if range.dataset == "reach_dosimeter" {
                assert_eq!(auth, Some(format!("Bearer {TOKEN}").as_str()));
            } else {
                assert_eq!(auth, None);
            }
            assert!(!r.query.unwrap_or_default().contains(TOKEN));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_over_a_complete_range_makes_zero_requests() {
    let h = Harness::new().await;
    let first = h.ingest("caiso_lmp_dam", "2018-10-13", "2018-11-06").await;
    assert_eq!(first.run.days.len(), 25);
    assert!(first.run.days.iter().all(|x| x.state == DayState::Complete));
    // The fall-back day holds 25 hours × 4 components.
    let fall_back = first
        .run
        .days
        .iter()
        .find(|x| x.day == "2018-11-04")
        .unwrap();
    assert_eq!(fall_back.rows, 100);
    assert_eq!(fall_back.expected_rows, Some(100));
    let before = h.server.request_count();
    let second = h.ingest("caiso_lmp_dam", "2018-10-13", "2018-11-06").await;
    assert_eq!(h.server.request_count(), before);
    assert_eq!(second.http_requests, 0);
    assert!(second.plan.days.is_empty());
    assert!(second.requests.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_plans_and_requests_nothing() {
    let h = Harness::new().await;
    let plan = PlanOptions {
        max_attempts: 5,
        ..PlanOptions::default()
    };
    let run = h
        .ingest_with("caiso_lmp_dam", "2018-10-01", "2018-11-06", plan, true)
        .await;
    assert_eq!(h.server.request_count(), 0);
    assert_eq!(run.plan.days.len(), 37);
    // 37 days split at OASIS's 31-day maximum.
    assert_eq!(run.requests.len(), 2);
    assert!(run.requests.iter().all(|r| r.outcome == "planned"));
    assert!(h.lake.ledger().records(None).await.unwrap().is_empty());
}

const NYISO_DAY: &str = "/public/csv/damlbmp/20240310damlbmp_zone.csv";

async fn nyiso_after(fault: Fault) -> (Harness, DatasetRun) {
    let h = Harness::new().await;
    h.server.push_fault(Route::Path(NYISO_DAY.into()), fault);
    let run = h
        .ingest("nyiso_lbmp_dam_zonal", "2024-03-10", "2024-03-10")
        .await;
    (h, run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_succeed() {
    for status in [500, 503] {
        let (h, run) = nyiso_after(Fault::Status(status, "busy".into())).await;
        assert_eq!(states(&run)["2024-03-10"], DayState::Complete, "{status}");
        assert_eq!(run.requests[0].attempts, 2, "{status}");
        assert_eq!(h.server.request_count(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_in_seconds_and_as_a_date_is_honoured_and_the_limiter_halves() {
    let cases = [
        Fault::RetryAfterSeconds(429, 30),
        Fault::RetryAfterDate(429, SystemTime::now() + Duration::from_secs(20)),
    ];
    for fault in cases {
        let started = std::time::Instant::now();
        let (h, run) = nyiso_after(fault.clone()).await;
        assert_eq!(states(&run)["2024-03-10"], DayState::Complete, "{fault:?}");
        let reqs = h.server.requests();
        assert_eq!(reqs.len(), 2);
        // 20–30 s of Retry-After at time_scale 0.001 is 20–30 ms: waited, but not for real seconds.
        let gap = reqs[1].at - reqs[0].at;
        assert!(gap >= Duration::from_millis(15), "{fault:?}: {gap:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let limiter = h.fetcher.limiter("127.0.0.1").unwrap();
        let timeline = limiter.timeline();
        assert!(
            timeline.windows(2).any(|w| w[1].rate < w[0].rate),
            "no decrease after 429: {timeline:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_fails_the_day_after_retries_and_the_run_goes_on() {
    let h = Harness::new().await;
    for _ in 0..3 {
        h.server.push_fault(
            Route::Path("/public/csv/damlbmp/20240601damlbmp_zone.csv".into()),
            Fault::Delay(Duration::from_secs(2)),
        );
    }
    let run = h
        .ingest("nyiso_lbmp_dam_zonal", "2024-06-01", "2024-06-01")
        .await;
    let other = h
        .ingest("nyiso_lbmp_dam_zonal", "2024-03-10", "2024-03-10")
        .await;
    assert_eq!(states(&run)["2024-06-01"], DayState::Failed);
    assert!(run.has_failures());
    assert_eq!(run.requests[0].attempts, 3);
    assert_eq!(states(&other)["2024-03-10"], DayState::Complete);
    assert_eq!(
        h.state("nyiso_lbmp_dam_zonal", "2024-06-01").await,
        DayState::Failed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_day_does_not_stop_the_range() {
    // 2024-03-09 is not recorded (404), 2024-03-10 is.
    let h = Harness::new().await;
    let run = h
        .ingest("nyiso_lbmp_dam_zonal", "2024-03-09", "2024-03-10")
        .await;
    let s = states(&run);
    assert_eq!(s["2024-03-09"], DayState::Failed);
    assert_eq!(s["2024-03-10"], DayState::Complete);
    let err = run.run.days[0].error.clone().unwrap();
    assert!(
        err.contains("404") || err.to_lowercase().contains("not found"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_with_status_200_fail_the_day() {
    let html = Fault::Body {
        status: 200,
        content_type: "text/html".into(),
        body: Bytes::from_static(
            b"<!DOCTYPE html><html><body>Please verify you are a human</body></html>",
        ),
    };
    let empty = Fault::Body {
        status: 200,
        content_type: "text/csv".into(),
        body: Bytes::new(),
    };
    for (fault, says) in [(html, "HTML"), (empty, "empty")] {
        let (h, run) = nyiso_after(fault).await;
        assert_eq!(states(&run)["2024-03-10"], DayState::Failed);
        let err = run.run.days[0].error.clone().unwrap();
        assert!(err.contains(says), "{err}");
        assert!(
            !h.dir
                .path()
                .join("nyiso_lbmp_dam_zonal/date=2024-03-10")
                .exists()
        );
    }
}

const OASIS: &str = "/oasisapi/SingleZip";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_corrupt_zips() {
    // Cut off mid-transfer once: the short body is noticed and the request retried.
    let h = Harness::new().await;
    h.server
        .push_fault(Route::Path(OASIS.into()), Fault::Truncate(1000));
    let run = h.ingest("caiso_lmp_rtm", "2024-06-01", "2024-06-01").await;
    assert_eq!(states(&run)["2024-06-01"], DayState::Complete);
    assert_eq!(run.requests[0].attempts, 2);
    // A zip served whole but truncated at the source, and one that is garbage: the day fails, nothing is
    // committed.
    let full = builtin::zip_one("x.csv", &vec![b'a'; 10_000]).unwrap();
    let half = full.slice(..full.len() / 2);
    for body in [
        half,
        Bytes::from_static(b"PK\x03\x04 this is not a zip at all"),
    ] {
        let h = Harness::new().await;
        h.server.push_fault(
            Route::Path(OASIS.into()),
            Fault::Body {
                status: 200,
                content_type: "application/zip".into(),
                body,
            },
        );
        let run = h.ingest("caiso_lmp_rtm", "2024-06-01", "2024-06-01").await;
        assert_eq!(
            states(&run)["2024-06-01"],
            DayState::Failed,
            "{:?}",
            run.run.days
        );
        assert!(!h.dir.path().join("caiso_lmp_rtm/date=2024-06-01").exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_data_answers() {
    // OASIS's error 1000 zip.
    let h = Harness::new().await;
    let run = h.ingest("caiso_lmp_rtm", "2024-06-02", "2024-06-02").await;
    assert_eq!(states(&run)["2024-06-02"], DayState::NoData);
    assert!(!run.has_failures());
    assert!(run.requests[0].message.as_deref().unwrap().contains("1000"));
    // A daily file with its header and no rows (NYISO, MISO, REACH): the day has no data.
    let (_, run) = nyiso_after(Fault::Body {
        status: 200,
        content_type: "text/csv".into(),
        body: Bytes::from_static(
            b"\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\",\"Marginal Cost Losses ($/MWHr)\",\"Marginal Cost Congestion ($/MWHr)\"\r\n",
        ),
    })
    .await;
    assert_eq!(states(&run)["2024-03-10"], DayState::NoData);
    // A no_data day is not fetched again unless asked.
    let again = h.ingest("caiso_lmp_rtm", "2024-06-02", "2024-06-02").await;
    assert!(again.plan.days.is_empty());
    let plan = PlanOptions {
        retry_no_data: true,
        max_attempts: 5,
        ..PlanOptions::default()
    };
    let recheck = h
        .ingest_with("caiso_lmp_rtm", "2024-06-02", "2024-06-02", plan, false)
        .await;
    assert_eq!(recheck.plan.days.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_failed_max_attempts_times_waits_for_retry_failed() {
    let mut h = Harness::new().await;
    h.max_attempts = 2;
    for _ in 0..2 {
        let run = h
            .ingest("nyiso_lbmp_dam_zonal", "2024-03-09", "2024-03-09")
            .await;
        assert_eq!(states(&run)["2024-03-09"], DayState::Failed);
    }
    let before = h.server.request_count();
    let skipped = h
        .ingest("nyiso_lbmp_dam_zonal", "2024-03-09", "2024-03-09")
        .await;
    assert!(skipped.plan.days.is_empty());
    assert_eq!(h.server.request_count(), before);
    let plan = PlanOptions {
        retry_failed: true,
        max_attempts: 2,
        ..PlanOptions::default()
    };
    let retried = h
        .ingest_with(
            "nyiso_lbmp_dam_zonal",
            "2024-03-09",
            "2024-03-09",
            plan,
            false,
        )
        .await;
    assert_eq!(retried.plan.days.len(), 1);
    assert!(h.server.request_count() > before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binance_checksum_mismatch_fails_the_day_and_commits_nothing() {
    let h = Harness::new().await;
    h.server.push_fault(
        Route::Path("/data/spot/daily/klines/ADABTC/1m/ADABTC-1m-2021-11-27.zip.CHECKSUM".into()),
        Fault::Body {
            status: 200,
            content_type: "text/plain".into(),
            body: Bytes::from(format!("{}  ADABTC-1m-2021-11-27.zip\n", "0".repeat(64))),
        },
    );
    let run = h.ingest("binance_klines", "2021-11-27", "2021-11-27").await;
    assert_eq!(states(&run)["2021-11-27"], DayState::Failed);
    let err = run.run.days[0].error.clone().unwrap();
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(!h.dir.path().join("binance_klines").exists());
    // With the right checksum it goes in.
    let run = h.ingest("binance_klines", "2021-11-27", "2021-11-27").await;
    assert_eq!(states(&run)["2021-11-27"], DayState::Incomplete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_never_reaches_errors_the_ledger_or_the_summary() {
    let h = Harness::new().await;
    for _ in 0..3 {
        h.server.push_fault(
            Route::Path("/reach/REACH-ALL_20250901T000000_20250902T000000.csv".into()),
            Fault::Status(500, format!("upstream said: bad token {TOKEN}")),
        );
    }
    let run = h
        .ingest("reach_dosimeter", "2025-09-01", "2025-09-02")
        .await;
    assert!(run.has_failures());
    let json = serde_json::to_string(&run).unwrap();
    assert!(!json.contains(TOKEN), "token in the summary: {json}");
    assert!(!format!("{run:?}").contains(TOKEN));
    let ledger = h.lake.ledger().records(None).await.unwrap();
    assert!(!ledger.is_empty());
    for r in ledger {
        assert!(!format!("{r:?}").contains(TOKEN));
    }
    // The token did travel, as the header the config names.
    assert!(
        h.server
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some(format!("Bearer {TOKEN}").as_str()))
    );
}

/// `gridlake ingest`, `gaps` and `--dry-run` through the binary, against the replay server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_ingest_gaps_and_dry_run() {
    let server = ReplayServer::start(builtin::recordings().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = dir.path().join("gridlake.toml");
    std::fs::write(
        &config,
        format!(
            "lake = \"lake\"\n[http]\ntime_scale = 0.001\nmax_attempts = 2\n[sources.nyiso]\nbase_url = \"{0}/public/csv\"\n[sources.binance]\nbase_url = \"{0}\"\nsymbols = [\"ADABTC\"]\n",
            server.base_url()
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let env = [("GRIDLAKE_TODAY", "2026-01-15")];
    let run = |args: &[&str]| {
        let mut all = vec!["--config", cfg];
        all.extend_from_slice(args);
        gridlake_in(&all, Some(dir.path()), &env)
    };
    let dry = run(&[
        "ingest",
        "nyiso_lbmp_dam_zonal",
        "--start",
        "2024-03-08",
        "--end",
        "2024-03-11",
        "--dry-run",
    ]);
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(stdout(&dry).contains("would GET"), "{}", stdout(&dry));
    assert_eq!(server.request_count(), 0);
    assert!(
        !lake.join("_gridlake/ledger").exists()
            || std::fs::read_dir(lake.join("_gridlake/ledger"))
                .unwrap()
                .count()
                == 0
    );
    // 03-09 is not recorded (failed), 03-10 is the spring-forward day (23 hours), 11-03 the fall-back day.
    let out = run(&[
        "ingest",
        "nyiso_lbmp_dam_zonal",
        "--start",
        "2024-03-09",
        "--end",
        "2024-03-10",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let out = run(&[
        "ingest",
        "nyiso_lbmp_dam_zonal",
        "--start",
        "2024-11-03",
        "--end",
        "2024-11-03",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = run(&[
        "ingest",
        "binance_klines",
        "--start",
        "2021-11-27",
        "--end",
        "2021-11-27",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    let gaps = run(&[
        "gaps",
        "nyiso_lbmp_dam_zonal",
        "--start",
        "2024-03-08",
        "--end",
        "2024-03-11",
        "--json",
    ]);
    assert_eq!(gaps.status.code(), Some(0));
    let rows: serde_json::Value = serde_json::from_slice(&gaps.stdout).unwrap();
    let got: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["day"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("2024-03-08", "missing"),
        ("2024-03-09", "failed"),
        ("2024-03-11", "missing"),
    ];
    assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
    let failed = &rows[1];
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["last_error"].as_str().unwrap().contains("404"),
        "{failed}"
    );
    for key in [
        "dataset",
        "expected_rows",
        "written_rows",
        "availability_pct",
    ] {
        assert!(failed.get(key).is_some(), "{key} missing from {failed}");
    }
    // Both DST-change days are complete (23 and 25 hours' worth), so neither is a gap.
    let all = run(&[
        "gaps",
        "nyiso_lbmp_dam_zonal",
        "--start",
        "2024-03-10",
        "--end",
        "2024-11-03",
        "--all",
        "--json",
    ]);
    let rows: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    for (day, expected) in [("2024-03-10", 15 * 23), ("2024-11-03", 15 * 25)] {
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["day"] == day)
            .unwrap();
        assert_eq!(row["state"], "complete", "{row}");
        assert_eq!(row["expected_rows"], expected, "{row}");
        assert_eq!(row["written_rows"], expected, "{row}");
    }
    let fail_on = run(&[
        "gaps",
        "nyiso_lbmp_dam_zonal",
        "--start",
        "2024-03-10",
        "--end",
        "2024-03-10",
        "--fail-on-gaps",
    ]);
    assert_eq!(fail_on.status.code(), Some(0));
    let fail_on = run(&[
        "gaps",
        "nyiso_lbmp_dam_zonal",
        "--start",
        "2024-03-09",
        "--end",
        "2024-03-10",
        "--fail-on-gaps",
    ]);
    assert_eq!(fail_on.status.code(), Some(3));
    // An incomplete day (10 of 1,440 klines) is a gap with its availability.
    let k = run(&[
        "gaps",
        "binance_klines",
        "--start",
        "2021-11-27",
        "--end",
        "2021-11-27",
        "--json",
    ]);
    let rows: serde_json::Value = serde_json::from_slice(&k.stdout).unwrap();
    assert_eq!(rows[0]["state"], "incomplete");
    assert_eq!(rows[0]["written_rows"], 10);
    assert_eq!(rows[0]["expected_rows"], 1440);
    assert!(
        server
            .unmatched()
            .iter()
            .all(|r| r.path.contains("20240309"))
    );
}

/// `gridlake demo` from an empty directory elsewhere: offline, every built-in dataset lands, DuckDB reads it.
#[test]
fn demo_runs_offline_from_any_directory_and_duckdb_reads_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let out = gridlake_in(&["demo", "--json"], Some(dir.path()), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let datasets = summary["datasets"].as_array().unwrap();
    assert_eq!(datasets.len(), builtin::ranges().len());
    let lake = dir.path().join("gridlake-demo-lake");
    for range in builtin::ranges() {
        let table = lake.join(range.dataset);
        assert!(table.is_dir(), "{} missing", range.dataset);
        let sql = format!(
            "SELECT count(*) FROM read_parquet('{}/*/*.parquet', hive_partitioning = true)",
            table.display()
        );
        let n: u64 = run_python(
            "import duckdb, sys; print(duckdb.sql(sys.argv[1]).fetchone()[0])",
            &[&sql],
        )
        .trim()
        .parse()
        .unwrap();
        assert!(n > 0, "{}", range.dataset);
    }
}

/// A run with a failed day sends one email (through a real STARTTLS relay, aiosmtpd) naming the dataset and
/// the failed days, and one webhook POST; the SMTP password appears nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_sends_one_email_and_one_webhook() {
    use std::io::BufRead;
    const PASSWORD: &str = "smtp-Pa55-never-shown";
    let webhook = gridlake_replay::Recording {
        method: http::Method::POST,
        ..gridlake_replay::Recording::get(
            gridlake_replay::PathPattern::exact("/hook"),
            gridlake_replay::Recorded::ok("application/json", "{}"),
        )
    };
    let mut recordings = builtin::recordings().unwrap();
    recordings.push(webhook);
    let server = ReplayServer::start(recordings).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A test root and a certificate for 127.0.0.1 signed by it; the client trusts the root via `ca_file`.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let pem = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ca = pem("ca.pem", ca_cert.pem());
    let cert = pem("cert.pem", leaf.pem());
    let key = pem("key.pem", leaf_key.serialize_pem());
    let mail_dir = dir.path().join("mail");
    std::fs::create_dir(&mail_dir).unwrap();
    let mut relay = std::process::Command::new(crate::common::python())
        .arg(crate::common::repo().join("crates/notify/tests-support/smtp_server.py"))
        .args([&cert, &key])
        .arg("gridlake-bot")
        .arg(&mail_dir)
        .env("SMTP_TEST_PASSWORD", PASSWORD)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(relay.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = serde_json::from_str::<serde_json::Value>(&line).unwrap()["port"]
        .as_u64()
        .unwrap_or_else(|| panic!("the SMTP relay did not start (run scripts/python-env): {line}"));
    let config = dir.path().join("gridlake.toml");
    std::fs::write(
        &config,
        format!(
            r#"lake = "lake"
[http]
time_scale = 0.001
max_attempts = 1
[sources.nyiso]
base_url = "{base}/public/csv"
[notify.email]
host = "127.0.0.1"
port = {port}
username = "gridlake-bot"
password_env = "GRIDLAKE_TEST_SMTP_PASSWORD"
from = "gridlake@example.org"
to = ["ops@example.org"]
ca_file = "{ca}"
[notify.webhook]
url = "{base}/hook"
"#,
            base = server.base_url(),
            ca = ca.display()
        ),
    )
    .unwrap();
    // 2024-03-09 is not recorded: the day fails.
    let out = gridlake_in(
        &[
            "--config",
            config.to_str().unwrap(),
            "ingest",
            "nyiso_lbmp_dam_zonal",
            "--start",
            "2024-03-09",
            "--end",
            "2024-03-10",
        ],
        Some(dir.path()),
        &[
            ("GRIDLAKE_TODAY", "2026-01-15"),
            ("GRIDLAKE_TEST_SMTP_PASSWORD", PASSWORD),
        ],
    );
    drop(relay.stdin.take());
    let _ = relay.wait();
    let all_output = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{all_output}");
    assert!(!all_output.contains(PASSWORD));
    let mails: Vec<serde_json::Value> = std::fs::read_dir(&mail_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert_eq!(mails.len(), 1, "{all_output}");
    let subject = mails[0]["subject"].as_str().unwrap();
    assert!(subject.contains("nyiso_lbmp_dam_zonal"), "{subject}");
    assert!(subject.contains("2024-03-09"), "{subject}");
    assert!(!subject.contains("2024-03-10"), "{subject}");
    assert!(!mails[0]["raw"].as_str().unwrap().contains(PASSWORD));
    let posts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/hook")
        .collect();
    assert_eq!(posts.len(), 1);
}

/// `sync` fetches a dataset from its configured start up to today − lag; `backfill` then fetches exactly the
/// gap days of the history; a later `sync` folds the run records once they reach `compact_after_files`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sync_and_backfill() {
    let server = ReplayServer::start(builtin::recordings().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gridlake.toml");
    std::fs::write(
        &config,
        format!(
            "lake = \"lake\"\n[http]\ntime_scale = 0.001\nmax_attempts = 1\n[ledger]\ncompact_after_files = 3\n[sources.nyiso]\nbase_url = \"{}/public/csv\"\n[datasets.nyiso_lbmp_dam_zonal]\nstart = 2024-03-09\n",
            server.base_url()
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["--config", cfg.as_str()];
        all.extend_from_slice(args);
        gridlake_in(&all, Some(dir.path()), &[("GRIDLAKE_TODAY", "2024-03-10")])
    };
    let out = run(&["sync", "nyiso_lbmp_dam_zonal", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let days: Vec<(String, String)> = s["datasets"][0]["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["day"].as_str().unwrap().into(),
                x["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2024-03-09".to_string(), "failed".to_string()),
            ("2024-03-10".into(), "complete".into())
        ]
    );
    let before = server.request_count();
    let out = run(&["backfill", "nyiso_lbmp_dam_zonal", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let planned = s["datasets"][0]["plan"]["days"].as_array().unwrap();
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0]["day"], "2024-03-09");
    assert_eq!(planned[0]["reason"], "failed");
    assert_eq!(server.request_count(), before + 1);

    // Two runs, two record files: under the threshold, so the first sync left them alone. The next sync
    // (which refreshes the latest days, a third record file) reaches it and folds all three into one file;
    // the day states read the same.
    let folder = dir
        .path()
        .join("lake/_gridlake/ledger/dataset=nyiso_lbmp_dam_zonal");
    assert_eq!(tree(&folder).len(), 2, "{:?}", tree(&folder));
    let gaps = || {
        stdout(&run(&[
            "gaps",
            "nyiso_lbmp_dam_zonal",
            "--start",
            "2024-03-09",
            "--end",
            "2024-03-10",
            "--all",
            "--json",
        ]))
    };
    let states_before = gaps();
    let out = run(&["sync", "nyiso_lbmp_dam_zonal", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not compacted"), "{}", stderr(&out));
    let files = tree(&folder);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with("compacted-"), "{files:?}");
    let after: serde_json::Value = serde_json::from_str(&gaps()).unwrap();
    let before: serde_json::Value = serde_json::from_str(&states_before).unwrap();
    let state = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| format!("{} {}", d["day"], d["state"]))
            .collect()
    };
    assert_eq!(state(&after), state(&before));
}

/// Whole past months come as one archive and are committed per day; days the archive holds no rows for are
/// `no_data`. Binance's monthly zip is checksum-verified like a daily one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_archives_are_committed_per_day() {
    let h = Harness::new().await;
    let run = h
        .ingest("nyiso_lbmp_dam_zonal", "2024-03-01", "2024-03-31")
        .await;
    assert_eq!(run.requests.len(), 1, "{:?}", run.requests);
    assert!(
        run.requests[0]
            .url
            .ends_with("20240301damlbmp_zone_csv.zip")
    );
    let s = states(&run);
    assert_eq!(s.len(), 31);
    assert_eq!(s["2024-03-10"], DayState::Complete);
    assert_eq!(
        s.values().filter(|x| **x == DayState::NoData).count(),
        30,
        "{s:?}"
    );
    let run = h.ingest("binance_klines", "2021-11-01", "2021-11-30").await;
    assert_eq!(h.server.unmatched().len(), 0);
    assert_eq!(run.requests.len(), 1);
    assert!(run.requests[0].url.ends_with("ADABTC-1m-2021-11.zip"));
    // Data + checksum.
    assert_eq!(run.requests[0].attempts, 2);
    let s = states(&run);
    assert_eq!(s["2021-11-27"], DayState::Incomplete);
    assert_eq!(s["2021-11-28"], DayState::Incomplete);
    let rows: u64 = run.run.days.iter().map(|x| x.rows).sum();
    assert_eq!(rows, 21);
}

/// A 2025 daily zip (microsecond timestamps, a header row) lands on the same time scale as the 2021 files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsecond_klines_with_a_header_through_http() {
    let server = ReplayServer::start(builtin::recordings().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open_local(dir.path()).await.unwrap();
    let mut sources = sources_for(&server.base_url());
    sources.binance.symbols = vec!["BTCUSDT".into()];
    let registry = Registry::new(&sources, NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()).unwrap();
    let fetcher = Fetcher::new(fast_http(), sources.rate_limits()).unwrap();
    let catalog = Catalog::builtin().unwrap();
    let ds = catalog.get("binance_klines").unwrap();
    let source = Arc::clone(registry.get("binance_klines").unwrap());
    let plan = PlanOptions {
        max_attempts: 5,
        ..PlanOptions::default()
    };
    let w = window(source.as_ref(), None, d("2026-01-15"));
    let p = plan_dataset(&lake, &ds, w, d("2025-01-01"), d("2025-01-01"), &plan)
        .await
        .unwrap();
    let opts = IngestOptions {
        plan,
        jobs: 1,
        dry_run: false,
        import: ImportOptions::default(),
        progress: Default::default(),
        leases: Default::default(),
    };
    let run = ingest_dataset(&lake, ds, source, &fetcher, p, &opts)
        .await
        .unwrap();
    assert!(server.unmatched().is_empty());
    assert!(!run.has_failures(), "{:?}", run.run.days);
    assert_eq!(run.run.records.rejected, 0);
    let file = dir
        .path()
        .join("binance_klines/date=2025-01-01/part-0.parquet");
    let sql = format!(
        "SELECT min(open_time)::VARCHAR, count(*), min(symbol) FROM read_parquet('{}')",
        file.display()
    );
    let got = run_python(
        "import duckdb, sys; duckdb.sql(\"SET TimeZone='UTC'\"); print(duckdb.sql(sys.argv[1]).fetchone())",
        &[&sql],
    );
    assert!(got.contains("2025-01-01 00:00:00+00"), "{got}");
    assert!(got.contains("'BTCUSDT'"), "{got}");
}

/// `--jobs` bounds the requests in flight: observed at the server, with each answer held back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_bound_the_requests_in_flight() {
    for jobs in [1usize, 2] {
        let h = Harness::new().await;
        for day in ["20240310", "20240601", "20241103"] {
            h.server.push_fault(
                Route::Path(format!("/public/csv/damlbmp/{day}damlbmp_zone.csv")),
                Fault::Delay(Duration::from_millis(150)),
            );
        }
        let ds = h.catalog.get("nyiso_lbmp_dam_zonal").unwrap();
        let source = Arc::clone(h.registry.get("nyiso_lbmp_dam_zonal").unwrap());
        let plan = PlanOptions {
            max_attempts: 5,
            ..PlanOptions::default()
        };
        let mut p = plan_dataset(
            &h.lake,
            &ds,
            window(source.as_ref(), None, d("2026-01-15")),
            d("2024-03-10"),
            d("2024-11-03"),
            &PlanOptions {
                max_attempts: 5,
                ..PlanOptions::default()
            },
        )
        .await
        .unwrap();
        p.days
            .retain(|x| ["2024-03-10", "2024-06-01", "2024-11-03"].contains(&x.date.as_str()));
        let opts = IngestOptions {
            plan,
            jobs,
            dry_run: false,
            import: ImportOptions::default(),
            progress: Default::default(),
            leases: Default::default(),
        };
        let run = ingest_dataset(&h.lake, ds, source, &h.fetcher, p, &opts)
            .await
            .unwrap();
        assert_eq!(run.run.days.len(), 3);
        assert!(!run.has_failures());
        assert_eq!(h.server.max_in_flight(), jobs, "jobs = {jobs}");
    }
}

/// `sync` on a lake that holds nothing of a dataset and has no `start` for it fetches the last 7 days.
#[test]
fn sync_on_an_empty_lake_fetches_the_last_seven_days() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gridlake.toml");
    std::fs::write(
        &config,
        "lake = \"lake\"\n[sources.nyiso]\nbase_url = \"http://127.0.0.1:9/public/csv\"\n",
    )
    .unwrap();
    let out = gridlake_in(
        &[
            "--config",
            config.to_str().unwrap(),
            "sync",
            "nyiso_lbmp_dam_zonal",
            "--dry-run",
            "--json",
        ],
        Some(dir.path()),
        &[("GRIDLAKE_TODAY", "2024-03-16")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let days: Vec<&str> = s["datasets"][0]["plan"]["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["day"].as_str().unwrap())
        .collect();
    assert_eq!(
        days,
        [
            "2024-03-10",
            "2024-03-11",
            "2024-03-12",
            "2024-03-13",
            "2024-03-14",
            "2024-03-15",
            "2024-03-16"
        ]
    );
}

/// Debug logging (`-vv`) of a run whose server echoes the token never prints it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_never_print_a_token() {
    let server = ReplayServer::start(builtin::recordings().unwrap()).unwrap();
    for _ in 0..2 {
        server.push_fault(
            Route::Path("/reach/REACH-ALL_20250901T000000_20250902T000000.csv".into()),
            Fault::Status(500, format!("bad token {TOKEN}")),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gridlake.toml");
    std::fs::write(
        &config,
        format!(
            "lake = \"lake\"\n[http]\ntime_scale = 0.001\nmax_attempts = 2\n[sources.reach]\nurl = \"{}/reach/REACH-ALL_{{date:%Y%m%d}}T000000_{{next:%Y%m%d}}T000000.csv\"\ntoken_env = \"REACH_TOKEN\"\n",
            server.base_url()
        ),
    )
    .unwrap();
    let out = gridlake_in(
        &[
            "-vv",
            "--config",
            config.to_str().unwrap(),
            "ingest",
            "reach_dosimeter",
            "--start",
            "2025-09-01",
            "--end",
            "2025-09-01",
            "--json",
        ],
        Some(dir.path()),
        &[("REACH_TOKEN", TOKEN), ("GRIDLAKE_TODAY", "2026-01-15")],
    );
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DEBUG") || stderr.contains("WARN"),
        "no logs at -vv: {stderr}"
    );
    assert!(!stderr.contains(TOKEN), "{stderr}");
    assert!(!stdout(&out).contains(TOKEN));
    assert_eq!(server.requests().len(), 2);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some(format!("Bearer {TOKEN}").as_str()))
    );
}

/// `HTTP_PROXY` / `HTTPS_PROXY` are honoured: the source's host does not resolve, and the request reaches the
/// recordings only through the proxy named in the environment (the replay server, answering proxy-form requests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_through_the_proxy_in_the_environment() {
    let server = ReplayServer::start(builtin::recordings().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gridlake.toml");
    std::fs::write(
        &config,
        "lake = \"lake\"\n[http]\nmax_attempts = 1\n[sources.nyiso]\nbase_url = \"http://mis.nyiso.invalid/public/csv\"\n",
    )
    .unwrap();
    let proxy = server.base_url();
    let run = |env: &[(&str, &str)]| {
        gridlake_in(
            &[
                "--config",
                config.to_str().unwrap(),
                "ingest",
                "nyiso_lbmp_dam_zonal",
                "--start",
                "2024-03-10",
                "--end",
                "2024-03-10",
                "--force",
            ],
            Some(dir.path()),
            env,
        )
    };
    let direct = run(&[("GRIDLAKE_TODAY", "2026-01-15"), ("NO_PROXY", "*")]);
    assert_eq!(
        direct.status.code(),
        Some(3),
        "without the proxy the host does not resolve"
    );
    assert_eq!(server.request_count(), 0);
    let proxied = run(&[
        ("GRIDLAKE_TODAY", "2026-01-15"),
        ("HTTP_PROXY", &proxy),
        ("NO_PROXY", ""),
    ]);
    assert_eq!(
        proxied.status.code(),
        Some(0),
        "{}{}",
        stdout(&proxied),
        String::from_utf8_lossy(&proxied.stderr)
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("host"), Some("mis.nyiso.invalid"));
}
