//! The `[notify]` table of `gridlake.toml`, as typed serde structs. An unknown key is an error
//! (`deny_unknown_fields`), so a typo such as `passwd_env` fails at startup instead of silently
//! sending nothing at 3 a.m. Secrets are never values here: only the NAMES of the environment
//! variables that hold them (`password_env`, `token_env`), so the config file can be committed.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Timeout of one channel when `timeout_secs` is not set: long enough for a slow relay's
/// greeting and TLS handshake, short enough that a dead endpoint cannot hold a cron run open.
const DEFAULT_TIMEOUT_SECS: u64 = 30;

fn default_timeout_secs() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

/// `[notify]`: when to notify, and through which channels. Every channel is optional; with
/// none configured, notifying does nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// When a run sends notifications (default: only when it finished with failures).
    #[serde(default)]
    pub on: NotifyOn,
    /// `[notify.email]`: mail through an SMTP relay.
    pub email: Option<EmailConfig>,
    /// `[notify.webhook]`: an HTTP POST (a generic JSON receiver or a Slack incoming webhook).
    pub webhook: Option<WebhookConfig>,
    /// `[notify.command]`: a local program fed the summary JSON on stdin.
    pub command: Option<CommandConfig>,
}

/// `on = "failure" | "always"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyOn {
    /// Only runs that finished with failures (`RunReport::failed`) notify.
    #[default]
    Failure,
    /// Every run notifies, successful ones included (a nightly "all good" mail).
    Always,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is then required: a relay that does not
    /// offer it is an error, never a silent fallback to clear text. Default port 587.
    #[default]
    Starttls,
    /// TLS from the first byte ("implicit TLS", SMTPS). Default port 465.
    Tls,
    /// No encryption at all, for a relay on the same host. Refused together with credentials,
    /// which would otherwise cross the network in clear text. Default port 25.
    None,
}

impl SmtpSecurity {
    /// The IANA port for this kind of connection.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Starttls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// `[notify.email]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// SMTP relay host name (or IP address; the certificate must then name that address).
    pub host: String,
    /// SMTP port; default by `security`: 587 (starttls), 465 (tls), 25 (none).
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// SMTP AUTH user name; set it together with `password_env`, or neither for a relay that
    /// accepts mail without authentication.
    pub username: Option<String>,
    /// NAME of the environment variable that holds the SMTP password (never the password).
    pub password_env: Option<String>,
    /// Sender, `addr@example.com` or `Name <addr@example.com>`.
    pub from: String,
    /// Recipients (at least one).
    pub to: Vec<String>,
    /// PEM file with extra root certificates to trust (a corporate relay's CA, a test server's
    /// self-signed root), in addition to the built-in Mozilla roots. A relative path is taken
    /// relative to the working directory.
    pub ca_file: Option<PathBuf>,
    /// Whole-delivery timeout in seconds (connect, TLS, AUTH and DATA together); default 30.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl EmailConfig {
    /// `port`, or the default port of `security`.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.security.default_port())
    }

    /// `timeout_secs` as a `Duration`.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

/// What the webhook POSTs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// The run summary JSON, exactly as `--json` prints it.
    #[default]
    Json,
    /// `{"text": "..."}`: the subject line and the human summary, as a Slack incoming webhook
    /// (and Mattermost, Rocket.Chat, Teams' Slack-compatible endpoints) expects.
    Slack,
}

/// `[notify.webhook]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL. Slack-style webhook URLs are credentials in themselves, so
    /// logs, errors and `Debug` show only the URL's scheme, host and port.
    pub url: String,
    /// NAME of the environment variable holding a token sent as `Authorization: Bearer …`.
    pub token_env: Option<String>,
    /// `json` (default) or `slack`.
    #[serde(default)]
    pub format: WebhookFormat,
    /// Request timeout in seconds (connect to last body byte); default 30.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl WebhookConfig {
    /// `timeout_secs` as a `Duration`.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

// Hand-written so that a `{:?}` of the whole config (as the CLI may log at startup) never
// prints a Slack webhook's secret path.
impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &crate::webhook::redacted_url(&self.url))
            .field("token_env", &self.token_env)
            .field("format", &self.format)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// `[notify.command]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// Program and arguments, run directly (no shell). Prefer an absolute path: cron's `PATH`
    /// is minimal. The program gets the summary JSON on stdin and `GRIDLAKE_OUTCOME`
    /// (`failure` or `success`), `GRIDLAKE_COMMAND` and `GRIDLAKE_LAKE` in its environment; its
    /// stdout is discarded so it cannot corrupt gridlake's own `--json` output.
    pub argv: Vec<String>,
    /// Seconds before the program is killed and the delivery counted as failed; default 30.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl CommandConfig {
    /// `timeout_secs` as a `Duration`.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}
