//! Store wrappers: behaviour added around any `Arc<dyn ObjectStore>` instead of flags inside the lake
//! (as object_store's own `throttle.rs` and `limit.rs` do).

mod faulty;
mod instrumented;

pub use faulty::FaultyStore;
pub use instrumented::{InstrumentedStore, LIST_PAGE_KEYS, RequestCounts};
