//! The webhook channel against a real hyper server on loopback.

use hyper::StatusCode;

use super::support::{HttpServer, WEBHOOK_TOKEN, env, failed_report};
use crate::{
    Channel, CommandConfig, DeliveryError, Notifier, NotifyConfig, WebhookConfig, WebhookFormat,
};

fn webhook(url: String, format: WebhookFormat, token: bool) -> WebhookConfig {
    WebhookConfig {
        url,
        token_env: token.then(|| "TEST_WEBHOOK_TOKEN".to_owned()),
        format,
        timeout_secs: 10,
    }
}

fn notifier(config: WebhookConfig) -> Notifier {
    Notifier::with_env(
        NotifyConfig {
            webhook: Some(config),
            ..NotifyConfig::default()
        },
        env,
    )
    .unwrap()
}

#[tokio::test]
async fn json_format_posts_the_summary_with_the_bearer_token() {
    let server = HttpServer::start(StatusCode::OK).await;
    let notifier = notifier(webhook(
        server.url("/hooks/gridlake"),
        WebhookFormat::Json,
        true,
    ));
    let report = failed_report();

    let outcomes = notifier.notify(&report).await;

    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].channel, Channel::Webhook);
    assert!(outcomes[0].is_delivered(), "{:?}", outcomes[0].result);
    // The target never shows the path (a Slack URL's path is its secret).
    assert_eq!(outcomes[0].target, format!("http://{}", server.addr));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/gridlake");
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {WEBHOOK_TOKEN}").as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, report.summary_json);
}

#[tokio::test]
async fn slack_format_posts_a_text_field_naming_the_failed_days() {
    let server = HttpServer::start(StatusCode::OK).await;
    let notifier = notifier(webhook(
        server.url("/services/T0/B0/X"),
        WebhookFormat::Slack,
        false,
    ));

    let outcomes = notifier.notify(&failed_report()).await;

    assert!(outcomes[0].is_delivered(), "{:?}", outcomes[0].result);
    let requests = server.requests();
    assert_eq!(requests[0].authorization, None);
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    let object = body.as_object().unwrap();
    assert_eq!(
        object.len(),
        1,
        "Slack payload is just {{\"text\"}}: {body}"
    );
    let text = object["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "*gridlake sync: 2 failed days (caiso_lmp_dam: 2024-03-10, 2024-03-11)*\n"
        ),
        "{text}"
    );
    assert!(text.contains("1 complete, 2 failed"), "{text}");
    assert!(!text.contains(WEBHOOK_TOKEN));
}

#[tokio::test]
async fn a_500_is_a_failure_and_the_other_channels_still_deliver() {
    let server = HttpServer::start(StatusCode::INTERNAL_SERVER_ERROR).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stdin.json");
    let notifier = Notifier::with_env(
        NotifyConfig {
            webhook: Some(webhook(server.url("/hook"), WebhookFormat::Json, true)),
            command: Some(CommandConfig {
                argv: vec![
                    "sh".into(),
                    "-c".into(),
                    r#"cat > "$1""#.into(),
                    "sh".into(),
                    out.display().to_string(),
                ],
                timeout_secs: 10,
            }),
            ..NotifyConfig::default()
        },
        env,
    )
    .unwrap();

    let outcomes = notifier.notify(&failed_report()).await;

    assert_eq!(outcomes.len(), 2);
    let (webhook, command) = (&outcomes[0], &outcomes[1]);
    assert_eq!(webhook.channel, Channel::Webhook);
    match &webhook.result {
        Err(DeliveryError::HttpStatus { status, body, .. }) => {
            assert_eq!(*status, 500);
            assert_eq!(body, "receiver says no");
        }
        other => panic!("expected HttpStatus, got {other:?}"),
    }
    assert_eq!(command.channel, Channel::Command);
    assert!(command.is_delivered(), "{:?}", command.result);
    assert!(out.exists());
}

#[tokio::test]
async fn a_token_echoed_back_by_the_receiver_is_scrubbed_from_the_error() {
    let server = HttpServer::start(StatusCode::UNAUTHORIZED).await;
    let notifier = notifier(webhook(server.url("/echo"), WebhookFormat::Json, true));

    let outcomes = notifier.notify(&failed_report()).await;

    let err = outcomes[0].result.as_ref().unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, DeliveryError::HttpStatus { status: 401, .. }),
        "{err:?}"
    );
    assert!(text.contains("Bearer [redacted]"), "{text}");
    assert!(!text.contains(WEBHOOK_TOKEN), "{text}");
    assert!(!format!("{err:?}").contains(WEBHOOK_TOKEN));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_failure_that_hides_the_url_path() {
    // Bind then drop a listener: nothing accepts on that port any more.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let notifier = notifier(webhook(
        format!("http://{addr}/services/SECRET-PATH"),
        WebhookFormat::Slack,
        true,
    ));

    let outcomes = notifier.notify(&failed_report()).await;

    let err = outcomes[0].result.as_ref().unwrap_err();
    assert!(matches!(err, DeliveryError::Http { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("http://{addr}")), "{text}");
    assert!(!text.contains("SECRET-PATH"), "{text}");
    assert!(!text.contains(WEBHOOK_TOKEN), "{text}");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let server = HttpServer::start(StatusCode::TEMPORARY_REDIRECT).await;
    let notifier = notifier(webhook(server.url("/hook"), WebhookFormat::Json, true));

    let outcomes = notifier.notify(&failed_report()).await;

    let err = outcomes[0].result.as_ref().unwrap_err();
    assert!(
        matches!(err, DeliveryError::HttpStatus { status: 307, .. }),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}
