//! Any bytes, any chunking, any built-in dataset: the converter never panics, every record read is written,
//! rejected or superseded (per input and per day), every reject names a line and a reason, and every batch
//! has the dataset's schema.
#![no_main]

use std::sync::{Arc, OnceLock};

use gridlake_schema::{Catalog, Converter, Dataset};
use libfuzzer_sys::fuzz_target;

fn datasets() -> &'static Vec<Arc<Dataset>> {
    static DATASETS: OnceLock<Vec<Arc<Dataset>>> = OnceLock::new();
    DATASETS.get_or_init(|| Catalog::builtin().expect("built-in schemas load").iter().cloned().collect())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let all = datasets();
    let ds = Arc::clone(&all[usize::from(selector) % all.len()]);
    // Chunk sizes 1..=64 (from the selector's high bits) exercise records split across pushes.
    let chunk = usize::from(selector >> 2) + 1;
    let mut conv = Converter::new(Arc::clone(&ds), "fuzz.csv");
    let mut batches = Vec::new();
    let mut rejects = Vec::new();
    for piece in body.chunks(chunk) {
        if conv.push(piece).is_err() {
            return;
        }
        batches.extend(conv.take_batches());
        rejects.extend(conv.take_rejects());
    }
    let Ok((summary, more, last)) = conv.finish() else { return };
    batches.extend(more);
    rejects.extend(last);
    assert!(summary.counts.balanced(), "{:?}", summary.counts);
    let mut per_day_read = 0;
    for (day, d) in &summary.days {
        assert!(d.counts.balanced(), "day {day}: {:?}", d.counts);
        per_day_read += d.counts.read;
    }
    assert_eq!(per_day_read + summary.undated_rejects, summary.counts.read);
    assert_eq!(rejects.len() as u64, summary.counts.rejected);
    for r in &rejects {
        assert!(r.line >= 1 && !r.reason.is_empty(), "{r:?}");
    }
    for b in &batches {
        assert_eq!(b.batch.schema(), *ds.arrow_schema());
    }
    let rows: usize = batches.iter().map(|b| b.batch.num_rows()).sum();
    let superseded: usize = summary.days.values().map(|d| d.superseded_rows.len()).sum();
    assert_eq!(rows as u64, summary.days.values().map(|d| d.rows).sum::<u64>() + superseded as u64);
});
