//! The command channel with real `sh` processes.

use super::support::{failed_report, ok_report};
use crate::{Channel, CommandConfig, DeliveryError, Notifier, NotifyConfig, NotifyOn};

/// A notifier whose only channel is `sh -c SCRIPT sh ARGS...` (positional args, so temp paths
/// need no quoting).
fn sh_notifier(on: NotifyOn, script: &str, args: &[&std::path::Path], secs: u64) -> Notifier {
    let mut argv = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        script.to_owned(),
        "sh".to_owned(),
    ];
    argv.extend(args.iter().map(|p| p.display().to_string()));
    Notifier::new(NotifyConfig {
        on,
        command: Some(CommandConfig {
            argv,
            timeout_secs: secs,
        }),
        ..NotifyConfig::default()
    })
    .unwrap()
}

const CAPTURE: &str =
    r#"cat > "$1"; printf %s "$GRIDLAKE_OUTCOME $GRIDLAKE_COMMAND $GRIDLAKE_LAKE" > "$2""#;

#[tokio::test]
async fn command_gets_the_summary_on_stdin_and_the_outcome_in_its_env() {
    let dir = tempfile::tempdir().unwrap();
    let (stdin, env) = (dir.path().join("stdin.json"), dir.path().join("env"));
    let notifier = sh_notifier(NotifyOn::Failure, CAPTURE, &[&stdin, &env], 10);
    let report = failed_report();

    let outcomes = notifier.notify(&report).await;

    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].channel, Channel::Command);
    assert_eq!(outcomes[0].target, "sh");
    assert!(outcomes[0].is_delivered(), "{:?}", outcomes[0].result);
    let got: serde_json::Value = serde_json::from_slice(&std::fs::read(&stdin).unwrap()).unwrap();
    assert_eq!(got, report.summary_json);
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "failure sync /data/gridlake"
    );
}

#[tokio::test]
async fn on_failure_sends_nothing_for_a_successful_run() {
    let dir = tempfile::tempdir().unwrap();
    let (stdin, env) = (dir.path().join("stdin.json"), dir.path().join("env"));
    let notifier = sh_notifier(NotifyOn::Failure, CAPTURE, &[&stdin, &env], 10);

    let outcomes = notifier.notify(&ok_report()).await;

    assert!(outcomes.is_empty(), "{outcomes:?}");
    assert!(!stdin.exists(), "the command ran for a successful run");
}

#[tokio::test]
async fn always_sends_a_successful_run_too() {
    let dir = tempfile::tempdir().unwrap();
    let (stdin, env) = (dir.path().join("stdin.json"), dir.path().join("env"));
    let notifier = sh_notifier(NotifyOn::Always, CAPTURE, &[&stdin, &env], 10);

    let outcomes = notifier.notify(&ok_report()).await;

    assert_eq!(outcomes.len(), 1);
    assert!(outcomes[0].is_delivered(), "{:?}", outcomes[0].result);
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "success sync /data/gridlake"
    );
}

#[tokio::test]
async fn a_failing_command_reports_its_exit_code_and_stderr() {
    let notifier = sh_notifier(
        NotifyOn::Failure,
        "cat >/dev/null; echo 'pager: no route to on-call' >&2; exit 3",
        &[],
        10,
    );

    let outcomes = notifier.notify(&failed_report()).await;

    match &outcomes[0].result {
        Err(DeliveryError::CommandFailed { status, stderr, .. }) => {
            assert_eq!(status, "exited with code 3");
            assert_eq!(stderr, "pager: no route to on-call");
        }
        other => panic!("expected CommandFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_command_that_ignores_stdin_and_succeeds_is_delivered() {
    // Exits before reading: writing the summary hits a closed pipe, which is not a failure.
    let notifier = sh_notifier(NotifyOn::Failure, "exit 0", &[], 10);

    let outcomes = notifier.notify(&failed_report()).await;

    assert!(outcomes[0].is_delivered(), "{:?}", outcomes[0].result);
}

#[tokio::test]
async fn a_hanging_command_is_killed_at_its_timeout() {
    let notifier = sh_notifier(NotifyOn::Failure, "exec sleep 30", &[], 1);
    let start = std::time::Instant::now();

    let outcomes = notifier.notify(&failed_report()).await;

    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    let err = outcomes[0].result.as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            DeliveryError::Timeout {
                channel: "command",
                secs: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("notify.command.timeout_secs"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_program_says_to_check_argv() {
    let notifier = Notifier::new(NotifyConfig {
        command: Some(CommandConfig {
            argv: vec!["/nonexistent/gridlake-pager".into()],
            timeout_secs: 5,
        }),
        ..NotifyConfig::default()
    })
    .unwrap();

    let outcomes = notifier.notify(&failed_report()).await;

    let err = outcomes[0].result.as_ref().unwrap_err();
    assert!(matches!(err, DeliveryError::Spawn { .. }), "{err:?}");
    assert!(err.to_string().contains("argv[0]"), "{err}");
}
