//! Parsing `[notify]`, validation in `Notifier::new`, subjects, and secrets in `Debug`.

use super::support::{WEBHOOK_TOKEN, env, failed_report};
use crate::{
    CommandConfig, EmailConfig, Notifier, NotifyConfig, NotifyError, NotifyOn, SecretString,
    SmtpSecurity, WebhookConfig, WebhookFormat,
};

fn parse(toml_text: &str) -> Result<NotifyConfig, toml::de::Error> {
    toml::from_str(toml_text)
}

#[test]
fn a_full_notify_table_parses_with_defaults_filled_in() {
    let config = parse(
        r#"
        [email]
        host = "smtp.example.com"
        username = "gridlake"
        password_env = "GRIDLAKE_SMTP_PASSWORD"
        from = "gridlake@example.com"
        to = ["oncall@example.com"]

        [webhook]
        url = "https://hooks.slack.com/services/T0/B0/XYZ"
        format = "slack"

        [command]
        argv = ["/usr/local/bin/page", "--team", "data"]
        "#,
    )
    .unwrap();
    assert_eq!(config.on, NotifyOn::Failure);
    let email = config.email.unwrap();
    assert_eq!(email.security, SmtpSecurity::Starttls);
    assert_eq!(email.port(), 587);
    assert_eq!(email.timeout_secs, 30);
    assert_eq!(email.ca_file, None);
    let webhook = config.webhook.unwrap();
    assert_eq!(webhook.format, WebhookFormat::Slack);
    assert_eq!(webhook.token_env, None);
    assert_eq!(config.command.unwrap().timeout_secs, 30);
}

#[test]
fn ports_default_by_security_and_on_always_parses() {
    let config = parse(
        r#"
        on = "always"
        [email]
        host = "smtp.example.com"
        security = "tls"
        from = "a@example.com"
        to = ["b@example.com"]
        "#,
    )
    .unwrap();
    assert_eq!(config.on, NotifyOn::Always);
    assert_eq!(config.email.unwrap().port(), 465);
}

#[test]
fn unknown_keys_and_values_are_errors() {
    let err = parse("[email]\nhost = \"h\"\npasswd_env = \"X\"\nfrom = \"a@b.c\"\nto = []\n")
        .unwrap_err();
    assert!(err.to_string().contains("passwd_env"), "{err}");
    let err = parse("on = \"sometimes\"\n").unwrap_err();
    assert!(err.to_string().contains("sometimes"), "{err}");
    let err = parse("[webhook]\nurl = \"https://x\"\nformat = \"teams\"\n").unwrap_err();
    assert!(err.to_string().contains("teams"), "{err}");
}

fn email_config() -> EmailConfig {
    EmailConfig {
        host: "smtp.example.com".into(),
        port: None,
        security: SmtpSecurity::Starttls,
        username: Some("gridlake".into()),
        password_env: Some("TEST_SMTP_PASSWORD".into()),
        from: "gridlake@example.com".into(),
        to: vec!["oncall@example.com".into()],
        ca_file: None,
        timeout_secs: 30,
    }
}

fn build_email(config: EmailConfig) -> Result<Notifier, NotifyError> {
    Notifier::with_env(
        NotifyConfig {
            email: Some(config),
            ..NotifyConfig::default()
        },
        env,
    )
}

fn build_webhook(url: &str, token: bool) -> Result<Notifier, NotifyError> {
    Notifier::with_env(
        NotifyConfig {
            webhook: Some(WebhookConfig {
                url: url.into(),
                token_env: token.then(|| "TEST_WEBHOOK_TOKEN".into()),
                format: WebhookFormat::Json,
                timeout_secs: 30,
            }),
            ..NotifyConfig::default()
        },
        env,
    )
}

#[test]
fn a_missing_password_variable_names_the_variable_and_what_to_do() {
    let err = build_email(EmailConfig {
        password_env: Some("GRIDLAKE_TEST_UNSET_VAR".into()),
        ..email_config()
    })
    .unwrap_err();
    assert!(matches!(err, NotifyError::MissingSecret { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("notify.email.password_env"), "{text}");
    assert!(text.contains("`GRIDLAKE_TEST_UNSET_VAR`"), "{text}");
    assert!(text.contains("export it"), "{text}");
}

#[test]
fn email_settings_that_cannot_work_are_refused_up_front() {
    let cases = [
        (
            EmailConfig {
                security: SmtpSecurity::None,
                ..email_config()
            },
            "clear text",
        ),
        (
            EmailConfig {
                password_env: None,
                ..email_config()
            },
            "both `username` and `password_env`",
        ),
        (
            EmailConfig {
                to: Vec::new(),
                ..email_config()
            },
            "`to` is empty",
        ),
        (
            EmailConfig {
                from: "not an address".into(),
                ..email_config()
            },
            "`from`",
        ),
        (
            EmailConfig {
                to: vec!["ok@example.com".into(), "nope".into()],
                ..email_config()
            },
            "\"nope\"",
        ),
    ];
    for (config, expected) in cases {
        let err = build_email(config).unwrap_err();
        assert!(
            matches!(
                err,
                NotifyError::Invalid {
                    channel: "email",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(expected),
            "{err} lacks {expected:?}"
        );
    }
    // A relay on the same host without TLS or credentials is fine.
    build_email(EmailConfig {
        security: SmtpSecurity::None,
        username: None,
        password_env: None,
        ..email_config()
    })
    .unwrap();
}

#[test]
fn a_ca_file_must_exist_and_hold_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let err = build_email(EmailConfig {
        ca_file: Some(dir.path().join("missing.pem")),
        ..email_config()
    })
    .unwrap_err();
    assert!(matches!(err, NotifyError::ReadCaFile { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.pem"), "{err}");

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let err = build_email(EmailConfig {
        ca_file: Some(empty),
        ..email_config()
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("holds no PEM certificate"),
        "{err}"
    );
}

#[test]
fn webhook_urls_are_checked() {
    let err = build_webhook("ftp://example.com/hook", false).unwrap_err();
    assert!(
        err.to_string().contains("only http:// and https://"),
        "{err}"
    );
    let err = build_webhook("not a url", false).unwrap_err();
    assert!(err.to_string().contains("not a valid URL"), "{err}");
    let err = build_webhook("https://user:pw@example.com/hook", false).unwrap_err();
    assert!(err.to_string().contains("token_env"), "{err}");
    // A token over plain http only to this host.
    let err = build_webhook("http://example.com/hook", true).unwrap_err();
    assert!(err.to_string().contains("clear text"), "{err}");
    build_webhook("http://127.0.0.1:9/hook", true).unwrap();
    build_webhook("https://example.com/hook", true).unwrap();
}

#[test]
fn an_empty_command_is_refused() {
    let err = Notifier::new(NotifyConfig {
        command: Some(CommandConfig {
            argv: Vec::new(),
            timeout_secs: 30,
        }),
        ..NotifyConfig::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("`argv` is empty"), "{err}");
}

#[test]
fn no_channel_means_nothing_to_do() {
    let notifier = Notifier::new(NotifyConfig::default()).unwrap();
    assert!(!notifier.is_enabled());
}

#[test]
fn debug_output_never_shows_secrets_or_the_webhook_path() {
    let config = NotifyConfig {
        email: Some(email_config()),
        webhook: Some(WebhookConfig {
            url: "https://hooks.example.com/services/T0/B0/SECRETPATH".into(),
            token_env: Some("TEST_WEBHOOK_TOKEN".into()),
            format: WebhookFormat::Slack,
            timeout_secs: 30,
        }),
        ..NotifyConfig::default()
    };
    let config_debug = format!("{config:?}");
    let notifier = Notifier::with_env(config, env).unwrap();
    let notifier_debug = format!("{notifier:?}");
    for shown in [&config_debug, &notifier_debug] {
        assert!(!shown.contains("SECRETPATH"), "{shown}");
        assert!(!shown.contains(super::support::SMTP_PASSWORD), "{shown}");
        assert!(!shown.contains(WEBHOOK_TOKEN), "{shown}");
    }
    assert!(config_debug.contains("https://hooks.example.com:443/[redacted]"));
    assert!(notifier_debug.contains("[redacted]"));
    let secret = SecretString::new("hunter2");
    assert_eq!(format!("{secret:?} {secret}"), "[redacted] [redacted]");
    assert_eq!(secret.expose(), "hunter2");
}

#[test]
fn subjects_name_datasets_and_days_and_truncate_long_lists() {
    assert_eq!(
        failed_report().subject(),
        "gridlake sync: 2 failed days (caiso_lmp_dam: 2024-03-10, 2024-03-11)"
    );
    let days = |n: usize| {
        (1..=n)
            .map(|d| format!("2024-03-{d:02}"))
            .collect::<Vec<_>>()
    };
    let mut report = failed_report();
    report.failed_days = vec![("caiso_lmp_dam".into(), days(1))];
    assert_eq!(
        report.subject(),
        "gridlake sync: 1 failed day (caiso_lmp_dam: 2024-03-01)"
    );
    report.failed_days = vec![
        ("caiso_lmp_dam".into(), days(3)),
        ("nyiso_lbmp_rt_zonal".into(), days(4)),
        ("nyiso_lbmp_dam_zonal".into(), days(2)),
    ];
    assert_eq!(
        report.subject(),
        "gridlake sync: 9 failed days (caiso_lmp_dam: 2024-03-01, 2024-03-02, 2024-03-03; \
         nyiso_lbmp_rt_zonal: 2024-03-01, 2024-03-02 and 4 more)"
    );
    report.failed_days = Vec::new();
    assert_eq!(report.subject(), "gridlake sync: finished with failures");
    report.failed = false;
    assert_eq!(report.subject(), "gridlake sync: ok");
}
