//! The template source: a URL with date fields (`{date:%Y%m%d}`, `{next:%Y%m%d}` for the following day), an
//! optional token sent as a header from an environment variable, and a content kind. A new archive that
//! serves one file per day is config only (`[sources.template.<name>]`); REACH dosimeter telemetry, whose API
//! needs an account, is the built-in one (`[sources.reach]`).

use std::collections::BTreeMap;

use chrono::format::{Item, StrftimeItems};
use chrono::{Days, NaiveDate};
use serde::Deserialize;

use crate::source::{
    Content, Publication, SecretHeader, Source, SourceError, SourceRequest, date_of,
};

/// `[sources.reach]` / `[sources.template.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// Pace of requests to the source's host (AIMD; default per source).
    pub rate_limit: Option<crate::http::RateLimitConfig>,
    /// Requests in flight at once (default 4; `--jobs` overrides).
    pub workers: Option<usize>,
    /// The dataset (schema name) the files fill.
    pub dataset: Option<String>,
    /// URL template, http(s) only: `https://host/REACH-ALL_{date:%Y%m%d}T000000_{next:%Y%m%d}T000000.csv`.
    pub url: Option<String>,
    /// Whether `sync` fetches it.
    #[serde(default = "yes")]
    pub active: bool,
    /// Packing of each file.
    #[serde(default = "csv")]
    pub content: Content,
    /// Environment variable holding a token, sent as `token_header: token_prefix + token`.
    pub token_env: Option<String>,
    /// Header carrying the token.
    #[serde(default = "authorization")]
    pub token_header: String,
    /// Text before the token in the header.
    #[serde(default = "bearer")]
    pub token_prefix: String,
    /// First day the archive serves.
    pub earliest: Option<NaiveDate>,
    /// Days until a day's file is final.
    #[serde(default = "one")]
    pub lag_days: i64,
}

fn yes() -> bool {
    true
}
fn csv() -> Content {
    Content::Csv
}
fn authorization() -> String {
    "Authorization".into()
}
fn bearer() -> String {
    "Bearer ".into()
}
fn one() -> i64 {
    1
}

impl Default for TemplateConfig {
    fn default() -> Self {
        TemplateConfig {
            dataset: None,
            url: None,
            active: true,
            content: Content::Csv,
            token_env: None,
            token_header: authorization(),
            token_prefix: bearer(),
            earliest: None,
            lag_days: 1,
            rate_limit: None,
            workers: None,
        }
    }
}

/// A compiled URL template.
#[derive(Debug, Clone)]
pub struct UrlTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Date { next: bool, format: String },
}

impl UrlTemplate {
    /// Parses a template; fields are `{date:FMT}` and `{next:FMT}` with a chrono strftime format.
    pub fn parse(template: &str) -> Result<UrlTemplate, String> {
        let lower = template.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(format!(
                "the URL template `{template}` must start with http:// or https:// (other schemes, file:// included, are refused)"
            ));
        }
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .ok_or_else(|| format!("unclosed `{{` in the URL template `{template}`"))?;
            let field = &rest[open + 1..close];
            let (name, format) = field.split_once(':').ok_or_else(|| {
                format!("URL template field `{{{field}}}` wants a format, e.g. {{date:%Y%m%d}}")
            })?;
            let next = match name {
                "date" => false,
                "next" => true,
                other => {
                    return Err(format!(
                        "unknown URL template field `{other}`; the fields are `date` and `next` (the following day)"
                    ));
                }
            };
            if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
                return Err(format!(
                    "`{format}` in the URL template is not a valid strftime format"
                ));
            }
            parts.push(Part::Date {
                next,
                format: format.to_string(),
            });
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(UrlTemplate { parts })
    }

    /// The URL for one day.
    pub fn render(&self, date: NaiveDate) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Date { next, format } => {
                    let d = if *next {
                        date.checked_add_days(Days::new(1)).unwrap_or(date)
                    } else {
                        date
                    };
                    out.push_str(&d.format(format).to_string());
                }
            }
        }
        out
    }
}

/// One file per day from a URL template.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    family: String,
    dataset: String,
    url: Option<UrlTemplate>,
    config: TemplateConfig,
}

impl TemplateSource {
    /// Builds the source `family` for `dataset`. A missing URL is only an error when days are requested, so a
    /// lake can list and query the dataset without the account its archive needs.
    pub fn new(
        family: &str,
        dataset: &str,
        config: &TemplateConfig,
    ) -> Result<TemplateSource, SourceError> {
        let url = match &config.url {
            Some(u) => Some(
                UrlTemplate::parse(u).map_err(|message| SourceError::Config {
                    source_name: family.to_string(),
                    message,
                })?,
            ),
            None => None,
        };
        Ok(TemplateSource {
            family: family.to_string(),
            dataset: dataset.to_string(),
            url,
            config: config.clone(),
        })
    }

    /// Whether `sync` should fetch it.
    pub fn active(&self) -> bool {
        self.config.active && self.url.is_some()
    }
}

impl Source for TemplateSource {
    fn family(&self) -> &str {
        &self.family
    }

    fn dataset(&self) -> &str {
        &self.dataset
    }

    fn publication(&self) -> Publication {
        Publication {
            earliest: self
                .config
                .earliest
                .unwrap_or(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()),
            lag_days: self.config.lag_days,
        }
    }

    fn requests(&self, days: &[i32]) -> Result<Vec<SourceRequest>, SourceError> {
        let url = self.url.as_ref().ok_or_else(|| SourceError::Config {
            source_name: self.family.clone(),
            message: format!(
                "no `url` is set, so {} cannot be fetched; set `url = \"https://…{{date:%Y%m%d}}…\"` (and `token_env` if the archive needs a token)",
                self.dataset
            ),
        })?;
        let secret_headers = self
            .config
            .token_env
            .iter()
            .map(|env_var| SecretHeader {
                name: self.config.token_header.clone(),
                env_var: env_var.clone(),
                prefix: self.config.token_prefix.clone(),
            })
            .collect::<Vec<_>>();
        Ok(days
            .iter()
            .map(|&day| {
                let url = url.render(date_of(day));
                SourceRequest {
                    input_name: file_name_of(&url),
                    url,
                    days: vec![day],
                    content: self.config.content,
                    checksum: None,
                    context: BTreeMap::new(),
                    secret_headers: secret_headers.clone(),
                }
            })
            .collect())
    }
}

/// The last path segment of a URL (without its query), the name a downloaded file is known by.
pub(crate) fn file_name_of(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or(path)
        .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_date_fields() {
        let t =
            UrlTemplate::parse("https://h/REACH-ALL_{date:%Y%m%d}T000000_{next:%Y%m%d}T000000.csv")
                .unwrap();
        assert_eq!(
            t.render(NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()),
            "https://h/REACH-ALL_20251231T000000_20260101T000000.csv"
        );
    }

    #[test]
    fn refuses_other_schemes_and_bad_fields() {
        assert!(UrlTemplate::parse("file:///etc/{date:%Y}").is_err());
        assert!(UrlTemplate::parse("ftp://h/{date:%Y}").is_err());
        assert!(UrlTemplate::parse("https://h/{day:%Y}").is_err());
        assert!(UrlTemplate::parse("https://h/{date}").is_err());
        assert!(UrlTemplate::parse("https://h/{date:%Y").is_err());
    }

    #[test]
    fn token_travels_as_a_named_env_var_not_a_value() {
        let cfg = TemplateConfig {
            url: Some("https://h/{date:%Y%m%d}.csv".into()),
            token_env: Some("REACH_TOKEN".into()),
            ..TemplateConfig::default()
        };
        let s = TemplateSource::new("reach", "reach_dosimeter", &cfg).unwrap();
        let r = s.requests(&[0]).unwrap();
        assert_eq!(r[0].url, "https://h/19700101.csv");
        assert_eq!(r[0].input_name, "19700101.csv");
        assert_eq!(r[0].secret_headers[0].env_var, "REACH_TOKEN");
        let none =
            TemplateSource::new("reach", "reach_dosimeter", &TemplateConfig::default()).unwrap();
        assert!(none.requests(&[0]).unwrap_err().to_string().contains("url"));
    }
}
