//! What can go wrong fetching a URL, in terms a user can act on.
//!
//! Every URL in a message has been through [`redact`](super::redact), and header values are
//! never part of any variant, so an error can be logged or shown as is.

use std::time::Duration;

/// HTTP statuses worth another try: the request was fine, the server was not (yet).
pub(crate) const RETRYABLE_STATUSES: &[u16] = &[408, 429, 500, 502, 503, 504];

/// Which timeout fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Opening the connection (`connect_timeout`).
    Connect,
    /// Waiting for the response head or the next body bytes (`read_timeout`).
    Read,
    /// The whole attempt (`total_timeout`).
    Total,
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Read => "read",
            Self::Total => "total",
        })
    }
}

/// A failed download (or a client that could not be built).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The HTTP or rate-limit settings are invalid.
    #[error("invalid HTTP settings: {reason}; fix the source's [http] or rate-limit settings")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// reqwest could not build a client (in practice: TLS roots could not be loaded).
    #[error(
        "cannot build the HTTP client: {source}; check that the system's CA certificates are readable"
    )]
    Build {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The URL does not parse.
    #[error("{url:?} is not a valid URL ({reason}); check the source's base URL and path template")]
    InvalidUrl {
        /// The URL, redacted.
        url: String,
        /// The parser's complaint.
        reason: String,
    },
    /// Only `http` and `https` are fetched; `file://` and friends would let a config read
    /// local files.
    #[error(
        "refusing {url}: gridlake fetches only http:// and https:// URLs, not {scheme}://; check the source's base URL"
    )]
    UnsupportedScheme {
        /// The URL, redacted.
        url: String,
        /// The refused scheme.
        scheme: String,
    },
    /// A request header name or value cannot be sent. The value is never shown: it may be a
    /// token.
    #[error(
        "header {name:?} cannot be sent ({reason}); check the source's header settings (the value is not shown because it may be a secret)"
    )]
    InvalidHeader {
        /// The header name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// 404 or 410: the file is not there. Not retried; sources map it to "not published yet"
    /// or "no data" as their API documents.
    #[error(
        "GET {url} answered HTTP {status} (not found); the file may not be published yet, or the URL template or date is wrong"
    )]
    NotFound {
        /// The URL, redacted.
        url: String,
        /// 404 or 410.
        status: u16,
        /// Attempts made, this one included.
        attempts: u32,
    },
    /// Any other non-success status.
    #[error("GET {url} answered HTTP {code} after {attempts} attempt(s): {snippet:?}; {hint}", hint = status_hint(*code))]
    Status {
        /// The URL, redacted.
        url: String,
        /// The status code.
        code: u16,
        /// Up to 200 bytes of the body, non-printable characters replaced, for a first clue.
        snippet: String,
        /// The server's `Retry-After`, as sent (not yet capped or scaled).
        retry_after: Option<Duration>,
        /// Attempts made, this one included.
        attempts: u32,
    },
    /// A timeout fired.
    #[error(
        "GET {url} timed out ({which} timeout of {limit:?}) after {attempts} attempt(s); the server is slow or unreachable: check the network, or raise `{which}_timeout` or `max_attempts` in the source's [http] settings"
    )]
    Timeout {
        /// The URL, redacted.
        url: String,
        /// Which timeout.
        which: TimeoutKind,
        /// Its configured value.
        limit: Duration,
        /// Attempts made, this one included.
        attempts: u32,
    },
    /// No connection could be opened (DNS, refused, TLS handshake).
    #[error(
        "cannot connect for GET {url} after {attempts} attempt(s): {source}; check the URL, the network and any HTTPS_PROXY setting, or raise `max_attempts` in the source's [http] settings"
    )]
    Connect {
        /// The URL, redacted.
        url: String,
        /// The underlying error, stripped of its URL.
        #[source]
        source: reqwest::Error,
        /// Attempts made, this one included.
        attempts: u32,
    },
    /// The exchange failed after connecting, before a response head arrived (connection reset,
    /// protocol error).
    #[error(
        "GET {url} failed after {attempts} attempt(s): {source}; check the network, or raise `max_attempts` in the source's [http] settings"
    )]
    Transport {
        /// The URL, redacted.
        url: String,
        /// The underlying error, stripped of its URL.
        #[source]
        source: reqwest::Error,
        /// Attempts made, this one included.
        attempts: u32,
    },
    /// A redirect was refused (too many, or to a scheme other than http/https).
    #[error("GET {url}: {reason}; check the source's base URL")]
    Redirect {
        /// The URL, redacted.
        url: String,
        /// Why it was refused (the target is redacted too).
        reason: String,
        /// Attempts made, this one included.
        attempts: u32,
    },
    /// The body is larger than `max_body_bytes`. Not retried: it would be as large next time.
    #[error(
        "GET {url}: the body is larger than the {cap}-byte cap{declared}; if this file is genuinely that large, raise `max_body_bytes` in the source's [http] settings",
        declared = declared.map(|d| format!(" (the server declared {d} bytes)")).unwrap_or_default()
    )]
    TooLarge {
        /// The URL, redacted.
        url: String,
        /// The configured cap.
        cap: u64,
        /// The `Content-Length` the server sent, if that is how we knew.
        declared: Option<u64>,
        /// Attempts made, this one included.
        attempts: u32,
    },
    /// The body ended before its declared length, or the connection broke mid-body.
    #[error(
        "GET {url}: the body ended early after {received} byte(s){expected} on attempt {attempts}; the connection dropped: check the network, or raise `max_attempts` in the source's [http] settings",
        expected = expected.map(|e| format!(" of {e}")).unwrap_or_default()
    )]
    BodyTruncated {
        /// The URL, redacted.
        url: String,
        /// Bytes received.
        received: u64,
        /// Bytes declared by `Content-Length`, if any.
        expected: Option<u64>,
        /// Attempts made, this one included.
        attempts: u32,
    },
    /// The body could not be spooled to disk.
    #[error(
        "GET {url}: cannot {what}: {source}; check free space and permissions of the temp dir (`temp_dir` in the source's [http] settings)"
    )]
    Io {
        /// The URL, redacted.
        url: String,
        /// What we were doing.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn status_hint(code: u16) -> &'static str {
    if RETRYABLE_STATUSES.contains(&code) {
        "the server is overloaded or failing; gridlake retried with backoff: try again later, or raise `max_attempts` in the source's [http] settings"
    } else if code == 401 || code == 403 {
        "access was refused: check the source's credentials (token headers) and that the dataset is public"
    } else {
        "this status is not retried: check the URL template and the request parameters"
    }
}

impl HttpError {
    /// Whether another attempt could succeed: connection problems, timeouts, a truncated body,
    /// and statuses 408, 429, 500, 502, 503, 504. Never any other 4xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status { code, .. } => RETRYABLE_STATUSES.contains(code),
            Self::Timeout { .. }
            | Self::Connect { .. }
            | Self::Transport { .. }
            | Self::BodyTruncated { .. } => true,
            _ => false,
        }
    }

    /// Attempts made before giving up; 0 for errors raised before any request was sent.
    pub fn attempts(&self) -> u32 {
        match self {
            Self::NotFound { attempts, .. }
            | Self::Status { attempts, .. }
            | Self::Timeout { attempts, .. }
            | Self::Connect { attempts, .. }
            | Self::Transport { attempts, .. }
            | Self::Redirect { attempts, .. }
            | Self::TooLarge { attempts, .. }
            | Self::BodyTruncated { attempts, .. } => *attempts,
            _ => 0,
        }
    }

    /// The wait the server asked for with `Retry-After`, unscaled and uncapped.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether this is a 404/410, which a source usually maps to "not published" or "no data".
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

/// A checksum file could not be read, or the bytes do not match it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChecksumError {
    /// The checksum text is not `<64 hex digits><two spaces><file name>` lines.
    #[error(
        "malformed checksum line {line:?}: {reason}; expected `<64 hex digits>  <file name>` as written by sha256sum"
    )]
    Malformed {
        /// The offending line, cut to 120 characters.
        line: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The checksum text has no line for the file we downloaded.
    #[error(
        "the checksum file lists {found:?}, not {expected:?}; the checksum URL template probably points at another file"
    )]
    WrongFile {
        /// The file name we looked for.
        expected: String,
        /// The names the text lists.
        found: Vec<String>,
    },
    /// The bytes' sha256 differs from the published one.
    #[error(
        "sha256 mismatch for {url}: expected {expected}, got {actual}; the download is corrupt or the file was republished: fetch it again"
    )]
    Mismatch {
        /// The published digest (lowercase hex).
        expected: String,
        /// The digest of what we received.
        actual: String,
        /// The URL, redacted.
        url: String,
    },
}
