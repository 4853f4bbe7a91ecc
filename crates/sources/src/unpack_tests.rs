use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};

use crate::{
    InputFormat, UnpackError, UnpackLimits, UnpackReport, detect_format, unpack_file, unpack_reader,
};
use flate2::Compression;
use flate2::write::GzEncoder;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

type Members = Vec<(String, Vec<u8>)>;

fn unpack(
    path: &Path,
    limits: &UnpackLimits,
) -> Result<(UnpackReport, Members), UnpackError<io::Error>> {
    let mut seen = Vec::new();
    let report = unpack_file(path, limits, |name, reader| {
        let mut data = Vec::new();
        reader.read_to_end(&mut data)?;
        seen.push((name.to_owned(), data));
        Ok(())
    })?;
    Ok((report, seen))
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
    let mut zip = ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, data) in entries {
        zip.start_file(*name, deflated()).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
}

fn zip_in(dir: &tempfile::TempDir, entries: &[(&str, &[u8])]) -> PathBuf {
    let path = dir.path().join("a.zip");
    write_zip(&path, entries);
    path
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Patches a u32 field of the (single) local header and of the central header.
fn patch_headers(path: &Path, local_offset: usize, central_offset: usize, value: u32) {
    let mut bytes = std::fs::read(path).unwrap();
    let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    bytes[local_offset..local_offset + 4].copy_from_slice(&value.to_le_bytes());
    bytes[central + central_offset..central + central_offset + 4]
        .copy_from_slice(&value.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

fn rows(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("{i},{}\n", i * 7919 % 1000))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn detects_by_magic_then_extension() {
    assert_eq!(detect_format("x.csv", b"PK\x03\x04"), InputFormat::Zip);
    assert_eq!(detect_format("x.csv", b"PK\x05\x06"), InputFormat::Zip);
    assert_eq!(detect_format("x", &[0x1f, 0x8b, 8]), InputFormat::Gzip);
    assert_eq!(detect_format("X.ZIP", b""), InputFormat::Zip);
    assert_eq!(detect_format("x.csv.gz", b"ts"), InputFormat::Gzip);
    assert_eq!(detect_format("x.txt", b"a,b"), InputFormat::Csv);
}

#[test]
fn plain_csv_is_one_member_named_after_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prices.csv");
    std::fs::write(&path, b"a,b\n1,2\n").unwrap();
    let (report, seen) = unpack(&path, &UnpackLimits::default()).unwrap();
    assert_eq!(
        seen,
        vec![("prices.csv".to_owned(), b"a,b\n1,2\n".to_vec())]
    );
    assert_eq!(report.format, InputFormat::Csv);
    assert_eq!(report.bytes_out, 8);
}

#[test]
fn gzip_is_one_member_without_gz_and_concatenated_members_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prices.csv.gz");
    let mut bytes = gzip(b"a,b\n");
    bytes.extend(gzip(b"1,2\n"));
    std::fs::write(&path, bytes).unwrap();
    let (report, seen) = unpack(&path, &UnpackLimits::default()).unwrap();
    assert_eq!(
        seen,
        vec![("prices.csv".to_owned(), b"a,b\n1,2\n".to_vec())]
    );
    assert_eq!(report.format, InputFormat::Gzip);
    assert_eq!(report.members, vec!["prices.csv"]);
}

#[test]
fn truncated_gzip_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.csv.gz");
    let full = gzip(&rows(5_000));
    for cut in [1, 4, 9, full.len() / 2] {
        std::fs::write(&path, &full[..full.len() - cut]).unwrap();
        let err = unpack(&path, &UnpackLimits::default()).unwrap_err();
        assert!(
            matches!(&err, UnpackError::Corrupt { member: Some(m), .. } if m == "p.csv"),
            "cut {cut}: {err:?}"
        );
        assert!(err.to_string().contains("re-download"), "{err}");
    }
}

#[test]
fn zip_members_are_visited_in_order_with_bang_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = zip_in(&dir, &[("x.csv", b"1\n"), ("dir/Y.CSV", b"2\n")]);
    let (report, seen) = unpack(&path, &UnpackLimits::default()).unwrap();
    let names: Vec<_> = seen
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("a.zip!x.csv", &b"1\n"[..]),
            ("a.zip!dir/Y.CSV", &b"2\n"[..])
        ]
    );
    assert_eq!(report.format, InputFormat::Zip);
    assert_eq!(report.bytes_out, 4);
}

#[test]
fn unpack_reader_works_in_memory() {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("x.csv", deflated()).unwrap();
    zip.write_all(b"1\n").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let mut seen = Vec::new();
    let report = unpack_reader(
        "mem.zip",
        Cursor::new(bytes),
        &UnpackLimits::default(),
        |n, _| {
            seen.push(n.to_owned());
            Ok::<_, io::Error>(())
        },
    )
    .unwrap();
    assert_eq!(seen, vec!["mem.zip!x.csv"]);
    assert_eq!(report.members, seen);
}

#[test]
fn macos_junk_and_directories_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.zip");
    let mut zip = ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.add_directory("__MACOSX/", deflated()).unwrap();
    for (name, data) in [
        ("__MACOSX/._x.csv", &b"junk"[..]),
        (".DS_Store", b"junk"),
        ("x.csv", b"1\n"),
    ] {
        zip.start_file(name, deflated()).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
    let (report, seen) = unpack(&path, &UnpackLimits::default()).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(report.members, vec!["a.zip!x.csv"]);
    assert_eq!(report.skipped, vec!["__MACOSX/._x.csv", ".DS_Store"]);
}

#[test]
fn unsafe_paths_refuse_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "../x.csv",
        "ok/../../x.csv",
        "/etc/x.csv",
        "C:\\x.csv",
        "\\\\srv\\x.csv",
    ] {
        let path = zip_in(&dir, &[("fine.csv", b"1\n"), (name, b"1\n")]);
        let err = unpack(&path, &UnpackLimits::default()).unwrap_err();
        assert!(
            matches!(&err, UnpackError::UnsafeEntry { entry, .. } if entry == name),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("extract the CSV yourself"),
            "{err}"
        );
    }
}

#[test]
fn symlink_entries_refuse_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.zip");
    let mut zip = ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file("x.csv", deflated()).unwrap();
    zip.add_symlink("link.csv", "/etc/passwd", deflated())
        .unwrap();
    zip.finish().unwrap();
    let err = unpack(&path, &UnpackLimits::default()).unwrap_err();
    assert!(
        matches!(&err, UnpackError::UnsafeEntry { entry, reason, .. } if entry == "link.csv" && reason.contains("symbolic link")),
        "{err:?}"
    );
}

#[test]
fn zip_bomb_stops_at_the_total_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = zip_in(&dir, &[("bomb.csv", &vec![0; 50_000_000])]);
    // The ratio cap is lifted so this exercises the total cap alone.
    let limits = UnpackLimits {
        max_total_bytes: 10_000_000,
        max_ratio: u64::MAX,
        ..UnpackLimits::default()
    };
    let mut seen = 0u64;
    let err = unpack_file(&path, &limits, |_, reader| {
        let mut buf = [0; 64 << 10];
        loop {
            match reader.read(&mut buf)? {
                0 => return Ok::<_, io::Error>(()),
                n => seen += n as u64,
            }
        }
    })
    .unwrap_err();
    assert!(
        matches!(&err, UnpackError::TooLarge { member, limit_bytes: 10_000_000, .. } if member == "bomb.csv"),
        "{err:?}"
    );
    assert!(seen <= 10_000_000, "{seen}");
    assert!(err.to_string().contains("raise `max_total_bytes`"), "{err}");
}

#[test]
fn ratio_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = zip_in(&dir, &[("bomb.csv", &vec![b'0'; 5_000_000])]);
    let limits = UnpackLimits {
        max_ratio: 20,
        ..UnpackLimits::default()
    };
    let err = unpack(&path, &limits).unwrap_err();
    assert!(
        matches!(err, UnpackError::RatioExceeded { max_ratio: 20, .. }),
        "{err:?}"
    );
    // Gzip members are held to the same ratio.
    let gz = dir.path().join("b.csv.gz");
    std::fs::write(&gz, gzip(&vec![b'0'; 5_000_000])).unwrap();
    assert!(matches!(
        unpack(&gz, &limits).unwrap_err(),
        UnpackError::RatioExceeded { .. }
    ));
}

#[test]
fn nested_archives_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = zip_in(&dir, &[("x.csv", b"1\n"), ("inner.ZIP", b"PK\x05\x06")]);
    let err = unpack(&path, &UnpackLimits::default()).unwrap_err();
    assert!(
        matches!(&err, UnpackError::Nested { entry, .. } if entry == "inner.ZIP"),
        "{err:?}"
    );
}

#[test]
fn encrypted_entries_are_refused() {
    use zip::unstable::write::FileOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.zip");
    let mut zip = ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file(
        "x.csv",
        deflated().with_deprecated_encryption(b"secret").unwrap(),
    )
    .unwrap();
    zip.write_all(b"1\n").unwrap();
    zip.finish().unwrap();
    let err = unpack(&path, &UnpackLimits::default()).unwrap_err();
    assert!(
        matches!(&err, UnpackError::Encrypted { entry, .. } if entry == "x.csv"),
        "{err:?}"
    );
}

#[test]
fn too_many_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = zip_in(
        &dir,
        &[
            ("a.csv", b""),
            ("b.csv", b""),
            ("c.txt", b""),
            ("d.csv", b""),
        ],
    );
    let limits = UnpackLimits {
        max_entries: 3,
        ..UnpackLimits::default()
    };
    let err = unpack(&path, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            UnpackError::TooManyEntries {
                entries: 4,
                limit: 3,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn zip_without_csv_lists_what_it_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = zip_in(&dir, &[("a.txt", b"1"), ("b.xml", b"<x/>")]);
    let err = unpack(&path, &UnpackLimits::default()).unwrap_err();
    assert!(matches!(&err, UnpackError::NoCsvMember { found, .. } if found == &["a.txt", "b.xml"]));
    assert!(err.to_string().contains("found: a.txt, b.xml;"), "{err}");
}

#[test]
fn corrupted_deflate_data_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = zip_in(&dir, &[("x.csv", &rows(20_000))]);
    let mut bytes = std::fs::read(&path).unwrap();
    let extra = u16::from_le_bytes([bytes[28], bytes[29]]) as usize;
    let compressed = u32::from_le_bytes(bytes[18..22].try_into().unwrap()) as usize;
    bytes[30 + "x.csv".len() + extra + compressed / 2] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();
    let err = unpack(&path, &UnpackLimits::default()).unwrap_err();
    assert!(
        matches!(&err, UnpackError::Corrupt { member: Some(m), .. } if m == "x.csv"),
        "{err:?}"
    );
}

#[test]
fn entry_larger_than_declared_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = zip_in(&dir, &[("x.csv", &rows(1_000))]);
    patch_headers(&path, 22, 24, 500);
    let err = unpack(&path, &UnpackLimits::default()).unwrap_err();
    assert!(
        matches!(&err, UnpackError::Corrupt { member: Some(m), .. } if m == "x.csv"),
        "{err:?}"
    );
}

#[test]
fn entry_shorter_than_declared_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let data = rows(1_000);
    let path = zip_in(&dir, &[("x.csv", &data)]);
    patch_headers(&path, 22, 24, data.len() as u32 + 100);
    let err = unpack(&path, &UnpackLimits::default()).unwrap_err();
    assert!(
        matches!(&err, UnpackError::Corrupt { detail, .. } if detail.contains("declares")),
        "{err:?}"
    );
}

#[test]
fn visitor_errors_propagate_typed() {
    let dir = tempfile::tempdir().unwrap();
    let path = zip_in(&dir, &[("x.csv", b"1\n")]);
    let err = unpack_file(&path, &UnpackLimits::default(), |_, _| Err("boom")).unwrap_err();
    assert!(matches!(err, UnpackError::Visitor("boom")), "{err:?}");
}

#[test]
fn missing_file_is_io_error() {
    let err = unpack(Path::new("/nonexistent/x.csv"), &UnpackLimits::default()).unwrap_err();
    assert!(matches!(err, UnpackError::Io { .. }), "{err:?}");
}
