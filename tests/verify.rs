//! `gridlake verify` on a lake that keeps every rule, then on one broken in each way a reader would trip on.

use crate::common::*;

fn verify(lake: &std::path::Path) -> (Option<i32>, Vec<(String, String)>) {
    let out = gridlake(&["verify", "--lake", lake.to_str().unwrap(), "--json"]);
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stderr(&out)));
    let list = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["rule"].as_str().unwrap().to_string(),
                x["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (out.status.code(), list)
}

#[test]
fn verify_passes_a_clean_lake_and_names_every_broken_rule() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let (code, s) = import_json(&lake, "caiso_lmp_dam", &[&fixture(CAISO_25_DAYS)], &[]);
    assert_eq!(code, 0, "{s}");
    assert_eq!(verify(&lake), (Some(0), Vec::new()));

    let table = lake.join("caiso_lmp_dam");
    write(&table, "_SUCCESS", "");
    write(
        &table.join("date=2018-10-13"),
        ".part-0.parquet.tmp",
        "half",
    );
    write(&table.join("date=2018-10-14"), "part-1.parquet", "x");
    std::fs::create_dir_all(table.join("notes")).unwrap();
    write(&table, "notes/readme.txt", "x");
    // A file another tool wrote: nanosecond instants, a `date` column inside, no gridlake footer.
    let foreign = table.join("date=2018-12-01/part-0.parquet");
    std::fs::create_dir_all(foreign.parent().unwrap()).unwrap();
    run_python(
        "import sys, pyarrow as pa, pyarrow.parquet as pq\nt = pa.table({'interval_start': pa.array([0], pa.timestamp('ns', 'UTC')), 'date': pa.array([0], pa.date32())})\npq.write_table(t, sys.argv[1])",
        &[foreign.to_str().unwrap()],
    );
    // A committed day whose file disappeared.
    std::fs::remove_file(table.join("date=2018-10-20/part-0.parquet")).unwrap();

    let (code, got) = verify(&lake);
    assert_eq!(code, Some(3));
    let has =
        |rule: &str, path_part: &str| got.iter().any(|(r, p)| r == rule && p.contains(path_part));
    for (rule, path) in [
        ("stray-file", "caiso_lmp_dam/_SUCCESS"),
        ("zero-byte-file", "caiso_lmp_dam/_SUCCESS"),
        ("in-flight-file", "date=2018-10-13/.part-0.parquet.tmp"),
        ("stray-file", "date=2018-10-14/part-1.parquet"),
        ("partition-folder", "notes/readme.txt"),
        ("timestamp-unit", "date=2018-12-01"),
        ("date-in-file", "date=2018-12-01"),
        ("schema", "date=2018-12-01"),
        ("schema-drift", "date=2018-12-01"),
        ("footer", "date=2018-12-01"),
        ("ledger-file-missing", "date=2018-10-20"),
    ] {
        assert!(has(rule, path), "expected [{rule}] at {path}; got {got:?}");
    }
    assert_eq!(got.len(), 11, "{got:?}");
}
