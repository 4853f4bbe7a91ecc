//! Per-host pacing that adapts to the server: AIMD (additive increase, multiplicative decrease)
//! on top of governor's GCRA limiter.
//!
//! governor paces requests precisely but its quota is fixed at construction, so an
//! [`AimdLimiter`] keeps the current governor limiter behind a mutex and builds a new one whenever
//! the rate changes. The new one starts with its single cell already spent, so the first request
//! after a change waits one full new interval: after a 429 the next request is not sent at once.
//! Waiters re-read the current limiter after every sleep, so a rate change reaches tasks that are
//! already waiting. Burst is 1: public data APIs ask for even spacing, not bursts.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::config::scale;
use super::{HttpError, RateLimitConfig};

/// Why the rate changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateEvent {
    /// The limiter was created at `initial`.
    Start,
    /// The server answered this overload status (429 or 503); the rate was multiplied by
    /// `decrease_factor` (an entry is recorded even when the rate was already at `min`).
    Decrease {
        /// The status that caused it.
        status: u16,
    },
    /// A run of `success_run` successes added `additive_step`.
    Increase,
}

/// One entry of [`AimdLimiter::timeline`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateChange {
    /// Time since the limiter was created (real time, not scaled).
    pub at: Duration,
    /// The rate after the event, requests per second (unscaled: what the config speaks).
    pub rate: f64,
    /// What happened.
    pub event: RateEvent,
}

#[derive(Debug)]
struct State {
    rate: f64,
    successes: u32,
    /// The pacer for the current rate; replaced, never mutated, when the rate changes.
    pacer: Arc<DefaultDirectRateLimiter>,
    timeline: Vec<RateChange>,
}

/// The rate limiter for one host, shared (in an `Arc`) by every worker that talks to it.
#[derive(Debug)]
pub struct AimdLimiter {
    config: RateLimitConfig,
    time_scale: f64,
    created: Instant,
    /// A std mutex: held only to read or swap the pacer and update counters, never across an
    /// `.await`.
    state: Mutex<State>,
}

impl AimdLimiter {
    /// A limiter starting at `config.initial` requests per second. `time_scale` multiplies the
    /// spacing between requests (see [`HttpConfig::time_scale`](super::HttpConfig::time_scale)).
    pub fn new(config: RateLimitConfig, time_scale: f64) -> Result<Self, HttpError> {
        config.validate()?;
        if !(time_scale.is_finite() && time_scale > 0.0) {
            return Err(HttpError::Config {
                reason: format!("`time_scale` must be a positive number, got {time_scale}"),
            });
        }
        Ok(Self::from_valid(config, time_scale))
    }

    /// [`AimdLimiter::new`] for settings already validated.
    fn from_valid(config: RateLimitConfig, time_scale: f64) -> Self {
        let rate = config.initial;
        Self {
            state: Mutex::new(State {
                rate,
                successes: 0,
                pacer: Arc::new(pacer(rate, time_scale, false)),
                timeline: vec![RateChange {
                    at: Duration::ZERO,
                    rate,
                    event: RateEvent::Start,
                }],
            }),
            config,
            time_scale,
            created: Instant::now(),
        }
    }

    /// Waits until this host may be sent another request, and takes that slot.
    pub async fn acquire(&self) {
        loop {
            let pacer = Arc::clone(&self.lock().pacer);
            match pacer.check() {
                Ok(()) => return,
                Err(not_until) => {
                    let wait = not_until.wait_time_from(pacer.clock().now());
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Records a successful exchange; every `success_run`-th one in a row raises the rate.
    pub fn on_success(&self) {
        let mut state = self.lock();
        state.successes += 1;
        if state.successes < self.config.success_run {
            return;
        }
        state.successes = 0;
        let rate = (state.rate + self.config.additive_step).min(self.config.max);
        if rate > state.rate {
            self.change(&mut state, rate, RateEvent::Increase);
        }
    }

    /// Records an overload answer (429 or 503): the rate drops by `decrease_factor`, not below
    /// `min`, and the success run starts over.
    pub fn on_overload(&self, status: u16) {
        let mut state = self.lock();
        state.successes = 0;
        let rate = (state.rate * self.config.decrease_factor).max(self.config.min);
        self.change(&mut state, rate, RateEvent::Decrease { status });
    }

    /// The current rate, requests per second.
    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// Every rate change since creation, oldest first, starting with [`RateEvent::Start`].
    pub fn timeline(&self) -> Vec<RateChange> {
        self.lock().timeline.clone()
    }

    /// The settings this limiter runs with.
    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    fn change(&self, state: &mut State, rate: f64, event: RateEvent) {
        if rate != state.rate {
            state.rate = rate;
            state.pacer = Arc::new(pacer(rate, self.time_scale, true));
        }
        state.timeline.push(RateChange {
            at: self.created.elapsed(),
            rate,
            event,
        });
        tracing::debug!(rate, ?event, "rate limit changed");
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every await-free step, so a panic elsewhere while the
        // lock was held leaves nothing half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A governor limiter spacing requests `time_scale / rate` seconds apart, burst 1. With `spent`,
/// its one cell is taken at once, so the next request waits a full interval from now.
fn pacer(rate: f64, time_scale: f64, spent: bool) -> DefaultDirectRateLimiter {
    let period =
        scale(Duration::from_secs_f64(1.0 / rate), time_scale).max(Duration::from_nanos(1));
    let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX));
    let limiter = RateLimiter::direct(quota);
    if spent {
        let _ = limiter.check();
    }
    limiter
}

/// One [`AimdLimiter`] per host, created on first use, so every worker fetching from the same
/// host shares one pace whatever dataset it works on.
#[derive(Debug)]
pub struct HostLimiters {
    default: RateLimitConfig,
    per_host: HashMap<String, RateLimitConfig>,
    time_scale: f64,
    limiters: Mutex<HashMap<String, Arc<AimdLimiter>>>,
}

impl HostLimiters {
    /// A registry that gives hosts without their own settings `default`.
    pub fn new(default: RateLimitConfig, time_scale: f64) -> Result<Self, HttpError> {
        // Validate once here so that `get` cannot fail later.
        AimdLimiter::new(default.clone(), time_scale)?;
        Ok(Self {
            default,
            per_host: HashMap::new(),
            time_scale,
            limiters: Mutex::new(HashMap::new()),
        })
    }

    /// Gives `host` (case-insensitive, without port) its own settings.
    pub fn with_host(mut self, host: &str, config: RateLimitConfig) -> Result<Self, HttpError> {
        config.validate()?;
        self.per_host.insert(host.to_ascii_lowercase(), config);
        Ok(self)
    }

    /// The limiter for `host`, created on first use.
    pub fn get(&self, host: &str) -> Arc<AimdLimiter> {
        let host = host.to_ascii_lowercase();
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        let limiter = limiters.entry(host).or_insert_with_key(|host| {
            let config = self.per_host.get(host).unwrap_or(&self.default).clone();
            // `new` and `with_host` validated every config and the scale.
            Arc::new(AimdLimiter::from_valid(config, self.time_scale))
        });
        Arc::clone(limiter)
    }

    /// The limiter for the host of `url`.
    pub fn for_url(&self, url: &str) -> Result<Arc<AimdLimiter>, HttpError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| HttpError::InvalidUrl {
            url: super::redact(url),
            reason: e.to_string(),
        })?;
        let host = parsed.host_str().ok_or_else(|| HttpError::InvalidUrl {
            url: super::redact(url),
            reason: "it has no host".to_owned(),
        })?;
        Ok(self.get(host))
    }
}
