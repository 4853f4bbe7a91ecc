//! [`FaultyStore`]: injects the failures S3 produces (a 5xx on a PUT, a precondition failure, an upload
//! whose connection drops) so the commit protocol's promises can be tested: a failed write leaves the
//! previous object as it was, and nothing partial ever becomes visible.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    RenameTargetMode, Result, UploadPart,
};

const STORE: &str = "FaultyStore";

#[derive(Debug, Default)]
struct Faults {
    /// PUTs seen so far (1-based numbering for `fail_put`).
    puts: AtomicU64,
    /// The PUT numbers that fail (bit i = PUT i+1, up to 64).
    fail_puts: AtomicU64,
    /// Conditional PUTs still to answer with a precondition failure.
    preconditions: AtomicU64,
    /// Whether multipart uploads lose their connection before completing.
    drop_multipart: AtomicBool,
    /// Faults injected so far.
    injected: AtomicU64,
}

/// Wraps a store and makes chosen requests fail. Cheap to clone: clones share the fault plan.
#[derive(Debug, Clone)]
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    faults: Arc<Faults>,
}

impl FaultyStore {
    /// Passes everything through until faults are planned.
    pub fn new(inner: Arc<dyn ObjectStore>) -> FaultyStore {
        FaultyStore {
            inner,
            faults: Arc::default(),
        }
    }

    /// The `n`th PUT from now on (1-based, at most 64) fails as S3's `503 Slow Down` would, after the
    /// store's own retries gave up: nothing is written.
    pub fn fail_put(&self, n: u64) -> &Self {
        let seen = self.faults.puts.load(Ordering::SeqCst);
        let bit = (seen + n).saturating_sub(1);
        if (1..=64).contains(&n) && bit < 64 {
            self.faults.fail_puts.fetch_or(1 << bit, Ordering::SeqCst);
        }
        self
    }

    /// The next `k` conditional writes (PUT create-if-absent or update-if-match, rename or copy
    /// create-if-absent) are refused as if another writer had got there first: `AlreadyExists` for a
    /// create, `Precondition` for an update. Nothing is written.
    pub fn precondition_failures(&self, k: u64) -> &Self {
        self.faults.preconditions.store(k, Ordering::SeqCst);
        self
    }

    /// Multipart uploads send their parts, then the connection drops before the completion: the
    /// upload is aborted and `complete` fails.
    pub fn drop_multipart_uploads(&self) -> &Self {
        self.faults.drop_multipart.store(true, Ordering::SeqCst);
        self
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> u64 {
        self.faults.injected.load(Ordering::SeqCst)
    }

    /// Whether to refuse this conditional write (and count it).
    fn take_precondition(&self) -> bool {
        let hit = self
            .faults
            .preconditions
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |k| k.checked_sub(1))
            .is_ok();
        if hit {
            self.faults.injected.fetch_add(1, Ordering::SeqCst);
        }
        hit
    }

    fn already_exists(path: &Path) -> object_store::Error {
        object_store::Error::AlreadyExists {
            path: path.to_string(),
            source: "412 Precondition Failed (injected fault)".into(),
        }
    }

    fn injected_error(&self, what: &str) -> object_store::Error {
        self.faults.injected.fetch_add(1, Ordering::SeqCst);
        object_store::Error::Generic {
            store: STORE,
            source: format!("{what} (injected fault)").into(),
        }
    }
}

impl fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Faulty({})", self.inner)
    }
}

#[derive(Debug)]
struct DroppedUpload {
    inner: Box<dyn MultipartUpload>,
    store: FaultyStore,
}

#[async_trait]
impl MultipartUpload for DroppedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> Result<PutResult> {
        // The parts are on the server but were never assembled: S3 shows no object until completion.
        let _ = self.inner.abort().await;
        Err(self
            .store
            .injected_error("connection reset before CompleteMultipartUpload"))
    }

    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let n = self.faults.puts.fetch_add(1, Ordering::SeqCst);
        if n < 64 && self.faults.fail_puts.load(Ordering::SeqCst) & (1 << n) != 0 {
            return Err(self.injected_error("503 Slow Down on PUT"));
        }
        let conditional = !matches!(opts.mode, PutMode::Overwrite);
        if conditional && self.take_precondition() {
            return Err(match opts.mode {
                PutMode::Create => Self::already_exists(location),
                _ => object_store::Error::Precondition {
                    path: location.to_string(),
                    source: "412 Precondition Failed (injected fault)".into(),
                },
            });
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        if self.faults.drop_multipart.load(Ordering::SeqCst) {
            return Ok(Box::new(DroppedUpload {
                inner,
                store: self.clone(),
            }));
        }
        Ok(inner)
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        if matches!(options.mode, CopyMode::Create) && self.take_precondition() {
            return Err(Self::already_exists(to));
        }
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        if matches!(options.target_mode, RenameTargetMode::Create) && self.take_precondition() {
            return Err(Self::already_exists(to));
        }
        self.inner.rename_opts(from, to, options).await
    }
}
