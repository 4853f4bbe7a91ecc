//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures").join(rel)
}

pub(crate) const CAISO_25_DAYS: &str =
    "real/caiso/20181013_20181107_PRC_LMP_DAM_20200511_16_08_16_v1.csv";
pub(crate) const CAISO_ONE_DAY: &str =
    "real/caiso/20200510_20200511_PRC_LMP_DAM_20200510_10_49_47_v1.csv";
pub(crate) const CAISO_ZIP: &str =
    "real/caiso/oasis_singlezip_PRC_LMP_DAM_ALL_APNODES_20200101.zip";
pub(crate) const NYISO_RT: &str = "real/nyiso/lmp.csv";

/// Runs the gridlake binary built for this test run.
pub(crate) fn gridlake(args: &[&str]) -> Output {
    gridlake_in(args, None, &[])
}

pub(crate) fn gridlake_in(args: &[&str], cwd: Option<&Path>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridlake"));
    cmd.args(args).env_remove("GRIDLAKE_LAKE");
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the gridlake binary runs")
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `gridlake import DATASET FILES --lake LAKE --json`, returning the exit code and the JSON summary.
pub(crate) fn import_json(
    lake: &Path,
    dataset: &str,
    files: &[&Path],
    extra: &[&str],
) -> (i32, serde_json::Value) {
    let mut args = vec!["import", dataset];
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(files.iter().map(String::as_str));
    let lake = lake.display().to_string();
    args.extend(["--lake", &lake, "--json"]);
    args.extend(extra);
    let out = gridlake(&args);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "import printed no JSON ({e}); stdout: {}; stderr: {}",
            stdout(&out),
            stderr(&out)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// The project venv's Python, with DuckDB and pyarrow. A missing venv fails the test loudly.
pub(crate) fn python() -> PathBuf {
    let p = repo().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/python-env (scripts/test does) to install the readers the tests use",
        p.display()
    );
    p
}

/// Runs a Python snippet with the venv's interpreter; panics with its output on failure.
pub(crate) fn run_python(code: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed:\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Every file under `dir`, relative, sorted.
pub(crate) fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// Files of one table (no `_gridlake`).
pub(crate) fn table_files(lake: &Path, dataset: &str) -> Vec<String> {
    tree(&lake.join(dataset))
}

pub(crate) fn read_parquet(
    path: &Path,
) -> (
    Vec<RecordBatch>,
    Option<Vec<parquet::file::metadata::KeyValue>>,
) {
    let bytes = bytes::Bytes::from(std::fs::read(path).unwrap());
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    let kv = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (batches, kv)
}

pub(crate) fn footer_value(
    kv: &Option<Vec<parquet::file::metadata::KeyValue>>,
    key: &str,
) -> Option<String> {
    kv.as_ref()?
        .iter()
        .find(|e| e.key == key)
        .and_then(|e| e.value.clone())
}

pub(crate) fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// The day states the ledger API reports for `dataset` over an inclusive range.
pub(crate) fn day_states(
    lake: &Path,
    dataset: &str,
    start: &str,
    end: &str,
) -> Vec<gridlake_lake::DayStatus> {
    let d = |s: &str| {
        gridlake_schema::date_to_day(chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let lake = gridlake_lake::Lake::open_local(lake).await.unwrap();
        lake.ledger()
            .day_statuses(dataset, d(start), d(end))
            .await
            .unwrap()
    })
}

/// Writes `text` to `dir/name` and returns the path.
pub(crate) fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub(crate) const CAISO_HEADER: &str = "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,NODE_ID_XML,NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,MW,GROUP";

/// One CAISO PRC_LMP row in the real OASIS layout.
pub(crate) fn caiso_row(
    start: chrono::DateTime<chrono::Utc>,
    opr_dt: &str,
    hr: u32,
    node: &str,
    lmp_type: &str,
    price: f64,
) -> String {
    let item = match lmp_type {
        "LMP" => "LMP_PRC",
        "MCC" => "LMP_CONG_PRC",
        "MCE" => "LMP_ENE_PRC",
        _ => "LMP_LOSS_PRC",
    };
    let end = start + chrono::Duration::hours(1);
    let f = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S-00:00").to_string();
    format!(
        "{},{},{opr_dt},{hr},0,{node},{node},{node},DAM,{lmp_type},{item},{node},ALL,1,{price},1",
        f(start),
        f(end)
    )
}
