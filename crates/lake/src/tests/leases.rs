//! Leases on local disk and on S3: exclusive, renewable, released, taken over once expired.

use std::time::Duration;

use gridlake_testkit::S3Server;

use super::*;
use crate::LakeError;

const LONG: Duration = Duration::from_secs(600);

async fn lease_suite(lake: &Lake) {
    let d = day0();
    let mut a = lake
        .try_lease_as("worker-a", DATASET, d, LONG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        lake.lease_path(DATASET, d)
            .to_string()
            .rsplit_once("_gridlake/")
            .unwrap()
            .1,
        "locks/nyiso_lbmp_rt_zonal/2016-02-18"
    );
    // A live lease makes another worker skip the day.
    assert!(
        lake.try_lease_as("worker-b", DATASET, d, LONG)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        lake.lease_holder(DATASET, d).await.unwrap().unwrap().owner,
        "worker-a"
    );
    // Renewal moves the expiry on and keeps it exclusive.
    let before = a.info().expires_at_ms;
    tokio::time::sleep(Duration::from_millis(5)).await;
    a.renew().await.unwrap();
    assert!(a.info().expires_at_ms > before);
    a.renew().await.unwrap();
    assert!(
        lake.try_lease_as("worker-b", DATASET, d, LONG)
            .await
            .unwrap()
            .is_none()
    );
    // Released: the next worker gets it.
    a.release().await.unwrap();
    assert!(lake.lease_holder(DATASET, d).await.unwrap().is_none());
    let b = lake
        .try_lease_as("worker-b", DATASET, d, LONG)
        .await
        .unwrap()
        .unwrap();
    b.release().await.unwrap();

    // A killed worker's lease expires and is taken over; the slow worker learns it lost the day.
    let mut slow = lake
        .try_lease_as("worker-slow", DATASET, d + 1, Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let taker = lake
        .try_lease_as("worker-c", DATASET, d + 1, LONG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        lake.lease_holder(DATASET, d + 1)
            .await
            .unwrap()
            .unwrap()
            .owner,
        "worker-c"
    );
    let err = slow.renew().await.unwrap_err();
    assert!(matches!(err, LakeError::LeaseLost { .. }), "{err}");
    // Releasing a lease that was taken over leaves the new holder's lock alone.
    slow.release().await.unwrap();
    assert_eq!(
        lake.lease_holder(DATASET, d + 1)
            .await
            .unwrap()
            .unwrap()
            .owner,
        "worker-c"
    );
    taker.release().await.unwrap();

    // Eight workers race for a free day, then for an expired one: exactly one wins each time.
    for (day, ttl_first) in [(d + 2, None), (d + 3, Some(Duration::from_millis(1)))] {
        if let Some(ttl) = ttl_first {
            lake.try_lease_as("dead", DATASET, day, ttl)
                .await
                .unwrap()
                .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let tries = (0..8).map(|i| {
            let lake = lake.clone();
            tokio::spawn(async move {
                lake.try_lease_as(&format!("racer-{i}"), DATASET, day, LONG)
                    .await
                    .unwrap()
            })
        });
        let won: Vec<_> = futures::future::join_all(tries)
            .await
            .into_iter()
            .filter_map(|r| r.unwrap())
            .collect();
        assert_eq!(won.len(), 1, "day {day}: {won:?}");
        let holder = lake.lease_holder(DATASET, day).await.unwrap().unwrap();
        assert_eq!(holder.owner, won[0].info().owner);
    }
    // Takeover on local disk moves the old lock aside; nothing of it stays.
    let left = objects(lake).await;
    assert!(!left.iter().any(|o| o.contains(".expired-")), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leases_on_local_disk() {
    let (lake, _dir) = local_lake().await;
    lease_suite(&lake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leases_on_s3() {
    let server = S3Server::start();
    let lake = s3_lake(&server).await;
    lease_suite(&lake).await;
}
