//! `import` and `validate`: local files through the converter into the lake.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::BooleanArray;
use arrow::compute::filter_record_batch;
use arrow::record_batch::RecordBatch;
use futures::StreamExt;
use gridlake_lake::{
    DayCommit, DayState, FooterMeta, InputRecord, Lake, LakeError, LedgerRecord, availability_pct,
};
use gridlake_schema::{
    ConvertError, ConvertSummary, Converter, Dataset, DayBatch, HeaderReport, InputContext,
    RecordCounts, Reject, day_to_string,
};
use gridlake_sources::{UnpackError, UnpackLimits, unpack_reader};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Bytes handed to the converter per push.
const CHUNK: usize = 256 * 1024;
/// Rejected records one input may have before it is refused as a whole.
const MAX_REJECTS_PER_INPUT: usize = 100_000;

/// Errors that stop a whole run (an input's own problems are outcomes, not errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The lake could not be used at all.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// A commit task died (a bug: please report it).
    #[error(
        "a commit task failed unexpectedly ({0}); the lake is consistent (commits are atomic): run the import again"
    )]
    Task(String),
    /// The ledger could not be written after the commits (the files carry their own footers).
    #[error(
        "the run's ledger records could not be written ({0}); the committed files are intact and self-describing: run `gridlake import` again to record them"
    )]
    Ledger(LakeError),
}

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Caps for archives.
    pub limits: UnpackLimits,
    /// Days the inputs are meant to cover: a failed input marks them `failed`, an input with no rows for
    /// one of them marks it `no_data`.
    pub declared_days: Vec<i32>,
    /// Inputs converted at once.
    pub jobs: usize,
    /// How many rejects per input are kept in the summary (all are written to the reject store).
    pub max_rejects_in_summary: usize,
    /// Staged files older than this are removed when the run starts (left by a crash).
    pub staging_grace: std::time::Duration,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            limits: UnpackLimits::default(),
            declared_days: Vec::new(),
            jobs: std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(4),
            max_rejects_in_summary: 20,
            staging_grace: std::time::Duration::from_secs(3600),
        }
    }
}

/// One day's result within a run.
#[derive(Debug, Clone, Serialize)]
pub struct DayResult {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// State after the run.
    pub state: DayState,
    /// Rows in the day's file.
    pub rows: u64,
    /// Rows a complete day holds, when known.
    pub expected_rows: Option<u64>,
    /// 100 × rows / expected.
    pub availability_pct: Option<f64>,
    /// Records this run contributed (summed over its inputs).
    pub records: RecordCounts,
    /// Whether every commit for the day was a no-op (the inputs were already in).
    pub unchanged: bool,
    /// Why the day failed.
    pub error: Option<String>,
}

/// One input (a CSV, or one CSV member of an archive).
#[derive(Debug, Clone, Serialize)]
pub struct InputOutcome {
    /// Input name.
    pub name: String,
    /// SHA-256 of its CSV bytes.
    pub sha256: String,
    /// Records.
    pub records: RecordCounts,
    /// Rejected records whose day could not be read.
    pub undated_rejects: u64,
    /// Days it fed, `YYYY-MM-DD`.
    pub days: Vec<String>,
    /// The first rejects (all of them are in the lake's reject store).
    pub rejects: Vec<RejectView>,
    /// Header binding.
    pub header: HeaderReport,
    /// A file-level problem: nothing of the input was used.
    pub error: Option<String>,
}

/// A reject as printed.
#[derive(Debug, Clone, Serialize)]
pub struct RejectView {
    /// Input.
    pub file: String,
    /// Physical line.
    pub line: u64,
    /// Column.
    pub column: Option<String>,
    /// Value.
    pub value: Option<String>,
    /// Reason.
    pub reason: String,
}

impl From<&Reject> for RejectView {
    fn from(r: &Reject) -> Self {
        RejectView {
            file: r.file.clone(),
            line: r.line,
            column: r.column.clone(),
            value: r.value.clone(),
            reason: r.reason.clone(),
        }
    }
}

/// The outcome of an `import` or `validate` run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Run id (also in the ledger and the files' footers).
    pub run_id: String,
    /// Dataset.
    pub dataset: String,
    /// Lake location (`None` for validate).
    pub lake: Option<String>,
    /// Totals over all inputs.
    pub records: RecordCounts,
    /// Output rows written (more than records when a schema unpivots).
    pub rows_written: u64,
    /// Per input.
    pub inputs: Vec<InputOutcome>,
    /// Per day touched.
    pub days: Vec<DayResult>,
    /// Inputs refused at file level.
    pub failed_inputs: usize,
    /// Days that ended `failed`.
    pub failed_days: usize,
    /// Wall time.
    pub elapsed_ms: u64,
}

impl RunSummary {
    /// Whether anything failed (exit code 3).
    pub fn has_failures(&self) -> bool {
        self.failed_inputs > 0 || self.failed_days > 0
    }
}

/// One CSV member converted: its rows per day and its rejects.
pub(crate) struct Converted {
    pub(crate) name: String,
    sha256: String,
    pub(crate) summary: ConvertSummary,
    days: BTreeMap<i32, Vec<RecordBatch>>,
    rejects: Vec<Reject>,
}

/// A file whose members were converted, or the file-level error that stopped it.
pub(crate) struct FileResult {
    pub(crate) members: Vec<Converted>,
    pub(crate) error: Option<(String, String)>,
}

/// Reads `files` as `dataset` and reports what an import would do, writing nothing.
pub async fn validate_files(
    ds: Arc<Dataset>,
    files: &[PathBuf],
    opts: &ImportOptions,
) -> RunSummary {
    let started = Instant::now();
    let mut summary = new_summary(&ds, None);
    let mut results = std::pin::pin!(convert_stream(&ds, files, opts));
    while let Some(result) = results.next().await {
        absorb_file(&mut summary, result, opts);
    }
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    summary
}

/// Imports `files` into `lake` as `dataset`.
pub async fn import_files(
    lake: &Lake,
    ds: Arc<Dataset>,
    files: &[PathBuf],
    opts: &ImportOptions,
) -> Result<RunSummary, ImportError> {
    let started = Instant::now();
    lake.clean_staging(opts.staging_grace).await?;
    let mut summary = new_summary(&ds, Some(lake.location().to_string()));
    let run_id = summary.run_id.clone();
    let mut records: Vec<LedgerRecord> = Vec::new();
    let mut day_results: BTreeMap<i32, DayResult> = BTreeMap::new();
    // Conversion runs `jobs` inputs ahead on blocking threads, and commits run as tasks beside it. An input
    // that feeds a day an earlier input is still committing waits for it, so when two inputs feed the same day
    // the later one (in command-line order) wins; outcomes are absorbed in input order. Commits (merge, sort,
    // encode) take about half the CPU of conversion, so half as many commit tasks as converters keeps the
    // cores busy; memory holds a few converted inputs, whatever the number of files.
    let commit_jobs = opts.jobs.max(1).div_ceil(2);
    let mut results = std::pin::pin!(convert_stream(&ds, files, opts));
    let mut pending: Vec<(usize, BTreeSet<i32>, CommitTask)> = Vec::new();
    let mut finished: BTreeMap<usize, Finished> = BTreeMap::new();
    let mut next = 0usize;
    while let Some(result) = results.next().await {
        if let Some((name, error)) = result.error {
            finished.insert(next, Finished::Refused { name, error });
            next += 1;
        }
        for member in result.members {
            let days: BTreeSet<i32> = member.summary.days.keys().copied().collect();
            while let Some(pos) = pending.iter().position(|p| !p.1.is_disjoint(&days)) {
                let (idx, _, task) = pending.remove(pos);
                finished.insert(idx, Finished::Committed(Box::new(join(task).await?)));
            }
            if pending.len() >= commit_jobs {
                let (idx, _, task) = pending.remove(0);
                finished.insert(idx, Finished::Committed(Box::new(join(task).await?)));
            }
            let task = tokio::spawn(commit_member(
                lake.clone(),
                Arc::clone(&ds),
                member,
                run_id.clone(),
                opts.max_rejects_in_summary,
            ));
            pending.push((next, days, task));
            next += 1;
        }
    }
    for (idx, _, task) in pending {
        finished.insert(idx, Finished::Committed(Box::new(join(task).await?)));
    }
    for (_, f) in finished {
        match f {
            Finished::Refused { name, error } => {
                let refused = FileResult {
                    members: Vec::new(),
                    error: Some((name, error)),
                };
                absorb_file(&mut summary, refused, opts);
            }
            Finished::Committed(mc) => {
                absorb_commit(&mut summary, &mut day_results, &mut records, *mc, opts)
            }
        }
    }
    // Declared days: no rows for them means the source had no data, unless a failed input may have held them.
    let any_input_failed = summary.failed_inputs > 0;
    for &day in &opts.declared_days {
        if day_results.contains_key(&day) {
            continue;
        }
        let (state, error) = if any_input_failed {
            (
                DayState::Failed,
                summary.inputs.iter().find_map(|i| i.error.clone()),
            )
        } else {
            (DayState::NoData, None)
        };
        let inputs: Vec<String> = summary.inputs.iter().map(|i| i.name.clone()).collect();
        let (record, result) =
            uncovered_day(lake, ds.name(), &run_id, day, state, error, inputs).await?;
        records.push(record);
        day_results.insert(day, result);
    }
    lake.ledger()
        .append(&records)
        .await
        .map_err(ImportError::Ledger)?;
    summary.failed_days = day_results
        .values()
        .filter(|d| d.state == DayState::Failed)
        .count();
    summary.days = day_results.into_values().collect();
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// The attempt at a day that an input or request was meant to cover but that no converted rows reached:
/// `no_data`, or `failed` with the reason. A day that already has a file keeps it, and its state; the
/// attempt is still logged.
pub(crate) async fn uncovered_day(
    lake: &Lake,
    dataset: &str,
    run_id: &str,
    day: i32,
    state: DayState,
    error: Option<String>,
    inputs: Vec<String>,
) -> Result<(LedgerRecord, DayResult), LakeError> {
    let file = lake.read_footer(dataset, day).await?;
    let record = LedgerRecord {
        run_id: run_id.to_string(),
        dataset: dataset.to_string(),
        day,
        state,
        rows: 0,
        expected_rows: None,
        records_read: 0,
        records_written: 0,
        records_rejected: 0,
        records_superseded: 0,
        bytes: 0,
        inputs,
        error: error.clone(),
        recorded_at: chrono::Utc::now().timestamp_micros(),
        duration_ms: 0,
    };
    let mut result = DayResult {
        day: day_to_string(day),
        state,
        rows: 0,
        expected_rows: None,
        availability_pct: None,
        records: RecordCounts::default(),
        unchanged: false,
        error,
    };
    if let Some(f) = file {
        result.state = DayState::of_committed(f.rows, f.expected_rows);
        result.rows = f.rows;
        result.expected_rows = f.expected_rows;
        result.availability_pct = availability_pct(f.rows, f.expected_rows);
    }
    Ok((record, result))
}

type CommitTask = tokio::task::JoinHandle<Result<MemberCommit, LakeError>>;

async fn join(task: CommitTask) -> Result<MemberCommit, ImportError> {
    match task.await {
        Ok(r) => Ok(r?),
        Err(e) => Err(ImportError::Task(e.to_string())),
    }
}

/// An input's outcome, absorbed into the summary in input order.
pub(crate) enum Finished {
    Refused { name: String, error: String },
    Committed(Box<MemberCommit>),
}

/// What committing one converted input did.
pub(crate) struct MemberCommit {
    pub(crate) name: String,
    sha256: String,
    summary: ConvertSummary,
    /// The first rejects (all were written to the reject store).
    rejects: Vec<Reject>,
    pub(crate) days: Vec<MemberDay>,
    pub(crate) records: Vec<LedgerRecord>,
}

pub(crate) struct MemberDay {
    pub(crate) day: i32,
    counts: RecordCounts,
    rows_kept: u64,
    result: Result<DayCommit, String>,
    /// When the commit failed: the day's file as it still is, if it has one.
    surviving: Option<FooterMeta>,
}

/// Writes one input's rejects and commits each day it feeds, recording every attempt.
pub(crate) async fn commit_member(
    lake: Lake,
    ds: Arc<Dataset>,
    member: Converted,
    run_id: String,
    keep_rejects: usize,
) -> Result<MemberCommit, LakeError> {
    let t0 = Instant::now();
    let mut by_day: BTreeMap<Option<i32>, Vec<&Reject>> = BTreeMap::new();
    for r in &member.rejects {
        by_day.entry(r.day).or_default().push(r);
    }
    for (day, rejects) in &by_day {
        lake.write_rejects(ds.name(), *day, &member.sha256, &run_id, rejects)
            .await?;
    }
    let mut member_days = member.days;
    let mut days = Vec::new();
    let mut records = Vec::new();
    for (&day, outcome) in &member.summary.days {
        let batches = member_days.remove(&day).unwrap_or_default();
        if !by_day.contains_key(&Some(day)) {
            lake.write_rejects(ds.name(), Some(day), &member.sha256, &run_id, &[])
                .await?;
        }
        let input = InputRecord {
            name: member.name.clone(),
            sha256: member.sha256.clone(),
            read: outcome.counts.read,
            written: outcome.counts.written,
            rejected: outcome.counts.rejected,
            superseded: outcome.counts.superseded,
        };
        let result = if outcome.rows == 0 {
            Err(format!(
                "every record of {} for {} was rejected ({} rejects); see the rejects table or run `gridlake validate`",
                member.name,
                day_to_string(day),
                outcome.counts.rejected
            ))
        } else {
            let batches = drop_superseded(batches, &outcome.superseded_rows);
            lake.commit_day(Arc::clone(&ds), day, batches, input, &run_id)
                .await
                .map_err(|e| e.to_string())
        };
        // An earlier file of the day outranks a failed attempt.
        let surviving = match &result {
            Ok(_) => None,
            Err(_) => lake.read_footer(ds.name(), day).await?,
        };
        let mut record = LedgerRecord {
            run_id: run_id.clone(),
            dataset: ds.name().to_string(),
            day,
            state: DayState::Failed,
            rows: 0,
            expected_rows: None,
            records_read: outcome.counts.read,
            records_written: outcome.counts.written,
            records_rejected: outcome.counts.rejected,
            records_superseded: outcome.counts.superseded,
            bytes: 0,
            inputs: vec![member.name.clone()],
            error: None,
            recorded_at: 0,
            duration_ms: 0,
        };
        match &result {
            Ok(commit) => {
                record.state = commit.state;
                record.rows = commit.rows;
                record.expected_rows = commit.expected_rows;
                record.bytes = commit.bytes;
            }
            Err(e) => record.error = Some(e.clone()),
        }
        records.push(record);
        days.push(MemberDay {
            day,
            counts: outcome.counts,
            rows_kept: outcome.rows,
            result,
            surviving,
        });
    }
    let elapsed = t0.elapsed().as_millis() as u64;
    let now = chrono::Utc::now().timestamp_micros();
    for r in &mut records {
        r.recorded_at = now;
        r.duration_ms = elapsed;
    }
    let mut rejects = member.rejects;
    rejects.truncate(keep_rejects);
    Ok(MemberCommit {
        name: member.name,
        sha256: member.sha256,
        summary: member.summary,
        rejects,
        days,
        records,
    })
}

pub(crate) fn absorb_commit(
    summary: &mut RunSummary,
    day_results: &mut BTreeMap<i32, DayResult>,
    records: &mut Vec<LedgerRecord>,
    mc: MemberCommit,
    opts: &ImportOptions,
) {
    for d in mc.days {
        let entry = day_results.entry(d.day).or_insert_with(|| DayResult {
            day: day_to_string(d.day),
            state: DayState::Missing,
            rows: 0,
            expected_rows: None,
            availability_pct: None,
            records: RecordCounts::default(),
            unchanged: true,
            error: None,
        });
        entry.records.add(&d.counts);
        match d.result {
            Ok(commit) => {
                entry.state = commit.state;
                entry.rows = commit.rows;
                entry.expected_rows = commit.expected_rows;
                entry.availability_pct = availability_pct(commit.rows, commit.expected_rows);
                entry.unchanged &= commit.unchanged;
                entry.error = None;
                summary.rows_written += d.rows_kept;
            }
            Err(e) => {
                entry.unchanged = false;
                entry.error = Some(e);
                match d.surviving {
                    Some(f) => {
                        entry.state = DayState::of_committed(f.rows, f.expected_rows);
                        entry.rows = f.rows;
                        entry.expected_rows = f.expected_rows;
                        entry.availability_pct = availability_pct(f.rows, f.expected_rows);
                    }
                    None => entry.state = DayState::Failed,
                }
            }
        }
    }
    records.extend(mc.records);
    absorb_member(
        summary,
        &mc.name,
        &mc.sha256,
        &mc.summary,
        &mc.rejects,
        opts,
    );
}

pub(crate) fn new_summary(ds: &Dataset, lake: Option<String>) -> RunSummary {
    let run_id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    RunSummary {
        run_id,
        dataset: ds.name().to_string(),
        lake,
        records: RecordCounts::default(),
        rows_written: 0,
        inputs: Vec::new(),
        days: Vec::new(),
        failed_inputs: 0,
        failed_days: 0,
        elapsed_ms: 0,
    }
}

/// Adds a file's outcome (its members, or its file-level error) to the summary.
pub(crate) fn absorb_file(summary: &mut RunSummary, result: FileResult, opts: &ImportOptions) {
    for m in &result.members {
        absorb_member(summary, &m.name, &m.sha256, &m.summary, &m.rejects, opts);
        summary.rows_written += m.summary.days.values().map(|d| d.rows).sum::<u64>();
    }
    if let Some((name, error)) = result.error {
        summary.failed_inputs += 1;
        summary.inputs.push(InputOutcome {
            name,
            sha256: String::new(),
            records: RecordCounts::default(),
            undated_rejects: 0,
            days: Vec::new(),
            rejects: Vec::new(),
            header: HeaderReport::default(),
            error: Some(error),
        });
    }
}

fn absorb_member(
    summary: &mut RunSummary,
    name: &str,
    sha: &str,
    s: &ConvertSummary,
    rejects: &[Reject],
    opts: &ImportOptions,
) {
    summary.records.add(&s.counts);
    summary.inputs.push(InputOutcome {
        name: name.to_string(),
        sha256: sha.to_string(),
        records: s.counts,
        undated_rejects: s.undated_rejects,
        days: s.days.keys().map(|d| day_to_string(*d)).collect(),
        rejects: rejects
            .iter()
            .take(opts.max_rejects_in_summary)
            .map(RejectView::from)
            .collect(),
        header: s.header.clone(),
        error: None,
    });
}

/// Rows superseded under the schema's precedence are dropped before the commit.
fn drop_superseded(batches: Vec<RecordBatch>, superseded: &[u32]) -> Vec<RecordBatch> {
    if superseded.is_empty() {
        return batches;
    }
    let dead: std::collections::HashSet<u32> = superseded.iter().copied().collect();
    let mut first = 0u32;
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let n = b.num_rows() as u32;
        let keep: BooleanArray = (first..first + n)
            .map(|i| Some(!dead.contains(&i)))
            .collect();
        first += n;
        match filter_record_batch(&b, &keep) {
            Ok(f) => out.push(f),
            Err(_) => out.push(b),
        }
    }
    out
}

/// Converts every file, `opts.jobs` at a time, on blocking threads (reading, inflating and parsing are CPU
/// and file IO). Results keep the command-line order.
fn convert_stream<'a>(
    ds: &'a Arc<Dataset>,
    files: &'a [PathBuf],
    opts: &'a ImportOptions,
) -> impl futures::Stream<Item = FileResult> + 'a {
    let jobs = opts.jobs.max(1);
    futures::stream::iter(files.iter().cloned())
        .map(|path| {
            let ds = Arc::clone(ds);
            let limits = opts.limits.clone();
            async move {
                let input = InputSpec::file(path);
                convert_blocking(ds, input, limits).await
            }
        })
        .buffered(jobs)
}

/// One input to convert: where its bytes are, the name it is known by, and the values it carries outside
/// its rows.
#[derive(Debug, Clone)]
pub(crate) struct InputSpec {
    pub(crate) path: PathBuf,
    /// Name in the ledger, rejects and footers (the local file's name, or the remote file name); zip members
    /// are `<name>!<entry>`.
    pub(crate) name: String,
    /// How file-level errors name the input (the path given, or the URL's file name).
    pub(crate) display: String,
    pub(crate) context: InputContext,
}

impl InputSpec {
    fn file(path: PathBuf) -> InputSpec {
        InputSpec {
            name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            display: path.display().to_string(),
            path,
            context: InputContext::default(),
        }
    }
}

/// Converts one input on a blocking thread (reading, inflating and parsing are CPU and file IO).
pub(crate) async fn convert_blocking(
    ds: Arc<Dataset>,
    input: InputSpec,
    limits: UnpackLimits,
) -> FileResult {
    let display = input.display.clone();
    tokio::task::spawn_blocking(move || convert_file(&ds, &input, &limits))
        .await
        .unwrap_or_else(|e| FileResult {
            members: Vec::new(),
            error: Some((
                display,
                format!("conversion crashed: {e}; please report this with the file"),
            )),
        })
}

/// Why a member's conversion stopped.
#[derive(Debug, thiserror::Error)]
enum MemberError {
    #[error(transparent)]
    Convert(Box<ConvertError>),
    #[error("read failed: {0}")]
    Io(std::io::Error),
    #[error(
        "{file}: more than {limit} records rejected (first: line {first_line}: {first_reason}); this does not look like an input of this dataset. Check it with `gridlake validate`, fix the schema or the file, and import again"
    )]
    TooManyRejects {
        file: String,
        limit: usize,
        first_line: u64,
        first_reason: String,
    },
}

fn convert_file(ds: &Arc<Dataset>, input: &InputSpec, limits: &UnpackLimits) -> FileResult {
    let mut members = Vec::new();
    let display = input.display.clone();
    let result = match std::fs::File::open(&input.path) {
        Ok(file) => unpack_reader(
            &input.name,
            std::io::BufReader::with_capacity(64 << 10, file),
            limits,
            |name, reader| -> Result<(), MemberError> {
                members.push(convert_member(ds, name, &input.context, reader)?);
                Ok(())
            },
        ),
        Err(source) => Err(UnpackError::Io {
            path: input.path.clone(),
            source,
        }),
    };
    let error = match result {
        Ok(_) => None,
        Err(UnpackError::Visitor(MemberError::Convert(e))) => Some(e.to_string()),
        Err(UnpackError::Visitor(MemberError::Io(e))) => {
            Some(format!("{display}: read failed: {e}"))
        }
        Err(e) => Some(e.to_string()),
    };
    // A file-level error refuses the whole file: nothing of a half-read archive is committed.
    if error.is_some() {
        members.clear();
    }
    FileResult {
        members,
        error: error.map(|e| (display, e)),
    }
}

fn convert_member(
    ds: &Arc<Dataset>,
    name: &str,
    context: &InputContext,
    reader: &mut dyn Read,
) -> Result<Converted, MemberError> {
    let mut conv = Converter::with_context(Arc::clone(ds), name, context.clone());
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut days: BTreeMap<i32, Vec<RecordBatch>> = BTreeMap::new();
    let mut rejects = Vec::new();
    let stash = |batches: Vec<DayBatch>, days: &mut BTreeMap<i32, Vec<RecordBatch>>| {
        for b in batches {
            days.entry(b.day).or_default().push(b.batch);
        }
    };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(MemberError::Io(e)),
        };
        hasher.update(&buf[..n]);
        conv.push(&buf[..n])
            .map_err(|e| MemberError::Convert(Box::new(e)))?;
        stash(conv.take_batches(), &mut days);
        rejects.extend(conv.take_rejects());
        // Rejects are held until the commit; past this many the input is refused whole, which bounds memory
        // for a file that is not what it claims to be.
        if rejects.len() > MAX_REJECTS_PER_INPUT {
            let first = &rejects[0];
            return Err(MemberError::TooManyRejects {
                file: name.to_string(),
                limit: MAX_REJECTS_PER_INPUT,
                first_line: first.line,
                first_reason: first.reason.clone(),
            });
        }
    }
    let (summary, batches, more) = conv
        .finish()
        .map_err(|e| MemberError::Convert(Box::new(e)))?;
    stash(batches, &mut days);
    rejects.extend(more);
    Ok(Converted {
        name: name.to_string(),
        sha256: hex::encode(hasher.finalize()),
        summary,
        days,
        rejects,
    })
}
