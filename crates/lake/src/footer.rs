//! The key-value metadata each partition file carries, so a file alone says what it holds: if the ledger
//! record of a commit is lost (a crash between the swap and the record), the footer still proves the day.

use parquet::file::metadata::KeyValue;
use serde::{Deserialize, Serialize};

use crate::commit::InputRecord;

/// Prefix of gridlake's footer keys.
pub const FOOTER_PREFIX: &str = "gridlake.";

/// What a partition file says about itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FooterMeta {
    /// Dataset.
    pub dataset: String,
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Schema version the rows follow.
    pub schema_version: u32,
    /// gridlake version that wrote the file.
    pub gridlake_version: String,
    /// Run that wrote the file.
    pub run_id: String,
    /// Rows in the file.
    pub rows: u64,
    /// Rows a complete day holds, when the schema knows.
    pub expected_rows: Option<u64>,
    /// Every input that fed this day, with its record accounting for this day.
    pub inputs: Vec<InputRecord>,
}

impl FooterMeta {
    pub(crate) fn to_key_values(&self) -> Vec<KeyValue> {
        let sum = |f: fn(&InputRecord) -> u64| self.inputs.iter().map(f).sum::<u64>().to_string();
        let mut kv = vec![
            KeyValue::new(format!("{FOOTER_PREFIX}dataset"), self.dataset.clone()),
            KeyValue::new(format!("{FOOTER_PREFIX}day"), self.day.clone()),
            KeyValue::new(
                format!("{FOOTER_PREFIX}schema_version"),
                self.schema_version.to_string(),
            ),
            KeyValue::new(
                format!("{FOOTER_PREFIX}version"),
                self.gridlake_version.clone(),
            ),
            KeyValue::new(format!("{FOOTER_PREFIX}run_id"), self.run_id.clone()),
            KeyValue::new(format!("{FOOTER_PREFIX}rows"), self.rows.to_string()),
            KeyValue::new(
                format!("{FOOTER_PREFIX}inputs"),
                serde_json::to_string(&self.inputs).unwrap_or_default(),
            ),
            KeyValue::new(format!("{FOOTER_PREFIX}records_read"), sum(|i| i.read)),
            KeyValue::new(
                format!("{FOOTER_PREFIX}records_written"),
                sum(|i| i.written),
            ),
            KeyValue::new(
                format!("{FOOTER_PREFIX}records_rejected"),
                sum(|i| i.rejected),
            ),
            KeyValue::new(
                format!("{FOOTER_PREFIX}records_superseded"),
                sum(|i| i.superseded),
            ),
        ];
        if let Some(e) = self.expected_rows {
            kv.push(KeyValue::new(
                format!("{FOOTER_PREFIX}expected_rows"),
                e.to_string(),
            ));
        }
        kv
    }

    /// Reads the footer keys back; `None` when the file was not written by gridlake.
    pub fn from_key_values(kv: Option<&Vec<KeyValue>>) -> Option<FooterMeta> {
        let kv = kv?;
        let get = |k: &str| {
            kv.iter()
                .find(|e| e.key.strip_prefix(FOOTER_PREFIX) == Some(k))
                .and_then(|e| e.value.clone())
        };
        Some(FooterMeta {
            dataset: get("dataset")?,
            day: get("day")?,
            schema_version: get("schema_version")?.parse().ok()?,
            gridlake_version: get("version").unwrap_or_default(),
            run_id: get("run_id").unwrap_or_default(),
            rows: get("rows")?.parse().ok()?,
            expected_rows: get("expected_rows").and_then(|v| v.parse().ok()),
            inputs: get("inputs")
                .and_then(|v| serde_json::from_str(&v).ok())
                .unwrap_or_default(),
        })
    }
}
