//! The ledger: an append-only log of run records, and the current state of each day, reconciled with the
//! files actually present.
//!
//! ```text
//!   _gridlake/ledger/dataset=<name>/<time>-<id>.parquet          one file per run (append: one PUT)
//!   _gridlake/ledger/dataset=<name>/compacted-<generation>.parquet   the runs folded by `ledger compact`
//!   _gridlake/ledger/<time>-<id>.parquet                         the flat layout of older lakes (still read)
//! ```
//! One folder per dataset, so reading one dataset's state (`gaps`, the planner) never reads another
//! dataset's records; compaction keeps that to a GET or two however many runs there were.
//!
//! A file in the lake outranks a record: a day whose latest attempt failed but whose earlier file is intact
//! keeps that file's state, and a file whose record was lost (crash between swap and record) still counts,
//! from its footer.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use gridlake_schema::day_to_string;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::KeyValue;
use serde::Serialize;

use crate::commit::writer_properties;
use crate::error::LakeError;
use crate::layout::Lake;

/// The state of one day of one dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayState {
    /// Committed with at least the expected rows.
    Complete,
    /// Committed with fewer rows than expected.
    Incomplete,
    /// The source said the day has no data.
    NoData,
    /// The last attempt failed and no file holds the day.
    Failed,
    /// Never attempted (or its file is gone).
    Missing,
}

impl DayState {
    /// The ledger's text for the state.
    pub fn as_str(&self) -> &'static str {
        match self {
            DayState::Complete => "complete",
            DayState::Incomplete => "incomplete",
            DayState::NoData => "no_data",
            DayState::Failed => "failed",
            DayState::Missing => "missing",
        }
    }

    /// Parses the ledger's text.
    pub fn parse(s: &str) -> Option<DayState> {
        Some(match s {
            "complete" => DayState::Complete,
            "incomplete" => DayState::Incomplete,
            "no_data" => DayState::NoData,
            "failed" => DayState::Failed,
            "missing" => DayState::Missing,
            _ => return None,
        })
    }

    /// The state of a committed day holding `rows` where `expected` rows make it complete.
    pub fn of_committed(rows: u64, expected: Option<u64>) -> DayState {
        match expected {
            Some(e) if rows < e => DayState::Incomplete,
            _ => DayState::Complete,
        }
    }

    /// Whether `gaps` reports the day.
    pub fn is_gap(&self) -> bool {
        matches!(
            self,
            DayState::Incomplete | DayState::Failed | DayState::Missing
        )
    }
}

impl std::fmt::Display for DayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attempt at one day, as logged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerRecord {
    /// Run that made the attempt.
    pub run_id: String,
    /// Dataset.
    pub dataset: String,
    /// Day (days since epoch).
    pub day: i32,
    /// Outcome.
    pub state: DayState,
    /// Rows in the day's file after the attempt (0 when none).
    pub rows: u64,
    /// Rows a complete day holds, when known.
    pub expected_rows: Option<u64>,
    /// Source records read for this day in this attempt.
    pub records_read: u64,
    /// … kept.
    pub records_written: u64,
    /// … rejected.
    pub records_rejected: u64,
    /// … superseded.
    pub records_superseded: u64,
    /// Size of the day's file.
    pub bytes: u64,
    /// Inputs of the attempt (names).
    pub inputs: Vec<String>,
    /// Why the attempt failed.
    pub error: Option<String>,
    /// When the record was made (UTC micros).
    pub recorded_at: i64,
    /// Time the attempt took.
    pub duration_ms: u64,
}

/// The current state of one day (the rows `gaps` prints).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayStatus {
    /// Dataset.
    pub dataset: String,
    /// `YYYY-MM-DD`.
    pub day: String,
    /// State.
    pub state: DayState,
    /// Rows a complete day holds, when known.
    pub expected_rows: Option<u64>,
    /// Rows in the day's file.
    pub written_rows: u64,
    /// 100 × written / expected, when expected is known.
    pub availability_pct: Option<f64>,
    /// Attempts recorded for the day.
    pub attempts: u32,
    /// Failed or incomplete attempts since the day was last complete or `no_data` (the planner's attempts
    /// cap counts these).
    #[serde(skip)]
    pub failed_attempts: u32,
    /// Error of the latest attempt, when it failed.
    pub last_error: Option<String>,
}

/// 100 × rows / expected, to two decimals; `None` when the schema does not know what to expect.
pub fn availability_pct(rows: u64, expected: Option<u64>) -> Option<f64> {
    expected
        .filter(|e| *e > 0)
        .map(|e| (rows as f64 * 10_000.0 / e as f64).round() / 100.0)
}

/// The ledger of a lake.
#[derive(Debug, Clone)]
pub struct Ledger {
    lake: Lake,
}

fn ledger_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("dataset", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("state", DataType::Utf8, false),
        Field::new("rows", DataType::Int64, false),
        Field::new("expected_rows", DataType::Int64, true),
        Field::new("records_read", DataType::Int64, false),
        Field::new("records_written", DataType::Int64, false),
        Field::new("records_rejected", DataType::Int64, false),
        Field::new("records_superseded", DataType::Int64, false),
        Field::new("bytes", DataType::Int64, false),
        Field::new("inputs", DataType::Utf8, false),
        Field::new("error", DataType::Utf8, true),
        Field::new(
            "recorded_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("duration_ms", DataType::Int64, false),
        Field::new("gridlake_version", DataType::Utf8, false),
    ]))
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Lake {
    /// The lake's ledger.
    pub fn ledger(&self) -> Ledger {
        Ledger { lake: self.clone() }
    }
}

/// The ledger's folder, relative to the lake root.
const LEDGER_DIR: &str = "_gridlake/ledger";

/// Name prefix of a dataset's compacted file (`compacted-<generation>.parquet`). Appended files are named
/// by their timestamp, so they start with a digit and sort before it: a paged LIST that races a compaction
/// reaches the compacted file only after every file it folded (see [`Ledger::records`]).
const COMPACTED_PREFIX: &str = "compacted-";

/// Footer key of a compacted file: its generation (also in its name).
const META_GENERATION: &str = "gridlake.ledger.generation";

/// Footer key of a compacted file: the files (relative to the ledger folder) whose records it holds, as a
/// JSON array. Readers skip those files while they still exist (a compaction deletes them only after its
/// file is written), so no record is ever seen twice.
const META_FOLDED: &str = "gridlake.ledger.folded";

/// How many times a read starts over when a file it listed was folded away by a compaction before it
/// could be read. Each start over means a whole compaction finished meanwhile, so this is generous.
const READ_ATTEMPTS: u32 = 8;

/// Reads of ledger files in flight at once (S3 latency, not CPU, is what they wait on).
const READ_CONCURRENCY: usize = 16;

/// What `gridlake ledger compact` (or `sync`, past its threshold) did to one dataset's run records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CompactOutcome {
    /// Dataset.
    pub dataset: String,
    /// Record files folded into the compacted file (files of the old flat layout included).
    pub files_folded: usize,
    /// Run records in the compacted file.
    pub records: usize,
    /// The compacted file written (relative to the lake root); `None` when there was nothing to fold.
    pub compacted: Option<String>,
    /// Another compaction of the dataset wrote the same generation first: this one wrote and removed
    /// nothing (the other one folded the same records).
    pub raced: bool,
}

/// One ledger file, as listed.
#[derive(Debug, Clone)]
struct LedgerFile {
    /// Path relative to the ledger folder: `dataset=<name>/<file>`, or `<file>` in the flat layout.
    rel: String,
    path: Path,
    /// Its size in the listing: part of the cache key, in case a name is ever written twice.
    size: u64,
    /// The generation, for a compacted file.
    generation: Option<u64>,
}

/// What a LIST of the ledger found.
#[derive(Debug, Default)]
struct Listing {
    /// Files of the flat layout (gridlake before dataset folders): any dataset's records, mixed.
    flat: Vec<LedgerFile>,
    /// Each dataset folder's files, sorted by name.
    folders: BTreeMap<String, Vec<LedgerFile>>,
}

impl Listing {
    /// A folder's compacted file of the highest generation: the only one read. Lower generations are
    /// left over from a compaction interrupted before its deletes (or one that lost a race): everything
    /// they hold is in the newest one.
    fn head(&self, dataset: &str) -> Option<&LedgerFile> {
        self.folders
            .get(dataset)?
            .iter()
            .filter(|f| f.generation.is_some())
            .max_by_key(|f| f.generation)
    }
}

/// The records of a listing, and per dataset the files its compacted file says it holds.
#[derive(Debug, Default)]
struct View {
    records: Vec<LedgerRecord>,
    folded: HashMap<String, HashSet<String>>,
}

/// A decoded ledger file.
struct Decoded {
    batches: Vec<RecordBatch>,
    folded: Vec<String>,
}

/// Which decode of which file: its path and size, and the dataset a flat-layout file was filtered to.
type DecodedKey = (Path, u64, Option<String>);

/// Ledger files a lake has decoded, by path and size. A ledger file is never changed after it is written
/// (appends and compactions write new names, and a name is never reused), so a process that reads the
/// ledger again, like a shell session running one query after another, lists it and decodes only files it
/// has not seen. Entries of files a later listing no longer shows (folded by a compaction) are dropped.
#[derive(Default, Clone)]
pub(crate) struct DecodedCache(Arc<std::sync::Mutex<HashMap<DecodedKey, CachedFile>>>);

/// A decoded file, or `None` for one that holds no record of the dataset it was read for.
type CachedFile = Option<Arc<Decoded>>;

impl DecodedCache {
    fn get(&self, key: &DecodedKey) -> Option<CachedFile> {
        self.0.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: DecodedKey, value: CachedFile) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(key, value);
        }
    }

    /// How many decodes it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.lock().map_or(0, |m| m.len())
    }

    /// Forgets every file not in `listed` (a listing of the whole ledger).
    fn retain_listed(&self, listed: &HashSet<&Path>) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|(path, _, _), _| listed.contains(path));
        }
    }
}

fn generation_of(name: &str) -> Option<u64> {
    name.strip_prefix(COMPACTED_PREFIX)?
        .strip_suffix(".parquet")?
        .parse()
        .ok()
}

impl Ledger {
    fn dir(&self) -> Path {
        self.lake.path(LEDGER_DIR)
    }

    fn dataset_dir(&self, dataset: &str) -> Path {
        self.lake.path(&format!("{LEDGER_DIR}/dataset={dataset}"))
    }

    /// Appends run records: one new Parquet file per dataset in its folder
    /// (`_gridlake/ledger/dataset=<name>/<time>-<id>.parquet`), one PUT each, atomic on every store.
    pub async fn append(&self, records: &[LedgerRecord]) -> Result<(), LakeError> {
        let mut by_dataset: BTreeMap<&str, Vec<LedgerRecord>> = BTreeMap::new();
        for r in records {
            by_dataset.entry(&r.dataset).or_default().push(r.clone());
        }
        for (dataset, records) in by_dataset {
            let batch = to_batch(&records)?;
            let first = records
                .iter()
                .map(|r| r.recorded_at)
                .min()
                .unwrap_or_default();
            // The name starts with a digit (see COMPACTED_PREFIX) and sorts by time.
            let stamp = gridlake_schema::time::micros_to_naive(first)
                .map(|t| t.format("%Y%m%dT%H%M%S%6f").to_string())
                .unwrap_or_else(|| "0".to_string());
            let path = self.lake.path(&format!(
                "{LEDGER_DIR}/dataset={dataset}/{stamp}-{}.parquet",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ));
            let bytes = encode_with(&batch, Vec::new()).map_err(|source| LakeError::Parquet {
                path: path.to_string(),
                source,
            })?;
            self.lake
                .store
                .put(&path, PutPayload::from(bytes))
                .await
                .map_err(|e| self.lake.err("write", &path, e))?;
        }
        Ok(())
    }

    /// Every run record, optionally of one dataset, oldest first.
    ///
    /// One dataset costs a LIST of the ledger folder's top level (files of the old flat layout), a LIST of
    /// the dataset's folder and a GET per file of that folder (one after `compact`); other datasets' files
    /// are never read. If a compaction deletes a listed file before it is read, the read starts over: the
    /// compacted file holding its records exists by then.
    pub async fn records(&self, dataset: Option<&str>) -> Result<Vec<LedgerRecord>, LakeError> {
        Ok(self.view(dataset).await?.0.records)
    }

    /// A consistent view of the records (of one dataset or all), and the listing it was read from.
    async fn view(&self, dataset: Option<&str>) -> Result<(View, Listing), LakeError> {
        for _ in 0..READ_ATTEMPTS {
            let listing = match dataset {
                Some(d) => self.list_dataset(d).await?,
                None => self.list_all().await?,
            };
            if let Some(view) = self.read_listing(&listing, dataset).await? {
                return Ok((view, listing));
            }
        }
        Err(LakeError::LedgerBusy {
            lake: self.lake.location.clone(),
            attempts: READ_ATTEMPTS,
        })
    }

    /// The flat-layout files (one delimited LIST of the top level) and one dataset's folder.
    async fn list_dataset(&self, dataset: &str) -> Result<Listing, LakeError> {
        let dir = self.dir();
        let top = match self.lake.store.list_with_delimiter(Some(&dir)).await {
            Ok(r) => r.objects,
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(self.lake.err("list", &dir, e)),
        };
        let folder = self.dataset_dir(dataset);
        let metas: Vec<object_store::ObjectMeta> = self
            .lake
            .store
            .list(Some(&folder))
            .try_collect()
            .await
            .map_err(|e| self.lake.err("list", &folder, e))?;
        let mut listing = Listing::default();
        for m in top.into_iter().chain(metas) {
            listing.add(&dir, m.location, m.size);
        }
        listing.sort();
        Ok(listing)
    }

    /// Every ledger file: one recursive LIST.
    async fn list_all(&self) -> Result<Listing, LakeError> {
        let dir = self.dir();
        let metas: Vec<object_store::ObjectMeta> = self
            .lake
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| self.lake.err("list", &dir, e))?;
        let mut listing = Listing::default();
        for m in metas {
            listing.add(&dir, m.location, m.size);
        }
        listing.sort();
        let listed: HashSet<&Path> = listing
            .flat
            .iter()
            .chain(listing.folders.values().flatten())
            .map(|f| &f.path)
            .collect();
        self.lake.ledger_cache.retain_listed(&listed);
        Ok(listing)
    }

    /// Reads what `listing` names; `None` when a listed file vanished meanwhile (folded by a compaction).
    async fn read_listing(
        &self,
        listing: &Listing,
        only: Option<&str>,
    ) -> Result<Option<View>, LakeError> {
        let mut view = View::default();
        // The compacted files first: they say which other files to skip.
        let heads: Vec<(&str, &LedgerFile)> = listing
            .folders
            .keys()
            .filter(|d| only.is_none_or(|o| o == d.as_str()))
            .filter_map(|d| Some((d.as_str(), listing.head(d)?)))
            .collect();
        let keys: Vec<DecodedKey> = heads
            .iter()
            .map(|(_, f)| (f.path.clone(), f.size, None))
            .collect();
        let decoded = self.read_files(keys).await?;
        let Some(decoded) = decoded else {
            return Ok(None);
        };
        for ((dataset, _), d) in heads.iter().zip(decoded) {
            let Some(d) = d else { continue };
            for batch in &d.batches {
                read_records(batch, Some(dataset), &mut view.records);
            }
            view.folded
                .insert((*dataset).to_string(), d.folded.iter().cloned().collect());
        }
        let skip = |dataset: &str, f: &LedgerFile| {
            view.folded.get(dataset).is_some_and(|s| s.contains(&f.rel))
        };
        // Then the files appended since (and the flat layout's, unless this dataset's compaction folded them).
        let mut rest: Vec<(Option<&str>, &LedgerFile)> = Vec::new();
        for (dataset, files) in &listing.folders {
            if only.is_some_and(|o| o != dataset) {
                continue;
            }
            rest.extend(
                files
                    .iter()
                    .filter(|f| f.generation.is_none() && !skip(dataset, f))
                    .map(|f| (Some(dataset.as_str()), f)),
            );
        }
        rest.extend(
            listing
                .flat
                .iter()
                .filter(|f| only.is_none_or(|o| !skip(o, f)))
                .map(|f| (None, f)),
        );
        // Only a flat-layout file mixes datasets and is worth filtering to `only`.
        let keys: Vec<DecodedKey> = rest
            .iter()
            .map(|(folder, f)| {
                let filter = if folder.is_none() { only } else { None };
                (f.path.clone(), f.size, filter.map(str::to_string))
            })
            .collect();
        let Some(decoded) = self.read_files(keys).await? else {
            return Ok(None);
        };
        for ((folder, file), d) in rest.iter().zip(decoded) {
            let Some(d) = d else { continue };
            let from = view.records.len();
            for batch in &d.batches {
                read_records(batch, folder.or(only), &mut view.records);
            }
            if folder.is_none() {
                // A flat-layout file mixes datasets: keep a record unless its dataset's compaction holds it.
                let mut kept = view.records.split_off(from);
                kept.retain(|r| !skip(&r.dataset, file));
                view.records.extend(kept);
            }
        }
        // Ties broken by dataset, then file order (stable): the same order whichever files hold the records,
        // before or after a compaction.
        view.records
            .sort_by(|a, b| (a.recorded_at, &a.dataset).cmp(&(b.recorded_at, &b.dataset)));
        Ok(Some(view))
    }

    /// GETs and decodes files (path, listed size, dataset to filter to), in order, several at a time; files
    /// decoded before come from the lake's cache. `None` when one of them no longer exists; an inner `None`
    /// for a file that holds no record of the dataset filtered to (per its statistics).
    async fn read_files(
        &self,
        keys: Vec<DecodedKey>,
    ) -> Result<Option<Vec<CachedFile>>, LakeError> {
        let cache = &self.lake.ledger_cache;
        let cached: Vec<Option<CachedFile>> = keys.iter().map(|k| cache.get(k)).collect();
        let missing: Vec<Path> = keys
            .iter()
            .zip(&cached)
            .filter(|(_, c)| c.is_none())
            .map(|(k, _)| k.0.clone())
            .collect();
        // Owned paths and a plain `async move`: a stream over borrowed items makes this future not `Send`
        // (rustc's higher-ranked lifetime limitation), and callers spawn it.
        let results: Vec<Result<Option<(Path, Bytes)>, LakeError>> = futures::stream::iter(missing)
            .map(|p| async move { self.get(&p).await })
            .buffered(READ_CONCURRENCY)
            .collect()
            .await;
        let mut fetched = results.into_iter();
        let mut out = Vec::with_capacity(keys.len());
        for (key, hit) in keys.into_iter().zip(cached) {
            if let Some(hit) = hit {
                out.push(hit);
                continue;
            }
            let Some(result) = fetched.next() else {
                return Ok(None);
            };
            match result? {
                None => return Ok(None),
                Some((path, bytes)) => {
                    let d = decode(bytes, &path, key.2.as_deref())?.map(Arc::new);
                    cache.put(key, d.clone());
                    out.push(d);
                }
            }
        }
        Ok(Some(out))
    }

    async fn get(&self, path: &Path) -> Result<Option<(Path, Bytes)>, LakeError> {
        let got = match self.lake.store.get(path).await {
            Ok(r) => r.bytes().await,
            Err(e) => Err(e),
        };
        match got {
            Ok(b) => Ok(Some((path.clone(), b))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.lake.err("read", path, e)),
        }
    }

    /// Folds `dataset`'s run records into one file, `dataset=<name>/compacted-<generation>.parquet`, then
    /// deletes the files folded (those of the dataset's folder; files of the old flat layout are shared with
    /// other datasets, and only [`Ledger::compact_all`] deletes them).
    ///
    /// Safe against readers and writers at any moment: the compacted file names what it folded, and readers
    /// skip those files until they are gone; a file appended after the LIST is not folded and stays. The
    /// compacted file is created only if its generation does not exist yet, so of two concurrent
    /// compactions one writes and the other changes nothing. Running it again with nothing new is a no-op.
    pub async fn compact(&self, dataset: &str) -> Result<CompactOutcome, LakeError> {
        let (mut view, listing) = self.view(Some(dataset)).await?;
        let empty = Vec::new();
        let folder = listing.folders.get(dataset).unwrap_or(&empty);
        let head = listing.head(dataset);
        let folded_already = view.folded.remove(dataset).unwrap_or_default();
        let mut outcome = CompactOutcome {
            dataset: dataset.to_string(),
            ..Default::default()
        };
        let pending_flat = listing
            .flat
            .iter()
            .any(|f| !folded_already.contains(&f.rel));
        let only_head = folder.len() == usize::from(head.is_some());
        if only_head && !pending_flat || view.records.is_empty() && folder.is_empty() {
            return Ok(outcome);
        }
        let generation = head.and_then(|h| h.generation).unwrap_or(0) + 1;
        let name = format!("{COMPACTED_PREFIX}{generation:020}.parquet");
        let rel = format!("{LEDGER_DIR}/dataset={dataset}/{name}");
        let path = self.lake.path(&rel);
        // Everything listed: the flat files too, read or skipped, so readers skip them from now on.
        let folded: Vec<String> = folder
            .iter()
            .chain(&listing.flat)
            .map(|f| f.rel.clone())
            .collect();
        let kv = vec![
            KeyValue::new(META_GENERATION.to_string(), generation.to_string()),
            KeyValue::new(
                META_FOLDED.to_string(),
                serde_json::to_string(&folded).unwrap_or_default(),
            ),
        ];
        let batch = to_batch(&view.records)?;
        let bytes = encode_with(&batch, kv).map_err(|source| LakeError::Parquet {
            path: path.to_string(),
            source,
        })?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .lake
            .store
            .put_opts(&path, PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => {
                outcome.raced = true;
                return Ok(outcome);
            }
            Err(e) => return Err(self.lake.err("write", &path, e)),
        }
        for f in folder {
            self.delete(&f.path).await?;
        }
        outcome.files_folded = folded.len();
        outcome.records = view.records.len();
        outcome.compacted = Some(rel);
        Ok(outcome)
    }

    /// Compacts every dataset's records (see [`Ledger::compact`]), then deletes the files of the old flat
    /// layout, which by then every dataset's compacted file holds: this is also the migration of a lake
    /// written before dataset folders.
    pub async fn compact_all(&self) -> Result<Vec<CompactOutcome>, LakeError> {
        let (view, listing) = self.view(None).await?;
        let mut datasets: BTreeSet<String> = listing.folders.keys().cloned().collect();
        datasets.extend(view.records.iter().map(|r| r.dataset.clone()));
        let mut outcomes = Vec::with_capacity(datasets.len());
        for dataset in &datasets {
            outcomes.push(self.compact(dataset).await?);
        }
        // A flat file listed above is named by every dataset's compacted file now, unless a compaction
        // lost a race (then the winner's LIST may have missed it): keep them for the next run.
        if outcomes.iter().all(|o| !o.raced) {
            for f in &listing.flat {
                self.delete(&f.path).await?;
            }
        }
        Ok(outcomes)
    }

    /// What `sync` runs after its datasets: compacts each dataset folder holding at least `threshold`
    /// appended record files, and migrates the old flat layout once it holds that many. One recursive LIST
    /// when nothing is due. `threshold` 0 never compacts.
    pub async fn compact_if_needed(
        &self,
        threshold: usize,
    ) -> Result<Vec<CompactOutcome>, LakeError> {
        if threshold == 0 {
            return Ok(Vec::new());
        }
        let listing = self.list_all().await?;
        if listing.flat.len() >= threshold {
            return self.compact_all().await;
        }
        let mut out = Vec::new();
        for (dataset, files) in &listing.folders {
            if files.iter().filter(|f| f.generation.is_none()).count() >= threshold {
                out.push(self.compact(dataset).await?);
            }
        }
        Ok(out)
    }

    /// How many record files hold `dataset`'s records (its folder's and the old flat layout's): the number
    /// of GETs a read of the dataset costs at most.
    pub async fn file_count(&self, dataset: &str) -> Result<usize, LakeError> {
        let listing = self.list_dataset(dataset).await?;
        Ok(listing.flat.len() + listing.folders.get(dataset).map_or(0, Vec::len))
    }

    async fn delete(&self, path: &Path) -> Result<(), LakeError> {
        match self.lake.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.lake.err("delete", path, e)),
        }
    }

    /// The state of every day of `dataset` in `start..=end` (days since epoch).
    pub async fn day_statuses(
        &self,
        dataset: &str,
        start: i32,
        end: i32,
    ) -> Result<Vec<DayStatus>, LakeError> {
        let records = self.records(Some(dataset)).await?;
        let files = self.lake.partition_days(dataset).await?;
        self.day_statuses_from(dataset, start, end, &records, &files)
            .await
    }

    /// [`Ledger::day_statuses`] from records and a partition listing the caller already holds: a caller
    /// that reconciles every dataset (the shell's `ledger` table) reads the records once, not once per
    /// dataset. `records` may hold other datasets' records; they are skipped.
    pub async fn day_statuses_from(
        &self,
        dataset: &str,
        start: i32,
        end: i32,
        records: &[LedgerRecord],
        partition_days: &[(i32, u64)],
    ) -> Result<Vec<DayStatus>, LakeError> {
        let files: HashMap<i32, u64> = partition_days.iter().copied().collect();
        let mut by_day: BTreeMap<i32, Vec<&LedgerRecord>> = BTreeMap::new();
        for r in records {
            if r.dataset == dataset && (start..=end).contains(&r.day) {
                by_day.entry(r.day).or_default().push(r);
            }
        }
        let mut out = Vec::with_capacity(usize::try_from(end - start + 1).unwrap_or(0));
        for day in start..=end {
            let recs = by_day.get(&day).map(Vec::as_slice).unwrap_or(&[]);
            let latest = recs.last();
            let last_error = latest
                .filter(|r| r.state == DayState::Failed)
                .and_then(|r| r.error.clone());
            let attempts = u32::try_from(recs.len()).unwrap_or(u32::MAX);
            let failed_attempts = recs
                .iter()
                .rev()
                .take_while(|r| matches!(r.state, DayState::Failed | DayState::Incomplete))
                .count();
            let failed_attempts = u32::try_from(failed_attempts).unwrap_or(u32::MAX);
            let committed = recs
                .iter()
                .rev()
                .find(|r| matches!(r.state, DayState::Complete | DayState::Incomplete));
            let (state, rows, expected) = if files.contains_key(&day) {
                match committed {
                    Some(r) => (r.state, r.rows, r.expected_rows),
                    None => match self.lake.read_footer(dataset, day).await? {
                        Some(f) => (
                            DayState::of_committed(f.rows, f.expected_rows),
                            f.rows,
                            f.expected_rows,
                        ),
                        None => (DayState::Complete, 0, None),
                    },
                }
            } else {
                match latest {
                    Some(r) if r.state == DayState::NoData => {
                        (DayState::NoData, 0, r.expected_rows)
                    }
                    Some(r) if r.state == DayState::Failed => {
                        (DayState::Failed, 0, r.expected_rows)
                    }
                    _ => (
                        DayState::Missing,
                        0,
                        committed.and_then(|r| r.expected_rows),
                    ),
                }
            };
            let availability_pct = availability_pct(rows, expected);
            out.push(DayStatus {
                dataset: dataset.to_string(),
                day: day_to_string(day),
                state,
                expected_rows: expected,
                written_rows: rows,
                availability_pct,
                attempts,
                failed_attempts,
                last_error,
            });
        }
        Ok(out)
    }
}

impl Listing {
    /// Files it does not recognise (a crashed local PUT's temporary, anything deeper) are left out.
    fn add(&mut self, dir: &Path, location: Path, size: u64) {
        let Some(parts) = location.prefix_match(dir) else {
            return;
        };
        let parts: Vec<String> = parts.map(|p| p.as_ref().to_string()).collect();
        let file = |rel: String, name: &str| LedgerFile {
            rel,
            generation: generation_of(name),
            path: location.clone(),
            size,
        };
        match parts.as_slice() {
            [name] if name.ends_with(".parquet") => {
                self.flat.push(file(name.clone(), ""));
            }
            [folder, name] if name.ends_with(".parquet") => {
                if let Some(dataset) = folder.strip_prefix("dataset=") {
                    self.folders
                        .entry(dataset.to_string())
                        .or_default()
                        .push(file(format!("{folder}/{name}"), name));
                }
            }
            _ => {}
        }
    }

    fn sort(&mut self) {
        self.flat.sort_by(|a, b| a.rel.cmp(&b.rel));
        for files in self.folders.values_mut() {
            files.sort_by(|a, b| a.rel.cmp(&b.rel));
        }
    }
}

/// Run records as one batch of the ledger schema.
fn to_batch(records: &[LedgerRecord]) -> Result<RecordBatch, LakeError> {
    let s = |f: fn(&LedgerRecord) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(records.iter().map(f)))
    };
    let n = |f: fn(&LedgerRecord) -> u64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| i64_of(f(r))),
        ))
    };
    let cols: Vec<ArrayRef> = vec![
        s(|r| r.run_id.clone()),
        s(|r| r.dataset.clone()),
        Arc::new(Date32Array::from_iter_values(records.iter().map(|r| r.day))),
        s(|r| r.state.as_str().to_string()),
        n(|r| r.rows),
        Arc::new(Int64Array::from_iter(
            records.iter().map(|r| r.expected_rows.map(i64_of)),
        )),
        n(|r| r.records_read),
        n(|r| r.records_written),
        n(|r| r.records_rejected),
        n(|r| r.records_superseded),
        n(|r| r.bytes),
        s(|r| serde_json::to_string(&r.inputs).unwrap_or_default()),
        Arc::new(StringArray::from_iter(
            records.iter().map(|r| r.error.clone()),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(records.iter().map(|r| r.recorded_at))
                .with_timezone("UTC"),
        ),
        n(|r| r.duration_ms),
        s(|_| env!("CARGO_PKG_VERSION").to_string()),
    ];
    RecordBatch::try_new(ledger_schema(), cols).map_err(|source| LakeError::Arrow {
        dataset: records
            .first()
            .map(|r| r.dataset.clone())
            .unwrap_or_default(),
        day: String::new(),
        source,
    })
}

/// A ledger file (a run's records, or a compacted file with the compaction's footer keys): the lake's Parquet
/// settings, uncompressed. Ledger files are small and read whole, many at a time, and setting up a zstd
/// decoder for each column chunk was most of the cost of reading them: `gaps` over a year of one dataset (12
/// run files) 19 -> 12.6 ms, the shell's first `ledger` scan of three datasets 40 -> 24 ms, for files 38%
/// larger (kilobytes). Files written compressed by earlier versions read as before.
fn encode_with(
    batch: &RecordBatch,
    kv: Vec<KeyValue>,
) -> Result<Bytes, parquet::errors::ParquetError> {
    let props = writer_properties(kv)
        .into_builder()
        .set_compression(parquet::basic::Compression::UNCOMPRESSED)
        .build();
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(Bytes::from(buf))
}

/// Decodes a ledger file. With `only`, row groups whose `dataset` statistics exclude it are skipped, and
/// `None` comes back when no row group is left (a flat-layout file of other datasets costs its GET only).
fn decode(bytes: Bytes, path: &Path, only: Option<&str>) -> Result<Option<Decoded>, LakeError> {
    let pq = |source| LakeError::Parquet {
        path: path.to_string(),
        source,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(pq)?;
    let meta = Arc::clone(builder.metadata());
    let folded = meta
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|e| e.key == META_FOLDED))
        .and_then(|e| e.value.as_deref())
        .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
        .unwrap_or_default();
    let mut builder = builder;
    if let Some(only) = only {
        let column = meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.name() == "dataset");
        let groups: Vec<usize> = (0..meta.num_row_groups())
            .filter(|&i| {
                let stats = column.and_then(|c| meta.row_group(i).column(c).statistics());
                match stats.map(|s| (s.min_bytes_opt(), s.max_bytes_opt())) {
                    Some((Some(min), Some(max))) => {
                        min <= only.as_bytes() && only.as_bytes() <= max
                    }
                    _ => true,
                }
            })
            .collect();
        if groups.is_empty() {
            return Ok(None);
        }
        builder = builder.with_row_groups(groups);
    }
    let batches = builder
        .build()
        .map_err(pq)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pq(parquet::errors::ParquetError::from(e)))?;
    Ok(Some(Decoded { batches, folded }))
}

fn read_records(batch: &RecordBatch, dataset: Option<&str>, out: &mut Vec<LedgerRecord>) {
    let str_col = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
    };
    let i64_col = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<Int64Array>().cloned())
    };
    let (
        Some(run),
        Some(ds),
        Some(state),
        Some(inputs),
        Some(err),
        Some(rows),
        Some(exp),
        Some(rr),
        Some(rw),
        Some(rj),
        Some(rs),
        Some(bytes),
        Some(dur),
    ) = (
        str_col("run_id"),
        str_col("dataset"),
        str_col("state"),
        str_col("inputs"),
        str_col("error"),
        i64_col("rows"),
        i64_col("expected_rows"),
        i64_col("records_read"),
        i64_col("records_written"),
        i64_col("records_rejected"),
        i64_col("records_superseded"),
        i64_col("bytes"),
        i64_col("duration_ms"),
    )
    else {
        return;
    };
    let Some(day) = batch
        .column_by_name("day")
        .and_then(|c| c.as_any().downcast_ref::<Date32Array>().cloned())
    else {
        return;
    };
    let Some(at) = batch.column_by_name("recorded_at").and_then(|c| {
        c.as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .cloned()
    }) else {
        return;
    };
    let u = |a: &Int64Array, i: usize| u64::try_from(a.value(i)).unwrap_or(0);
    for i in 0..batch.num_rows() {
        if dataset.is_some_and(|d| d != ds.value(i)) {
            continue;
        }
        let Some(st) = DayState::parse(state.value(i)) else {
            continue;
        };
        out.push(LedgerRecord {
            run_id: run.value(i).to_string(),
            dataset: ds.value(i).to_string(),
            day: day.value(i),
            state: st,
            rows: u(&rows, i),
            expected_rows: (!exp.is_null(i)).then(|| u(&exp, i)),
            records_read: u(&rr, i),
            records_written: u(&rw, i),
            records_rejected: u(&rj, i),
            records_superseded: u(&rs, i),
            bytes: u(&bytes, i),
            inputs: serde_json::from_str(inputs.value(i)).unwrap_or_default(),
            error: (!err.is_null(i)).then(|| err.value(i).to_string()),
            recorded_at: at.value(i),
            duration_ms: u(&dur, i),
        });
    }
}

#[cfg(test)]
impl Ledger {
    /// Writes records the way gridlake wrote them before dataset folders: one file straight under
    /// `_gridlake/ledger/`, datasets mixed (for the backward-compatibility tests).
    pub(crate) async fn append_flat(&self, name: &str, records: &[LedgerRecord]) {
        let batch = to_batch(records).expect("batch");
        let path = self.lake.path(&format!("{LEDGER_DIR}/{name}.parquet"));
        // Compressed, as those versions wrote them.
        let bytes = crate::commit::encode_batches(&batch).expect("encode");
        self.lake
            .store
            .put(&path, PutPayload::from(bytes))
            .await
            .expect("put");
    }
}
