//! The lake: where converted rows become durable, plain, Hive-partitioned Parquet.
//!
//! This crate owns the layout (`<lake>/<dataset>/date=YYYY-MM-DD/part-0.parquet`, `_gridlake/…`), the
//! per-day commit protocol (merge by key with the day's current file, then swap the new file in atomically),
//! the self-describing footer metadata, the reject store, the [`Ledger`] of every day's outcome, and the
//! [`Lease`]s several workers take on days. It speaks only `Arc<dyn ObjectStore>`: local disk and S3
//! differ in how the store is built ([`LakeLocation`]) and in how a swap is made atomic ([`CommitStyle`]),
//! nothing else. It never does HTTP itself (the S3 store does) and never parses CSV.
//!
//! ```text
//!   incoming rows (one day) ──┐
//!   current part-0.parquet ───┴─► upsert by key (incoming wins) ─► sort by key ─► Parquet bytes
//!     local: PUT _gridlake/staging/<uuid>.staged ─► rename ─► <dataset>/date=D/part-0.parquet
//!     S3:    one PUT to <dataset>/date=D/part-0.parquet, if-none-match (first) or if-match (replace)
//! ```
//! A reader sees the old file or the new one, never a partial one: staging names live outside every table
//! folder and carry no `.parquet` suffix, and an S3 PUT is visible only once complete. A conditional PUT
//! that loses to another writer is merged again on top of that writer's file.
//!
//! [`InstrumentedStore`] counts requests by kind (request budgets); [`FaultyStore`] injects S3's failures.

mod commit;
mod error;
mod footer;
mod layout;
mod lease;
mod ledger;
mod location;
mod rejects;
mod store;
mod swap;
mod verify;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use commit::{DayCommit, InputRecord};
pub use error::LakeError;
pub use footer::{FOOTER_PREFIX, FooterMeta};
pub use layout::{CommitStyle, LAKE_FORMAT_VERSION, Lake, LakeInfo};
pub use lease::{Lease, LeaseInfo, new_owner_id};
pub use ledger::{CompactOutcome, DayState, DayStatus, Ledger, LedgerRecord, availability_pct};
pub use location::LakeLocation;
pub use store::{FaultyStore, InstrumentedStore, LIST_PAGE_KEYS, RequestCounts};
pub use verify::Violation;
