//! NYISO MIS public CSVs: `damlbmp/YYYYMMDDdamlbmp_zone.csv` per day, and `damlbmp/YYYYMM01damlbmp_zone_csv.zip`
//! per month (one CSV per day inside). Whole months that are over are fetched as one archive; the current
//! month keeps changing until it ends, so its days come from the daily files. No rate limit is documented, but
//! a bot-check page can stand in for a file: the common inspection refuses HTML.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use crate::source::{Content, Publication, Source, SourceError, SourceRequest, date_of, join_url};

/// The public MIS host.
pub const DEFAULT_BASE_URL: &str = "http://mis.nyiso.com/public/csv";

/// `[sources.nyiso]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NyisoConfig {
    /// Pace of requests to the source's host (AIMD; default per source).
    pub rate_limit: Option<crate::http::RateLimitConfig>,
    /// Requests in flight at once (default 4; `--jobs` overrides).
    pub workers: Option<usize>,
    /// MIS CSV root (default the public one).
    pub base_url: Option<String>,
    /// Fetch whole past months as the monthly zip (default true: one request instead of ~30).
    pub monthly_archives: Option<bool>,
}

/// Datasets served by NYISO MIS.
pub fn datasets() -> impl Iterator<Item = &'static str> {
    ["nyiso_lbmp_dam_zonal"].into_iter()
}

/// Day-ahead zonal LBMP.
#[derive(Debug, Clone)]
pub struct NyisoMis {
    base_url: String,
    monthly: bool,
    today: NaiveDate,
}

impl NyisoMis {
    /// The source of `dataset`, if NYISO serves it. `today` decides which months are over.
    pub fn new(dataset: &str, config: &NyisoConfig, today: NaiveDate) -> Option<NyisoMis> {
        (dataset == "nyiso_lbmp_dam_zonal").then(|| NyisoMis {
            base_url: config
                .base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
            monthly: config.monthly_archives.unwrap_or(true),
            today,
        })
    }

    fn daily(&self, day: i32) -> SourceRequest {
        let name = format!("{}damlbmp_zone.csv", date_of(day).format("%Y%m%d"));
        SourceRequest {
            url: join_url(&self.base_url, &format!("damlbmp/{name}")),
            input_name: name,
            days: vec![day],
            content: Content::Csv,
            checksum: None,
            context: BTreeMap::new(),
            secret_headers: Vec::new(),
        }
    }
}

/// First and last day numbers of the month holding `date`.
pub(crate) fn month_bounds(date: NaiveDate) -> (i32, i32) {
    let first = date.with_day(1).unwrap_or(date);
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .unwrap_or(first);
    let f = gridlake_schema::date_to_day(first);
    (f, gridlake_schema::date_to_day(next) - 1)
}

/// Sorted days grouped by calendar month, each with whether it is a whole month that ended before the one
/// holding `today` (so its monthly archive is final).
pub(crate) fn month_groups(days: &[i32], today: NaiveDate) -> Vec<(i32, Vec<i32>, bool)> {
    let this_month = month_bounds(today).0;
    let mut out = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let (first, last) = month_bounds(date_of(days[i]));
        let in_month: Vec<i32> = days[i..]
            .iter()
            .copied()
            .take_while(|&d| d <= last)
            .collect();
        i += in_month.len();
        let whole = in_month.len() as i64 == i64::from(last - first + 1) && last < this_month;
        out.push((first, in_month, whole));
    }
    out
}

impl Source for NyisoMis {
    fn family(&self) -> &str {
        "nyiso"
    }

    fn dataset(&self) -> &str {
        "nyiso_lbmp_dam_zonal"
    }

    fn publication(&self) -> Publication {
        Publication {
            earliest: NaiveDate::from_ymd_opt(2001, 1, 1).unwrap_or_default(),
            lag_days: 0,
        }
    }

    fn requests(&self, days: &[i32]) -> Result<Vec<SourceRequest>, SourceError> {
        let mut out = Vec::new();
        for (first, in_month, whole) in month_groups(days, self.today) {
            if self.monthly && whole {
                let name = format!("{}damlbmp_zone_csv.zip", date_of(first).format("%Y%m%d"));
                out.push(SourceRequest {
                    url: join_url(&self.base_url, &format!("damlbmp/{name}")),
                    input_name: name,
                    days: in_month,
                    content: Content::Zip,
                    checksum: None,
                    context: BTreeMap::new(),
                    secret_headers: Vec::new(),
                });
            } else {
                out.extend(in_month.into_iter().map(|d| self.daily(d)));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use gridlake_schema::date_to_day;

    fn d(y: i32, m: u32, day: u32) -> i32 {
        date_to_day(NaiveDate::from_ymd_opt(y, m, day).unwrap())
    }

    #[test]
    fn whole_past_months_come_as_one_archive() {
        let today = NaiveDate::from_ymd_opt(2024, 3, 15).unwrap();
        let s = NyisoMis::new("nyiso_lbmp_dam_zonal", &NyisoConfig::default(), today).unwrap();
        // January 30–31 (partial), all of February (2024: 29 days), March 1–2 (current month).
        let days: Vec<i32> = (d(2024, 1, 30)..=d(2024, 3, 2)).collect();
        let r = s.requests(&days).unwrap();
        let urls: Vec<&str> = r.iter().map(|x| x.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://mis.nyiso.com/public/csv/damlbmp/20240130damlbmp_zone.csv",
                "http://mis.nyiso.com/public/csv/damlbmp/20240131damlbmp_zone.csv",
                "http://mis.nyiso.com/public/csv/damlbmp/20240201damlbmp_zone_csv.zip",
                "http://mis.nyiso.com/public/csv/damlbmp/20240301damlbmp_zone.csv",
                "http://mis.nyiso.com/public/csv/damlbmp/20240302damlbmp_zone.csv",
            ]
        );
        assert_eq!(r[2].days.len(), 29);
        assert_eq!(r[2].content, Content::Zip);
        let daily_only = NyisoMis::new(
            "nyiso_lbmp_dam_zonal",
            &NyisoConfig {
                monthly_archives: Some(false),
                ..NyisoConfig::default()
            },
            today,
        )
        .unwrap();
        assert_eq!(daily_only.requests(&days).unwrap().len(), days.len());
    }
}
