//! The README's reading snippets are run for real (DuckDB, pyarrow, DataFusion, Spark), so the documented
//! way to read the lake cannot silently rot.

use std::process::Command;

use crate::common::*;

fn snippets() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```python") => current = Some(String::new()),
            (Some(code), "```") => {
                out.push(std::mem::take(code));
                current = None;
            }
            (Some(code), l) => {
                code.push_str(l);
                code.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_readme_snippet_reads_the_lake() {
    let snippets = snippets();
    let joined = snippets.join("\n");
    for reader in ["duckdb", "pyarrow", "datafusion", "pyspark"] {
        assert!(joined.contains(reader), "README has no {reader} snippet");
    }
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let (code, _) = import_json(&lake, "caiso_lmp_dam", &[&fixture(CAISO_ONE_DAY)], &[]);
    assert_eq!(code, 0);
    for code in &snippets {
        let out = Command::new(python())
            .arg("-c")
            .arg(code)
            .env("LAKE", &lake)
            // Spark binds its driver to loopback only.
            .env("SPARK_LOCAL_IP", "127.0.0.1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "snippet failed:\n{code}\n{}",
            stderr(&out)
        );
        assert_eq!(
            stdout(&out).trim(),
            "96",
            "snippet printed the wrong count:\n{code}"
        );
    }
}
