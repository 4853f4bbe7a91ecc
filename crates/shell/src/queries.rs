//! Canned queries: the SQL files of `queries/`, compiled in so `--query NAME` and `\run NAME` work from any
//! directory with no files around.

use crate::error::{Result, ShellError};

/// One canned query.
#[derive(Debug, Clone, Copy)]
pub struct CannedQuery {
    /// The name (`queries/<name>.sql`).
    pub name: &'static str,
    /// The SQL text.
    pub sql: &'static str,
}

impl CannedQuery {
    /// The first comment line of the file: what the query answers.
    pub fn description(&self) -> &'static str {
        self.sql
            .lines()
            .find_map(|l| l.strip_prefix("--"))
            .map_or("", str::trim)
    }
}

macro_rules! canned {
    ($($name:literal),* $(,)?) => {
        &[$(CannedQuery {
            name: $name,
            sql: include_str!(concat!("../../../queries/", $name, ".sql")),
        }),*]
    };
}

/// Every canned query, by name.
pub const QUERIES: &[CannedQuery] = canned![
    "completeness_by_month",
    "daily_lmp",
    "daily_ohlc",
    "telemetry_availability",
    "top_reject_reasons",
];

/// Looks a canned query up by name.
pub fn find(name: &str) -> Result<&'static CannedQuery> {
    QUERIES
        .iter()
        .find(|q| q.name == name)
        .ok_or_else(|| ShellError::UnknownQuery {
            name: name.to_string(),
            known: QUERIES
                .iter()
                .map(|q| q.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}
