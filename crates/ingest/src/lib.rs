//! Ingest: joins where bytes come from (`gridlake-sources`) with where rows go (`gridlake-lake`).
//!
//! Today this is the import pipeline behind `gridlake import` and `gridlake validate`: each input file is
//! unpacked safely, streamed through the dataset's converter, and each day it fills is committed to the lake
//! with its rejects and a ledger record. A failed input or day is recorded and the run goes on; the outcome
//! is a value ([`RunSummary`]), never a log line. The HTTP planner and workers join this crate later.

mod import;

pub use import::{
    DayResult, ImportError, ImportOptions, InputOutcome, RunSummary, import_files, validate_files,
};
