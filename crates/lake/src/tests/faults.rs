//! Injected S3 faults: a failed PUT or a lost race leaves the previous day intact and nothing partial
//! visible; a precondition failure is retried, and persistent ones end in an error the caller records.

use std::sync::Arc;

use gridlake_testkit::S3Server;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::*;
use crate::{CommitStyle, FaultyStore, LakeError};

async fn fault_suite(lake: &Lake) {
    let ds = dataset();
    let d = day0();
    lake.commit_day(
        ds.clone(),
        d,
        rows(&[(1, 0, 10.0)]),
        input("v1.csv", "v1", 1),
        "run-1",
    )
    .await
    .unwrap();
    let v1 = read_day(lake, d).await;
    let before = objects(lake).await;

    let faulty = FaultyStore::new(Arc::clone(lake.store()));
    let flaky = lake.wrap_store(|_| Arc::new(faulty.clone()));

    // A 5xx on the day's PUT (after the store's own retries): the commit fails, v1 stays, nothing added.
    faulty.fail_put(1);
    let err = flaky
        .commit_day(
            ds.clone(),
            d,
            rows(&[(2, 0, 20.0)]),
            input("v2.csv", "v2", 1),
            "run-2",
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(faulty.injected(), 1);
    assert_eq!(read_day(lake, d).await, v1);
    assert_eq!(
        objects(lake).await,
        before,
        "no partial or staged object left"
    );

    if lake.commit_style() != CommitStyle::ConditionalPut {
        // Local disk replaces a day by rename, with no condition to fail (leases keep writers apart);
        // only a first commit is conditional there (below).
        first_commit_race(lake, &faulty, &flaky).await;
        return;
    }
    // One precondition failure (another writer got there first): merged again and committed.
    faulty.precondition_failures(1);
    let c = flaky
        .commit_day(
            ds.clone(),
            d,
            rows(&[(2, 0, 20.0)]),
            input("v2.csv", "v2", 1),
            "run-3",
        )
        .await
        .unwrap();
    assert_eq!(c.rows, 2);
    assert_eq!(faulty.injected(), 2);
    assert_eq!(read_day(lake, d).await, vec![(1, 10.0), (2, 20.0)]);

    // Precondition failures every time: the commit gives up with a Conflict, the day as it was.
    faulty.precondition_failures(10);
    let err = flaky
        .commit_day(
            ds.clone(),
            d,
            rows(&[(3, 0, 30.0)]),
            input("v3.csv", "v3", 1),
            "run-4",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, LakeError::Conflict { attempts: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("lease"), "says what to do: {err}");
    assert_eq!(read_day(lake, d).await, vec![(1, 10.0), (2, 20.0)]);
    faulty.precondition_failures(0);
    first_commit_race(lake, &faulty, &flaky).await;
}

/// The first commit of a new day loses its create-if-absent race: retried on top of the winner.
async fn first_commit_race(lake: &Lake, faulty: &FaultyStore, flaky: &Lake) {
    let before = faulty.injected();
    faulty.precondition_failures(1);
    let d = day0() + 1;
    let c = flaky
        .commit_day(
            dataset(),
            d,
            rows(&[(4, 0, 40.0)]),
            input("v4.csv", "v4", 1),
            "run-5",
        )
        .await
        .unwrap();
    assert_eq!((c.rows, faulty.injected()), (1, before + 1));
    assert_eq!(read_day(lake, d).await, vec![(4, 40.0)]);
    let left = objects(lake).await;
    assert!(!left.iter().any(|o| o.contains("staging")), "{left:?}");
}

/// A multipart upload whose connection drops before completion leaves no object (S3 assembles parts
/// only on completion).
async fn dropped_multipart(store: Arc<dyn ObjectStore>, lake: &Lake) {
    let faulty = FaultyStore::new(store);
    faulty.drop_multipart_uploads();
    let path = lake.partition_path(DATASET, day0() + 9);
    let mut up = faulty.put_multipart(&path).await.unwrap();
    up.put_part(PutPayload::from(vec![7u8; 5 << 20]))
        .await
        .unwrap();
    assert!(up.complete().await.is_err());
    assert!(matches!(
        lake.store().head(&path).await,
        Err(object_store::Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn faults_on_local_disk() {
    let (lake, _dir) = local_lake().await;
    fault_suite(&lake).await;
    dropped_multipart(Arc::clone(lake.store()), &lake).await;
}

#[tokio::test]
async fn faults_on_s3() {
    let server = S3Server::start();
    let lake = s3_lake(&server).await;
    fault_suite(&lake).await;
    dropped_multipart(Arc::clone(lake.store()), &lake).await;
}
