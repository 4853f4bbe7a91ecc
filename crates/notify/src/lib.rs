//! Tells people how a gridlake run ended. A [`Notifier`] is built once from the `[notify]` table
//! of `gridlake.toml` ([`NotifyConfig`]) and, after the run, [`Notifier::notify`] sends a
//! [`RunReport`] through every configured channel at once: an email through an SMTP relay
//! (lettre, STARTTLS or implicit TLS over rustls), an HTTP POST of the summary JSON or of a
//! Slack-style `{"text": …}` (reqwest), and a local command fed the JSON on stdin. By default
//! only failed runs notify (`on = "failure"`); `on = "always"` sends every run. Delivery is
//! best effort by design: each channel runs in its own task with its own timeout, and its
//! success or failure comes back as a [`DeliveryOutcome`] (and a `tracing` warning), never as an
//! error or a panic, so a dead mail relay cannot change a run's exit code. Secrets (the SMTP
//! password, the webhook token) are read from environment variables named in the config, held
//! as [`SecretString`] and scrubbed from every error. This crate owns no run logic: it neither
//! decides that a run failed nor builds the summary; the CLI does both and hands them over.

mod command;
mod config;
mod email;
mod error;
mod notifier;
mod report;
mod secret;
mod webhook;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use config::{
    CommandConfig, EmailConfig, NotifyConfig, NotifyOn, SmtpSecurity, WebhookConfig, WebhookFormat,
};
pub use error::{DeliveryError, NotifyError};
pub use notifier::{Channel, DeliveryOutcome, Notifier};
pub use report::RunReport;
pub use secret::SecretString;
