//! What a run hands to the notifier, and the texts every channel derives from it: the one-line
//! subject (email subject, first line of a Slack message) and the plain-text body.

use std::fmt::Write as _;

/// How many failed days the subject names before it says "and N more": enough for the usual
/// night (one dataset, a day or two), short enough that mail clients do not cut the line.
const SUBJECT_MAX_DAYS: usize = 5;

/// The end of one gridlake run, as the notifier sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The subcommand that ran, e.g. `sync`.
    pub command: String,
    /// The lake it ran against (a path or URL; shown in the body).
    pub lake: String,
    /// Whether the run finished with failures (exit code 1 or 3).
    pub failed: bool,
    /// Failed days per dataset: `(dataset, ["2024-03-10", …])`, in the order to show them.
    pub failed_days: Vec<(String, Vec<String>)>,
    /// The run summary, exactly as `--json` prints it; the webhook's `json` format posts it
    /// verbatim and the command gets it on stdin.
    pub summary_json: serde_json::Value,
    /// The human summary, as printed on the terminal.
    pub text: String,
}

impl RunReport {
    /// `failure` or `success`: the value of `GRIDLAKE_OUTCOME`.
    pub fn outcome(&self) -> &'static str {
        if self.failed { "failure" } else { "success" }
    }

    /// One line naming the command, the number of failed days and which ones, e.g.
    /// `gridlake sync: 2 failed days (caiso_lmp_dam: 2024-03-10, 2024-03-11)`. At most
    /// five days are named; the rest are counted as "and N more".
    pub fn subject(&self) -> String {
        let total: usize = self.failed_days.iter().map(|(_, days)| days.len()).sum();
        if total == 0 {
            // A run can fail without a failed day (bad config, an input refused at file level).
            let what = if self.failed {
                "finished with failures"
            } else {
                "ok"
            };
            return format!("gridlake {}: {what}", self.command);
        }
        let plural = if total == 1 { "day" } else { "days" };
        let mut subject = format!("gridlake {}: {total} failed {plural} (", self.command);
        let mut named = 0;
        let mut first_dataset = true;
        for (dataset, days) in &self.failed_days {
            if named == SUBJECT_MAX_DAYS {
                break;
            }
            if days.is_empty() {
                continue;
            }
            if !first_dataset {
                subject.push_str("; ");
            }
            first_dataset = false;
            subject.push_str(dataset);
            subject.push_str(": ");
            let take = days.len().min(SUBJECT_MAX_DAYS - named);
            subject.push_str(&days[..take].join(", "));
            named += take;
        }
        if named < total {
            // `write!` into a String cannot fail; the Result is discarded on purpose.
            let _ = write!(subject, " and {} more", total - named);
        }
        subject.push(')');
        subject
    }

    /// The plain-text email body: a header line, the human summary, every failed
    /// day (the subject may have truncated them), then the summary JSON for machines.
    pub fn body(&self) -> String {
        let mut body = String::new();
        let _ = writeln!(
            body,
            "gridlake {} on {}: {}",
            self.command,
            self.lake,
            self.outcome()
        );
        body.push('\n');
        body.push_str(self.text.trim_end());
        body.push('\n');
        if self.failed_days.iter().any(|(_, days)| !days.is_empty()) {
            body.push_str("\nFailed days:\n");
            for (dataset, days) in &self.failed_days {
                if !days.is_empty() {
                    let _ = writeln!(body, "  {dataset}: {}", days.join(", "));
                }
            }
        }
        body.push_str("\nRun summary (JSON):\n");
        // Serialising a `Value` cannot fail (its map keys are always strings).
        let json = serde_json::to_string_pretty(&self.summary_json).unwrap_or_default();
        body.push_str(&json);
        body.push('\n');
        body
    }
}
