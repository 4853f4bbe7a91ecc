//! `gridlake.toml` and where the lake is.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The config file. Unknown keys are errors, so a typo never silently does nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Lake location (a directory).
    pub(crate) lake: Option<String>,
    /// Extra or overriding schema files (`*.toml`).
    pub(crate) schema_dir: Option<PathBuf>,
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

    /// The schema directory, relative to the config file when relative.
    pub(crate) fn resolve_schema_dir(&self, config_path: Option<&Path>) -> Option<PathBuf> {
        self.schema_dir
            .as_ref()
            .map(|d| relative_to_config(d.clone(), config_path))
    }

    /// `--lake`, else `GRIDLAKE_LAKE`, else `lake` in the config, else `./gridlake-lake`.
    pub(crate) fn resolve_lake(&self, flag: Option<&str>, config_path: Option<&Path>) -> PathBuf {
        if let Some(l) = flag {
            return PathBuf::from(l);
        }
        if let Some(l) = std::env::var_os("GRIDLAKE_LAKE").filter(|v| !v.is_empty()) {
            return PathBuf::from(l);
        }
        if let Some(l) = &self.lake {
            return relative_to_config(PathBuf::from(l), config_path);
        }
        PathBuf::from("gridlake-lake")
    }
}

/// A relative path in a config file is relative to that file, not to wherever cron runs us.
fn relative_to_config(p: PathBuf, config_path: Option<&Path>) -> PathBuf {
    match config_path.and_then(Path::parent) {
        Some(dir) if p.is_relative() && !dir.as_os_str().is_empty() => dir.join(p),
        _ => p,
    }
}
