//! The command channel: runs a local program with the run summary JSON on stdin, for whatever
//! the other channels do not cover (a pager, a chat CLI, a ticket).
//!
//! The program is run directly, without a shell, so config values are never re-parsed. Its
//! stdout goes to /dev/null because gridlake's own stdout may carry `--json` output that a
//! caller parses; its stderr is captured and its tail reported when it fails. It is killed when
//! it outlives its timeout (`kill_on_drop`, since the timeout drops the waiting future).

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::config::CommandConfig;
use crate::error::{DeliveryError, NotifyError, tail};
use crate::report::RunReport;

/// How much of a failing program's stderr ends up in the error text.
const STDERR_TAIL_BYTES: usize = 500;

/// A validated `[notify.command]`.
#[derive(Debug)]
pub(crate) struct CommandChannel {
    argv: Vec<String>,
    timeout_secs: u64,
}

impl CommandChannel {
    pub(crate) fn new(config: &CommandConfig) -> Result<Self, NotifyError> {
        match config.argv.first() {
            Some(program) if !program.is_empty() => {}
            _ => {
                return Err(NotifyError::invalid(
                    "command",
                    "`argv` is empty; write the program and its arguments, e.g. \
                     argv = [\"/usr/local/bin/page-oncall\", \"--team\", \"data\"]",
                ));
            }
        }
        if config.timeout_secs == 0 {
            return Err(NotifyError::invalid(
                "command",
                "`timeout_secs` must be at least 1",
            ));
        }
        Ok(Self {
            argv: config.argv.clone(),
            timeout_secs: config.timeout_secs,
        })
    }

    /// `argv[0]`, for outcomes and logs (arguments are left out: they may hold anything).
    pub(crate) fn target(&self) -> String {
        self.argv.first().cloned().unwrap_or_default()
    }

    pub(crate) fn timeout_secs(&self) -> u64 {
        self.timeout_secs
    }

    pub(crate) async fn deliver(&self, report: &RunReport) -> Result<(), DeliveryError> {
        let program = self.target();
        let spawn_error = |e: std::io::Error| DeliveryError::Spawn {
            program: program.clone(),
            message: e.to_string(),
        };
        let mut child = Command::new(&program)
            .args(&self.argv[1..])
            .env("GRIDLAKE_OUTCOME", report.outcome())
            .env("GRIDLAKE_COMMAND", &report.command)
            .env("GRIDLAKE_LAKE", &report.lake)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_error)?;
        let mut stdin = child.stdin.take();
        let input = report.summary_json.to_string();
        // Feed stdin while waiting: a program that writes a lot of stderr before reading its
        // input would otherwise block on a full pipe while we block on a full stdin pipe.
        let feed = async {
            if let Some(stdin) = stdin.as_mut() {
                stdin.write_all(input.as_bytes()).await?;
                stdin.shutdown().await?;
            }
            // Close stdin so the program sees end of input.
            drop(stdin);
            Ok::<(), std::io::Error>(())
        };
        let (fed, output) = tokio::join!(feed, child.wait_with_output());
        let output = output.map_err(spawn_error)?;
        if !output.status.success() {
            let status = match output.status.code() {
                Some(code) => format!("exited with code {code}"),
                None => "was killed by a signal".to_owned(),
            };
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(DeliveryError::CommandFailed {
                program,
                status,
                stderr: tail(stderr.trim_end(), STDERR_TAIL_BYTES),
            });
        }
        match fed {
            // A program that exits 0 without reading its input (a static "run failed" pager
            // call) has done its job; the broken pipe that leaves us with is not a failure.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(spawn_error(e)),
            _ => Ok(()),
        }
    }
}
