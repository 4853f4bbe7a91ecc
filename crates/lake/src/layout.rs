//! Where things live in a lake, and opening one.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::error::LakeError;
use gridlake_schema::day_to_string;

/// The layout version this gridlake writes and reads.
pub const LAKE_FORMAT_VERSION: u32 = 1;

/// The file name of every partition: fixed, so a rerun replaces rather than adds.
pub(crate) const PART_FILE: &str = "part-0.parquet";

/// `_gridlake/lake.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LakeInfo {
    /// Layout version.
    pub format_version: u32,
    /// The gridlake that created the lake.
    pub created_by: String,
    /// When (RFC 3339, UTC).
    pub created_at: String,
}

/// How a day's new file replaces the old one atomically: the one place local disk and S3 differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommitStyle {
    /// Write under `_gridlake/staging/`, then rename onto the final name. For local disk, where a rename is
    /// atomic and free, and where object_store's own PUT would stage a `part-0.parquet#N` file *inside*
    /// the table folder (pyarrow would read it).
    StageAndRename,
    /// One PUT straight to the final key, conditional on what was read: `PutMode::Create` for a day's first
    /// file, `PutMode::Update` (the e_tag/version read before) for a replacement. For S3 and other object
    /// stores, where a PUT is atomic (never visible partially) and a rename is a copy plus a delete.
    ConditionalPut,
}

/// A lake over an object store.
#[derive(Clone)]
pub struct Lake {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) root: Path,
    pub(crate) location: String,
    pub(crate) commit_style: CommitStyle,
    /// Ledger files already decoded, shared by the clones of this lake (see [`crate::ledger`]).
    pub(crate) ledger_cache: crate::ledger::DecodedCache,
    /// The directory of a lake on local disk, for [`Lake::partition_days`]' direct scan; `None` on other
    /// stores and behind a store wrapper (whose requests must all go through it).
    pub(crate) local_dir: Option<std::path::PathBuf>,
}

// By hand: the location says which lake it is; the store's own Debug is long, and a store is the one thing
// here that could carry credentials (object_store redacts its own, a wrapper might not).
impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake")
            .field("location", &self.location)
            .field("commit_style", &self.commit_style)
            .finish_non_exhaustive()
    }
}

impl Lake {
    /// Opens (creating if needed) a lake in a local directory.
    pub async fn open_local(dir: &std::path::Path) -> Result<Lake, LakeError> {
        std::fs::create_dir_all(dir).map_err(|source| LakeError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|source| LakeError::Store {
            lake: dir.display().to_string(),
            op: "open",
            path: String::new(),
            source: Box::new(source),
        })?;
        let lake = Lake {
            store: Arc::new(store),
            root: Path::default(),
            location: dir.display().to_string(),
            commit_style: CommitStyle::StageAndRename,
            ledger_cache: Default::default(),
            local_dir: Some(dir.to_path_buf()),
        };
        lake.init().await?;
        Ok(lake)
    }

    /// A lake under `root` of an existing object store (S3, memory), committing by conditional PUT.
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        root: Path,
        location: impl Into<String>,
    ) -> Result<Lake, LakeError> {
        let lake = Lake {
            store,
            root,
            location: location.into(),
            commit_style: CommitStyle::ConditionalPut,
            ledger_cache: Default::default(),
            local_dir: None,
        };
        lake.init().await?;
        Ok(lake)
    }

    /// The same lake seen through a wrapper of its store (request counting, fault injection): root,
    /// location and commit style stay; the ledger cache starts empty.
    pub fn wrap_store(
        &self,
        wrap: impl FnOnce(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore>,
    ) -> Lake {
        Lake {
            store: wrap(Arc::clone(&self.store)),
            // Its own cache: a wrapper counts or fails requests, and answers cached from the unwrapped
            // lake's reads would hide them.
            ledger_cache: Default::default(),
            local_dir: None,
            ..self.clone()
        }
    }

    /// How this lake makes a commit atomic.
    pub fn commit_style(&self) -> CommitStyle {
        self.commit_style
    }

    /// Human-readable location (a path or URL).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub(crate) fn path(&self, rel: &str) -> Path {
        let mut p = self.root.clone();
        for part in rel.split('/').filter(|s| !s.is_empty()) {
            p = p.clone().join(part);
        }
        p
    }

    /// `<dataset>/date=YYYY-MM-DD/part-0.parquet`.
    pub fn partition_path(&self, dataset: &str, day: i32) -> Path {
        self.path(&format!(
            "{dataset}/date={}/{PART_FILE}",
            day_to_string(day)
        ))
    }

    /// `<dataset>/`.
    pub fn table_path(&self, dataset: &str) -> Path {
        self.path(dataset)
    }

    pub(crate) fn staging_path(&self, what: &str) -> Path {
        // No `.parquet` suffix and a folder outside every table: no reader picks an in-flight file up.
        self.path(&format!(
            "_gridlake/staging/{}-{what}.staged",
            uuid::Uuid::new_v4()
        ))
    }

    pub(crate) fn err(
        &self,
        op: &'static str,
        path: &Path,
        source: object_store::Error,
    ) -> LakeError {
        LakeError::Store {
            lake: self.location.clone(),
            op,
            path: path.to_string(),
            source: Box::new(source),
        }
    }

    async fn init(&self) -> Result<(), LakeError> {
        let path = self.path("_gridlake/lake.json");
        let info = LakeInfo {
            format_version: LAKE_FORMAT_VERSION,
            created_by: format!("gridlake {}", env!("CARGO_PKG_VERSION")),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let body = serde_json::to_vec_pretty(&info).unwrap_or_default();
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(body), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => self.check_format(&path).await,
            Err(e) => Err(self.err("create", &path, e)),
        }
    }

    async fn check_format(&self, path: &Path) -> Result<(), LakeError> {
        let bytes = self
            .store
            .get(path)
            .await
            .map_err(|e| self.err("read", path, e))?
            .bytes()
            .await
            .map_err(|e| self.err("read", path, e))?;
        let info: LakeInfo = serde_json::from_slice(&bytes).map_err(|e| LakeError::Format {
            lake: self.location.clone(),
            message: format!("`_gridlake/lake.json` is not valid ({e}); restore it from a backup, or move the lake aside and re-import"),
        })?;
        if info.format_version > LAKE_FORMAT_VERSION {
            return Err(LakeError::Format {
                lake: self.location.clone(),
                message: format!(
                    "lake format {} was written by {}; this gridlake reads format {LAKE_FORMAT_VERSION}. Upgrade gridlake",
                    info.format_version, info.created_by
                ),
            });
        }
        Ok(())
    }

    /// Removes staged files older than `older_than` (left by a crash between write and swap). Returns how
    /// many were removed. The age guard keeps the in-flight files of a concurrent writer.
    pub async fn clean_staging(&self, older_than: std::time::Duration) -> Result<usize, LakeError> {
        use futures::TryStreamExt;
        let prefix = self.path("_gridlake/staging");
        let cutoff =
            chrono::Utc::now() - chrono::Duration::from_std(older_than).unwrap_or_default();
        let stale: Vec<Path> = self
            .store
            .list(Some(&prefix))
            .try_filter(|m| futures::future::ready(m.last_modified <= cutoff))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| self.err("list", &prefix, e))?;
        for p in &stale {
            match self.store.delete(p).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.err("delete", p, e)),
            }
        }
        Ok(stale.len())
    }

    /// Days (days since epoch) that have a partition file for `dataset`, with the file's size: one LIST of
    /// the table folder, or on local disk one directory read and one `stat` per day.
    pub async fn partition_days(&self, dataset: &str) -> Result<Vec<(i32, u64)>, LakeError> {
        use futures::TryStreamExt;
        let prefix = self.table_path(dataset);
        if let Some(dir) = &self.local_dir {
            // object_store's local LIST walks every folder and stats each entry several times (two thirds
            // of the `ledger` table's time on a year of days); the layout is fixed, so read it directly.
            let table = dir.join(dataset);
            let scanned = tokio::task::spawn_blocking(move || local_partition_days(&table)).await;
            let err = |e: std::io::Error| {
                self.err(
                    "list",
                    &prefix,
                    object_store::Error::Generic {
                        store: "LocalFileSystem",
                        source: Box::new(e),
                    },
                )
            };
            return match scanned {
                Ok(result) => result.map_err(err),
                Err(join) => Err(err(std::io::Error::other(join))),
            };
        }
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| self.err("list", &prefix, e))?;
        let mut days = Vec::new();
        for m in metas {
            let mut parts = m.location.parts().collect::<Vec<_>>().into_iter().rev();
            let (Some(file), Some(dir)) = (parts.next(), parts.next()) else {
                continue;
            };
            if file.as_ref() != PART_FILE {
                continue;
            }
            if let Some(date) = dir.as_ref().strip_prefix("date=")
                && let Ok(d) = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            {
                days.push((gridlake_schema::date_to_day(d), m.size));
            }
        }
        days.sort_unstable();
        Ok(days)
    }
}

/// [`Lake::partition_days`] on local disk: `<table>/date=YYYY-MM-DD/part-0.parquet`, sorted by day.
fn local_partition_days(table: &std::path::Path) -> std::io::Result<Vec<(i32, u64)>> {
    let entries = match std::fs::read_dir(table) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut days = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(date) = name.to_str().and_then(|n| n.strip_prefix("date=")) else {
            continue;
        };
        let Ok(d) = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            continue;
        };
        match std::fs::metadata(entry.path().join(PART_FILE)) {
            Ok(m) if m.is_file() => days.push((gridlake_schema::date_to_day(d), m.len())),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    days.sort_unstable();
    Ok(days)
}
