//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// gridlake: download, validate and store public market and telemetry data as date-partitioned Parquet.
#[derive(Debug, Parser)]
#[command(name = "gridlake", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Lake location (directory). Default: $GRIDLAKE_LAKE, else `lake` in gridlake.toml, else ./gridlake-lake.
    #[arg(long, global = true)]
    pub(crate) lake: Option<String>,
    /// Config file. Default: ./gridlake.toml when present.
    #[arg(long, global = true)]
    pub(crate) config: Option<PathBuf>,
    /// Print a machine-readable JSON summary on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Import local files (CSV, .zip of CSVs, .gz) into the lake.
    Import {
        /// Dataset name (see `gridlake datasets`).
        dataset: String,
        /// Input files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// A day (YYYY-MM-DD) the inputs are meant to cover; repeatable. A failed input marks these days
        /// `failed`; an input without rows for one of them marks it `no_data`.
        #[arg(long = "day", value_parser = parse_day)]
        days: Vec<chrono::NaiveDate>,
        /// Inputs converted at once (default: cores, at most 4).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Check files against a dataset's schema and report what an import would do; writes nothing.
    Validate {
        /// Dataset name.
        dataset: String,
        /// Input files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// How many rejects to print per input.
        #[arg(long, default_value_t = 20)]
        show: usize,
    },
    /// List the datasets gridlake knows, with their columns and types.
    Datasets {
        /// Only this dataset.
        name: Option<String>,
    },
}

fn parse_day(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date; use YYYY-MM-DD"))
}
