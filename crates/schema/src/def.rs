//! The on-disk form of a dataset schema: what a `schemas/<dataset>.toml` file may say.
//!
//! These structs are plain serde data with `deny_unknown_fields`, so a typo in a schema file is an error
//! at load time rather than a silently ignored rule. [`crate::Dataset`] is the checked, compiled form.

use serde::{Deserialize, Serialize};

/// One dataset: where its columns come from, how they are typed and checked, how rows map to days.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSchema {
    /// Stable dataset name; also the table folder in the lake and the table name in SQL.
    pub name: String,
    /// Schema version, written into every partition file's footer. Bump it when columns are added.
    pub version: u32,
    /// One sentence for `gridlake datasets`.
    pub description: String,
    /// The source family this dataset belongs to (`caiso`, `nyiso`, …); informational here.
    #[serde(default)]
    pub source: Option<String>,
    /// What happens to header columns the schema does not name.
    #[serde(default)]
    pub unknown_columns: UnknownColumns,
    /// Layout of the CSV text.
    #[serde(default)]
    pub csv: CsvLayout,
    /// Which column gives the partition day, and in which zone that day is counted.
    pub partition: PartitionRule,
    /// The key that identifies a record within a day.
    pub key: KeyRule,
    /// How many rows a complete day holds.
    #[serde(default)]
    pub completeness: Option<CompletenessRule>,
    /// Optional wide→long unpivot (`HE 1`..`HE 24` → `hour_ending`, `value`).
    #[serde(default)]
    pub unpivot: Option<UnpivotRule>,
    /// Where per-input values (`context = "…"` columns) may come from besides the caller and the preamble.
    #[serde(default)]
    pub context: Option<ContextRule>,
    /// Output columns, in output order.
    pub columns: Vec<ColumnDef>,
}

/// Policy for header columns that the schema does not name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownColumns {
    /// Refuse the input: the source changed its layout and a human should look.
    Error,
    /// Drop them; the source is known to add columns we do not keep.
    #[default]
    Ignore,
}

/// Text layout of the CSV.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvLayout {
    /// Field delimiter (one ASCII character).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Whether the first record after the preamble is a header: `true`, `false` (columns bind by
    /// `position`), or `"auto"` (a first record whose first field is not a number is a header).
    #[serde(default)]
    pub header: HeaderMode,
    /// Physical lines before the header (titles, dates, notes). They are skipped as raw lines, never
    /// tokenised, so a stray quote in a title cannot swallow the header.
    #[serde(default)]
    pub preamble_lines: u32,
    /// Values read from preamble lines (MISO's market date on line 2), usable by `context = "…"` columns.
    #[serde(default)]
    pub preamble_values: Vec<PreambleValue>,
    /// A regular expression for a trailing note line some sources may append. The last record, if its text
    /// matches, is not data (the summary reports it); a matching line followed by more records is rejected.
    #[serde(default)]
    pub footer_pattern: Option<String>,
    /// Field texts read as null (after trimming), in addition to the empty field.
    #[serde(default)]
    pub null_values: Vec<String>,
}

impl Default for CsvLayout {
    fn default() -> Self {
        CsvLayout {
            delimiter: ',',
            header: HeaderMode::Yes,
            preamble_lines: 0,
            preamble_values: Vec::new(),
            footer_pattern: None,
            null_values: Vec::new(),
        }
    }
}

fn default_delimiter() -> char {
    ','
}

/// Whether a file has a header record. In TOML: `header = true`, `header = false` or `header = "auto"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HeaderMode {
    /// The first record after the preamble is a header; columns bind by name.
    #[default]
    Yes,
    /// No header; columns bind by `position`.
    No,
    /// Binance added a header row to newer files of the same layout: a first record whose first field is
    /// not a number is a header (columns bind by name), else it is data (columns bind by `position`).
    Auto,
}

impl Serialize for HeaderMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HeaderMode::Yes => s.serialize_bool(true),
            HeaderMode::No => s.serialize_bool(false),
            HeaderMode::Auto => s.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for HeaderMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = HeaderMode;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false or \"auto\"")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<HeaderMode, E> {
                Ok(if v { HeaderMode::Yes } else { HeaderMode::No })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HeaderMode, E> {
                match v {
                    "auto" => Ok(HeaderMode::Auto),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A value taken from one preamble line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreambleValue {
    /// Physical line (1-based, within `preamble_lines`).
    pub line: u32,
    /// Context name a `context = "…"` column reads it by.
    pub name: String,
}

/// Per-input values taken from the input's name (e.g. Binance's `ADABTC-1m-2021-11-27.zip`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextRule {
    /// A regular expression searched in the input name; each named group `(?P<symbol>…)` supplies the
    /// context value of that name when the caller did not supply one.
    #[serde(default)]
    pub file_name: Option<String>,
}

/// Which column decides a row's partition day.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionRule {
    /// A `date` column (its value is the day) or a `timestamp` column (its local date in `zone`).
    pub column: String,
    /// The zone of the market's operating day: `UTC`, a fixed offset such as `-05:00`, or an IANA name.
    pub zone: String,
}

/// The key of a record within a day.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRule {
    /// Output column names forming the key. Mandatory and non-empty.
    pub columns: Vec<String>,
    /// When two records of one input share a key: without a precedence the second is rejected as a duplicate;
    /// with one, the record ranked higher wins and the other is counted as superseded.
    #[serde(default)]
    pub precedence: Option<Precedence>,
}

/// Ranks records that share a key by the value of one column.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Precedence {
    /// The ranking column (a utf8 column).
    pub column: String,
    /// Values from lowest to highest rank; a later entry wins over an earlier one.
    pub order: Vec<String>,
}

/// Expected rows per local day.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletenessRule {
    /// Sampling interval, e.g. `1h`, `5m`, `5s`. A day expects (local day length ÷ interval) intervals, so a
    /// 23- or 25-hour DST day expects 23 or 25 hours' worth.
    pub interval: String,
    /// Columns whose distinct combinations each expect a full day (nodes × LMP components, zones, sensors).
    #[serde(default)]
    pub per: Vec<String>,
    /// Fixed number of such combinations, when the source publishes a known set; else the distinct
    /// combinations seen that day are used.
    #[serde(default)]
    pub keys: Option<u64>,
}

/// Wide→long: one input row with N value columns becomes N output rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnpivotRule {
    /// Header pattern of the value columns, `{n}` standing for the number (`HE {n}`).
    pub pattern: String,
    /// First number (inclusive).
    pub from: u32,
    /// Last number (inclusive).
    pub to: u32,
    /// Output column (an integer column) receiving `n`.
    pub index_column: String,
    /// Output column receiving the value; its type and rules apply to each value.
    pub value_column: String,
}

/// One output column.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    /// Output name (snake_case, as SQL sees it).
    pub name: String,
    /// Header name in the source file. Absent for columns produced by the unpivot or `derive`.
    #[serde(default)]
    pub source: Option<String>,
    /// Other header names the source has used for this column (OASIS writes `MW` or `VALUE`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Zero-based field position, for files without a header.
    #[serde(default)]
    pub position: Option<usize>,
    /// Arrow type.
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// Whether an empty field is allowed (as null). A non-nullable column is also required in the header.
    #[serde(default)]
    pub nullable: bool,
    /// Unit, kept in the Arrow field metadata (`$/MWh`, `MW`, `rad/s`).
    #[serde(default)]
    pub unit: Option<String>,
    /// One-line meaning, kept in the Arrow field metadata.
    #[serde(default)]
    pub doc: Option<String>,
    /// Parse formats for `date` and `timestamp` columns, tried in order (strftime subset: `%Y %m %d %H %M %S
    /// %.f %z %:z`; or `epoch_s`, `epoch_ms`, `epoch_us`, `epoch_auto`).
    #[serde(default)]
    pub format: Vec<String>,
    /// Zone of timestamp text that carries no offset: `UTC` (default), `+05:30`, or an IANA name.
    #[serde(default)]
    pub zone: Option<String>,
    /// What a local time that occurs twice (the fall-back hour) means.
    #[serde(default)]
    pub ambiguous: Ambiguous,
    /// Smallest allowed value (numbers).
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest allowed value (numbers).
    #[serde(default)]
    pub max: Option<f64>,
    /// Allowed values (text columns).
    #[serde(default)]
    pub allowed: Vec<String>,
    /// Regular expression the whole value must match (text columns).
    #[serde(default)]
    pub pattern: Option<String>,
    /// A timestamp computed from other columns instead of read from one field.
    #[serde(default)]
    pub derive: Option<Derive>,
    /// The value is the same for every row of an input and comes from its context: a value the caller
    /// supplies (`InputContext`), a `csv.preamble_values` entry, or `context.file_name`. Parsed and checked
    /// once per input; a missing or invalid value refuses the input.
    #[serde(default)]
    pub context: Option<String>,
    /// The cell holds a list of one dict (`[{'k': v}]` as Python repr, or JSON): read the value of this key.
    #[serde(default)]
    pub extract: Option<String>,
    /// A regular expression with one group: the value is what the group matched (after `extract`).
    #[serde(default)]
    pub capture: Option<String>,
    /// Alternative ways to read the column, tried in order: the first whose header is in the file and whose
    /// cell is not empty gives the value. Replaces `source`/`aliases`/`extract`/`capture`.
    #[serde(default)]
    pub coalesce: Vec<ReadDef>,
}

/// One way of reading a column (see [`ColumnDef::coalesce`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadDef {
    /// Header name.
    pub source: String,
    /// Other header names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Key to read from a list-of-one-dict cell.
    #[serde(default)]
    pub extract: Option<String>,
    /// Regular expression whose first group is the value.
    #[serde(default)]
    pub capture: Option<String>,
}

/// Column types a schema may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// UTF-8 text.
    Utf8,
    /// 16-bit signed integer.
    Int16,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 64-bit float.
    Float64,
    /// true/false.
    Boolean,
    /// Calendar date (Arrow Date32).
    Date,
    /// An instant, stored as `Timestamp(Microsecond, "UTC")`.
    Timestamp,
}

/// Meaning of a local time that occurs twice when clocks fall back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ambiguous {
    /// Reject the row: the text alone cannot say which instant it is.
    #[default]
    Reject,
    /// The first (daylight-time) instant.
    Earliest,
    /// The second (standard-time) instant.
    Latest,
    /// By order of appearance per key: the first record with this label is the earlier instant, the next one
    /// the later (NYISO repeats `01:00` and only row order tells).
    InOrder,
}

/// A timestamp computed from an operating-day date and an hour-ending number, in a zone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derive {
    /// The date column (local operating day).
    pub date_column: String,
    /// The integer hour-ending column (1..=24; 25 names the repeated fall-back hour, as OASIS does).
    pub hour_ending_column: String,
    /// Zone of the operating day.
    pub zone: String,
    /// `start` gives the interval's start instant; `end` its end.
    #[serde(default)]
    pub edge: IntervalEdge,
}

/// Which edge of an hour-ending interval a derived timestamp names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalEdge {
    /// Start of the interval.
    #[default]
    Start,
    /// End of the interval.
    End,
}
