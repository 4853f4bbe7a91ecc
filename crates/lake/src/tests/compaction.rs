//! The ledger's layout (one folder per dataset), reading the flat layout of older lakes, and
//! `compact`: records unchanged as `records()` and `day_statuses()` see them, idempotent, safe against
//! an interrupted compaction, a concurrent append, a concurrent compaction and concurrent readers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result as OsResult,
};

use super::*;
use crate::{DayState, DayStatus, InstrumentedStore, LedgerRecord, RequestCounts};

const OTHER: &str = "caiso_lmp_dam";

fn rec(dataset: &str, day: i32, state: DayState, run: &str, at: i64) -> LedgerRecord {
    LedgerRecord {
        run_id: run.into(),
        dataset: dataset.into(),
        day,
        state,
        rows: if state == DayState::Failed { 0 } else { 10 },
        expected_rows: Some(10),
        records_read: 10,
        records_written: 10,
        records_rejected: 0,
        records_superseded: 0,
        bytes: 1,
        inputs: vec![format!("{run}.csv")],
        error: (state == DayState::Failed).then(|| "HTTP 503".to_string()),
        recorded_at: at,
        duration_ms: 1,
    }
}

/// `runs` runs over both datasets: run i records days d..d+3 of each, some failed.
async fn history(lake: &Lake, runs: i64) {
    let d = day0();
    for i in 0..runs {
        let state = if i % 3 == 1 {
            DayState::Failed
        } else {
            DayState::Complete
        };
        let run = format!("run-{i}");
        let recs: Vec<LedgerRecord> = (0..3)
            .flat_map(|k| {
                [
                    rec(DATASET, d + k, state, &run, i * 10 + i64::from(k)),
                    rec(
                        OTHER,
                        d + k,
                        DayState::Complete,
                        &run,
                        i * 10 + i64::from(k),
                    ),
                ]
            })
            .collect();
        lake.ledger().append(&recs).await.unwrap();
    }
}

async fn statuses(lake: &Lake, dataset: &str) -> Vec<DayStatus> {
    let d = day0();
    lake.ledger()
        .day_statuses(dataset, d - 1, d + 4)
        .await
        .unwrap()
}

/// Everything a reader sees: all records, each dataset's records and day states.
async fn seen(
    lake: &Lake,
) -> (
    Vec<LedgerRecord>,
    Vec<LedgerRecord>,
    Vec<DayStatus>,
    Vec<DayStatus>,
) {
    let ledger = lake.ledger();
    (
        ledger.records(None).await.unwrap(),
        ledger.records(Some(DATASET)).await.unwrap(),
        statuses(lake, DATASET).await,
        statuses(lake, OTHER).await,
    )
}

fn ledger_objects(all: &[String]) -> Vec<String> {
    all.iter()
        .filter_map(|o| o.strip_prefix("_gridlake/ledger/"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn appends_go_to_their_dataset_folder() {
    let (lake, _dir) = local_lake().await;
    history(&lake, 2).await;
    let files = ledger_objects(&objects(&lake).await);
    assert_eq!(files.len(), 4, "{files:?}");
    assert_eq!(
        files
            .iter()
            .filter(|f| f.starts_with(&format!("dataset={DATASET}/")))
            .count(),
        2,
        "{files:?}"
    );
    assert!(files.iter().all(|f| f.starts_with("dataset=")), "{files:?}");
    let records = lake.ledger().records(Some(DATASET)).await.unwrap();
    assert_eq!(records.len(), 6);
    assert!(records.iter().all(|r| r.dataset == DATASET));
    assert_eq!(lake.ledger().records(None).await.unwrap().len(), 12);
}

/// Reading one dataset never GETs another dataset's record files (issue #7).
#[tokio::test]
async fn one_dataset_reads_only_its_own_files() {
    let (lake, _dir) = local_lake().await;
    history(&lake, 5).await;
    let counted = InstrumentedStore::new(Arc::clone(lake.store()));
    let probe = lake.wrap_store(|_| Arc::new(counted.clone()));
    assert_eq!(
        probe.ledger().records(Some(DATASET)).await.unwrap().len(),
        15
    );
    // A LIST of the ledger's top level (old flat files) and one of the dataset folder; 5 GETs, not 10.
    assert_eq!(
        counted.counts(),
        RequestCounts {
            list: 2,
            get: 5,
            ..Default::default()
        }
    );
    probe.ledger().compact(DATASET).await.unwrap();
    counted.reset();
    assert_eq!(
        probe.ledger().records(Some(DATASET)).await.unwrap().len(),
        15
    );
    assert_eq!(
        counted.counts(),
        RequestCounts {
            list: 2,
            get: 1,
            ..Default::default()
        }
    );
}

/// A process that reads the ledger again (a shell session, query after query) GETs only the files it has
/// not decoded yet, and sees exactly what a fresh reader sees, through appends and a compaction.
#[tokio::test]
async fn a_second_read_gets_only_new_ledger_files() {
    let (lake, _dir) = local_lake().await;
    history(&lake, 4).await;
    let counted = InstrumentedStore::new(Arc::clone(lake.store()));
    let probe = lake.wrap_store(|_| Arc::new(counted.clone()));
    let gets = |c: &InstrumentedStore| c.counts().get;
    let first = seen(&probe).await;
    assert!(gets(&counted) > 0);
    counted.reset();
    assert_eq!(seen(&probe).await, first);
    assert_eq!(gets(&counted), 0, "every file was decoded before");

    history(&lake, 1).await; // one new file per dataset, written by another lake handle
    counted.reset();
    let after_append = seen(&probe).await;
    assert_eq!(gets(&counted), 2, "only the two new files");
    assert_eq!(after_append.0.len(), first.0.len() + 6);
    let fresh = lake.wrap_store(|s| s);
    assert_eq!(seen(&fresh).await, after_append);

    lake.ledger().compact_all().await.unwrap();
    counted.reset();
    assert_eq!(seen(&probe).await, after_append);
    assert_eq!(gets(&counted), 2, "only the two compacted files");
    // Files folded away are forgotten: the cache holds what the ledger lists now.
    assert_eq!(probe.ledger_cache.len(), 2);
}

/// Run files and compacted files are written uncompressed (small files read whole, where a zstd decoder per
/// column chunk cost more than the bytes saved).
#[tokio::test]
async fn ledger_files_are_written_uncompressed() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let (lake, dir) = local_lake().await;
    history(&lake, 2).await;
    lake.ledger().compact(DATASET).await.unwrap();
    let files: Vec<String> = ledger_objects(&objects(&lake).await);
    assert!(files.iter().any(|f| f.contains("compacted-")), "{files:?}");
    assert!(files.iter().any(|f| !f.contains("compacted-")), "{files:?}");
    for f in &files {
        let path = dir.path().join("lake/_gridlake/ledger").join(f);
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        for rg in reader.metadata().row_groups() {
            for c in rg.columns() {
                assert_eq!(
                    c.compression(),
                    parquet::basic::Compression::UNCOMPRESSED,
                    "{f}"
                );
            }
        }
    }
}

#[tokio::test]
async fn compact_keeps_every_record_and_is_idempotent() {
    let (lake, _dir) = local_lake().await;
    history(&lake, 7).await;
    let before = seen(&lake).await;
    let out = lake.ledger().compact(DATASET).await.unwrap();
    assert_eq!((out.files_folded, out.records, out.raced), (7, 21, false));
    assert!(out.compacted.is_some());
    assert_eq!(seen(&lake).await, before);
    let files = ledger_objects(&objects(&lake).await);
    let mine: Vec<&String> = files
        .iter()
        .filter(|f| f.starts_with(&format!("dataset={DATASET}/")))
        .collect();
    assert_eq!(
        mine,
        [&format!(
            "dataset={DATASET}/compacted-00000000000000000001.parquet"
        )]
    );
    // The other dataset is untouched.
    assert_eq!(files.len(), 8, "{files:?}");
    // Again: nothing to fold, nothing written.
    let again = lake.ledger().compact(DATASET).await.unwrap();
    assert_eq!((again.files_folded, again.compacted), (0, None));
    assert_eq!(ledger_objects(&objects(&lake).await), files);
    // New runs, then a second generation folding the first.
    history(&lake, 2).await;
    let before = seen(&lake).await;
    let out = lake.ledger().compact(DATASET).await.unwrap();
    assert_eq!((out.files_folded, out.records), (3, 27));
    assert_eq!(seen(&lake).await, before);
    // Every dataset at once.
    let all = lake.ledger().compact_all().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(seen(&lake).await, before);
    assert_eq!(ledger_objects(&objects(&lake).await).len(), 2);
}

/// A lake written before dataset folders: its flat files are read (alone or next to new folders), and
/// `compact_all` migrates them.
#[tokio::test]
async fn the_flat_layout_is_read_and_migrated() {
    let (lake, _dir) = local_lake().await;
    let d = day0();
    let ledger = lake.ledger();
    ledger
        .append_flat(
            "20240101T000000000000-aaaaaaaa",
            &[
                rec(DATASET, d, DayState::Failed, "old-1", -2),
                rec(OTHER, d, DayState::Complete, "old-1", -2),
            ],
        )
        .await;
    ledger
        .append_flat(
            "20240102T000000000000-bbbbbbbb",
            &[rec(OTHER, d + 1, DayState::Complete, "old-2", -1)],
        )
        .await;
    assert_eq!(ledger.records(Some(DATASET)).await.unwrap().len(), 1);
    assert_eq!(ledger.records(Some(OTHER)).await.unwrap().len(), 2);
    // New runs write folders; old and new records read together, in time order.
    history(&lake, 2).await;
    let before = seen(&lake).await;
    assert_eq!(before.0.len(), 3 + 12);
    assert_eq!(before.1.len(), 1 + 6);
    assert_eq!(before.1[0].run_id, "old-1");
    // One dataset compacted: the flat files stay (the other dataset still needs them), are not read twice.
    lake.ledger().compact(DATASET).await.unwrap();
    assert_eq!(seen(&lake).await, before);
    let counted = InstrumentedStore::new(Arc::clone(lake.store()));
    let probe = lake.wrap_store(|_| Arc::new(counted.clone()));
    probe.ledger().records(Some(DATASET)).await.unwrap();
    // The compacted file names both flat files: one GET in all.
    assert_eq!(counted.counts().get, 1);
    // Migration.
    let out = lake.ledger().compact_all().await.unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(seen(&lake).await, before);
    let files = ledger_objects(&objects(&lake).await);
    assert!(files.iter().all(|f| f.starts_with("dataset=")), "{files:?}");
    assert_eq!(files.len(), 2, "{files:?}");
    // sync's automatic compaction: nothing due now.
    assert!(lake.ledger().compact_if_needed(2).await.unwrap().is_empty());
}

/// A compaction that died after writing its file but before deleting what it folded: readers see each
/// record once, and the next compaction clears the leftovers.
#[tokio::test]
async fn an_interrupted_compaction_never_shows_records_twice() {
    let (lake, _dir) = local_lake().await;
    history(&lake, 4).await;
    let before = seen(&lake).await;
    // Keep the files the compaction will delete, and put them back after it.
    let mut kept = Vec::new();
    for o in objects(&lake).await {
        if o.starts_with(&format!("_gridlake/ledger/dataset={DATASET}/")) {
            let path = lake.path(&o);
            let bytes = lake
                .store()
                .get(&path)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            kept.push((path, bytes));
        }
    }
    lake.ledger().compact(DATASET).await.unwrap();
    for (path, bytes) in &kept {
        lake.store().put(path, bytes.clone().into()).await.unwrap();
    }
    assert_eq!(seen(&lake).await, before);
    // A second generation folds the first and the leftovers.
    let out = lake.ledger().compact(DATASET).await.unwrap();
    assert_eq!(out.files_folded, 5);
    assert_eq!(seen(&lake).await, before);
    let mine = ledger_objects(&objects(&lake).await)
        .into_iter()
        .filter(|f| f.starts_with(&format!("dataset={DATASET}/")))
        .count();
    assert_eq!(mine, 1);
}

/// Appends just before the compacted file lands: another writer's run record, made while the compaction
/// read and merged (exactly the window where it could be lost).
#[derive(Debug)]
struct AppendBeforeCompactedPut {
    inner: Arc<dyn ObjectStore>,
    lake: Lake,
    fired: AtomicBool,
}

impl std::fmt::Display for AppendBeforeCompactedPut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppendBeforeCompactedPut({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for AppendBeforeCompactedPut {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> OsResult<PutResult> {
        if matches!(opts.mode, PutMode::Create)
            && location.as_ref().contains("compacted-")
            && !self.fired.swap(true, Ordering::SeqCst)
        {
            let late = rec(DATASET, day0() + 9, DayState::Complete, "late", 1_000);
            self.lake.ledger().append(&[late]).await.unwrap();
        }
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> OsResult<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(&self, location: &Path, options: GetOptions) -> OsResult<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, OsResult<Path>>,
    ) -> BoxStream<'static, OsResult<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, OsResult<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> OsResult<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> OsResult<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

async fn append_during_compaction_is_kept(lake: Lake) {
    history(&lake, 3).await;
    let before = lake.ledger().records(Some(DATASET)).await.unwrap();
    let hooked = lake.wrap_store(|inner| {
        Arc::new(AppendBeforeCompactedPut {
            inner,
            lake: lake.clone(),
            fired: AtomicBool::new(false),
        })
    });
    let out = hooked.ledger().compact(DATASET).await.unwrap();
    assert_eq!(out.records, before.len(), "the late record is not folded");
    let after = lake.ledger().records(Some(DATASET)).await.unwrap();
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after[..before.len()], before[..]);
    assert_eq!(after.last().unwrap().run_id, "late");
    // The next compaction folds it.
    let out = lake.ledger().compact(DATASET).await.unwrap();
    assert_eq!((out.files_folded, out.records), (2, before.len() + 1));
    assert_eq!(lake.ledger().records(Some(DATASET)).await.unwrap(), after);
}

#[tokio::test]
async fn an_append_during_compaction_is_kept_on_local_disk() {
    let (lake, _dir) = local_lake().await;
    append_during_compaction_is_kept(lake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_append_during_compaction_is_kept_on_s3() {
    let server = S3Server::start();
    append_during_compaction_is_kept(s3_lake(&server).await).await;
}

/// Compactions, appends and reads all at once: every read sees each record once, none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_compactions_appends_and_reads_agree() {
    let (lake, _dir) = local_lake().await;
    history(&lake, 4).await;
    let base = lake.ledger().records(Some(DATASET)).await.unwrap().len();
    for round in 0..4i64 {
        let compactions = (0..3).map(|_| {
            let lake = lake.clone();
            tokio::spawn(async move { lake.ledger().compact(DATASET).await.unwrap() })
        });
        let appends = (0..3i64).map(|k| {
            let lake = lake.clone();
            tokio::spawn(async move {
                let r = rec(
                    DATASET,
                    day0(),
                    DayState::Complete,
                    "more",
                    10_000 + round * 10 + k,
                );
                lake.ledger().append(&[r]).await.unwrap();
            })
        });
        let reads = (0..3).map(|_| {
            let lake = lake.clone();
            tokio::spawn(async move { lake.ledger().records(Some(DATASET)).await.unwrap() })
        });
        let compactions: Vec<_> = compactions.collect();
        let appends: Vec<_> = appends.collect();
        let reads: Vec<_> = reads.collect();
        for c in compactions {
            c.await.unwrap();
        }
        for a in appends {
            a.await.unwrap();
        }
        for r in reads {
            let seen = r.await.unwrap();
            // Each read sees the base records once, plus some of this round's appends, each once.
            let mut keys: Vec<(String, i64)> = seen
                .iter()
                .map(|r| (r.run_id.clone(), r.recorded_at))
                .collect();
            let n = keys.len();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), n, "a record seen twice");
            assert!(n >= base + usize::try_from(round * 3).unwrap());
        }
        let all = lake.ledger().records(Some(DATASET)).await.unwrap();
        assert_eq!(all.len(), base + usize::try_from((round + 1) * 3).unwrap());
    }
}
