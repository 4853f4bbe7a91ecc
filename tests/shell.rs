//! `gridlake sql` and `gridlake status` on a fixture lake built with `gridlake import`: batch modes and
//! formats as snapshots (tests/snapshots/sql/, elapsed time redacted; `UPDATE_SNAPSHOTS=1` rewrites
//! them), every canned query of queries/, `gaps()` against `gaps --json`, the ledger and rejects tables,
//! partition pruning, the REPL through a pseudo-terminal, and the HTML calendar.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{Duration, TimeZone, Utc};

use crate::common::*;

const REACH: [&str; 3] = [
    "real/reach/REACH-ALL_20250901T000000_20250902T000000.csv",
    "real/reach/REACH-ALL_20251205T060517_20251205T060517.csv",
    "real/reach/REACH-TEST_20250904T000000_20250904T010000.csv",
];
const BINANCE_ZIP: &str = "synthetic/binance/ADABTC-1m-2021-11-27.zip";

/// The fixture lake, built once per test run and shared (the tests only read it):
/// - caiso_lmp_dam: the real 25-day file (2018-10-13 .. 2018-11-06, with the 25-hour 2018-11-04), then
///   2018-11-07 missing, 2018-11-08 incomplete (12 of 24 hours, plus 2 rejected rows), 2018-11-09 failed
///   (an input without required columns) and 2018-11-10 no_data (a header-only answer);
/// - binance_klines: the synthetic 2021-11-27 zip; reach_dosimeter: the three real REACH files.
fn lake() -> &'static Path {
    static LAKE: OnceLock<PathBuf> = OnceLock::new();
    LAKE.get_or_init(|| {
        // Kept for the whole run: a OnceLock never drops, and the files are what every test reads.
        let dir = tempfile::tempdir().unwrap().keep();
        let lake = dir.join("lake");
        let (code, _) = import_json(&lake, "caiso_lmp_dam", &[&fixture(CAISO_25_DAYS)], &[]);
        assert_eq!(code, 0);
        let mut partial = vec![CAISO_HEADER.to_string()];
        let start = Utc.with_ymd_and_hms(2018, 11, 8, 8, 0, 0).unwrap();
        for hr in 1..=12u32 {
            let t = start + Duration::hours(i64::from(hr) - 1);
            partial.push(caiso_row(
                t,
                "2018-11-08",
                hr,
                "0096WD_7_N001",
                "LMP",
                30.0 + f64::from(hr),
            ));
        }
        let t = start + Duration::hours(13);
        partial.push(caiso_row(t, "2018-11-08", 14, "0096WD_7_N001", "XYZ", 1.0));
        partial.push(caiso_row(
            t,
            "2018-11-08",
            14,
            "0096WD_7_N001",
            "LMP",
            99_999.0,
        ));
        let partial = write(&dir, "20181108_partial.csv", partial.join("\n") + "\n");
        let (code, s) = import_json(&lake, "caiso_lmp_dam", &[&partial], &[]);
        assert_eq!(
            (code, s["records"]["rejected"].as_u64()),
            (0, Some(2)),
            "{s}"
        );
        let broken = write(
            &dir,
            "broken.csv",
            "INTERVALSTARTTIME_GMT,OPR_DT,NODE\n2018-11-09T08:00:00-00:00,2018-11-09,X\n",
        );
        let (code, _) = import_json(&lake, "caiso_lmp_dam", &[&broken], &["--day", "2018-11-09"]);
        assert_eq!(code, 3);
        let empty = write(&dir, "empty.csv", format!("{CAISO_HEADER}\n"));
        let (code, _) = import_json(&lake, "caiso_lmp_dam", &[&empty], &["--day", "2018-11-10"]);
        assert_eq!(code, 0);
        let (code, _) = import_json(&lake, "binance_klines", &[&fixture(BINANCE_ZIP)], &[]);
        assert_eq!(code, 0);
        let reach: Vec<PathBuf> = REACH.iter().map(|f| fixture(f)).collect();
        let reach: Vec<&Path> = reach.iter().map(PathBuf::as_path).collect();
        let (code, _) = import_json(&lake, "reach_dosimeter", &reach, &[]);
        assert_eq!(code, 0);
        lake
    })
}

fn lake_arg() -> String {
    lake().display().to_string()
}

/// `gridlake sql --lake <fixture> ARGS…`.
fn sql(args: &[&str]) -> std::process::Output {
    let lake = lake_arg();
    let mut all = vec!["sql", "--lake", lake.as_str()];
    all.extend(args);
    gridlake(&all)
}

/// `N rows in 0.012s` → `N rows in [ELAPSED]`.
fn redact_line(l: &str) -> Option<String> {
    let (head, t) = l.rsplit_once(" in ")?;
    t.strip_suffix('s')?.parse::<f64>().ok()?;
    let (n, word) = head.split_once(' ')?;
    n.parse::<u64>().ok()?;
    matches!(word, "row" | "rows").then(|| format!("{head} in [ELAPSED]"))
}

/// The text with every elapsed time replaced.
fn redact(text: &str) -> String {
    let mut out: String = text
        .lines()
        .map(|l| redact_line(l).unwrap_or_else(|| l.to_string()))
        .collect::<Vec<_>>()
        .join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Compares with tests/snapshots/<name>; `UPDATE_SNAPSHOTS=1` writes the file instead.
fn snapshot(name: &str, actual: &str) {
    let path = repo().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_SNAPSHOTS=1 to create it. Actual:\n{actual}",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "snapshot {} differs (UPDATE_SNAPSHOTS=1 rewrites it)",
        path.display()
    );
}

/// Exit code, stdout and stderr as one snapshot text.
fn transcript(o: &std::process::Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        o.status.code().unwrap_or(-1),
        redact(&stdout(o)),
        stderr(o)
    )
}

#[test]
fn every_canned_query_runs_on_the_fixture_lake_and_matches_its_snapshot() {
    let mut files: Vec<String> = std::fs::read_dir(repo().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".sql").map(str::to_string))
        .collect();
    files.sort();
    let compiled: Vec<&str> = gridlake_shell::queries::QUERIES
        .iter()
        .map(|q| q.name)
        .collect();
    assert_eq!(
        files, compiled,
        "every queries/*.sql is compiled in, and only those"
    );
    for name in compiled {
        let o = sql(&["--query", name]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert!(!stdout(&o).starts_with("0 rows"), "{name} returned nothing");
        snapshot(&format!("queries/{name}.txt"), &redact(&stdout(&o)));
    }
}

#[test]
fn batch_c_f_and_query_print_results_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "two.sql",
        "-- a comment; with a semicolon\nSELECT count(*) AS caiso_rows FROM caiso_lmp_dam;\n\
         SELECT date, count(*) AS minutes FROM binance_klines GROUP BY date;\n",
    );
    let o = sql(&[
        "-c",
        "SELECT 'a;b' AS text; SELECT 2 AS two",
        "-f",
        &file.display().to_string(),
        "--query",
        "daily_ohlc",
    ]);
    snapshot("sql/batch_c_f_query.txt", &transcript(&o));
}

#[test]
fn every_format_prints_the_same_rows() {
    let q = "SELECT day, state, expected_rows, availability_pct, last_error FROM ledger \
             WHERE dataset = 'caiso_lmp_dam' AND day >= DATE '2018-11-03' ORDER BY day";
    for format in ["table", "csv", "json", "ndjson"] {
        let o = sql(&["--format", format, "-c", q]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
        snapshot(&format!("sql/format_{format}.txt"), &redact(&stdout(&o)));
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ledger.parquet");
    let o = sql(&[
        "--format",
        "parquet",
        "--output",
        &out.display().to_string(),
        "-c",
        q,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (batches, _) = read_parquet(&out);
    let text = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    snapshot("sql/format_parquet.txt", &(text + "\n"));
    // A second result would make a corrupt file: refused.
    let o = sql(&[
        "--format",
        "parquet",
        "--output",
        &out.display().to_string(),
        "-c",
        "SELECT 1; SELECT 2",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("one result"), "{}", stderr(&o));
}

#[test]
fn an_error_mid_batch_stops_it_with_exit_1_and_the_error_text() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.sql",
        "SELECT 1 AS first;\nSELECT no_such_column FROM caiso_lmp_dam;\nSELECT 3 AS never_run;\n",
    );
    let o = sql(&[
        "-f",
        &file.display().to_string(),
        "-c",
        "SELECT 4 AS not_run_either",
    ]);
    // -c runs before -f: the 4 prints, the file stops at its second statement.
    snapshot("sql/error_mid_batch.txt", &transcript(&o));
    assert_eq!(o.status.code(), Some(1));
    assert!(!stdout(&o).contains("never_run"));
}

#[test]
fn sql_reads_statements_from_stdin_when_it_is_not_a_terminal() {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gridlake"))
        .args(["sql", "--lake", &lake_arg(), "--format", "csv"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT count(*) AS n FROM reach_dosimeter;")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("n\n"), "{}", stdout(&o));
}

#[test]
fn gaps_function_returns_the_rows_of_gaps_json() {
    let lake = lake_arg();
    for (start, end) in [("2018-11-01", "2018-11-12"), ("2018-10-13", "2018-10-20")] {
        let cli = gridlake(&[
            "gaps",
            "caiso_lmp_dam",
            "--start",
            start,
            "--end",
            end,
            "--json",
            "--lake",
            &lake,
        ]);
        assert_eq!(cli.status.code(), Some(0), "{}", stderr(&cli));
        let cli: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
        let q = format!("SELECT * FROM gaps('caiso_lmp_dam', DATE '{start}', '{end}')");
        let o = sql(&["--format", "json", "-c", &q]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let shell: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(shell, cli, "gaps() vs gaps --json over {start}..{end}");
    }
    // The first range holds every gap state; the DST day is complete, so it is not a gap.
    let o = sql(&[
        "--format",
        "csv",
        "-c",
        "SELECT day, state FROM gaps('caiso_lmp_dam', '2018-11-01', '2018-11-12')",
    ]);
    assert_eq!(
        stdout(&o),
        "day,state\n2018-11-07,missing\n2018-11-08,incomplete\n2018-11-09,failed\n2018-11-11,missing\n2018-11-12,missing\n"
    );
    // `ledger` holds the same rows as `gaps --all --json`, the 25-hour day included.
    let all = gridlake(&[
        "gaps",
        "caiso_lmp_dam",
        "--start",
        "2018-10-13",
        "--end",
        "2018-11-10",
        "--all",
        "--json",
        "--lake",
        &lake,
    ]);
    let all: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    let o = sql(&[
        "--format",
        "json",
        "-c",
        "SELECT * FROM ledger WHERE dataset = 'caiso_lmp_dam' ORDER BY day",
    ]);
    let ledger: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(ledger, all);
    let dst = ledger
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["day"] == "2018-11-04")
        .unwrap();
    assert_eq!(
        (dst["state"].as_str(), dst["expected_rows"].as_u64()),
        (Some("complete"), Some(100))
    );
    // Bad arguments are plan errors, not panics.
    let o = sql(&["-c", "SELECT * FROM gaps('no_such_dataset')"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown dataset"), "{}", stderr(&o));
    let o = sql(&[
        "-c",
        "SELECT * FROM gaps('caiso_lmp_dam', 'soon', '2018-11-01')",
    ]);
    assert!(stderr(&o).contains("not a date"), "{}", stderr(&o));
}

#[test]
fn ledger_log_and_rejects_return_what_import_wrote() {
    let records = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let lake = gridlake_lake::Lake::open_local(lake()).await.unwrap();
            lake.ledger().records(None).await.unwrap()
        });
    let o = sql(&[
        "--format",
        "csv",
        "-c",
        "SELECT dataset, state, count(*) AS n, sum(rows) AS rows, sum(records_rejected) AS rejected \
         FROM ledger_log GROUP BY dataset, state ORDER BY dataset, state",
    ]);
    let mut expected: std::collections::BTreeMap<(String, String), (u64, u64, u64)> =
        Default::default();
    for r in &records {
        let e = expected
            .entry((r.dataset.clone(), r.state.as_str().to_string()))
            .or_default();
        *e = (e.0 + 1, e.1 + r.rows, e.2 + r.records_rejected);
    }
    let mut want = String::from("dataset,state,n,rows,rejected\n");
    for ((d, s), (n, rows, rej)) in expected {
        want.push_str(&format!("{d},{s},{n},{rows},{rej}\n"));
    }
    assert_eq!(stdout(&o), want);
    // The two rows the partial CAISO day refused, with where and why.
    let o = sql(&[
        "--format",
        "csv",
        "-c",
        "SELECT dataset, date, line, \"column\", value FROM rejects ORDER BY line",
    ]);
    assert_eq!(
        stdout(&o),
        "dataset,date,line,column,value\ncaiso_lmp_dam,2018-11-08,14,LMP_TYPE,XYZ\ncaiso_lmp_dam,2018-11-08,15,MW,99999\n"
    );
}

#[test]
fn a_date_filter_prunes_partitions() {
    let o = sql(&[
        "--format",
        "csv",
        "-c",
        // count(*) alone is answered from file statistics; a filter on a column makes it scan.
        "EXPLAIN SELECT count(*) FROM caiso_lmp_dam WHERE date >= DATE '2018-11-05' AND lmp_type = 'LMP'",
    ]);
    let plan = stdout(&o);
    assert!(plan.contains("date=2018-11-05/part-0.parquet"), "{plan}");
    assert!(
        !plan.contains("date=2018-11-04"),
        "a pruned day is scanned:\n{plan}"
    );
    let o = sql(&[
        "--format",
        "csv",
        "-c",
        "SELECT count(*) AS n FROM caiso_lmp_dam WHERE date >= DATE '2018-11-05'",
    ]);
    // 2 full days × 24 h × 4 components + 12 hours of LMP on 2018-11-08.
    assert_eq!(stdout(&o), "n\n204\n");
}

#[test]
fn the_repl_runs_queries_and_commands_and_keeps_history_across_starts() {
    let history = tempfile::tempdir().unwrap();
    let script = repo().join("tests/repl_pty.py");
    let bin = env!("CARGO_BIN_EXE_gridlake");
    let first = run_python(
        &std::fs::read_to_string(&script).unwrap(),
        &[
            bin,
            &lake_arg(),
            &history.path().display().to_string(),
            "first",
        ],
    );
    assert!(first.contains("| 2018-11-07 | missing"), "{first}");
    assert!(
        first.contains("caiso_lmp_dam") && first.contains("ledger_log"),
        "\\d: {first}"
    );
    assert!(
        first.contains("id_sensor"),
        "completion of `\\d reach_dos`: {first}"
    );
    let saved = std::fs::read_to_string(history.path().join("history")).unwrap();
    assert!(
        saved.contains("\\gaps caiso_lmp_dam 2018-11-06 2018-11-10"),
        "{saved}"
    );
    let second = run_python(
        &std::fs::read_to_string(&script).unwrap(),
        &[
            bin,
            &lake_arg(),
            &history.path().display().to_string(),
            "second",
        ],
    );
    // Up, Up, Enter recalled the `\gaps` line typed in the first session.
    assert!(second.contains("| 2018-11-09 | failed"), "{second}");
}

/// The output of each step of the pty script's "commands" phase, by step name.
fn repl_steps(transcript: &str) -> std::collections::HashMap<String, String> {
    transcript
        .split("=== STEP ")
        .skip(1)
        .filter_map(|part| {
            let (name, text) = part.split_once(" ===")?;
            Some((name.to_string(), text.to_string()))
        })
        .collect()
}

#[test]
fn the_repl_lists_datasets_and_queries_runs_canned_queries_and_files_and_switches_format_and_timing()
 {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_gridlake");
    let transcript = run_python(
        &std::fs::read_to_string(repo().join("tests/repl_pty.py")).unwrap(),
        &[
            bin,
            &lake_arg(),
            &dir.path().display().to_string(),
            "commands",
        ],
    );
    let steps = repl_steps(&transcript);
    let get = |name: &str| {
        steps
            .get(name)
            .unwrap_or_else(|| panic!("no step {name} in:\n{transcript}"))
            .as_str()
    };
    // A table row, whatever the column widths: the cells trimmed, in order.
    let has_row = |text: &str, cells: &[&str]| {
        text.lines().any(|l| {
            let got: Vec<&str> = l
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            got.len() >= cells.len() && got[..cells.len()] == *cells
        })
    };

    // \datasets: every catalog dataset, whether the lake has it and its partition days (25 real CAISO days
    // plus the incomplete 2018-11-08; the failed, no_data and missing days have no file; 3 REACH days).
    let datasets = get("datasets");
    assert!(
        has_row(datasets, &["dataset", "in_lake", "days", "description"]),
        "{datasets}"
    );
    assert!(
        has_row(datasets, &["caiso_lmp_dam", "yes", "26"]),
        "{datasets}"
    );
    assert!(
        has_row(datasets, &["binance_klines", "yes", "1"]),
        "{datasets}"
    );
    assert!(
        has_row(datasets, &["reach_dosimeter", "yes", "3"]),
        "{datasets}"
    );
    assert!(
        has_row(datasets, &["nyiso_lbmp_dam_zonal", "no", "0"]),
        "{datasets}"
    );
    assert!(
        !datasets.contains("rows in"),
        "a listing has no timing line: {datasets}"
    );

    // \queries: the five files of queries/, each with the first line of its comment.
    let queries = get("queries");
    for (name, description) in [
        (
            "completeness_by_month",
            "Completeness per dataset and month",
        ),
        ("daily_lmp", "Daily peak and average LMP per pricing node"),
        (
            "daily_ohlc",
            "Daily open/high/low/close and volume per symbol",
        ),
        ("telemetry_availability", "REACH telemetry availability"),
        (
            "top_reject_reasons",
            "The most frequent reasons rows were rejected",
        ),
    ] {
        assert!(
            queries
                .lines()
                .any(|l| l.contains(&format!("| {name} ")) && l.contains(description)),
            "{name}: {queries}"
        );
    }

    // \run NAME: the canned query's result, as the snapshot of `--query daily_ohlc` has it.
    let run = get("run");
    assert!(
        has_row(
            run,
            &[
                "2021-11-27",
                "ADABTC",
                "0.00002853",
                "0.00002865",
                "0.00002849",
                "0.00002865",
                "384968.0",
                "566",
                "10"
            ]
        ),
        "{run}"
    );
    assert!(run.contains("1 row in "), "{run}");

    // \i FILE: both statements of the file in order; the `;` inside the comment ends nothing.
    let include = get("include");
    let count = include.find("reach_rows").expect("first statement");
    let origin = include.find("from the file").expect("second statement");
    assert!(count < origin, "{include}");
    // One timing line per statement of the file.
    assert_eq!(include.matches("1 row in ").count(), 2, "{include}");

    // \timing off: results without the `N rows in S` line; \timing again brings it back.
    assert!(get("timing_off").contains("timing off"));
    let untimed = get("untimed_query");
    assert!(has_row(untimed, &["42"]), "{untimed}");
    assert!(!untimed.contains("row in"), "{untimed}");
    assert!(get("timing_on").contains("timing on"));
    let timed = get("timed_query");
    assert!(
        has_row(timed, &["42"]) && timed.contains("1 row in "),
        "{timed}"
    );

    // \format csv: a header line and comma-separated rows, no table borders; \format table returns to tables.
    assert!(get("format_csv").contains("format: csv"));
    let csv: Vec<String> = get("csv_query")
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect();
    let at = csv
        .iter()
        .position(|l| l == "day,state")
        .unwrap_or_else(|| panic!("no CSV header: {csv:?}"));
    // gaps() lists gap days only: 2018-11-10 (no_data) is not one.
    assert_eq!(
        csv[at + 1..at + 4],
        [
            "2018-11-07,missing",
            "2018-11-08,incomplete",
            "2018-11-09,failed"
        ],
        "{csv:?}"
    );
    assert!(!csv.iter().any(|l| l.starts_with("2018-11-10,")), "{csv:?}");
    assert!(!get("csv_query").contains("+---"), "{csv:?}");
    assert!(get("format_table").contains("format: table"));
    assert!(
        get("format_table").contains("+---"),
        "the sentinel prints as a table again"
    );
}

#[test]
fn status_html_colours_each_day_by_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("coverage.html");
    let svg = dir.path().join("coverage.svg");
    let o = gridlake(&[
        "status",
        "--lake",
        &lake_arg(),
        "--html",
        &html.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("2018-10-13 .. 2018-11-10     29 days: 25 complete, 1 incomplete, 1 no_data, 1 failed, 1 missing"),
        "{text}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    let cell = |day: &str| {
        let at = page
            .find(&format!("data-day=\"{day}\""))
            .unwrap_or_else(|| panic!("no cell for {day}"));
        let start = page[..at].rfind("<td").unwrap();
        let end = at + page[at..].find("</td>").unwrap();
        page[start..end].to_string()
    };
    for (day, state) in [
        ("2018-10-13", "complete"),
        ("2018-11-04", "complete"),
        ("2018-11-07", "missing"),
        ("2018-11-08", "incomplete"),
        ("2018-11-09", "failed"),
        ("2018-11-10", "no_data"),
        // The synthetic klines file holds 10 of the day's 1,440 minutes.
        ("2021-11-27", "incomplete"),
    ] {
        assert!(
            cell(day).contains(&format!("class=\"{state}\"")),
            "{day}: {}",
            cell(day)
        );
    }
    assert!(
        cell("2018-11-04").contains("100 of 100 rows (100.00%)"),
        "{}",
        cell("2018-11-04")
    );
    assert!(
        cell("2018-11-08").contains("12 of 24 rows (50.00%)"),
        "{}",
        cell("2018-11-08")
    );
    // Self-contained: nothing fetched from elsewhere.
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("<script"));
    let o = gridlake(&[
        "status",
        "--lake",
        &lake_arg(),
        "--svg",
        &svg.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let image = std::fs::read_to_string(&svg).unwrap();
    assert!(image.contains("data-day=\"2018-11-09\" data-state=\"failed\""));
}

#[test]
fn the_session_reads_a_lake_on_any_object_store_under_any_root() {
    use object_store::memory::InMemory;
    use object_store::path::Path as StorePath;
    use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
    // The fixture lake copied into an in-memory store under a prefix, as an S3 lake under a key prefix is.
    let store = std::sync::Arc::new(InMemory::new());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for rel in tree(lake()) {
            let bytes = std::fs::read(lake().join(&rel)).unwrap();
            let key = StorePath::from(format!("team/lakes/prod/{rel}"));
            store.put(&key, PutPayload::from(bytes)).await.unwrap();
        }
        let store: std::sync::Arc<dyn ObjectStore> = store;
        let lake = gridlake_lake::Lake::open(
            store,
            StorePath::from("team/lakes/prod"),
            "memory://team/lakes/prod",
        )
        .await
        .unwrap();
        let catalog = gridlake_schema::Catalog::builtin().unwrap();
        let session = gridlake_shell::LakeSession::open(lake, catalog)
            .await
            .unwrap();
        let count = |sql: &'static str| {
            let session = &session;
            async move {
                let out = session.execute(sql).await.unwrap();
                arrow::util::pretty::pretty_format_batches(&out.batches)
                    .unwrap()
                    .to_string()
            }
        };
        let n =
            count("SELECT count(*) AS n FROM caiso_lmp_dam WHERE date = DATE '2018-11-04'").await;
        assert!(n.contains("| 100 |"), "{n}");
        let gaps =
            count("SELECT count(*) AS n FROM gaps('caiso_lmp_dam', '2018-11-01', '2018-11-12')")
                .await;
        assert!(gaps.contains("| 5 |"), "{gaps}");
        let rejects = count("SELECT count(*) AS n FROM rejects").await;
        assert!(rejects.contains("| 2 |"), "{rejects}");
    });
}

/// A session sees what was committed after it opened, in dataset tables and `ledger` alike (DataFusion's
/// default keeps a table's file listing for the session's life, which would hide a day `sync` added while
/// the shell was open, although `ledger` shows it), and a dataset folder that appeared meanwhile.
#[test]
fn an_open_session_sees_days_committed_after_it_opened() {
    let dir = tempfile::tempdir().unwrap();
    let lake_dir = dir.path().join("lake");
    let day_file = |day: &str, day_start_utc: chrono::DateTime<Utc>| {
        let mut rows = vec![CAISO_HEADER.to_string()];
        for hr in 1..=3u32 {
            let t = day_start_utc + Duration::hours(i64::from(hr) - 1);
            rows.push(caiso_row(t, day, hr, "0096WD_7_N001", "LMP", 30.0));
        }
        write(dir.path(), &format!("{day}.csv"), rows.join("\n") + "\n")
    };
    let first = day_file(
        "2018-11-08",
        Utc.with_ymd_and_hms(2018, 11, 8, 8, 0, 0).unwrap(),
    );
    let second = day_file(
        "2018-11-09",
        Utc.with_ymd_and_hms(2018, 11, 9, 8, 0, 0).unwrap(),
    );
    let (code, _) = import_json(&lake_dir, "caiso_lmp_dam", &[&first], &[]);
    assert_eq!(code, 0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let lake = gridlake_lake::Lake::open_local(&lake_dir).await.unwrap();
        let catalog = gridlake_schema::Catalog::builtin().unwrap();
        let session = gridlake_shell::LakeSession::open(lake, catalog)
            .await
            .unwrap();
        let seen = || async {
            let out = session
                .execute(
                    "SELECT (SELECT count(*) FROM caiso_lmp_dam) AS table_rows, \
                     (SELECT count(*) FROM ledger WHERE dataset = 'caiso_lmp_dam' AND state <> 'missing') AS ledger_days",
                )
                .await
                .unwrap();
            arrow::util::pretty::pretty_format_batches(&out.batches)
                .unwrap()
                .to_string()
        };
        let before = seen().await;
        assert!(before.contains("| 3          | 1           |"), "{before}");
        let (code, _) = import_json(&lake_dir, "caiso_lmp_dam", &[&second], &[]);
        assert_eq!(code, 0);
        let after = seen().await;
        assert!(after.contains("| 6          | 2           |"), "{after}");
        // A dataset whose folder appears after the session opened becomes a table at the next statement.
        assert!(!session.tables().iter().any(|t| t.name == "binance_klines"));
        let (code, _) = import_json(&lake_dir, "binance_klines", &[&fixture(BINANCE_ZIP)], &[]);
        assert_eq!(code, 0);
        let out = session
            .execute("SELECT count(*) > 0 AS has_rows FROM binance_klines")
            .await
            .unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&out.batches)
            .unwrap()
            .to_string();
        assert!(text.contains("| true     |"), "{text}");
        let names: Vec<String> = session.tables().into_iter().map(|t| t.name).collect();
        assert_eq!(
            names[..2],
            ["binance_klines".to_string(), "caiso_lmp_dam".to_string()],
            "{names:?}"
        );
    });
}
