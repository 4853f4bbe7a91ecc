//! Dataset schemas and the CSV → Arrow converter: the part of gridlake that knows what a row *means*.
//!
//! This crate owns the `schemas/*.toml` format ([`def`]), its checked and compiled form ([`Dataset`], gathered
//! in a [`Catalog`] whose built-in schemas are compiled into the binary), the zone-aware time parsing the
//! sources need ([`time`]), and the sans-IO [`Converter`] that turns CSV bytes into typed Arrow batches
//! routed to partition days, plus a [`Reject`] (file, line, column, reason) for every record it refuses.
//! It is synchronous and pure: no async, no network, no object store, no files except schema files a user
//! points it at. Everything that moves bytes lives in `gridlake-sources` and `gridlake-lake`.

pub mod convert;
mod dataset;
pub mod def;
pub mod time;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod builtin_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod catalog_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod convert_tests;

pub use convert::{
    ConvertError, ConvertSummary, Converter, DayBatch, DayOutcome, HeaderReport, InputContext,
    RecordCounts, Reject,
};
pub use dataset::{Catalog, Completeness, Dataset, SchemaError, arrow_type};
pub use time::{Zone, date_to_day, day_to_date, day_to_string};
