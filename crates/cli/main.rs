//! The `gridlake` binary: argument parsing, configuration, output and exit codes. All the work happens in
//! the library crates; this file only wires them together (and is the only place `anyhow` is used).

mod args;
mod config;
mod output;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use gridlake_ingest::{ImportOptions, import_files, validate_files};
use gridlake_lake::Lake;
use gridlake_schema::{Catalog, date_to_day};

use crate::args::{Cli, Command};
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
            let lake_dir = config.resolve_lake(cli.lake.as_deref(), config_path.as_deref());
            let lake = Lake::open_local(&lake_dir).await?;
            let mut opts = ImportOptions {
                declared_days: days.into_iter().map(date_to_day).collect(),
                ..Default::default()
            };
            if let Some(j) = jobs {
                opts.jobs = j.max(1);
            }
            let summary = import_files(&lake, ds, &files, &opts).await?;
            output::import(&summary, cli.json)?;
            Ok(if summary.has_failures() {
                EXIT_FAILURES
            } else {
                0
            })
        }
    }
}
