//! SQL over a gridlake lake, with DataFusion: the `gridlake sql` shell and the `gridlake status` picture.
//!
//! [`LakeSession`] opens a DataFusion `SessionContext` in which every dataset folder of the lake is already
//! a table (a listing table over `date=YYYY-MM-DD/part-0.parquet`, typed from the catalog, with the Hive
//! partition `date` as a `DATE` so `WHERE date >= DATE '…'` skips folders), next to `ledger` (the current
//! state of every day), `ledger_log` (every run record), `rejects` (refused rows) and the table function
//! `gaps(dataset, start, end)`, which returns exactly the rows of `gridlake gaps --json`. The lake's own
//! object store is registered under a private URL, so a local lake and an S3 lake are read the same way.
//! On top sit a statement splitter ([`split_statements`]), output formats ([`OutputFormat`], [`Printer`]),
//! the canned queries of `queries/` ([`queries`]), a [`Shell`] that runs SQL and backslash commands, the
//! REPL loop ([`repl`]) and the coverage calendar ([`status`]). This is the only library crate that
//! depends on DataFusion, so the ingest side builds and tests without it.

mod error;
mod format;
pub mod queries;
pub mod repl;
mod runner;
mod script;
mod session;
pub mod status;
mod tables;

pub use error::{Result, ShellError};
pub use format::{OutputFormat, Printer};
pub use runner::{COMMANDS, Flow, Shell};
pub use script::{is_complete, split_statements};
pub use session::{LakeSession, QueryOutput, TableInfo, TableKind};
pub use tables::current_state;
