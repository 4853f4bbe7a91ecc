//! [`LakeSession`]: a DataFusion `SessionContext` with the lake already registered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::logical_expr::{cast, col, ident, lit, when};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;
use gridlake_lake::Lake;
use gridlake_schema::Catalog;

use crate::error::Result;
use crate::tables::{GapsFunction, LedgerTable, LedgerView};

/// The URL under which the lake's object store is registered. DataFusion looks stores up by scheme and
/// host, so one private scheme maps every table of the lake to the lake's own store, whatever it is
/// (a local directory, S3, memory): the shell never builds a second store with other credentials.
const LAKE_URL: &str = "gridlake://lake/";

/// The reject store's null-day folder (`gridlake_lake` writes it; Hive's spelling of a null partition).
const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// What a registered table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// A dataset folder of the lake.
    Dataset,
    /// `ledger`, `ledger_log` or `rejects`.
    Lake,
}

/// One table of the session.
#[derive(Debug, Clone)]
pub struct TableInfo {
    /// Name to use in SQL.
    pub name: String,
    /// What it is.
    pub kind: TableKind,
    /// One line saying what it holds.
    pub description: String,
}

/// The result of one statement.
#[derive(Debug, Clone)]
pub struct QueryOutput {
    /// Result columns (empty for DDL such as `CREATE VIEW`).
    pub schema: SchemaRef,
    /// Result rows.
    pub batches: Vec<RecordBatch>,
    /// Time from plan to last batch.
    pub elapsed: Duration,
}

impl QueryOutput {
    /// Rows in the result.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// A SQL session over one lake.
pub struct LakeSession {
    ctx: SessionContext,
    lake: Lake,
    catalog: Catalog,
    /// Datasets first, in the order registered; a dataset folder that appears later is added by
    /// [`LakeSession::refresh`].
    tables: std::sync::Mutex<Vec<TableInfo>>,
}

// `SessionContext` has no `Debug`; the lake and the table names say what a session is.
impl std::fmt::Debug for LakeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeSession")
            .field("lake", &self.lake.location())
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

impl LakeSession {
    /// Registers every catalog dataset that has a folder in the lake, plus `ledger`, `ledger_log`,
    /// `rejects` and `gaps()`. One LIST of the lake root; no file is read until a query needs it.
    pub async fn open(lake: Lake, catalog: Catalog) -> Result<LakeSession> {
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema("gridlake", "lake");
        let ctx = SessionContext::new_with_config(config);
        let url = url::Url::parse(LAKE_URL).map_err(|e| {
            crate::ShellError::Usage(format!("internal: bad lake URL {LAKE_URL}: {e}"))
        })?;
        ctx.register_object_store(&url, Arc::clone(lake.store()));

        let mut tables = Vec::new();
        for name in dataset_folders(&lake).await? {
            if let Some(info) = register_dataset(&ctx, &lake, &catalog, name)? {
                tables.push(info);
            }
        }

        let datasets: Arc<Vec<String>> =
            Arc::new(catalog.iter().map(|d| d.name().to_string()).collect());
        ctx.register_table(
            "ledger_log",
            Arc::new(LedgerTable::new(lake.clone(), LedgerView::Log)),
        )?;
        ctx.register_table(
            "ledger",
            Arc::new(LedgerTable::new(
                lake.clone(),
                LedgerView::Current {
                    datasets: Arc::clone(&datasets),
                },
            )),
        )?;
        ctx.register_table("rejects", rejects_view(&ctx, &lake)?)?;
        ctx.register_udtf(
            "gaps",
            Arc::new(GapsFunction {
                lake: lake.clone(),
                datasets,
            }),
        );
        for (name, description) in [
            (
                "ledger",
                "current state of every day of every dataset (the rows of `gaps --all`)",
            ),
            ("ledger_log", "every run record, oldest first"),
            (
                "rejects",
                "rows refused at import, with line, column, value and reason",
            ),
        ] {
            tables.push(TableInfo {
                name: name.to_string(),
                kind: TableKind::Lake,
                description: description.to_string(),
            });
        }
        Ok(LakeSession {
            ctx,
            lake,
            catalog,
            tables: std::sync::Mutex::new(tables),
        })
    }

    /// Registers the dataset folders that appeared since the session opened (a first `sync` of a new
    /// dataset while the shell is open): one LIST of the lake's top level. [`LakeSession::execute`] calls it
    /// before each statement.
    pub async fn refresh(&self) -> Result<()> {
        let folders = dataset_folders(&self.lake).await?;
        let mut tables = self.tables.lock().map_err(|_| {
            crate::ShellError::Usage("internal: the table list lock is poisoned".into())
        })?;
        for name in folders {
            // Registered already, or a name the user gave a view of their own (`CREATE VIEW`): kept as is.
            if tables.iter().any(|t| t.name == name) || self.ctx.table_exist(name.as_str())? {
                continue;
            }
            if let Some(info) = register_dataset(&self.ctx, &self.lake, &self.catalog, name)? {
                // Datasets stay ahead of the lake tables, in name order.
                let at = tables
                    .iter()
                    .position(|t| t.kind != TableKind::Dataset || t.name > info.name)
                    .unwrap_or(tables.len());
                tables.insert(at, info);
            }
        }
        Ok(())
    }

    /// The DataFusion context (to register more, or to run DataFrame code).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The lake underneath.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// The catalog the tables were typed from.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The tables registered (at open and by [`LakeSession::refresh`]), datasets first.
    pub fn tables(&self) -> Vec<TableInfo> {
        self.tables.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Every table name the session resolves now (including views made with `CREATE VIEW`).
    pub fn table_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(cat) = self.ctx.catalog("gridlake")
            && let Some(schema) = cat.schema("lake")
        {
            names = schema.table_names();
        }
        names.sort();
        names
    }

    /// The schema of a table, if it exists.
    pub async fn table_schema(&self, name: &str) -> Result<Option<SchemaRef>> {
        if !self.ctx.table_exist(name)? {
            return Ok(None);
        }
        Ok(Some(self.ctx.table_provider(name).await?.schema()))
    }

    /// Runs one SQL statement and collects its result, over the lake as it is when the statement starts.
    pub async fn execute(&self, sql: &str) -> Result<QueryOutput> {
        let started = Instant::now();
        // DataFusion keeps each table's file listing for the session's whole life by default. A shell stays
        // open while `sync` commits new days, and the `ledger` table is computed afresh at each scan: without
        // this, a day could show as complete in `ledger` yet be absent from its dataset's table. Each statement
        // lists again (footers and statistics stay cached: those caches check each file's size and time).
        if let Some(listings) = self.ctx.runtime_env().cache_manager.get_list_files_cache() {
            listings.clear();
        }
        self.refresh().await?;
        let df = self.ctx.sql(sql).await?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        Ok(QueryOutput {
            schema,
            batches,
            elapsed: started.elapsed(),
        })
    }
}

/// Registers the dataset in folder `name` as a table, if the catalog describes it.
fn register_dataset(
    ctx: &SessionContext,
    lake: &Lake,
    catalog: &Catalog,
    name: String,
) -> Result<Option<TableInfo>> {
    let Ok(ds) = catalog.get(&name) else {
        // A folder no schema describes (a dataset from a `schema_dir` not loaded here, or not gridlake's):
        // registering it with an inferred schema could mistype it, so it is left out.
        return Ok(None);
    };
    let table = listing_table(
        lake,
        &name,
        scan_schema(ds.arrow_schema()),
        vec![("date".to_string(), DataType::Date32)],
    )?;
    ctx.register_table(name.as_str(), Arc::new(table))?;
    Ok(Some(TableInfo {
        description: ds.definition().description.clone(),
        name,
        kind: TableKind::Dataset,
    }))
}

/// The top-level folders of the lake other than `_gridlake` (and other `_`/`.` names readers skip).
async fn dataset_folders(lake: &Lake) -> Result<Vec<String>> {
    let root = lake.table_path("");
    let listing = lake
        .store()
        .list_with_delimiter(Some(&root))
        .await
        .map_err(|e| gridlake_lake::LakeError::Store {
            lake: lake.location().to_string(),
            op: "list",
            path: root.to_string(),
            source: Box::new(e),
        })?;
    let mut names: Vec<String> = listing
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().map(str::to_string))
        .filter(|n| !n.starts_with('_') && !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// The schema a dataset is scanned with: the lake's, with text read as `Utf8View`. The Parquet reader then
/// points into the decoded pages (dictionary pages included) instead of copying every value, and filters,
/// grouping and sorting on text compare the views' inline prefixes; DataFusion itself reads Parquet text as
/// views when it infers a schema (`schema_force_view_types`).
fn scan_schema(schema: &SchemaRef) -> SchemaRef {
    use arrow::datatypes::{Field, Schema};
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => {
                f.as_ref().clone().with_data_type(DataType::Utf8View)
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn table_url(lake: &Lake, rel: &str) -> Result<ListingTableUrl> {
    Ok(ListingTableUrl::parse(format!(
        "{LAKE_URL}{}/",
        lake.table_path(rel)
    ))?)
}

fn listing_table(
    lake: &Lake,
    rel: &str,
    schema: SchemaRef,
    partitions: Vec<(String, DataType)>,
) -> Result<ListingTable> {
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(partitions);
    let config = ListingTableConfig::new(table_url(lake, rel)?)
        .with_listing_options(options)
        .with_schema(schema);
    Ok(ListingTable::try_new(config)?)
}

/// `rejects`: the reject files with their `dataset` and `date` folders as columns. `date` is read as text
/// and cast here, because the store spells a reject without a day `__HIVE_DEFAULT_PARTITION__`, which
/// DataFusion would fail to parse as a date.
fn rejects_view(
    ctx: &SessionContext,
    lake: &Lake,
) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    use arrow::datatypes::{Field, Schema};
    let schema = Arc::new(Schema::new(vec![
        Field::new("input", DataType::Utf8, false),
        Field::new("input_sha256", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("column", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, false),
        Field::new("run_id", DataType::Utf8, false),
    ]));
    let files = listing_table(
        lake,
        "_gridlake/rejects",
        Arc::clone(&schema),
        vec![
            ("dataset".to_string(), DataType::Utf8),
            ("date".to_string(), DataType::Utf8),
        ],
    )?;
    let date = when(
        col("date").eq(lit(NULL_PARTITION)),
        lit(ScalarValue::Date32(None)),
    )
    .otherwise(cast(col("date"), DataType::Date32))?
    .alias("date");
    let mut exprs = vec![col("dataset"), date];
    exprs.extend(schema.fields().iter().map(|f| ident(f.name())));
    let df = ctx.read_table(Arc::new(files))?.select(exprs)?;
    Ok(df.into_view())
}
