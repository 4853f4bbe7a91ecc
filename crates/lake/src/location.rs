//! Where a lake lives: a local directory or `s3://bucket/prefix`, and opening it.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;

use crate::error::LakeError;
use crate::layout::Lake;

/// A lake location as given on the command line (`--lake`), in `GRIDLAKE_LAKE` or in `gridlake.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LakeLocation {
    /// A directory on local disk.
    Local(PathBuf),
    /// `s3://bucket/prefix` (prefix may be empty).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix of the lake inside the bucket, without leading or trailing `/`.
        prefix: String,
    },
}

impl LakeLocation {
    /// `s3://bucket[/prefix]` is S3; any other text is a local directory. Other URL schemes are refused
    /// rather than read as a directory named `gs:`.
    pub fn parse(text: &str) -> Result<LakeLocation, LakeError> {
        let bad = |message: &str| LakeError::Location {
            location: text.to_string(),
            message: message.to_string(),
        };
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("no bucket; write s3://BUCKET or s3://BUCKET/PREFIX"));
            }
            return Ok(LakeLocation::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(bad(&format!(
                "`{scheme}://` lakes are not supported; use a directory or s3://BUCKET/PREFIX (any S3-compatible store through AWS_ENDPOINT_URL)"
            )));
        }
        Ok(LakeLocation::Local(PathBuf::from(text)))
    }
}

impl std::fmt::Display for LakeLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LakeLocation::Local(p) => write!(f, "{}", p.display()),
            LakeLocation::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            LakeLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl Lake {
    /// Opens (creating if needed) the lake at `location`. An S3 lake takes its settings from the standard
    /// `AWS_*` environment (region, keys or role, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`).
    pub async fn open_location(location: &LakeLocation) -> Result<Lake, LakeError> {
        match location {
            LakeLocation::Local(dir) => Lake::open_local(dir).await,
            LakeLocation::S3 { bucket, prefix } => {
                Lake::open_s3(AmazonS3Builder::from_env(), bucket, prefix).await
            }
        }
    }

    /// Opens (creating if needed) a lake under `prefix` of `bucket`, with S3 settings from `builder`
    /// (tests pass explicit settings: the process environment is shared by every test thread).
    pub async fn open_s3(
        builder: AmazonS3Builder,
        bucket: &str,
        prefix: &str,
    ) -> Result<Lake, LakeError> {
        let location = LakeLocation::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        }
        .to_string();
        let store =
            builder
                .with_bucket_name(bucket)
                .build()
                .map_err(|source| LakeError::S3Config {
                    lake: location.clone(),
                    source: Box::new(source),
                })?;
        let root = Path::from_iter(prefix.split('/').filter(|p| !p.is_empty()));
        Lake::open(Arc::new(store), root, location).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            LakeLocation::parse("s3://b/x/y/").unwrap(),
            LakeLocation::S3 {
                bucket: "b".into(),
                prefix: "x/y".into()
            }
        );
        assert_eq!(LakeLocation::parse("s3://b").unwrap().to_string(), "s3://b");
        assert_eq!(
            LakeLocation::parse("./lake").unwrap(),
            LakeLocation::Local(PathBuf::from("./lake"))
        );
        assert!(LakeLocation::parse("s3:///x").is_err());
        assert!(
            LakeLocation::parse("gs://b/x")
                .unwrap_err()
                .to_string()
                .contains("not supported")
        );
    }
}
