//! Real files in, real readers out: DuckDB and pyarrow read the lake with hive partitioning and must return
//! exactly the source's rows, value by value (tests/interop/compare_lake.py computes them independently).

use std::process::Command;

use crate::common::*;

fn compare(lake: &std::path::Path, dataset: &str, sources: &[&str]) -> serde_json::Value {
    let script = repo().join("tests/interop/compare_lake.py");
    let schema = repo().join(format!("schemas/{dataset}.toml"));
    let mut cmd = Command::new(python());
    cmd.arg(&script).arg(lake).arg(dataset).arg(&schema);
    for s in sources {
        cmd.arg(fixture(s));
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "readers disagree with the source for {dataset}:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn real_caiso_and_nyiso_files_read_back_exactly_by_duckdb_and_pyarrow() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let (code, s) = import_json(
        &lake,
        "caiso_lmp_dam",
        &[&fixture(CAISO_25_DAYS), &fixture(CAISO_ZIP)],
        &[],
    );
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["records"]["read"], 2404 + 162_848);
    assert_eq!(s["records"]["rejected"], 0);
    let (code, s) = import_json(&lake, "nyiso_lbmp_rt_zonal", &[&fixture(NYISO_RT)], &[]);
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["records"]["written"], 45);

    let caiso = compare(&lake, "caiso_lmp_dam", &[CAISO_25_DAYS, CAISO_ZIP]);
    assert_eq!(caiso["expected"], 165_252);
    assert_eq!(caiso["duckdb"], 165_252);
    assert_eq!(caiso["pyarrow"], 165_252);
    let nyiso = compare(&lake, "nyiso_lbmp_rt_zonal", &[NYISO_RT]);
    assert_eq!(
        (nyiso["duckdb"].as_u64(), nyiso["pyarrow"].as_u64()),
        (Some(45), Some(45))
    );

    // The fall-back day of the 25-day file holds its 25th hour, at 09:00Z.
    let out = run_python(
        "import duckdb,sys; print(duckdb.sql(f\"SET TimeZone='UTC'; SELECT count(*), min(epoch_us(interval_start)) FROM read_parquet('{sys.argv[1]}/caiso_lmp_dam/*/*.parquet', hive_partitioning=true) WHERE date = DATE '2018-11-04' AND opr_hr = 25\").fetchone())",
        &[&lake.display().to_string()],
    );
    let want = chrono::NaiveDate::from_ymd_opt(2018, 11, 4)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_micros();
    assert_eq!(out.trim(), format!("(4, {want})"));
}

#[test]
fn partition_files_follow_the_lake_rules() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    import_json(&lake, "caiso_lmp_dam", &[&fixture(CAISO_ONE_DAY)], &[]);
    let files = table_files(&lake, "caiso_lmp_dam");
    assert_eq!(files, vec!["date=2020-05-10/part-0.parquet"]);
    let out = run_python(
        r#"
import sys, pyarrow.parquet as pq
f = pq.ParquetFile(sys.argv[1])
md = f.metadata
cols = [md.schema.column(i) for i in range(md.num_columns)]
print([c.name for c in cols if c.name == "date"])
print({c.name: (c.physical_type, str(c.logical_type)) for c in cols if c.name.startswith("interval")})
print(md.row_group(0).column(0).compression, md.row_group(0).column(0).is_stats_set)
kv = {k.decode(): v.decode() for k, v in md.metadata.items() if k.startswith(b"gridlake.")}
print(sorted(kv))
"#,
        &[&lake
            .join("caiso_lmp_dam/date=2020-05-10/part-0.parquet")
            .display()
            .to_string()],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "[]", "no date column inside the file");
    assert!(
        lines[1].contains("'INT64'")
            && lines[1].contains("isAdjustedToUTC=true")
            && lines[1].contains("microseconds"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "ZSTD True");
    for key in [
        "gridlake.schema_version",
        "gridlake.inputs",
        "gridlake.records_read",
        "gridlake.records_written",
        "gridlake.records_rejected",
        "gridlake.records_superseded",
        "gridlake.expected_rows",
        "gridlake.run_id",
        "gridlake.version",
    ] {
        assert!(lines[3].contains(key), "footer lacks {key}: {}", lines[3]);
    }
}

/// A lake holding every built-in dataset (from `gridlake demo`: the real recordings, and the labelled
/// synthetic ones where no real sample exists) is read by Spark, DuckDB, pyarrow and DataFusion; all four return
/// the same rows and the same per-column checksums, `date` as a date and instants as UTC microseconds
/// (tests/interop/four_readers.py). No reader may be missing: the script fails if one cannot be imported.
#[test]
fn spark_duckdb_pyarrow_and_datafusion_agree_on_every_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = gridlake_in(&["demo", "--json"], Some(dir.path()), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lake = dir.path().join("gridlake-demo-lake");
    let out = Command::new(python())
        .arg(repo().join("tests/interop/four_readers.py"))
        .arg(&lake)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the readers disagree (or one is missing: run scripts/python-env):\n{}",
        stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tables = report.as_object().unwrap();
    let expected: Vec<&str> = gridlake_replay::builtin::ranges()
        .iter()
        .map(|r| r.dataset)
        .collect();
    let mut names: Vec<&str> = tables.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut want = expected.clone();
    want.sort_unstable();
    assert_eq!(names, want);
    for (table, readers) in tables {
        let readers = readers.as_object().unwrap();
        assert_eq!(readers.len(), 4, "{table}");
        let rows: Vec<u64> = readers
            .values()
            .map(|r| r["rows"].as_u64().unwrap())
            .collect();
        assert!(rows[0] > 0, "{table}");
        assert!(rows.iter().all(|r| *r == rows[0]), "{table}: {rows:?}");
        assert!(readers["spark"]["columns"].get("date").is_some(), "{table}");
    }
}
