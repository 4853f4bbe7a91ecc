//! The lake's promises: one file per day, idempotent re-imports, merging inputs of one day, and no reader
//! ever seeing an in-flight file.

use std::time::{Duration, SystemTime};

use crate::common::*;

fn file_hashes(lake: &std::path::Path, dataset: &str) -> Vec<(String, Vec<u8>)> {
    use sha2::Digest;
    table_files(lake, dataset)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(lake.join(dataset).join(&f)).unwrap();
            (f, sha2::Sha256::digest(&bytes).to_vec())
        })
        .collect()
}

#[test]
fn importing_the_same_files_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let inputs = [fixture(CAISO_25_DAYS), fixture(CAISO_ONE_DAY)];
    let refs: Vec<&std::path::Path> = inputs.iter().map(|p| p.as_path()).collect();
    let (code, _) = import_json(&lake, "caiso_lmp_dam", &refs, &[]);
    assert_eq!(code, 0);
    let first = file_hashes(&lake, "caiso_lmp_dam");
    assert_eq!(
        first.len(),
        26,
        "25 operating days + 2020-05-10, one file each"
    );
    let (code, again) = import_json(&lake, "caiso_lmp_dam", &refs, &[]);
    assert_eq!(code, 0);
    assert!(
        again["days"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["unchanged"] == true),
        "{again}"
    );
    assert_eq!(
        file_hashes(&lake, "caiso_lmp_dam"),
        first,
        "same names, same bytes, nothing extra"
    );
    // A re-import with --jobs 1 after touching nothing is still a no-op, and rows are never duplicated.
    let out = run_python(
        "import duckdb,sys; print(duckdb.sql(f\"SELECT count(*), count(DISTINCT (node, lmp_type, interval_start)) FROM read_parquet('{sys.argv[1]}/caiso_lmp_dam/*/*.parquet')\").fetchone())",
        &[&lake.display().to_string()],
    );
    assert_eq!(out.trim(), "(2500, 2500)");
}

#[test]
fn two_inputs_for_one_day_end_as_one_file_holding_both() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let text = std::fs::read_to_string(fixture(CAISO_ONE_DAY)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    assert_eq!(body.len(), 96);
    // Split by hour, as two requests for half a day each would deliver it (rows are unsorted in the file).
    let hour = |l: &&str| l.split(',').nth(3).unwrap().parse::<u32>().unwrap();
    let (am, pm): (Vec<&str>, Vec<&str>) = body.iter().partition(|l| hour(l) <= 12);
    assert_eq!((am.len(), pm.len()), (48, 48));
    let first = write(
        dir.path(),
        "first_half.csv",
        format!("{header}\n{}\n", am.join("\n")),
    );
    let second = write(
        dir.path(),
        "second_half.csv",
        format!("{header}\n{}\n", pm.join("\n")),
    );
    let (_, s1) = import_json(&lake, "caiso_lmp_dam", &[&first], &[]);
    assert_eq!(s1["days"][0]["state"], "incomplete");
    let (_, s2) = import_json(&lake, "caiso_lmp_dam", &[&second], &[]);
    assert_eq!(s2["days"][0]["state"], "complete");
    assert_eq!(s2["days"][0]["rows"], 96);
    assert_eq!(
        table_files(&lake, "caiso_lmp_dam"),
        vec!["date=2020-05-10/part-0.parquet"]
    );
    let (batches, kv) = read_parquet(&lake.join("caiso_lmp_dam/date=2020-05-10/part-0.parquet"));
    assert_eq!(rows(&batches), 96);
    let inputs: serde_json::Value =
        serde_json::from_str(&footer_value(&kv, "gridlake.inputs").unwrap()).unwrap();
    let names: Vec<&str> = inputs
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["first_half.csv", "second_half.csv"]);

    // Overlapping inputs: the incoming rows win by key, nothing is duplicated.
    let revised: Vec<String> = body[..10]
        .iter()
        .map(|l| {
            let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
            f[14] = "999.5".into();
            f.join(",")
        })
        .collect();
    let third = write(
        dir.path(),
        "revision.csv",
        format!("{header}\n{}\n", revised.join("\n")),
    );
    let (_, s3) = import_json(&lake, "caiso_lmp_dam", &[&third], &[]);
    assert_eq!(s3["days"][0]["rows"], 96);
    let out = run_python(
        "import duckdb,sys; print(duckdb.sql(f\"SELECT count(*) FILTER (WHERE price = 999.5), count(*) FROM read_parquet('{sys.argv[1]}')\").fetchone())",
        &[&lake
            .join("caiso_lmp_dam/date=2020-05-10/part-0.parquet")
            .display()
            .to_string()],
    );
    assert_eq!(out.trim(), "(10, 96)");
}

#[test]
fn a_staged_file_left_by_a_crash_is_invisible_to_readers_and_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    import_json(&lake, "caiso_lmp_dam", &[&fixture(CAISO_ONE_DAY)], &[]);
    // A crash between the staged write and the rename leaves a complete Parquet file in staging.
    let staging = lake.join("_gridlake/staging");
    std::fs::create_dir_all(&staging).unwrap();
    let leftover = staging.join("0b1c2d3e-part.staged");
    std::fs::copy(
        lake.join("caiso_lmp_dam/date=2020-05-10/part-0.parquet"),
        &leftover,
    )
    .unwrap();
    let out = run_python(
        r#"
import sys, duckdb, pyarrow as pa, pyarrow.dataset as ds
lake = sys.argv[1]
print(duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake}/caiso_lmp_dam/**/*.parquet', hive_partitioning=true)").fetchone()[0])
part = ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")
print(ds.dataset(f"{lake}/caiso_lmp_dam", format="parquet", partitioning=part).count_rows())
"#,
        &[&lake.display().to_string()],
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec!["96", "96"],
        "readers see only the committed file"
    );
    // Old enough to be a crash's leftover rather than a concurrent writer's file in flight.
    let f = std::fs::File::options()
        .write(true)
        .open(&leftover)
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(2 * 3600))
        .unwrap();
    drop(f);
    let (code, _) = import_json(&lake, "nyiso_lbmp_rt_zonal", &[&fixture(NYISO_RT)], &[]);
    assert_eq!(code, 0);
    assert!(
        !leftover.exists(),
        "the next run removes the stale staged file"
    );
    assert!(tree(&staging).is_empty());
}

#[test]
fn rejects_land_in_the_reject_store_named_by_input_hash_and_are_replaced_on_reimport() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let text = std::fs::read_to_string(fixture(CAISO_ONE_DAY)).unwrap();
    // The price (16th field, `MW`) of the first three records becomes text.
    let bad: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
            if (1..=3).contains(&i) {
                f[14] = format!("x{}", f[14]);
            }
            f.join(",")
        })
        .collect();
    let bad = bad.join("\n") + "\n";
    let input = write(dir.path(), "bad.csv", &bad);
    let (code, s) = import_json(&lake, "caiso_lmp_dam", &[&input], &[]);
    assert_eq!(code, 0, "rejects alone are reported, not failures");
    let rejected = s["records"]["rejected"].as_u64().unwrap();
    assert_eq!(rejected, 3);
    let files = tree(&lake.join("_gridlake/rejects"));
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].starts_with("dataset=caiso_lmp_dam/date=2020-05-10/")
            && files[0].ends_with(".parquet")
    );
    let sha = s["inputs"][0]["sha256"].as_str().unwrap();
    assert!(files[0].contains(sha));
    let out = run_python(
        "import duckdb,sys; print(duckdb.sql(f\"SELECT count(*), min(line), min(\\\"column\\\"), min(reason) FROM read_parquet('{sys.argv[1]}/_gridlake/rejects/**/*.parquet', hive_partitioning=true)\").fetchone())",
        &[&lake.display().to_string()],
    );
    assert!(
        out.starts_with(&format!("({rejected}, "))
            && out.contains("'MW'")
            && out.contains("not a valid number"),
        "{out}"
    );
    import_json(&lake, "caiso_lmp_dam", &[&input], &[]);
    assert_eq!(
        tree(&lake.join("_gridlake/rejects")),
        files,
        "same input → the same reject file, replaced"
    );
}
