//! The HTTP stack against the real `gridlake-replay` server on 127.0.0.1:0. Delays run through
//! `time_scale` (~0.001), so a "2 s" Retry-After costs 2 ms; assertions read the recorded waits
//! and the limiter's timeline, never wall-clock durations beyond generous upper bounds that prove
//! no real seconds-long sleep happened.

use std::io::Read;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use gridlake_replay::{Fault, PathPattern, Recorded, Recording, ReplayServer, Route};
use sha2::{Digest, Sha256};

use super::client::parse_retry_after;
use super::*;

const BODY: &str = "Time Stamp,Name,PTID,LBMP ($/MWHr)\n01/01/2020 00:00,CAPITL,61757,22.67\n";
/// Proves no unscaled second-long sleep happened (the slowest real wait in these tests is well
/// under a second); generous for a loaded 2-core CI box.
const NO_REAL_SLEEP: Duration = Duration::from_secs(5);

fn server() -> ReplayServer {
    ReplayServer::start(vec![
        Recording::get(
            PathPattern::exact("/file.csv"),
            Recorded::ok("text/csv", BODY),
        ),
        Recording::get(
            PathPattern::exact("/redirect-file"),
            Recorded {
                status: 302,
                headers: vec![("location".into(), "file:///etc/passwd".into())],
                body: Bytes::new(),
            },
        ),
        Recording::get(
            PathPattern::exact("/moved"),
            Recorded {
                status: 301,
                headers: vec![("location".into(), "/file.csv".into())],
                body: Bytes::new(),
            },
        ),
        Recording::get(
            PathPattern::exact("/loop"),
            Recorded {
                status: 302,
                headers: vec![("location".into(), "/loop".into())],
                body: Bytes::new(),
            },
        ),
        Recording::get(
            PathPattern::exact("/chunked.csv"),
            Recorded::ok("text/csv", BODY).with_header("transfer-encoding", "chunked"),
        ),
    ])
    .unwrap()
}

fn fast() -> HttpConfig {
    HttpConfig {
        time_scale: 0.001,
        max_attempts: 3,
        ..HttpConfig::default()
    }
}

fn quick_limiter() -> AimdLimiter {
    AimdLimiter::new(RateLimitConfig::fixed(1000.0), 0.001).unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[tokio::test]
async fn downloads_to_a_temp_file_with_sha256_and_length() {
    let server = server();
    let client = HttpClient::new(fast()).unwrap();
    let got = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(got.len, BODY.len() as u64);
    assert_eq!(got.sha256, sha256_hex(BODY.as_bytes()));
    assert_eq!(got.content_type.as_deref(), Some("text/csv"));
    assert_eq!(got.final_url, server.url("/file.csv"));
    assert_eq!(got.attempts, 1);
    assert!(got.retries.is_empty());
    let mut on_disk = String::new();
    got.file
        .reopen()
        .unwrap()
        .read_to_string(&mut on_disk)
        .unwrap();
    assert_eq!(on_disk, BODY);
    let ua = server.requests()[0]
        .header("user-agent")
        .unwrap()
        .to_owned();
    assert!(ua.starts_with("gridlake/"), "{ua}");
    assert!(server.unmatched().is_empty());
}

#[tokio::test]
async fn retries_500_then_succeeds_on_the_second_attempt() {
    let server = server();
    server.push_fault(Route::Any, Fault::Status(500, "internal error".into()));
    let client = HttpClient::new(fast()).unwrap();
    let started = Instant::now();
    let got = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap();
    assert_eq!(got.attempts, 2);
    assert_eq!(got.retries.len(), 1);
    assert_eq!(got.retries[0].attempt, 1);
    assert!(
        got.retries[0].reason.contains("HTTP 500"),
        "{:?}",
        got.retries
    );
    // Backoff 1 s scaled by 0.001, plus up to 100% jitter.
    assert!(
        got.retries[0].wait <= Duration::from_millis(2),
        "{:?}",
        got.retries
    );
    assert_eq!(server.request_count(), 2);
    assert!(started.elapsed() < NO_REAL_SLEEP);
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    let server = server();
    server.push_fault(Route::Any, Fault::Status(503, "maintenance".into()));
    let client = HttpClient::new(fast()).unwrap();
    let got = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap();
    assert_eq!(got.attempts, 2);
    assert_eq!(got.sha256, sha256_hex(BODY.as_bytes()));
}

#[tokio::test]
async fn retry_after_seconds_is_honoured_scaled() {
    let server = server();
    server.push_fault(Route::Any, Fault::RetryAfterSeconds(429, 2));
    let client = HttpClient::new(fast()).unwrap();
    let started = Instant::now();
    let got = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap();
    assert_eq!(got.attempts, 2);
    // 2 s × 0.001, exactly: Retry-After replaces the backoff and gets no jitter.
    assert_eq!(got.retries[0].wait, Duration::from_millis(2));
    assert!(started.elapsed() < NO_REAL_SLEEP);
}

#[tokio::test]
async fn retry_after_http_date_is_honoured_scaled() {
    let server = server();
    let when = SystemTime::now() + Duration::from_secs(3);
    server.push_fault(Route::Any, Fault::RetryAfterDate(503, when));
    let client = HttpClient::new(fast()).unwrap();
    let got = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap();
    assert_eq!(got.attempts, 2);
    // The date has one-second resolution: the wait is in (2 s, 3 s], scaled by 0.001.
    let wait = got.retries[0].wait;
    assert!(
        wait > Duration::from_micros(1500) && wait <= Duration::from_millis(3),
        "{wait:?}"
    );
}

#[tokio::test]
async fn retry_after_is_capped_by_retry_after_max() {
    let server = server();
    server.push_fault(Route::Any, Fault::RetryAfterSeconds(429, 3600));
    let client = HttpClient::new(HttpConfig {
        retry_after_max: Duration::from_secs(10),
        ..fast()
    })
    .unwrap();
    let got = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap();
    assert_eq!(got.retries[0].wait, Duration::from_millis(10));
}

#[test]
fn retry_after_parses_both_forms() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO),
        "a date in the past means now"
    );
    assert_eq!(parse_retry_after("soon", now), None);
}

#[tokio::test]
async fn a_slow_server_times_out_after_every_attempt() {
    let server = server();
    for _ in 0..3 {
        server.push_fault(Route::Any, Fault::Delay(Duration::from_millis(500)));
    }
    let client = HttpClient::new(HttpConfig {
        read_timeout: Duration::from_millis(50),
        ..fast()
    })
    .unwrap();
    let started = Instant::now();
    let err = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::Timeout {
                which: TimeoutKind::Read,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(err.to_string().contains("raise `read_timeout`"), "{err}");
    assert_eq!(server.request_count(), 3);
    assert!(started.elapsed() < NO_REAL_SLEEP);
}

#[tokio::test]
async fn the_total_timeout_bounds_one_attempt() {
    let server = server();
    server.push_fault(Route::Any, Fault::Delay(Duration::from_millis(500)));
    let client = HttpClient::new(HttpConfig {
        total_timeout: Duration::from_millis(50),
        max_attempts: 1,
        ..fast()
    })
    .unwrap();
    let err = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::Timeout {
                which: TimeoutKind::Total,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn not_found_is_final_after_one_attempt() {
    let server = server();
    let client = HttpClient::new(fast()).unwrap();
    let err = client
        .download(
            &FetchRequest::get(server.url("/missing.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn other_4xx_is_final_and_keeps_a_printable_snippet() {
    let server = server();
    server.push_fault(
        Route::Any,
        Fault::Status(403, format!("denied\u{1}\n{}", "x".repeat(500))),
    );
    let client = HttpClient::new(fast()).unwrap();
    let err = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap_err();
    let HttpError::Status {
        code: 403,
        ref snippet,
        attempts: 1,
        ..
    } = err
    else {
        panic!("{err:?}");
    };
    assert!(snippet.starts_with("denied"), "{snippet}");
    assert!(snippet.len() <= 200);
    assert!(!snippet.chars().any(char::is_control));
    assert!(err.to_string().contains("credentials"), "{err}");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn gives_up_after_max_attempts_and_says_what_to_raise() {
    let server = server();
    for _ in 0..5 {
        server.push_fault(Route::Any, Fault::Status(502, "bad gateway".into()));
    }
    let client = HttpClient::new(fast()).unwrap();
    let err = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.request_count(), 3);
    let text = err.to_string();
    assert!(
        text.contains("after 3 attempt(s)") && text.contains("max_attempts"),
        "{text}"
    );
}

#[tokio::test]
async fn an_oversize_body_is_refused_by_content_length() {
    let server = server();
    let client = HttpClient::new(HttpConfig {
        max_body_bytes: 10,
        ..fast()
    })
    .unwrap();
    let err = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::TooLarge {
                cap: 10,
                declared: Some(_),
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("max_body_bytes"));
    assert_eq!(server.request_count(), 1, "not retried");
}

#[tokio::test]
async fn an_oversize_body_is_cut_off_while_streaming() {
    let server = server();
    let client = HttpClient::new(HttpConfig {
        max_body_bytes: 10,
        ..fast()
    })
    .unwrap();
    let err = client
        .download(
            &FetchRequest::get(server.url("/chunked.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::TooLarge {
                cap: 10,
                declared: None,
                ..
            }
        ),
        "{err:?}"
    );
    // Without the cap the same chunked body downloads whole.
    let got = HttpClient::new(fast())
        .unwrap()
        .download(
            &FetchRequest::get(server.url("/chunked.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap();
    assert_eq!(got.len, BODY.len() as u64);
}

#[tokio::test]
async fn a_truncated_body_is_retried() {
    let server = server();
    server.push_fault(Route::Any, Fault::Truncate(7));
    let client = HttpClient::new(fast()).unwrap();
    let got = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap();
    assert_eq!(got.attempts, 2);
    assert!(
        got.retries[0].reason.contains("ended early"),
        "{:?}",
        got.retries
    );
    assert_eq!(got.sha256, sha256_hex(BODY.as_bytes()));
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = HttpClient::new(fast()).unwrap();
    let err = client
        .download(
            &FetchRequest::get(format!("http://127.0.0.1:{port}/x.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpError::Connect { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("check the URL, the network"),
        "{err}"
    );
}

#[tokio::test]
async fn only_http_and_https_are_fetched() {
    let client = HttpClient::new(fast()).unwrap();
    for url in ["file:///etc/passwd", "ftp://example.com/x.csv"] {
        let err = client
            .download(&FetchRequest::get(url), &quick_limiter())
            .await
            .unwrap_err();
        assert!(
            matches!(err, HttpError::UnsupportedScheme { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("only http:// and https://"),
            "{err}"
        );
        assert_eq!(err.attempts(), 0);
    }
    let err = client
        .download(&FetchRequest::get("not a url"), &quick_limiter())
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::InvalidUrl { .. }), "{err:?}");
}

#[tokio::test]
async fn redirects_are_followed_only_to_http() {
    let server = server();
    let client = HttpClient::new(fast()).unwrap();
    let moved = client
        .download(&FetchRequest::get(server.url("/moved")), &quick_limiter())
        .await
        .unwrap();
    assert_eq!(moved.final_url, server.url("/file.csv"));
    assert_eq!(moved.len, BODY.len() as u64);

    let err = client
        .download(
            &FetchRequest::get(server.url("/redirect-file")),
            &quick_limiter(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::Redirect { .. }), "{err:?}");
    assert!(err.to_string().contains("only http and https"), "{err}");
    assert!(!err.is_retryable());

    let err = client
        .download(&FetchRequest::get(server.url("/loop")), &quick_limiter())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("more than 5 redirects"), "{err}");
    assert_eq!(
        server.request_count(),
        2 + 6,
        "the first hop and five redirects"
    );
}

#[tokio::test]
async fn secrets_never_reach_errors_or_debug_output() {
    let server = server();
    for _ in 0..2 {
        server.push_fault(Route::Any, Fault::Status(500, "no".into()));
    }
    let client = HttpClient::new(HttpConfig {
        max_attempts: 2,
        ..fast()
    })
    .unwrap();
    let url = server
        .url("/file.csv?api_key=query-secret&day=2020-01-01")
        .replace("http://", "http://user:url-password@");
    let req = FetchRequest::get(url).with_header("Authorization", "Bearer header-secret");
    let err = client.download(&req, &quick_limiter()).await.unwrap_err();

    // The header did travel.
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer header-secret")
    );
    for text in [
        err.to_string(),
        format!("{err:?}"),
        format!("{req:?}"),
        format!("{client:?}"),
    ] {
        for secret in ["header-secret", "query-secret", "url-password"] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
    }
    assert!(err.to_string().contains("day=2020-01-01"), "{err}");
}

#[test]
fn redact_strips_userinfo_and_secret_params() {
    assert_eq!(
        redact("https://u:p@example.com/a.csv?token=abc&day=1"),
        "https://example.com/a.csv?token=***&day=1"
    );
    assert_eq!(
        redact("https://s3.example.com/k?X-Amz-Signature=abc&X-Amz-Credential=def"),
        "https://s3.example.com/k?X-Amz-Signature=***&X-Amz-Credential=***"
    );
    assert_eq!(
        redact("https://example.com/a.csv"),
        "https://example.com/a.csv"
    );
    assert_eq!(redact("not a url?token=abc"), "not a url");
    assert_eq!(redact("u:p@host/path?x"), "***@host/path");
    assert_eq!(format!("{:?}", SecretString::new("t")), "***");
    assert_eq!(SecretString::new("t").to_string(), "***");
}

#[test]
fn limiter_halves_on_overload_and_recovers_additively() {
    let limiter = AimdLimiter::new(
        RateLimitConfig {
            initial: 4.0,
            additive_step: 1.0,
            success_run: 2,
            decrease_factor: 0.5,
            min: 0.5,
            max: 4.0,
        },
        0.001,
    )
    .unwrap();
    limiter.on_overload(429); // 4 -> 2
    limiter.on_overload(503); // 2 -> 1
    limiter.on_overload(429); // 1 -> 0.5
    limiter.on_overload(429); // stays at min, still recorded
    for _ in 0..12 {
        limiter.on_success(); // +1 every 2: 1.5, 2.5, 3.5, 4 (cap), then nothing
    }
    let steps: Vec<(f64, RateEvent)> = limiter
        .timeline()
        .iter()
        .map(|c| (c.rate, c.event))
        .collect();
    assert_eq!(
        steps,
        vec![
            (4.0, RateEvent::Start),
            (2.0, RateEvent::Decrease { status: 429 }),
            (1.0, RateEvent::Decrease { status: 503 }),
            (0.5, RateEvent::Decrease { status: 429 }),
            (0.5, RateEvent::Decrease { status: 429 }),
            (1.5, RateEvent::Increase),
            (2.5, RateEvent::Increase),
            (3.5, RateEvent::Increase),
            (4.0, RateEvent::Increase),
        ]
    );
    let times: Vec<Duration> = limiter.timeline().iter().map(|c| c.at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[tokio::test]
async fn a_429_halves_the_host_rate_and_successes_restore_it() {
    let server = server();
    server.push_fault(Route::Any, Fault::Status(429, "too many".into()));
    let limiter = AimdLimiter::new(
        RateLimitConfig {
            initial: 4.0,
            additive_step: 1.0,
            success_run: 2,
            decrease_factor: 0.5,
            min: 0.5,
            max: 4.0,
        },
        0.001,
    )
    .unwrap();
    let client = HttpClient::new(fast()).unwrap();
    for _ in 0..5 {
        client
            .download(&FetchRequest::get(server.url("/file.csv")), &limiter)
            .await
            .unwrap();
    }
    // 429 → 2; successes 1,2 → 3; 3,4 → 4 (max); 5 → nothing.
    let steps: Vec<(f64, RateEvent)> = limiter
        .timeline()
        .iter()
        .map(|c| (c.rate, c.event))
        .collect();
    assert_eq!(
        steps,
        vec![
            (4.0, RateEvent::Start),
            (2.0, RateEvent::Decrease { status: 429 }),
            (3.0, RateEvent::Increase),
            (4.0, RateEvent::Increase),
        ]
    );
    assert_eq!(server.request_count(), 6);
}

#[tokio::test]
async fn two_tasks_sharing_a_limiter_are_paced_together() {
    let server = server();
    // CAISO's pace, one request per 5 s, scaled to one per 20 ms.
    let limiter =
        std::sync::Arc::new(AimdLimiter::new(RateLimitConfig::fixed(0.2), 0.004).unwrap());
    let client = HttpClient::new(fast()).unwrap();
    let url = server.url("/file.csv");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (client, limiter, url) = (client.clone(), limiter.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..3 {
                client
                    .download(&FetchRequest::get(url.clone()), &limiter)
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Six requests, the first free, the others 20 ms apart: at least 100 ms in all. Two
    // separate limiters would have let each task start at once and finish in ~40 ms.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
    assert!(elapsed < NO_REAL_SLEEP);
    let arrivals: Vec<Instant> = server.requests().iter().map(|r| r.at).collect();
    assert_eq!(arrivals.len(), 6);
    let span = arrivals[5].duration_since(arrivals[0]);
    assert!(span >= Duration::from_millis(90), "{span:?}");
}

#[test]
fn host_limiters_share_one_limiter_per_host() {
    let limiters = HostLimiters::new(RateLimitConfig::default(), 1.0)
        .unwrap()
        .with_host("oasis.caiso.com", RateLimitConfig::fixed(0.2))
        .unwrap();
    let a = limiters
        .for_url("https://OASIS.caiso.com/oasisapi/SingleZip?x=1")
        .unwrap();
    let b = limiters.get("oasis.caiso.com");
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    assert_eq!(a.rate(), 0.2);
    let other = limiters.get("data.binance.vision");
    assert!(!std::sync::Arc::ptr_eq(&a, &other));
    assert_eq!(other.rate(), RateLimitConfig::default().initial);
    assert!(matches!(
        limiters.for_url("nonsense"),
        Err(HttpError::InvalidUrl { .. })
    ));
}

#[test]
fn configs_parse_from_toml_and_reject_unknown_keys() {
    let config: HttpConfig = toml::from_str(
        r#"
        connect_timeout = "5s"
        read_timeout = "1m"
        backoff_initial = "250ms"
        max_attempts = 7
        max_body_bytes = 1048576
        "#,
    )
    .unwrap();
    assert_eq!(config.connect_timeout, Duration::from_secs(5));
    assert_eq!(config.read_timeout, Duration::from_secs(60));
    assert_eq!(config.backoff_initial, Duration::from_millis(250));
    assert_eq!(config.max_attempts, 7);
    assert_eq!(config.total_timeout, HttpConfig::default().total_timeout);
    assert_eq!(config.time_scale, 1.0);
    config.validate().unwrap();

    let err = toml::from_str::<HttpConfig>("max_atempts = 3").unwrap_err();
    assert!(err.to_string().contains("max_atempts"), "{err}");
    let rate: RateLimitConfig = toml::from_str("initial = 0.2\nmin = 0.1").unwrap();
    assert_eq!(rate.initial, 0.2);
    rate.validate().unwrap();
    assert!(toml::from_str::<RateLimitConfig>("inital = 1.0").is_err());

    for bad in [
        HttpConfig {
            max_attempts: 0,
            ..HttpConfig::default()
        },
        HttpConfig {
            time_scale: 0.0,
            ..HttpConfig::default()
        },
        HttpConfig {
            backoff_initial: Duration::from_secs(120),
            ..HttpConfig::default()
        },
    ] {
        assert!(matches!(
            HttpClient::new(bad),
            Err(HttpError::Config { .. })
        ));
    }
    let inverted = RateLimitConfig {
        min: 5.0,
        ..RateLimitConfig::default()
    };
    let err = AimdLimiter::new(inverted, 1.0).unwrap_err();
    assert!(err.to_string().contains("min <= initial <= max"), "{err}");
}

/// Real lines from Binance's aggregate-trade checksum table (shared/fixtures/real/binance).
const BINANCE_CHECKSUM: &str = "109df4fd75c918bc1b1dc653c24dc3b76854b08e994d15b53e625509993f4323  BNBBTC-aggTrades-2018-01.zip\n";

#[test]
fn parses_binance_checksum_files() {
    assert_eq!(
        parse_sha256sum_line(BINANCE_CHECKSUM, "BNBBTC-aggTrades-2018-01.zip").unwrap(),
        "109df4fd75c918bc1b1dc653c24dc3b76854b08e994d15b53e625509993f4323"
    );
    let two = "bb6e10d41e6810b158320544a80077113e9099128aa1bf4f2bdc883f3e99d375  QTUMETH-aggTrades-2018-01.zip\r\n\
               7FCB8F4987693B6A1FB27297623A20449814C0D0AFA2BEBE60214552C7F7305E *data/EOSETH-aggTrades-2018-01.zip\n";
    assert_eq!(
        parse_sha256sum_line(two, "EOSETH-aggTrades-2018-01.zip").unwrap(),
        "7fcb8f4987693b6a1fb27297623a20449814c0d0afa2bebe60214552c7f7305e"
    );
    let wrong = parse_sha256sum_line(BINANCE_CHECKSUM, "ETHBTC-aggTrades-2018-01.zip").unwrap_err();
    assert!(
        matches!(wrong, ChecksumError::WrongFile { .. }),
        "{wrong:?}"
    );
    for bad in [
        "",
        "abc  x.zip",
        &format!("{}  ", "g".repeat(64)),
        &format!("{} x.zip", "a".repeat(64)),
    ] {
        assert!(
            matches!(
                parse_sha256sum_line(bad, "x.zip"),
                Err(ChecksumError::Malformed { .. })
            ),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn verifies_a_download_against_its_checksum() {
    let server = server();
    let client = HttpClient::new(fast()).unwrap();
    let got = client
        .download(
            &FetchRequest::get(server.url("/file.csv")),
            &quick_limiter(),
        )
        .await
        .unwrap();
    let published = format!("{}  file.csv\n", sha256_hex(BODY.as_bytes()).to_uppercase());
    let expected = parse_sha256sum_line(&published, "file.csv").unwrap();
    verify_sha256(&got, &expected).unwrap();
    let err = verify_sha256(&got, &"0".repeat(64)).unwrap_err();
    assert!(matches!(err, ChecksumError::Mismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("fetch it again"), "{err}");
}
