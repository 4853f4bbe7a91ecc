//! The per-day commit: upsert the incoming rows into the day's file and swap the new file in.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, new_null_array};
use arrow::compute::{filter_record_batch, interleave_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow_row::{RowConverter, SortField};
use bytes::Bytes;
use gridlake_schema::{Dataset, day_to_string};
use object_store::path::Path;
use object_store::{ObjectStoreExt, UpdateVersion};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde::{Deserialize, Serialize};

use crate::error::LakeError;
use crate::footer::FooterMeta;
use crate::layout::Lake;
use crate::ledger::DayState;
use crate::swap::{Expect, SwapError};

/// Reads, merges and conditional writes of one day before giving up: each retry means another writer
/// committed the same day meanwhile, which leases make rare; three in a row means something is wrong.
const COMMIT_ATTEMPTS: u32 = 3;

/// Rows per row group: large enough for scans, small enough to bound a reader's memory.
const ROW_GROUP_ROWS: usize = 1 << 20;

/// One input's contribution to one day, as kept in the footer and the ledger.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputRecord {
    /// Input name (file, URL or `archive.zip!member.csv`).
    pub name: String,
    /// SHA-256 of the input's bytes (hex).
    pub sha256: String,
    /// Records of this input for this day.
    pub read: u64,
    /// Records kept.
    pub written: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Records superseded by the schema's precedence.
    pub superseded: u64,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq)]
pub struct DayCommit {
    /// Day committed (days since epoch).
    pub day: i32,
    /// Rows in the day's file after the commit.
    pub rows: u64,
    /// Rows a complete day holds, when the schema knows.
    pub expected_rows: Option<u64>,
    /// `complete` or `incomplete`.
    pub state: DayState,
    /// Size of the day's file.
    pub bytes: u64,
    /// The day already held exactly this input: nothing was rewritten.
    pub unchanged: bool,
    /// Rows of the previous file replaced by incoming rows with the same key.
    pub replaced_rows: u64,
}

impl Lake {
    /// Upserts `incoming` (rows of one day, in the dataset's schema) into the day's file: the day's new file
    /// holds the current rows whose key is not incoming, plus every incoming row, sorted by key; it is swapped
    /// in atomically, conditional on the file read (see [`CommitStyle`](crate::CommitStyle)): when another
    /// writer committed the day meanwhile, the merge is redone on top of its file. Re-committing an input
    /// the day already holds rewrites nothing.
    pub async fn commit_day(
        &self,
        ds: Arc<Dataset>,
        day: i32,
        incoming: Vec<RecordBatch>,
        input: InputRecord,
        run_id: &str,
    ) -> Result<DayCommit, LakeError> {
        let final_path = self.partition_path(ds.name(), day);
        for _ in 0..COMMIT_ATTEMPTS {
            let (existing, expect) = match self.store.get(&final_path).await {
                Ok(r) => {
                    let seen = UpdateVersion {
                        e_tag: r.meta.e_tag.clone(),
                        version: r.meta.version.clone(),
                    };
                    let bytes = r
                        .bytes()
                        .await
                        .map_err(|e| self.err("read", &final_path, e))?;
                    (Some(bytes), Expect::Version(seen))
                }
                Err(object_store::Error::NotFound { .. }) => (None, Expect::Absent),
                Err(e) => return Err(self.err("read", &final_path, e)),
            };
            let run_id = run_id.to_string();
            let path_text = final_path.to_string();
            let (ds, incoming, input) = (Arc::clone(&ds), incoming.clone(), input.clone());
            // Decoding, merging, sorting and encoding are CPU work: keep them off the async workers.
            let encoded = tokio::task::spawn_blocking(move || {
                merge_and_encode(&ds, day, existing, incoming, input, &run_id, &path_text)
            })
            .await
            .map_err(|e| LakeError::Format {
                lake: self.location.clone(),
                message: format!("commit task failed: {e}"),
            })??;
            let MergeOutcome { bytes, commit } = encoded;
            let Some(bytes) = bytes else {
                return Ok(commit);
            };
            match self.swap_in(&final_path, bytes, expect).await {
                Ok(_) => return Ok(commit),
                // Another writer committed the day between our read and our write: its rows must not be
                // lost, so merge again on top of its file.
                Err(SwapError::Conflict) => continue,
                Err(SwapError::Failed(e)) => return Err(e),
            }
        }
        Err(LakeError::Conflict {
            lake: self.location.clone(),
            path: final_path.to_string(),
            attempts: COMMIT_ATTEMPTS,
        })
    }

    /// Reads the footer metadata of one partition file: one ranged GET of its tail (two when the footer is
    /// larger than the first guess), never the whole file.
    pub async fn read_footer(
        &self,
        dataset: &str,
        day: i32,
    ) -> Result<Option<FooterMeta>, LakeError> {
        let path = self.partition_path(dataset, day);
        Ok(self.read_parquet_metadata(&path).await?.and_then(|meta| {
            FooterMeta::from_key_values(meta.file_metadata().key_value_metadata())
        }))
    }

    /// The Parquet metadata (schema, row groups, key-value footer) of the file at `path`, from its tail;
    /// `None` when there is no such file.
    pub(crate) async fn read_parquet_metadata(
        &self,
        path: &Path,
    ) -> Result<Option<parquet::file::metadata::ParquetMetaData>, LakeError> {
        use object_store::{GetOptions, GetRange};
        use parquet::file::metadata::ParquetMetaDataReader;
        let bad = |m: &str| LakeError::Parquet {
            path: path.to_string(),
            source: parquet::errors::ParquetError::General(m.to_string()),
        };
        let mut want = 64 * 1024u64;
        loop {
            let opts = GetOptions {
                range: Some(GetRange::Suffix(want)),
                ..Default::default()
            };
            let tail = match self.store.get_opts(path, opts).await {
                Ok(r) => r.bytes().await.map_err(|e| self.err("read", path, e))?,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(self.err("read", path, e)),
            };
            let n = tail.len();
            if n < 8 || &tail[n - 4..] != b"PAR1" {
                return Err(bad("not a Parquet file (no PAR1 footer)"));
            }
            let len = u64::from(u32::from_le_bytes([
                tail[n - 8],
                tail[n - 7],
                tail[n - 6],
                tail[n - 5],
            ]));
            if len + 8 > n as u64 {
                if (n as u64) < want {
                    return Err(bad("footer length exceeds the file"));
                }
                want = len + 8;
                continue;
            }
            let start = n - 8 - len as usize;
            let meta =
                ParquetMetaDataReader::decode_metadata(&tail[start..n - 8]).map_err(|source| {
                    LakeError::Parquet {
                        path: path.to_string(),
                        source,
                    }
                })?;
            return Ok(Some(meta));
        }
    }
}

struct MergeOutcome {
    bytes: Option<Bytes>,
    commit: DayCommit,
}

fn merge_and_encode(
    ds: &Dataset,
    day: i32,
    existing: Option<Bytes>,
    incoming: Vec<RecordBatch>,
    input: InputRecord,
    run_id: &str,
    path: &str,
) -> Result<MergeOutcome, LakeError> {
    let schema = Arc::clone(ds.arrow_schema());
    let pq = |source| LakeError::Parquet {
        path: path.to_string(),
        source,
    };
    let arrow_err = |source| LakeError::Arrow {
        dataset: ds.name().to_string(),
        day: day_to_string(day),
        source,
    };
    let mut inputs = Vec::new();
    let mut current = Vec::new();
    if let Some(bytes) = existing {
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(pq)?;
        let footer =
            FooterMeta::from_key_values(builder.metadata().file_metadata().key_value_metadata());
        if let Some(f) = &footer {
            if f.schema_version == ds.version() && f.inputs.iter().any(|i| i == &input) {
                let rows = f.rows;
                let state = DayState::of_committed(rows, f.expected_rows);
                let commit = DayCommit {
                    day,
                    rows,
                    expected_rows: f.expected_rows,
                    state,
                    bytes: 0,
                    unchanged: true,
                    replaced_rows: 0,
                };
                return Ok(MergeOutcome {
                    bytes: None,
                    commit,
                });
            }
            inputs = f.inputs.clone();
        }
        for batch in builder.build().map_err(pq)? {
            current.push(align(&batch.map_err(arrow_err)?, &schema).map_err(arrow_err)?);
        }
    }
    let key_idx: Vec<usize> = ds
        .key_columns()
        .iter()
        .filter_map(|k| schema.index_of(k).ok())
        .collect();
    let key_conv = row_converter(&schema, &key_idx).map_err(arrow_err)?;
    let mut replaced = 0u64;
    // Batches are kept as they come (no concatenation): the sort gathers rows from all of them in one copy.
    let mut parts: Vec<RecordBatch> = Vec::with_capacity(current.len() + incoming.len());
    if !current.is_empty() {
        let incoming_keys = rows_of(&key_conv, &incoming, &key_idx).map_err(arrow_err)?;
        let set: HashSet<&[u8]> = incoming_keys.iter().map(|r| r.data()).collect();
        for batch in &current {
            let keys = key_conv
                .convert_columns(&columns(batch, &key_idx))
                .map_err(arrow_err)?;
            let keep: BooleanArray = keys.iter().map(|r| Some(!set.contains(r.data()))).collect();
            replaced += keep.false_count() as u64;
            parts.push(filter_record_batch(batch, &keep).map_err(arrow_err)?);
        }
    }
    parts.extend(incoming);
    parts.retain(|b| b.num_rows() > 0);
    let (global, order) = sorted_order(&parts, &key_conv, &key_idx).map_err(arrow_err)?;

    let rows = order.len() as u64;
    let expected_rows = match ds.completeness() {
        None => None,
        Some(c) => {
            let per: Vec<usize> = c
                .per_columns()
                .iter()
                .filter_map(|p| schema.index_of(p).ok())
                .collect();
            let distinct = if per.is_empty() {
                1
            } else if rows == 0 {
                0
            } else {
                let conv = row_converter(&schema, &per).map_err(arrow_err)?;
                let r = rows_of(&conv, &parts, &per).map_err(arrow_err)?;
                if key_idx.starts_with(&per) {
                    // The rows are in key order and `per` leads the key, so equal `per` values are adjacent:
                    // counting changes replaces a hash set of every row (a twentieth of the commit).
                    1 + global
                        .windows(2)
                        .filter(|w| r.row(w[0] as usize) != r.row(w[1] as usize))
                        .count() as u64
                } else {
                    r.iter().map(|r| r.data()).collect::<HashSet<_>>().len() as u64
                }
            };
            Some(c.expected_rows(day, distinct))
        }
    };
    // The same input name with new bytes replaces its earlier entry; other inputs stay listed.
    inputs.retain(|i: &InputRecord| i.name != input.name && i.sha256 != input.sha256);
    inputs.push(input);
    let footer = FooterMeta {
        dataset: ds.name().to_string(),
        day: day_to_string(day),
        schema_version: ds.version(),
        gridlake_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: run_id.to_string(),
        rows,
        expected_rows,
        inputs,
    };
    let bytes = encode_parquet(&parts, &order, &schema, &footer).map_err(|e| match e {
        EncodeError::Parquet(p) => pq(p),
        EncodeError::Arrow(a) => arrow_err(a),
    })?;
    let commit = DayCommit {
        day,
        rows,
        expected_rows,
        state: DayState::of_committed(rows, expected_rows),
        bytes: bytes.len() as u64,
        unchanged: false,
        replaced_rows: replaced,
    };
    Ok(MergeOutcome {
        bytes: Some(bytes),
        commit,
    })
}

fn columns(batch: &RecordBatch, idx: &[usize]) -> Vec<ArrayRef> {
    idx.iter().map(|&i| Arc::clone(batch.column(i))).collect()
}

fn row_converter(
    schema: &SchemaRef,
    idx: &[usize],
) -> Result<RowConverter, arrow::error::ArrowError> {
    RowConverter::new(
        idx.iter()
            .map(|&i| SortField::new(schema.field(i).data_type().clone()))
            .collect(),
    )
}

fn rows_of(
    conv: &RowConverter,
    batches: &[RecordBatch],
    idx: &[usize],
) -> Result<arrow_row::Rows, arrow::error::ArrowError> {
    let n = batches.iter().map(RecordBatch::num_rows).sum();
    let mut rows = conv.empty_rows(n, n * 32);
    for b in batches {
        conv.append(&mut rows, &columns(b, idx))?;
    }
    Ok(rows)
}

/// Sorting by key makes a day's file a pure function of its rows (so re-imports are byte-stable) and
/// gives readers tight min/max statistics per row group. Returns the rows in key order, as row numbers over
/// all `parts` and as (batch, row) pairs.
type Order = (Vec<u32>, Vec<(usize, usize)>);
fn sorted_order(
    parts: &[RecordBatch],
    conv: &RowConverter,
    key: &[usize],
) -> Result<Order, arrow::error::ArrowError> {
    let rows = rows_of(conv, parts, key)?;
    // Most comparisons are decided by the first eight bytes of the row encoding; comparing those as an integer
    // first keeps the sort off memcmp (it was a tenth of the commit).
    let prefix = |i: usize| {
        let d = rows.row(i).data();
        let mut b = [0u8; 8];
        let n = d.len().min(8);
        b[..n].copy_from_slice(&d[..n]);
        u64::from_be_bytes(b)
    };
    let mut order: Vec<(u64, u32)> = (0..rows.num_rows())
        .map(|i| (prefix(i), i as u32))
        .collect();
    let cmp = |a: &(u64, u32), b: &(u64, u32)| {
        a.0.cmp(&b.0)
            .then_with(|| rows.row(a.1 as usize).cmp(&rows.row(b.1 as usize)))
    };
    if !order.windows(2).all(|w| cmp(&w[0], &w[1]).is_le()) {
        order.sort_unstable_by(cmp);
    }
    // Global row number → (batch, row within it).
    let mut starts = Vec::with_capacity(parts.len());
    let mut acc = 0usize;
    for p in parts {
        starts.push(acc);
        acc += p.num_rows();
    }
    let pairs = order
        .iter()
        .map(|&(_, g)| {
            let g = g as usize;
            let b = starts.partition_point(|&s| s <= g) - 1;
            (b, g - starts[b])
        })
        .collect();
    Ok((order.into_iter().map(|(_, g)| g).collect(), pairs))
}

/// Projects a batch read from an older file onto the current schema: columns added since read as null.
fn align(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, arrow::error::ArrowError> {
    if batch.schema().fields() == schema.fields() {
        return RecordBatch::try_new(Arc::clone(schema), batch.columns().to_vec());
    }
    let cols = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => Arc::clone(c),
            None => new_null_array(f.data_type(), batch.num_rows()),
        })
        .collect();
    RecordBatch::try_new(Arc::clone(schema), cols)
}

pub(crate) fn writer_properties(kv: Vec<parquet::file::metadata::KeyValue>) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("gridlake version {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(kv))
        .build()
}

enum EncodeError {
    Parquet(parquet::errors::ParquetError),
    Arrow(arrow::error::ArrowError),
}

/// Rows gathered (in `order`) per chunk and written as they come, so the sorted day is never materialised
/// as a second copy in memory.
fn encode_parquet(
    parts: &[RecordBatch],
    order: &[(usize, usize)],
    schema: &SchemaRef,
    footer: &FooterMeta,
) -> Result<Bytes, EncodeError> {
    const GATHER_ROWS: usize = 64 * 1024;
    let mut buf = Vec::new();
    let props = writer_properties(footer.to_key_values());
    let mut writer = ArrowWriter::try_new(&mut buf, Arc::clone(schema), Some(props))
        .map_err(EncodeError::Parquet)?;
    let refs: Vec<&RecordBatch> = parts.iter().collect();
    for chunk in order.chunks(GATHER_ROWS) {
        let batch = interleave_record_batch(&refs, chunk).map_err(EncodeError::Arrow)?;
        writer.write(&batch).map_err(EncodeError::Parquet)?;
    }
    writer.close().map_err(EncodeError::Parquet)?;
    Ok(Bytes::from(buf))
}

/// Writes batches as one Parquet file into memory (rejects, ledger records).
pub(crate) fn encode_batches(batch: &RecordBatch) -> Result<Bytes, parquet::errors::ParquetError> {
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(
        &mut buf,
        batch.schema(),
        Some(writer_properties(Vec::new())),
    )?;
    writer.write(batch)?;
    writer.close()?;
    Ok(Bytes::from(buf))
}

/// Decodes a whole Parquet file from memory (the tests' reader; the ledger decodes its own files, to
/// read their footer keys and skip row groups).
#[cfg(test)]
pub(crate) fn decode_batches(bytes: Bytes, path: &Path) -> Result<Vec<RecordBatch>, LakeError> {
    let pq = |source| LakeError::Parquet {
        path: path.to_string(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(pq)?
        .build()
        .map_err(pq)?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pq(parquet::errors::ParquetError::from(e)))
}
