//! The interactive loop: rustyline for editing, history and completion; [`Shell`] for everything else.
//!
//! datafusion-cli's command set is fixed, so we own the loop (as the issue asks) and keep only what it
//! needs: a statement is read until a line ends it with `;` (outside strings and comments), a line
//! starting with `\` is a command, Ctrl-C drops the statement being typed, Ctrl-D or `\q` quits.

use std::io::Write;
use std::path::{Path, PathBuf};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::error::{Result, ShellError};
use crate::runner::{Flow, Shell};
use crate::script::is_complete;

/// Environment variable naming the folder of the history file (tests point it at a temporary folder).
pub const HISTORY_DIR_ENV: &str = "GRIDLAKE_HISTORY_DIR";

/// Where the history lives: `$GRIDLAKE_HISTORY_DIR/history`, else `<data dir>/gridlake/history` (the
/// user's data directory, `$XDG_DATA_HOME` or `~/.local/share` on Linux), never the working directory,
/// so history follows the user rather than whichever folder they ran the shell from.
pub fn history_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(HISTORY_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("history"));
    }
    dirs::data_dir().map(|d| d.join("gridlake").join("history"))
}

/// Completes the word under the cursor from table names, column names, commands and keywords.
#[derive(Debug, Default)]
struct LakeHelper {
    words: Vec<String>,
}

impl Completer for LakeHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        let start = head
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\\'))
            .map_or(0, |i| i + 1);
        let word = &head[start..];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let lower = word.to_lowercase();
        let candidates = self
            .words
            .iter()
            .filter(|w| w.to_lowercase().starts_with(&lower))
            .map(|w| Pair {
                display: w.clone(),
                replacement: w.clone(),
            })
            .collect();
        Ok((start, candidates))
    }
}

impl Hinter for LakeHelper {
    type Hint = String;
}
impl Highlighter for LakeHelper {}
impl Validator for LakeHelper {}
impl Helper for LakeHelper {}

fn readline_err(e: ReadlineError) -> ShellError {
    ShellError::Io(std::io::Error::other(e.to_string()))
}

fn save_history(rl: &mut Editor<LakeHelper, FileHistory>, path: Option<&Path>) {
    if let Some(p) = path {
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // History is a convenience: a read-only home must not stop the shell.
        if let Err(e) = rl.save_history(p) {
            tracing::debug!("cannot save history to {}: {e}", p.display());
        }
    }
}

/// Runs the REPL until `\q` or end of input. Needs a multi-threaded tokio runtime: reading a line blocks,
/// and `block_in_place` keeps the runtime's other workers running meanwhile.
pub async fn run(shell: &mut Shell, history: Option<PathBuf>) -> Result<()> {
    let config = rustyline::Config::builder()
        .auto_add_history(false)
        .max_history_size(10_000)
        .map_err(readline_err)?
        .build();
    let mut rl: Editor<LakeHelper, FileHistory> =
        Editor::with_config(config).map_err(readline_err)?;
    rl.set_helper(Some(LakeHelper {
        words: shell.completion_words().await,
    }));
    if let Some(p) = &history {
        // A first start has no history file yet.
        let _ = rl.load_history(p);
    }
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "gridlake SQL shell on {} ({} tables). \\? for help, \\q to quit.",
        shell.session().lake().location(),
        shell.session().tables().len()
    )?;
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "gridlake> "
        } else {
            "       -> "
        };
        let line = tokio::task::block_in_place(|| rl.readline(prompt));
        match line {
            Ok(line) => {
                if buffer.is_empty() && line.trim_start().starts_with('\\') {
                    let cmd = line.trim();
                    let _ = rl.add_history_entry(cmd);
                    save_history(&mut rl, history.as_deref());
                    match shell.run_command(cmd, &mut stdout).await {
                        Ok(Flow::Quit) => break,
                        Ok(Flow::Continue) => {}
                        Err(e) => eprintln!("error: {e}"),
                    }
                    continue;
                }
                if buffer.is_empty() && line.trim().is_empty() {
                    continue;
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if !is_complete(&buffer) {
                    continue;
                }
                let statement = std::mem::take(&mut buffer);
                let _ = rl.add_history_entry(statement.trim_end());
                save_history(&mut rl, history.as_deref());
                if let Err(e) = shell.run_sql(&statement, &mut stdout).await {
                    eprintln!("error: {e}");
                }
                // CREATE VIEW and friends add names worth completing.
                let words = shell.completion_words().await;
                if let Some(h) = rl.helper_mut() {
                    h.words = words;
                }
            }
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(readline_err(e)),
        }
    }
    save_history(&mut rl, history.as_deref());
    Ok(())
}
