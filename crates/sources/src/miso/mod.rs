//! MISO market reports: one CSV per market day at `marketreports/YYYYMMDD_da_exante_lmp.csv`, no directory
//! listing (names are built from the date). The file carries its market date in a preamble, and its hours in
//! EST all year; both are the schema's business. No rate limit is documented, so the default pace is polite.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::source::{Content, Publication, Source, SourceError, SourceRequest, date_of, join_url};

/// The public report host.
pub const DEFAULT_BASE_URL: &str = "https://docs.misoenergy.org";

/// `[sources.miso]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MisoConfig {
    /// Pace of requests to the source's host (AIMD; default per source).
    pub rate_limit: Option<crate::http::RateLimitConfig>,
    /// Requests in flight at once (default 4; `--jobs` overrides).
    pub workers: Option<usize>,
    /// Report host (default the public one).
    pub base_url: Option<String>,
}

/// Datasets served by MISO market reports.
pub fn datasets() -> impl Iterator<Item = &'static str> {
    ["miso_lmp_da_exante"].into_iter()
}

/// The day-ahead ex-ante LMP report.
#[derive(Debug, Clone)]
pub struct MisoReports {
    base_url: String,
}

impl MisoReports {
    /// The source of `dataset`, if MISO serves it.
    pub fn new(dataset: &str, config: &MisoConfig) -> Option<MisoReports> {
        (dataset == "miso_lmp_da_exante").then(|| MisoReports {
            base_url: config
                .base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
        })
    }
}

impl Source for MisoReports {
    fn family(&self) -> &str {
        "miso"
    }

    fn dataset(&self) -> &str {
        "miso_lmp_da_exante"
    }

    fn publication(&self) -> Publication {
        Publication {
            // Before 2015 the report was named `_da_lmp.csv` with another layout.
            earliest: NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default(),
            // Day-ahead: the file for tomorrow appears today.
            lag_days: 0,
        }
    }

    fn requests(&self, days: &[i32]) -> Result<Vec<SourceRequest>, SourceError> {
        Ok(days
            .iter()
            .map(|&day| {
                let name = format!("{}_da_exante_lmp.csv", date_of(day).format("%Y%m%d"));
                SourceRequest {
                    url: join_url(&self.base_url, &format!("marketreports/{name}")),
                    input_name: name,
                    days: vec![day],
                    content: Content::Csv,
                    checksum: None,
                    context: BTreeMap::new(),
                    secret_headers: Vec::new(),
                }
            })
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use gridlake_schema::date_to_day;

    #[test]
    fn one_file_per_day() {
        let s = MisoReports::new("miso_lmp_da_exante", &MisoConfig::default()).unwrap();
        let day = date_to_day(NaiveDate::from_ymd_opt(2024, 7, 4).unwrap());
        let r = s.requests(&[day, day + 1]).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0].url,
            "https://docs.misoenergy.org/marketreports/20240704_da_exante_lmp.csv"
        );
        assert_eq!(r[1].input_name, "20240705_da_exante_lmp.csv");
    }
}
