//! [`InstrumentedStore`]: counts the requests a lake makes, by kind, so tests and benchmarks can assert
//! request budgets (a `gaps` over ten years must not cost a request per day).

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result, UploadPart,
};

/// Keys one S3 LIST request returns at most (`max-keys` default): a listing of N keys is
/// ⌈N / 1000⌉ requests, at least one. The wrapper sees a stream, not pages, so it counts pages this way.
pub const LIST_PAGE_KEYS: u64 = 1000;

/// Request counts by kind. A LIST counts the pages S3 would serve (see [`LIST_PAGE_KEYS`]); a multipart
/// upload counts one PUT per part plus one for the completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// LIST pages.
    pub list: u64,
    /// GETs (whole or ranged).
    pub get: u64,
    /// PUTs (plain or conditional, parts and completions).
    pub put: u64,
    /// HEADs.
    pub head: u64,
    /// DELETEs (one per object).
    pub delete: u64,
    /// COPYs (a rename is a COPY plus a DELETE on S3; counted here as one COPY and one DELETE whatever
    /// the store does underneath).
    pub copy: u64,
}

impl RequestCounts {
    /// All requests.
    pub fn total(&self) -> u64 {
        self.list + self.get + self.put + self.head + self.delete + self.copy
    }
}

impl fmt::Display for RequestCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LIST {} GET {} PUT {} HEAD {} DELETE {} COPY {}",
            self.list, self.get, self.put, self.head, self.delete, self.copy
        )
    }
}

#[derive(Debug, Default)]
struct Counters {
    list: AtomicU64,
    get: AtomicU64,
    put: AtomicU64,
    head: AtomicU64,
    delete: AtomicU64,
    copy: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Wraps any store and counts its requests; behaviour is unchanged. Cheap to clone: clones share counts.
#[derive(Debug, Clone)]
pub struct InstrumentedStore {
    inner: Arc<dyn ObjectStore>,
    counts: Arc<Counters>,
}

impl InstrumentedStore {
    /// Counts the requests made through it to `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> InstrumentedStore {
        InstrumentedStore {
            inner,
            counts: Arc::default(),
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> RequestCounts {
        let c = &self.counts;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RequestCounts {
            list: l(&c.list),
            get: l(&c.get),
            put: l(&c.put),
            head: l(&c.head),
            delete: l(&c.delete),
            copy: l(&c.copy),
        }
    }

    /// Sets every count back to zero (to measure one operation).
    pub fn reset(&self) {
        let c = &self.counts;
        for a in [&c.list, &c.get, &c.put, &c.head, &c.delete, &c.copy] {
            a.store(0, Ordering::Relaxed);
        }
    }

    fn count_list(
        &self,
        stream: BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let counts = Arc::clone(&self.counts);
        // The first page is a request even when it comes back empty; each further 1000 keys is another.
        bump(&counts.list);
        let mut seen = 0u64;
        stream
            .inspect(move |item| {
                if item.is_ok() {
                    seen += 1;
                    if seen > 1 && (seen - 1).is_multiple_of(LIST_PAGE_KEYS) {
                        bump(&counts.list);
                    }
                }
            })
            .boxed()
    }
}

impl fmt::Display for InstrumentedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instrumented({})", self.inner)
    }
}

#[derive(Debug)]
struct CountedUpload {
    inner: Box<dyn MultipartUpload>,
    counts: Arc<Counters>,
}

#[async_trait]
impl MultipartUpload for CountedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        bump(&self.counts.put);
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> Result<PutResult> {
        bump(&self.counts.put);
        self.inner.complete().await
    }

    async fn abort(&mut self) -> Result<()> {
        bump(&self.counts.delete);
        self.inner.abort().await
    }
}

#[async_trait]
impl ObjectStore for InstrumentedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        bump(&self.counts.put);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        // CreateMultipartUpload is a POST; it is counted with the PUTs that carry the data.
        bump(&self.counts.put);
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountedUpload {
            inner,
            counts: Arc::clone(&self.counts),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        bump(if options.head {
            &self.counts.head
        } else {
            &self.counts.get
        });
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        // object_store coalesces nearby ranges; without knowing how, one GET per range is the upper bound.
        for _ in ranges {
            bump(&self.counts.get);
        }
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let counts = Arc::clone(&self.counts);
        let counted = locations
            .inspect(move |p| {
                if p.is_ok() {
                    bump(&counts.delete);
                }
            })
            .boxed();
        self.inner.delete_stream(counted)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.count_list(self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.count_list(self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let r = self.inner.list_with_delimiter(prefix).await?;
        let keys = (r.objects.len() + r.common_prefixes.len()) as u64;
        self.counts
            .list
            .fetch_add(keys.div_ceil(LIST_PAGE_KEYS).max(1), Ordering::Relaxed);
        Ok(r)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        bump(&self.counts.copy);
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        bump(&self.counts.copy);
        bump(&self.counts.delete);
        self.inner.rename_opts(from, to, options).await
    }
}
