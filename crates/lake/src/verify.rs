//! `gridlake verify`: the lake's promises (ARCHITECTURE §2, the invariants) checked from the files alone,
//! without any outside reader: table roots hold only `date=` folders, each with exactly one non-empty
//! `part-0.parquet`; no in-flight or stray file sits where a reader would pick it up; every file's instants are
//! INT64 microseconds in UTC, `date` lives only in the path, one schema holds across a dataset's files and
//! matches the catalog's; the footer's row count is the file's; and the ledger agrees with the files.

use std::collections::{BTreeMap, HashMap};

use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use futures::TryStreamExt;
use gridlake_schema::Catalog;
use object_store::ObjectMeta;
use object_store::path::Path;
use serde::Serialize;

use crate::layout::PART_FILE;
use crate::{DayState, FooterMeta, Lake, LakeError};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Violation {
    /// The table folder it was found in.
    pub dataset: String,
    /// The object (or folder) at fault, relative to the lake.
    pub path: String,
    /// Which rule: `stray-file`, `in-flight-file`, `zero-byte-file`, `partition-folder`, `timestamp-unit`,
    /// `date-in-file`, `schema`, `schema-drift`, `footer`, `ledger-file-missing`, `ledger-rows`,
    /// `unknown-dataset`.
    pub rule: &'static str,
    /// What is wrong and what to do.
    pub detail: String,
}

impl Lake {
    /// Checks every table folder of the lake (or only `only`) against the rules; an empty list means the lake
    /// keeps every promise. Reads one LIST per table, one footer per file and the ledger.
    pub async fn verify(
        &self,
        catalog: &Catalog,
        only: Option<&str>,
    ) -> Result<Vec<Violation>, LakeError> {
        let root_listing = self
            .store()
            .list_with_delimiter(Some(&self.path("")))
            .await
            .map_err(|e| self.err("list", &self.path(""), e))?;
        let mut tables: Vec<String> = root_listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.parts().next_back().map(|s| s.as_ref().to_string()))
            .filter(|name| !name.starts_with('_') && !name.starts_with('.'))
            .collect();
        if let Some(only) = only {
            tables.retain(|t| t == only);
        }
        tables.sort();
        let mut out = Vec::new();
        for table in tables {
            out.extend(self.verify_table(catalog, &table).await?);
        }
        out.sort();
        Ok(out)
    }

    async fn verify_table(
        &self,
        catalog: &Catalog,
        table: &str,
    ) -> Result<Vec<Violation>, LakeError> {
        let prefix = self.table_path(table);
        let metas: Vec<ObjectMeta> = self
            .store()
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| self.err("list", &prefix, e))?;
        let mut out = Vec::new();
        let v = |path: &str, rule: &'static str, detail: String| Violation {
            dataset: table.to_string(),
            path: path.to_string(),
            rule,
            detail,
        };
        let expected = match catalog.get(table) {
            Ok(ds) => Some(ds.arrow_schema().clone()),
            Err(_) => {
                out.push(v(
                    table,
                    "unknown-dataset",
                    "no schema of this name is known; add it to schema_dir, or move the folder out of the lake".into(),
                ));
                None
            }
        };
        let root_depth = prefix.parts().count();
        let mut files: BTreeMap<i32, Path> = BTreeMap::new();
        for m in &metas {
            let rel: Vec<String> = m
                .location
                .parts()
                .skip(root_depth)
                .map(|p| p.as_ref().to_string())
                .collect();
            let shown = format!("{table}/{}", rel.join("/"));
            let name = rel.last().map(String::as_str).unwrap_or("");
            // Names a writer uses while a file is in flight (`.x`, `x.tmp`, `_x.parquet`); anything else is stray.
            let in_flight = name.starts_with('.')
                || name.ends_with(".tmp")
                || name.contains(".staged")
                || (name.starts_with('_') && name.ends_with(".parquet"));
            if m.size == 0 {
                out.push(v(
                    &shown,
                    "zero-byte-file",
                    "an empty file in a table folder breaks readers; delete it".into(),
                ));
            }
            let day = match rel.as_slice() {
                [folder, _] => folder
                    .strip_prefix("date=")
                    .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .map(gridlake_schema::date_to_day),
                _ => None,
            };
            match (rel.len(), day) {
                (2, Some(day)) if name == PART_FILE => {
                    files.insert(day, m.location.clone());
                }
                (2, Some(_)) => out.push(v(
                    &shown,
                    if in_flight { "in-flight-file" } else { "stray-file" },
                    format!("a partition folder holds only `{PART_FILE}`; readers would pick this file up too: delete it (gridlake never writes it)"),
                )),
                (2, None) => out.push(v(
                    &shown,
                    "partition-folder",
                    "table folders hold only `date=YYYY-MM-DD` folders; move this one out".into(),
                )),
                _ => out.push(v(
                    &shown,
                    if in_flight { "in-flight-file" } else { "stray-file" },
                    "a table root holds only `date=` folders (a marker such as _SUCCESS breaks DataFusion listing); delete it".into(),
                )),
            }
        }
        let mut first_schema: Option<(String, SchemaRef)> = None;
        let mut rows_of: HashMap<i32, u64> = HashMap::new();
        for (day, path) in &files {
            let shown = path.to_string();
            let Some(meta) = self.read_parquet_metadata(path).await? else {
                continue;
            };
            let fm = meta.file_metadata();
            let schema = match parquet::arrow::parquet_to_arrow_schema(
                fm.schema_descr(),
                fm.key_value_metadata(),
            ) {
                Ok(s) => std::sync::Arc::new(s),
                Err(e) => {
                    out.push(v(
                        &shown,
                        "schema",
                        format!("the Parquet schema cannot be read as Arrow ({e})"),
                    ));
                    continue;
                }
            };
            for f in schema.fields() {
                if let DataType::Timestamp(unit, tz) = f.data_type()
                    && (*unit != TimeUnit::Microsecond || tz.as_deref() != Some("UTC"))
                {
                    out.push(v(
                        &shown,
                        "timestamp-unit",
                        format!("column `{}` is {:?}; instants must be microseconds in UTC (Spark rejects others): re-import the day", f.name(), f.data_type()),
                    ));
                }
            }
            if schema.field_with_name("date").is_ok() {
                out.push(v(
                    &shown,
                    "date-in-file",
                    "`date` must live only in the path; re-import the day".into(),
                ));
            }
            if let Some(expected) = &expected
                && !same_fields(expected, &schema)
            {
                out.push(v(&shown, "schema", "the file's columns differ from the dataset's schema; re-import the day with this gridlake".into()));
            }
            match &first_schema {
                None => first_schema = Some((shown.clone(), schema)),
                Some((first, s)) if !same_fields(s, &schema) => out.push(v(
                    &shown,
                    "schema-drift",
                    format!("a column's name or type differs from {first}; one dataset keeps one schema across its files"),
                )),
                Some(_) => {}
            }
            let rows = u64::try_from(fm.num_rows()).unwrap_or(0);
            rows_of.insert(*day, rows);
            match FooterMeta::from_key_values(fm.key_value_metadata()) {
                Some(f) if f.rows == rows => {}
                Some(f) => out.push(v(
                    &shown,
                    "footer",
                    format!("the footer says {} rows but the file holds {rows}", f.rows),
                )),
                None => out.push(v(
                    &shown,
                    "footer",
                    "no gridlake footer: the file was not written by gridlake; delete it and re-import the day".into(),
                )),
            }
        }
        // The ledger against the files: a committed attempt's file must be there, with the rows it recorded,
        // unless a later commit replaced it.
        let records = self.ledger().records(Some(table)).await?;
        let mut latest_commit: BTreeMap<i32, (u64, String)> = BTreeMap::new();
        for r in records
            .iter()
            .filter(|r| matches!(r.state, DayState::Complete | DayState::Incomplete))
        {
            latest_commit.insert(r.day, (r.rows, r.run_id.clone()));
        }
        for (day, (rows, run)) in latest_commit {
            let shown = self.partition_path(table, day).to_string();
            match rows_of.get(&day) {
                None if !files.contains_key(&day) => out.push(v(
                    &shown,
                    "ledger-file-missing",
                    format!("run {run} committed this day but its file is gone; run `gridlake backfill {table} --force` over the day to restore it"),
                )),
                Some(actual) if *actual != rows => out.push(v(
                    &shown,
                    "ledger-rows",
                    format!("run {run} recorded {rows} rows but the file holds {actual}"),
                )),
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Same column names and types, in order (metadata aside).
fn same_fields(a: &SchemaRef, b: &SchemaRef) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(x, y)| x.name() == y.name() && x.data_type() == y.data_type())
}
