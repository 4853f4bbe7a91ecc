//! [`Shell`]: runs SQL text and backslash commands against a [`LakeSession`], printing through a
//! [`Printer`]. The batch mode and the REPL both drive it; only the REPL owns a line editor.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::error::{Result, ShellError};
use crate::format::{OutputFormat, Printer};
use crate::queries;
use crate::script::split_statements;
use crate::session::{LakeSession, QueryOutput, TableKind};

/// What the caller does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next input.
    Continue,
    /// `\q`: stop.
    Quit,
}

/// The backslash commands, for `\?` and completion.
pub const COMMANDS: &[(&str, &str)] = &[
    ("\\d", "list tables"),
    ("\\d TABLE", "columns of a table"),
    (
        "\\datasets",
        "datasets the catalog knows, and whether the lake has them",
    ),
    (
        "\\gaps DATASET [START END]",
        "missing, failed and incomplete days (START/END as YYYY-MM-DD)",
    ),
    ("\\queries", "list canned queries"),
    ("\\run NAME", "run a canned query"),
    ("\\i FILE", "run the statements of a SQL file"),
    (
        "\\format [FMT]",
        "show or set the output format: table, csv, json, ndjson, parquet",
    ),
    (
        "\\timing",
        "toggle the row count and elapsed time after each result",
    ),
    ("\\q", "quit"),
    ("\\?", "this help"),
];

/// A session plus how its results are printed.
#[derive(Debug)]
pub struct Shell {
    session: LakeSession,
    /// The printer (format and timing), changed by `\format` and `\timing`.
    pub printer: Printer,
}

fn text_output(columns: &[&str], rows: Vec<Vec<String>>) -> Result<QueryOutput> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(*c, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = (0..columns.len())
        .map(|i| {
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r[i].as_str()),
            )) as ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
    Ok(QueryOutput {
        schema,
        batches: vec![batch],
        elapsed: Duration::ZERO,
    })
}

/// A SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Shell {
    /// A shell printing in `format`.
    pub fn new(session: LakeSession, format: OutputFormat) -> Shell {
        Shell {
            session,
            printer: Printer::new(format),
        }
    }

    /// The session.
    pub fn session(&self) -> &LakeSession {
        &self.session
    }

    /// Runs every statement of `text` in order and prints each result; the first error stops the rest
    /// (the results before it are already printed).
    pub async fn run_sql(&mut self, text: &str, out: &mut dyn Write) -> Result<()> {
        for statement in split_statements(text) {
            let result = self.session.execute(&statement).await?;
            self.printer.print(out, &result)?;
            out.flush()?;
        }
        Ok(())
    }

    /// Runs a canned query by name.
    pub async fn run_query(&mut self, name: &str, out: &mut dyn Write) -> Result<()> {
        let q = queries::find(name)?;
        self.run_sql(q.sql, out).await
    }

    /// Runs the statements of a file.
    pub async fn run_file(&mut self, path: &str, out: &mut dyn Write) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|source| ShellError::ReadFile {
            path: path.to_string(),
            source,
        })?;
        self.run_sql(&text, out).await
    }

    fn print_listing(&mut self, out: &mut dyn Write, result: &QueryOutput) -> Result<()> {
        // A listing is not a query: no "N rows in 0.000s" under it.
        let timing = std::mem::replace(&mut self.printer.timing, false);
        let printed = self.printer.print(out, result);
        self.printer.timing = timing;
        printed
    }

    /// Runs one backslash command line (`\d`, `\gaps caiso_lmp_dam`, …).
    pub async fn run_command(&mut self, line: &str, out: &mut dyn Write) -> Result<Flow> {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        match (name, args.as_slice()) {
            ("\\q" | "\\quit", []) => return Ok(Flow::Quit),
            ("\\?" | "\\h" | "\\help", []) => {
                let rows = COMMANDS
                    .iter()
                    .map(|(c, d)| vec![(*c).to_string(), (*d).to_string()])
                    .collect();
                self.print_listing(out, &text_output(&["command", "does"], rows)?)?;
            }
            ("\\d", []) => {
                self.session.refresh().await?;
                let mut rows: Vec<Vec<String>> = self
                    .session
                    .tables()
                    .iter()
                    .map(|t| {
                        let kind = match t.kind {
                            TableKind::Dataset => "dataset",
                            TableKind::Lake => "lake",
                        };
                        vec![t.name.clone(), kind.to_string(), t.description.clone()]
                    })
                    .collect();
                // Views made in this session (CREATE VIEW …) are tables too.
                for name in self.session.table_names() {
                    if !rows.iter().any(|r| r[0] == name) {
                        rows.push(vec![name, "view".to_string(), String::new()]);
                    }
                }
                rows.push(vec![
                    "gaps(dataset, start, end)".to_string(),
                    "function".to_string(),
                    "gap days of a dataset, as `gridlake gaps --json`".to_string(),
                ]);
                self.print_listing(out, &text_output(&["name", "kind", "description"], rows)?)?;
            }
            ("\\d", [table]) => {
                let Some(schema) = self.session.table_schema(table).await? else {
                    return Err(ShellError::Command(format!(
                        "no table `{table}`; \\d lists them"
                    )));
                };
                let rows = schema
                    .fields()
                    .iter()
                    .map(|f| {
                        vec![
                            f.name().clone(),
                            f.data_type().to_string(),
                            if f.is_nullable() { "YES" } else { "NO" }.to_string(),
                        ]
                    })
                    .collect();
                self.print_listing(out, &text_output(&["column", "type", "nullable"], rows)?)?;
            }
            ("\\datasets", []) => {
                self.session.refresh().await?;
                let tables = self.session.tables();
                let present: Vec<&str> = tables
                    .iter()
                    .filter(|t| t.kind == TableKind::Dataset)
                    .map(|t| t.name.as_str())
                    .collect();
                let mut rows = Vec::new();
                for ds in self.session.catalog().iter() {
                    let days = self.session.lake().partition_days(ds.name()).await?.len();
                    rows.push(vec![
                        ds.name().to_string(),
                        if present.contains(&ds.name()) {
                            "yes"
                        } else {
                            "no"
                        }
                        .to_string(),
                        days.to_string(),
                        ds.definition().description.clone(),
                    ]);
                }
                self.print_listing(
                    out,
                    &text_output(&["dataset", "in_lake", "days", "description"], rows)?,
                )?;
            }
            ("\\gaps", [dataset]) => {
                let sql = format!("SELECT * FROM gaps({})", quote(dataset));
                self.run_sql(&sql, out).await?;
            }
            ("\\gaps", [dataset, start, end]) => {
                let sql = format!(
                    "SELECT * FROM gaps({}, {}, {})",
                    quote(dataset),
                    quote(start),
                    quote(end)
                );
                self.run_sql(&sql, out).await?;
            }
            ("\\queries", []) => {
                let rows = queries::QUERIES
                    .iter()
                    .map(|q| vec![q.name.to_string(), q.description().to_string()])
                    .collect();
                self.print_listing(out, &text_output(&["query", "description"], rows)?)?;
            }
            ("\\run", [name]) => self.run_query(name, out).await?,
            ("\\i", [file]) => self.run_file(file, out).await?,
            ("\\format", []) => writeln!(out, "format: {}", self.printer.format)?,
            ("\\format", [fmt]) => {
                self.printer.format = fmt.parse()?;
                writeln!(out, "format: {}", self.printer.format)?;
            }
            ("\\timing", []) => {
                self.printer.timing = !self.printer.timing;
                let state = if self.printer.timing { "on" } else { "off" };
                writeln!(out, "timing {state}")?;
            }
            _ => {
                let known = COMMANDS
                    .iter()
                    .any(|(c, _)| c.split(' ').next() == Some(name));
                return Err(ShellError::Command(if known {
                    format!("wrong arguments for {name}; \\? shows the usage")
                } else {
                    format!("unknown command {name}; \\? lists the commands")
                }));
            }
        }
        out.flush()?;
        Ok(Flow::Continue)
    }

    /// Words the REPL completes: table names, their columns, commands and SQL keywords.
    pub async fn completion_words(&self) -> Vec<String> {
        let mut words: Vec<String> = COMMANDS
            .iter()
            .filter_map(|(c, _)| c.split(' ').next().map(str::to_string))
            .collect();
        words.extend(queries::QUERIES.iter().map(|q| q.name.to_string()));
        words.extend(
            [
                "SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "LIMIT", "HAVING", "JOIN",
                "LEFT", "ON", "AS", "AND", "OR", "NOT", "NULL", "DISTINCT", "COUNT", "DATE",
                "INTERVAL", "DESC", "ASC", "WITH", "CREATE", "VIEW", "EXPLAIN", "gaps",
            ]
            .iter()
            .map(|s| (*s).to_string()),
        );
        for table in self.session.table_names() {
            if let Ok(Some(schema)) = self.session.table_schema(&table).await {
                words.extend(schema.fields().iter().map(|f| f.name().clone()));
            }
            words.push(table);
        }
        words.sort();
        words.dedup();
        words
    }
}
