//! `gridlake demo`: the whole product offline. The recordings compiled into the binary are served on a
//! loopback HTTP server, every built-in source is pointed at it, and each dataset's recorded days are ingested
//! through the real HTTP path (client, limiter, retries, unpack, converter, commit, ledger). Then the gaps and
//! a summary of the lake are printed.

use std::collections::BTreeMap;

use anyhow::Context;
use gridlake_lake::{Lake, LakeLocation};
use gridlake_replay::ReplayServer;
use gridlake_replay::builtin;
use gridlake_schema::{Catalog, date_to_day};
use gridlake_sources::SourcesConfig;
use gridlake_sources::http::RateLimitConfig;

use crate::acquire::{Acquirer, FetchSummary};
use crate::args::FetchArgs;
use crate::config::Config;

/// The sources pointed at the replay server `base`, with the node and symbol the recordings hold.
pub(crate) fn sources_at(base: &str) -> SourcesConfig {
    let mut s = SourcesConfig::mirrored_at(base);
    s.caiso.nodes = vec!["0096WD_7_N001".into()];
    s.binance.symbols = vec!["ADABTC".into()];
    // The recordings are on loopback: the real services' pace (OASIS: one request per 5 s) protects servers
    // we are not talking to, so the demo runs the same limiter at a loopback pace.
    let fast = Some(RateLimitConfig::fixed(50.0));
    s.caiso.rate_limit = fast.clone();
    s.miso.rate_limit = fast.clone();
    s.nyiso.rate_limit = fast.clone();
    s.binance.rate_limit = fast.clone();
    s.reach.rate_limit = fast;
    s
}

pub(crate) async fn run(
    catalog: Catalog,
    lake_flag: Option<&str>,
    json: bool,
) -> anyhow::Result<u8> {
    let server = ReplayServer::start(builtin::recordings()?)
        .context("cannot start the demo's loopback HTTP server")?;
    let base = server.base_url();
    let lake_dir = lake_flag.unwrap_or("gridlake-demo-lake");
    let lake = Lake::open_location(&LakeLocation::parse(lake_dir)?).await?;
    let config = Config {
        sources: sources_at(&base),
        ..Config::default()
    };
    let today = date_to_day(chrono::Utc::now().date_naive());
    let mut acq = Acquirer::new(lake, catalog, config, today)?;
    acq.progress = crate::acquire::terminal_progress(0);
    if !json {
        println!("gridlake demo: recorded answers served at {base} (offline); lake: {lake_dir}\n");
    }
    let started = std::time::Instant::now();
    let args = FetchArgs {
        dry_run: false,
        limit_days: None,
        retry_failed: false,
        retry_no_data: false,
        force: false,
        jobs: None,
        shard: None,
    };
    let mut runs = Vec::new();
    for range in builtin::ranges() {
        runs.push(
            acq.run_dataset(
                range.dataset,
                date_to_day(range.start),
                date_to_day(range.end),
                &args,
            )
            .await?,
        );
    }
    let summary = FetchSummary {
        command: "demo".into(),
        lake: acq.lake.location().to_string(),
        dry_run: false,
        failed_days: runs.iter().map(|r| r.run.failed_days).sum(),
        http_requests: runs.iter().map(|r| r.http_requests).sum(),
        datasets: runs,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    crate::output::fetch(&summary, json)?;
    let unmatched = server.unmatched();
    if !unmatched.is_empty() {
        anyhow::bail!(
            "the demo made {} request(s) no recording answers (first: {}); this is a bug in this build",
            unmatched.len(),
            unmatched[0].path
        );
    }
    if !json {
        println!("\nCoverage (gridlake gaps):");
        for range in builtin::ranges() {
            let statuses = acq
                .lake
                .ledger()
                .day_statuses(
                    range.dataset,
                    date_to_day(range.start),
                    date_to_day(range.end),
                )
                .await?;
            let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
            let mut rows = 0u64;
            for s in &statuses {
                *by_state.entry(s.state.as_str()).or_default() += 1;
                rows += s.written_rows;
            }
            let states: Vec<String> = by_state.iter().map(|(k, v)| format!("{v} {k}")).collect();
            println!(
                "  {:<22} {} .. {}  {:>9} rows  {}",
                range.dataset,
                range.start,
                range.end,
                rows,
                states.join(", ")
            );
        }
        println!(
            "\n{} HTTP requests. Read the lake with DuckDB:\n  SELECT * FROM read_parquet('{lake_dir}/*/*/*.parquet', hive_partitioning = true) LIMIT 5;",
            summary.http_requests
        );
    }
    Ok(if summary.has_failures() { 3 } else { 0 })
}
