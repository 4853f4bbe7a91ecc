//! `ingest`, `sync`, `backfill` and `gaps`: the commands that plan days, fetch them through the sources and
//! report the lake's coverage, plus the notification at the end of a run.

use std::sync::Arc;

use anyhow::Context;
use gridlake_ingest::{
    DatasetRun, Fetcher, ImportOptions, IngestOptions, LeaseOptions, PlanOptions, Progress,
    ProgressEvent, Shard, Window, ingest_dataset, plan_dataset, window,
};
use gridlake_lake::{DayStatus, Lake};
use gridlake_notify::{Notifier, RunReport};
use gridlake_schema::{Catalog, date_to_day};
use gridlake_sources::{Registry, Source};
use serde::Serialize;

use crate::args::FetchArgs;
use crate::config::Config;

/// Days `sync` fetches on a lake that holds nothing of a dataset and has no `start` for it.
const SYNC_EMPTY_LAKE_DAYS: i32 = 7;

/// Everything a fetching command needs.
pub(crate) struct Acquirer {
    pub(crate) lake: Lake,
    pub(crate) catalog: Catalog,
    pub(crate) registry: Registry,
    pub(crate) fetcher: Fetcher,
    pub(crate) config: Config,
    pub(crate) today: i32,
    /// Built before the run so that a notification misconfiguration stops it at the start, not the end.
    notifier: Option<Notifier>,
    /// Progress bars on a terminal, nothing otherwise.
    pub(crate) progress: Progress,
    /// This process's owner id and lease time, shared by all its datasets.
    leases: LeaseOptions,
}

/// A progress bar per dataset on stderr when it is a terminal (and logs are off, which would tear it).
pub(crate) fn terminal_progress(verbose: u8) -> Progress {
    use std::io::IsTerminal;
    if verbose > 0 || !std::io::stderr().is_terminal() {
        return Progress::default();
    }
    let bar: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);
    Progress::to(move |event| {
        let mut bar = bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            ProgressEvent::Started { dataset, requests } => {
                let b = indicatif::ProgressBar::new(requests as u64);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{prefix:>22} [{bar:30}] {pos}/{len} requests  {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                b.set_prefix(dataset.to_string());
                *bar = Some(b);
            }
            ProgressEvent::RequestDone { first_day, .. } => {
                if let Some(b) = bar.as_ref() {
                    b.set_message(gridlake_schema::day_to_string(first_day));
                    b.inc(1);
                }
            }
            ProgressEvent::Finished { .. } => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
            }
        }
    })
}

/// What `ingest`, `sync` and `backfill` print with `--json`.
#[derive(Debug, Serialize)]
pub(crate) struct FetchSummary {
    pub(crate) command: String,
    pub(crate) lake: String,
    pub(crate) dry_run: bool,
    pub(crate) datasets: Vec<DatasetRun>,
    pub(crate) failed_days: usize,
    pub(crate) http_requests: u64,
    pub(crate) elapsed_ms: u64,
}

impl FetchSummary {
    pub(crate) fn has_failures(&self) -> bool {
        self.datasets.iter().any(DatasetRun::has_failures)
    }
}

/// Today as a day number: `GRIDLAKE_TODAY` (YYYY-MM-DD, for reproducible runs and tests), else the UTC date.
pub(crate) fn today() -> anyhow::Result<i32> {
    match std::env::var("GRIDLAKE_TODAY") {
        Ok(v) if !v.is_empty() => {
            let d = chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                .with_context(|| format!("GRIDLAKE_TODAY=`{v}` is not a date; use YYYY-MM-DD"))?;
            Ok(date_to_day(d))
        }
        _ => Ok(date_to_day(chrono::Utc::now().date_naive())),
    }
}

impl Acquirer {
    pub(crate) fn new(
        lake: Lake,
        catalog: Catalog,
        config: Config,
        today: i32,
    ) -> anyhow::Result<Acquirer> {
        for name in config.datasets.keys() {
            catalog.get(name).with_context(|| {
                format!("[datasets.{name}] in gridlake.toml names no known dataset")
            })?;
        }
        let registry = Registry::new(
            &config.sources,
            gridlake_schema::day_to_date(today).unwrap_or_default(),
        )?;
        let fetcher = Fetcher::new(config.http.clone(), config.sources.rate_limits()).context(
            "cannot build the HTTP client; check [http] and the rate limits in gridlake.toml",
        )?;
        let notifier = Notifier::new(config.notify.clone())
            .context("[notify] in gridlake.toml is not usable")?;
        let notifier = notifier.is_enabled().then_some(notifier);
        let leases = LeaseOptions {
            ttl: std::time::Duration::from_secs(config.leases.ttl_seconds.max(1)),
            ..LeaseOptions::default()
        };
        Ok(Acquirer {
            leases,
            progress: Progress::default(),
            notifier,
            lake,
            catalog,
            registry,
            fetcher,
            config,
            today,
        })
    }

    fn source(&self, dataset: &str) -> anyhow::Result<Arc<dyn Source>> {
        self.catalog.get(dataset)?;
        self.registry.get(dataset).cloned().with_context(|| {
            format!(
                "dataset `{dataset}` has no source to fetch it from; import its files with `gridlake import`, or add a [sources.template.<name>] with dataset = \"{dataset}\""
            )
        })
    }

    fn window(&self, source: &dyn Source, dataset: &str) -> Window {
        let start = self.config.dataset(dataset).start.map(date_to_day);
        window(source, start, self.today)
    }

    fn plan_options(&self, dataset: &str, args: &FetchArgs) -> anyhow::Result<PlanOptions> {
        let ds = self.config.dataset(dataset);
        Ok(PlanOptions {
            force: args.force,
            retry_failed: args.retry_failed,
            retry_no_data: args.retry_no_data,
            max_attempts: ds.max_attempts,
            refresh_days: ds.refresh_days,
            limit_days: args.limit_days,
            shard: args
                .shard
                .as_deref()
                .map(Shard::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?,
        })
    }

    /// The first day of a dataset's history: its `start`, else its first day in the lake.
    async fn history_start(&self, dataset: &str) -> anyhow::Result<Option<i32>> {
        if let Some(s) = self.config.dataset(dataset).start {
            return Ok(Some(date_to_day(s)));
        }
        let mut days: Vec<i32> = self
            .lake
            .partition_days(dataset)
            .await?
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        let records = self.lake.ledger().records(Some(dataset)).await?;
        days.extend(records.iter().map(|r| r.day));
        Ok(days.into_iter().min())
    }

    /// Plans and runs one dataset over `[start, end]`.
    pub(crate) async fn run_dataset(
        &self,
        dataset: &str,
        start: i32,
        end: i32,
        args: &FetchArgs,
    ) -> anyhow::Result<DatasetRun> {
        let source = self.source(dataset)?;
        let ds = self.catalog.get(dataset)?;
        let window = self.window(source.as_ref(), dataset);
        let plan_opts = self.plan_options(dataset, args)?;
        let plan = plan_dataset(&self.lake, &ds, window, start, end, &plan_opts).await?;
        let opts = IngestOptions {
            plan: plan_opts,
            jobs: args
                .jobs
                .or(self.config.sources.workers(source.family()))
                .unwrap_or(4)
                .max(1),
            dry_run: args.dry_run,
            import: ImportOptions::default(),
            progress: self.progress.clone(),
            leases: self.leases.clone(),
        };
        Ok(ingest_dataset(&self.lake, ds, source, &self.fetcher, plan, &opts).await?)
    }

    /// `gridlake sync`: every active dataset (or those named) from its start to today − lag.
    pub(crate) async fn sync(
        &self,
        only: &[String],
        args: &FetchArgs,
    ) -> anyhow::Result<Vec<DatasetRun>> {
        let names: Vec<String> = if only.is_empty() {
            self.registry
                .iter()
                .filter(|s| self.is_active(s.as_ref()))
                .map(|s| s.dataset().to_string())
                .collect()
        } else {
            only.to_vec()
        };
        let mut runs = Vec::new();
        for name in names {
            let source = self.source(&name)?;
            let window = self.window(source.as_ref(), &name);
            let start = match self.history_start(&name).await? {
                Some(s) => s,
                None => window.latest - (SYNC_EMPTY_LAKE_DAYS - 1),
            };
            runs.push(self.run_dataset(&name, start, window.latest, args).await?);
        }
        Ok(runs)
    }

    fn is_active(&self, source: &dyn Source) -> bool {
        let configured = self.config.dataset(source.dataset()).active;
        let usable = self.catalog.get(source.dataset()).is_ok() && source.requests(&[0]).is_ok();
        configured.unwrap_or(true) && usable
    }

    /// `gridlake backfill`: the gap days of `[start, end]` (default the whole history).
    pub(crate) async fn backfill(
        &self,
        dataset: &str,
        start: Option<i32>,
        end: Option<i32>,
        args: &FetchArgs,
    ) -> anyhow::Result<DatasetRun> {
        let (lo, hi) = self.default_range(dataset, start, end).await?;
        self.run_dataset(dataset, lo, hi, args).await
    }

    /// A range defaulting to the dataset's history up to today − lag.
    pub(crate) async fn default_range(
        &self,
        dataset: &str,
        start: Option<i32>,
        end: Option<i32>,
    ) -> anyhow::Result<(i32, i32)> {
        let latest = match self.registry.get(dataset) {
            Some(s) => self.window(s.as_ref(), dataset).latest,
            None => self.today,
        };
        let end = end.unwrap_or(latest);
        let start = match start {
            Some(s) => s,
            None => self.history_start(dataset).await?.unwrap_or(end + 1),
        };
        Ok((start, end))
    }

    /// `gridlake gaps`: every day of the range with its state (the caller keeps the gaps).
    pub(crate) async fn statuses(
        &self,
        dataset: &str,
        start: Option<i32>,
        end: Option<i32>,
    ) -> anyhow::Result<Vec<DayStatus>> {
        self.catalog.get(dataset)?;
        let (lo, hi) = self.default_range(dataset, start, end).await?;
        if lo > hi {
            return Ok(Vec::new());
        }
        Ok(self.lake.ledger().day_statuses(dataset, lo, hi).await?)
    }

    /// Sends the run's notifications; a failure to notify is logged and never changes the outcome.
    pub(crate) async fn notify(&self, command: &str, summary: &FetchSummary, text: String) {
        let Some(notifier) = &self.notifier else {
            return;
        };
        let failed_days = summary
            .datasets
            .iter()
            .filter(|d| d.run.failed_days > 0)
            .map(|d| {
                (
                    d.run.dataset.clone(),
                    d.run
                        .days
                        .iter()
                        .filter(|x| x.state == gridlake_lake::DayState::Failed)
                        .map(|x| x.day.clone())
                        .collect(),
                )
            })
            .collect();
        let report = RunReport {
            command: command.to_string(),
            lake: self.lake.location().to_string(),
            failed: summary.has_failures(),
            failed_days,
            summary_json: serde_json::to_value(summary).unwrap_or_default(),
            text,
        };
        for outcome in notifier.notify(&report).await {
            if let Err(e) = &outcome.result {
                eprintln!(
                    "warning: {} notification to {} not delivered: {e}",
                    outcome.channel, outcome.target
                );
            }
        }
    }
}

/// Folds each dataset's ledger run records once it has `[ledger] compact_after_files` of them, after any
/// command that appended some (`import`, `ingest`, `sync`, `backfill`), so that a lake fed daily by any of
/// them keeps `gaps` and the shell's `ledger` at a few reads. Maintenance, not the run's outcome: the records
/// are all there whether or not they are folded, so a failure is a warning and the next run tries again.
pub(crate) async fn compact_ledger(lake: &Lake, threshold: usize) {
    if let Err(e) = lake.ledger().compact_if_needed(threshold).await {
        eprintln!("warning: the ledger was not compacted (the next run tries again): {e}");
    }
}
