//! The fetch step of a worker: a source's request through the shared HTTP client, paced by its host's
//! limiter, with the source's secret headers read from the environment at the last moment and the published
//! checksum verified before the body is handed on.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gridlake_sources::http::{
    AimdLimiter, Downloaded, FetchRequest, HttpClient, HttpConfig, HttpError, RateLimitConfig,
    SecretString, parse_sha256sum_line,
};
use gridlake_sources::{Checksum, Source, SourceRequest};

/// Looks up an environment variable (tests supply their own).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The HTTP side of every worker of a run: one client, one limiter per host.
pub struct Fetcher {
    client: HttpClient,
    /// One limiter per host, shared by every worker and dataset that fetches from it; its settings are those
    /// of the first source family that used the host.
    limiters: std::sync::Mutex<BTreeMap<String, Arc<AimdLimiter>>>,
    time_scale: f64,
    rates: BTreeMap<String, RateLimitConfig>,
    env: EnvLookup,
    requests: AtomicU64,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("rates", &self.rates)
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

/// Why a request produced no body to convert.
#[derive(Debug, Clone)]
pub struct FetchFailure {
    /// What happened and what to do.
    pub message: String,
    /// HTTP attempts made.
    pub attempts: u32,
}

/// A downloaded body, spooled to a temp file that goes away with this value.
#[derive(Debug)]
pub struct Download {
    body: Downloaded,
    /// Bytes.
    pub len: u64,
    /// HTTP attempts made (data and checksum).
    pub attempts: u32,
}

impl Download {
    /// Where the body is.
    pub fn path(&self) -> &Path {
        self.body.file.path()
    }
}

impl Fetcher {
    /// A fetcher with `http` settings and per-source-family rate limits (`caiso` → …); a family without an
    /// entry gets [`RateLimitConfig::default`].
    pub fn new(
        http: HttpConfig,
        rates: BTreeMap<String, RateLimitConfig>,
    ) -> Result<Fetcher, HttpError> {
        for rate in rates.values() {
            rate.validate()?;
        }
        let time_scale = http.time_scale;
        Ok(Fetcher {
            client: HttpClient::new(http)?,
            limiters: std::sync::Mutex::new(BTreeMap::new()),
            time_scale,
            rates,
            env: Arc::new(|name| std::env::var(name).ok()),
            requests: AtomicU64::new(0),
        })
    }

    /// Replaces the environment lookup (tests).
    #[must_use]
    pub fn with_env(mut self, env: EnvLookup) -> Fetcher {
        self.env = env;
        self
    }

    /// HTTP attempts made so far, retries and checksums included.
    pub fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The limiter of a host, if a request went there (its timeline shows the AIMD adaptation).
    pub fn limiter(&self, host: &str) -> Option<Arc<AimdLimiter>> {
        self.limiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&host.to_ascii_lowercase())
            .cloned()
    }

    fn limiter_for(&self, url: &str, rate: &RateLimitConfig) -> Result<Arc<AimdLimiter>, String> {
        let host = url
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(url)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or("")
            .rsplit('@')
            .next()
            .unwrap_or("")
            .split(':')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut map = self
            .limiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(l) = map.get(&host) {
            return Ok(Arc::clone(l));
        }
        let limiter =
            Arc::new(AimdLimiter::new(rate.clone(), self.time_scale).map_err(|e| e.to_string())?);
        map.insert(host, Arc::clone(&limiter));
        Ok(limiter)
    }

    /// Downloads `req` for `source`, verifying its checksum when the source publishes one. (The HTTP client
    /// scrubs secret header values from what a server echoes back, so failures here never carry a token.)
    pub async fn fetch(
        &self,
        source: &dyn Source,
        req: &SourceRequest,
    ) -> Result<Download, FetchFailure> {
        let fail = |message: String, attempts: u32| FetchFailure { message, attempts };
        let mut headers = Vec::new();
        for h in &req.secret_headers {
            let Some(value) = (self.env)(&h.env_var).filter(|v| !v.is_empty()) else {
                return Err(fail(
                    format!(
                        "the environment variable {} (token_env of [sources.{}]) is not set; export it and run again",
                        h.env_var,
                        source.family()
                    ),
                    0,
                ));
            };
            headers.push((
                h.name.clone(),
                SecretString::new(format!("{}{value}", h.prefix)),
            ));
        }
        let rate = self.rates.get(source.family()).cloned().unwrap_or_default();
        let fetch = FetchRequest {
            url: req.url.clone(),
            headers,
        };
        let limiter = self.limiter_for(&req.url, &rate).map_err(|m| fail(m, 0))?;
        let body = match self.client.download(&fetch, &limiter).await {
            Ok(b) => b,
            Err(e) => {
                let attempts = e.attempts();
                self.requests
                    .fetch_add(u64::from(attempts), Ordering::Relaxed);
                return Err(fail(e.to_string(), attempts));
            }
        };
        self.requests
            .fetch_add(u64::from(body.attempts), Ordering::Relaxed);
        let mut attempts = body.attempts;
        if let Some(Checksum::Sha256File { url, file_name }) = &req.checksum {
            let sum_req = FetchRequest {
                url: url.clone(),
                headers: fetch.headers.clone(),
            };
            let sum = match self.client.download(&sum_req, &limiter).await {
                Ok(s) => s,
                Err(e) => {
                    self.requests
                        .fetch_add(u64::from(e.attempts()), Ordering::Relaxed);
                    return Err(fail(
                        format!(
                            "the checksum file could not be fetched, so nothing was committed: {e}"
                        ),
                        attempts + e.attempts(),
                    ));
                }
            };
            self.requests
                .fetch_add(u64::from(sum.attempts), Ordering::Relaxed);
            attempts += sum.attempts;
            let text = std::fs::read_to_string(sum.file.path()).unwrap_or_default();
            let expected = parse_sha256sum_line(&text, file_name)
                .map_err(|e| fail(format!("{url}: {e}; nothing was committed"), attempts))?;
            if !expected.eq_ignore_ascii_case(&body.sha256) {
                return Err(fail(
                    format!(
                        "checksum mismatch for {}: the published SHA-256 is {expected} but the download hashes to {}; nothing was committed. The file may have been re-issued mid-download or corrupted in transit: run again, and if it persists compare with {url}",
                        req.url, body.sha256
                    ),
                    attempts,
                ));
            }
        }
        Ok(Download {
            len: body.len,
            attempts,
            body,
        })
    }
}
