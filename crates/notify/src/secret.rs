//! Secrets held in memory: the SMTP password and the webhook token. They are read once from the
//! environment when the [`Notifier`](crate::Notifier) is built, and from then on can only be
//! reached through [`SecretString::expose`]; `Debug` and `Display` print `[redacted]`.

use std::fmt;

/// What a redacted secret prints as, in `Debug`, `Display` and scrubbed error text.
pub(crate) const REDACTED: &str = "[redacted]";

/// A string that must never be printed. Deliberately neither `Serialize` nor `PartialEq`, so it
/// cannot leak into a summary or be compared in a timing-sensitive way by accident.
#[derive(Clone)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for handing to the SMTP client or the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Replaces every occurrence of every secret in `text` with `[redacted]`.
///
/// Belt and braces: no client library we use is known to echo a password or token into its
/// errors, but a relay's or endpoint's reply text lands in our errors verbatim, and a server
/// that echoes what it was sent would otherwise put the secret into logs. Empty secrets are
/// skipped (replacing "" would redact between every character).
pub(crate) fn scrub(text: &str, secrets: &[SecretString]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        if !s.expose().is_empty() && out.contains(s.expose()) {
            out = out.replace(s.expose(), REDACTED);
        }
    }
    out
}
