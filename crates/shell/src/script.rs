//! Splitting SQL text into statements.
//!
//! DataFusion's parser reads a whole text at once, so a syntax error in the tenth statement of a file would
//! stop the first nine from running. Like the DuckDB and psql shells, we split first and run statement by
//! statement: the first failing statement stops the batch, and those before it have run. The splitter
//! only needs to know where a `;` is not a terminator: inside '…' strings, "…" identifiers, `--` line
//! comments and `/* … */` block comments.

/// The statements of `text`, trimmed, without their `;`, empty ones (and comment-only ones) dropped.
pub fn split_statements(text: &str) -> Vec<String> {
    let (mut out, rest) = scan(text);
    if has_code(&rest) {
        out.push(rest.trim().to_string());
    }
    out
}

/// Whether `text` ends with a complete statement: a `;` outside strings and comments, with only blanks or
/// comments after it. The REPL keeps reading lines until this holds.
pub fn is_complete(text: &str) -> bool {
    let (done, rest) = scan(text);
    !done.is_empty() && !has_code(&rest)
}

fn has_code(text: &str) -> bool {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            _ => return true,
        }
    }
    false
}

/// Complete statements, and the unterminated text after the last `;`.
fn scan(text: &str) -> (Vec<String>, String) {
    #[derive(PartialEq)]
    enum State {
        Code,
        Single,
        Double,
        Line,
        Block,
    }
    let mut state = State::Code;
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match state {
            State::Code => match c {
                ';' => {
                    if has_code(&current) {
                        out.push(current.trim().to_string());
                    }
                    current.clear();
                    continue;
                }
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '-' if chars.peek() == Some(&'-') => state = State::Line,
                '/' if chars.peek() == Some(&'*') => {
                    current.push(c);
                    if let Some(star) = chars.next() {
                        current.push(star);
                    }
                    state = State::Block;
                    continue;
                }
                _ => {}
            },
            // A doubled quote inside a string is an escaped quote: leaving and re-entering the string
            // state on the two characters gives the same result.
            State::Single if c == '\'' => state = State::Code,
            State::Double if c == '"' => state = State::Code,
            State::Line if c == '\n' => state = State::Code,
            State::Block if c == '*' && chars.peek() == Some(&'/') => {
                current.push(c);
                if let Some(slash) = chars.next() {
                    current.push(slash);
                }
                state = State::Code;
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    (out, current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_strings_and_comments() {
        let text = "SELECT 'a;b' AS \"x;y\"; -- c;d\nSELECT 2 /* ; */ ;\n\n-- trailing comment\n";
        assert_eq!(
            split_statements(text),
            vec![
                "SELECT 'a;b' AS \"x;y\"".to_string(),
                "-- c;d\nSELECT 2 /* ; */".to_string()
            ]
        );
    }

    #[test]
    fn last_statement_needs_no_semicolon() {
        assert_eq!(
            split_statements("SELECT 1; SELECT 2"),
            vec!["SELECT 1", "SELECT 2"]
        );
    }

    #[test]
    fn complete_only_after_a_terminator() {
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT ';'"));
        assert!(is_complete("SELECT\n 1;"));
        assert!(is_complete("SELECT 1; -- done"));
        assert!(!is_complete("SELECT 1; SELECT"));
        assert!(!is_complete("-- only a comment;"));
    }
}
