//! The lake's suites, written once over a [`Lake`] and run on local disk and on a real S3-compatible
//! server (moto, started by `gridlake-testkit`), as object_store runs its `integration.rs` on every store.

mod budget;
mod compaction;
mod faults;
mod leases;
mod suite;

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use gridlake_schema::{Catalog, Converter, Dataset, date_to_day};
use gridlake_testkit::S3Server;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::{InputRecord, Lake};

pub(crate) const DATASET: &str = "nyiso_lbmp_rt_zonal";

pub(crate) fn dataset() -> Arc<Dataset> {
    Catalog::builtin().unwrap().get(DATASET).unwrap()
}

/// 2016-02-18, the day of the real NYISO fixture.
pub(crate) fn day0() -> i32 {
    date_to_day(chrono::NaiveDate::from_ymd_opt(2016, 2, 18).unwrap())
}

/// Rows of `day0` in the real MIS layout: (ptid, minute of the day, price).
pub(crate) fn rows(rows: &[(i64, u32, f64)]) -> Vec<RecordBatch> {
    let mut csv = String::from(
        "\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\",\"Marginal Cost Losses ($/MWHr)\",\"Marginal Cost Congestion ($/MWHr)\"\n",
    );
    for (ptid, minute, price) in rows {
        csv.push_str(&format!(
            "\"02/18/2016 {:02}:{:02}:00\",\"Z{ptid}\",{ptid},{price},1.0,0.0\n",
            minute / 60,
            minute % 60
        ));
    }
    let mut conv = Converter::new(dataset(), "test.csv");
    conv.push(csv.as_bytes()).unwrap();
    let (_, days, rejects) = conv.finish().unwrap();
    assert!(rejects.is_empty(), "{rejects:?}");
    assert!(days.iter().all(|d| d.day == day0()));
    days.into_iter().map(|d| d.batch).collect()
}

pub(crate) fn input(name: &str, sha: &str, n: u64) -> InputRecord {
    InputRecord {
        name: name.to_string(),
        sha256: sha.to_string(),
        read: n,
        written: n,
        ..Default::default()
    }
}

/// (ptid, price) of every row of a day's file, in file order.
pub(crate) async fn read_day(lake: &Lake, day: i32) -> Vec<(i64, f64)> {
    use arrow::array::{Float64Array, Int64Array};
    let path = lake.partition_path(DATASET, day);
    let bytes = lake
        .store()
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let batches = crate::commit::decode_batches(bytes, &path).unwrap();
    let mut out = Vec::new();
    for b in batches {
        let p = b.column_by_name("ptid").unwrap();
        let p = p.as_any().downcast_ref::<Int64Array>().unwrap();
        let l = b.column_by_name("lbmp").unwrap();
        let l = l.as_any().downcast_ref::<Float64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.push((p.value(i), l.value(i)));
        }
    }
    out
}

/// Every object under the lake, relative to its root, sorted.
pub(crate) async fn objects(lake: &Lake) -> Vec<String> {
    use futures::TryStreamExt;
    let root = lake.path("");
    let mut out: Vec<String> = lake
        .store()
        .list(Some(&root))
        .map_ok(|m| {
            let full = m.location.to_string();
            let prefix = root.to_string();
            full.strip_prefix(&prefix)
                .map(|s| s.trim_start_matches('/').to_string())
                .unwrap_or(full)
        })
        .try_collect()
        .await
        .unwrap();
    out.sort();
    out
}

/// Puts raw bytes (to build synthetic lakes fast).
pub(crate) async fn put_raw(lake: &Lake, path: &Path, bytes: &'static [u8]) {
    lake.store()
        .put(path, Bytes::from_static(bytes).into())
        .await
        .unwrap();
}

/// A fresh lake on local disk (the temp dir lives as long as the returned guard).
pub(crate) async fn local_lake() -> (Lake, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open_local(&dir.path().join("lake")).await.unwrap();
    (lake, dir)
}

/// A fresh lake in a new bucket of `server`, under a prefix (so prefix handling is exercised too).
pub(crate) async fn s3_lake(server: &S3Server) -> Lake {
    let bucket = server.new_bucket();
    Lake::open_s3(server.builder(), &bucket, "some/prefix")
        .await
        .unwrap()
}
