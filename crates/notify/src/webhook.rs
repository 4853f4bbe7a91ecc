//! The webhook channel: one HTTP POST with reqwest over rustls.
//!
//! Redirects are not followed: a webhook that redirects is misconfigured, and following one
//! could carry the bearer token to another host. The URL's path and query are never shown
//! (Slack's incoming-webhook URL is itself the credential): targets in outcomes and errors are
//! `scheme://host:port` only.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use reqwest::{Client, Url, redirect};

use crate::config::{WebhookConfig, WebhookFormat};
use crate::error::{DeliveryError, NotifyError, error_chain, truncate};
use crate::report::RunReport;
use crate::secret::SecretString;

/// Slack truncates a message's `text` at 40,000 characters; stay under it with room for the
/// subject line, cutting the human summary rather than having Slack cut the end off.
const SLACK_TEXT_MAX_BYTES: usize = 38_000;

/// How much of an error response body ends up in the error text.
const ERROR_BODY_MAX_BYTES: usize = 300;

/// A validated `[notify.webhook]` with its HTTP client.
pub(crate) struct WebhookChannel {
    url: Url,
    token: Option<SecretString>,
    format: WebhookFormat,
    timeout_secs: u64,
    client: Client,
}

// Hand-written: a derived `Debug` would print the whole URL, path included.
impl std::fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookChannel")
            .field("target", &self.target())
            .field("token", &self.token)
            .field("format", &self.format)
            .field("timeout_secs", &self.timeout_secs)
            .finish_non_exhaustive()
    }
}

impl WebhookChannel {
    pub(crate) fn new(
        config: &WebhookConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, NotifyError> {
        let invalid = |reason: String| NotifyError::invalid("webhook", reason);
        // The parse error is about the URL's syntax, so it never quotes the URL itself.
        let url = Url::parse(&config.url)
            .map_err(|e| invalid(format!("`url` is not a valid URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "`url` scheme is `{}`; only http:// and https:// are supported",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "`url` carries a user name or password; put the credential in the variable \
                 named by `token_env` instead"
                    .into(),
            ));
        }
        if config.timeout_secs == 0 {
            return Err(invalid("`timeout_secs` must be at least 1".into()));
        }
        let token = match &config.token_env {
            None => None,
            Some(var) => {
                let token = env(var).filter(|t| !t.is_empty()).ok_or_else(|| {
                    NotifyError::MissingSecret {
                        channel: "webhook",
                        setting: "token_env",
                        var: var.clone(),
                    }
                })?;
                if HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
                    return Err(invalid(format!(
                        "the token in `{var}` contains characters not allowed in an HTTP \
                         header (a trailing newline?)"
                    )));
                }
                Some(SecretString::new(token))
            }
        };
        if token.is_some() && url.scheme() == "http" && !is_loopback(&url) {
            return Err(invalid(
                "`token_env` with a plain http:// URL would send the token in clear text; use \
                 https://"
                    .into(),
            ));
        }
        let mut client = Client::builder()
            .redirect(redirect::Policy::none())
            .timeout(config.timeout());
        if is_loopback(&url) {
            // `HTTPS_PROXY`/`HTTP_PROXY` are honoured, but a proxy cannot reach our loopback.
            client = client.no_proxy();
        }
        let client = client.build().map_err(|e| {
            invalid(format!(
                "cannot set up the HTTP client: {}",
                error_chain(&e)
            ))
        })?;
        Ok(Self {
            url,
            token,
            format: config.format,
            timeout_secs: config.timeout_secs,
            client,
        })
    }

    /// `scheme://host:port` of the URL, for outcomes and logs.
    pub(crate) fn target(&self) -> String {
        origin(&self.url)
    }

    pub(crate) fn timeout_secs(&self) -> u64 {
        self.timeout_secs
    }

    /// The secret this channel holds, for scrubbing error text.
    pub(crate) fn secret(&self) -> Option<&SecretString> {
        self.token.as_ref()
    }

    pub(crate) async fn deliver(&self, report: &RunReport) -> Result<(), DeliveryError> {
        let body = match self.format {
            WebhookFormat::Json => report.summary_json.clone(),
            WebhookFormat::Slack => serde_json::json!({ "text": slack_text(report) }),
        };
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("gridlake/", env!("CARGO_PKG_VERSION")))
            .body(body.to_string());
        if let Some(token) = &self.token {
            // Validated in `new`; marked sensitive so hyper and reqwest never print it.
            if let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
        }
        let response = request.send().await.map_err(|e| self.http_error(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(DeliveryError::HttpStatus {
            target: self.target(),
            status: status.as_u16(),
            body: truncate(body.trim(), ERROR_BODY_MAX_BYTES),
        })
    }

    fn http_error(&self, err: reqwest::Error) -> DeliveryError {
        // `without_url` because reqwest's errors print the full URL, path and query included.
        let err = err.without_url();
        DeliveryError::Http {
            target: self.target(),
            message: error_chain(&err),
        }
    }
}

/// The Slack message: the subject as a bold first line, then the human summary.
fn slack_text(report: &RunReport) -> String {
    let text = format!("*{}*\n{}", report.subject(), report.text.trim_end());
    truncate(&text, SLACK_TEXT_MAX_BYTES)
}

fn is_loopback(url: &Url) -> bool {
    // `host_str` keeps an IPv6 literal's brackets.
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn origin(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        _ => url.scheme().to_owned(),
    }
}

/// `scheme://host:port` of a configured URL, or a placeholder when it does not parse; for
/// `Debug` of the config, which must not show the path.
pub(crate) fn redacted_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(url) => format!("{}/[redacted]", origin(&url)),
        Err(_) => "[unparsable url]".to_owned(),
    }
}
