//! Where gridlake's input bytes come from. It owns the `Source` seam (given a dataset and the days wanted,
//! which HTTP requests to make and how to read the answer: content kind, "no data" detection, checksum), the
//! registry of built-in sources (one folder each: CAISO OASIS, MISO, NYISO, Binance, and URL templates for
//! REACH and any new one-file-per-day archive), the shared HTTP stack in [`http`] (one client, retries that
//! honour `Retry-After`, a per-host AIMD rate limiter, capped downloads streamed to temp files, checksums), and
//! the safe unpacker that turns a plain, gzipped or zipped body into CSV member streams while refusing hostile
//! archives. It never writes the lake and never parses CSV: converting and committing belong to the ingest
//! pipeline, which takes the downloaded body from here.

pub mod binance;
pub mod caiso;
pub mod http;
pub mod miso;
pub mod nyiso;
mod registry;
mod source;
pub mod template;
mod unpack;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod unpack_tests;

pub use registry::{REACH_DATASET, Registry, SourcesConfig};
pub use source::{
    Answer, Checksum, Content, Publication, SecretHeader, Source, SourceError, SourceRequest,
    inspect_common,
};
pub use unpack::{
    InputFormat, UnpackError, UnpackLimits, UnpackReport, detect_format, unpack_file, unpack_reader,
};
