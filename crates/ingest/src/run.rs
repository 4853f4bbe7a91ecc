//! `ingest`, `sync` and `backfill`: plan the days of a dataset, fetch them over HTTP through its source,
//! and commit each day. A bounded pool of workers runs the requests; every host has one rate limiter shared by
//! all of them. A day that fails is recorded with its reason and the run goes on: a run never aborts
//! mid-range because one day could not be fetched.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use gridlake_lake::{DayState, Lake, LedgerRecord};
use gridlake_schema::{Dataset, InputContext, date_to_day, day_to_string};
use gridlake_sources::{Answer, Source, SourceRequest};
use serde::Serialize;

use crate::fetch::{FetchFailure, Fetcher};
use crate::import::{
    DayResult, FileResult, ImportError, ImportOptions, InputSpec, RunSummary, absorb_commit,
    absorb_file, commit_member, convert_blocking, new_summary, uncovered_day,
};
use crate::plan::{DayView, Plan, PlanOptions, Window, plan_days};

/// How an ingest run behaves.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Which days to fetch.
    pub plan: PlanOptions,
    /// Requests in flight at once (per dataset run).
    pub jobs: usize,
    /// Print the plan and the requests; fetch and write nothing.
    pub dry_run: bool,
    /// Conversion and commit settings shared with `import`.
    pub import: ImportOptions,
    /// Where the run reports how far it is.
    pub progress: Progress,
    /// Leases that keep several workers sharing a lake off each other's days.
    pub leases: LeaseOptions,
}

/// How a worker claims the days it fetches (`_gridlake/locks/<dataset>/<day>`).
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    /// This worker's owner id (one per process).
    pub owner: String,
    /// Lease time; renewed every third of it while the worker works, so a killed worker's days are free
    /// again this long after it died.
    pub ttl: std::time::Duration,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        LeaseOptions {
            owner: gridlake_lake::new_owner_id(),
            ttl: std::time::Duration::from_secs(300),
        }
    }
}

/// A step of a run, for progress displays.
#[derive(Debug, Clone, Copy)]
pub enum ProgressEvent<'a> {
    /// The dataset's requests are about to be made.
    Started {
        /// Dataset.
        dataset: &'a str,
        /// Requests planned.
        requests: usize,
    },
    /// One request is done (fetched and committed, or failed).
    RequestDone {
        /// Dataset.
        dataset: &'a str,
        /// Its days, `YYYY-MM-DD` of the first one.
        first_day: i32,
    },
    /// Every request of the dataset is done.
    Finished {
        /// Dataset.
        dataset: &'a str,
    },
}

/// Receives a run's progress events.
type ProgressSink = dyn Fn(ProgressEvent<'_>) + Send + Sync;

/// Where a run reports its steps (the CLI draws a progress bar on a terminal); silent by default.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<ProgressSink>>);

impl Progress {
    /// Reports to `sink`.
    pub fn to(sink: impl Fn(ProgressEvent<'_>) + Send + Sync + 'static) -> Progress {
        Progress(Some(Arc::new(sink)))
    }

    fn emit(&self, event: ProgressEvent<'_>) {
        if let Some(sink) = &self.0 {
            sink(event);
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(on)"
        } else {
            "Progress(off)"
        })
    }
}

/// A request as reported (secrets are env var names only).
#[derive(Debug, Clone, Serialize)]
pub struct RequestReport {
    /// URL.
    pub url: String,
    /// Days it covers.
    pub days: Vec<String>,
    /// `data`, `no_data`, `failed`, or `planned` in a dry run.
    pub outcome: String,
    /// HTTP attempts made (retries included).
    pub attempts: u32,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Why it failed, or the source's "no data" message.
    pub message: Option<String>,
}

/// One dataset's ingest run.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetRun {
    /// Inputs, days and records, as `import` reports them.
    #[serde(flatten)]
    pub run: RunSummary,
    /// The plan the run followed.
    pub plan: Plan,
    /// Every request made (or planned).
    pub requests: Vec<RequestReport>,
    /// HTTP requests made (data, checksums, retries).
    pub http_requests: u64,
}

impl DatasetRun {
    /// Whether a day failed or an input was refused (exit code 3).
    pub fn has_failures(&self) -> bool {
        self.run.has_failures()
    }
}

/// The range a dataset may be fetched over on `today`.
pub fn window(source: &dyn Source, earliest_override: Option<i32>, today: i32) -> Window {
    let p = source.publication();
    let earliest = date_to_day(p.earliest).max(earliest_override.unwrap_or(i32::MIN));
    Window {
        earliest,
        latest: today - i32::try_from(p.lag_days).unwrap_or(0),
    }
}

/// Plans `[start, end]` of `ds` against the lake's current state.
pub async fn plan_dataset(
    lake: &Lake,
    ds: &Dataset,
    window: Window,
    start: i32,
    end: i32,
    opts: &PlanOptions,
) -> Result<Plan, ImportError> {
    let lo = start.max(window.earliest);
    let hi = end.min(window.latest);
    let states: HashMap<i32, DayView> = if lo <= hi {
        lake.ledger()
            .day_statuses(ds.name(), lo, hi)
            .await?
            .iter()
            .filter_map(|s| Some((parse_day(&s.day)?, DayView::of(s))))
            .collect()
    } else {
        HashMap::new()
    };
    let missing = DayView {
        state: DayState::Missing,
        failed_attempts: 0,
    };
    Ok(plan_days(
        start,
        end,
        window,
        |d| states.get(&d).copied().unwrap_or(missing),
        opts,
    ))
}

fn parse_day(s: &str) -> Option<i32> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(date_to_day)
}

/// What one request ended as.
enum Fetched {
    Data {
        file: FileResult,
        commits: Vec<crate::import::MemberCommit>,
        attempts: u32,
        bytes: u64,
    },
    NoData {
        message: String,
        attempts: u32,
        bytes: u64,
    },
    Failed {
        message: String,
        attempts: u32,
    },
    /// Another worker holds a live lease on one of the days, or finished them after this run planned them.
    Elsewhere {
        message: String,
    },
}

/// Serializes commits of one day: two requests may feed the same day (one zip per symbol).
#[derive(Debug, Default)]
struct DayLocks {
    locks: Mutex<HashMap<i32, Arc<tokio::sync::Mutex<()>>>>,
}

impl DayLocks {
    fn lock_of(&self, day: i32) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(day).or_default())
    }
}

/// Fetches and commits the planned days of one dataset.
pub async fn ingest_dataset(
    lake: &Lake,
    ds: Arc<Dataset>,
    source: Arc<dyn Source>,
    fetcher: &Fetcher,
    plan: Plan,
    opts: &IngestOptions,
) -> Result<DatasetRun, ImportError> {
    let started = Instant::now();
    let mut summary = new_summary(&ds, Some(lake.location().to_string()));
    let days: Vec<i32> = plan.days.iter().map(|d| d.day).collect();
    let requests = match source.requests(&days) {
        Ok(r) => r,
        Err(e) => {
            // The source cannot even say what to fetch (bad config): every planned day fails with the reason.
            let message = e.to_string();
            let mut records = Vec::new();
            for &day in &days {
                let (record, result) = uncovered_day(
                    lake,
                    ds.name(),
                    &summary.run_id,
                    day,
                    DayState::Failed,
                    Some(message.clone()),
                    Vec::new(),
                )
                .await?;
                records.push(record);
                summary.days.push(result);
            }
            if !opts.dry_run {
                lake.ledger()
                    .append(&records)
                    .await
                    .map_err(ImportError::Ledger)?;
            }
            summary.failed_days = summary
                .days
                .iter()
                .filter(|d| d.state == DayState::Failed)
                .count();
            summary.elapsed_ms = started.elapsed().as_millis() as u64;
            return Ok(DatasetRun {
                run: summary,
                plan,
                requests: Vec::new(),
                http_requests: 0,
            });
        }
    };
    if opts.dry_run {
        let reports = requests
            .iter()
            .map(|r| RequestReport {
                url: r.url.clone(),
                days: r.days.iter().map(|d| day_to_string(*d)).collect(),
                outcome: "planned".into(),
                attempts: 0,
                bytes: 0,
                message: None,
            })
            .collect();
        summary.elapsed_ms = started.elapsed().as_millis() as u64;
        return Ok(DatasetRun {
            run: summary,
            plan,
            requests: reports,
            http_requests: 0,
        });
    }
    lake.clean_staging(opts.import.staging_grace).await?;
    let http_before = fetcher.requests_made();
    let run_id = summary.run_id.clone();
    let locks = DayLocks::default();
    let jobs = opts.jobs.max(1);
    let mut results = std::pin::pin!(
        futures::stream::iter(requests.iter().enumerate())
            .map(|(i, req)| {
                let ds = Arc::clone(&ds);
                let source = Arc::clone(&source);
                let run_id = run_id.clone();
                let locks = &locks;
                async move {
                    let fetched =
                        fetch_and_commit(lake, ds, source, fetcher, req, &run_id, locks, opts)
                            .await;
                    (i, fetched)
                }
            })
            .buffer_unordered(jobs)
    );
    let mut done: BTreeMap<usize, Fetched> = BTreeMap::new();
    opts.progress.emit(ProgressEvent::Started {
        dataset: ds.name(),
        requests: requests.len(),
    });
    while let Some((i, fetched)) = results.next().await {
        opts.progress.emit(ProgressEvent::RequestDone {
            dataset: ds.name(),
            first_day: requests[i].days.first().copied().unwrap_or_default(),
        });
        done.insert(i, fetched?);
    }
    opts.progress
        .emit(ProgressEvent::Finished { dataset: ds.name() });
    let mut records: Vec<LedgerRecord> = Vec::new();
    let mut day_results: BTreeMap<i32, DayResult> = BTreeMap::new();
    let mut reports = Vec::new();
    for (i, fetched) in done {
        let req = &requests[i];
        let mut report = RequestReport {
            url: req.url.clone(),
            days: req.days.iter().map(|d| day_to_string(*d)).collect(),
            outcome: String::new(),
            attempts: 0,
            bytes: 0,
            message: None,
        };
        // Days the request covers that no input filled: "no data", or failed with the request.
        let (covered_state, covered_error) = match fetched {
            Fetched::Data {
                file,
                commits,
                attempts,
                bytes,
            } => {
                report.outcome = "data".into();
                report.attempts = attempts;
                report.bytes = bytes;
                let refused = file.error.clone();
                absorb_file(
                    &mut summary,
                    FileResult {
                        members: Vec::new(),
                        error: file.error,
                    },
                    &opts.import,
                );
                for mc in commits {
                    absorb_commit(
                        &mut summary,
                        &mut day_results,
                        &mut records,
                        mc,
                        &opts.import,
                    );
                }
                match refused {
                    Some((_, e)) => {
                        report.outcome = "failed".into();
                        report.message = Some(e.clone());
                        (DayState::Failed, Some(e))
                    }
                    None => (DayState::NoData, None),
                }
            }
            Fetched::NoData {
                message,
                attempts,
                bytes,
            } => {
                report.outcome = "no_data".into();
                report.attempts = attempts;
                report.bytes = bytes;
                report.message = Some(message);
                (DayState::NoData, None)
            }
            Fetched::Failed { message, attempts } => {
                report.outcome = "failed".into();
                report.attempts = attempts;
                report.message = Some(message.clone());
                (DayState::Failed, Some(message))
            }
            Fetched::Elsewhere { message } => {
                // Not an attempt of this worker: no ledger record, no day result.
                report.outcome = "elsewhere".into();
                report.message = Some(message);
                reports.push(report);
                continue;
            }
        };
        for &day in &req.days {
            if day_results.contains_key(&day) {
                continue;
            }
            let error = (covered_state == DayState::Failed)
                .then(|| covered_error.clone().unwrap_or_default());
            let (record, result) = uncovered_day(
                lake,
                ds.name(),
                &run_id,
                day,
                covered_state,
                error,
                vec![req.input_name.clone()],
            )
            .await?;
            records.push(record);
            day_results.insert(day, result);
        }
        reports.push(report);
    }
    tracing::debug!(records = records.len(), "phase: ledger");
    lake.ledger()
        .append(&records)
        .await
        .map_err(ImportError::Ledger)?;
    tracing::debug!("phase: done");
    summary.failed_days = day_results
        .values()
        .filter(|d| d.state == DayState::Failed)
        .count();
    summary.days = day_results.into_values().collect();
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(DatasetRun {
        run: summary,
        plan,
        requests: reports,
        http_requests: fetcher.requests_made() - http_before,
    })
}

/// One request: download (with retries), verify, inspect, convert and commit each day it fills.
#[allow(clippy::too_many_arguments)]
async fn fetch_and_commit(
    lake: &Lake,
    ds: Arc<Dataset>,
    source: Arc<dyn Source>,
    fetcher: &Fetcher,
    req: &SourceRequest,
    run_id: &str,
    locks: &DayLocks,
    opts: &IngestOptions,
) -> Result<Fetched, ImportError> {
    // Claim every day of the request before fetching: two workers never fetch or commit the same day.
    // The `phase:` debug events name the stage a run is in (the crash harness reads them to report where
    // its kills landed; with `-vv` they show where a slow run spends its time).
    tracing::debug!(input = %req.input_name, days = req.days.len(), "phase: lease");
    let mut leases = Vec::with_capacity(req.days.len());
    for &day in &req.days {
        match lake
            .try_lease_as(&opts.leases.owner, ds.name(), day, opts.leases.ttl)
            .await
        {
            Ok(Some(lease)) => leases.push(lease),
            Ok(None) => {
                release_all(leases).await;
                return Ok(Fetched::Elsewhere {
                    message: format!(
                        "{} is leased by another worker; it is left to that worker",
                        day_to_string(day)
                    ),
                });
            }
            Err(e) => {
                release_all(leases).await;
                return Ok(Fetched::Failed {
                    message: format!("could not claim {}: {e}", day_to_string(day)),
                    attempts: 0,
                });
            }
        }
    }
    // A worker that held a lease may have finished the days since this run planned them.
    if !opts.plan.force && done_elsewhere(lake, ds.name(), &req.days).await {
        release_all(leases).await;
        return Ok(Fetched::Elsewhere {
            message: "another worker committed these days after this run planned them".into(),
        });
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let keeper = tokio::spawn(keep_leases(leases, stopped));
    let result = fetch_and_commit_leased(lake, ds, source, fetcher, req, run_id, locks, opts).await;
    let _ = stop.send(());
    let _ = keeper.await;
    result
}

/// Whether every day already has a complete file (the planner saw them missing, failed or incomplete).
async fn done_elsewhere(lake: &Lake, dataset: &str, days: &[i32]) -> bool {
    for &day in days {
        match lake.read_footer(dataset, day).await {
            Ok(Some(f))
                if DayState::of_committed(f.rows, f.expected_rows) == DayState::Complete => {}
            _ => return false,
        }
    }
    true
}

/// Renews the leases every third of their time until told to stop, then releases them.
async fn keep_leases(
    mut leases: Vec<gridlake_lake::Lease>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let every = leases
        .iter()
        .map(gridlake_lake::Lease::renew_every)
        .min()
        .unwrap_or(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = &mut stop => break,
            () = tokio::time::sleep(every) => {
                for lease in &mut leases {
                    if let Err(e) = lease.renew().await {
                        tracing::warn!(error = %e, "a lease could not be renewed");
                    }
                }
            }
        }
    }
    release_all(leases).await;
}

async fn release_all(leases: Vec<gridlake_lake::Lease>) {
    for lease in leases {
        if let Err(e) = lease.release().await {
            // An unreleased lease only delays other workers until it expires.
            tracing::warn!(error = %e, "a lease could not be released");
        }
    }
}

/// One request whose days this worker holds.
#[allow(clippy::too_many_arguments)]
async fn fetch_and_commit_leased(
    lake: &Lake,
    ds: Arc<Dataset>,
    source: Arc<dyn Source>,
    fetcher: &Fetcher,
    req: &SourceRequest,
    run_id: &str,
    locks: &DayLocks,
    opts: &IngestOptions,
) -> Result<Fetched, ImportError> {
    let download = match fetcher.fetch(source.as_ref(), req).await {
        Ok(d) => d,
        Err(FetchFailure { message, attempts }) => {
            return Ok(Fetched::Failed { message, attempts });
        }
    };
    let attempts = download.attempts;
    let bytes = download.len;
    let path = download.path().to_path_buf();
    let inspected = {
        let source = Arc::clone(&source);
        let req = req.clone();
        let path = path.clone();
        tokio::task::spawn_blocking(move || source.inspect(&req, &path)).await
    };
    match inspected {
        Ok(Ok(Answer::Data)) => {}
        Ok(Ok(Answer::NoData(message))) => {
            return Ok(Fetched::NoData {
                message,
                attempts,
                bytes,
            });
        }
        Ok(Err(e)) => {
            return Ok(Fetched::Failed {
                message: e.to_string(),
                attempts,
            });
        }
        Err(e) => {
            return Ok(Fetched::Failed {
                message: format!("inspecting the answer crashed ({e}); please report this"),
                attempts,
            });
        }
    }
    let mut context = InputContext::default();
    for (k, v) in &req.context {
        context.insert(k.clone(), v.clone());
    }
    let input = InputSpec {
        path,
        name: req.input_name.clone(),
        display: req.input_name.clone(),
        context,
    };
    tracing::debug!(input = %req.input_name, "phase: convert");
    let mut file = convert_blocking(Arc::clone(&ds), input, opts.import.limits.clone()).await;
    drop(download);
    let mut commits = Vec::new();
    for member in std::mem::take(&mut file.members) {
        let mut days: Vec<i32> = member.summary.days.keys().copied().collect();
        days.sort_unstable();
        let held: Vec<Arc<tokio::sync::Mutex<()>>> =
            days.iter().map(|d| locks.lock_of(*d)).collect();
        let mut guards = Vec::with_capacity(held.len());
        for l in &held {
            guards.push(l.lock().await);
        }
        tracing::debug!(input = %req.input_name, days = days.len(), "phase: commit");
        let committed = commit_member(
            lake.clone(),
            Arc::clone(&ds),
            member,
            run_id.to_string(),
            opts.import.max_rejects_in_summary,
        )
        .await;
        drop(guards);
        match committed {
            Ok(mc) => commits.push(mc),
            // The lake refused a write: the request's days fail (their earlier files stay intact, since
            // commits are atomic) and the run goes on with the next request.
            Err(e) => {
                return Ok(Fetched::Failed {
                    message: format!("{e}"),
                    attempts,
                });
            }
        }
    }
    Ok(Fetched::Data {
        file,
        commits,
        attempts,
        bytes,
    })
}
