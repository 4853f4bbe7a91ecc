//! The tables that are not plain Parquet folders: `ledger_log`, `ledger` and the `gaps()` table function.
//!
//! They are computed from [`gridlake_lake::Ledger`] at scan time rather than read from `_gridlake/ledger/`
//! directly: the ledger module owns how records are decoded and how a day's state is reconciled with the
//! files actually present (a file outranks a record), so `SELECT * FROM gaps(…)` cannot drift from
//! `gridlake gaps --json`. Each scan reads the ledger afresh, so a REPL sees what an import wrote a moment ago.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, ListBuilder, RecordBatch, StringArray,
    StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use async_trait::async_trait;
use datafusion::catalog::{MemTable, Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{ScalarValue, plan_err};
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use gridlake_lake::{DayStatus, Lake, LedgerRecord};
use gridlake_schema::date_to_day;

/// The columns of `gaps()` and `ledger`: those of `gridlake gaps --json`, with `day` typed as a date.
pub(crate) fn status_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("dataset", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("state", DataType::Utf8, false),
        Field::new("expected_rows", DataType::Int64, true),
        Field::new("written_rows", DataType::Int64, false),
        Field::new("availability_pct", DataType::Float64, true),
        Field::new("attempts", DataType::Int64, false),
        Field::new("last_error", DataType::Utf8, true),
    ]))
}

/// The columns of `ledger_log`: one row per run record.
pub(crate) fn log_schema() -> SchemaRef {
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
        Field::new(
            "inputs",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        Field::new("error", DataType::Utf8, true),
        Field::new(
            "recorded_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("duration_ms", DataType::Int64, false),
    ]))
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn external(e: impl std::error::Error + Send + Sync + 'static) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// Day statuses as a batch of [`status_schema`].
pub(crate) fn status_batch(rows: &[DayStatus]) -> Result<RecordBatch, DataFusionError> {
    let day = |s: &DayStatus| {
        chrono::NaiveDate::parse_from_str(&s.day, "%Y-%m-%d")
            .map(date_to_day)
            .map_err(external)
    };
    let days = rows.iter().map(day).collect::<Result<Vec<i32>, _>>()?;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.dataset.as_str()),
        )),
        Arc::new(Date32Array::from(days)),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.state.as_str()),
        )),
        Arc::new(Int64Array::from_iter(
            rows.iter().map(|r| r.expected_rows.map(i64_of)),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| i64_of(r.written_rows)),
        )),
        Arc::new(Float64Array::from_iter(
            rows.iter().map(|r| r.availability_pct),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| i64::from(r.attempts)),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.last_error.as_deref()),
        )),
    ];
    Ok(RecordBatch::try_new(status_schema(), cols)?)
}

fn log_batch(records: &[LedgerRecord]) -> Result<RecordBatch, DataFusionError> {
    let s = |f: fn(&LedgerRecord) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(records.iter().map(f)))
    };
    let n = |f: fn(&LedgerRecord) -> u64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| i64_of(f(r))),
        ))
    };
    let mut inputs = ListBuilder::new(StringBuilder::new());
    for r in records {
        for i in &r.inputs {
            inputs.values().append_value(i);
        }
        inputs.append(true);
    }
    let cols: Vec<ArrayRef> = vec![
        s(|r| &r.run_id),
        s(|r| &r.dataset),
        Arc::new(Date32Array::from_iter_values(records.iter().map(|r| r.day))),
        s(|r| r.state.as_str()),
        n(|r| r.rows),
        Arc::new(Int64Array::from_iter(
            records.iter().map(|r| r.expected_rows.map(i64_of)),
        )),
        n(|r| r.records_read),
        n(|r| r.records_written),
        n(|r| r.records_rejected),
        n(|r| r.records_superseded),
        n(|r| r.bytes),
        Arc::new(inputs.finish()),
        Arc::new(StringArray::from_iter(
            records.iter().map(|r| r.error.as_deref()),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(records.iter().map(|r| r.recorded_at))
                .with_timezone("UTC"),
        ),
        n(|r| r.duration_ms),
    ];
    Ok(RecordBatch::try_new(log_schema(), cols)?)
}

/// The first and last day a dataset has anything for (a file in `files` or a record), if any.
fn day_range(dataset: &str, files: &[(i32, u64)], records: &[LedgerRecord]) -> Option<(i32, i32)> {
    let days = files.iter().map(|(d, _)| *d).chain(
        records
            .iter()
            .filter(|r| r.dataset == dataset)
            .map(|r| r.day),
    );
    days.fold(None, |acc, d| match acc {
        None => Some((d, d)),
        Some((lo, hi)) => Some((lo.min(d), hi.max(d))),
    })
}

/// Every day of every dataset's history (first to last day it has a file or a record), with its state:
/// what `ledger` holds and what `gridlake status` draws.
pub async fn current_state(
    lake: &Lake,
    datasets: &[String],
) -> Result<Vec<DayStatus>, gridlake_lake::LakeError> {
    let ledger = lake.ledger();
    let records = ledger.records(None).await?;
    // Datasets the catalog no longer knows still have a history worth showing.
    let names: BTreeSet<&str> = datasets
        .iter()
        .map(String::as_str)
        .chain(records.iter().map(|r| r.dataset.as_str()))
        .collect();
    // One read of the records and one listing per dataset serve both the history's range and the states.
    // The listings run together: on a local lake each is a directory walk, on S3 a round trip or more.
    let listings =
        futures::future::try_join_all(names.iter().map(|name| lake.partition_days(name))).await?;
    let mut out = Vec::new();
    for (name, files) in names.into_iter().zip(listings) {
        if let Some((lo, hi)) = day_range(name, &files, &records) {
            out.extend(
                ledger
                    .day_statuses_from(name, lo, hi, &records, &files)
                    .await?,
            );
        }
    }
    Ok(out)
}

/// What a [`LedgerTable`] computes when scanned.
#[derive(Debug, Clone)]
pub(crate) enum LedgerView {
    /// `ledger_log`: every run record.
    Log,
    /// `ledger`: the current state of every day of every dataset's history.
    Current {
        /// Catalog datasets (their history is looked for even without records).
        datasets: Arc<Vec<String>>,
    },
    /// `gaps(dataset, start, end)`: the gap days of one dataset over a range (`None`: its history).
    Gaps {
        dataset: String,
        range: Option<(i32, i32)>,
    },
}

/// A table computed from the ledger at scan time.
#[derive(Debug)]
pub(crate) struct LedgerTable {
    lake: Lake,
    view: LedgerView,
}

impl LedgerTable {
    pub(crate) fn new(lake: Lake, view: LedgerView) -> LedgerTable {
        LedgerTable { lake, view }
    }

    async fn batch(&self) -> Result<RecordBatch, DataFusionError> {
        match &self.view {
            LedgerView::Log => {
                let records = self.lake.ledger().records(None).await.map_err(external)?;
                log_batch(&records)
            }
            LedgerView::Current { datasets } => {
                let rows = current_state(&self.lake, datasets)
                    .await
                    .map_err(external)?;
                status_batch(&rows)
            }
            LedgerView::Gaps { dataset, range } => {
                // One read of the records and one listing serve the default range and the states.
                let ledger = self.lake.ledger();
                let records = ledger.records(Some(dataset)).await.map_err(external)?;
                let files = self.lake.partition_days(dataset).await.map_err(external)?;
                let range = range.or_else(|| day_range(dataset, &files, &records));
                let rows = match range {
                    Some((lo, hi)) if lo <= hi => ledger
                        .day_statuses_from(dataset, lo, hi, &records, &files)
                        .await
                        .map_err(external)?,
                    _ => Vec::new(),
                };
                let gaps: Vec<DayStatus> = rows.into_iter().filter(|r| r.state.is_gap()).collect();
                status_batch(&gaps)
            }
        }
    }
}

#[async_trait]
impl TableProvider for LedgerTable {
    fn schema(&self) -> SchemaRef {
        match self.view {
            LedgerView::Log => log_schema(),
            LedgerView::Current { .. } | LedgerView::Gaps { .. } => status_schema(),
        }
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>, DataFusionError> {
        let batch = self.batch().await?;
        let mem = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        mem.scan(state, projection, filters, limit).await
    }
}

/// `gaps(dataset [, start, end])`: the same rows as `gridlake gaps DATASET --start S --end E --json`. Without
/// a range it covers the dataset's history in the lake (the CLI's default end, today minus the source's
/// publication lag, needs the source registry, which the shell does not load).
#[derive(Debug)]
pub(crate) struct GapsFunction {
    pub(crate) lake: Lake,
    pub(crate) datasets: Arc<Vec<String>>,
}

/// A constant argument: a string, or a date (`DATE '2024-01-01'` reaches us as a cast of a string).
fn literal_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            _,
        ) => Some(s.clone()),
        Expr::Literal(ScalarValue::Date32(Some(d)), _) => Some(gridlake_schema::day_to_string(*d)),
        Expr::Cast(c) => literal_text(&c.expr),
        Expr::TryCast(c) => literal_text(&c.expr),
        _ => None,
    }
}

fn day_arg(expr: &Expr, what: &str) -> Result<i32, DataFusionError> {
    let Some(text) = literal_text(expr) else {
        return plan_err!("gaps(): {what} must be a date such as '2024-01-31', got {expr}");
    };
    match chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        Ok(d) => Ok(date_to_day(d)),
        Err(_) => plan_err!("gaps(): {what} `{text}` is not a date; use YYYY-MM-DD"),
    }
}

impl TableFunctionImpl for GapsFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> Result<Arc<dyn TableProvider>, DataFusionError> {
        let exprs = args.exprs();
        let usage =
            "gaps(dataset [, start, end]), e.g. gaps('caiso_lmp_dam', '2024-01-01', '2024-01-31')";
        let dataset = match exprs.first().and_then(literal_text) {
            Some(d) => d,
            None => return plan_err!("{usage}"),
        };
        if !self.datasets.contains(&dataset) {
            return plan_err!(
                "gaps(): unknown dataset `{dataset}`; known: {}",
                self.datasets.join(", ")
            );
        }
        let range = match exprs.len() {
            1 => None,
            3 => Some((day_arg(&exprs[1], "start")?, day_arg(&exprs[2], "end")?)),
            _ => return plan_err!("{usage}"),
        };
        Ok(Arc::new(LedgerTable::new(
            self.lake.clone(),
            LedgerView::Gaps { dataset, range },
        )))
    }
}
