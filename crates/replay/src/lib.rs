//! A loopback HTTP/1.1 server that answers requests with recorded responses and scripted faults,
//! so `gridlake demo` and the tests exercise the real HTTP path (client, retries, rate limits,
//! streaming to disk) without going online. A [`Recording`] names a method, a path pattern and the
//! query parameters it cares about, the days it [covers](Recording::covers) and the [`Recorded`]
//! response; date templates (`…/ADABTC-1m-{date:%Y-%m-%d}.zip`, `startdatetime=%Y%m%dT%H:%M%z`)
//! let one recording answer a correct request for any day it covers. [`Fault`]s queued with
//! [`ReplayServer::push_fault`] are consumed, one per request and in order, before recordings are
//! consulted: error statuses, `Retry-After` in both forms, delays, truncated bodies, odd bodies. A
//! request that no recording matches gets a 404 and is kept in [`ReplayServer::unmatched`], so a
//! test can assert that its code asked only for what was recorded (our standard: replay only,
//! never a silent trip to the live API). Every request is logged ([`ReplayServer::requests`]).
//!
//! The server is deliberately generic: it knows nothing of gridlake's sources, schemas or lake, and
//! it speaks plain HTTP only (no TLS stack of its own). The [`builtin`] module is data: the recorded
//! answers compiled into the binary for `gridlake demo` and the source conformance suite.

pub mod builtin;
mod matcher;
mod server;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use chrono::NaiveDate;
use http::Method;

pub use matcher::{DateTemplate, ParamMatcher, PathPattern};
pub use server::{ReplayServer, RequestRecord};

/// Why the replay server could not be built or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A date template in a recording is malformed.
    #[error(
        "invalid date template {template:?}: {reason}; write a date field as {{date:%Y-%m-%d}} with a chrono strftime format inside the braces"
    )]
    InvalidTemplate {
        /// The template as written.
        template: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The loopback listener could not be opened.
    #[error(
        "cannot listen on 127.0.0.1 for the replay server: {source}; check that the loopback interface is up and that the process may open sockets"
    )]
    Bind {
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// A built-in recording could not be assembled (a bug in this build).
    #[error(
        "a built-in recording could not be built ({0}); this is a bug in this build, please report it"
    )]
    Fixture(String),
    /// [`ReplayServer::start`] was called outside a tokio runtime.
    #[error(
        "the replay server needs a tokio runtime: call ReplayServer::start from async code (e.g. #[tokio::test]) or pass a runtime handle to ReplayServer::start_on"
    )]
    NoRuntime,
}

/// One recorded exchange: which requests it answers and with what.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The request method it answers (GET unless set).
    pub method: Method,
    /// Which paths it answers.
    pub path: PathPattern,
    /// Query parameters that must be present and match; others in the request are ignored.
    pub query: Vec<(String, ParamMatcher)>,
    /// The days this response is the answer for: a date template in `path` or `query` matches
    /// only when the date it reads is one of these.
    pub covers: Vec<NaiveDate>,
    /// What is sent back.
    pub response: Recorded,
}

impl Recording {
    /// A GET recording for `path`, covering no day yet (add days with [`Recording::covering`]
    /// when `path` or the query holds a date template).
    pub fn get(path: PathPattern, response: Recorded) -> Self {
        Self {
            method: Method::GET,
            path,
            query: Vec::new(),
            covers: Vec::new(),
            response,
        }
    }

    /// Also requires query parameter `name` to match `matcher`.
    #[must_use]
    pub fn with_query(mut self, name: impl Into<String>, matcher: ParamMatcher) -> Self {
        self.query.push((name.into(), matcher));
        self
    }

    /// Adds days this recording answers for.
    #[must_use]
    pub fn covering(mut self, days: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.covers.extend(days);
        self
    }

    /// Whether this recording answers a request with this method, path and decoded query pairs.
    pub fn matches(&self, method: &Method, path: &str, query: &[(String, String)]) -> bool {
        *method == self.method
            && self.path.matches(path, &self.covers)
            && self.query.iter().all(|(name, matcher)| {
                query
                    .iter()
                    .any(|(n, v)| n == name && matcher.matches(v, &self.covers))
            })
    }
}

/// A recorded response.
#[derive(Clone)]
pub struct Recorded {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, in order. `Content-Length` is set by the server from the body; a
    /// `Transfer-Encoding: chunked` header makes it send the body chunked, with no length.
    pub headers: Vec<(String, String)>,
    /// The body, served whole (or cut short by [`Fault::Truncate`]).
    pub body: Bytes,
}

impl Recorded {
    /// A 200 response with this content type and body.
    pub fn ok(content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".to_owned(), content_type.to_owned())],
            body: body.into(),
        }
    }

    /// Adds a response header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Bodies can be megabytes of zip: Debug shows their length, not their bytes.
impl std::fmt::Debug for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorded")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A scripted misbehaviour, consumed by exactly one request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and text body instead of the recording.
    Status(u16, String),
    /// Answer with this status and `Retry-After: <secs>` (delta-seconds form).
    RetryAfterSeconds(u16, u64),
    /// Answer with this status and `Retry-After: <HTTP-date>` (the date form).
    RetryAfterDate(u16, SystemTime),
    /// Wait this long before answering, then answer normally (to trigger client timeouts).
    Delay(Duration),
    /// Serve the matching response with the full body's `Content-Length` but close the
    /// connection after this many body bytes.
    Truncate(usize),
    /// Answer with this status, content type and body instead of the recording (an HTML error
    /// page with status 200, an empty body, a corrupt zip).
    Body {
        /// HTTP status code.
        status: u16,
        /// Value of the `Content-Type` header.
        content_type: String,
        /// The body.
        body: Bytes,
    },
}

/// Which requests a queued fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// The next request, whatever it asks for (after any path-specific fault queue is empty).
    Any,
    /// The next request for exactly this path (no query string). Path queues are consulted
    /// before the global one.
    Path(String),
}
