//! [`HttpClient::download`]: one GET, retried with backoff, paced by the host's limiter, its body
//! streamed to a temp file under a size cap while its sha256 is computed.
//!
//! ```text
//!  download ─► for each attempt (backon: exponential backoff + jitter, or Retry-After):
//!                limiter.acquire ─► GET ─► status?
//!                  2xx      ─► stream body ─► temp file + sha256 + length (cap, Content-Length)
//!                  404/410  ─► NotFound (final)
//!                  429/503  ─► limiter.on_overload, retry
//!                  408/5xx  ─► retry        other 4xx ─► Status (final)
//! ```

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Url, redirect};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::config::scale;
use super::secret::redact_url;
use super::{AimdLimiter, HttpConfig, HttpError, SecretString, TimeoutKind, redact};

/// Redirect hops followed before giving up; browsers allow ~20, data APIs need one or two.
const MAX_REDIRECTS: usize = 5;
/// Bytes of an error body kept for the error message.
const SNIPPET_BYTES: usize = 200;
/// Write buffer between the socket and the temp file: large enough that the blocking-pool hop
/// of each tokio file write is amortised, small enough to be irrelevant next to a row group.
const WRITE_BUFFER: usize = 256 * 1024;

/// One GET to make.
#[derive(Clone)]
pub struct FetchRequest {
    /// `http://` or `https://` URL.
    pub url: String,
    /// Extra request headers. Values are secrets (tokens): they are marked sensitive on the wire
    /// and never printed.
    pub headers: Vec<(String, SecretString)>,
}

impl FetchRequest {
    /// A GET of `url` with no extra headers.
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<SecretString>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Debug shows the URL redacted (it may carry a key in its query) and header values as `***`.
impl std::fmt::Debug for FetchRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchRequest")
            .field("url", &redact(&self.url))
            .field("headers", &self.headers)
            .finish()
    }
}

/// One retry the client made: which attempt failed, why, and how long it waited.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryRecord {
    /// The attempt that failed (1 = the first).
    pub attempt: u32,
    /// The error's message (URLs redacted, no header values).
    pub reason: String,
    /// The wait before the next attempt, after `time_scale`.
    pub wait: Duration,
}

/// A body safely on disk.
#[derive(Debug)]
pub struct Downloaded {
    /// The spooled body; deleted when dropped, so keep it (or persist it) while you need it.
    pub file: tempfile::NamedTempFile,
    /// Body length in bytes.
    pub len: u64,
    /// sha256 of the body, lowercase hex.
    pub sha256: String,
    /// The final response's status.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The URL that answered, after redirects, redacted (safe to log).
    pub final_url: String,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// The retries made before success, in order.
    pub retries: Vec<RetryRecord>,
}

/// The shared HTTP client: one reqwest connection pool, rustls, the system proxy settings
/// (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`), gridlake's timeouts and a redirect policy that
/// follows only http(s). Cheap to clone (the pool is shared) and to share across workers.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: HttpConfig,
}

/// Only the settings: reqwest's own Debug would print the proxy list, and a proxy URL taken from
/// `HTTPS_PROXY` may carry a password.
impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the client once; reuse it so connections are pooled.
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        config.validate()?;
        let user_agent =
            HeaderValue::from_str(&config.user_agent).map_err(|_| HttpError::Config {
                reason: "`user_agent` contains characters not allowed in a header".to_owned(),
            })?;
        let policy = redirect::Policy::custom(|attempt| {
            let scheme = attempt.url().scheme().to_owned();
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error(RedirectRefused(format!(
                    "more than {MAX_REDIRECTS} redirects"
                )))
            } else if scheme != "http" && scheme != "https" {
                let mut target = attempt.url().clone();
                redact_url(&mut target);
                attempt.error(RedirectRefused(format!(
                    "refused a redirect to {target}: only http and https are followed"
                )))
            } else {
                attempt.follow()
            }
        });
        let inner = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .redirect(policy)
            .build()
            .map_err(|source| HttpError::Build { source })?;
        Ok(Self { inner, config })
    }

    /// The settings this client runs with.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// GETs `req.url` into a temp file, retrying what is worth retrying (see
    /// [`HttpError::is_retryable`]) up to `max_attempts` times, each attempt paced by `limiter`
    /// (the limiter for the URL's host, shared with every other worker using that host).
    pub async fn download(
        &self,
        req: &FetchRequest,
        limiter: &AimdLimiter,
    ) -> Result<Downloaded, HttpError> {
        let url = parse_url(&req.url)?;
        let headers = build_headers(&req.headers)?;
        let shown = redact(url.as_str());
        let attempts = AtomicU32::new(0);
        let retries = Mutex::new(Vec::new());

        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.scaled(self.config.backoff_initial))
            .with_max_delay(self.config.scaled(self.config.backoff_max))
            .with_max_times(self.config.max_attempts.saturating_sub(1) as usize)
            .with_jitter();
        let attempt = || async {
            let n = attempts.fetch_add(1, Ordering::Relaxed) + 1;
            self.attempt(&url, &headers, &shown, limiter, n).await
        };
        let result = attempt
            .retry(backoff)
            .when(HttpError::is_retryable)
            .adjust(|err, backoff| {
                // `None` means the attempts are used up; keep it so.
                let backoff = backoff?;
                Some(match err.retry_after() {
                    Some(asked) => scale(
                        asked.min(self.config.retry_after_max),
                        self.config.time_scale,
                    ),
                    None => backoff,
                })
            })
            .notify(|err, wait| {
                let attempt = err.attempts();
                tracing::warn!(url = %shown, attempt, ?wait, reason = %err, "retrying download");
                retries
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(RetryRecord {
                        attempt,
                        reason: err.to_string(),
                        wait,
                    });
            })
            .await;
        let mut downloaded = result?;
        downloaded.retries = retries
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(downloaded)
    }

    /// One attempt: wait for the limiter, then GET under the total timeout.
    async fn attempt(
        &self,
        url: &Url,
        headers: &HeaderMap,
        shown: &str,
        limiter: &AimdLimiter,
        attempt: u32,
    ) -> Result<Downloaded, HttpError> {
        limiter.acquire().await;
        tracing::debug!(url = %shown, attempt, max = self.config.max_attempts, "GET");
        let exchange = self.exchange(url, headers, shown, limiter, attempt);
        match tokio::time::timeout(self.config.total_timeout, exchange).await {
            Ok(result) => result,
            Err(_elapsed) => Err(HttpError::Timeout {
                url: shown.to_owned(),
                which: TimeoutKind::Total,
                limit: self.config.total_timeout,
                attempts: attempt,
            }),
        }
    }

    async fn exchange(
        &self,
        url: &Url,
        headers: &HeaderMap,
        shown: &str,
        limiter: &AimdLimiter,
        attempt: u32,
    ) -> Result<Downloaded, HttpError> {
        let response = self
            .inner
            .get(url.clone())
            .headers(headers.clone())
            .send()
            .await
            .map_err(|e| self.send_error(e, shown, attempt))?;
        let status = response.status().as_u16();
        if status == 429 || status == 503 {
            limiter.on_overload(status);
        }
        if status == 404 || status == 410 {
            // The server answered promptly: as good as a success for pacing purposes.
            limiter.on_success();
            return Err(HttpError::NotFound {
                url: shown.to_owned(),
                status,
                attempts: attempt,
            });
        }
        if response.status().is_redirection() {
            // reqwest hands back a 3xx it will not follow (a Location to another scheme, or none).
            let reason = match response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(|loc| url.join(loc))
            {
                Some(Ok(target)) => format!(
                    "refused a redirect (HTTP {status}) to {}: only http and https are followed",
                    redact(target.as_str())
                ),
                _ => format!("HTTP {status} redirect without a usable Location header"),
            };
            return Err(HttpError::Redirect {
                url: shown.to_owned(),
                reason,
                attempts: attempt,
            });
        }
        if !response.status().is_success() {
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let snippet = scrub_secrets(snippet(response).await, headers);
            return Err(HttpError::Status {
                url: shown.to_owned(),
                code: status,
                snippet,
                retry_after,
                attempts: attempt,
            });
        }
        let downloaded = self.spool(response, shown, attempt).await?;
        limiter.on_success();
        Ok(downloaded)
    }

    /// Streams a 2xx body to a temp file, hashing and counting as it goes.
    async fn spool(
        &self,
        mut response: reqwest::Response,
        shown: &str,
        attempt: u32,
    ) -> Result<Downloaded, HttpError> {
        let cap = self.config.max_body_bytes;
        let declared = response.content_length();
        let too_large = |declared| HttpError::TooLarge {
            url: shown.to_owned(),
            cap,
            declared,
            attempts: attempt,
        };
        if declared.is_some_and(|d| d > cap) {
            return Err(too_large(declared));
        }
        let io = |what| {
            move |source| HttpError::Io {
                url: shown.to_owned(),
                what,
                source,
            }
        };
        let builder = {
            let mut b = tempfile::Builder::new();
            b.prefix(".gridlake-download-");
            b
        };
        let file = match &self.config.temp_dir {
            Some(dir) => builder.tempfile_in(dir),
            None => builder.tempfile(),
        }
        .map_err(io("create a temp file"))?;
        let handle = file
            .as_file()
            .try_clone()
            .map_err(io("open the temp file"))?;
        let mut writer =
            tokio::io::BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(handle));
        let mut hasher = Sha256::new();
        let mut len: u64 = 0;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) if e.is_timeout() => {
                    return Err(HttpError::Timeout {
                        url: shown.to_owned(),
                        which: TimeoutKind::Read,
                        limit: self.config.read_timeout,
                        attempts: attempt,
                    });
                }
                Err(e) => {
                    tracing::debug!(url = %shown, error = %e.without_url(), "body stream failed");
                    return Err(HttpError::BodyTruncated {
                        url: shown.to_owned(),
                        received: len,
                        expected: declared,
                        attempts: attempt,
                    });
                }
            };
            len += chunk.len() as u64;
            if len > cap {
                return Err(too_large(None));
            }
            hasher.update(&chunk);
            writer
                .write_all(&chunk)
                .await
                .map_err(io("write the temp file"))?;
        }
        writer.flush().await.map_err(io("write the temp file"))?;
        if declared.is_some_and(|d| d != len) {
            return Err(HttpError::BodyTruncated {
                url: shown.to_owned(),
                received: len,
                expected: declared,
                attempts: attempt,
            });
        }
        let mut final_url = response.url().clone();
        redact_url(&mut final_url);
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        tracing::debug!(url = %shown, len, attempt, "downloaded");
        Ok(Downloaded {
            file,
            len,
            sha256: hex::encode(hasher.finalize()),
            status: response.status().as_u16(),
            content_type,
            final_url: final_url.into(),
            attempts: attempt,
            retries: Vec::new(),
        })
    }

    /// Classifies an error from `send()`. URLs are stripped from reqwest's error so that only
    /// our redacted one is ever printed.
    fn send_error(&self, e: reqwest::Error, shown: &str, attempt: u32) -> HttpError {
        let url = shown.to_owned();
        if e.is_redirect() {
            let reason = find_source::<RedirectRefused>(&e)
                .map(|r| r.0.clone())
                .unwrap_or_else(|| "a redirect could not be followed".to_owned());
            return HttpError::Redirect {
                url,
                reason,
                attempts: attempt,
            };
        }
        if e.is_timeout() {
            let (which, limit) = if e.is_connect() {
                (TimeoutKind::Connect, self.config.connect_timeout)
            } else {
                (TimeoutKind::Read, self.config.read_timeout)
            };
            return HttpError::Timeout {
                url,
                which,
                limit,
                attempts: attempt,
            };
        }
        let source = e.without_url();
        if source.is_connect() {
            HttpError::Connect {
                url,
                source,
                attempts: attempt,
            }
        } else {
            HttpError::Transport {
                url,
                source,
                attempts: attempt,
            }
        }
    }
}

/// The reason our redirect policy gives reqwest when it refuses a hop.
#[derive(Debug)]
struct RedirectRefused(String);

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedirectRefused {}

fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

/// Parses `text` and accepts only http(s): a `file://` URL in a config must not read local files.
fn parse_url(text: &str) -> Result<Url, HttpError> {
    let url = Url::parse(text).map_err(|e| HttpError::InvalidUrl {
        url: redact(text),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        scheme => Err(HttpError::UnsupportedScheme {
            url: redact(text),
            scheme: scheme.to_owned(),
        }),
    }
}

/// Request headers with every value marked sensitive, so hyper never logs them and HTTP/2 never
/// puts them in its compression table.
fn build_headers(pairs: &[(String, SecretString)]) -> Result<HeaderMap, HttpError> {
    let mut headers = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        let header_name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| HttpError::InvalidHeader {
                name: name.clone(),
                reason: "not a valid header name",
            })?;
        let mut header_value =
            HeaderValue::from_str(value.expose()).map_err(|_| HttpError::InvalidHeader {
                name: name.clone(),
                reason: "the value contains characters not allowed in a header",
            })?;
        header_value.set_sensitive(true);
        headers.append(header_name, header_value);
    }
    Ok(headers)
}

/// `Retry-After` as delta-seconds or as an HTTP-date (RFC 9110 §10.2.3); a date in the past
/// means "now".
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The start of an error body, printable, for the error message. Errors reading it are ignored:
/// the status already says what went wrong.
/// Removes the request's header values from text the server sent back: a server may echo what it was given
/// (an error page quoting the token), and that text goes into errors and retry logs. Every header of a
/// [`FetchRequest`] is a secret by type; a value is also scrubbed word by word, so `Bearer <token>` echoed as
/// the bare token is caught too.
fn scrub_secrets(mut text: String, headers: &HeaderMap) -> String {
    for value in headers.values().filter_map(|v| v.to_str().ok()) {
        let words = std::iter::once(value).chain(value.split_whitespace().filter(|w| w.len() >= 8));
        for secret in words {
            if !secret.is_empty() && text.contains(secret) {
                text = text.replace(secret, "***");
            }
        }
    }
    text
}

async fn snippet(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::with_capacity(SNIPPET_BYTES);
    while bytes.len() < SNIPPET_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(SNIPPET_BYTES);
    String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| if c.is_control() && c != ' ' { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}
