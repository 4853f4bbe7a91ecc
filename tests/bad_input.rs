//! The bad-input corpus: every file under `tests/fixtures/bad/` (and a few large ones generated here into a
//! temp dir) goes through `gridlake import DATASET FILE --json` into a fresh lake, and must end as
//! `tests/fixtures/bad/manifest.toml` says: its rows written and rejected with the stated reasons, or refused at
//! file level with the stated error and nothing committed. Always: exit 0 or 3, no panic, records read =
//! written + rejected + superseded per input, the lake holding exactly the rows the summary claims, and the run
//! finishing within a time bound (the child is killed past it). Peak memory per case is measured with
//! `/usr/bin/time -v` where present and printed (`--nocapture`), not asserted. `GRIDLAKE_BAD_ONLY=substring` runs
//! only the matching cases. The committed files are written by `tests/fixtures/bad/make.py`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Per-case wall-clock bound; the largest generated case (a 200 MB bomb) takes a few seconds.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    case: Vec<Case>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// A committed file, relative to `tests/fixtures/bad/`.
    file: Option<String>,
    /// Or a generated input: see [`generate`].
    generate: Option<String>,
    dataset: String,
    why: String,
    /// Expected records written / rejected / superseded (summed over the inputs an archive yields).
    written: Option<u64>,
    rejected: Option<u64>,
    #[serde(default)]
    superseded: u64,
    /// Expected output rows, where a schema unpivots (MISO); defaults to `written`.
    rows: Option<u64>,
    /// Substring of the file-level error: the input is refused, exit 3, nothing committed.
    error: Option<String>,
    /// Rejects that must be reported (each matched by line, column and a reason substring).
    #[serde(default)]
    rejects: Vec<RejectSpec>,
    /// Inputs the summary lists (archive members), when it matters.
    inputs: Option<usize>,
    /// A defect this case exposes that is not fixed yet: the case still runs and the test fails loudly.
    known_bug: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectSpec {
    line: Option<u64>,
    column: Option<String>,
    #[serde(default)]
    reason: String,
}

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
    max_rss_kb: Option<u64>,
}

fn bad(rel: &str) -> PathBuf {
    repo().join("tests/fixtures/bad").join(rel)
}

fn zip_of(path: &Path, entries: &[(&str, &[u8])]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (n, data) in entries {
        z.start_file(*n, opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
}

fn caiso_rows(n: usize) -> Vec<String> {
    std::fs::read_to_string(fixture(CAISO_ONE_DAY))
        .unwrap()
        .lines()
        .skip(1)
        .take(n)
        .map(str::to_owned)
        .collect()
}

/// Writes the generated input `kind` into `dir`, deterministically, and returns its path.
fn generate(kind: &str, dir: &Path) -> PathBuf {
    match kind {
        // A valid header, a valid row, then one 100 MB line with no delimiter and no newline at the end.
        "long_line_row" => {
            let p = dir.join("long_line_row.csv");
            let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
            writeln!(f, "{CAISO_HEADER}\n{}", caiso_rows(1)[0]).unwrap();
            let chunk = vec![b'x'; 1 << 20];
            for _ in 0..100 {
                f.write_all(&chunk).unwrap();
            }
            p
        }
        // The whole file is one 100 MB line: the header itself.
        "long_line_header" => {
            let p = dir.join("long_line_header.csv");
            let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
            let chunk = vec![b'y'; 1 << 20];
            for _ in 0..100 {
                f.write_all(&chunk).unwrap();
            }
            p
        }
        // A 100 MB quoted field that never closes: the quote swallows the rest of the file.
        "long_unterminated_quote" => {
            let p = dir.join("long_unterminated_quote.csv");
            let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
            writeln!(f, "{CAISO_HEADER}\n{}", caiso_rows(1)[0]).unwrap();
            f.write_all(b"\"").unwrap();
            let chunk = b"2020-05-10T12:00:00-00:00,\n".repeat(40_000);
            for _ in 0..100 {
                f.write_all(&chunk).unwrap();
            }
            p
        }
        // The CAISO header plus 999 984 extra columns (a million in all), and two rows that fill every one.
        "million_columns" => {
            let p = dir.join("million_columns.csv");
            let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
            let extra = 1_000_000 - CAISO_HEADER.split(',').count();
            f.write_all(CAISO_HEADER.as_bytes()).unwrap();
            for i in 0..extra {
                write!(f, ",X{i}").unwrap();
            }
            f.write_all(b"\n").unwrap();
            for row in caiso_rows(2) {
                f.write_all(row.as_bytes()).unwrap();
                f.write_all(&b",0".repeat(extra)).unwrap();
                f.write_all(b"\n").unwrap();
            }
            p
        }
        // A million columns, none of them the dataset's: the error must still be readable, not 10 MB long.
        "million_unknown_columns" => {
            let p = dir.join("million_unknown_columns.csv");
            let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
            let cols: Vec<String> = (0..1_000_000).map(|i| format!("C{i}")).collect();
            writeln!(f, "{}", cols.join(",")).unwrap();
            writeln!(f, "{}", vec!["1"; 1_000_000].join(",")).unwrap();
            p
        }
        // MISO's preamble, then a header with a million columns: 24 known, the rest unknown (= error).
        "miso_million_unknown_columns" => {
            let p = dir.join("20240310_da_exante_lmp.csv");
            let text =
                std::fs::read_to_string(fixture("synthetic/miso/20240310_da_exante_lmp.csv"))
                    .unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
            for l in &lines[..5] {
                f.write_all(l.as_bytes()).unwrap();
                if l.starts_with("Node,") {
                    for i in 0..(1_000_000 - 27) {
                        write!(f, ",Z{i}").unwrap();
                    }
                }
                f.write_all(b"\n").unwrap();
            }
            p
        }
        // 200 MB of zeros after one valid row, deflated to ~200 KB: past the 1 MiB grace, the 1000x ratio cap
        // stops it long before the 8 GiB total cap.
        "zip_bomb" => {
            let p = dir.join("bomb.zip");
            let mut body = format!("{CAISO_HEADER}\n{}\n", caiso_rows(1)[0]).into_bytes();
            body.resize(200 << 20, b'0');
            zip_of(&p, &[("bomb.csv", &body)]);
            p
        }
        // The same as a gzip.
        "gzip_bomb" => {
            let p = dir.join("bomb.csv.gz");
            let mut gz = flate2::write::GzEncoder::new(
                std::fs::File::create(&p).unwrap(),
                flate2::Compression::best(),
            );
            write!(gz, "{CAISO_HEADER}\n{}\n", caiso_rows(1)[0]).unwrap();
            let zeros = vec![b'0'; 1 << 20];
            for _ in 0..200 {
                gz.write_all(&zeros).unwrap();
            }
            gz.finish().unwrap();
            p
        }
        // Many small members that each stay under the ratio grace but add up: 10 001 entries > the entry cap.
        "too_many_entries" => {
            let p = dir.join("many.zip");
            let mut z = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            for i in 0..10_001 {
                z.start_file(format!("d{i}.txt"), opts).unwrap();
            }
            z.finish().unwrap();
            p
        }
        // More rejects than an input may have: refused whole instead of holding them all in memory.
        "reject_flood" => {
            let p = dir.join("flood.csv");
            let mut text = format!("{CAISO_HEADER}\n").into_bytes();
            for _ in 0..100_001 {
                text.extend_from_slice(b"a,b,c\n");
            }
            std::fs::write(&p, text).unwrap();
            p
        }
        other => panic!("manifest names an unknown generator `{other}`"),
    }
}

/// Runs gridlake (under `/usr/bin/time -v` when there is one) in its own process group, draining its output,
/// and kills the group if it outlives [`CASE_TIMEOUT`].
fn run_bounded(args: &[String]) -> Run {
    use std::os::unix::process::CommandExt;
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-v").arg(env!("CARGO_BIN_EXE_gridlake"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_gridlake"))
    };
    cmd.args(args)
        .env_remove("GRIDLAKE_LAKE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn().expect("gridlake starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).unwrap();
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).unwrap();
        v
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > CASE_TIMEOUT {
            // The whole group: with /usr/bin/time in front, gridlake is a grandchild.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    let stdout = out.join().unwrap();
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
    let max_rss_kb = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok());
    Run {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
        elapsed,
        max_rss_kb,
    }
}

fn lake_rows(lake: &Path, dataset: &str) -> usize {
    table_files(lake, dataset)
        .iter()
        .filter(|f| f.ends_with(".parquet"))
        .map(|f| rows(&read_parquet(&lake.join(dataset).join(f)).0))
        .sum()
}

fn counts(v: &serde_json::Value) -> [u64; 4] {
    ["read", "written", "rejected", "superseded"].map(|k| v[k].as_u64().unwrap_or(u64::MAX))
}

/// Checks one case; returns what is wrong with it (empty when it behaves as stated).
fn check(case: &Case, run: &Run, lake: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    let Some(code) = run.code else {
        return vec![format!("did not finish within {CASE_TIMEOUT:?} (killed)")];
    };
    if run.stderr.contains("panicked") {
        bad.push(format!("panicked: {}", run.stderr));
    }
    if code != 0 && code != 3 {
        bad.push(format!(
            "exit {code} (only 0 or 3 are outcomes); stderr: {}",
            run.stderr
        ));
        return bad;
    }
    let s: serde_json::Value = match serde_json::from_slice(&run.stdout) {
        Ok(s) => s,
        Err(e) => {
            bad.push(format!("no JSON summary ({e}); stderr: {}", run.stderr));
            return bad;
        }
    };
    let inputs = s["inputs"].as_array().cloned().unwrap_or_default();
    for i in &inputs {
        let [read, written, rejected, superseded] = counts(&i["records"]);
        if read != written + rejected + superseded {
            bad.push(format!(
                "input {}: read {read} != written {written} + rejected {rejected} + superseded {superseded}",
                i["name"]
            ));
        }
    }
    let [read, written, rejected, superseded] = counts(&s["records"]);
    if read != written + rejected + superseded {
        bad.push(format!("totals unbalanced: {}", s["records"]));
    }
    let sum: u64 = inputs.iter().map(|i| counts(&i["records"])[0]).sum();
    if sum != read {
        bad.push(format!("inputs read {sum} records, the total says {read}"));
    }
    let in_lake = lake_rows(lake, &case.dataset) as u64;
    if Some(in_lake) != s["rows_written"].as_u64() {
        bad.push(format!(
            "the lake holds {in_lake} rows, the summary claims {}",
            s["rows_written"]
        ));
    }
    if let Some(n) = case.inputs
        && inputs.len() != n
    {
        bad.push(format!("{} inputs listed, expected {n}", inputs.len()));
    }
    let errors: Vec<&str> = inputs.iter().filter_map(|i| i["error"].as_str()).collect();
    for e in &errors {
        // One refused input must not flood a terminal or a notification.
        if e.len() > 8 << 10 {
            bad.push(format!(
                "file-level error is {} bytes long: {}…",
                e.len(),
                &e[..e.floor_char_boundary(300)]
            ));
        }
    }
    if let Some(want) = &case.error {
        if code != 3 {
            bad.push(format!("exit {code}, expected 3 for a refused input"));
        }
        if !errors.iter().any(|e| e.contains(want.as_str())) {
            bad.push(format!(
                "no input error contains `{want}`; errors: {errors:?}"
            ));
        }
        if in_lake != 0 {
            bad.push(format!("a refused input committed {in_lake} rows"));
        }
    } else {
        if code != 0 {
            bad.push(format!("exit {code}, expected 0; errors: {errors:?}"));
        }
        if !errors.is_empty() {
            bad.push(format!("unexpected file-level errors: {errors:?}"));
        }
    }
    if let Some(w) = case.written
        && w != written
    {
        bad.push(format!("written {written}, expected {w}"));
    }
    if let Some(r) = case.rejected
        && r != rejected
    {
        bad.push(format!("rejected {rejected}, expected {r}"));
    }
    if superseded != case.superseded {
        bad.push(format!(
            "superseded {superseded}, expected {}",
            case.superseded
        ));
    }
    if let Some(rows) = case.rows.or(case.written)
        && Some(rows) != s["rows_written"].as_u64()
    {
        bad.push(format!(
            "rows_written {}, expected {rows}",
            s["rows_written"]
        ));
    }
    let rejects: Vec<&serde_json::Value> = inputs
        .iter()
        .flat_map(|i| i["rejects"].as_array().into_iter().flatten())
        .collect();
    for want in &case.rejects {
        let hit = rejects.iter().any(|r| {
            want.line.is_none_or(|l| r["line"].as_u64() == Some(l))
                && want
                    .column
                    .as_deref()
                    .is_none_or(|c| r["column"].as_str() == Some(c))
                && r["reason"]
                    .as_str()
                    .is_some_and(|x| x.contains(want.reason.as_str()))
        });
        if !hit {
            bad.push(format!(
                "no reject at line {:?}, column {:?} with reason `{}`; rejects: {}",
                want.line,
                want.column,
                want.reason,
                serde_json::to_string(&rejects).unwrap()
            ));
        }
    }
    bad
}

#[test]
fn bad_input_corpus_ends_as_the_manifest_says() {
    let text = std::fs::read_to_string(bad("manifest.toml")).unwrap();
    let manifest: Manifest = toml::from_str(&text).unwrap();
    let only = std::env::var("GRIDLAKE_BAD_ONLY").ok();
    let (mut committed, mut generated) = (0, 0);
    let mut failures = Vec::new();
    let mut known = Vec::new();
    let mut worst: Option<(u64, String)> = None;
    let mut slowest: Option<(Duration, String)> = None;
    for case in &manifest.case {
        let name = case
            .file
            .clone()
            .or_else(|| case.generate.clone().map(|g| format!("generated:{g}")))
            .expect("a case names a `file` or a `generate`");
        assert!(
            case.file.is_none() || case.generate.is_none(),
            "{name}: `file` and `generate` are exclusive"
        );
        assert!(
            case.error.is_some() != (case.written.is_some() && case.rejected.is_some()),
            "{name}: a case states either `error` or `written` and `rejected`"
        );
        assert!(!case.why.is_empty(), "{name}: say why");
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let input = match (&case.file, &case.generate) {
            (Some(f), _) => {
                committed += 1;
                let p = bad(f);
                assert!(p.is_file(), "{name}: missing file {}", p.display());
                p
            }
            (None, Some(g)) => {
                generated += 1;
                generate(g, dir.path())
            }
            (None, None) => unreachable!(),
        };
        let lake = dir.path().join("lake");
        let args: Vec<String> = [
            "import",
            &case.dataset,
            &input.display().to_string(),
            "--lake",
            &lake.display().to_string(),
            "--json",
        ]
        .map(str::to_owned)
        .to_vec();
        let run = run_bounded(&args);
        let problems = check(case, &run, &lake);
        let rss = run
            .max_rss_kb
            .map_or_else(|| "-".to_owned(), |k| format!("{} MiB", k / 1024));
        println!(
            "{name:<58} exit {:>4} {:>7.2}s rss {rss:>8} {}",
            run.code
                .map_or_else(|| "kill".to_owned(), |c| c.to_string()),
            run.elapsed.as_secs_f64(),
            if problems.is_empty() { "ok" } else { "FAILED" }
        );
        if let Some(k) = run.max_rss_kb
            && worst.as_ref().is_none_or(|(w, _)| k > *w)
        {
            worst = Some((k, name.clone()));
        }
        if slowest.as_ref().is_none_or(|(t, _)| run.elapsed > *t) {
            slowest = Some((run.elapsed, name.clone()));
        }
        match (&case.known_bug, problems.is_empty()) {
            (Some(bug), false) => {
                known.push(format!("{name}: KNOWN BUG {bug}: {}", problems.join("; ")))
            }
            (Some(bug), true) => failures.push(format!(
                "{name}: passes now; remove `known_bug = \"{bug}\"` from the manifest"
            )),
            (None, false) => failures.push(format!(
                "{name} ({}): {}",
                case.why,
                problems.join("\n    ")
            )),
            (None, true) => {}
        }
    }
    println!(
        "{committed} committed + {generated} generated cases; peak memory {}; slowest {}",
        worst.map_or_else(
            || "not measured".to_owned(),
            |(k, n)| format!("{} MiB ({n})", k / 1024)
        ),
        slowest.map_or_else(String::new, |(t, n)| format!(
            "{:.2}s ({n})",
            t.as_secs_f64()
        )),
    );
    if only.is_none() {
        assert!(
            committed + generated >= 40,
            "the corpus holds at least 40 cases"
        );
    }
    failures.extend(known);
    assert!(
        failures.is_empty(),
        "{} bad-input case(s) did not end as the manifest says:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
