//! Ledger states after import, queried through the library API: complete, incomplete, failed, no_data and
//! missing; a file outranks a later failed attempt; a lost ledger record is recovered from the footer.

use crate::common::*;

#[test]
fn states_after_import_are_right_for_each_kind_of_input() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    // complete: the real one-day file (96 rows = 24 h × 4 components × 1 node)
    let (code, _) = import_json(&lake, "caiso_lmp_dam", &[&fixture(CAISO_ONE_DAY)], &[]);
    assert_eq!(code, 0);
    // incomplete: the real GMT-window zip fills two operating days partly
    let (code, _) = import_json(&lake, "caiso_lmp_dam", &[&fixture(CAISO_ZIP)], &[]);
    assert_eq!(code, 0);
    // failed: an input refused at file level for a declared day
    let broken = write(
        dir.path(),
        "broken.csv",
        "INTERVALSTARTTIME_GMT,OPR_DT,NODE\n2024-01-05T08:00:00-00:00,2024-01-05,X\n",
    );
    let (code, s) = import_json(&lake, "caiso_lmp_dam", &[&broken], &["--day", "2024-01-05"]);
    assert_eq!(code, 3, "{s}");
    assert!(
        s["inputs"][0]["error"]
            .as_str()
            .unwrap()
            .contains("missing required column")
    );
    // no_data: a header-only answer for a declared day
    let empty = write(dir.path(), "empty.csv", format!("{CAISO_HEADER}\n"));
    let (code, _) = import_json(&lake, "caiso_lmp_dam", &[&empty], &["--day", "2024-01-06"]);
    assert_eq!(code, 0);

    let all = |start: &str, end: &str| day_states(&lake, "caiso_lmp_dam", start, end);
    let may = &all("2020-05-10", "2020-05-10")[0];
    assert_eq!(
        (
            may.state.as_str(),
            may.written_rows,
            may.expected_rows,
            may.availability_pct
        ),
        ("complete", 96, Some(96), Some(100.0))
    );
    let jan = all("2020-01-01", "2020-01-03");
    assert_eq!(
        jan.iter().map(|d| d.state.as_str()).collect::<Vec<_>>(),
        vec!["incomplete", "incomplete", "missing"]
    );
    assert_eq!(
        (jan[0].written_rows, jan[0].expected_rows),
        (54_304, Some(24 * 4 * 1697))
    );
    assert_eq!(jan[0].availability_pct, Some(33.33));
    let days = all("2024-01-05", "2024-01-07");
    assert_eq!(
        days.iter().map(|d| d.state.as_str()).collect::<Vec<_>>(),
        vec!["failed", "no_data", "missing"]
    );
    assert!(
        days[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("missing required column")
    );
    assert_eq!(days[0].attempts, 1);
    assert!(days.iter().all(|d| d.written_rows == 0));
}

#[test]
fn a_file_outranks_a_later_failed_attempt_and_survives_a_lost_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    import_json(&lake, "caiso_lmp_dam", &[&fixture(CAISO_ONE_DAY)], &[]);
    // Every record of the day rejected: the attempt fails, the earlier file stays.
    let text = std::fs::read_to_string(fixture(CAISO_ONE_DAY)).unwrap();
    let all_bad = text.replace(",DAM,", ",RTM,");
    let input = write(dir.path(), "all_bad.csv", all_bad);
    let (code, s) = import_json(&lake, "caiso_lmp_dam", &[&input], &[]);
    assert_eq!(code, 0, "the day still has its complete file: {s}");
    assert_eq!(s["records"]["rejected"], 96);
    let st = &day_states(&lake, "caiso_lmp_dam", "2020-05-10", "2020-05-10")[0];
    assert_eq!(st.state.as_str(), "complete");
    assert_eq!(st.attempts, 2);
    assert!(
        st.last_error.as_deref().unwrap().contains("every record"),
        "{st:?}"
    );

    // The ledger lost (a crash between the swap and the record): the footer still proves the day.
    std::fs::remove_dir_all(lake.join("_gridlake/ledger")).unwrap();
    let st = &day_states(&lake, "caiso_lmp_dam", "2020-05-10", "2020-05-10")[0];
    assert_eq!(
        (
            st.state.as_str(),
            st.written_rows,
            st.expected_rows,
            st.attempts
        ),
        ("complete", 96, Some(96), 0)
    );
}

/// `gridlake ledger compact`: the dataset's run records fold into one file; gaps and states read the
/// same before and after; a second run does nothing; without a dataset every dataset is compacted.
#[test]
fn ledger_compact_folds_the_run_records_and_changes_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap();
    import_json(&lake, "caiso_lmp_dam", &[&fixture(CAISO_ONE_DAY)], &[]);
    import_json(&lake, "caiso_lmp_dam", &[&fixture(CAISO_ZIP)], &[]);
    let empty = write(dir.path(), "empty.csv", format!("{CAISO_HEADER}\n"));
    import_json(&lake, "caiso_lmp_dam", &[&empty], &["--day", "2024-01-06"]);
    import_json(&lake, "nyiso_lbmp_rt_zonal", &[&fixture(NYISO_RT)], &[]);
    let folder = lake.join("_gridlake/ledger/dataset=caiso_lmp_dam");
    assert_eq!(tree(&folder).len(), 3, "{:?}", tree(&folder));
    let gaps = |args: &[&str]| {
        let mut all = vec![
            "gaps",
            "caiso_lmp_dam",
            "--lake",
            lake_arg,
            "--json",
            "--all",
        ];
        all.extend_from_slice(args);
        stdout(&gridlake(&all))
    };
    let range = ["--start", "2019-12-30", "--end", "2024-01-07"];
    let before = (
        gaps(&range),
        day_states(&lake, "caiso_lmp_dam", "2019-12-30", "2024-01-07"),
    );

    let out = gridlake(&[
        "ledger",
        "compact",
        "caiso_lmp_dam",
        "--lake",
        lake_arg,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary[0]["files_folded"], 3, "{summary}");
    assert_eq!(
        tree(&folder),
        vec!["compacted-00000000000000000001.parquet".to_string()]
    );
    let after = (
        gaps(&range),
        day_states(&lake, "caiso_lmp_dam", "2019-12-30", "2024-01-07"),
    );
    assert_eq!(after, before);

    let again = gridlake(&["ledger", "compact", "caiso_lmp_dam", "--lake", lake_arg]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stdout(&again).contains("already compact"),
        "{}",
        stdout(&again)
    );

    let all = gridlake(&["ledger", "compact", "--lake", lake_arg, "--json"]);
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&all)).unwrap();
    assert_eq!(summary.as_array().unwrap().len(), 2, "{summary}");
    assert_eq!(
        tree(&lake.join("_gridlake/ledger/dataset=nyiso_lbmp_rt_zonal")).len(),
        1
    );
    let verify = gridlake(&["verify", "--lake", lake_arg]);
    assert_eq!(verify.status.code(), Some(0), "{}", stdout(&verify));
}

/// `import` folds the run records too once they reach `[ledger] compact_after_files`, as `sync` does, so a
/// lake fed by daily imports keeps its state at a few reads; the states are the same either way.
#[test]
fn import_compacts_the_ledger_past_the_configured_file_count() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap();
    let config = write(
        dir.path(),
        "gridlake.toml",
        "[ledger]\ncompact_after_files = 3\n",
    );
    let config_arg = config.to_str().unwrap();
    let empty = write(dir.path(), "empty.csv", format!("{CAISO_HEADER}\n"));
    let inputs = [
        (fixture(CAISO_ONE_DAY), None),
        (fixture(CAISO_ZIP), None),
        (empty, Some("2024-01-06")),
    ];
    let folder = lake.join("_gridlake/ledger/dataset=caiso_lmp_dam");
    let mut file_counts = Vec::new();
    for (input, day) in &inputs {
        let mut args = vec![
            "--config",
            config_arg,
            "import",
            "caiso_lmp_dam",
            input.to_str().unwrap(),
            "--lake",
            lake_arg,
        ];
        if let Some(day) = day {
            args.extend(["--day", day]);
        }
        let out = gridlake(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        file_counts.push(tree(&folder));
    }
    // Two runs leave two files; the third reaches the threshold and folds all three into one.
    assert_eq!(file_counts[0].len(), 1, "{file_counts:?}");
    assert_eq!(file_counts[1].len(), 2, "{file_counts:?}");
    assert_eq!(file_counts[2].len(), 1, "{file_counts:?}");
    assert!(
        file_counts[2][0].starts_with("compacted-"),
        "{file_counts:?}"
    );
    // The same states as a lake that never compacted (the default threshold, 32, is not reached).
    let plain = dir.path().join("plain");
    for (input, day) in &inputs {
        let extra: Vec<&str> = day.iter().flat_map(|d| ["--day", *d]).collect();
        let (code, _) = import_json(&plain, "caiso_lmp_dam", &[input.as_path()], &extra);
        assert_eq!(code, 0);
    }
    let states = |l: &std::path::Path| day_states(l, "caiso_lmp_dam", "2019-12-30", "2024-01-07");
    assert_eq!(states(&lake), states(&plain));
}
