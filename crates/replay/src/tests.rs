use std::time::{Duration, SystemTime};

use bytes::Bytes;
use chrono::NaiveDate;

use crate::{
    DateTemplate, Fault, ParamMatcher, PathPattern, Recorded, Recording, ReplayError, ReplayServer,
    Route,
};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const KLINES: &str = "/data/spot/daily/klines/ADABTC/1m/ADABTC-1m-{date:%Y-%m-%d}.zip";

fn recordings() -> Vec<Recording> {
    vec![
        Recording::get(
            PathPattern::date(KLINES).unwrap(),
            Recorded::ok("application/zip", Bytes::from_static(b"PK-zip-bytes")),
        )
        .covering([day(2021, 11, 27), day(2021, 11, 28)]),
        Recording::get(
            PathPattern::date("/csv/{date:%Y%m%d}damlbmp_zone.csv").unwrap(),
            Recorded::ok("text/csv", "Time Stamp,Name\n"),
        )
        .covering([day(2020, 1, 1)]),
        Recording::get(
            PathPattern::exact("/oasisapi/SingleZip"),
            Recorded::ok("application/zip", "caiso-zip"),
        )
        .with_query("queryname", ParamMatcher::exact("PRC_LMP"))
        .with_query(
            "startdatetime",
            ParamMatcher::date_format("%Y%m%dT%H:%M%z").unwrap(),
        )
        .with_query("enddatetime", ParamMatcher::any())
        .covering([day(2020, 1, 1)]),
        Recording::get(
            PathPattern::exact("/hello"),
            Recorded::ok("text/plain", "hello world, this is a recorded body")
                .with_header("x-recorded", "yes"),
        ),
    ]
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

#[test]
fn date_templates_parse_dates_and_reject_typos() {
    let t = DateTemplate::parse(KLINES).unwrap();
    assert_eq!(
        t.date_of("/data/spot/daily/klines/ADABTC/1m/ADABTC-1m-2021-11-27.zip"),
        Some(day(2021, 11, 27))
    );
    assert_eq!(
        t.date_of("/data/spot/daily/klines/ETHBTC/1m/ETHBTC-1m-2021-11-27.zip"),
        None
    );
    assert_eq!(
        t.date_of("/data/spot/daily/klines/ADABTC/1m/ADABTC-1m-2021-11-27.zip.CHECKSUM"),
        None
    );
    let nyiso = DateTemplate::parse("{date:%Y%m%d}damlbmp_zone.csv").unwrap();
    assert_eq!(
        nyiso.date_of("20200101damlbmp_zone.csv"),
        Some(day(2020, 1, 1))
    );
    // A literal percent sign stays literal.
    let pct = DateTemplate::parse("/a%20b/{date:%Y}-{date:%m}-{date:%d}").unwrap();
    assert_eq!(pct.date_of("/a%20b/2020-02-29"), Some(day(2020, 2, 29)));
    assert_eq!(pct.date_of("/a%20b/2021-02-29"), None, "not a real day");

    for bad in [
        "/no/fields",
        "/x/{day:%Y}",
        "/x/{date:%Y",
        "/x/{date:}",
        "/x/{date:%Q}",
    ] {
        let err = DateTemplate::parse(bad).unwrap_err();
        assert!(matches!(err, ReplayError::InvalidTemplate { .. }), "{bad}");
        assert!(err.to_string().contains("{date:%Y-%m-%d}"), "{err}");
    }
}

#[test]
fn caiso_query_dates_read_the_day_written_in_the_value() {
    let m = ParamMatcher::date_format("%Y%m%dT%H:%M%z").unwrap();
    assert!(m.matches("20200101T08:00-0000", &[day(2020, 1, 1)]));
    assert!(!m.matches("20200102T08:00-0000", &[day(2020, 1, 1)]));
    assert!(!m.matches("2020-01-01", &[day(2020, 1, 1)]));
}

#[tokio::test]
async fn serves_recordings_for_covered_days_and_404s_the_rest() {
    let server = ReplayServer::start(recordings()).unwrap();

    let ok = get(&server.url("/data/spot/daily/klines/ADABTC/1m/ADABTC-1m-2021-11-28.zip")).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-type"], "application/zip");
    assert_eq!(ok.bytes().await.unwrap(), "PK-zip-bytes");

    let caiso = get(&server.url(
        "/oasisapi/SingleZip?resultformat=6&queryname=PRC_LMP&startdatetime=20200101T08%3A00-0000&enddatetime=20200102T08:00-0000",
    ))
    .await;
    assert_eq!(caiso.status(), 200);
    assert_eq!(caiso.text().await.unwrap(), "caiso-zip");

    let nyiso = get(&server.url("/csv/20200101damlbmp_zone.csv")).await;
    assert_eq!(nyiso.status(), 200);
    assert!(server.unmatched().is_empty());

    // A day the recording does not cover, a missing query parameter, a wrong method.
    let uncovered =
        get(&server.url("/data/spot/daily/klines/ADABTC/1m/ADABTC-1m-2021-11-29.zip")).await;
    assert_eq!(uncovered.status(), 404);
    let body = uncovered.text().await.unwrap();
    assert!(
        body.contains("GET /data/spot/daily/klines/ADABTC/1m/ADABTC-1m-2021-11-29.zip"),
        "{body}"
    );
    let no_start = get(&server.url("/oasisapi/SingleZip?queryname=PRC_LMP&enddatetime=x")).await;
    assert_eq!(no_start.status(), 404);
    let post = reqwest::Client::new()
        .post(server.url("/hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 404);

    let unmatched = server.unmatched();
    assert_eq!(unmatched.len(), 3, "{unmatched:?}");
    assert_eq!(
        unmatched[1].query.as_deref(),
        Some("queryname=PRC_LMP&enddatetime=x")
    );
    assert_eq!(unmatched[2].method, "POST");
    assert_eq!(server.request_count(), 6);
    assert_eq!(server.requests()[0].recording, Some(0));
    assert_eq!(server.requests()[1].recording, Some(2));
}

#[tokio::test]
async fn logs_request_headers_and_resets_counts() {
    let server = ReplayServer::start(recordings()).unwrap();
    let response = reqwest::Client::new()
        .get(server.url("/hello"))
        .header("x-api-token", "s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-recorded"], "yes");
    let log = server.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].header("X-Api-Token"), Some("s3cret"));
    assert!(
        !format!("{:?}", log[0]).contains("s3cret"),
        "Debug shows header names only"
    );
    server.reset_counts();
    assert_eq!(server.request_count(), 0);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn status_and_retry_after_faults_are_served_in_order_then_the_recording() {
    let server = ReplayServer::start(recordings()).unwrap();
    server.push_fault(Route::Any, Fault::Status(500, "boom".into()));
    server.push_fault(Route::Any, Fault::RetryAfterSeconds(429, 2));
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800); // 2020-01-01
    server.push_fault(Route::Any, Fault::RetryAfterDate(503, when));

    let first = get(&server.url("/hello")).await;
    assert_eq!(first.status(), 500);
    assert_eq!(first.text().await.unwrap(), "boom");
    let second = get(&server.url("/hello")).await;
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["retry-after"], "2");
    let third = get(&server.url("/hello")).await;
    assert_eq!(third.status(), 503);
    assert_eq!(
        third.headers()["retry-after"],
        "Wed, 01 Jan 2020 00:00:00 GMT"
    );
    let fourth = get(&server.url("/hello")).await;
    assert_eq!(fourth.status(), 200);

    let log = server.requests();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].fault, Some(Fault::Status(500, "boom".into())));
    assert_eq!(log[0].recording, None);
    assert_eq!(log[3].fault, None);
    assert_eq!(log[3].recording, Some(3));
    assert!(
        server.unmatched().is_empty(),
        "faulted requests are not unmatched"
    );
}

#[tokio::test]
async fn path_faults_win_over_global_ones_and_only_hit_their_path() {
    let server = ReplayServer::start(recordings()).unwrap();
    server.push_fault(Route::Any, Fault::Status(502, String::new()));
    server.push_fault(
        Route::Path("/csv/20200101damlbmp_zone.csv".into()),
        Fault::Status(504, String::new()),
    );
    assert_eq!(
        get(&server.url("/csv/20200101damlbmp_zone.csv"))
            .await
            .status(),
        504
    );
    assert_eq!(
        get(&server.url("/csv/20200101damlbmp_zone.csv"))
            .await
            .status(),
        502
    );
    assert_eq!(
        get(&server.url("/csv/20200101damlbmp_zone.csv"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn body_fault_replaces_the_response() {
    let server = ReplayServer::start(recordings()).unwrap();
    server.push_fault(
        Route::Any,
        Fault::Body {
            status: 200,
            content_type: "text/html".into(),
            body: Bytes::from_static(b"<html>maintenance</html>"),
        },
    );
    server.push_fault(
        Route::Any,
        Fault::Body {
            status: 200,
            content_type: "application/zip".into(),
            body: Bytes::new(),
        },
    );
    let html = get(&server.url("/hello")).await;
    assert_eq!(html.headers()["content-type"], "text/html");
    assert_eq!(html.text().await.unwrap(), "<html>maintenance</html>");
    let empty = get(&server.url("/hello")).await;
    assert_eq!(empty.bytes().await.unwrap().len(), 0);
}

#[tokio::test]
async fn delay_fault_delays_then_serves() {
    let server = ReplayServer::start(recordings()).unwrap();
    server.push_fault(Route::Any, Fault::Delay(Duration::from_millis(300)));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let err = client.get(server.url("/hello")).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");

    server.push_fault(Route::Any, Fault::Delay(Duration::from_millis(20)));
    let started = std::time::Instant::now();
    let ok = get(&server.url("/hello")).await;
    assert_eq!(ok.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(20));
    assert_eq!(server.requests()[1].recording, Some(3));
}

#[tokio::test]
async fn truncate_fault_promises_the_full_length_and_cuts_the_body() {
    let server = ReplayServer::start(recordings()).unwrap();
    server.push_fault(Route::Any, Fault::Truncate(5));
    let response = get(&server.url("/hello")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.content_length(),
        Some("hello world, this is a recorded body".len() as u64)
    );
    let err = response.bytes().await.unwrap_err();
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    // The connection is gone but the server is not: the next request is served whole.
    assert_eq!(
        get(&server.url("/hello")).await.text().await.unwrap(),
        "hello world, this is a recorded body"
    );
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let mut server = ReplayServer::start(recordings()).unwrap();
    let url = server.url("/hello");
    assert_eq!(get(&url).await.status(), 200);
    server.shutdown();
    server.shutdown(); // idempotent
    tokio::task::yield_now().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert!(client.get(&url).send().await.is_err());
}

#[test]
fn start_outside_a_runtime_says_how_to_fix_it() {
    let err = ReplayServer::start(Vec::new()).unwrap_err();
    assert!(matches!(err, ReplayError::NoRuntime));
    assert!(err.to_string().contains("start_on"));
}

#[test]
fn start_on_serves_for_synchronous_callers() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = ReplayServer::start_on(runtime.handle(), recordings()).unwrap();
    let url = server.url("/hello");
    let status = runtime.block_on(async { get(&url).await.status() });
    assert_eq!(status, 200);
    assert_eq!(server.request_count(), 1);
}
