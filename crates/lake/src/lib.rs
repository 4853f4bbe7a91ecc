//! The lake: where converted rows become durable, plain, Hive-partitioned Parquet.
//!
//! This crate owns the layout (`<lake>/<dataset>/date=YYYY-MM-DD/part-0.parquet`, `_gridlake/…`), the
//! per-day commit protocol (merge by key with the day's current file, write under `_gridlake/staging/`,
//! swap in by rename), the self-describing footer metadata, the reject store and the [`Ledger`] of every
//! day's outcome. It speaks only `Arc<dyn ObjectStore>`: local disk and S3 differ in how the store is built
//! and in how a swap is made atomic, nothing else. It never does HTTP and never parses CSV.
//!
//! ```text
//!   incoming rows (one day) ──┐
//!   current part-0.parquet ───┴─► upsert by key (incoming wins) ─► sort by key ─► Parquet bytes
//!        ─► PUT _gridlake/staging/<uuid>.staged ─► rename ─► <dataset>/date=D/part-0.parquet
//! ```
//! A reader sees the old file or the new one, never a partial one: staging names live outside every table
//! folder and carry no `.parquet` suffix.

mod commit;
mod error;
mod footer;
mod layout;
mod ledger;
mod rejects;
mod verify;

pub use commit::{DayCommit, InputRecord};
pub use error::LakeError;
pub use footer::{FOOTER_PREFIX, FooterMeta};
pub use layout::{LAKE_FORMAT_VERSION, Lake, LakeInfo};
pub use ledger::{DayState, DayStatus, Ledger, LedgerRecord, availability_pct};
pub use verify::Violation;
