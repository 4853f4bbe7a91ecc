//! The email channel against a real SMTP relay: aiosmtpd with STARTTLS and AUTH required, its
//! certificate signed by a test root that the client trusts through `ca_file`.

use hyper::StatusCode;

use super::support::{
    HttpServer, SMTP_PASSWORD, SMTP_USER, SmtpServer, WEBHOOK_TOKEN, env, failed_report,
};
use crate::{
    Channel, CommandConfig, DeliveryError, EmailConfig, Notifier, NotifyConfig, SmtpSecurity,
    WebhookConfig, WebhookFormat,
};

fn email(server: &SmtpServer, password_env: &str) -> EmailConfig {
    EmailConfig {
        host: "127.0.0.1".into(),
        port: Some(server.port),
        security: SmtpSecurity::Starttls,
        username: Some(SMTP_USER.into()),
        password_env: Some(password_env.into()),
        from: "gridlake <gridlake@example.com>".into(),
        to: vec![
            "oncall@example.com".into(),
            "Data Team <data@example.com>".into(),
        ],
        ca_file: Some(server.pki.ca_pem.clone()),
        timeout_secs: 20,
    }
}

fn notifier(config: EmailConfig) -> Notifier {
    Notifier::with_env(
        NotifyConfig {
            email: Some(config),
            ..NotifyConfig::default()
        },
        env,
    )
    .unwrap()
}

#[tokio::test]
async fn a_failed_run_sends_one_email_over_starttls_naming_the_failed_days() {
    let server = SmtpServer::start();
    let notifier = notifier(email(&server, "TEST_SMTP_PASSWORD"));
    let report = failed_report();

    let outcomes = notifier.notify(&report).await;

    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].channel, Channel::Email);
    assert_eq!(outcomes[0].target, format!("127.0.0.1:{}", server.port));
    assert!(outcomes[0].is_delivered(), "{:?}", outcomes[0].result);
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message["mail_from"], "gridlake@example.com");
    assert_eq!(
        message["rcpt_tos"],
        serde_json::json!(["oncall@example.com", "data@example.com"])
    );
    assert_eq!(
        message["subject"],
        "gridlake sync: 2 failed days (caiso_lmp_dam: 2024-03-10, 2024-03-11)"
    );
    let body = message["body"].as_str().unwrap();
    assert!(
        body.contains("gridlake sync on /data/gridlake: failure"),
        "{body}"
    );
    assert!(
        body.contains("caiso_lmp_dam: 1 complete, 2 failed"),
        "{body}"
    );
    assert!(
        body.contains("caiso_lmp_dam: 2024-03-10, 2024-03-11"),
        "{body}"
    );
    // The summary JSON is in the body, whole.
    let json_start = body.find("Run summary (JSON):\n").unwrap() + "Run summary (JSON):\n".len();
    let summary: serde_json::Value = serde_json::from_str(&body[json_start..]).unwrap();
    assert_eq!(summary, report.summary_json);
    let raw = message["raw"].as_str().unwrap();
    for text in [raw, body] {
        assert!(
            !text.contains(SMTP_PASSWORD),
            "password leaked into the message"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_is_a_delivery_error_that_does_not_contain_it() {
    let server = SmtpServer::start();
    let notifier = notifier(email(&server, "TEST_WRONG_PASSWORD"));

    let outcomes = notifier.notify(&failed_report()).await;

    let err = outcomes[0].result.as_ref().unwrap_err();
    assert!(matches!(err, DeliveryError::Smtp { .. }), "{err:?}");
    let (text, debug) = (err.to_string(), format!("{err:?}"));
    // aiosmtpd answers 535 to bad credentials.
    assert!(text.contains("535"), "{text}");
    assert!(
        text.contains("password_env"),
        "the error should say what to check: {text}"
    );
    for shown in [&text, &debug, &format!("{notifier:?}")] {
        assert!(!shown.contains("not-the-password-42"), "{shown}");
        assert!(!shown.contains(SMTP_PASSWORD), "{shown}");
    }
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_relay_certificate_outside_the_trusted_roots_is_refused() {
    let server = SmtpServer::start();
    // Without `ca_file` the test root is unknown: TLS must fail, not fall back to clear text.
    let config = EmailConfig {
        ca_file: None,
        ..email(&server, "TEST_SMTP_PASSWORD")
    };
    let notifier = notifier(config);

    let outcomes = notifier.notify(&failed_report()).await;

    let err = outcomes[0].result.as_ref().unwrap_err();
    assert!(matches!(err, DeliveryError::Smtp { .. }), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn every_channel_runs_even_when_one_fails() {
    let smtp = SmtpServer::start();
    let http = HttpServer::start(StatusCode::INTERNAL_SERVER_ERROR).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stdin.json");
    let notifier = Notifier::with_env(
        NotifyConfig {
            email: Some(email(&smtp, "TEST_SMTP_PASSWORD")),
            webhook: Some(WebhookConfig {
                url: http.url("/hook"),
                token_env: Some("TEST_WEBHOOK_TOKEN".into()),
                format: WebhookFormat::Json,
                timeout_secs: 10,
            }),
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

    let channels: Vec<_> = outcomes
        .iter()
        .map(|o| (o.channel, o.is_delivered()))
        .collect();
    assert_eq!(
        channels,
        [
            (Channel::Email, true),
            (Channel::Webhook, false),
            (Channel::Command, true)
        ],
        "{outcomes:?}"
    );
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(http.requests().len(), 1);
    assert!(out.exists());
    let all = format!("{outcomes:?}");
    assert!(
        !all.contains(SMTP_PASSWORD) && !all.contains(WEBHOOK_TOKEN),
        "{all}"
    );
}
