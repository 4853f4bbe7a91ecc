//! The sans-IO CSV → Arrow converter.
//!
//! Bytes go in with [`Converter::push`] in chunks of any size; typed [`DayBatch`]es (rows already routed to
//! their partition day) and [`Reject`]s come out, and [`Converter::finish`] returns the accounting. The
//! converter never sees a file, a socket or a runtime, so the same code serves `import`, HTTP ingest and
//! fuzzing. Memory holds one record of text, one batch per open day and the key index of each day (needed to
//! find duplicates), never the input.
//!
//! Tokenising is csv-core's DFA (quotes, doubled quotes, CRLF); everything after that — binding headers by name,
//! typing, rules, time zones, keys — is ours, because each failure must become a reject naming its line and
//! column rather than an error for the whole file.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, StringArray, TimestampMicrosecondBuilder,
};
use arrow::record_batch::RecordBatch;
use csv_core::{ReadRecordResult, Reader, ReaderBuilder};
use hashbrown::HashMap;

use crate::dataset::{ColumnPlan, ColumnSource, Dataset, ReadPlan};
use crate::def::{Ambiguous, ColumnType, HeaderMode, IntervalEdge, UnknownColumns};
use crate::time::{MICROS_PER_HOUR, Parsed, Resolved, ZoneCache};

/// Rows per emitted batch of one day.
const BATCH_ROWS: usize = 64 * 1024;
/// Longest raw line or value kept in a reject; the rest is cut so that one 100 MB line cannot fill memory.
const MAX_REJECT_TEXT: usize = 16 * 1024;

/// Values that hold for a whole input but are not in its rows: Binance's symbol and interval live only in the
/// file name or URL (`ADABTC-1m-2021-11-27.zip`). The caller that knows them supplies them here; a schema
/// column `context = "symbol"` takes its value from the entry of that name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputContext {
    values: BTreeMap<String, String>,
}

impl InputContext {
    /// An empty context.
    pub fn new() -> InputContext {
        InputContext::default()
    }

    /// Adds (or replaces) a named value; builder style.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> InputContext {
        self.insert(name, value);
        self
    }

    /// Adds (or replaces) a named value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// The value of `name`, if supplied.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// A row that was read but not written, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// Input name (file name, or `archive.zip!member.csv`).
    pub file: String,
    /// Physical line where the record starts, 1-based, header and preamble counted.
    pub line: u64,
    /// Column (its header name), when one column is at fault.
    pub column: Option<String>,
    /// The offending value, when there is one.
    pub value: Option<String>,
    /// Why the row was refused.
    pub reason: String,
    /// The record's text as read (lossy UTF-8, cut at 16 KiB).
    pub raw: String,
    /// The partition day (days since epoch), when it could be read.
    pub day: Option<i32>,
}

/// Source-record accounting: `read = written + rejected + superseded`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecordCounts {
    /// Records read (a wide row unpivoted into 24 values is one record).
    pub read: u64,
    /// Records kept.
    pub written: u64,
    /// Records refused (see the rejects).
    pub rejected: u64,
    /// Records replaced by another with the same key under the schema's precedence.
    pub superseded: u64,
}

impl RecordCounts {
    /// Adds another count into this one.
    pub fn add(&mut self, o: &RecordCounts) {
        self.read += o.read;
        self.written += o.written;
        self.rejected += o.rejected;
        self.superseded += o.superseded;
    }

    /// Whether `read = written + rejected + superseded`.
    pub fn balanced(&self) -> bool {
        self.read == self.written + self.rejected + self.superseded
    }
}

/// A batch of rows that all belong to one partition day.
#[derive(Debug, Clone)]
pub struct DayBatch {
    /// Partition day, days since 1970-01-01.
    pub day: i32,
    /// Row id (within the day, for this input) of the batch's first row.
    pub first_row: u32,
    /// Rows, in the dataset's Arrow schema.
    pub batch: RecordBatch,
}

/// What one input contributed to one day.
#[derive(Debug, Clone, Default)]
pub struct DayOutcome {
    /// Records of this input whose partition day is this day.
    pub counts: RecordCounts,
    /// Output rows kept (more than `counts.written` when a schema unpivots).
    pub rows: u64,
    /// Row ids (see [`DayBatch::first_row`]) of rows that a later record superseded; drop them.
    pub superseded_rows: Vec<u32>,
}

/// How the header was bound to the schema.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct HeaderReport {
    /// Header names as found.
    pub found: Vec<String>,
    /// Schema columns and the header each was bound to.
    pub bound: Vec<(String, String)>,
    /// Nullable schema columns absent from the header (they read as null).
    pub absent: Vec<String>,
    /// Header columns the schema does not name (dropped under `unknown_columns = "ignore"`).
    pub ignored: Vec<String>,
}

/// The accounting of one input, returned by [`Converter::finish`].
#[derive(Debug, Clone, Default)]
pub struct ConvertSummary {
    /// Input name.
    pub file: String,
    /// Totals over all days (and rejects without a day).
    pub counts: RecordCounts,
    /// Per partition day.
    pub days: BTreeMap<i32, DayOutcome>,
    /// Rejected records whose day could not be read.
    pub undated_rejects: u64,
    /// Header binding.
    pub header: HeaderReport,
    /// The trailing line taken as the file's footer (`csv.footer_pattern`), not counted as a record.
    pub footer: Option<String>,
}

/// A problem with the input as a whole: nothing of it can be converted.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum ConvertError {
    /// Required columns are not in the header.
    #[error(
        "{file}: header is missing required column(s) {missing:?}.\n  expected: {expected:?}\n  found:    {}\n  Is this the right dataset for this file? If the source renamed a column, add the new name to that column's `aliases` in the schema.",
        shown_names(found)
    )]
    MissingColumns {
        /// Input.
        file: String,
        /// Required columns not found.
        missing: Vec<String>,
        /// The header names the schema accepts.
        expected: Vec<String>,
        /// The header as found.
        found: Vec<String>,
    },
    /// The header has columns the schema does not know, and the schema says that is an error.
    #[error(
        "{file}: header has column(s) {} that dataset `{dataset}` does not declare (unknown_columns = \"error\"). The source changed its layout: add them to the schema, or set unknown_columns = \"ignore\".",
        shown_names(unknown)
    )]
    UnknownColumns {
        /// Input.
        file: String,
        /// Dataset.
        dataset: String,
        /// Undeclared header names.
        unknown: Vec<String>,
    },
    /// A header name the schema reads appears more than once: which of the columns holds the values is unknowable.
    #[error(
        "{file}: header has column(s) {columns:?} more than once, so which one holds the values is ambiguous. Remove or rename the extra column(s) and import the file again."
    )]
    DuplicateColumns {
        /// Input.
        file: String,
        /// The repeated header names the schema reads.
        columns: Vec<String>,
    },
    /// The input holds no header (empty, or only blank lines / preamble).
    #[error(
        "{file}: the input is empty (no header line). Check that the download or export completed; an empty answer from a source is recorded as no data."
    )]
    Empty {
        /// Input.
        file: String,
    },
    /// A batch could not be built (a bug: please report it with the input).
    #[error(
        "{file}: internal error while building a batch ({detail}); nothing of this input was imported. Please report this with the file"
    )]
    Internal {
        /// Input.
        file: String,
        /// What arrow said.
        detail: String,
    },
    /// A `context = "…"` column has no value: the caller did not supply it and the file does not carry it.
    #[error(
        "{file}: dataset `{dataset}` needs the context value `{name}` (for column `{column}`), which this input does not carry. Supply it with the input (InputContext, e.g. `{name}` = …){hint}"
    )]
    MissingContext {
        /// Input.
        file: String,
        /// Dataset.
        dataset: String,
        /// Context name.
        name: String,
        /// Column that reads it.
        column: String,
        /// Where else it could have come from.
        hint: String,
    },
    /// A context value (from the caller, the preamble or the input name) fails the column's rules.
    #[error(
        "{file}: context value `{name}` = `{value}` is not valid for column `{column}`: {reason}"
    )]
    BadContext {
        /// Input.
        file: String,
        /// Context name.
        name: String,
        /// The value.
        value: String,
        /// Column.
        column: String,
        /// Why it was refused, where the value came from (`the caller`, `preamble line 2`, the input name)
        /// and what to do about it.
        reason: String,
    },
    /// The header is not valid UTF-8.
    #[error(
        "{file}: line {line}: the header is not valid UTF-8; is this a CSV file? Convert it to UTF-8 and import it again."
    )]
    HeaderEncoding {
        /// Input.
        file: String,
        /// Line of the header.
        line: u64,
    },
}

/// A parsed field value, before it is appended (so a row is appended whole or not at all).
#[derive(Debug, Clone, Copy)]
enum Slot {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Byte range into the csv-core output buffer (already checked to be UTF-8).
    Str(u32, u32),
    /// A per-input text value: index into `Converter::consts`.
    Const(u32),
    Date(i32),
    Ts(i64),
}

/// Text column under construction. The bytes were checked to be UTF-8 when the field was parsed (a failure
/// there is a reject, per row); arrow's `StringBuilder` would check each value again, so values are gathered as
/// bytes and validated once, in bulk, when the batch is built.
struct Utf8Columns {
    values: Vec<u8>,
    offsets: Vec<i32>,
    nulls: arrow::array::NullBufferBuilder,
}

impl Default for Utf8Columns {
    fn default() -> Self {
        Utf8Columns {
            values: Vec::new(),
            offsets: Vec::new(),
            nulls: arrow::array::NullBufferBuilder::new(0),
        }
    }
}

impl Utf8Columns {
    fn append(&mut self, v: &[u8]) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.values.extend_from_slice(v);
        self.offsets.push(self.values.len() as i32);
        self.nulls.append_non_null();
    }

    fn append_null(&mut self) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.offsets.push(self.values.len() as i32);
        self.nulls.append_null();
    }

    fn finish(&mut self, next_rows: usize) -> Result<ArrayRef, arrow::error::ArrowError> {
        let mut offsets = std::mem::take(&mut self.offsets);
        if offsets.is_empty() {
            offsets.push(0);
        }
        // The next batch's text is about as long as this one's (per row): reserving it now saves the doublings.
        let per_row = self.values.len() / offsets.len().max(1);
        let values = std::mem::replace(
            &mut self.values,
            Vec::with_capacity(next_rows * (per_row + 1)),
        );
        self.offsets.reserve(next_rows + 1);
        let nulls = self.nulls.finish();
        let offsets = arrow::buffer::OffsetBuffer::new(arrow::buffer::ScalarBuffer::from(offsets));
        Ok(Arc::new(StringArray::try_new(
            offsets,
            values.into(),
            nulls,
        )?))
    }
}

enum ColBuilder {
    Utf8(Utf8Columns),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
}

impl ColBuilder {
    fn new(kind: ColumnType) -> Self {
        match kind {
            ColumnType::Utf8 => ColBuilder::Utf8(Utf8Columns::default()),
            ColumnType::Int16 => ColBuilder::I16(Int16Builder::new()),
            ColumnType::Int32 => ColBuilder::I32(Int32Builder::new()),
            ColumnType::Int64 => ColBuilder::I64(Int64Builder::new()),
            ColumnType::Float64 => ColBuilder::F64(Float64Builder::new()),
            ColumnType::Boolean => ColBuilder::Bool(BooleanBuilder::new()),
            ColumnType::Date => ColBuilder::Date(Date32Builder::new()),
            ColumnType::Timestamp => ColBuilder::Ts(TimestampMicrosecondBuilder::new()),
        }
    }

    // Slots were produced for this column's type by `parse_value`, so the pairs below are the only ones
    // that occur; anything else appends null rather than panicking.
    fn append(&mut self, slot: Slot, text: &[u8], consts: &[Vec<u8>]) {
        match (self, slot) {
            (ColBuilder::Utf8(b), Slot::Str(s, e)) => b.append(&text[s as usize..e as usize]),
            (ColBuilder::Utf8(b), Slot::Const(i)) => b.append(&consts[i as usize]),
            (ColBuilder::I16(b), Slot::Int(v)) => b.append_value(v as i16),
            (ColBuilder::I32(b), Slot::Int(v)) => b.append_value(v as i32),
            (ColBuilder::I64(b), Slot::Int(v)) => b.append_value(v),
            (ColBuilder::F64(b), Slot::Float(v)) => b.append_value(v),
            (ColBuilder::Bool(b), Slot::Bool(v)) => b.append_value(v),
            (ColBuilder::Date(b), Slot::Date(v)) => b.append_value(v),
            (ColBuilder::Ts(b), Slot::Ts(v)) => b.append_value(v),
            (ColBuilder::Utf8(b), _) => b.append_null(),
            (ColBuilder::I16(b), _) => b.append_null(),
            (ColBuilder::I32(b), _) => b.append_null(),
            (ColBuilder::I64(b), _) => b.append_null(),
            (ColBuilder::F64(b), _) => b.append_null(),
            (ColBuilder::Bool(b), _) => b.append_null(),
            (ColBuilder::Date(b), _) => b.append_null(),
            (ColBuilder::Ts(b), _) => b.append_null(),
        }
    }

    /// Finishes the batch and leaves room for `next_rows` more: arrow's builders restart from an empty buffer,
    /// and growing one by doubling copies it and faults in fresh pages (a tenth of the converter's time).
    fn finish(&mut self, next_rows: usize) -> Result<ArrayRef, arrow::error::ArrowError> {
        Ok(match self {
            ColBuilder::Utf8(b) => b.finish(next_rows)?,
            ColBuilder::I16(b) => {
                Arc::new(std::mem::replace(b, Int16Builder::with_capacity(next_rows)).finish())
            }
            ColBuilder::I32(b) => {
                Arc::new(std::mem::replace(b, Int32Builder::with_capacity(next_rows)).finish())
            }
            ColBuilder::I64(b) => {
                Arc::new(std::mem::replace(b, Int64Builder::with_capacity(next_rows)).finish())
            }
            ColBuilder::F64(b) => {
                Arc::new(std::mem::replace(b, Float64Builder::with_capacity(next_rows)).finish())
            }
            ColBuilder::Bool(b) => {
                Arc::new(std::mem::replace(b, BooleanBuilder::with_capacity(next_rows)).finish())
            }
            ColBuilder::Date(b) => {
                Arc::new(std::mem::replace(b, Date32Builder::with_capacity(next_rows)).finish())
            }
            ColBuilder::Ts(b) => Arc::new(
                std::mem::replace(b, TimestampMicrosecondBuilder::with_capacity(next_rows))
                    .finish()
                    .with_timezone("UTC"),
            ),
        })
    }
}

/// Per-day state: open builders and the key index used to find duplicates.
struct DayState {
    builders: Vec<ColBuilder>,
    rows_in_batch: usize,
    next_row: u32,
    batch_first_row: u32,
    /// Key hash → row id. Probing this table misses the cache on almost every record (keys come in file
    /// order, buckets in hash order), so its entries are kept small: the hash as two `u64`s (a `u128` would
    /// align entries to 48 bytes instead of 24) and the rest of the row's facts in `row_facts`.
    keys: HashMap<[u64; 2], u32>,
    /// Per row id, in append order: (line, precedence rank, day the row's record is counted on).
    row_facts: Vec<(u64, u32, i32)>,
    outcome: DayOutcome,
}

/// The header bound to the schema.
struct Binding {
    /// Per schema column: the field index of its first bound reader (Field sources only).
    field_of: Vec<Option<usize>>,
    /// Per schema column: (reader index, field index) of each reader bound, in coalesce order.
    reads: Vec<Vec<(usize, usize)>>,
    /// Columns were bound by position (no header): extra trailing fields are allowed.
    positional: bool,
    /// Unpivot value columns: (n, field index), in header order.
    unpivot: Vec<(u32, usize)>,
    /// Fields a record must have.
    width: usize,
    /// Column display names for rejects: the header text (or the schema name without a header).
    display: Vec<String>,
}

/// Streams one input through a dataset's schema. See the module docs.
pub struct Converter {
    ds: Arc<Dataset>,
    delimiter: u8,
    /// A private copy of the dataset for the per-record path, moved out and back around each record: borrowing
    /// it from `ds` would need an `Arc` clone per record, and the shared reference count then bounces between
    /// the cores converting other inputs of the same dataset (it was a tenth of the converter's time).
    hot: Option<Box<Dataset>>,
    file: String,
    reader: Reader,
    out: Vec<u8>,
    outlen: usize,
    /// Field i is `out[starts[i]..ends[i]]`.
    starts: Vec<usize>,
    ends: Vec<usize>,
    endlen: usize,
    /// Raw bytes of the record in progress when it spans chunks.
    carry: Vec<u8>,
    /// Physical line (1-based) at the first byte not yet consumed.
    line: u64,
    /// Bytes held back at the start of the input until we know whether they are a BOM.
    bom_probe: Option<Vec<u8>>,
    binding: Option<Binding>,
    failed: Option<ConvertError>,
    days: BTreeMap<i32, DayState>,
    ready: Vec<DayBatch>,
    rejects: Vec<Reject>,
    summary: ConvertSummary,
    zone_caches: Vec<ZoneCache>,
    partition_cache: (i64, i32),
    /// For `ambiguous = "in_order"`: how often each (raw key) label has been seen.
    in_order_seen: HashMap<u128, u8>,
    /// Lines of records already counted as superseded (an unpivoted record is superseded once, however
    /// many of its rows a later record replaces).
    superseded_lines: hashbrown::HashSet<u64>,
    /// Scratch rows (one per unpivoted value, else one).
    rows: Vec<Vec<Slot>>,
    /// Scratch (day, key hash, precedence rank) per output row of the record in progress, kept to save an
    /// allocation per record.
    placements: Vec<(i32, u128, u32)>,
    /// The record in progress is all ASCII (checked once per line), so its text fields need no UTF-8 check
    /// of their own.
    line_ascii: bool,
    key_buf: Vec<u8>,
    /// Values supplied by the caller for `context = "…"` columns.
    context: InputContext,
    /// Preamble lines still to skip, the partial one held across pushes, and the values read from them.
    preamble_left: u32,
    preamble_partial: Vec<u8>,
    preamble_found: Vec<(String, String, u64)>,
    /// Text values of context columns (`Slot::Const` indexes them).
    consts: Vec<Vec<u8>>,
    /// Per-input slots of context columns, parsed once when the input is bound.
    context_slots: Vec<(usize, Slot)>,
    /// A record matching `csv.footer_pattern`, held back until we know whether it is the last one:
    /// (line, text).
    footer_held: Option<(u64, Vec<u8>)>,
}

impl std::fmt::Debug for Converter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Converter")
            .field("dataset", &self.ds.name())
            .field("file", &self.file)
            .field("line", &self.line)
            .finish()
    }
}

struct Fail {
    col: Option<usize>,
    field: Option<usize>,
    reason: String,
}

impl Converter {
    /// A converter for one input of `dataset`; `file` names the input in rejects and errors.
    pub fn new(dataset: Arc<Dataset>, file: impl Into<String>) -> Converter {
        Converter::with_context(dataset, file, InputContext::default())
    }

    /// A converter for one input whose `context = "…"` columns take their values from `context` (values
    /// the file carries in its preamble take precedence; the input name, via the schema's
    /// `context.file_name`, is the last resort).
    pub fn with_context(
        dataset: Arc<Dataset>,
        file: impl Into<String>,
        context: InputContext,
    ) -> Converter {
        let csv = &dataset.definition().csv;
        let reader = ReaderBuilder::new().delimiter(csv.delimiter as u8).build();
        let zone_caches = dataset
            .columns
            .iter()
            .map(|c| ZoneCache::new(c.zone))
            .collect();
        let file = file.into();
        Converter {
            reader,
            out: vec![0; 4096],
            outlen: 0,
            starts: vec![0; 64],
            ends: vec![0; 64],
            endlen: 0,
            carry: Vec::new(),
            line: 1,
            bom_probe: Some(Vec::new()),
            binding: None,
            failed: None,
            days: BTreeMap::new(),
            ready: Vec::new(),
            rejects: Vec::new(),
            summary: ConvertSummary {
                file: file.clone(),
                ..Default::default()
            },
            zone_caches,
            partition_cache: (i64::MIN, 0),
            in_order_seen: HashMap::new(),
            superseded_lines: hashbrown::HashSet::new(),
            rows: Vec::new(),
            placements: Vec::new(),
            line_ascii: false,
            key_buf: Vec::new(),
            context,
            preamble_left: csv.preamble_lines,
            preamble_partial: Vec::new(),
            preamble_found: Vec::new(),
            consts: Vec::new(),
            context_slots: Vec::new(),
            footer_held: None,
            file,
            hot: Some(Box::new((*dataset).clone())),
            delimiter: csv.delimiter as u8,
            ds: dataset,
        }
    }

    /// Feeds the next chunk. An error is about the whole input (its header); after one, further input is
    /// ignored and the same error is returned.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), ConvertError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if let Some(mut probe) = self.bom_probe.take() {
            // A UTF-8 BOM is three bytes and may be split across chunks: hold tiny first chunks back.
            probe.extend_from_slice(chunk);
            if probe.len() < 3 && b"\xEF\xBB\xBF".starts_with(&probe) {
                self.bom_probe = Some(probe);
                return Ok(());
            }
            let body = probe.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&probe);
            self.feed(body, false);
        } else {
            self.feed(chunk, false);
        }
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Ends the input: converts the last record, flushes every day, returns the accounting.
    pub fn finish(mut self) -> Result<(ConvertSummary, Vec<DayBatch>, Vec<Reject>), ConvertError> {
        if let Some(probe) = self.bom_probe.take() {
            let body = probe.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&probe);
            self.feed(body, false);
        }
        self.feed(&[], true);
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.binding.is_none() {
            return Err(ConvertError::Empty {
                file: self.file.clone(),
            });
        }
        if let Some((_, text)) = self.footer_held.take() {
            self.summary.footer = Some(lossy_capped(&text, 1024));
        }
        let days: Vec<i32> = self.days.keys().copied().collect();
        for day in days {
            self.flush_day(day);
        }
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        for (day, state) in std::mem::take(&mut self.days) {
            self.summary.days.insert(day, state.outcome);
        }
        let mut ready = std::mem::take(&mut self.ready);
        ready.sort_by_key(|b| (b.day, b.first_row));
        Ok((self.summary, ready, self.rejects))
    }

    /// Batches completed so far (each day's rows in order). Call between pushes to keep memory flat.
    pub fn take_batches(&mut self) -> Vec<DayBatch> {
        std::mem::take(&mut self.ready)
    }

    /// Rejects found so far.
    pub fn take_rejects(&mut self) -> Vec<Reject> {
        std::mem::take(&mut self.rejects)
    }

    fn feed(&mut self, whole: &[u8], at_end: bool) {
        // `pos`: bytes of `whole` consumed; `raw_start`: where the current record's raw bytes begin.
        let mut pos = 0usize;
        if self.preamble_left > 0 {
            pos = self.skip_preamble(whole, at_end);
            if self.preamble_left > 0 {
                return;
            }
        }
        let mut raw_start = pos;
        loop {
            if self.failed.is_some() {
                return;
            }
            if self.carry.is_empty() && self.outlen == 0 && self.endlen == 0 {
                let n = self.split_plain_lines(&whole[pos..]);
                if n > 0 {
                    pos += n;
                    raw_start = pos;
                    // csv-core did not see those lines; start it afresh at this record boundary.
                    self.reader.reset();
                    if self.failed.is_some() {
                        return;
                    }
                }
            }
            let (res, nin, nout, nend) = self.reader.read_record(
                &whole[pos..],
                &mut self.out[self.outlen..],
                &mut self.ends[self.endlen..],
            );
            pos += nin;
            self.outlen += nout;
            self.endlen += nend;
            match res {
                ReadRecordResult::InputEmpty => {
                    self.carry.extend_from_slice(&whole[raw_start..pos]);
                    if !at_end {
                        return;
                    }
                    // csv-core asks for an empty slice to mean end of input; the loop supplies it.
                    raw_start = pos;
                }
                ReadRecordResult::OutputFull => {
                    let n = self.out.len() * 2;
                    self.out.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    self.starts_from_ends();
                    if self.carry.is_empty() {
                        self.on_record(&whole[raw_start..pos]);
                    } else {
                        let mut raw = std::mem::take(&mut self.carry);
                        raw.extend_from_slice(&whole[raw_start..pos]);
                        self.on_record(&raw);
                        raw.clear();
                        self.carry = raw;
                    }
                    raw_start = pos;
                    self.outlen = 0;
                    self.endlen = 0;
                }
                ReadRecordResult::End => {
                    self.carry.clear();
                    return;
                }
            }
        }
    }

    /// Consumes preamble lines as raw physical lines (never tokenised: an unmatched quote in a title must not
    /// swallow the header), keeping the ones `csv.preamble_values` asks for. Returns the bytes consumed.
    fn skip_preamble(&mut self, buf: &[u8], at_end: bool) -> usize {
        let mut pos = 0;
        while self.preamble_left > 0 {
            let (line_end, next) = match memchr::memchr(b'\n', &buf[pos..]) {
                Some(i) => (pos + i, pos + i + 1),
                None if at_end && !(buf.is_empty() && self.preamble_partial.is_empty()) => {
                    (buf.len(), buf.len())
                }
                None => {
                    self.preamble_partial.extend_from_slice(&buf[pos..]);
                    return buf.len();
                }
            };
            let mut text = std::mem::take(&mut self.preamble_partial);
            text.extend_from_slice(&buf[pos..line_end]);
            let line = self.line;
            if let Some((_, name)) = self.ds.preamble_values.iter().find(|(l, _)| *l == line) {
                let value = preamble_value(&text, self.delimiter);
                // An empty line gives no value: the caller's (or the name's) is used, else the input is refused.
                if !value.is_empty() {
                    self.preamble_found.push((name.clone(), value, line));
                }
            }
            self.line += 1;
            self.preamble_left -= 1;
            pos = next;
            if next == buf.len() && at_end {
                // The input ended inside the preamble: there is no header (an `Empty` input).
                self.preamble_left = 0;
            }
        }
        pos
    }

    /// The fast path: complete lines without a quote character are split here in one memchr3 pass over the
    /// bytes, several times faster than csv-core's byte-at-a-time state machine, and most real files (OASIS
    /// never quotes) are nothing else. A line with a quote, or an unterminated last line, is left to csv-core.
    /// Returns the bytes consumed.
    fn split_plain_lines(&mut self, buf: &[u8]) -> usize {
        let delim = self.delimiter;
        let mut consumed = 0;
        'lines: while consumed < buf.len() {
            let line_start = consumed;
            let mut start = consumed;
            self.outlen = 0;
            self.endlen = 0;
            for hit in memchr::memchr3_iter(delim, b'\n', b'"', &buf[consumed..]) {
                let at = consumed + hit;
                match buf[at] {
                    b'"' => break 'lines,
                    b'\n' => {
                        let end = if at > start && buf[at - 1] == b'\r' {
                            at - 1
                        } else {
                            at
                        };
                        self.push_field(start - line_start, end - line_start);
                        // One copy of the whole line; fields are ranges into it.
                        let body = &buf[line_start..end];
                        if self.out.len() < body.len() {
                            self.out.resize(body.len().next_power_of_two(), 0);
                        }
                        self.out[..body.len()].copy_from_slice(body);
                        self.outlen = body.len();
                        let line = self.line;
                        self.line += 1;
                        self.on_line(body, line);
                        self.outlen = 0;
                        self.endlen = 0;
                        consumed = at + 1;
                        if self.failed.is_some() {
                            break 'lines;
                        }
                        continue 'lines;
                    }
                    _ => {
                        self.push_field(start - line_start, at - line_start);
                        start = at + 1;
                    }
                }
            }
            // No newline left: the rest is an incomplete line.
            break;
        }
        self.outlen = 0;
        self.endlen = 0;
        consumed
    }

    /// Records a field of the line copied at the start of `out` (positions relative to the line).
    fn push_field(&mut self, start: usize, end: usize) {
        if self.endlen == self.ends.len() {
            let n = self.ends.len() * 2;
            self.ends.resize(n, 0);
        }
        if self.starts.len() < self.ends.len() {
            self.starts.resize(self.ends.len(), 0);
        }
        self.starts[self.endlen] = start;
        self.ends[self.endlen] = end;
        self.endlen += 1;
    }

    /// csv-core writes fields back to back: each starts where the previous ended.
    fn starts_from_ends(&mut self) {
        if self.starts.len() < self.endlen {
            self.starts.resize(self.ends.len().max(self.endlen), 0);
        }
        let mut prev = 0;
        for i in 0..self.endlen {
            self.starts[i] = prev;
            prev = self.ends[i];
        }
    }

    fn on_record(&mut self, raw: &[u8]) {
        // Blank lines before the record are part of its consumed bytes: they move the line count but are not
        // the record's own line.
        let lead = raw
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .count();
        let line = self.line + raw[..lead].iter().filter(|&&b| b == b'\n').count() as u64;
        self.line += memchr::memchr_iter(b'\n', raw).count() as u64;
        let body = trim_newlines(&raw[lead..]);
        self.on_line(body, line);
    }

    /// One record: its text (without line terminator) and the physical line it starts on.
    fn on_line(&mut self, body: &[u8], line: u64) {
        let n_fields = self.endlen;
        // csv-core already skips empty lines; a line of only spaces or tabs is blank too (one unquoted field
        // of whitespace), not a one-field row to reject nor a header to bind.
        if n_fields == 0 || (n_fields == 1 && body.iter().all(|b| b.is_ascii_whitespace())) {
            return;
        }
        if self.binding.is_none() {
            let header = match self.ds.definition().csv.header {
                HeaderMode::Yes => true,
                HeaderMode::No => false,
                // A header names columns; a data record of a klines file starts with an epoch number.
                HeaderMode::Auto => lexical_core::parse::<f64>(self.field(0).trim_ascii()).is_err(),
            };
            if header {
                self.bind_header(line);
            } else {
                self.bind_positions();
            }
            if self.binding.is_some() {
                self.bind_context();
            }
            if header || self.failed.is_some() {
                return;
            }
        }
        if let Some((held_line, held)) = self.footer_held.take() {
            // More records follow: the held line was not a footer, and is reported rather than dropped.
            self.reject(
                held_line,
                &held,
                None,
                None,
                "line looks like a footer (csv.footer_pattern) but is not the last line".into(),
                None,
            );
        }
        if let Some(re) = &self.ds.footer
            && re.is_match(&String::from_utf8_lossy(body))
        {
            self.footer_held = Some((line, body.to_vec()));
            return;
        }
        self.on_data_record(body, line);
    }

    fn field(&self, i: usize) -> &[u8] {
        &self.out[self.starts[i]..self.ends[i]]
    }

    fn bind_header(&mut self, line: u64) {
        let mut found = Vec::with_capacity(self.endlen);
        for i in 0..self.endlen {
            match std::str::from_utf8(self.field(i)) {
                Ok(s) => found.push(s.trim().to_string()),
                Err(_) => {
                    self.failed = Some(ConvertError::HeaderEncoding {
                        file: self.file.clone(),
                        line,
                    });
                    return;
                }
            }
        }
        let ds = Arc::clone(&self.ds);
        let mut field_of = vec![None; ds.columns.len()];
        let mut reads = vec![Vec::new(); ds.columns.len()];
        let mut used = vec![false; found.len()];
        let mut report = HeaderReport {
            found: found.clone(),
            ..Default::default()
        };
        let mut missing = Vec::new();
        for (ci, col) in ds.columns.iter().enumerate() {
            if !matches!(col.source, ColumnSource::Field) {
                continue;
            }
            for (ri, reader) in col.readers.iter().enumerate() {
                let find = |exact: bool| {
                    reader.headers.iter().find_map(|h| {
                        found.iter().enumerate().position(|(p, f)| {
                            // A transforming reader may share its cell (several values of one
                            // seoList); a plain one takes a header no other column has taken.
                            (reader.transforms() || !used[p])
                                && if exact {
                                    f == h
                                } else {
                                    f.eq_ignore_ascii_case(h)
                                }
                        })
                    })
                };
                if let Some(p) = find(true).or_else(|| find(false)) {
                    used[p] = true;
                    reads[ci].push((ri, p));
                    if field_of[ci].is_none() {
                        field_of[ci] = Some(p);
                        report.bound.push((col.name.clone(), found[p].clone()));
                    }
                }
            }
            if reads[ci].is_empty() {
                if col.nullable {
                    report.absent.push(col.name.clone());
                } else {
                    missing.push(
                        col.headers
                            .first()
                            .cloned()
                            .unwrap_or_else(|| col.name.clone()),
                    );
                }
            }
        }
        // A plain reader bound to a name the header repeats would silently take the first of them.
        let mut repeated: Vec<String> = Vec::new();
        for (ci, col) in ds.columns.iter().enumerate() {
            for &(ri, p) in &reads[ci] {
                let name = &found[p];
                if !col.readers[ri].transforms()
                    && found
                        .iter()
                        .filter(|f| f.eq_ignore_ascii_case(name))
                        .count()
                        > 1
                    && !repeated.contains(name)
                {
                    repeated.push(name.clone());
                }
            }
        }
        if !repeated.is_empty() {
            self.failed = Some(ConvertError::DuplicateColumns {
                file: self.file.clone(),
                columns: repeated,
            });
            return;
        }
        let mut unpivot = Vec::new();
        if let Some(u) = &ds.unpivot {
            for (p, h) in found.iter().enumerate() {
                if !used[p]
                    && let Some(n) = u.match_header(h)
                {
                    used[p] = true;
                    unpivot.push((n, p));
                }
            }
            if unpivot.is_empty() {
                missing.push(format!("{}{{{}..{}}}{}", u.prefix, u.from, u.to, u.suffix));
            }
        }
        if !missing.is_empty() {
            let expected = ds
                .columns
                .iter()
                .filter(|c| matches!(c.source, ColumnSource::Field))
                .filter_map(|c| c.headers.first().cloned())
                .collect();
            self.failed = Some(ConvertError::MissingColumns {
                file: self.file.clone(),
                missing,
                expected,
                found,
            });
            return;
        }
        // A trailing empty header name comes from a trailing delimiter; it is no column.
        report.ignored = found
            .iter()
            .zip(&used)
            .filter(|(f, u)| !**u && !f.is_empty())
            .map(|(f, _)| f.clone())
            .collect();
        if !report.ignored.is_empty() && ds.definition().unknown_columns == UnknownColumns::Error {
            self.failed = Some(ConvertError::UnknownColumns {
                file: self.file.clone(),
                dataset: ds.name().to_string(),
                unknown: report.ignored.clone(),
            });
            return;
        }
        let display = found.clone();
        self.summary.header = report;
        self.binding = Some(Binding {
            field_of,
            reads,
            positional: false,
            unpivot,
            width: found.len(),
            display,
        });
    }

    fn bind_positions(&mut self) {
        let ds = Arc::clone(&self.ds);
        let field_of: Vec<Option<usize>> = ds
            .columns
            .iter()
            .map(|c| {
                c.position
                    .filter(|_| matches!(c.source, ColumnSource::Field))
            })
            .collect();
        let reads = field_of
            .iter()
            .map(|f| f.iter().map(|&p| (0, p)).collect())
            .collect();
        let width = field_of.iter().flatten().max().map_or(0, |m| m + 1);
        let mut display = vec![String::new(); width];
        for c in &ds.columns {
            if let Some(p) = c.position {
                display[p] = c.name.clone();
            }
        }
        self.binding = Some(Binding {
            field_of,
            reads,
            positional: true,
            unpivot: Vec::new(),
            width,
            display,
        });
    }

    /// Finds, parses and checks the value of every `context = "…"` column once for the whole input.
    fn bind_context(&mut self) {
        let ds = Arc::clone(&self.ds);
        let Some(binding) = self.binding.take() else {
            return;
        };
        for (ci, col) in ds.columns.iter().enumerate() {
            let ColumnSource::Context(name) = &col.source else {
                continue;
            };
            let from_name = || {
                let re = ds.file_name_context.as_ref()?;
                let caps = re.captures(&self.file)?;
                Some(caps.name(name)?.as_str().to_string())
            };
            let found = self
                .preamble_found
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, v, line)| (v.clone(), format!("preamble line {line}")))
                .or_else(|| {
                    self.context
                        .get(name)
                        .map(|v| (v.to_string(), "the caller".to_string()))
                })
                .or_else(|| from_name().map(|v| (v, format!("the input name `{}`", self.file))));
            let Some((value, origin)) = found else {
                if col.nullable {
                    self.context_slots.push((ci, Slot::Null));
                    continue;
                }
                let mut hint = String::new();
                if ds.preamble_values.iter().any(|(_, n)| n == name) {
                    hint.push_str("; the schema reads it from the preamble, which lacks it");
                }
                if let Some(re) = &ds.file_name_context {
                    hint.push_str(&format!(
                        "; or name the input so that `{}` finds it",
                        re.as_str()
                    ));
                }
                self.failed = Some(ConvertError::MissingContext {
                    file: self.file.clone(),
                    dataset: ds.name().to_string(),
                    name: name.clone(),
                    column: col.name.clone(),
                    hint,
                });
                break;
            };
            // Parse with the column's own rules, on a scratch buffer swapped in for the record buffer (which
            // may hold the first data record when the header was detected as absent).
            let mut scratch = value.clone().into_bytes();
            std::mem::swap(&mut self.out, &mut scratch);
            let len = self.out.len();
            let parsed = self.parse_value(ci, col, 0, len, &binding);
            std::mem::swap(&mut self.out, &mut scratch);
            match parsed {
                Ok(Slot::Str(s, e)) => {
                    self.consts.push(scratch[s as usize..e as usize].to_vec());
                    let i = (self.consts.len() - 1) as u32;
                    self.context_slots.push((ci, Slot::Const(i)));
                }
                Ok(slot) => self.context_slots.push((ci, slot)),
                Err(reason) => {
                    let fix = if ds.file_name_context.is_some() || !col.allowed.is_empty() {
                        "; a source variant this schema does not cover (another interval, market) needs a copy of the schema under `schema_dir`"
                    } else {
                        ""
                    };
                    self.failed = Some(ConvertError::BadContext {
                        file: self.file.clone(),
                        name: name.clone(),
                        value,
                        column: col.name.clone(),
                        reason: format!(
                            "{reason} (the value came from {origin}). Check that this input belongs to this dataset{fix}"
                        ),
                    });
                    break;
                }
            }
        }
        self.binding = Some(binding);
    }

    fn reject(
        &mut self,
        line: u64,
        body: &[u8],
        col: Option<String>,
        value: Option<&[u8]>,
        reason: String,
        day: Option<i32>,
    ) {
        self.summary.counts.read += 1;
        self.summary.counts.rejected += 1;
        match day {
            Some(d) => {
                let state = self.day_state(d);
                state.outcome.counts.read += 1;
                state.outcome.counts.rejected += 1;
            }
            None => self.summary.undated_rejects += 1,
        }
        self.rejects.push(Reject {
            file: self.file.clone(),
            line,
            column: col,
            value: value.map(|v| lossy_capped(v, 1024)),
            reason,
            raw: lossy_capped(body, MAX_REJECT_TEXT),
            day,
        });
    }

    fn day_state(&mut self, day: i32) -> &mut DayState {
        let ds = &self.ds;
        self.days.entry(day).or_insert_with(|| DayState {
            builders: ds.columns.iter().map(|c| ColBuilder::new(c.kind)).collect(),
            rows_in_batch: 0,
            next_row: 0,
            batch_first_row: 0,
            keys: HashMap::new(),
            row_facts: Vec::new(),
            outcome: DayOutcome::default(),
        })
    }

    fn on_data_record(&mut self, body: &[u8], line: u64) {
        let Some(binding) = self.binding.take() else {
            return;
        };
        let Some(ds) = self.hot.take() else { return };
        self.line_ascii = self.out[..self.outlen].is_ascii();
        let result = self.convert_record(&ds, &binding, line);
        self.hot = Some(ds);
        self.binding = Some(binding);
        if let Err((fail, day)) = result {
            let binding = self.binding.as_ref();
            let col = match (fail.field, fail.col) {
                (Some(f), _) => binding
                    .and_then(|b| b.display.get(f).cloned())
                    .or_else(|| Some(format!("field {}", f + 1))),
                (None, Some(c)) => Some(self.ds.columns[c].name.clone()),
                (None, None) => None,
            };
            let value = fail
                .field
                .filter(|&f| f < self.endlen)
                .map(|f| self.field(f).to_vec());
            self.reject(line, body, col, value.as_deref(), fail.reason, day);
        }
    }

    /// Converts one record, appending it to its day; on failure nothing is appended.
    fn convert_record(
        &mut self,
        ds: &Dataset,
        b: &Binding,
        line: u64,
    ) -> Result<(), (Fail, Option<i32>)> {
        let n = self.endlen;
        // A trailing delimiter on every row (REACH 43-column files) adds one empty field: tolerated.
        let trailing_empty = n == b.width + 1 && self.ends[n - 1] == self.starts[n - 1];
        // Without a header, extra trailing fields are allowed: columns bind by position.
        let positional_extra = b.positional && n >= b.width;
        if n != b.width && !trailing_empty && !positional_extra {
            let reason = format!("row has {n} fields, header has {}", b.width);
            let field = if n < b.width { Some(n) } else { None };
            return Err((
                Fail {
                    col: None,
                    field,
                    reason: if n < b.width {
                        format!("{reason} (short row)")
                    } else {
                        format!("{reason} (long row)")
                    },
                },
                None,
            ));
        }
        let out_rows = if b.unpivot.is_empty() {
            1
        } else {
            b.unpivot.len()
        };
        while self.rows.len() < out_rows {
            self.rows.push(vec![Slot::Null; ds.columns.len()]);
        }
        // Phase 1: plain fields, into row 0. The partition column is read first so that a record refused for
        // another field still names its day: only records whose day cannot be read are undated rejects.
        let part = ds.partition.column;
        let mut known_day = None;
        let order = std::iter::once(part).chain((0..ds.columns.len()).filter(|&c| c != part));
        for ci in order {
            let col = &ds.columns[ci];
            let slot = match &col.source {
                ColumnSource::Field => self.read_field(ci, col, b).map_err(|(field, reason)| {
                    (
                        Fail {
                            col: Some(ci),
                            field,
                            reason,
                        },
                        known_day,
                    )
                })?,
                ColumnSource::Context(_) => self
                    .context_slots
                    .iter()
                    .find(|(c, _)| *c == ci)
                    .map_or(Slot::Null, |(_, s)| *s),
                _ => continue,
            };
            self.rows[0][ci] = slot;
            if ci == part {
                known_day = match slot {
                    Slot::Date(d) => Some(d),
                    Slot::Ts(us) => Some(self.partition_day(us)),
                    _ => None,
                };
            }
        }
        // Phase 2: unpivot values, one output row each.
        if let Some(u) = &ds.unpivot {
            let vcol = &ds.columns[u.value_col];
            for (r, &(num, f)) in b.unpivot.iter().enumerate() {
                if r > 0 {
                    let (first, rest) = self.rows.split_at_mut(1);
                    rest[r - 1].copy_from_slice(&first[0]);
                }
                let (start, end) = (self.starts[f], self.ends[f]);
                let slot =
                    self.parse_value(u.value_col, vcol, start, end, b)
                        .map_err(|reason| {
                            (
                                Fail {
                                    col: Some(u.value_col),
                                    field: Some(f),
                                    reason,
                                },
                                known_day,
                            )
                        })?;
                self.rows[r][u.value_col] = slot;
                self.rows[r][u.index_col] = Slot::Int(i64::from(num));
            }
        }
        // Phase 3: derived timestamps.
        for (ci, col) in ds.columns.iter().enumerate() {
            if let ColumnSource::Derived(d) = &col.source {
                for r in 0..out_rows {
                    let slot =
                        derive_timestamp(&self.rows[r], d.date_col, d.hour_col, d.zone, d.edge)
                            .map_err(|reason| {
                                (
                                    Fail {
                                        col: Some(ci),
                                        field: None,
                                        reason,
                                    },
                                    known_day,
                                )
                            })?;
                    self.rows[r][ci] = slot;
                }
            }
        }
        // Phase 4: day and key of each output row; duplicates decided before anything is appended.
        // Taken from its scratch slot and put back on success (an early return just drops it).
        let mut placements = std::mem::take(&mut self.placements);
        placements.clear();
        for r in 0..out_rows {
            let day = match self.rows[r][part] {
                Slot::Date(d) => d,
                Slot::Ts(us) => self.partition_day(us),
                _ => {
                    return Err((
                        Fail {
                            col: Some(part),
                            field: b.field_of[part],
                            reason: "partition day cannot be read".into(),
                        },
                        None,
                    ));
                }
            };
            let key = self.key_hash(r, ds);
            let rank = match &ds.precedence {
                None => 0,
                Some((pc, order)) => {
                    let v = match self.rows[r][*pc] {
                        Slot::Str(s, e) => &self.out[s as usize..e as usize],
                        Slot::Const(i) => self.consts[i as usize].as_slice(),
                        _ => &[],
                    };
                    order
                        .iter()
                        .position(|o| o.as_bytes() == v)
                        .map_or(0, |p| p as u32 + 1)
                }
            };
            placements.push((day, key, rank));
        }
        let record_day = placements.first().map(|p| p.0);
        let mut supersede: Vec<(i32, u32, u64, i32)> = Vec::new();
        for &(day, key, rank) in &placements {
            let state = self.day_state(day);
            let found = state
                .keys
                .get(&split_hash(key))
                .map(|&row| (row, state.row_facts[row as usize]));
            if let Some((old_row, (old_line, old_rank, old_record_day))) = found {
                if ds.precedence.is_some() && rank > old_rank {
                    supersede.push((day, old_row, old_line, old_record_day));
                } else if ds.precedence.is_some() && rank < old_rank {
                    // The record already kept outranks this one: this one is the superseded loser.
                    let state = self.day_state(record_day.unwrap_or(day));
                    state.outcome.counts.read += 1;
                    state.outcome.counts.superseded += 1;
                    self.summary.counts.read += 1;
                    self.summary.counts.superseded += 1;
                    return Ok(());
                } else {
                    let key_names = ds.key_columns().join(", ");
                    return Err((
                        Fail {
                            col: None,
                            field: None,
                            reason: format!(
                                "duplicate key ({key_names}) first seen on line {old_line}"
                            ),
                        },
                        Some(day),
                    ));
                }
            }
        }
        // Phase 5: append.
        // Rows are dropped one by one, but records are counted once, on the day their own counts went to
        // (an unpivoted record has many rows, possibly on several days).
        for (day, old_row, old_line, old_record_day) in supersede {
            let state = self.day_state(day);
            state.outcome.superseded_rows.push(old_row);
            state.outcome.rows -= 1;
            if self.superseded_lines.insert(old_line) {
                let state = self.day_state(old_record_day);
                state.outcome.counts.superseded += 1;
                state.outcome.counts.written -= 1;
                self.summary.counts.superseded += 1;
                self.summary.counts.written -= 1;
            }
        }
        let out = std::mem::take(&mut self.out);
        let rows = std::mem::take(&mut self.rows);
        let consts = std::mem::take(&mut self.consts);
        let mut full_days = Vec::new();
        for (r, &(day, key, rank)) in placements.iter().enumerate() {
            let row = &rows[r];
            let state = self.day_state(day);
            for (bld, slot) in state.builders.iter_mut().zip(row.iter()) {
                bld.append(*slot, &out, &consts);
            }
            state.keys.insert(split_hash(key), state.next_row);
            state
                .row_facts
                .push((line, rank, record_day.unwrap_or(day)));
            state.next_row += 1;
            state.rows_in_batch += 1;
            state.outcome.rows += 1;
            if state.rows_in_batch >= BATCH_ROWS {
                full_days.push(day);
            }
        }
        self.out = out;
        self.rows = rows;
        self.consts = consts;
        self.placements = placements;
        if let Some(day) = record_day {
            let state = self.day_state(day);
            state.outcome.counts.read += 1;
            state.outcome.counts.written += 1;
        }
        self.summary.counts.read += 1;
        self.summary.counts.written += 1;
        for day in full_days {
            self.flush_day(day);
        }
        Ok(())
    }

    /// The value of a field column: the first bound reader whose cell is not empty, after `extract` and
    /// `capture`. `Err` carries the field at fault and the reason.
    fn read_field(
        &mut self,
        ci: usize,
        col: &ColumnPlan,
        b: &Binding,
    ) -> Result<Slot, (Option<usize>, String)> {
        let reads = &b.reads[ci];
        for (k, &(ri, f)) in reads.iter().enumerate() {
            let (mut start, mut end) = (self.starts[f], self.ends[f]);
            let last = k + 1 == reads.len();
            if !last && self.out[start..end].trim_ascii().is_empty() {
                continue;
            }
            let reader: &ReadPlan = &col.readers[ri];
            if let Some(key) = &reader.extract {
                let (s, e) = extract_key(&self.out[start..end], key).map_err(|r| (Some(f), r))?;
                (start, end) = (start + s, start + e);
            }
            if let Some(re) = &reader.capture
                && start != end
            {
                let text = std::str::from_utf8(&self.out[start..end])
                    .map_err(|_| (Some(f), "invalid UTF-8".to_string()))?;
                let Some(g) = re.captures(text).and_then(|c| c.get(1)) else {
                    return Err((
                        Some(f),
                        format!(
                            "`{}` does not match `{}`",
                            lossy_capped(text.as_bytes(), 64),
                            re.as_str()
                        ),
                    ));
                };
                (start, end) = (start + g.start(), start + g.end());
            }
            if !last && self.out[start..end].trim_ascii().is_empty() {
                continue;
            }
            return self
                .parse_value(ci, col, start, end, b)
                .map_err(|r| (Some(f), r));
        }
        Ok(Slot::Null)
    }

    fn partition_day(&mut self, us: i64) -> i32 {
        let hour = us.div_euclid(MICROS_PER_HOUR);
        if self.partition_cache.0 != hour {
            let zone = self.ds.partition.zone;
            let start = hour * MICROS_PER_HOUR;
            let off = i64::from(zone.offset_at(start)) * 1_000_000;
            self.partition_cache = (
                hour,
                ((start + off).div_euclid(crate::time::MICROS_PER_DAY)) as i32,
            );
            // Offsets change on whole hours for the zones we serve, but a day boundary can fall inside an
            // hour for half-hour offsets: recompute exactly in that case.
            if off % MICROS_PER_HOUR != 0 {
                self.partition_cache.0 = i64::MIN;
                return zone.local_day(us);
            }
        }
        self.partition_cache.1
    }

    fn key_hash(&mut self, r: usize, ds: &Dataset) -> u128 {
        self.key_buf.clear();
        for &k in &ds.key {
            match self.rows[r][k] {
                Slot::Null => self.key_buf.push(0),
                Slot::Int(v) | Slot::Ts(v) => {
                    self.key_buf.push(1);
                    self.key_buf.extend_from_slice(&v.to_le_bytes());
                }
                Slot::Float(v) => {
                    self.key_buf.push(2);
                    self.key_buf.extend_from_slice(&v.to_bits().to_le_bytes());
                }
                Slot::Bool(v) => self.key_buf.extend_from_slice(&[3, u8::from(v)]),
                Slot::Date(v) => {
                    self.key_buf.push(4);
                    self.key_buf.extend_from_slice(&v.to_le_bytes());
                }
                Slot::Str(s, e) => {
                    self.key_buf.push(5);
                    self.key_buf.extend_from_slice(&(e - s).to_le_bytes());
                    self.key_buf
                        .extend_from_slice(&self.out[s as usize..e as usize]);
                }
                Slot::Const(i) => {
                    let v = &self.consts[i as usize];
                    self.key_buf.push(5);
                    self.key_buf
                        .extend_from_slice(&(v.len() as u32).to_le_bytes());
                    self.key_buf.extend_from_slice(v);
                }
            }
        }
        xxhash_rust::xxh3::xxh3_128(&self.key_buf)
    }

    /// Parses one field for one column; `Err` is the reject reason.
    fn parse_value(
        &mut self,
        ci: usize,
        col: &ColumnPlan,
        start: usize,
        end: usize,
        b: &Binding,
    ) -> Result<Slot, String> {
        let bytes = &self.out[start..end];
        let trimmed = bytes.trim_ascii();
        if trimmed.is_empty() || self.ds.null_values.iter().any(|n| n.as_slice() == trimmed) {
            return if col.nullable {
                Ok(Slot::Null)
            } else {
                Err("empty value in required column".into())
            };
        }
        let slot = match col.kind {
            ColumnType::Utf8 => {
                let checks = !col.allowed.is_empty() || col.pattern.is_some();
                if self.line_ascii && !checks {
                    return Ok(Slot::Str(start as u32, end as u32));
                }
                let s = std::str::from_utf8(bytes).map_err(|_| "invalid UTF-8".to_string())?;
                if !col.allowed.is_empty() && !col.allowed.iter().any(|a| a == s) {
                    return Err(format!(
                        "value `{s}` is not one of the allowed values {:?}",
                        col.allowed
                    ));
                }
                if let Some(re) = &col.pattern
                    && !re.is_match(s)
                {
                    return Err(format!(
                        "value `{s}` does not match pattern `{}`",
                        re.as_str()
                    ));
                }
                Slot::Str(start as u32, end as u32)
            }
            ColumnType::Int16 | ColumnType::Int32 | ColumnType::Int64 => {
                let v: i64 = lexical_core::parse(trimmed).map_err(|_| not_a(trimmed, "integer"))?;
                let (lo, hi) = match col.kind {
                    ColumnType::Int16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
                    ColumnType::Int32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
                    _ => (i64::MIN, i64::MAX),
                };
                if v < lo || v > hi {
                    return Err(format!("integer {v} does not fit {:?}", col.kind).to_lowercase());
                }
                check_range(col, v as f64)?;
                Slot::Int(v)
            }
            ColumnType::Float64 => {
                let v: f64 = lexical_core::parse(trimmed).map_err(|_| not_a(trimmed, "number"))?;
                if v.is_nan() {
                    return Err("NaN is not a value".into());
                }
                // lexical reads `inf`/`infinity` and overflows such as `1e400` as ±∞: no source means that.
                if v.is_infinite() {
                    return Err(format!(
                        "`{}` is not a finite number",
                        lossy_capped(trimmed, 64)
                    ));
                }
                check_range(col, v)?;
                Slot::Float(v)
            }
            ColumnType::Boolean => match trimmed.to_ascii_lowercase().as_slice() {
                b"true" | b"t" | b"1" | b"yes" | b"y" => Slot::Bool(true),
                b"false" | b"f" | b"0" | b"no" | b"n" => Slot::Bool(false),
                _ => return Err(not_a(trimmed, "boolean")),
            },
            ColumnType::Date => {
                let parsed = col.formats.iter().find_map(|f| f.parse(trimmed));
                match parsed {
                    Some(Parsed::Civil { micros, .. }) => {
                        Slot::Date(micros.div_euclid(crate::time::MICROS_PER_DAY) as i32)
                    }
                    Some(Parsed::Instant(us)) => {
                        Slot::Date(us.div_euclid(crate::time::MICROS_PER_DAY) as i32)
                    }
                    None => return Err(unparseable(trimmed, col, "date")),
                }
            }
            ColumnType::Timestamp => {
                let parsed = col.formats.iter().find_map(|f| f.parse(trimmed));
                let us = match parsed {
                    None => return Err(unparseable(trimmed, col, "timestamp")),
                    Some(Parsed::Instant(us)) => us,
                    Some(Parsed::Civil {
                        micros,
                        offset_secs: Some(off),
                    }) => micros - i64::from(off) * 1_000_000,
                    Some(Parsed::Civil {
                        micros,
                        offset_secs: None,
                    }) => match self.zone_caches[ci].resolve(micros) {
                        Resolved::Single(us) => us,
                        Resolved::Nonexistent => {
                            return Err(format!(
                                "local time does not exist in {:?} (skipped by the DST change)",
                                col.zone
                            ));
                        }
                        Resolved::Ambiguous(early, late) => match col.ambiguous {
                            Ambiguous::Earliest => early,
                            Ambiguous::Latest => late,
                            Ambiguous::Reject => {
                                return Err("local time occurs twice (DST fall-back) and the schema does not say which".into());
                            }
                            Ambiguous::InOrder => {
                                let h = self.raw_key_hash(b);
                                let seen = self.in_order_seen.entry(h).or_insert(0);
                                *seen = seen.saturating_add(1);
                                if *seen == 1 { early } else { late }
                            }
                        },
                    },
                };
                Slot::Ts(us)
            }
        };
        Ok(slot)
    }

    /// Hash of the raw text of the key fields: identifies "the same label for the same series".
    fn raw_key_hash(&self, b: &Binding) -> u128 {
        let mut buf = Vec::new();
        for &k in &self.ds.key {
            if let Some(f) = b.field_of[k] {
                buf.extend_from_slice(self.field(f));
                buf.push(0x1f);
            }
        }
        xxhash_rust::xxh3::xxh3_128(&buf)
    }

    fn flush_day(&mut self, day: i32) {
        let Some(state) = self.days.get_mut(&day) else {
            return;
        };
        if state.rows_in_batch == 0 {
            return;
        }
        // A day that filled a batch will likely fill the next one too; a smaller one was its last.
        let next_rows = if state.rows_in_batch >= BATCH_ROWS {
            BATCH_ROWS
        } else {
            0
        };
        let arrays = state
            .builders
            .iter_mut()
            .map(|b| b.finish(next_rows))
            .collect::<Result<Vec<ArrayRef>, _>>();
        let first_row = state.batch_first_row;
        state.batch_first_row = state.next_row;
        state.rows_in_batch = 0;
        // Builders produce exactly the schema's types from validated values, so this does not fail; if it ever
        // did, the input is refused whole rather than losing the batch's rows silently.
        match arrays.and_then(|a| RecordBatch::try_new(Arc::clone(self.ds.arrow_schema()), a)) {
            Ok(batch) => self.ready.push(DayBatch {
                day,
                first_row,
                batch,
            }),
            Err(e) => {
                self.failed = Some(ConvertError::Internal {
                    file: self.file.clone(),
                    detail: e.to_string(),
                });
            }
        }
    }
}

/// A key hash as the duplicate index stores it.
fn split_hash(h: u128) -> [u64; 2] {
    [h as u64, (h >> 64) as u64]
}

fn derive_timestamp(
    row: &[Slot],
    date_col: usize,
    hour_col: usize,
    zone: crate::time::Zone,
    edge: IntervalEdge,
) -> Result<Slot, String> {
    let (Slot::Date(day), Slot::Int(he)) = (row[date_col], row[hour_col]) else {
        return Err("cannot derive the instant: operating day or hour-ending is missing".into());
    };
    let midnight = i64::from(day) * crate::time::MICROS_PER_DAY;
    let start = if he == 25 {
        // OASIS labels the repeated fall-back hour 25: it is the second 01:00.
        match zone.resolve(midnight + MICROS_PER_HOUR) {
            Resolved::Ambiguous(_, late) => late,
            _ => return Err("hour-ending 25 on a day without a repeated hour".into()),
        }
    } else if (1..=24).contains(&he) {
        match zone.resolve(midnight + (he - 1) * MICROS_PER_HOUR) {
            Resolved::Single(u) | Resolved::Ambiguous(u, _) => u,
            Resolved::Nonexistent => {
                return Err(format!(
                    "hour-ending {he} does not exist on this day (DST spring-forward)"
                ));
            }
        }
    } else {
        return Err(format!("hour-ending {he} is outside 1..=25"));
    };
    Ok(Slot::Ts(if edge == IntervalEdge::End {
        start + MICROS_PER_HOUR
    } else {
        start
    }))
}

fn check_range(col: &ColumnPlan, v: f64) -> Result<(), String> {
    if let Some(min) = col.min
        && v < min
    {
        return Err(format!("value {v} is below the minimum {min}"));
    }
    if let Some(max) = col.max
        && v > max
    {
        return Err(format!("value {v} is above the maximum {max}"));
    }
    Ok(())
}

fn not_a(v: &[u8], what: &str) -> String {
    format!("`{}` is not a valid {what}", lossy_capped(v, 64))
}

fn unparseable(v: &[u8], col: &ColumnPlan, what: &str) -> String {
    let formats: Vec<String> = col.formats.iter().map(|f| f.text()).collect();
    format!(
        "cannot parse `{}` as a {what} (expected format {})",
        lossy_capped(v, 64),
        formats.join(" or ")
    )
}

fn trim_newlines(b: &[u8]) -> &[u8] {
    let mut end = b.len();
    while end > 0 && (b[end - 1] == b'\n' || b[end - 1] == b'\r') {
        end -= 1;
    }
    &b[..end]
}

/// Header names shown in an error.
const SHOWN_NAMES: usize = 40;
/// Bytes of one header name shown in an error.
const SHOWN_NAME_BYTES: usize = 64;

/// Header names as an error shows them (`["A", "B", … (N more)]`): at most [`SHOWN_NAMES`], each cut to
/// [`SHOWN_NAME_BYTES`], so a header of a million columns, or one 100 MB line, still makes a readable error
/// rather than one as large as the header (which would go to the terminal, the ledger and notifications).
fn shown_names(names: &[String]) -> String {
    let mut shown: Vec<String> = names
        .iter()
        .take(SHOWN_NAMES)
        .map(|n| format!("{:?}", lossy_capped(n.as_bytes(), SHOWN_NAME_BYTES)))
        .collect();
    if names.len() > SHOWN_NAMES {
        shown.push(format!("… ({} more)", names.len() - SHOWN_NAMES));
    }
    format!("[{}]", shown.join(", "))
}

fn lossy_capped(b: &[u8], cap: usize) -> String {
    if b.len() <= cap {
        String::from_utf8_lossy(b).into_owned()
    } else {
        format!(
            "{}… ({} bytes in all)",
            String::from_utf8_lossy(&b[..cap]),
            b.len()
        )
    }
}

/// The value a preamble line carries: the line without its terminator, surrounding blanks, the empty
/// fields a spreadsheet export pads it with (`03/10/2024,,,`) and surrounding quotes.
fn preamble_value(line: &[u8], delimiter: u8) -> String {
    let text = String::from_utf8_lossy(trim_newlines(line)).into_owned();
    let d = char::from(delimiter);
    let t = text.trim_matches(|c: char| c == d || c.is_whitespace());
    t.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t)
        .to_string()
}

/// Finds `key` in a cell holding a list of one dict, written either as a Python repr
/// (`[{'obValue': 4.02e-05, 'obUoM': 'rad/second'}]`) or as JSON (`[{"obValue":4.02e-05}]`, its doubled CSV
/// quotes already undone by the tokenizer). Returns the value's byte range in `cell`, without its quotes;
/// an empty range for `None`/`null`. A hand-rolled scanner rather than a JSON parser because the Python form
/// is not JSON, and a range into the cell costs no allocation per row.
fn extract_key(cell: &[u8], key: &str) -> Result<(usize, usize), String> {
    let mut p = Scan { b: cell, i: 0 };
    p.ws();
    p.expect(b'[')?;
    p.ws();
    p.expect(b'{')?;
    let mut found = None;
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let (ks, ke) = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        let v = p.value()?;
        if found.is_none() && &cell[ks..ke] == key.as_bytes() {
            found = Some(v);
        }
        p.ws();
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    p.ws();
    if p.eat(b',') {
        // Taking the first observation would silently drop the others.
        return Err("the list holds more than one observation; one per record is supported".into());
    }
    p.expect(b']')?;
    p.ws();
    if p.i != cell.len() {
        return Err(format!(
            "unexpected text after the list at byte {}",
            p.i + 1
        ));
    }
    found.ok_or_else(|| format!("key `{key}` is absent from the observation"))
}

/// A cursor over a cell for [`extract_key`].
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.b.get(self.i) == Some(&c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            return Ok(());
        }
        Err(format!(
            "not a list holding one dict (Python repr or JSON): expected `{}` at byte {}",
            char::from(c),
            self.i + 1
        ))
    }

    /// A quoted string (`'…'` or `"…"`); the range excludes the quotes.
    fn string(&mut self) -> Result<(usize, usize), String> {
        let q = match self.b.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => {
                return Err(format!(
                    "not a list holding one dict (Python repr or JSON): expected a quoted key at byte {}",
                    self.i + 1
                ));
            }
        };
        let start = self.i + 1;
        let Some(len) = self.b[start..].iter().position(|&c| c == q || c == b'\\') else {
            return Err(format!("unterminated string starting at byte {start}"));
        };
        if self.b[start + len] == b'\\' {
            return Err(format!(
                "escaped characters in the string starting at byte {start} are not supported"
            ));
        }
        self.i = start + len + 1;
        Ok((start, start + len))
    }

    /// A value: a string (without quotes), a bare token (number, `None`/`null` → empty range, `True`), or a
    /// nested list/dict (its whole text).
    fn value(&mut self) -> Result<(usize, usize), String> {
        match self.b.get(self.i) {
            Some(b'\'' | b'"') => self.string(),
            Some(b'[' | b'{') => {
                let start = self.i;
                let mut depth = 0usize;
                while let Some(&c) = self.b.get(self.i) {
                    match c {
                        b'\'' | b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'[' | b'{' => depth += 1,
                        b']' | b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Ok((start, self.i));
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
                Err(format!(
                    "unterminated list or dict starting at byte {}",
                    start + 1
                ))
            }
            _ => {
                let start = self.i;
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
                {
                    self.i += 1;
                }
                let token = &self.b[start..self.i];
                if token.is_empty() {
                    return Err(format!("missing value at byte {}", start + 1));
                }
                if token == b"None" || token == b"null" {
                    return Ok((start, start));
                }
                Ok((start, self.i))
            }
        }
    }
}
