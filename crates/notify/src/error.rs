//! Two error types for two moments. [`NotifyError`] is a configuration problem found when the
//! [`Notifier`](crate::Notifier) is built, before the run starts, so a cron job fails fast on a
//! typo instead of discovering it after a night of ingest. [`DeliveryError`] is one channel
//! failing to deliver after the run; it is reported in a
//! [`DeliveryOutcome`](crate::DeliveryOutcome), never propagated, because a broken mail relay
//! must not change whether the run itself succeeded.
//!
//! Neither ever holds a secret: config errors name environment variables, not their values,
//! and delivery errors are scrubbed of every secret value before they leave the channel.

use std::path::PathBuf;

use crate::secret::{SecretString, scrub};

/// A `[notify]` configuration that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// A `*_env` setting names a variable that is unset, empty or not UTF-8.
    #[error(
        "notify.{channel}.{setting} names the environment variable `{var}`, which is not set \
         (or is empty); export it where gridlake runs (cron does not read your shell profile) \
         or remove `{setting}`"
    )]
    MissingSecret {
        /// `email` or `webhook`.
        channel: &'static str,
        /// `password_env` or `token_env`.
        setting: &'static str,
        /// The variable's name.
        var: String,
    },
    /// A setting has a value the channel cannot use.
    #[error("notify.{channel}: {reason}")]
    Invalid {
        /// `email`, `webhook` or `command`.
        channel: &'static str,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// `notify.email.ca_file` could not be read.
    #[error(
        "notify.email.ca_file: cannot read {}: {source}; point it at a PEM file of root \
         certificates or remove it",
        path.display()
    )]
    ReadCaFile {
        /// The configured path.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
}

impl NotifyError {
    pub(crate) fn invalid(channel: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            channel,
            reason: reason.into(),
        }
    }
}

/// Why one channel did not deliver. Every text field has been scrubbed of secret values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The email could not be put together (an address or header the builder refused).
    #[error("could not build the notification email: {message}")]
    BuildEmail {
        /// The builder's complaint.
        message: String,
    },
    /// The SMTP conversation failed: connection, TLS, AUTH or a refused recipient.
    #[error(
        "email via {server} failed: {message}; check notify.email host, port, security, \
         ca_file, username and the password in password_env"
    )]
    Smtp {
        /// `host:port`.
        server: String,
        /// The client's error, with the relay's reply when there was one.
        message: String,
    },
    /// The webhook request did not complete (DNS, connect, TLS, timeout).
    #[error(
        "webhook {target} unreachable: {message}; check notify.webhook.url and that the \
         endpoint is up"
    )]
    Http {
        /// Scheme, host and port of the URL (never its path, which may be a credential).
        target: String,
        /// The client's error chain.
        message: String,
    },
    /// The webhook answered with a status other than 2xx (redirects are not followed).
    #[error(
        "webhook {target} answered HTTP {status}: {body}; check notify.webhook.url, the token \
         in token_env and the receiver's logs"
    )]
    HttpStatus {
        /// Scheme, host and port of the URL.
        target: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The notify command could not be started or fed.
    #[error(
        "notify command `{program}` could not run: {message}; check that notify.command.argv[0] \
         exists and is executable (use an absolute path: cron's PATH is minimal)"
    )]
    Spawn {
        /// `argv[0]`.
        program: String,
        /// The OS error.
        message: String,
    },
    /// The notify command ran and exited unsuccessfully.
    #[error("notify command `{program}` {status}; its stderr ended with: {stderr}")]
    CommandFailed {
        /// `argv[0]`.
        program: String,
        /// `exited with code N` or `was killed by signal N`.
        status: String,
        /// The last lines it wrote to stderr.
        stderr: String,
    },
    /// The channel did not finish in time and was abandoned (a command is killed).
    #[error(
        "{channel} notification to {target} timed out after {secs} s; raise \
         notify.{channel}.timeout_secs or check that the target is reachable"
    )]
    Timeout {
        /// `email`, `webhook` or `command`.
        channel: &'static str,
        /// What it was talking to.
        target: String,
        /// The configured timeout.
        secs: u64,
    },
    /// The channel's task panicked; a bug in gridlake or a library, reported instead of
    /// taking the run down with it.
    #[error("{channel} notification crashed: {message}; please report this as a gridlake bug")]
    Panicked {
        /// `email`, `webhook` or `command`.
        channel: &'static str,
        /// The panic payload, when it was a string.
        message: String,
    },
}

impl DeliveryError {
    /// The same error with every occurrence of every secret replaced by `[redacted]`.
    pub(crate) fn scrubbed(self, secrets: &[SecretString]) -> Self {
        let s = |text: String| scrub(&text, secrets);
        match self {
            Self::BuildEmail { message } => Self::BuildEmail {
                message: s(message),
            },
            Self::Smtp { server, message } => Self::Smtp {
                server: s(server),
                message: s(message),
            },
            Self::Http { target, message } => Self::Http {
                target: s(target),
                message: s(message),
            },
            Self::HttpStatus {
                target,
                status,
                body,
            } => Self::HttpStatus {
                target: s(target),
                status,
                body: s(body),
            },
            Self::Spawn { program, message } => Self::Spawn {
                program: s(program),
                message: s(message),
            },
            Self::CommandFailed {
                program,
                status,
                stderr,
            } => Self::CommandFailed {
                program: s(program),
                status,
                stderr: s(stderr),
            },
            Self::Timeout {
                channel,
                target,
                secs,
            } => Self::Timeout {
                channel,
                target: s(target),
                secs,
            },
            Self::Panicked { channel, message } => Self::Panicked {
                channel,
                message: s(message),
            },
        }
    }
}

/// `err` and its sources joined with ": ", because reqwest's `Display` alone says only "error
/// sending request" and hides the cause (connection refused, certificate unknown, …).
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors already print their source; do not repeat it.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// At most `max` bytes of `text` (cut on a char boundary), marking the cut; keeps a chatty
/// endpoint's HTML error page or a command's stderr from flooding the log.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The last `max` bytes of `text` (cut on a char boundary): a failing program's stderr ends
/// with the line that matters.
pub(crate) fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}
