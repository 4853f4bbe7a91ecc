//! Putting a whole object in place atomically: the one place where local disk and S3 differ.
//!
//! ```text
//!   StageAndRename (local)   PUT _gridlake/staging/<uuid>-<what>.staged ─► rename onto the final name
//!                            (rename-if-not-exists when the writer saw no file: a first commit never
//!                            overwrites a concurrent first commit)
//!   ConditionalPut (S3)      one PUT to the final key: If-None-Match: * when the writer saw no object,
//!                            If-Match: <e_tag> when it read one; a store that cannot do either gets a
//!                            plain PUT (still atomic, not guarded: leases are then the only guard)
//! ```
//!
//! One PUT, not a multipart upload: object_store only offers the conditional modes on `put_opts`, and a
//! single S3 PUT takes up to 5 GiB, far above a day's file. A failed PUT leaves the old object as it was.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{
    ObjectStoreExt, PutMode, PutOptions, PutPayload, PutResult, RenameOptions, RenameTargetMode,
    UpdateVersion,
};

use crate::error::LakeError;
use crate::layout::{CommitStyle, Lake};

/// Largest object one S3 PUT takes.
const MAX_SINGLE_PUT: usize = 5 << 30;

/// What the writer saw at the final key before it wrote: the swap only succeeds if that still holds.
#[derive(Debug, Clone)]
pub(crate) enum Expect {
    /// Replace whatever is there (rejects: same input, same content; the last writer wins harmlessly).
    Anything,
    /// Nothing was there.
    Absent,
    /// This version was there.
    Version(UpdateVersion),
}

/// Why a swap did not happen.
#[derive(Debug)]
pub(crate) enum SwapError {
    /// Someone else changed the object since the writer read it: read, merge and try again.
    Conflict,
    /// Any other failure (the old object is untouched).
    Failed(LakeError),
}

impl Lake {
    /// Puts `bytes` at `path` as one atomic step, guarded by `expect`.
    pub(crate) async fn swap_in(
        &self,
        path: &Path,
        bytes: Bytes,
        expect: Expect,
    ) -> Result<PutResult, SwapError> {
        if bytes.len() > MAX_SINGLE_PUT {
            return Err(SwapError::Failed(LakeError::Format {
                lake: self.location.clone(),
                message: format!(
                    "`{path}` would be {} bytes, more than one PUT takes (5 GiB); split the dataset by a finer key",
                    bytes.len()
                ),
            }));
        }
        // Named like the ingest's `phase:` events: the crash harness reports which step its kills hit.
        tracing::debug!(%path, len = bytes.len(), "phase: publish");
        match self.commit_style {
            CommitStyle::StageAndRename => self.stage_and_rename(path, bytes, &expect).await,
            CommitStyle::ConditionalPut => self.conditional_put(path, bytes, expect).await,
        }
    }

    async fn stage_and_rename(
        &self,
        path: &Path,
        bytes: Bytes,
        expect: &Expect,
    ) -> Result<PutResult, SwapError> {
        let staged = self.staging_path("part");
        self.store
            .put(&staged, PutPayload::from(bytes))
            .await
            .map_err(|e| SwapError::Failed(self.err("write", &staged, e)))?;
        // Local disk has no compare-and-swap on content; "only if absent" is the part it can do (a hard
        // link), and it is the race that matters: two first commits of one day.
        let target_mode = match expect {
            Expect::Absent => RenameTargetMode::Create,
            Expect::Anything | Expect::Version(_) => RenameTargetMode::Overwrite,
        };
        let opts = RenameOptions {
            target_mode,
            ..Default::default()
        };
        match self.store.rename_opts(&staged, path, opts).await {
            Ok(()) => Ok(PutResult {
                e_tag: None,
                version: None,
            }),
            Err(e) => {
                let _ = self.store.delete(&staged).await;
                match e {
                    object_store::Error::AlreadyExists { .. } => Err(SwapError::Conflict),
                    e => Err(SwapError::Failed(self.err("rename", path, e))),
                }
            }
        }
    }

    async fn conditional_put(
        &self,
        path: &Path,
        bytes: Bytes,
        expect: Expect,
    ) -> Result<PutResult, SwapError> {
        let payload = PutPayload::from(bytes);
        let mode = match expect {
            Expect::Anything => PutMode::Overwrite,
            Expect::Absent => PutMode::Create,
            // S3 compares e_tags; a version-only answer (no e_tag) cannot be compared there, so it is
            // sent as is and the store says what it can do.
            Expect::Version(v) => PutMode::Update(v),
        };
        let conditional = !matches!(mode, PutMode::Overwrite);
        let opts = PutOptions {
            mode,
            ..Default::default()
        };
        match self.store.put_opts(path, payload.clone(), opts).await {
            Ok(r) => Ok(r),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Err(SwapError::Conflict),
            Err(object_store::Error::NotImplemented { .. }) if conditional => {
                tracing::debug!(
                    lake = %self.location,
                    "store has no conditional put; writing {path} unconditionally"
                );
                self.store
                    .put(path, payload)
                    .await
                    .map_err(|e| SwapError::Failed(self.err("write", path, e)))
            }
            Err(e) => Err(SwapError::Failed(self.err("write", path, e))),
        }
    }
}
