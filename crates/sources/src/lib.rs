//! Where gridlake's input bytes come from. Today that is the safe unpacker: it turns a plain,
//! gzipped or zipped CSV into one byte stream per CSV member, refusing hostile archives (path
//! traversal, symlinks, encrypted or nested entries, decompression bombs) before or while they
//! are read; HTTP sources arrive later and will hand their spooled bodies to the same unpacker.
//! This crate never writes the lake and never parses CSV: it stops at handing raw member bytes
//! to the caller's visitor, so all schema and storage decisions stay with the ingest pipeline.

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
