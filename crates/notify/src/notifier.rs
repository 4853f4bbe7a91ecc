//! [`Notifier`]: the validated channels, and the fan-out that delivers one report through all
//! of them at once, each in its own task with its own timeout.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::command::CommandChannel;
use crate::config::{NotifyConfig, NotifyOn};
use crate::email::EmailChannel;
use crate::error::{DeliveryError, NotifyError};
use crate::report::RunReport;
use crate::secret::SecretString;
use crate::webhook::WebhookChannel;

/// A notification channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Channel {
    /// `[notify.email]`.
    Email,
    /// `[notify.webhook]`.
    Webhook,
    /// `[notify.command]`.
    Command,
}

impl Channel {
    /// `email`, `webhook` or `command`, as in the config.
    pub fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
            Self::Command => "command",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happened to one channel's delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// Which channel.
    pub channel: Channel,
    /// What it talked to, without secrets: `host:port`, `scheme://host:port` or `argv[0]`.
    pub target: String,
    /// `Ok` when delivered; the error is already scrubbed of secrets and logged.
    pub result: Result<(), DeliveryError>,
}

impl DeliveryOutcome {
    /// Whether the notification went out.
    pub fn is_delivered(&self) -> bool {
        self.result.is_ok()
    }
}

/// Sends run reports through the configured channels.
///
/// Built once at startup, so that configuration mistakes (a missing password variable, a bad
/// address) stop the run before it starts instead of after it ends.
#[derive(Debug, Clone)]
pub struct Notifier {
    on: NotifyOn,
    // `Arc` so each delivery can run in its own spawned task (isolating a panic) without
    // cloning the HTTP client or re-reading the CA file.
    email: Option<Arc<EmailChannel>>,
    webhook: Option<Arc<WebhookChannel>>,
    command: Option<Arc<CommandChannel>>,
    /// Every secret any channel holds; each error is scrubbed of all of them, not just its own
    /// channel's, in case a user reuses one value for two settings.
    secrets: Arc<[SecretString]>,
}

impl Notifier {
    /// Validates `config` and reads the secrets it names from the process environment.
    pub fn new(config: NotifyConfig) -> Result<Self, NotifyError> {
        Self::with_env(config, |name| std::env::var(name).ok())
    }

    /// Like [`Notifier::new`], with the environment lookup supplied by the caller (tests, and
    /// embedders that keep secrets elsewhere). `env` gets a variable's name and returns its
    /// value.
    pub fn with_env(
        config: NotifyConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, NotifyError> {
        let email = config
            .email
            .as_ref()
            .map(|c| EmailChannel::new(c, &env))
            .transpose()?;
        let webhook = config
            .webhook
            .as_ref()
            .map(|c| WebhookChannel::new(c, &env))
            .transpose()?;
        let command = config
            .command
            .as_ref()
            .map(CommandChannel::new)
            .transpose()?;
        let secrets: Vec<SecretString> = email
            .as_ref()
            .and_then(|e| e.secret())
            .into_iter()
            .chain(webhook.as_ref().and_then(|w| w.secret()))
            .cloned()
            .collect();
        Ok(Self {
            on: config.on,
            email: email.map(Arc::new),
            webhook: webhook.map(Arc::new),
            command: command.map(Arc::new),
            secrets: secrets.into(),
        })
    }

    /// Whether any channel is configured.
    pub fn is_enabled(&self) -> bool {
        self.email.is_some() || self.webhook.is_some() || self.command.is_some()
    }

    /// Sends `report` through every channel, concurrently, unless `on = "failure"` and the run
    /// did not fail (then nothing is sent and the result is empty). Never fails and never
    /// panics: each channel's result is in the returned outcomes (in config order: email,
    /// webhook, command), and each failure is also logged as a `tracing` warning. Call it from
    /// within a Tokio runtime (the CLI's): each channel is a spawned task.
    pub async fn notify(&self, report: &RunReport) -> Vec<DeliveryOutcome> {
        if self.on == NotifyOn::Failure && !report.failed {
            tracing::debug!("run succeeded and notify.on = \"failure\": nothing to send");
            return Vec::new();
        }
        let report = Arc::new(report.clone());
        let mut tasks = Vec::new();
        if let Some(email) = &self.email {
            let (email, report) = (Arc::clone(email), Arc::clone(&report));
            let target = email.target();
            let secs = email.timeout_secs();
            tasks.push(spawn_delivery(Channel::Email, target, secs, async move {
                email.deliver(&report).await
            }));
        }
        if let Some(webhook) = &self.webhook {
            let (webhook, report) = (Arc::clone(webhook), Arc::clone(&report));
            let target = webhook.target();
            let secs = webhook.timeout_secs();
            tasks.push(spawn_delivery(Channel::Webhook, target, secs, async move {
                webhook.deliver(&report).await
            }));
        }
        if let Some(command) = &self.command {
            let (command, report) = (Arc::clone(command), Arc::clone(&report));
            let target = command.target();
            let secs = command.timeout_secs();
            tasks.push(spawn_delivery(Channel::Command, target, secs, async move {
                command.deliver(&report).await
            }));
        }
        let mut outcomes = Vec::with_capacity(tasks.len());
        for (channel, target, task) in tasks {
            let result = match task.await {
                Ok(result) => result,
                Err(join) => Err(DeliveryError::Panicked {
                    channel: channel.name(),
                    message: panic_message(join),
                }),
            };
            let result = result.map_err(|e| e.scrubbed(&self.secrets));
            match &result {
                Ok(()) => tracing::info!(%channel, %target, "run notification delivered"),
                Err(error) => {
                    tracing::warn!(%channel, %target, %error, "run notification not delivered");
                }
            }
            outcomes.push(DeliveryOutcome {
                channel,
                target,
                result,
            });
        }
        outcomes
    }
}

/// Runs one delivery in its own task under `timeout_secs`, so a panic or a hang in one
/// channel cannot touch the others or the caller.
fn spawn_delivery(
    channel: Channel,
    target: String,
    timeout_secs: u64,
    delivery: impl Future<Output = Result<(), DeliveryError>> + Send + 'static,
) -> (
    Channel,
    String,
    tokio::task::JoinHandle<Result<(), DeliveryError>>,
) {
    let timeout_target = target.clone();
    let task = tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(timeout_secs), delivery)
            .await
            .unwrap_or_else(|_elapsed| {
                Err(DeliveryError::Timeout {
                    channel: channel.name(),
                    target: timeout_target,
                    secs: timeout_secs,
                })
            })
    });
    (channel, target, task)
}

fn panic_message(join: tokio::task::JoinError) -> String {
    match join.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned()),
        Err(join) => join.to_string(),
    }
}
