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
    /// Other writers kept replacing a day's file while this commit merged.
    #[error(
        "lake at {lake}: `{path}` was replaced by another writer {attempts} times while this commit merged; several workers on one lake must take leases (README: Lake on S3), then run again"
    )]
    Conflict {
        /// Lake location.
        lake: String,
        /// Object path.
        path: String,
        /// Attempts made.
        attempts: u32,
    },
    /// An `s3://` lake could not be set up from the environment.
    #[error(
        "lake at {lake}: cannot set up S3 access: {source}. Set AWS_REGION and credentials (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, or an instance/task role); for a local S3-compatible server also AWS_ENDPOINT_URL and AWS_ALLOW_HTTP=true"
    )]
    S3Config {
        /// Lake location.
        lake: String,
        /// Cause.
        source: Box<object_store::Error>,
    },
    /// A lake location that is not a directory nor an `s3://bucket/prefix` URL.
    #[error("lake location `{location}`: {message}")]
    Location {
        /// What was given.
        location: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// A lease this worker held was taken over (it expired) or removed.
    #[error(
        "lease `{path}` of lake {lake} is no longer held by {owner}: it expired and another worker took it over. Stop working on the day; raise the lease time if work takes longer than it"
    )]
    LeaseLost {
        /// Lake location.
        lake: String,
        /// Lock object path.
        path: String,
        /// This worker's owner id.
        owner: String,
    },
    /// Compactions kept folding away the ledger files a read had listed.
    #[error(
        "lake at {lake}: the ledger's files were folded by compactions {attempts} times while they were read; stop concurrent `gridlake ledger compact` runs, then run again"
    )]
    LedgerBusy {
        /// Lake location.
        lake: String,
        /// Reads started.
        attempts: u32,
    },
}
