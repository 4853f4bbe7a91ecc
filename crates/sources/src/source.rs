//! The `Source` seam: given a dataset and the days wanted, which HTTP requests to make, and how to read the
//! answer (content kind, "no data" detection, checksum). Everything a source knows about a remote service
//! lives behind this trait, so the ingest workers stay the same for every source.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How a response body is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// Plain CSV text.
    Csv,
    /// A zip holding CSV members.
    Zip,
    /// Gzip-compressed CSV.
    #[serde(alias = "gz")]
    Gzip,
}

/// A checksum the source publishes beside the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Checksum {
    /// A `sha256sum` line (`<64 hex>  <file name>`) at `url`, naming `file_name`.
    Sha256File {
        /// Where the checksum file is.
        url: String,
        /// The file name the line must name.
        file_name: String,
    },
}

/// A header whose value is a secret read from an environment variable when the request is made, so a plan
/// (printed by `--dry-run`, kept in summaries) never holds the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretHeader {
    /// Header name (`Authorization`, `X-API-Key`).
    pub name: String,
    /// Environment variable holding the value.
    pub env_var: String,
    /// Text put before the value (`Bearer `), if any.
    pub prefix: String,
}

/// One HTTP request a source wants made, and what its answer covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRequest {
    /// Full URL (never holds a secret: tokens travel in [`SecretHeader`]s).
    pub url: String,
    /// Days the answer covers; each is committed on its own, and a day the answer holds no rows for is
    /// `no_data`.
    pub days: Vec<i32>,
    /// Name of the input in the ledger, rejects and footers (the remote file name).
    pub input_name: String,
    /// Expected packing of the body.
    pub content: Content,
    /// Published checksum to verify before anything is committed.
    pub checksum: Option<Checksum>,
    /// Values the converter takes from the request rather than the file (a Binance symbol).
    pub context: BTreeMap<String, String>,
    /// Secret headers.
    pub secret_headers: Vec<SecretHeader>,
}

/// What a successful HTTP answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Data to convert.
    Data,
    /// The source's documented "no data" answer for every day of the request.
    NoData(String),
}

/// When a dataset's days are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publication {
    /// The first day the source serves.
    pub earliest: NaiveDate,
    /// Days between a day and the day its data is complete at the source (0: today's file is final
    /// today, as for a day-ahead market; 1: yesterday's is the latest).
    pub lag_days: i64,
}

/// Why a source could not plan or read an answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The source's configuration is unusable.
    #[error("[sources.{source_name}] {message}; fix gridlake.toml and run again")]
    Config {
        /// Source family.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// The server answered with something that is not the data (an HTML page, an empty body, an error
    /// document that is not "no data").
    #[error("{url}: {message}")]
    BadAnswer {
        /// Request URL.
        url: String,
        /// What was wrong with the answer, and what to do.
        message: String,
    },
    /// The answer could not be read.
    #[error(
        "{url}: cannot read the downloaded body: {source}; check free space in the temp directory and run again"
    )]
    Io {
        /// Request URL.
        url: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// A dataset's remote origin.
pub trait Source: Send + Sync + std::fmt::Debug {
    /// The source family (`caiso`, `miso`, `nyiso`, `binance`, or a template source's name): its
    /// `[sources.<family>]` table in gridlake.toml.
    fn family(&self) -> &str;

    /// The dataset it fills.
    fn dataset(&self) -> &str;

    /// When days are published.
    fn publication(&self) -> Publication;

    /// Requests that fetch `days` (sorted, distinct). A request may cover several days (a 31-day OASIS
    /// window, a monthly archive); every day wanted is covered by exactly one request.
    fn requests(&self, days: &[i32]) -> Result<Vec<SourceRequest>, SourceError>;

    /// Reads a successful (2xx) answer before it is converted: a documented "no data" answer, or an answer
    /// that is not data at all. The default refuses an empty body and an HTML page where data was expected.
    fn inspect(&self, request: &SourceRequest, body: &Path) -> Result<Answer, SourceError> {
        inspect_common(request, body)
    }
}

/// The checks every source shares: an empty body and an HTML page (an error page, a bot check) served with
/// status 200 are not data.
pub fn inspect_common(request: &SourceRequest, body: &Path) -> Result<Answer, SourceError> {
    let head = read_head(request, body, 512)?;
    if head.is_empty() {
        return Err(SourceError::BadAnswer {
            url: request.url.clone(),
            message: "the server answered 200 with an empty body; the transfer was likely cut short. The day is recorded as failed and fetched again on the next run".into(),
        });
    }
    let text = String::from_utf8_lossy(&head)
        .trim_start()
        .to_ascii_lowercase();
    if text.starts_with("<!doctype html") || text.starts_with("<html") {
        return Err(SourceError::BadAnswer {
            url: request.url.clone(),
            message: "the server answered with an HTML page instead of data (an error page or a bot check); open the URL in a browser to see it. The day is recorded as failed and fetched again on the next run".into(),
        });
    }
    Ok(Answer::Data)
}

/// The first `n` bytes of a downloaded body.
pub(crate) fn read_head(
    request: &SourceRequest,
    body: &Path,
    n: usize,
) -> Result<Vec<u8>, SourceError> {
    let io = |source| SourceError::Io {
        url: request.url.clone(),
        source,
    };
    let file = std::fs::File::open(body).map_err(io)?;
    let mut head = Vec::with_capacity(n);
    file.take(n as u64).read_to_end(&mut head).map_err(io)?;
    Ok(head)
}

/// Splits sorted days into runs of consecutive days, each at most `max` long.
pub(crate) fn consecutive_runs(days: &[i32], max: usize) -> Vec<Vec<i32>> {
    let mut runs: Vec<Vec<i32>> = Vec::new();
    for &day in days {
        match runs.last_mut() {
            Some(run) if run.len() < max && run.last().is_some_and(|&l| l + 1 == day) => {
                run.push(day)
            }
            _ => runs.push(vec![day]),
        }
    }
    runs
}

/// The calendar date of a day number.
pub(crate) fn date_of(day: i32) -> NaiveDate {
    gridlake_schema::day_to_date(day).unwrap_or_default()
}

/// Appends `path` to a base URL, with exactly one `/` between them.
pub(crate) fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_on_holes_and_length() {
        assert_eq!(
            consecutive_runs(&[1, 2, 3, 5, 6, 9], 2),
            vec![vec![1, 2], vec![3], vec![5, 6], vec![9]]
        );
        assert!(consecutive_runs(&[], 31).is_empty());
        assert_eq!(join_url("http://a/", "/b"), "http://a/b");
    }
}
