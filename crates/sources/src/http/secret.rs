//! Keeping secrets out of output: [`SecretString`] for header values, [`redact`] for URLs.

use serde::Deserialize;

/// A string that must never be printed: an API token, a cookie, a password. `Debug` and
/// `Display` both write `***`, so a secret can sit in a request, a config struct or an error
/// without leaking through `{:?}`, a log line or a panic message. Read it with
/// [`SecretString::expose`] only at the point where it is put on the wire.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call this only to send it, never to print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Query parameter names (lowercased, matched as substrings) whose values are treated as secrets.
/// They cover the usual API-key spellings and the pre-signed URL parameters of S3-like stores
/// (`X-Amz-Signature`, `X-Amz-Credential`); a false positive only hides a harmless value.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "signature",
    "sig",
    "credential",
    "auth",
];

/// `url` made safe to print: userinfo (`user:password@`) removed, and the values of query
/// parameters that look like credentials (`api_key`, `token`, `X-Amz-Signature`, …) replaced
/// by `***`. Every URL gridlake puts in an error or a log line goes through here. Text that is
/// not a URL with a host loses everything from the first `?` and anything before an `@`.
pub fn redact(url: &str) -> String {
    let parsed = reqwest::Url::parse(url).ok().filter(|u| u.has_host());
    let Some(mut parsed) = parsed else {
        let no_query = url.split(['?', '#']).next().unwrap_or_default();
        return match no_query.rsplit_once('@') {
            Some((_, host_and_path)) => format!("***@{host_and_path}"),
            None => no_query.to_owned(),
        };
    };
    redact_url(&mut parsed);
    parsed.into()
}

/// [`redact`] on a parsed URL, in place.
pub(crate) fn redact_url(url: &mut reqwest::Url) {
    // Both setters fail only for URLs that cannot have userinfo (`data:` and the like), which
    // have none to strip.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let is_secret = |name: &str| {
        let name = name.to_ascii_lowercase();
        SECRET_PARAMS.iter().any(|s| name.contains(s))
    };
    if url.query_pairs().any(|(name, _)| is_secret(&name)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if is_secret(&name) {
                    "***".to_owned()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
}
