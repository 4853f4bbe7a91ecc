//! `gridlake.toml` and where the lake is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use gridlake_lake::LakeLocation;
use gridlake_notify::NotifyConfig;
use gridlake_sources::SourcesConfig;
use gridlake_sources::http::HttpConfig;
use serde::Deserialize;

/// The config file. Unknown keys are errors, so a typo never silently does nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Lake location: a directory (relative to this file) or `s3://bucket/prefix`.
    pub(crate) lake: Option<String>,
    /// Extra or overriding schema files (`*.toml`).
    pub(crate) schema_dir: Option<PathBuf>,
    /// `[sources.<source>]`: base URLs, nodes and symbols, tokens, rate limits, workers.
    #[serde(default)]
    pub(crate) sources: SourcesConfig,
    /// `[datasets.<dataset>]`: what `sync` fetches and how persistently.
    #[serde(default)]
    pub(crate) datasets: BTreeMap<String, DatasetConfig>,
    /// `[http]`: timeouts, retries and the body cap shared by every source.
    #[serde(default)]
    pub(crate) http: HttpConfig,
    /// `[notify]`: email, webhook or command when a run ends with failures.
    #[serde(default)]
    pub(crate) notify: NotifyConfig,
    /// `[leases]`: how long a worker's claim on a day lasts without renewal.
    #[serde(default)]
    pub(crate) leases: LeasesConfig,
    /// `[ledger]`: when `sync` compacts the run records.
    #[serde(default)]
    pub(crate) ledger: LedgerConfig,
}

/// `[ledger]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LedgerConfig {
    /// `import`, `ingest`, `sync` and `backfill` compact a dataset's run records once they span this many
    /// files (one per run that touched the dataset); each file is a GET whenever the dataset's state is read
    /// (default 32; 0 never).
    #[serde(default = "default_compact_after_files")]
    pub(crate) compact_after_files: usize,
}

fn default_compact_after_files() -> usize {
    32
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            compact_after_files: default_compact_after_files(),
        }
    }
}

/// `[leases]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LeasesConfig {
    /// Seconds a lease lasts unless renewed (every third of it); a killed worker's days are free again this
    /// long after it died (default 300).
    #[serde(default = "default_lease_seconds")]
    pub(crate) ttl_seconds: u64,
}

fn default_lease_seconds() -> u64 {
    300
}

impl Default for LeasesConfig {
    fn default() -> Self {
        LeasesConfig {
            ttl_seconds: default_lease_seconds(),
        }
    }
}

/// `[datasets.<dataset>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatasetConfig {
    /// Whether `sync` fetches it (default true where its source can be fetched without further config).
    pub(crate) active: Option<bool>,
    /// First day `sync` and `backfill` care about (`start = 2024-01-01`, a TOML date, or a string).
    #[serde(default, deserialize_with = "toml_date")]
    pub(crate) start: Option<chrono::NaiveDate>,
    /// Recent days re-checked for revisions on every run (default 0).
    #[serde(default)]
    pub(crate) refresh_days: u32,
    /// Failed or incomplete attempts after which a day is left alone until `--retry-failed` (default 5).
    #[serde(default = "default_max_attempts")]
    pub(crate) max_attempts: u32,
}

/// A day written as a TOML date (`2024-01-01`) or as a string (`"2024-01-01"`).
fn toml_date<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<chrono::NaiveDate>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum DateText {
        Toml(toml::value::Datetime),
        Text(String),
    }
    let text = match DateText::deserialize(d)? {
        DateText::Toml(t) => t.to_string(),
        DateText::Text(s) => s,
    };
    chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a date; write YYYY-MM-DD")))
}

fn default_max_attempts() -> u32 {
    5
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            active: None,
            start: None,
            refresh_days: 0,
            max_attempts: default_max_attempts(),
        }
    }
}

impl Config {
    /// Reads `--config FILE`, else `./gridlake.toml` if present, else the defaults.
    pub(crate) fn load(explicit: Option<&Path>) -> anyhow::Result<(Config, Option<PathBuf>)> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = PathBuf::from("gridlake.toml");
                if !p.exists() {
                    return Ok((Config::default(), None));
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read config file {}; check the path given to --config",
                path.display()
            )
        })?;
        let config: Config = toml::from_str(&text).with_context(|| {
            format!(
                "config file {} is not valid; fix the key named above (see README: Configuration)",
                path.display()
            )
        })?;
        Ok((config, Some(path)))
    }

    /// The settings of `dataset` (defaults when it has no table).
    pub(crate) fn dataset(&self, dataset: &str) -> DatasetConfig {
        self.datasets.get(dataset).cloned().unwrap_or_default()
    }

    /// The schema directory, relative to the config file when relative.
    pub(crate) fn resolve_schema_dir(&self, config_path: Option<&Path>) -> Option<PathBuf> {
        self.schema_dir
            .as_ref()
            .map(|d| relative_to_config(d.clone(), config_path))
    }

    /// `--lake`, else `GRIDLAKE_LAKE`, else `lake` in the config, else `./gridlake-lake`. Each may be a
    /// directory or `s3://bucket/prefix`.
    pub(crate) fn resolve_lake(
        &self,
        flag: Option<&str>,
        config_path: Option<&Path>,
    ) -> anyhow::Result<LakeLocation> {
        if let Some(l) = flag {
            return Ok(LakeLocation::parse(l)?);
        }
        if let Some(l) = std::env::var("GRIDLAKE_LAKE")
            .ok()
            .filter(|v| !v.is_empty())
        {
            return Ok(LakeLocation::parse(&l)?);
        }
        if let Some(l) = &self.lake {
            return Ok(match LakeLocation::parse(l)? {
                LakeLocation::Local(dir) => {
                    LakeLocation::Local(relative_to_config(dir, config_path))
                }
                s3 => s3,
            });
        }
        Ok(LakeLocation::Local(PathBuf::from("gridlake-lake")))
    }
}

/// A relative path in a config file is relative to that file, not to wherever cron runs us.
fn relative_to_config(p: PathBuf, config_path: Option<&Path>) -> PathBuf {
    match config_path.and_then(Path::parent) {
        Some(dir) if p.is_relative() && !dir.as_os_str().is_empty() => dir.join(p),
        _ => p,
    }
}
