//! The command line as a user meets it: exit codes, lake resolution, config errors, `validate`, `datasets`.

use crate::common::*;

#[test]
fn exit_codes_follow_the_documented_contract() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake").display().to_string();
    let ok = gridlake(&[
        "import",
        "caiso_lmp_dam",
        &fixture(CAISO_ONE_DAY).display().to_string(),
        "--lake",
        &lake,
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(
        stdout(&ok).contains("day 2020-05-10 complete"),
        "{}",
        stdout(&ok)
    );
    let usage = gridlake(&["import"]);
    assert_eq!(usage.status.code(), Some(2));
    let unknown = gridlake(&["import", "no_such_dataset", "x.csv", "--lake", &lake]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("gridlake datasets")
            && stderr(&unknown).contains("caiso_lmp_dam"),
        "{}",
        stderr(&unknown)
    );
    let refused = gridlake(&[
        "import",
        "caiso_lmp_dam",
        &fixture(NYISO_RT).display().to_string(),
        "--lake",
        &lake,
    ]);
    assert_eq!(refused.status.code(), Some(3));
    assert!(stdout(&refused).contains("REFUSED"));
}

#[test]
fn the_lake_comes_from_flag_env_config_or_default_in_that_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture(CAISO_ONE_DAY).display().to_string();
    let args = ["import", "caiso_lmp_dam", input.as_str()];
    // default: ./gridlake-lake
    let o = gridlake_in(&args, Some(dir.path()), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        dir.path()
            .join("gridlake-lake/caiso_lmp_dam/date=2020-05-10/part-0.parquet")
            .exists()
    );
    // config file, relative to the file
    write(dir.path(), "gridlake.toml", "lake = \"from-config\"\n");
    gridlake_in(&args, Some(dir.path()), &[]);
    assert!(dir.path().join("from-config/caiso_lmp_dam").exists());
    // env beats config
    let env_lake = dir.path().join("from-env").display().to_string();
    gridlake_in(&args, Some(dir.path()), &[("GRIDLAKE_LAKE", &env_lake)]);
    assert!(dir.path().join("from-env/caiso_lmp_dam").exists());
    // flag beats env
    let flag_lake = dir.path().join("from-flag").display().to_string();
    let mut with_flag = args.to_vec();
    with_flag.extend(["--lake", &flag_lake]);
    gridlake_in(
        &with_flag,
        Some(dir.path()),
        &[("GRIDLAKE_LAKE", &env_lake)],
    );
    assert!(dir.path().join("from-flag/caiso_lmp_dam").exists());
    // an unknown config key is an error that names it
    write(
        dir.path(),
        "gridlake.toml",
        "lake = \"x\"\nlakes = \"typo\"\n",
    );
    let o = gridlake_in(&args, Some(dir.path()), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("lakes"), "{}", stderr(&o));
}

#[test]
fn validate_reports_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture(CAISO_ONE_DAY))
        .unwrap()
        .replacen(",DAM,", ",DAX,", 2);
    let input = write(dir.path(), "two_bad.csv", text);
    let o = gridlake_in(
        &["validate", "caiso_lmp_dam", &input.display().to_string()],
        Some(dir.path()),
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "validate exits 3 when it finds rejects"
    );
    let out = stdout(&o);
    assert!(
        out.contains("96 read, 94 would be written, 2 rejected"),
        "{out}"
    );
    assert!(
        out.contains("two_bad.csv:2 [MARKET_RUN_ID]") && out.contains("DAX"),
        "{out}"
    );
    assert!(
        !dir.path().join("gridlake-lake").exists(),
        "validate writes nothing"
    );
    let clean = gridlake(&[
        "validate",
        "caiso_lmp_dam",
        &fixture(CAISO_ONE_DAY).display().to_string(),
        "--json",
    ]);
    assert_eq!(clean.status.code(), Some(0));
    let s: serde_json::Value = serde_json::from_slice(&clean.stdout).unwrap();
    assert_eq!(s["records"]["written"], 96);
    assert_eq!(
        s["inputs"][0]["header"]["bound"].as_array().unwrap().len(),
        16
    );
}

#[test]
fn datasets_lists_the_catalog_with_columns_and_types() {
    let o = gridlake(&["datasets"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for name in [
        "caiso_lmp_dam",
        "nyiso_lbmp_dam_zonal",
        "nyiso_lbmp_rt_zonal",
    ] {
        assert!(out.contains(name), "{out}");
    }
    assert!(
        out.contains("interval_start") && out.contains("Timestamp(µs, \"UTC\")")
            || out.contains("Timestamp(Microsecond"),
        "{out}"
    );
    let o = gridlake(&["datasets", "caiso_lmp_dam", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v[0]["key"]["columns"],
        serde_json::json!(["node", "lmp_type", "interval_start"])
    );
    assert_eq!(v[0]["columns"].as_array().unwrap().len(), 16);
}

#[test]
fn a_schema_dir_adds_and_overrides_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let schemas = dir.path().join("schemas");
    std::fs::create_dir(&schemas).unwrap();
    // Override the built-in NYISO real-time schema: a stricter price range and a new description.
    let builtin = std::fs::read_to_string(repo().join("schemas/nyiso_lbmp_rt_zonal.toml")).unwrap();
    let stricter = builtin
        .replace(
            "NYISO real-time 5-minute zonal LBMP",
            "Site override of NYISO real-time LBMP",
        )
        .replacen("max = 10000.0", "max = 21.0", 1);
    write(&schemas, "nyiso_lbmp_rt_zonal.toml", stricter);
    // And add a dataset of its own under another name.
    write(
        &schemas,
        "site_nyiso_copy.toml",
        builtin.replace(
            "name = \"nyiso_lbmp_rt_zonal\"",
            "name = \"site_nyiso_copy\"",
        ),
    );
    write(dir.path(), "gridlake.toml", "schema_dir = \"schemas\"\n");
    let o = gridlake_in(&["datasets"], Some(dir.path()), &[]);
    let out = stdout(&o);
    assert!(
        out.contains("Site override of NYISO real-time LBMP") && out.contains("site_nyiso_copy"),
        "{out}"
    );
    let input = fixture(NYISO_RT).display().to_string();
    let o = gridlake_in(
        &["validate", "nyiso_lbmp_rt_zonal", &input, "--json"],
        Some(dir.path()),
        &[],
    );
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rejected = s["records"]["rejected"].as_u64().unwrap();
    assert!(
        rejected > 0 && rejected < 45,
        "the override's max applies: {s}"
    );
    // A broken schema file is an error that names the file.
    write(&schemas, "broken.toml", "name = \"broken\"\nversion = 1\n");
    let o = gridlake_in(&["datasets"], Some(dir.path()), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("broken.toml"), "{}", stderr(&o));
}
