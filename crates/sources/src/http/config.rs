//! Typed HTTP and rate-limit settings, read from a source's config section. Every field has a
//! default and an unknown key is an error, so a typo fails loudly instead of being ignored.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::HttpError;

/// How gridlake talks HTTP to one source: timeouts, retries, the body cap.
///
/// Durations are humantime strings (`"10s"`, `"500ms"`, `"2m"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Longest wait for a TCP (and TLS) connection. Not scaled by `time_scale`.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Longest silence while waiting for the response head or between body reads; a stalled
    /// server is detected in this time whatever the file size. Not scaled by `time_scale`.
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    /// Longest one attempt may take, head and body; generous by default because daily files
    /// can be gigabytes. Not scaled by `time_scale`.
    #[serde(with = "humantime_serde")]
    pub total_timeout: Duration,
    /// Attempts per request, the first included (so 1 = never retry).
    pub max_attempts: u32,
    /// First backoff delay; each retry doubles it, plus random jitter of up to 100%.
    #[serde(with = "humantime_serde")]
    pub backoff_initial: Duration,
    /// Largest backoff delay.
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// Largest wait a server's `Retry-After` can impose; a longer one is cut to this, so a
    /// misconfigured server cannot park a worker for hours.
    #[serde(with = "humantime_serde")]
    pub retry_after_max: Duration,
    /// Largest body accepted, in bytes. A response that declares more is refused before any
    /// byte is read; one that streams more is cut off when it crosses the cap.
    pub max_body_bytes: u64,
    /// The `User-Agent` header; public APIs ask clients to identify themselves.
    pub user_agent: String,
    /// Multiplies every delay gridlake chooses or is told: backoff, `Retry-After` and the rate
    /// limiter's spacing. 1.0 in production; tests set ~0.001 to run the real code paths with
    /// millisecond waits. Timeouts are not scaled: they bound the server, not our politeness.
    pub time_scale: f64,
    /// Where bodies are spooled while they download (default: the system temp dir). Put it on
    /// the same file system as the lake's staging area if you want renames instead of copies.
    pub temp_dir: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            total_timeout: Duration::from_secs(30 * 60),
            max_attempts: 5,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            retry_after_max: Duration::from_secs(10 * 60),
            max_body_bytes: 4 << 30,
            user_agent: concat!("gridlake/", env!("CARGO_PKG_VERSION")).to_owned(),
            time_scale: 1.0,
            temp_dir: None,
        }
    }
}

impl HttpConfig {
    /// Checks the values serde cannot: positive counts, a sane scale, ordered bounds.
    pub fn validate(&self) -> Result<(), HttpError> {
        let fail = |reason: String| Err(HttpError::Config { reason });
        if self.max_attempts == 0 {
            return fail("`max_attempts` must be at least 1 (1 means no retries)".into());
        }
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return fail(format!(
                "`time_scale` must be a positive number, got {}",
                self.time_scale
            ));
        }
        if self.max_body_bytes == 0 {
            return fail("`max_body_bytes` must be positive".into());
        }
        if self.backoff_initial > self.backoff_max {
            return fail(format!(
                "`backoff_initial` ({:?}) must not exceed `backoff_max` ({:?})",
                self.backoff_initial, self.backoff_max
            ));
        }
        for (name, value) in [
            ("connect_timeout", self.connect_timeout),
            ("read_timeout", self.read_timeout),
            ("total_timeout", self.total_timeout),
        ] {
            if value.is_zero() {
                return fail(format!("`{name}` must be positive"));
            }
        }
        Ok(())
    }

    /// `delay` multiplied by `time_scale`, saturating instead of panicking on overflow.
    pub fn scaled(&self, delay: Duration) -> Duration {
        scale(delay, self.time_scale)
    }
}

pub(crate) fn scale(delay: Duration, time_scale: f64) -> Duration {
    Duration::try_from_secs_f64(delay.as_secs_f64() * time_scale).unwrap_or(Duration::MAX)
}

/// Per-host pacing, AIMD style: start at `initial` requests per second, multiply by
/// `decrease_factor` on every 429 or 503, add `additive_step` after each run of `success_run`
/// successes, and stay within `[min, max]`. This is TCP's congestion rule: back off hard when the
/// server says it is overloaded, probe upward slowly while it is happy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Starting rate, requests per second (CAISO OASIS asks for one request per 5 s: 0.2).
    pub initial: f64,
    /// Requests per second added after `success_run` consecutive successes.
    pub additive_step: f64,
    /// Consecutive successes needed before the rate grows.
    pub success_run: u32,
    /// Factor applied to the rate on 429/503 (0.5 halves it).
    pub decrease_factor: f64,
    /// Floor, requests per second.
    pub min: f64,
    /// Ceiling, requests per second.
    pub max: f64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            initial: 1.0,
            additive_step: 0.25,
            success_run: 10,
            decrease_factor: 0.5,
            min: 0.05,
            max: 4.0,
        }
    }
}

impl RateLimitConfig {
    /// A fixed rate: `initial = min = max = per_second`, so it never adapts.
    pub fn fixed(per_second: f64) -> Self {
        Self {
            initial: per_second,
            min: per_second,
            max: per_second,
            ..Self::default()
        }
    }

    /// Checks that the rates are positive and ordered and the factors in range.
    pub fn validate(&self) -> Result<(), HttpError> {
        let fail = |reason: String| {
            Err(HttpError::Config {
                reason: format!("rate limit: {reason}"),
            })
        };
        for (name, value) in [
            ("initial", self.initial),
            ("min", self.min),
            ("max", self.max),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return fail(format!(
                    "`{name}` must be a positive number of requests per second, got {value}"
                ));
            }
        }
        if !(self.min <= self.initial && self.initial <= self.max) {
            return fail(format!(
                "need min <= initial <= max, got {} <= {} <= {}",
                self.min, self.initial, self.max
            ));
        }
        if !(self.additive_step.is_finite() && self.additive_step >= 0.0) {
            return fail(format!(
                "`additive_step` must be zero or positive, got {}",
                self.additive_step
            ));
        }
        if !(self.decrease_factor > 0.0 && self.decrease_factor <= 1.0) {
            return fail(format!(
                "`decrease_factor` must be in (0, 1], got {}",
                self.decrease_factor
            ));
        }
        if self.success_run == 0 {
            return fail("`success_run` must be at least 1".into());
        }
        Ok(())
    }
}
