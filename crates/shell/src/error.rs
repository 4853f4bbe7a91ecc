//! The shell's error type.

use gridlake_lake::LakeError;

/// What can go wrong between a statement and its printed result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShellError {
    /// DataFusion refused or failed a statement (parse, plan or execution error). Not marked as the
    /// source: DataFusion's message already holds its whole chain, and `{:#}` would print it twice.
    #[error("{0}")]
    DataFusion(datafusion::error::DataFusionError),
    /// Reading the lake (listing tables, the ledger) failed.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// Arrow failed while formatting a result.
    #[error("cannot format the result: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Parquet failed while writing a result.
    #[error("cannot write Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Writing the output (stdout, a file) failed.
    #[error("cannot write the output: {0}")]
    Io(#[from] std::io::Error),
    /// A file named by `-f` or `\i` cannot be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The path given.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// No canned query of that name.
    #[error("no canned query `{name}`; known: {known}")]
    UnknownQuery {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
    /// A meta command (`\…`) that does not exist or got bad arguments.
    #[error("{0}")]
    Command(String),
    /// An argument that is not what the format or function expects.
    #[error("{0}")]
    Usage(String),
}

impl From<datafusion::error::DataFusionError> for ShellError {
    fn from(e: datafusion::error::DataFusionError) -> ShellError {
        ShellError::DataFusion(e)
    }
}

/// The shell's result type.
pub type Result<T, E = ShellError> = std::result::Result<T, E>;
