//! The `gridlake` binary: argument parsing, configuration, output and exit codes. All the work happens in
//! the library crates; this file only wires them together (and is the only place `anyhow` is used).

mod acquire;
mod args;
mod config;
mod demo;
mod output;
mod sql;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use gridlake_ingest::{ImportOptions, import_files, validate_files};
use gridlake_lake::Lake;
use gridlake_schema::{Catalog, date_to_day};

use crate::acquire::{Acquirer, FetchSummary};
use crate::args::{Cli, Command, FetchArgs, LedgerCommand};
use crate::config::Config;

// The import path allocates and frees day-sized buffers over and over (batches, merge, Parquet pages). glibc
// and mimalloc hand that memory back to the kernel within milliseconds and then fault it in, zeroed, again: a
// quarter of the run's time was the kernel clearing pages. jemalloc keeps freed pages for seconds (its decay
// time), which is exactly the reuse pattern here.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Exit code: finished, but some input or day failed (rejects alone are not failures).
const EXIT_FAILURES: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GRIDLAKE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Escape codes belong on a terminal, not in the log file cron or systemd redirects stderr to.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let (config, config_path) = Config::load(cli.config.as_deref())?;
    let mut catalog = Catalog::builtin()
        .context("the built-in schemas do not load; this is a bug in this build")?;
    if let Some(dir) = config.resolve_schema_dir(config_path.as_deref()) {
        catalog.load_dir(&dir)?;
    }
    match cli.command {
        Command::Datasets { name } => {
            let datasets: Vec<_> = match &name {
                Some(n) => vec![catalog.get(n)?],
                None => catalog.iter().cloned().collect(),
            };
            output::datasets(&datasets, cli.json)?;
            Ok(0)
        }
        Command::Validate {
            dataset,
            files,
            show,
        } => {
            let ds = catalog.get(&dataset)?;
            let opts = ImportOptions {
                max_rejects_in_summary: show,
                ..Default::default()
            };
            let summary = validate_files(Arc::clone(&ds), &files, &opts).await;
            output::validate(&summary, cli.json)?;
            let bad = summary.has_failures() || summary.records.rejected > 0;
            Ok(if bad { EXIT_FAILURES } else { 0 })
        }
        Command::Import {
            dataset,
            files,
            days,
            jobs,
        } => {
            let ds = catalog.get(&dataset)?;
            let location = config.resolve_lake(cli.lake.as_deref(), config_path.as_deref())?;
            let lake = Lake::open_location(&location).await?;
            let mut opts = ImportOptions {
                declared_days: days.into_iter().map(date_to_day).collect(),
                ..Default::default()
            };
            if let Some(j) = jobs {
                opts.jobs = j.max(1);
            }
            let summary = import_files(&lake, ds, &files, &opts).await?;
            acquire::compact_ledger(&lake, config.ledger.compact_after_files).await;
            output::import(&summary, cli.json)?;
            Ok(if summary.has_failures() {
                EXIT_FAILURES
            } else {
                0
            })
        }
        Command::Demo => demo::run(catalog, cli.lake.as_deref(), cli.json).await,
        Command::Verify { dataset } => {
            let location = config.resolve_lake(cli.lake.as_deref(), config_path.as_deref())?;
            let lake = Lake::open_location(&location).await?;
            let violations = lake.verify(&catalog, dataset.as_deref()).await?;
            output::verify(lake.location(), &violations, cli.json)?;
            Ok(if violations.is_empty() {
                0
            } else {
                EXIT_FAILURES
            })
        }
        Command::Ledger(LedgerCommand::Compact { dataset }) => {
            let location = config.resolve_lake(cli.lake.as_deref(), config_path.as_deref())?;
            let lake = Lake::open_location(&location).await?;
            let outcomes = match &dataset {
                Some(d) => vec![lake.ledger().compact(d).await?],
                None => lake.ledger().compact_all().await?,
            };
            output::compact(lake.location(), &outcomes, cli.json)?;
            Ok(0)
        }
        Command::Sql(args) => {
            let location = config.resolve_lake(cli.lake.as_deref(), config_path.as_deref())?;
            let lake = Lake::open_location(&location).await?;
            sql::sql(lake, catalog, args).await
        }
        Command::Status { html, svg } => {
            let location = config.resolve_lake(cli.lake.as_deref(), config_path.as_deref())?;
            let lake = Lake::open_location(&location).await?;
            sql::status(lake, &catalog, html.as_deref(), svg.as_deref()).await
        }
        command => {
            let location = config.resolve_lake(cli.lake.as_deref(), config_path.as_deref())?;
            let lake = Lake::open_location(&location).await?;
            let mut acq = Acquirer::new(lake, catalog, config, acquire::today()?)?;
            acq.progress = acquire::terminal_progress(cli.verbose);
            run_fetching(&acq, command, cli.json).await
        }
    }
}

/// The commands that plan days against the lake: `ingest`, `sync`, `backfill`, `gaps`.
pub(crate) async fn run_fetching(
    acq: &Acquirer,
    command: Command,
    json: bool,
) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let (name, runs, args): (&str, _, FetchArgs) = match command {
        Command::Ingest {
            dataset,
            start,
            end,
            fetch,
        } => {
            let run = acq
                .run_dataset(&dataset, date_to_day(start), date_to_day(end), &fetch)
                .await?;
            ("ingest", vec![run], fetch)
        }
        Command::Sync { datasets, fetch } => ("sync", acq.sync(&datasets, &fetch).await?, fetch),
        Command::Backfill {
            dataset,
            start,
            end,
            fetch,
        } => {
            let run = acq
                .backfill(
                    &dataset,
                    start.map(date_to_day),
                    end.map(date_to_day),
                    &fetch,
                )
                .await?;
            ("backfill", vec![run], fetch)
        }
        Command::Gaps {
            dataset,
            start,
            end,
            fail_on_gaps,
            all,
        } => {
            let statuses = acq
                .statuses(&dataset, start.map(date_to_day), end.map(date_to_day))
                .await?;
            let gaps: Vec<_> = statuses
                .iter()
                .filter(|s| s.state.is_gap())
                .cloned()
                .collect();
            output::gaps(
                &dataset,
                if all { &statuses } else { &gaps },
                statuses.len(),
                json,
            )?;
            return Ok(if fail_on_gaps && !gaps.is_empty() {
                EXIT_FAILURES
            } else {
                0
            });
        }
        Command::Import { .. }
        | Command::Validate { .. }
        | Command::Datasets { .. }
        | Command::Verify { .. }
        | Command::Sql(_)
        | Command::Ledger(_)
        | Command::Status { .. }
        | Command::Demo => {
            anyhow::bail!("internal: {name} is not a fetching command", name = "this")
        }
    };
    let summary = FetchSummary {
        command: name.to_string(),
        lake: acq.lake.location().to_string(),
        dry_run: args.dry_run,
        failed_days: runs.iter().map(|r| r.run.failed_days).sum(),
        http_requests: runs.iter().map(|r| r.http_requests).sum(),
        datasets: runs,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    if !args.dry_run {
        acquire::compact_ledger(&acq.lake, acq.config.ledger.compact_after_files).await;
    }
    let text = output::fetch(&summary, json)?;
    if !args.dry_run {
        acq.notify(name, &summary, text).await;
    }
    Ok(if summary.has_failures() {
        EXIT_FAILURES
    } else {
        0
    })
}
