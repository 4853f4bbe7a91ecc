//! CAISO OASIS `SingleZip` (`resultformat=6`): one zip per request, holding a CSV, or an XML error document
//! whose code 1000 means "no data for this selection". Requests cover whole Pacific operating days, written
//! as a GMT window (`startdatetime=YYYYMMDDTHH:MM-0000`, end exclusive), split to the API's 31-day maximum.
//! OASIS allows one request per 5 seconds per client and answers 429 beyond that.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::LazyLock;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use regex::Regex;
use serde::Deserialize;

use crate::source::{
    Answer, Content, Publication, Source, SourceError, SourceRequest, consecutive_runs, date_of,
    inspect_common, join_url,
};

/// The public OASIS endpoint.
pub const DEFAULT_BASE_URL: &str = "http://oasis.caiso.com/oasisapi";
/// Error 1000: "No data returned for the specified selection".
const NO_DATA_CODE: &str = "1000";
/// Largest XML error document read (they are a few hundred bytes).
const MAX_ERROR_XML: u64 = 1 << 20;

/// `[sources.caiso]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaisoConfig {
    /// Pace of requests to the source's host (AIMD; default per source).
    pub rate_limit: Option<crate::http::RateLimitConfig>,
    /// Requests in flight at once (default 4; `--jobs` overrides).
    pub workers: Option<usize>,
    /// OASIS API root (default the public one).
    pub base_url: Option<String>,
    /// Pricing nodes to fetch; empty means every APNode (`grp_type=ALL_APNODES`).
    #[serde(default)]
    pub nodes: Vec<String>,
}

/// One OASIS report.
#[derive(Debug, Clone, Copy)]
struct Report {
    dataset: &'static str,
    queryname: &'static str,
    market_run_id: &'static str,
    version: u32,
    /// Days per request: the API's 31-day maximum, less where one day is already large.
    max_days: usize,
    /// Whether node selection applies (load forecasts are per TAC area).
    by_node: bool,
    lag_days: i64,
}

const REPORTS: &[Report] = &[
    Report {
        dataset: "caiso_lmp_dam",
        queryname: "PRC_LMP",
        market_run_id: "DAM",
        version: 12,
        max_days: 31,
        by_node: true,
        // Day-ahead prices for tomorrow are published today; today's are final.
        lag_days: 0,
    },
    Report {
        dataset: "caiso_lmp_rtm",
        queryname: "PRC_INTVL_LMP",
        market_run_id: "RTM",
        version: 3,
        // 288 intervals × nodes × 4 components per day: one day per request keeps answers bounded.
        max_days: 1,
        by_node: true,
        lag_days: 1,
    },
    Report {
        dataset: "caiso_load_forecast",
        queryname: "SLD_FCST",
        market_run_id: "DAM",
        version: 1,
        max_days: 31,
        by_node: false,
        lag_days: 0,
    },
];

/// Datasets served by OASIS.
pub fn datasets() -> impl Iterator<Item = &'static str> {
    REPORTS.iter().map(|r| r.dataset)
}

/// One OASIS report as a [`Source`].
#[derive(Debug, Clone)]
pub struct CaisoOasis {
    report: Report,
    base_url: String,
    nodes: Vec<String>,
}

impl CaisoOasis {
    /// The source of `dataset`, if OASIS serves it.
    pub fn new(dataset: &str, config: &CaisoConfig) -> Option<CaisoOasis> {
        let report = *REPORTS.iter().find(|r| r.dataset == dataset)?;
        Some(CaisoOasis {
            report,
            base_url: config
                .base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
            nodes: config.nodes.clone(),
        })
    }
}

/// `YYYYMMDDTHH:MM-0000` of the instant local midnight starts `date` in Pacific time.
fn gmt_midnight(date: NaiveDate) -> String {
    let local = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Midnight exists on every Pacific day (DST switches at 02:00), so `earliest` always answers.
    let instant = Los_Angeles
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local));
    instant.format("%Y%m%dT%H:%M-0000").to_string()
}

impl Source for CaisoOasis {
    fn family(&self) -> &str {
        "caiso"
    }

    fn dataset(&self) -> &str {
        self.report.dataset
    }

    fn publication(&self) -> Publication {
        Publication {
            // OASIS serves the MRTU markets, which began on 2009-04-01.
            earliest: NaiveDate::from_ymd_opt(2009, 4, 1).unwrap_or_default(),
            lag_days: self.report.lag_days,
        }
    }

    fn requests(&self, days: &[i32]) -> Result<Vec<SourceRequest>, SourceError> {
        let r = &self.report;
        Ok(consecutive_runs(days, r.max_days)
            .into_iter()
            .map(|run| {
                let first = date_of(run[0]);
                let last = date_of(run[run.len() - 1]);
                let end = last.checked_add_days(Days::new(1)).unwrap_or(last);
                let selection = if !r.by_node {
                    String::new()
                } else if self.nodes.is_empty() {
                    "&grp_type=ALL_APNODES".to_string()
                } else {
                    format!("&node={}", self.nodes.join(","))
                };
                let url = join_url(
                    &self.base_url,
                    &format!(
                        "SingleZip?resultformat=6&queryname={}&version={}&market_run_id={}&startdatetime={}&enddatetime={}{selection}",
                        r.queryname,
                        r.version,
                        r.market_run_id,
                        gmt_midnight(first),
                        gmt_midnight(end),
                    ),
                );
                SourceRequest {
                    input_name: format!(
                        "{}_{}_{}_{}.zip",
                        first.format("%Y%m%d"),
                        end.format("%Y%m%d"),
                        r.queryname,
                        r.market_run_id
                    ),
                    url,
                    days: run,
                    content: Content::Zip,
                    checksum: None,
                    context: BTreeMap::new(),
                    secret_headers: Vec::new(),
                }
            })
            .collect())
    }

    fn inspect(&self, request: &SourceRequest, body: &Path) -> Result<Answer, SourceError> {
        inspect_common(request, body)?;
        let bad = |message: String| SourceError::BadAnswer {
            url: request.url.clone(),
            message,
        };
        let file = std::fs::File::open(body).map_err(|source| SourceError::Io {
            url: request.url.clone(),
            source,
        })?;
        // A body that is not a zip is left to the unpacker, which names the corruption.
        let Ok(mut zip) = zip::ZipArchive::new(file) else {
            return Ok(Answer::Data);
        };
        let names: Vec<String> = zip
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect();
        if names
            .iter()
            .any(|n| n.to_ascii_lowercase().ends_with(".csv"))
        {
            return Ok(Answer::Data);
        }
        let Some(xml_name) = names
            .iter()
            .find(|n| n.to_ascii_lowercase().ends_with(".xml"))
        else {
            return Ok(Answer::Data);
        };
        let mut xml = String::new();
        zip.by_name(xml_name)
            .map_err(|e| {
                bad(format!(
                    "the OASIS error document `{xml_name}` cannot be read ({e})"
                ))
            })?
            .take(MAX_ERROR_XML)
            .read_to_string(&mut xml)
            .map_err(|e| {
                bad(format!(
                    "the OASIS error document `{xml_name}` cannot be read ({e})"
                ))
            })?;
        let (code, desc) = oasis_error(&xml);
        match code.as_deref() {
            Some(NO_DATA_CODE) => Ok(Answer::NoData(format!(
                "OASIS error {NO_DATA_CODE}: {}",
                desc.unwrap_or_else(|| "no data returned".into())
            ))),
            Some(code) => Err(bad(format!(
                "OASIS answered error {code}: {}; {}",
                desc.unwrap_or_default(),
                match code {
                    "1015" =>
                        "the server is still preparing the file: the next run fetches it again",
                    "1004" =>
                        "the request spans more than 31 days, which is a gridlake bug: please report it",
                    _ => "the day is recorded as failed and fetched again on the next run",
                }
            ))),
            None => Err(bad(format!(
                "the zip holds `{xml_name}` instead of a CSV and no OASIS error code could be read from it; the day is recorded as failed"
            ))),
        }
    }
}

/// `ERR_CODE` and `ERR_DESC` of an OASIS error document, whatever the namespace prefix.
fn oasis_error(xml: &str) -> (Option<String>, Option<String>) {
    static CODE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"<(?:\w+:)?ERR_CODE>\s*([^<]*?)\s*</").ok());
    static DESC: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"<(?:\w+:)?ERR_DESC>\s*([^<]*?)\s*</").ok());
    let get = |re: &Option<Regex>| {
        re.as_ref()
            .and_then(|re| re.captures(xml))
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().to_string())
    };
    (get(&CODE), get(&DESC))
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
    fn windows_are_pacific_days_in_gmt_split_at_31_days() {
        let s = CaisoOasis::new("caiso_lmp_dam", &CaisoConfig::default()).unwrap();
        let days: Vec<i32> = (d(2024, 3, 1)..=d(2024, 4, 10)).collect();
        let r = s.requests(&days).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].days.len(), 31);
        assert_eq!(r[1].days.len(), 10);
        // 2024-03-01 starts at 08:00Z (PST); 2024-04-01 at 07:00Z (PDT).
        assert!(r[0].url.contains("startdatetime=20240301T08:00-0000"));
        assert!(r[0].url.contains("enddatetime=20240401T07:00-0000"));
        assert!(r[0].url.contains("grp_type=ALL_APNODES"));
        assert!(r[0].url.contains("queryname=PRC_LMP"));
        let one_node = CaisoOasis::new(
            "caiso_lmp_dam",
            &CaisoConfig {
                nodes: vec!["0096WD_7_N001".into()],
                ..CaisoConfig::default()
            },
        )
        .unwrap();
        let r = one_node.requests(&[d(2018, 11, 4)]).unwrap();
        assert!(r[0].url.contains("&node=0096WD_7_N001"));
        assert!(r[0].url.contains("startdatetime=20181104T07:00-0000"));
        assert!(r[0].url.contains("enddatetime=20181105T08:00-0000"));
    }

    #[test]
    fn error_codes_are_read_whatever_the_prefix() {
        let xml = r#"<m:OASISReport xmlns:m="http://www.caiso.com/soa/OASISReport_v1.xsd"><m:MessagePayload><m:RTO><m:ERROR><m:ERR_CODE>1000</m:ERR_CODE><m:ERR_DESC>No data returned for the specified selection</m:ERR_DESC></m:ERROR></m:RTO></m:MessagePayload></m:OASISReport>"#;
        let (code, desc) = oasis_error(xml);
        assert_eq!(code.as_deref(), Some("1000"));
        assert_eq!(
            desc.as_deref(),
            Some("No data returned for the specified selection")
        );
        assert_eq!(
            oasis_error("<ERR_CODE>1015</ERR_CODE>").0.as_deref(),
            Some("1015")
        );
    }
}
