use std::path::PathBuf;

/// Why a lake operation failed, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LakeError {
    /// The object store refused or failed an operation.
    #[error(
        "lake at {lake}: {op} `{path}` failed: {source}. Check that the lake location exists and is writable, then run again"
    )]
    Store {
        /// Lake location.
        lake: String,
        /// What was attempted.
        op: &'static str,
        /// Object path.
        path: String,
        /// Cause (boxed: the store's error is large and this error travels through every call).
        source: Box<object_store::Error>,
    },
    /// A local lake directory could not be created.
    #[error(
        "cannot create lake directory {path}: {source}. Choose another --lake or fix the permissions"
    )]
    CreateDir {
        /// Directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Parquet encoding or decoding failed.
    #[error(
        "Parquet file `{path}`: {source}. If the file is damaged, delete it and re-import the day (the ledger will show it as missing)"
    )]
    Parquet {
        /// Object path.
        path: String,
        /// Cause.
        source: parquet::errors::ParquetError,
    },
    /// An Arrow kernel failed (schema mismatch between a file and the dataset schema, typically).
    #[error(
        "day {day} of `{dataset}`: {source}. The file's columns no longer match the schema: rebuild the dataset or restore the old schema version"
    )]
    Arrow {
        /// Dataset.
        dataset: String,
        /// Day.
        day: String,
        /// Cause.
        source: arrow::error::ArrowError,
    },
    /// `_gridlake/lake.json` is unreadable or from a newer gridlake.
    #[error("lake at {lake}: {message}")]
    Format {
        /// Lake location.
        lake: String,
        /// What is wrong and what to do.
        message: String,
    },
}
