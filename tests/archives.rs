//! Inputs as users hand them over: zips, gzips and hostile archives, through `gridlake import`. Each ends
//! in its rows imported, or in a file-level refusal that names the problem, commits nothing and exits 3.

use std::io::Write;

use crate::common::*;

fn zip_with(dir: &std::path::Path, name: &str, entries: &[(&str, &[u8])]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut z = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (n, data) in entries {
        z.start_file(*n, opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
    path
}

fn half_days(dir: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    let _ = dir;
    let text = std::fs::read_to_string(fixture(CAISO_ONE_DAY)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    (
        format!("{header}\n{}\n", body[..48].join("\n")).into_bytes(),
        format!("{header}\n{}\n", body[48..].join("\n")).into_bytes(),
    )
}

fn refused(lake: &std::path::Path, file: &std::path::Path, phrase: &str) {
    let (code, s) = import_json(lake, "caiso_lmp_dam", &[file], &[]);
    assert_eq!(code, 3, "{s}");
    let err = s["inputs"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains(phrase),
        "error should mention `{phrase}`: {err}"
    );
    assert_eq!(s["failed_inputs"], 1);
    assert!(
        table_files(lake, "caiso_lmp_dam").is_empty(),
        "a refused input commits nothing"
    );
}

#[test]
fn a_zip_with_two_csvs_imports_both_members_into_one_day() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = half_days(dir.path());
    let z = zip_with(
        dir.path(),
        "two.zip",
        &[("a.csv", &a), ("__MACOSX/._a.csv", b"junk"), ("b.csv", &b)],
    );
    let (code, s) = import_json(&dir.path().join("lake"), "caiso_lmp_dam", &[&z], &[]);
    assert_eq!(code, 0, "{s}");
    let names: Vec<&str> = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["two.zip!a.csv", "two.zip!b.csv"]);
    assert_eq!(s["days"][0]["rows"], 96);
    assert_eq!(s["days"][0]["state"], "complete");
}

#[test]
fn gzip_inputs_import_and_a_truncated_gzip_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let raw = std::fs::read(fixture(CAISO_ONE_DAY)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    let gz = gz.finish().unwrap();
    let good = write(dir.path(), "day.csv.gz", &gz);
    let (code, s) = import_json(&dir.path().join("lake"), "caiso_lmp_dam", &[&good], &[]);
    assert_eq!((code, s["records"]["written"].as_u64()), (0, Some(96)));
    let cut = write(dir.path(), "cut.csv.gz", &gz[..gz.len() - 20]);
    refused(&dir.path().join("lake2"), &cut, "cut.csv.gz");
}

#[test]
fn hostile_archives_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = half_days(dir.path());
    let slip = zip_with(dir.path(), "slip.zip", &[("../x.csv", &a)]);
    refused(&dir.path().join("l1"), &slip, "../x.csv");
    let abs = zip_with(dir.path(), "abs.zip", &[("/etc/x.csv", &a)]);
    refused(&dir.path().join("l2"), &abs, "/etc/x.csv");
    let nested = zip_with(dir.path(), "nested.zip", &[("inner.zip", b"PK\x03\x04")]);
    refused(&dir.path().join("l3"), &nested, "inner.zip");
    let none = zip_with(dir.path(), "none.zip", &[("readme.txt", b"hello")]);
    refused(&dir.path().join("l4"), &none, "readme.txt");
    // A bomb: one valid row, then 200 MB of newlines, which deflate shrinks ~1000×. The ratio cap stops it
    // after a few MB inflated, and nothing of it is committed even though its first row was valid.
    let row = std::fs::read_to_string(fixture(CAISO_ONE_DAY))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let mut bomb_body = format!("{CAISO_HEADER}\n{row}\n").into_bytes();
    bomb_body.resize(200 << 20, b'\n');
    let bomb = zip_with(dir.path(), "bomb.zip", &[("bomb.csv", &bomb_body)]);
    drop(bomb_body);
    refused(&dir.path().join("l5"), &bomb, "bomb");
    // A file of nothing but bad rows is refused once it passes the reject limit, instead of filling memory.
    let mut junk = format!("{CAISO_HEADER}\n").into_bytes();
    for _ in 0..100_001 {
        junk.extend_from_slice(b"a,b,c\n");
    }
    let junk = write(dir.path(), "junk.csv", &junk);
    refused(
        &dir.path().join("l7"),
        &junk,
        "more than 100000 records rejected",
    );
    let garbage = write(
        dir.path(),
        "corrupt.zip",
        b"PK\x03\x04 this is not really a zip archive at all",
    );
    refused(&dir.path().join("l6"), &garbage, "corrupt.zip");
}

#[test]
fn whole_file_problems_are_reported_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.csv", "");
    refused(&dir.path().join("l1"), &empty, "empty");
    let wrong = write(
        dir.path(),
        "nyiso.csv",
        std::fs::read(fixture(NYISO_RT)).unwrap(),
    );
    let (code, s) = import_json(&dir.path().join("l2"), "caiso_lmp_dam", &[&wrong], &[]);
    assert_eq!(code, 3);
    let err = s["inputs"][0]["error"].as_str().unwrap();
    assert!(
        err.contains("expected:")
            && err.contains("found:")
            && err.contains("INTERVALSTARTTIME_GMT")
            && err.contains("Time Stamp"),
        "{err}"
    );
    assert!(err.contains("right dataset"), "says what to do next: {err}");
    let missing = write(dir.path(), "missing.csv", "no/such/file");
    let gone = dir.path().join("does-not-exist.csv");
    let (code, s) = import_json(
        &dir.path().join("l3"),
        "caiso_lmp_dam",
        &[&gone, &missing],
        &[],
    );
    assert_eq!(code, 3);
    assert!(
        s["inputs"].as_array().unwrap().iter().any(|i| i["error"]
            .as_str()
            .is_some_and(|e| e.contains("does-not-exist.csv"))),
        "{s}"
    );
}

#[test]
fn row_level_problems_are_rejected_with_file_line_column_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture(CAISO_ONE_DAY)).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[3] = lines[3].replacen(",LMP,", ",XYZ,", 1); // unknown enum value, line 4
    lines[5] = lines[5].split(',').take(10).collect::<Vec<_>>().join(","); // short row, line 6
    lines[7] = format!("{},extra", lines[7]); // long row, line 8
    lines[9] = lines[9].replacen("2020-05-10T", "2020-13-10T", 1); // bad timestamp, line 10
    let mut bytes = lines.join("\r\n").into_bytes();
    bytes.extend_from_slice(b"\r\n");
    let input = write(dir.path(), "mixed.csv", &bytes);
    let (code, s) = import_json(&dir.path().join("lake"), "caiso_lmp_dam", &[&input], &[]);
    assert_eq!(code, 0, "rejects are not failures: {s}");
    let c = &s["records"];
    assert_eq!(
        (
            c["read"].as_u64(),
            c["written"].as_u64(),
            c["rejected"].as_u64()
        ),
        (Some(96), Some(92), Some(4))
    );
    let rejects = s["inputs"][0]["rejects"].as_array().unwrap();
    let got: Vec<(u64, &str)> = rejects
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["column"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (4, "LMP_TYPE"),
            (6, "XML_DATA_ITEM"),
            (8, "-"),
            (10, "INTERVALSTARTTIME_GMT")
        ]
    );
    assert!(
        rejects
            .iter()
            .all(|r| r["file"] == "mixed.csv" && !r["reason"].as_str().unwrap().is_empty())
    );
    assert_eq!(s["days"][0]["state"], "incomplete");
}
