//! Binance public data (`data.binance.vision`): klines as daily and monthly zips per symbol and interval,
//! each with a sibling `.CHECKSUM` (a `sha256sum` line) that is verified before anything is committed. Whole
//! months that are over come from the monthly zip, later days from the daily ones. The symbol is not in the
//! CSV: it travels as converter context, and the zips of several symbols merge into one day's file by key.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::nyiso::month_groups;
use crate::source::{
    Checksum, Content, Publication, Source, SourceError, SourceRequest, date_of, join_url,
};

/// The public bucket.
pub const DEFAULT_BASE_URL: &str = "https://data.binance.vision";
const INTERVALS: &[&str] = &[
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w",
    "1mo",
];

/// `[sources.binance]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinanceConfig {
    /// Pace of requests to the source's host (AIMD; default per source).
    pub rate_limit: Option<crate::http::RateLimitConfig>,
    /// Requests in flight at once (default 4; `--jobs` overrides).
    pub workers: Option<usize>,
    /// Bucket root (default the public one).
    pub base_url: Option<String>,
    /// Symbols, e.g. `["BTCUSDT", "ETHUSDT"]`.
    #[serde(default = "default_symbols")]
    pub symbols: Vec<String>,
    /// Kline interval (`1m`, `1h`, …; `1mo`, not `1M`). The built-in schema expects `1m` for its
    /// completeness rule.
    #[serde(default = "default_interval")]
    pub interval: String,
    /// Fetch whole past months as the monthly zip (default true).
    pub monthly_archives: Option<bool>,
}

fn default_symbols() -> Vec<String> {
    vec!["BTCUSDT".into()]
}
fn default_interval() -> String {
    "1m".into()
}

impl Default for BinanceConfig {
    fn default() -> Self {
        BinanceConfig {
            base_url: None,
            symbols: default_symbols(),
            interval: default_interval(),
            monthly_archives: None,
            rate_limit: None,
            workers: None,
        }
    }
}

/// Datasets served by Binance public data.
pub fn datasets() -> impl Iterator<Item = &'static str> {
    ["binance_klines"].into_iter()
}

/// Spot klines.
#[derive(Debug, Clone)]
pub struct BinanceKlines {
    base_url: String,
    symbols: Vec<String>,
    interval: String,
    monthly: bool,
    today: NaiveDate,
}

impl BinanceKlines {
    /// The source of `dataset`, if Binance serves it. `today` decides which months are over.
    pub fn new(
        dataset: &str,
        config: &BinanceConfig,
        today: NaiveDate,
    ) -> Result<Option<BinanceKlines>, SourceError> {
        if dataset != "binance_klines" {
            return Ok(None);
        }
        let bad = |message: String| SourceError::Config {
            source_name: "binance".into(),
            message,
        };
        if !INTERVALS.contains(&config.interval.as_str()) {
            return Err(bad(format!(
                "interval `{}` is not one Binance publishes; use one of {}",
                config.interval,
                INTERVALS.join(", ")
            )));
        }
        if config.symbols.is_empty() {
            return Err(bad(
                "`symbols` is empty; name at least one, e.g. [\"BTCUSDT\"]".into(),
            ));
        }
        if let Some(s) = config
            .symbols
            .iter()
            .find(|s| s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(bad(format!(
                "symbol `{s}` is not a Binance symbol (letters and digits, e.g. BTCUSDT)"
            )));
        }
        Ok(Some(BinanceKlines {
            base_url: config
                .base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
            symbols: config
                .symbols
                .iter()
                .map(|s| s.to_ascii_uppercase())
                .collect(),
            interval: config.interval.clone(),
            monthly: config.monthly_archives.unwrap_or(true),
            today,
        }))
    }

    fn request(&self, symbol: &str, period: &str, stamp: String, days: Vec<i32>) -> SourceRequest {
        let name = format!("{symbol}-{}-{stamp}.zip", self.interval);
        let url = join_url(
            &self.base_url,
            &format!(
                "data/spot/{period}/klines/{symbol}/{}/{name}",
                self.interval
            ),
        );
        SourceRequest {
            checksum: Some(Checksum::Sha256File {
                url: format!("{url}.CHECKSUM"),
                file_name: name.clone(),
            }),
            url,
            input_name: name,
            days,
            content: Content::Zip,
            context: BTreeMap::from([
                ("symbol".to_string(), symbol.to_string()),
                ("interval".to_string(), self.interval.clone()),
            ]),
            secret_headers: Vec::new(),
        }
    }
}

impl Source for BinanceKlines {
    fn family(&self) -> &str {
        "binance"
    }

    fn dataset(&self) -> &str {
        "binance_klines"
    }

    fn publication(&self) -> Publication {
        Publication {
            // Binance spot trading (and its public klines) began 2017-07-14.
            earliest: NaiveDate::from_ymd_opt(2017, 7, 14).unwrap_or_default(),
            // A day's file appears the next day.
            lag_days: 1,
        }
    }

    fn requests(&self, days: &[i32]) -> Result<Vec<SourceRequest>, SourceError> {
        let mut out = Vec::new();
        for (first, in_month, whole) in month_groups(days, self.today) {
            for symbol in &self.symbols {
                if self.monthly && whole {
                    let stamp = date_of(first).format("%Y-%m").to_string();
                    out.push(self.request(symbol, "monthly", stamp, in_month.clone()));
                } else {
                    for &d in &in_month {
                        let stamp = date_of(d).format("%Y-%m-%d").to_string();
                        out.push(self.request(symbol, "daily", stamp, vec![d]));
                    }
                }
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
    fn daily_and_monthly_zips_with_checksums_per_symbol() {
        let cfg = BinanceConfig {
            symbols: vec!["ADABTC".into(), "ethbtc".into()],
            ..BinanceConfig::default()
        };
        let today = NaiveDate::from_ymd_opt(2021, 12, 5).unwrap();
        let s = BinanceKlines::new("binance_klines", &cfg, today)
            .unwrap()
            .unwrap();
        let days: Vec<i32> = (d(2021, 11, 1)..=d(2021, 12, 1)).collect();
        let r = s.requests(&days).unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(
            r[0].url,
            "https://data.binance.vision/data/spot/monthly/klines/ADABTC/1m/ADABTC-1m-2021-11.zip"
        );
        assert_eq!(r[0].days.len(), 30);
        assert_eq!(
            r[0].checksum,
            Some(Checksum::Sha256File {
                url: format!("{}.CHECKSUM", r[0].url),
                file_name: "ADABTC-1m-2021-11.zip".into()
            })
        );
        assert_eq!(r[1].context["symbol"], "ETHBTC");
        assert_eq!(
            r[2].url,
            "https://data.binance.vision/data/spot/daily/klines/ADABTC/1m/ADABTC-1m-2021-12-01.zip"
        );
        assert!(
            BinanceKlines::new(
                "binance_klines",
                &BinanceConfig {
                    interval: "1M".into(),
                    ..BinanceConfig::default()
                },
                today
            )
            .is_err()
        );
    }
}
