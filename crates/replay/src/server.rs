//! The server: a hyper HTTP/1.1 accept loop on 127.0.0.1:0, shared state behind std mutexes,
//! and the per-request decision "fault, recording, or 404".

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::{Fault, Recorded, Recording, ReplayError, Route};

type ReplayBody = BoxBody<Bytes, std::io::Error>;

/// One request as the server saw it.
#[derive(Clone)]
pub struct RequestRecord {
    /// Method, e.g. `GET`.
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Headers with lowercase names, values decoded lossily. Tests read them to check that a
    /// token header arrived; Debug prints only the names, so a failing assertion that dumps the
    /// log never prints a token.
    pub headers: Vec<(String, String)>,
    /// When the request arrived.
    pub at: Instant,
    /// Index of the recording that answered, if one did (also after a [`Fault::Delay`] or
    /// [`Fault::Truncate`]).
    pub recording: Option<usize>,
    /// The fault consumed by this request, if any.
    pub fault: Option<Fault>,
}

impl RequestRecord {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for RequestRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RequestRecord")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("header_names", &names)
            .field("at", &self.at)
            .field("recording", &self.recording)
            .field("fault", &self.fault)
            .finish()
    }
}

/// Fault queues: per path first, then global.
#[derive(Debug, Default)]
struct Faults {
    by_path: HashMap<String, VecDeque<Fault>>,
    global: VecDeque<Fault>,
}

impl Faults {
    fn next_for(&mut self, path: &str) -> Option<Fault> {
        self.by_path
            .get_mut(path)
            .and_then(VecDeque::pop_front)
            .or_else(|| self.global.pop_front())
    }
}

/// State shared by the handle and every connection task. The mutexes are std ones: they are
/// held only for a push or a pop, never across an `.await`, which is the case tokio's docs
/// recommend a blocking mutex for.
#[derive(Debug)]
struct Shared {
    recordings: Vec<Recording>,
    faults: Mutex<Faults>,
    log: Mutex<Vec<RequestRecord>>,
    /// Requests being answered now, and the most there ever were at once (a client's concurrency bound is
    /// observable here without timing anything).
    in_flight: std::sync::atomic::AtomicUsize,
    max_in_flight: std::sync::atomic::AtomicUsize,
}

/// A poisoned lock only means a test thread panicked while holding it; the data (a queue, a log)
/// is still meaningful, so keep going rather than cascade panics.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running replay server. Dropping it stops it.
#[derive(Debug)]
pub struct ReplayServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// The accept loop. Aborting it drops its `JoinSet`, which aborts every connection task, so
    /// one abort is a complete shutdown.
    task: Option<JoinHandle<()>>,
}

impl ReplayServer {
    /// Starts a server on 127.0.0.1 with an OS-chosen port, on the current tokio runtime.
    pub fn start(recordings: Vec<Recording>) -> Result<Self, ReplayError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| ReplayError::NoRuntime)?;
        Self::start_on(&handle, recordings)
    }

    /// Starts a server on the given runtime; for synchronous callers that own a runtime (the
    /// `gridlake demo` command builds one and keeps it alive while the server is needed).
    pub fn start_on(
        runtime: &tokio::runtime::Handle,
        recordings: Vec<Recording>,
    ) -> Result<Self, ReplayError> {
        let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|source| ReplayError::Bind { source })?;
        std_listener
            .set_nonblocking(true)
            .map_err(|source| ReplayError::Bind { source })?;
        let addr = std_listener
            .local_addr()
            .map_err(|source| ReplayError::Bind { source })?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(std_listener).map_err(|source| ReplayError::Bind { source })?
        };
        let shared = Arc::new(Shared {
            recordings,
            faults: Mutex::new(Faults::default()),
            log: Mutex::new(Vec::new()),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            max_in_flight: std::sync::atomic::AtomicUsize::new(0),
        });
        let task = runtime.spawn(accept_loop(listener, Arc::clone(&shared)));
        tracing::debug!(%addr, recordings = shared.recordings.len(), "replay server started");
        Ok(Self {
            addr,
            shared,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `base_url()` followed by `path_and_query` (which should start with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url())
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues `fault` for the next request that `route` selects.
    pub fn push_fault(&self, route: Route, fault: Fault) {
        let mut faults = lock(&self.shared.faults);
        match route {
            Route::Any => faults.global.push_back(fault),
            Route::Path(path) => faults.by_path.entry(path).or_default().push_back(fault),
        }
    }

    /// Every request since start (or the last [`ReplayServer::reset_counts`]), in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).clone()
    }

    /// How many requests arrived since start (or the last reset).
    pub fn request_count(&self) -> usize {
        lock(&self.shared.log).len()
    }

    /// Requests answered with 404 because no recording matched and no fault answered them.
    pub fn unmatched(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.recording.is_none() && r.fault.as_ref().is_none_or(passes_through))
            .cloned()
            .collect()
    }

    /// The most requests that were being answered at the same time (a request counts from its arrival until
    /// its response head is ready, so a [`Fault::Delay`] keeps it in flight).
    pub fn max_in_flight(&self) -> usize {
        self.shared
            .max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Forgets the request log (queued faults stay queued).
    pub fn reset_counts(&self) {
        lock(&self.shared.log).clear();
    }

    /// Stops accepting and drops every open connection. Idempotent; also done on drop.
    pub fn shutdown(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            tracing::debug!(addr = %self.addr, "replay server stopped");
        }
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Faults after which the request is still answered by a recording (or a 404).
fn passes_through(fault: &Fault) -> bool {
    matches!(fault, Fault::Delay(_) | Fault::Truncate(_))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let shared = Arc::clone(&shared);
                    connections.spawn(async move {
                        let service = service_fn(move |req| {
                            let shared = Arc::clone(&shared);
                            async move { Ok::<_, Infallible>(respond(&shared, req).await) }
                        });
                        if let Err(error) = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                        {
                            // Truncate faults end connections on purpose; nothing to report.
                            tracing::debug!(%error, "replay connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off briefly instead of spinning.
                    tracing::warn!(%error, "replay server accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
            // Reap finished connection tasks so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn respond(shared: &Shared, req: Request<Incoming>) -> Response<ReplayBody> {
    use std::sync::atomic::Ordering;
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let response = answer(shared, req).await;
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

async fn answer(shared: &Shared, req: Request<Incoming>) -> Response<ReplayBody> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let pairs: Vec<(String, String)> = query
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();

    let fault = lock(&shared.faults).next_for(&path);
    let recording = shared
        .recordings
        .iter()
        .position(|r| r.matches(&method, &path, &pairs));
    let served_by_recording = fault.as_ref().is_none_or(passes_through);
    lock(&shared.log).push(RequestRecord {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        headers,
        at: Instant::now(),
        recording: recording.filter(|_| served_by_recording),
        fault: fault.clone(),
    });
    tracing::debug!(%method, %path, ?recording, ?fault, "replay request");

    let mut truncate_at = None;
    match fault {
        Some(Fault::Status(status, body)) => return plain(status, "text/plain", body.into()),
        Some(Fault::RetryAfterSeconds(status, secs)) => {
            return with_retry_after(status, HeaderValue::from(secs));
        }
        Some(Fault::RetryAfterDate(status, when)) => {
            let value = HeaderValue::from_str(&httpdate::fmt_http_date(when))
                .unwrap_or_else(|_| HeaderValue::from_static("0"));
            return with_retry_after(status, value);
        }
        Some(Fault::Body {
            status,
            content_type,
            body,
        }) => return plain(status, &content_type, body),
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Truncate(n)) => truncate_at = Some(n),
        None => {}
    }

    let Some(index) = recording else {
        let target = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let body = format!(
            "gridlake-replay: no recording matches {method} {target} ({} recordings loaded)\n",
            shared.recordings.len()
        );
        return plain(404, "text/plain", body.into());
    };
    let recorded = &shared.recordings[index].response;
    match truncate_at {
        Some(n) if n < recorded.body.len() => truncated(recorded, n),
        _ => full(recorded),
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn plain(status: u16, content_type: &str, body: Bytes) -> Response<ReplayBody> {
    let mut response = Response::new(full_body(body));
    *response.status_mut() = status_code(status);
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn with_retry_after(status: u16, value: HeaderValue) -> Response<ReplayBody> {
    let mut response = plain(status, "text/plain", Bytes::from_static(b"slow down\n"));
    response.headers_mut().insert(header::RETRY_AFTER, value);
    response
}

fn full(recorded: &Recorded) -> Response<ReplayBody> {
    let chunked = recorded.headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        // A body of unknown size: hyper sends it chunked, with no Content-Length, as servers
        // that generate files on the fly do.
        Unsized {
            data: Some(recorded.body.clone()),
        }
        .boxed()
    } else {
        full_body(recorded.body.clone())
    };
    let mut response = Response::new(body);
    apply_recorded_head(&mut response, recorded);
    response
}

fn truncated(recorded: &Recorded, n: usize) -> Response<ReplayBody> {
    let body = Truncated {
        prefix: Some(recorded.body.slice(..n)),
        pause: Box::pin(tokio::time::sleep(std::time::Duration::from_millis(20))),
    };
    let mut response = Response::new(body.boxed());
    apply_recorded_head(&mut response, recorded);
    // Promise the whole body, then deliver only the prefix: the client must notice.
    response.headers_mut().insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(recorded.body.len()),
    );
    response
}

fn apply_recorded_head(response: &mut Response<ReplayBody>, recorded: &Recorded) {
    *response.status_mut() = status_code(recorded.status);
    for (name, value) in &recorded.headers {
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            continue; // hyper derives framing from the body; a stale recorded header would lie.
        }
        match (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                response.headers_mut().append(n, v);
            }
            _ => tracing::warn!(header = %name, "replay: skipping an invalid recorded header"),
        }
    }
}

fn full_body(bytes: Bytes) -> ReplayBody {
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed()
}

/// A body that yields its prefix, pauses so hyper flushes the head and the prefix to the socket,
/// then fails, which makes hyper abort the connection mid-body: what a server crash or a dropped
/// link looks like to the client. (Without the pause hyper may drop its buffered head along with
/// the connection, and the client would see no response at all instead of a short body.)
struct Truncated {
    prefix: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl Body for Truncated {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(prefix) = self.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        std::task::ready!(self.pause.as_mut().poll(cx));
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "gridlake-replay: truncating the body on purpose",
        ))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// A body that does not tell its size, so hyper frames it with chunked transfer encoding.
struct Unsized {
    data: Option<Bytes>,
}

impl Body for Unsized {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(self.data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
