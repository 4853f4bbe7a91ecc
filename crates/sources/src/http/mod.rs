//! The HTTP stack every source shares: one [`HttpClient`] (reqwest + rustls, proxies from the
//! environment), per-host [`AimdLimiter`]s kept in a [`HostLimiters`] registry, retries with
//! exponential backoff and jitter that honour `Retry-After` (via `backon`), and downloads that
//! stream to a temp file under a size cap while computing their sha256 ([`Downloaded`]).
//!
//! Sources build [`FetchRequest`]s and map [`HttpError`]s to day outcomes (a 404 is usually "not
//! published yet"); they never call reqwest themselves, so retry, pacing and secrecy rules live
//! here once. Secrets are handled by construction: header values are [`SecretString`]s, and every
//! URL in an error or log line goes through [`redact`].
//!
//! Every delay this module chooses or is told (backoff, `Retry-After`, limiter spacing) is
//! multiplied by [`HttpConfig::time_scale`], so tests run the real code against the
//! `gridlake-replay` server with millisecond waits instead of pausing a clock that reqwest and
//! governor do not read.

mod checksum;
mod client;
mod config;
mod error;
mod limiter;
mod secret;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use checksum::{parse_sha256sum_line, verify_sha256};
pub use client::{Downloaded, FetchRequest, HttpClient, RetryRecord};
pub use config::{HttpConfig, RateLimitConfig};
pub use error::{ChecksumError, HttpError, TimeoutKind};
pub use limiter::{AimdLimiter, HostLimiters, RateChange, RateEvent};
pub use secret::{SecretString, redact};
