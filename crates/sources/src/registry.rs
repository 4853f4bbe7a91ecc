//! The registry: one [`Source`] per dataset, built from `[sources.*]` of gridlake.toml. Adding a built-in
//! source is a folder beside this file plus a line in [`Registry::new`] (and conformance cases: the testkit's
//! guard fails for a registered source without one).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::binance::{BinanceConfig, BinanceKlines};
use crate::caiso::{CaisoConfig, CaisoOasis};
use crate::http::RateLimitConfig;
use crate::miso::{MisoConfig, MisoReports};
use crate::nyiso::{NyisoConfig, NyisoMis};
use crate::source::{Source, SourceError};
use crate::template::{TemplateConfig, TemplateSource};

/// The dataset the built-in REACH template source fills.
pub const REACH_DATASET: &str = "reach_dosimeter";

/// `[sources]` of gridlake.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesConfig {
    /// CAISO OASIS.
    #[serde(default)]
    pub caiso: CaisoConfig,
    /// MISO market reports.
    #[serde(default)]
    pub miso: MisoConfig,
    /// NYISO MIS.
    #[serde(default)]
    pub nyiso: NyisoConfig,
    /// Binance public data.
    #[serde(default)]
    pub binance: BinanceConfig,
    /// REACH dosimeter files (the archive needs an account: set `url`, and `token_env` if it wants one).
    #[serde(default)]
    pub reach: TemplateConfig,
    /// Further one-file-per-day archives, by name: `[sources.template.<name>]` with `dataset` and `url`.
    #[serde(default)]
    pub template: BTreeMap<String, TemplateConfig>,
}

impl SourcesConfig {
    /// The rate limit of each source family: the configured one, else the source's documented pace (OASIS:
    /// one request per 5 s, never faster) or a polite default.
    pub fn rate_limits(&self) -> BTreeMap<String, RateLimitConfig> {
        let polite = RateLimitConfig::default();
        let oasis = RateLimitConfig {
            initial: 0.2,
            max: 0.2,
            min: 0.02,
            ..RateLimitConfig::default()
        };
        let mut out = BTreeMap::from([
            (
                "caiso".to_string(),
                self.caiso.rate_limit.clone().unwrap_or(oasis),
            ),
            (
                "miso".to_string(),
                self.miso.rate_limit.clone().unwrap_or(polite.clone()),
            ),
            (
                "nyiso".to_string(),
                self.nyiso.rate_limit.clone().unwrap_or(polite.clone()),
            ),
            (
                "binance".to_string(),
                self.binance.rate_limit.clone().unwrap_or(RateLimitConfig {
                    initial: 4.0,
                    max: 16.0,
                    ..RateLimitConfig::default()
                }),
            ),
            (
                "reach".to_string(),
                self.reach.rate_limit.clone().unwrap_or(polite.clone()),
            ),
        ]);
        for (name, t) in &self.template {
            out.insert(
                format!("template.{name}"),
                t.rate_limit.clone().unwrap_or(polite.clone()),
            );
        }
        out
    }

    /// Configured `workers` of a source family.
    pub fn workers(&self, family: &str) -> Option<usize> {
        match family {
            "caiso" => self.caiso.workers,
            "miso" => self.miso.workers,
            "nyiso" => self.nyiso.workers,
            "binance" => self.binance.workers,
            "reach" => self.reach.workers,
            other => other
                .strip_prefix("template.")
                .and_then(|n| self.template.get(n))
                .and_then(|t| t.workers),
        }
    }

    /// Every built-in source pointed at one mirror host, each service's own path layout below it (CAISO under
    /// `/oasisapi`, NYISO under `/public/csv`, REACH files under `/reach/`): how `gridlake demo` and the tests
    /// reach the replay server.
    pub fn mirrored_at(base: &str) -> SourcesConfig {
        let base = base.trim_end_matches('/');
        SourcesConfig {
            caiso: CaisoConfig {
                base_url: Some(format!("{base}/oasisapi")),
                ..CaisoConfig::default()
            },
            miso: MisoConfig {
                base_url: Some(base.to_string()),
                ..MisoConfig::default()
            },
            nyiso: NyisoConfig {
                base_url: Some(format!("{base}/public/csv")),
                ..NyisoConfig::default()
            },
            binance: BinanceConfig {
                base_url: Some(base.to_string()),
                ..BinanceConfig::default()
            },
            reach: TemplateConfig {
                url: Some(format!(
                    "{base}/reach/REACH-ALL_{{date:%Y%m%d}}T000000_{{next:%Y%m%d}}T000000.csv"
                )),
                ..TemplateConfig::default()
            },
            template: BTreeMap::new(),
        }
    }
}

/// Every dataset's source.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_dataset: BTreeMap<String, Arc<dyn Source>>,
}

impl Registry {
    /// The built-in sources plus the configured template sources. `today` decides which months are over
    /// (monthly archives).
    pub fn new(config: &SourcesConfig, today: NaiveDate) -> Result<Registry, SourceError> {
        let mut r = Registry::default();
        for ds in crate::caiso::datasets() {
            if let Some(s) = CaisoOasis::new(ds, &config.caiso) {
                r.insert(Arc::new(s));
            }
        }
        for ds in crate::miso::datasets() {
            if let Some(s) = MisoReports::new(ds, &config.miso) {
                r.insert(Arc::new(s));
            }
        }
        for ds in crate::nyiso::datasets() {
            if let Some(s) = NyisoMis::new(ds, &config.nyiso, today) {
                r.insert(Arc::new(s));
            }
        }
        for ds in crate::binance::datasets() {
            if let Some(s) = BinanceKlines::new(ds, &config.binance, today)? {
                r.insert(Arc::new(s));
            }
        }
        let reach_dataset = config.reach.dataset.as_deref().unwrap_or(REACH_DATASET);
        r.insert(Arc::new(TemplateSource::new(
            "reach",
            reach_dataset,
            &config.reach,
        )?));
        for (name, t) in &config.template {
            let dataset = t.dataset.as_deref().ok_or_else(|| SourceError::Config {
                source_name: format!("template.{name}"),
                message: "`dataset` is missing: name the schema its files fill".into(),
            })?;
            if r.by_dataset.contains_key(dataset) {
                return Err(SourceError::Config {
                    source_name: format!("template.{name}"),
                    message: format!(
                        "dataset `{dataset}` already has a source; a dataset is filled by one source"
                    ),
                });
            }
            r.insert(Arc::new(TemplateSource::new(
                &format!("template.{name}"),
                dataset,
                t,
            )?));
        }
        Ok(r)
    }

    fn insert(&mut self, s: Arc<dyn Source>) {
        self.by_dataset.insert(s.dataset().to_string(), s);
    }

    /// The source of `dataset`.
    pub fn get(&self, dataset: &str) -> Option<&Arc<dyn Source>> {
        self.by_dataset.get(dataset)
    }

    /// Every source, by dataset name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Source>> {
        self.by_dataset.values()
    }
}
