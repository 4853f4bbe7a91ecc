//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// gridlake: download, validate and store public market and telemetry data as date-partitioned Parquet.
#[derive(Debug, Parser)]
#[command(name = "gridlake", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Lake location: a directory or s3://bucket/prefix (settings from AWS_*). Default: $GRIDLAKE_LAKE, else
    /// `lake` in gridlake.toml, else ./gridlake-lake.
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
    /// Fetch a range of days of one dataset from its source and commit them.
    Ingest {
        /// Dataset name.
        dataset: String,
        /// First day (YYYY-MM-DD, inclusive).
        #[arg(long, value_parser = parse_day)]
        start: chrono::NaiveDate,
        /// Last day (inclusive). Clipped to today minus the dataset's publication lag.
        #[arg(long, value_parser = parse_day)]
        end: chrono::NaiveDate,
        #[command(flatten)]
        fetch: FetchArgs,
    },
    /// The cron entry: every active dataset from its `start` (or the last 7 days on an empty lake) up to today
    /// minus its lag: new days, gaps and the refresh window.
    Sync {
        /// Only these datasets (default: every active one).
        datasets: Vec<String>,
        #[command(flatten)]
        fetch: FetchArgs,
    },
    /// Fetch exactly the gap days (missing, failed, incomplete) of a dataset's history.
    Backfill {
        /// Dataset name.
        dataset: String,
        /// First day (default: the dataset's `start`, else its first day in the lake).
        #[arg(long, value_parser = parse_day)]
        start: Option<chrono::NaiveDate>,
        /// Last day (default: today minus the dataset's lag).
        #[arg(long, value_parser = parse_day)]
        end: Option<chrono::NaiveDate>,
        #[command(flatten)]
        fetch: FetchArgs,
    },
    /// List the days of a dataset that are missing, failed or incomplete.
    Gaps {
        /// Dataset name.
        dataset: String,
        /// First day (default: the dataset's `start`, else its first day in the lake).
        #[arg(long, value_parser = parse_day)]
        start: Option<chrono::NaiveDate>,
        /// Last day (default: today minus the dataset's lag).
        #[arg(long, value_parser = parse_day)]
        end: Option<chrono::NaiveDate>,
        /// Exit with code 3 when there is a gap (for monitoring).
        #[arg(long)]
        fail_on_gaps: bool,
        /// Print every day of the range, not only the gaps.
        #[arg(long)]
        all: bool,
    },
    /// Check the lake's rules (one file per partition, no stray or in-flight files, UTC microsecond
    /// instants, one schema per dataset, ledger and files agree) without any outside reader.
    Verify {
        /// Only this dataset.
        dataset: Option<String>,
    },
    /// Maintenance of the ledger (the run records under `_gridlake/ledger/`).
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// SQL over the lake (DataFusion): every dataset, `ledger`, `ledger_log`, `rejects` and `gaps()` are
    /// tables. With no -c/-f/--query: a REPL on a terminal, else the statements read from stdin. Runs -c,
    /// then -f, then --query, each in the order given; the first error stops the batch (exit 1).
    Sql(SqlArgs),
    /// Days per state of every dataset, and a coverage calendar (--html or --svg).
    Status {
        /// Write a self-contained HTML calendar (one cell per day, coloured by state) to FILE.
        #[arg(long, value_name = "FILE", conflicts_with = "svg")]
        html: Option<PathBuf>,
        /// Write the calendar as an SVG image to FILE.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Offline demo: serves recorded responses on a loopback HTTP server and ingests every built-in source
    /// through the real HTTP path, then prints gaps and a summary.
    Demo,
}

/// `gridlake ledger …`.
#[derive(Debug, Subcommand)]
pub(crate) enum LedgerCommand {
    /// Fold a dataset's run records (one file per run) into one file, so reading its state costs one GET;
    /// with no dataset, every dataset, which also migrates the flat layout of lakes written before
    /// dataset folders. Safe while other runs write; `sync` does it past `[ledger] compact_after_files`.
    Compact {
        /// Only this dataset.
        dataset: Option<String>,
    },
}

/// `gridlake sql`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SqlArgs {
    /// SQL to run (one or more statements); repeatable.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub(crate) commands: Vec<String>,
    /// A file of SQL statements to run; repeatable.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// A canned query from queries/ (`\queries` in the shell lists them).
    #[arg(long, value_name = "NAME")]
    pub(crate) query: Option<String>,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = parse_format)]
    pub(crate) format: gridlake_shell::OutputFormat,
    /// Write results to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<gridlake_shell::OutputFormat, String> {
    s.parse()
        .map_err(|e: gridlake_shell::ShellError| e.to_string())
}

/// Options shared by the commands that fetch.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct FetchArgs {
    /// Print the plan and the requests; fetch and write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Fetch at most this many days (oldest first).
    #[arg(long)]
    pub(crate) limit_days: Option<u32>,
    /// Retry days that failed `max_attempts` times.
    #[arg(long)]
    pub(crate) retry_failed: bool,
    /// Re-check days the source said had no data.
    #[arg(long)]
    pub(crate) retry_no_data: bool,
    /// Fetch every day of the range, whatever its state.
    #[arg(long)]
    pub(crate) force: bool,
    /// Requests in flight at once (default: the source's `workers`, else 4).
    #[arg(long)]
    pub(crate) jobs: Option<usize>,
    /// This worker's share of the days, `i/N` (0-based), for N workers sharing one lake.
    #[arg(long)]
    pub(crate) shard: Option<String>,
}

fn parse_day(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date; use YYYY-MM-DD"))
}
