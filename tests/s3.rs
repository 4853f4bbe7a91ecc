//! Lakes on S3 through the binary: `--lake s3://…`, `GRIDLAKE_LAKE` and `lake = "s3://…"` with the
//! standard `AWS_*` environment pointed at a real S3-compatible server (moto, from `gridlake-testkit`),
//! read back by pyarrow through its own S3 filesystem.

use gridlake_testkit::{S3Server, TEST_ACCESS_KEY, TEST_SECRET_KEY};

use crate::common::*;

fn env(server: &S3Server) -> Vec<(&'static str, String)> {
    server.env()
}

fn run(server: &S3Server, args: &[&str], cwd: Option<&std::path::Path>) -> std::process::Output {
    let env = env(server);
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    gridlake_in(args, cwd, &refs)
}

/// Counts the rows of `dataset` in the lake at `s3://bucket/prefix` with pyarrow's own S3 client.
fn pyarrow_count(server: &S3Server, bucket: &str, prefix: &str, dataset: &str) -> String {
    run_python(
        r#"
import sys, pyarrow as pa, pyarrow.dataset as ds, pyarrow.fs as fs
endpoint, key, secret, root = sys.argv[1:5]
s3 = fs.S3FileSystem(endpoint_override=endpoint, scheme="http", access_key=key, secret_key=secret, region="us-east-1")
part = ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")
print(ds.dataset(root, filesystem=s3, format="parquet", partitioning=part).count_rows())
"#,
        &[
            &server.endpoint().replace("http://", ""),
            TEST_ACCESS_KEY,
            TEST_SECRET_KEY,
            &format!("{bucket}/{prefix}/{dataset}"),
        ],
    )
}

#[test]
fn import_into_an_s3_lake_and_read_it_back_with_pyarrow() {
    let server = S3Server::start();
    let bucket = server.new_bucket();
    let lake = format!("s3://{bucket}/lakes/main");
    let one_day = fixture(CAISO_ONE_DAY).display().to_string();
    let out = run(
        &server,
        &[
            "import",
            "caiso_lmp_dam",
            &one_day,
            "--lake",
            &lake,
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["days"][0]["rows"], 96, "{s}");
    assert_eq!(
        pyarrow_count(&server, &bucket, "lakes/main", "caiso_lmp_dam").trim(),
        "96"
    );

    // Again: unchanged, still one file, same rows.
    let out = run(
        &server,
        &[
            "import",
            "caiso_lmp_dam",
            &one_day,
            "--lake",
            &lake,
            "--json",
        ],
        None,
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["days"][0]["unchanged"], true, "{s}");

    // The ledger on S3 answers `gaps`, here through GRIDLAKE_LAKE.
    let mut e = env(&server);
    e.push(("GRIDLAKE_LAKE", lake.clone()));
    let refs: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = gridlake_in(
        &[
            "gaps",
            "caiso_lmp_dam",
            "--start",
            "2020-05-09",
            "--end",
            "2020-05-10",
            "--all",
            "--json",
        ],
        None,
        &refs,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("\"complete\"") && text.contains("\"missing\""),
        "{text}"
    );
}

#[test]
fn lake_in_gridlake_toml_may_be_an_s3_url() {
    let server = S3Server::start();
    let bucket = server.new_bucket();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "gridlake.toml",
        format!("lake = \"s3://{bucket}/from-config\"\n"),
    );
    let out = run(
        &server,
        &[
            "import",
            "nyiso_lbmp_rt_zonal",
            &fixture(NYISO_RT).display().to_string(),
            "--json",
        ],
        Some(dir.path()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !dir.path().join("s3:").exists(),
        "not taken for a relative directory"
    );
    let n = pyarrow_count(&server, &bucket, "from-config", "nyiso_lbmp_rt_zonal");
    assert!(n.trim().parse::<u64>().unwrap() > 0, "{n}");
}

#[test]
fn a_wrong_key_fails_with_advice_and_without_the_secret() {
    let server = S3Server::start_with_auth();
    let out = run(
        &server,
        &[
            "import",
            "caiso_lmp_dam",
            &fixture(CAISO_ONE_DAY).display().to_string(),
            "--lake",
            "s3://nope/lake",
            "-vv",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("s3://nope/lake"), "{err}");
    assert!(!err.contains(TEST_SECRET_KEY), "the secret leaked: {err}");
    assert!(!stdout(&out).contains(TEST_SECRET_KEY));
}

#[test]
fn an_unknown_lake_scheme_is_refused() {
    let out = gridlake(&["import", "caiso_lmp_dam", "x.csv", "--lake", "gs://b/x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not supported"), "{}", stderr(&out));
}
