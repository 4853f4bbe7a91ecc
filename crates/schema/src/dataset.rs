//! The checked, compiled form of a schema ([`Dataset`]) and the [`Catalog`] of all datasets.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use regex::Regex;

use crate::def::{Ambiguous, ColumnDef, ColumnType, DatasetSchema, HeaderMode, IntervalEdge};
use crate::time::{MICROS_PER_SEC, TimeFormat, Zone};

/// A schema file that cannot be used, with the reason and what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The file could not be read.
    #[error("cannot read schema file {path}: {source}; check the path and its permissions")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The TOML does not match the schema format.
    #[error("schema {origin} is not valid: {message}")]
    Parse {
        /// File or built-in name.
        origin: String,
        /// What serde said (names the offending key and line).
        message: String,
    },
    /// The TOML parses but its rules contradict each other.
    #[error("schema {origin} ({dataset}): {message}")]
    Invalid {
        /// File or built-in name.
        origin: String,
        /// Dataset name.
        dataset: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// No such dataset in the catalog.
    #[error(
        "unknown dataset `{name}`; known datasets: {known}. Run `gridlake datasets` to list them, or add a schema file under `schema_dir`"
    )]
    UnknownDataset {
        /// Asked-for name.
        name: String,
        /// Known names, comma-separated.
        known: String,
    },
}

/// How the value of one output column is produced.
#[derive(Debug, Clone)]
pub(crate) enum ColumnSource {
    /// Read from one input field (bound by header name or position).
    Field,
    /// The unpivot's index (`n` of `HE {n}`).
    UnpivotIndex,
    /// The unpivot's value.
    UnpivotValue,
    /// A timestamp computed from a date column and an hour-ending column.
    Derived(DerivePlan),
    /// One value per input, from its context (the name it is looked up by).
    Context(String),
}

/// One way of reading a field column: which header, and what to take out of the cell.
#[derive(Debug, Clone)]
pub(crate) struct ReadPlan {
    /// Header names accepted, preferred first.
    pub(crate) headers: Vec<String>,
    /// Key to take from a list-of-one-dict cell.
    pub(crate) extract: Option<String>,
    /// The value is the first group's match.
    pub(crate) capture: Option<Regex>,
}

impl ReadPlan {
    /// Whether the cell is transformed (and so may be shared with other columns).
    pub(crate) fn transforms(&self) -> bool {
        self.extract.is_some() || self.capture.is_some()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct DerivePlan {
    pub(crate) date_col: usize,
    pub(crate) hour_col: usize,
    pub(crate) zone: Zone,
    pub(crate) edge: IntervalEdge,
}

/// One output column, compiled.
#[derive(Debug, Clone)]
pub(crate) struct ColumnPlan {
    pub(crate) name: String,
    pub(crate) kind: ColumnType,
    pub(crate) nullable: bool,
    pub(crate) headers: Vec<String>,
    /// Ways to read the column, tried in order (one for a plain column; empty unless `source` is Field).
    pub(crate) readers: Vec<ReadPlan>,
    pub(crate) position: Option<usize>,
    pub(crate) formats: Vec<TimeFormat>,
    pub(crate) zone: Zone,
    pub(crate) ambiguous: Ambiguous,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    pub(crate) allowed: Vec<String>,
    pub(crate) pattern: Option<Regex>,
    pub(crate) source: ColumnSource,
}

/// How a row's partition day is found.
#[derive(Debug, Clone)]
pub(crate) struct PartitionPlan {
    pub(crate) column: usize,
    pub(crate) zone: Zone,
}

/// Expected rows per local day.
#[derive(Debug, Clone)]
pub struct Completeness {
    interval_micros: i64,
    per: Vec<String>,
    keys: Option<u64>,
    zone: Zone,
}

impl Completeness {
    /// Intervals in the local day `day` (days since epoch): 23, 24 or 25 hours' worth.
    pub fn intervals(&self, day: i32) -> u64 {
        u64::try_from(self.zone.day_length(day) / self.interval_micros).unwrap_or(0)
    }

    /// Columns whose distinct combinations each expect a full day.
    pub fn per_columns(&self) -> &[String] {
        &self.per
    }

    /// Expected rows for `day`, given the distinct `per` combinations seen that day (used when the schema
    /// configures no fixed count).
    pub fn expected_rows(&self, day: i32, distinct_seen: u64) -> u64 {
        self.intervals(day) * self.keys.unwrap_or(distinct_seen)
    }
}

/// The unpivot, compiled.
#[derive(Debug, Clone)]
pub(crate) struct UnpivotPlan {
    pub(crate) prefix: String,
    pub(crate) suffix: String,
    pub(crate) from: u32,
    pub(crate) to: u32,
    pub(crate) index_col: usize,
    pub(crate) value_col: usize,
}

impl UnpivotPlan {
    /// The `n` a header names, if it is one of the value columns.
    pub(crate) fn match_header(&self, h: &str) -> Option<u32> {
        let n: u32 = h
            .strip_prefix(&self.prefix)?
            .strip_suffix(&self.suffix)?
            .trim()
            .parse()
            .ok()?;
        (self.from..=self.to).contains(&n).then_some(n)
    }
}

/// A dataset ready for conversion: its schema file, checked and compiled.
#[derive(Debug, Clone)]
pub struct Dataset {
    def: DatasetSchema,
    arrow: SchemaRef,
    pub(crate) columns: Vec<ColumnPlan>,
    pub(crate) key: Vec<usize>,
    pub(crate) precedence: Option<(usize, Vec<String>)>,
    pub(crate) partition: PartitionPlan,
    pub(crate) unpivot: Option<UnpivotPlan>,
    pub(crate) null_values: Vec<Vec<u8>>,
    /// `csv.preamble_values`: (physical line, context name).
    pub(crate) preamble_values: Vec<(u64, String)>,
    /// `context.file_name`, compiled.
    pub(crate) file_name_context: Option<Regex>,
    /// `csv.footer_pattern`, compiled.
    pub(crate) footer: Option<Regex>,
    completeness: Option<Completeness>,
}

impl Dataset {
    /// Parses and checks one schema TOML. `origin` names it in errors (file path or `built-in`).
    pub fn from_toml(origin: &str, text: &str) -> Result<Dataset, SchemaError> {
        let def: DatasetSchema = toml::from_str(text).map_err(|e| SchemaError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        Dataset::compile(origin, def)
    }

    /// Checks and compiles a parsed schema.
    pub fn compile(origin: &str, def: DatasetSchema) -> Result<Dataset, SchemaError> {
        let invalid = |message: String| SchemaError::Invalid {
            origin: origin.to_string(),
            dataset: def.name.clone(),
            message,
        };
        if def.name.is_empty()
            || !def
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(invalid(
                "the dataset name must be lower snake_case (it becomes a folder and a SQL table)"
                    .into(),
            ));
        }
        let index: HashMap<&str, usize> = def
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        if index.len() != def.columns.len() {
            return Err(invalid(
                "two columns share a name; output names must be unique".into(),
            ));
        }
        if index.contains_key("date") {
            return Err(invalid("`date` is the partition column of the lake path and cannot be a file column; rename it".into()));
        }
        let find = |name: &str, what: &str| {
            index.get(name).copied().ok_or_else(|| {
                invalid(format!(
                    "{what} names column `{name}`, which the schema does not declare"
                ))
            })
        };
        let unpivot = match &def.unpivot {
            None => None,
            Some(u) => {
                let (prefix, suffix) = u.pattern.split_once("{n}").ok_or_else(|| {
                    invalid(format!(
                        "unpivot pattern `{}` must contain `{{n}}`",
                        u.pattern
                    ))
                })?;
                if u.from > u.to {
                    return Err(invalid("unpivot `from` must not exceed `to`".into()));
                }
                Some(UnpivotPlan {
                    prefix: prefix.to_string(),
                    suffix: suffix.to_string(),
                    from: u.from,
                    to: u.to,
                    index_col: find(&u.index_column, "unpivot.index_column")?,
                    value_col: find(&u.value_column, "unpivot.value_column")?,
                })
            }
        };
        let mut columns = Vec::with_capacity(def.columns.len());
        for (i, c) in def.columns.iter().enumerate() {
            columns.push(compile_column(c, i, unpivot.as_ref(), &find).map_err(&invalid)?);
        }
        if def.key.columns.is_empty() {
            return Err(invalid("key.columns is empty; every dataset needs a key so that re-imports replace rows instead of duplicating them".into()));
        }
        let key = def
            .key
            .columns
            .iter()
            .map(|k| find(k, "key.columns"))
            .collect::<Result<Vec<_>, _>>()?;
        for &k in &key {
            if columns[k].nullable {
                return Err(invalid(format!(
                    "key column `{}` must not be nullable",
                    columns[k].name
                )));
            }
        }
        let precedence = match &def.key.precedence {
            None => None,
            Some(p) => {
                let col = find(&p.column, "key.precedence.column")?;
                if columns[col].kind != ColumnType::Utf8 {
                    return Err(invalid(
                        "key.precedence.column must be a utf8 column".into(),
                    ));
                }
                Some((col, p.order.clone()))
            }
        };
        let part_col = find(&def.partition.column, "partition.column")?;
        if !matches!(
            columns[part_col].kind,
            ColumnType::Date | ColumnType::Timestamp
        ) || columns[part_col].nullable
        {
            return Err(invalid(
                "partition.column must be a non-nullable date or timestamp column".into(),
            ));
        }
        let part_zone = Zone::parse(&def.partition.zone).ok_or_else(|| {
            invalid(format!(
                "partition.zone `{}` is not UTC, an offset like -05:00, or an IANA zone name",
                def.partition.zone
            ))
        })?;
        let completeness = match &def.completeness {
            None => None,
            Some(c) => {
                let interval_micros = parse_interval(&c.interval).ok_or_else(|| {
                    invalid(format!(
                        "completeness.interval `{}` must look like 5s, 5m, 1h or 1d",
                        c.interval
                    ))
                })?;
                for p in &c.per {
                    find(p, "completeness.per")?;
                }
                Some(Completeness {
                    interval_micros,
                    per: c.per.clone(),
                    keys: c.keys,
                    zone: part_zone,
                })
            }
        };
        for c in &columns {
            if !matches!(c.source, ColumnSource::Field) {
                continue;
            }
            let single = c.readers.len() == 1;
            let named = c.readers.iter().all(|r| !r.headers.is_empty());
            let problem = match def.csv.header {
                HeaderMode::Yes if !named || c.readers.is_empty() => {
                    Some("needs `source` (its header name) because the file has a header")
                }
                HeaderMode::No if !single || c.position.is_none() => Some(
                    "needs `position` (and no `coalesce`) because csv.header = false binds by position",
                ),
                HeaderMode::Auto if !single || !named || c.position.is_none() => Some(
                    "needs both `source` and `position` (and no `coalesce`) because csv.header = \"auto\" binds by name or by position",
                ),
                _ => None,
            };
            if let Some(p) = problem {
                return Err(invalid(format!("column `{}` {p}", c.name)));
            }
        }
        let mut preamble_values = Vec::new();
        for p in &def.csv.preamble_values {
            if p.line == 0 || p.line > def.csv.preamble_lines {
                return Err(invalid(format!(
                    "csv.preamble_values `{}` names line {}, which is not a preamble line (1..={})",
                    p.name, p.line, def.csv.preamble_lines
                )));
            }
            preamble_values.push((u64::from(p.line), p.name.clone()));
        }
        let footer = match &def.csv.footer_pattern {
            None => None,
            Some(p) => {
                Some(Regex::new(p).map_err(|e| invalid(format!("csv.footer_pattern: {e}")))?)
            }
        };
        let file_name_context = match def.context.as_ref().and_then(|c| c.file_name.as_ref()) {
            None => None,
            Some(p) => Some(Regex::new(p).map_err(|e| invalid(format!("context.file_name: {e}")))?),
        };
        if !def.csv.delimiter.is_ascii() {
            return Err(invalid("csv.delimiter must be one ASCII character".into()));
        }
        let arrow = Arc::new(Schema::new(
            def.columns.iter().map(arrow_field).collect::<Vec<_>>(),
        ));
        let null_values = def
            .csv
            .null_values
            .iter()
            .map(|s| s.trim().as_bytes().to_vec())
            .collect();
        Ok(Dataset {
            arrow,
            columns,
            key,
            precedence,
            partition: PartitionPlan {
                column: part_col,
                zone: part_zone,
            },
            unpivot,
            null_values,
            preamble_values,
            file_name_context,
            footer,
            completeness,
            def,
        })
    }

    /// Dataset name.
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// Schema version.
    pub fn version(&self) -> u32 {
        self.def.version
    }

    /// The schema as written.
    pub fn definition(&self) -> &DatasetSchema {
        &self.def
    }

    /// Arrow schema of the partition files (no `date` column: it lives in the path).
    pub fn arrow_schema(&self) -> &SchemaRef {
        &self.arrow
    }

    /// Output names of the key columns.
    pub fn key_columns(&self) -> Vec<&str> {
        self.key
            .iter()
            .map(|&i| self.columns[i].name.as_str())
            .collect()
    }

    /// The completeness rule, if the dataset has one.
    pub fn completeness(&self) -> Option<&Completeness> {
        self.completeness.as_ref()
    }

    /// The zone of the operating day.
    pub fn partition_zone(&self) -> Zone {
        self.partition.zone
    }
}

fn parse_interval(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
    let secs = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(n * secs * MICROS_PER_SEC)
}

fn compile_column(
    c: &ColumnDef,
    i: usize,
    unpivot: Option<&UnpivotPlan>,
    find: &dyn Fn(&str, &str) -> Result<usize, SchemaError>,
) -> Result<ColumnPlan, String> {
    let name = &c.name;
    let reads_a_field = c.source.is_some()
        || !c.aliases.is_empty()
        || c.position.is_some()
        || c.extract.is_some()
        || c.capture.is_some();
    if !c.coalesce.is_empty() && reads_a_field {
        return Err(format!(
            "column `{name}`: with `coalesce`, put source/aliases/extract/capture inside its entries"
        ));
    }
    let source = if let Some(ctx) = &c.context {
        if reads_a_field || !c.coalesce.is_empty() || c.derive.is_some() {
            return Err(format!(
                "column `{name}`: a `context` column reads no field; remove source/position/extract/capture/coalesce/derive"
            ));
        }
        ColumnSource::Context(ctx.clone())
    } else if unpivot.is_some_and(|u| u.index_col == i) {
        ColumnSource::UnpivotIndex
    } else if unpivot.is_some_and(|u| u.value_col == i) {
        ColumnSource::UnpivotValue
    } else if let Some(d) = &c.derive {
        if c.kind != ColumnType::Timestamp {
            return Err(format!(
                "column `{name}`: derive produces a timestamp; set type = \"timestamp\""
            ));
        }
        let zone = Zone::parse(&d.zone)
            .ok_or_else(|| format!("column `{name}`: derive.zone `{}` is not a zone", d.zone))?;
        let date_col = find(&d.date_column, "derive.date_column").map_err(|e| e.to_string())?;
        let hour_col =
            find(&d.hour_ending_column, "derive.hour_ending_column").map_err(|e| e.to_string())?;
        ColumnSource::Derived(DerivePlan {
            date_col,
            hour_col,
            zone,
            edge: d.edge,
        })
    } else {
        ColumnSource::Field
    };
    let mut formats = Vec::new();
    for f in &c.format {
        formats.push(TimeFormat::compile(f).map_err(|e| format!("column `{name}`: {e}"))?);
    }
    if matches!(
        source,
        ColumnSource::Field | ColumnSource::UnpivotValue | ColumnSource::Context(_)
    ) {
        match c.kind {
            ColumnType::Timestamp if formats.is_empty() => {
                return Err(format!(
                    "column `{name}`: a timestamp column needs `format` (e.g. \"%Y-%m-%dT%H:%M:%S%:z\")"
                ));
            }
            ColumnType::Date if formats.is_empty() => {
                formats.push(TimeFormat::compile("%Y-%m-%d").map_err(|e| e.to_string())?)
            }
            _ => {}
        }
    }
    let zone = match &c.zone {
        None => Zone::Utc,
        Some(z) => Zone::parse(z).ok_or_else(|| {
            format!("column `{name}`: zone `{z}` is not UTC, an offset or an IANA name")
        })?,
    };
    let pattern = match &c.pattern {
        None => None,
        Some(p) => Some(
            Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| format!("column `{name}`: pattern: {e}"))?,
        ),
    };
    let compile_capture = |p: &Option<String>| -> Result<Option<Regex>, String> {
        let Some(p) = p else { return Ok(None) };
        let re = Regex::new(p).map_err(|e| format!("column `{name}`: capture: {e}"))?;
        if re.captures_len() < 2 {
            return Err(format!(
                "column `{name}`: capture `{p}` needs a group `( )` around the part to keep"
            ));
        }
        Ok(Some(re))
    };
    let mut readers = Vec::new();
    if matches!(source, ColumnSource::Field) {
        if c.coalesce.is_empty() {
            let mut headers: Vec<String> = c.source.iter().cloned().collect();
            headers.extend(c.aliases.iter().cloned());
            readers.push(ReadPlan {
                headers,
                extract: c.extract.clone(),
                capture: compile_capture(&c.capture)?,
            });
        } else {
            for r in &c.coalesce {
                let mut headers = vec![r.source.clone()];
                headers.extend(r.aliases.iter().cloned());
                readers.push(ReadPlan {
                    headers,
                    extract: r.extract.clone(),
                    capture: compile_capture(&r.capture)?,
                });
            }
        }
    } else if reads_a_field && c.context.is_none() {
        return Err(format!(
            "column `{name}` is computed (unpivot or derive); remove source/position/extract/capture"
        ));
    }
    let headers = readers
        .first()
        .map(|r| r.headers.clone())
        .unwrap_or_default();
    Ok(ColumnPlan {
        name: name.clone(),
        kind: c.kind,
        nullable: c.nullable,
        headers,
        readers,
        position: c.position,
        formats,
        zone,
        ambiguous: c.ambiguous,
        min: c.min,
        max: c.max,
        allowed: c.allowed.clone(),
        pattern,
        source,
    })
}

/// The Arrow type a column type is stored as.
pub fn arrow_type(kind: ColumnType) -> DataType {
    match kind {
        ColumnType::Utf8 => DataType::Utf8,
        ColumnType::Int16 => DataType::Int16,
        ColumnType::Int32 => DataType::Int32,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Date => DataType::Date32,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    }
}

fn arrow_field(c: &ColumnDef) -> Field {
    let mut meta = std::collections::HashMap::new();
    if let Some(u) = &c.unit {
        meta.insert("unit".to_string(), u.clone());
    }
    if let Some(d) = &c.doc {
        meta.insert("doc".to_string(), d.clone());
    }
    Field::new(&c.name, arrow_type(c.kind), c.nullable).with_metadata(meta)
}

/// The schema files compiled into the binary: (file name, text).
const BUILTIN: &[(&str, &str)] = &[
    (
        "caiso_lmp_dam.toml",
        include_str!("../../../schemas/caiso_lmp_dam.toml"),
    ),
    (
        "binance_klines.toml",
        include_str!("../../../schemas/binance_klines.toml"),
    ),
    (
        "caiso_lmp_rtm.toml",
        include_str!("../../../schemas/caiso_lmp_rtm.toml"),
    ),
    (
        "caiso_load_forecast.toml",
        include_str!("../../../schemas/caiso_load_forecast.toml"),
    ),
    (
        "miso_lmp_da_exante.toml",
        include_str!("../../../schemas/miso_lmp_da_exante.toml"),
    ),
    (
        "nyiso_lbmp_dam_zonal.toml",
        include_str!("../../../schemas/nyiso_lbmp_dam_zonal.toml"),
    ),
    (
        "nyiso_lbmp_rt_zonal.toml",
        include_str!("../../../schemas/nyiso_lbmp_rt_zonal.toml"),
    ),
    (
        "reach_dosimeter.toml",
        include_str!("../../../schemas/reach_dosimeter.toml"),
    ),
];

/// All datasets gridlake knows: the built-in schemas, plus or overridden by a user's `schema_dir`.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    datasets: BTreeMap<String, Arc<Dataset>>,
}

impl Catalog {
    /// The schemas compiled into the binary.
    pub fn builtin() -> Result<Catalog, SchemaError> {
        let mut catalog = Catalog::default();
        for (file, text) in BUILTIN {
            catalog.insert(Dataset::from_toml(
                &format!("built-in schemas/{file}"),
                text,
            )?);
        }
        Ok(catalog)
    }

    /// File names of the built-in schemas (a test checks they match `schemas/`).
    pub fn builtin_files() -> Vec<&'static str> {
        BUILTIN.iter().map(|(f, _)| *f).collect()
    }

    /// Adds every `*.toml` in `dir`, replacing built-ins of the same name.
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), SchemaError> {
        let read = |path: &Path, source| SchemaError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| read(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| read(&path, e))?;
            self.insert(Dataset::from_toml(&path.display().to_string(), &text)?);
        }
        Ok(())
    }

    /// Adds or replaces one dataset.
    pub fn insert(&mut self, dataset: Dataset) {
        self.datasets
            .insert(dataset.name().to_string(), Arc::new(dataset));
    }

    /// Looks a dataset up by name.
    pub fn get(&self, name: &str) -> Result<Arc<Dataset>, SchemaError> {
        self.datasets
            .get(name)
            .cloned()
            .ok_or_else(|| SchemaError::UnknownDataset {
                name: name.to_string(),
                known: self.datasets.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// Every dataset, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Dataset>> {
        self.datasets.values()
    }
}
