//! The reject store: `_gridlake/rejects/dataset=<name>/date=<day>/<input sha256>.parquet`, one file per
//! input and day, replaced when the same input is imported again. Rows whose day could not be read go under
//! `date=__HIVE_DEFAULT_PARTITION__`, the Hive spelling of a null partition value that Spark, pyarrow and
//! DuckDB read as null.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use gridlake_schema::{Reject, day_to_string};
use object_store::ObjectStoreExt;

use crate::commit::encode_batches;
use crate::error::LakeError;
use crate::layout::Lake;
use crate::swap::{Expect, SwapError};

/// The folder value for rejects without a day.
pub(crate) const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

impl Lake {
    /// Replaces the rejects of one input for one day (`None`: rows whose day could not be read). With no
    /// rejects, removes any earlier file, since the input now converts cleanly.
    pub async fn write_rejects(
        &self,
        dataset: &str,
        day: Option<i32>,
        input_sha256: &str,
        run_id: &str,
        rejects: &[&Reject],
    ) -> Result<(), LakeError> {
        let date = day.map_or_else(|| NULL_PARTITION.to_string(), day_to_string);
        let path = self.path(&format!(
            "_gridlake/rejects/dataset={dataset}/date={date}/{input_sha256}.parquet"
        ));
        if rejects.is_empty() {
            return match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(self.err("delete", &path, e)),
            };
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("input", DataType::Utf8, false),
            Field::new("input_sha256", DataType::Utf8, false),
            Field::new("line", DataType::Int64, false),
            Field::new("column", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
            Field::new("reason", DataType::Utf8, false),
            Field::new("raw", DataType::Utf8, false),
            Field::new("run_id", DataType::Utf8, false),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                rejects.iter().map(|r| r.file.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rejects.iter().map(|_| input_sha256),
            )),
            Arc::new(Int64Array::from_iter_values(
                rejects
                    .iter()
                    .map(|r| i64::try_from(r.line).unwrap_or(i64::MAX)),
            )),
            Arc::new(StringArray::from_iter(
                rejects.iter().map(|r| r.column.as_deref()),
            )),
            Arc::new(StringArray::from_iter(
                rejects.iter().map(|r| r.value.as_deref()),
            )),
            Arc::new(StringArray::from_iter_values(
                rejects.iter().map(|r| r.reason.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rejects.iter().map(|r| r.raw.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rejects.iter().map(|_| run_id),
            )),
        ];
        let batch = RecordBatch::try_new(schema, cols).map_err(|source| LakeError::Arrow {
            dataset: dataset.to_string(),
            day: date.clone(),
            source,
        })?;
        let bytes = encode_batches(&batch).map_err(|source| LakeError::Parquet {
            path: path.to_string(),
            source,
        })?;
        // Same input, same rejects: an overwrite by a concurrent writer is harmless, so no condition.
        match self.swap_in(&path, bytes, Expect::Anything).await {
            Ok(_) => Ok(()),
            Err(SwapError::Failed(e)) => Err(e),
            Err(SwapError::Conflict) => Err(LakeError::Conflict {
                lake: self.location.clone(),
                path: path.to_string(),
                attempts: 1,
            }),
        }
    }
}
