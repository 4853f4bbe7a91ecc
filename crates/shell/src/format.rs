//! Output formats for query results: `table` for people, `csv`, `json`, `ndjson` and `parquet` for programs.

use std::io::Write;
use std::str::FromStr;

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Result, ShellError};
use crate::session::QueryOutput;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// A boxed text table.
    #[default]
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON array of objects per result (nulls written as `null`, as `gridlake gaps --json` does).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A Parquet file (one result per output).
    Parquet,
}

impl OutputFormat {
    /// Every format, in the order help texts list them.
    pub const ALL: [OutputFormat; 5] = [
        OutputFormat::Table,
        OutputFormat::Csv,
        OutputFormat::Json,
        OutputFormat::Ndjson,
        OutputFormat::Parquet,
    ];

    /// The name used on the command line and by `\format`.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Table => "table",
            OutputFormat::Csv => "csv",
            OutputFormat::Json => "json",
            OutputFormat::Ndjson => "ndjson",
            OutputFormat::Parquet => "parquet",
        }
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OutputFormat {
    type Err = ShellError;

    fn from_str(s: &str) -> Result<OutputFormat> {
        OutputFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = OutputFormat::ALL.iter().map(|f| f.name()).collect();
                ShellError::Usage(format!(
                    "unknown format `{s}`; use one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// Prints statement results one after another in one format.
#[derive(Debug, Clone)]
pub struct Printer {
    /// The format.
    pub format: OutputFormat,
    /// Whether `table` output ends with a `N row(s) in S.SSSs` line.
    pub timing: bool,
    wrote_parquet: bool,
}

impl Printer {
    /// A printer in `format`, with the timing line on.
    pub fn new(format: OutputFormat) -> Printer {
        Printer {
            format,
            timing: true,
            wrote_parquet: false,
        }
    }

    /// Writes one statement's result. Statements without result columns (DDL) print nothing but the timing
    /// line. A Parquet output holds one result: a second one is an error rather than a corrupt file.
    pub fn print(&mut self, out: &mut dyn Write, result: &QueryOutput) -> Result<()> {
        let has_columns = !result.schema.fields().is_empty();
        match self.format {
            OutputFormat::Table => {
                if has_columns {
                    let text = arrow::util::pretty::pretty_format_batches_with_schema(
                        result.schema.clone(),
                        &result.batches,
                    )?;
                    writeln!(out, "{text}")?;
                }
                if self.timing {
                    let n = result.num_rows();
                    writeln!(
                        out,
                        "{n} row{} in {:.4}s",
                        if n == 1 { "" } else { "s" },
                        result.elapsed.as_secs_f64()
                    )?;
                }
            }
            _ if !has_columns => {}
            OutputFormat::Csv => {
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut *out);
                for b in &result.batches {
                    w.write(b)?;
                }
                if result.batches.is_empty() {
                    w.write(&RecordBatch::new_empty(result.schema.clone()))?;
                }
            }
            OutputFormat::Json => {
                let mut w = arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, arrow::json::writer::JsonArray>(&mut *out);
                for b in &result.batches {
                    w.write(b)?;
                }
                w.finish()?;
                drop(w);
                writeln!(out)?;
            }
            OutputFormat::Ndjson => {
                let mut w = arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, arrow::json::writer::LineDelimited>(&mut *out);
                for b in &result.batches {
                    w.write(b)?;
                }
                w.finish()?;
            }
            OutputFormat::Parquet => {
                if self.wrote_parquet {
                    return Err(ShellError::Usage(
                        "a Parquet output holds one result: give one query, or one --output per run"
                            .to_string(),
                    ));
                }
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build();
                let mut buf = Vec::new();
                let mut w = ArrowWriter::try_new(&mut buf, result.schema.clone(), Some(props))?;
                for b in &result.batches {
                    w.write(b)?;
                }
                w.close()?;
                out.write_all(&buf)?;
                self.wrote_parquet = true;
            }
        }
        Ok(())
    }
}
