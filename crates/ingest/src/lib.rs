//! Ingest: joins where bytes come from (`gridlake-sources`) with where rows go (`gridlake-lake`).
//!
//! It owns the import pipeline behind `gridlake import` and `gridlake validate` (each input unpacked safely,
//! streamed through the dataset's converter, each day it fills committed with its rejects and a ledger record),
//! the pure planner that decides which days a run fetches, and the bounded worker pool behind `ingest`, `sync`
//! and `backfill` (fetch through the source and the shared HTTP client, inspect, convert, commit per day). A
//! failed input or day is recorded and the run goes on; the outcome is a value ([`RunSummary`],
//! [`DatasetRun`]), never a log line.

mod fetch;
mod import;
mod plan;
mod run;

pub use fetch::{Download, EnvLookup, FetchFailure, Fetcher};
pub use import::{
    DayResult, ImportError, ImportOptions, InputOutcome, RunSummary, import_files, validate_files,
};
pub use plan::{
    DayView, Plan, PlanOptions, PlanReason, PlannedDay, Shard, SkipReason, Window, plan_days,
};
pub use run::{
    DatasetRun, IngestOptions, LeaseOptions, Progress, ProgressEvent, RequestReport,
    ingest_dataset, plan_dataset, window,
};
