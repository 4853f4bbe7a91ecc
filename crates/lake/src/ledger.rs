//! The ledger: an append-only log of run records (one Parquet file per run under `_gridlake/ledger/`),
//! and the current state of each day, reconciled with the files actually present.
//!
//! A file in the lake outranks a record: a day whose latest attempt failed but whose earlier file is intact
//! keeps that file's state, and a file whose record was lost (crash between swap and record) still counts,
//! from its footer.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use futures::TryStreamExt;
use gridlake_schema::day_to_string;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use serde::Serialize;

use crate::commit::{decode_batches, encode_batches};
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

impl Ledger {
    /// Appends run records as one new Parquet file (one PUT: atomic on every store).
    pub async fn append(&self, records: &[LedgerRecord]) -> Result<(), LakeError> {
        if records.is_empty() {
            return Ok(());
        }
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
        let batch =
            RecordBatch::try_new(ledger_schema(), cols).map_err(|source| LakeError::Arrow {
                dataset: records[0].dataset.clone(),
                day: String::new(),
                source,
            })?;
        let first = records
            .iter()
            .map(|r| r.recorded_at)
            .min()
            .unwrap_or_default();
        let stamp = gridlake_schema::time::micros_to_naive(first)
            .map(|t| t.format("%Y%m%dT%H%M%S%6f").to_string())
            .unwrap_or_default();
        let path = self.lake.path(&format!(
            "_gridlake/ledger/{stamp}-{}.parquet",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        let bytes = encode_batches(&batch).map_err(|source| LakeError::Parquet {
            path: path.to_string(),
            source,
        })?;
        self.lake
            .store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| self.lake.err("write", &path, e))?;
        Ok(())
    }

    /// Every run record, optionally of one dataset, oldest first.
    pub async fn records(&self, dataset: Option<&str>) -> Result<Vec<LedgerRecord>, LakeError> {
        let prefix = self.lake.path("_gridlake/ledger");
        let mut files: Vec<Path> = self
            .lake
            .store
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| self.lake.err("list", &prefix, e))?;
        files.retain(|p| p.extension() == Some("parquet"));
        files.sort();
        let mut out = Vec::new();
        for path in files {
            let bytes = self
                .lake
                .store
                .get(&path)
                .await
                .map_err(|e| self.lake.err("read", &path, e))?
                .bytes()
                .await
                .map_err(|e| self.lake.err("read", &path, e))?;
            for batch in decode_batches(bytes, &path)? {
                read_records(&batch, dataset, &mut out);
            }
        }
        out.sort_by_key(|r| r.recorded_at);
        Ok(out)
    }

    /// The state of every day of `dataset` in `start..=end` (days since epoch).
    pub async fn day_statuses(
        &self,
        dataset: &str,
        start: i32,
        end: i32,
    ) -> Result<Vec<DayStatus>, LakeError> {
        let records = self.records(Some(dataset)).await?;
        let files: HashMap<i32, u64> = self
            .lake
            .partition_days(dataset)
            .await?
            .into_iter()
            .collect();
        let mut by_day: BTreeMap<i32, Vec<&LedgerRecord>> = BTreeMap::new();
        for r in &records {
            if (start..=end).contains(&r.day) {
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
