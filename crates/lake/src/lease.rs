//! Leases: how several workers share one lake without writing the same day twice.
//!
//! ```text
//!   try_lease ─► PUT _gridlake/locks/<dataset>/<day>  (create only if absent)
//!                  ├─ created ─────────────────────────────► Some(Lease)
//!                  └─ exists ─► GET it ─┬─ live, another owner ► None (skip the day)
//!                                       └─ expired ─► PUT if-match <e_tag it had> ─┬─ ok ─► Some(Lease)
//!                                                                                  └─ lost race ─► None
//!   Lease::renew   PUT if-match <our e_tag> with a later expiry (fails with LeaseLost if taken over)
//!   Lease::release GET, and DELETE only if it is still ours
//! ```
//!
//! A lease body is JSON: owner id and expiry (UTC). The expiry is what lets another worker take over the
//! day of a worker that was killed; a live worker renews well before it (every third of the lease time).
//! Clocks of the workers must agree to well within the lease time (NTP does).
//!
//! Local disk has create-if-absent (a hard link) but no compare-and-swap on content, so a takeover there is
//! claimed by creating `_gridlake/locks/.claims/<lock>@<version>` (only one worker can) before the claimant
//! overwrites the expired lock; the lock itself never disappears, so no plain create can slip in.

use std::time::Duration;

use chrono::Utc;
use gridlake_schema::day_to_string;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, PutResult, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::error::LakeError;
use crate::layout::Lake;

/// What a lock object holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseInfo {
    /// Who holds it (host, process and a random part: unique per [`Lake::try_lease`] caller).
    pub owner: String,
    /// When it expires, UTC milliseconds since the epoch.
    pub expires_at_ms: i64,
}

impl LeaseInfo {
    fn is_live(&self, now_ms: i64) -> bool {
        self.expires_at_ms > now_ms
    }
}

/// A day this worker holds. Dropping it does not release it (release is a request, and drop cannot
/// await): call [`Lease::release`]; a forgotten lease expires by itself.
#[derive(Debug)]
pub struct Lease {
    lake: Lake,
    path: Path,
    info: LeaseInfo,
    ttl: Duration,
    version: UpdateVersion,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn expiry(ttl: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// A fresh owner id: readable (host and pid say which worker to look at) and unique (the random part).
pub fn new_owner_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_string());
    let rand = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &rand[..8])
}

fn version_of(r: &PutResult) -> UpdateVersion {
    UpdateVersion {
        e_tag: r.e_tag.clone(),
        version: r.version.clone(),
    }
}

impl Lake {
    /// `_gridlake/locks/<dataset>/<day>`.
    pub fn lease_path(&self, dataset: &str, day: i32) -> Path {
        self.path(&format!("_gridlake/locks/{dataset}/{}", day_to_string(day)))
    }

    /// Takes the lease of one day for `ttl`, under a new owner id. `None`: another worker holds a live
    /// lease on the day (skip it and report it).
    pub async fn try_lease(
        &self,
        dataset: &str,
        day: i32,
        ttl: Duration,
    ) -> Result<Option<Lease>, LakeError> {
        self.try_lease_as(&new_owner_id(), dataset, day, ttl).await
    }

    /// [`Lake::try_lease`] with a given owner id (one per worker process, so its logs and locks match).
    pub async fn try_lease_as(
        &self,
        owner: &str,
        dataset: &str,
        day: i32,
        ttl: Duration,
    ) -> Result<Option<Lease>, LakeError> {
        let path = self.lease_path(dataset, day);
        let info = LeaseInfo {
            owner: owner.to_string(),
            expires_at_ms: expiry(ttl),
        };
        // Two rounds: the lock may vanish (released) between our failed create and our read of it.
        for _ in 0..2 {
            match self.put_lease(&path, &info, PutMode::Create).await {
                Ok(Some(r)) => return Ok(Some(self.lease(path, info, ttl, &r))),
                Ok(None) => {}
                // Every store this lake runs on can create-if-absent (local disk by a hard link).
                Err(LeaseWriteError::NoUpdate) => {
                    return Err(LakeError::Format {
                        lake: self.location.clone(),
                        message: "the store cannot create an object only if it is absent, so it cannot hold leases; use a store with conditional writes".into(),
                    });
                }
                Err(LeaseWriteError::Store(e)) => return Err(e),
            }
            let Some((held, seen)) = self.read_lease(&path).await? else {
                continue;
            };
            if held.as_ref().is_some_and(|h| h.is_live(now_ms())) {
                return Ok(None);
            }
            // Expired (or unreadable, as a crash mid-write on a store without atomic PUT would leave).
            return match self
                .put_lease(&path, &info, PutMode::Update(seen.clone()))
                .await
            {
                Ok(Some(r)) => Ok(Some(self.lease(path, info, ttl, &r))),
                Ok(None) => Ok(None),
                Err(LeaseWriteError::NoUpdate) => {
                    self.take_over_by_claim(&path, &info, ttl, &seen).await
                }
                Err(LeaseWriteError::Store(e)) => Err(e),
            };
        }
        Ok(None)
    }

    fn lease(&self, path: Path, info: LeaseInfo, ttl: Duration, r: &PutResult) -> Lease {
        Lease {
            lake: self.clone(),
            path,
            info,
            ttl,
            version: version_of(r),
        }
    }

    /// Who holds the lease of a day, live or expired (`None`: nobody).
    pub async fn lease_holder(
        &self,
        dataset: &str,
        day: i32,
    ) -> Result<Option<LeaseInfo>, LakeError> {
        let path = self.lease_path(dataset, day);
        Ok(self.read_lease(&path).await?.and_then(|(info, _)| info))
    }

    /// The lock's content (`None` inside when unparsable) and version; `None` when there is no lock.
    async fn read_lease(
        &self,
        path: &Path,
    ) -> Result<Option<(Option<LeaseInfo>, UpdateVersion)>, LakeError> {
        let r = match self.store.get(path).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.err("read", path, e)),
        };
        let seen = UpdateVersion {
            e_tag: r.meta.e_tag.clone(),
            version: r.meta.version.clone(),
        };
        let bytes = match r.bytes().await {
            Ok(b) => b,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.err("read", path, e)),
        };
        Ok(Some((serde_json::from_slice(&bytes).ok(), seen)))
    }

    /// `Ok(None)`: the condition did not hold (someone else's lock is there, or it changed).
    async fn put_lease(
        &self,
        path: &Path,
        info: &LeaseInfo,
        mode: PutMode,
    ) -> Result<Option<PutResult>, LeaseWriteError> {
        let body = serde_json::to_vec(info).unwrap_or_default();
        let opts = PutOptions {
            mode,
            ..Default::default()
        };
        match self
            .store
            .put_opts(path, PutPayload::from(body), opts)
            .await
        {
            Ok(r) => Ok(Some(r)),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(None),
            Err(object_store::Error::NotImplemented { .. }) => Err(LeaseWriteError::NoUpdate),
            Err(e) => Err(LeaseWriteError::Store(self.err("write", path, e))),
        }
    }

    /// Takeover on a store without update-if-match (local disk). Moving the expired lock aside and creating a
    /// new one leaves a moment with no lock, in which a third worker's plain create wins too (two holders).
    /// Instead, the takeover of one expired version of the lock is claimed by creating a claim object named
    /// after that version: create-if-absent lets exactly one worker claim it, and only the claimant overwrites
    /// the lock, which never disappears. Claims are kept (a few bytes per takeover, which only follows a
    /// crash), so a slow worker can never claim a version that was already taken over.
    async fn take_over_by_claim(
        &self,
        path: &Path,
        info: &LeaseInfo,
        ttl: Duration,
        seen: &UpdateVersion,
    ) -> Result<Option<Lease>, LakeError> {
        let version = seen
            .e_tag
            .clone()
            .or_else(|| seen.version.clone())
            .unwrap_or_default();
        let lock_name = path.as_ref().replace('/', "~");
        let claim = self.path(&format!("_gridlake/locks/.claims/{lock_name}@{version}"));
        match self.put_lease(&claim, info, PutMode::Create).await {
            Ok(Some(_)) => {}
            Ok(None) | Err(LeaseWriteError::NoUpdate) => return Ok(None),
            Err(LeaseWriteError::Store(e)) => return Err(e),
        }
        // The lock must still be the version judged expired (its holder did not renew in between).
        match self.read_lease(path).await? {
            Some((_, now)) if now == *seen => {}
            _ => return Ok(None),
        }
        match self.put_lease(path, info, PutMode::Overwrite).await {
            Ok(Some(r)) => Ok(Some(self.lease(path.clone(), info.clone(), ttl, &r))),
            Ok(None) | Err(LeaseWriteError::NoUpdate) => Ok(None),
            Err(LeaseWriteError::Store(e)) => Err(e),
        }
    }
}

enum LeaseWriteError {
    /// The store cannot update-if-match.
    NoUpdate,
    Store(LakeError),
}

impl Lease {
    /// The lock object.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Owner id and current expiry.
    pub fn info(&self) -> &LeaseInfo {
        &self.info
    }

    /// How often to renew: a third of the lease time, so two renewals can fail before it expires.
    pub fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    /// Extends the lease by its lease time from now. [`LakeError::LeaseLost`] when another worker took
    /// it over (this worker was too slow to renew): stop working on the day.
    pub async fn renew(&mut self) -> Result<(), LakeError> {
        let info = LeaseInfo {
            owner: self.info.owner.clone(),
            expires_at_ms: expiry(self.ttl),
        };
        let lake = &self.lake;
        match lake
            .put_lease(&self.path, &info, PutMode::Update(self.version.clone()))
            .await
        {
            Ok(Some(r)) => {
                self.version = version_of(&r);
                self.info = info;
                Ok(())
            }
            Ok(None) => Err(self.lost()),
            Err(LeaseWriteError::Store(e)) => Err(e),
            Err(LeaseWriteError::NoUpdate) => {
                // Local disk: check ownership, then overwrite. Nobody takes over a lease before it
                // expires, and we renew long before that, so the gap between check and write is safe.
                let current = lake.read_lease(&self.path).await?.and_then(|(i, _)| i);
                if current.as_ref().map(|c| &c.owner) != Some(&self.info.owner) {
                    return Err(self.lost());
                }
                match lake.put_lease(&self.path, &info, PutMode::Overwrite).await {
                    Ok(Some(r)) => {
                        self.version = version_of(&r);
                        self.info = info;
                        Ok(())
                    }
                    Ok(None) | Err(LeaseWriteError::NoUpdate) => Err(self.lost()),
                    Err(LeaseWriteError::Store(e)) => Err(e),
                }
            }
        }
    }

    /// Gives the day back: deletes the lock if it is still ours (a lock taken over is left alone).
    pub async fn release(self) -> Result<(), LakeError> {
        let lake = &self.lake;
        let current = lake.read_lease(&self.path).await?.and_then(|(i, _)| i);
        if current.as_ref().map(|c| &c.owner) != Some(&self.info.owner) {
            return Ok(());
        }
        match lake.store.delete(&self.path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(lake.err("delete", &self.path, e)),
        }
    }

    fn lost(&self) -> LakeError {
        LakeError::LeaseLost {
            lake: self.lake.location.clone(),
            path: self.path.to_string(),
            owner: self.info.owner.clone(),
        }
    }
}
