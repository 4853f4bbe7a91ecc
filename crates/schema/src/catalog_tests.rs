//! Tests of the built-in schemas and the catalog: every schema file parses, the list compiled into the
//! binary matches `schemas/`, and schema mistakes are errors that say what is wrong.

use std::path::PathBuf;

use arrow::datatypes::{DataType, TimeUnit};

use crate::def::ColumnType;
use crate::{Catalog, Dataset, SchemaError, arrow_type};

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

const CAISO_TOML: &str = include_str!("../../../schemas/caiso_lmp_dam.toml");

#[test]
fn every_builtin_schema_parses() {
    let catalog = Catalog::builtin().unwrap();
    let names: Vec<&str> = catalog.iter().map(|d| d.name()).collect();
    assert_eq!(
        names,
        [
            "binance_klines",
            "caiso_lmp_dam",
            "caiso_lmp_rtm",
            "caiso_load_forecast",
            "miso_lmp_da_exante",
            "nyiso_lbmp_dam_zonal",
            "nyiso_lbmp_rt_zonal",
            "reach_dosimeter"
        ]
    );
    for file in Catalog::builtin_files() {
        // The file is named after its dataset.
        let name = file.strip_suffix(".toml").unwrap();
        let ds = catalog.get(name).unwrap();
        assert_eq!(ds.name(), name);
        assert!(ds.version() >= 1);
        assert!(!ds.definition().description.is_empty());
        assert_eq!(
            ds.arrow_schema().fields().len(),
            ds.definition().columns.len()
        );
    }
}

#[test]
fn builtin_files_match_the_schemas_folder() {
    let mut on_disk: Vec<String> = std::fs::read_dir(schemas_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut builtin: Vec<&str> = Catalog::builtin_files();
    builtin.sort_unstable();
    assert_eq!(
        builtin, on_disk,
        "add new schema files to BUILTIN in crates/schema/src/dataset.rs"
    );
}

#[test]
fn builtin_texts_are_the_files_on_disk() {
    // `load_dir` over `schemas/` gives the same datasets as the compiled-in copies.
    let builtin = Catalog::builtin().unwrap();
    let mut loaded = Catalog::default();
    loaded.load_dir(&schemas_dir()).unwrap();
    for ds in builtin.iter() {
        let other = loaded.get(ds.name()).unwrap();
        assert_eq!(ds.arrow_schema(), other.arrow_schema());
        assert_eq!(ds.key_columns(), other.key_columns());
    }
}

#[test]
fn every_dataset_has_a_non_empty_non_nullable_key() {
    for ds in Catalog::builtin().unwrap().iter() {
        let key = ds.key_columns();
        assert!(!key.is_empty(), "{}", ds.name());
        for k in key {
            let field = ds.arrow_schema().field_with_name(k).unwrap();
            assert!(
                !field.is_nullable(),
                "{}: key column {k} is nullable",
                ds.name()
            );
        }
    }
}

#[test]
fn timestamps_are_utc_microseconds_and_there_is_no_date_column() {
    assert_eq!(
        arrow_type(ColumnType::Timestamp),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    for ds in Catalog::builtin().unwrap().iter() {
        assert!(ds.arrow_schema().field_with_name("date").is_err());
        for f in ds.arrow_schema().fields() {
            if let DataType::Timestamp(unit, tz) = f.data_type() {
                assert_eq!(*unit, TimeUnit::Microsecond);
                assert_eq!(tz.as_deref(), Some("UTC"));
            }
        }
    }
}

#[test]
fn unknown_keys_are_errors_that_name_the_key() {
    let cases = [
        // Top level.
        CAISO_TOML.replace("version = 1", "version = 1\ncolour = \"blue\""),
        // Inside a column.
        CAISO_TOML.replace(
            "type = \"utf8\"\nnullable = true",
            "type = \"utf8\"\nnulable = true",
        ),
        // Inside a table.
        CAISO_TOML.replace(
            "zone = \"America/Los_Angeles\"",
            "zone = \"America/Los_Angeles\"\ntimezone = \"PST\"",
        ),
    ];
    for (text, key) in cases.iter().zip(["colour", "nulable", "timezone"]) {
        assert_ne!(text, CAISO_TOML);
        match Dataset::from_toml("edited.toml", text) {
            Err(SchemaError::Parse { origin, message }) => {
                assert_eq!(origin, "edited.toml");
                assert!(
                    message.contains(key),
                    "message does not name `{key}`: {message}"
                );
            }
            other => panic!("expected a parse error naming `{key}`, got {other:?}"),
        }
    }
}

#[test]
fn unknown_dataset_lists_the_known_ones() {
    let err = Catalog::builtin().unwrap().get("nope").unwrap_err();
    match &err {
        SchemaError::UnknownDataset { name, known } => {
            assert_eq!(name, "nope");
            assert_eq!(
                known,
                "binance_klines, caiso_lmp_dam, caiso_lmp_rtm, caiso_load_forecast, miso_lmp_da_exante, nyiso_lbmp_dam_zonal, nyiso_lbmp_rt_zonal, reach_dosimeter"
            );
        }
        e => panic!("{e:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("`nope`") && msg.contains("nyiso_lbmp_rt_zonal"),
        "{msg}"
    );
}

#[test]
fn contradictory_rules_are_invalid() {
    let cases = [
        (
            CAISO_TOML.replace(
                "columns = [\"node\", \"lmp_type\", \"interval_start\"]",
                "columns = []",
            ),
            "key.columns is empty",
        ),
        (
            CAISO_TOML.replace(
                "columns = [\"node\", \"lmp_type\", \"interval_start\"]",
                "columns = [\"node\", \"node_id\"]",
            ),
            "must not be nullable",
        ),
        (
            CAISO_TOML.replace("name = \"opr_dt\"", "name = \"date\""),
            "`date` is the partition column",
        ),
        (
            CAISO_TOML.replace("zone = \"America/Los_Angeles\"", "zone = \"Mars/Olympus\""),
            "partition.zone",
        ),
        (
            CAISO_TOML.replace("interval = \"1h\"", "interval = \"hourly\""),
            "completeness.interval",
        ),
        (
            CAISO_TOML.replace("name = \"caiso_lmp_dam\"", "name = \"CAISO-LMP\""),
            "snake_case",
        ),
        (
            CAISO_TOML.replace(
                "format = [\"%Y-%m-%dT%H:%M:%S%:z\"]\ndoc = \"Interval start",
                "format = [\"%Q\"]\ndoc = \"Interval start",
            ),
            "unsupported specifier",
        ),
    ];
    for (text, phrase) in cases {
        assert_ne!(text, CAISO_TOML, "edit for `{phrase}` did not apply");
        match Dataset::from_toml("edited.toml", &text) {
            Err(SchemaError::Invalid {
                origin,
                dataset,
                message,
            }) => {
                assert_eq!(origin, "edited.toml");
                assert!(!dataset.is_empty());
                assert!(message.contains(phrase), "`{message}` lacks `{phrase}`");
            }
            other => panic!("expected Invalid with `{phrase}`, got {other:?}"),
        }
    }
}

#[test]
fn completeness_counts_local_day_lengths() {
    let catalog = Catalog::builtin().unwrap();
    let day =
        |s: &str| crate::date_to_day(chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
    let rt = catalog.get("nyiso_lbmp_rt_zonal").unwrap();
    let c = rt.completeness().unwrap();
    assert_eq!(c.per_columns(), ["ptid"]);
    assert_eq!(c.intervals(day("2024-06-01")), 288);
    assert_eq!(c.intervals(day("2024-03-10")), 276);
    assert_eq!(c.intervals(day("2024-11-03")), 300);
    // A fixed number of keys wins over the number seen.
    assert_eq!(c.expected_rows(day("2024-06-01"), 3), 288 * 15);
    let caiso = catalog.get("caiso_lmp_dam").unwrap();
    assert_eq!(
        caiso
            .completeness()
            .unwrap()
            .expected_rows(day("2024-06-01"), 8),
        24 * 8
    );
    assert_eq!(
        caiso.partition_zone(),
        crate::Zone::parse("America/Los_Angeles").unwrap()
    );
}
