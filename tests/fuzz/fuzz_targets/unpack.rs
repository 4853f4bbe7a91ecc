//! Any bytes as an archive: the unpacker never panics, never hands out more than its caps, and either visits
//! members or says why not.
#![no_main]

use std::io::{Cursor, Read};

use gridlake_sources::{UnpackLimits, unpack_reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = UnpackLimits { max_total_bytes: 4 << 20, max_entries: 64, max_ratio: 200 };
    let mut total = 0u64;
    let result = unpack_reader("fuzz.zip", Cursor::new(data), &limits, |_name, r: &mut dyn Read| {
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return Ok::<(), std::io::Error>(()),
                Ok(n) => total += n as u64,
                Err(e) => return Err(e),
            }
        }
    });
    assert!(total <= limits.max_total_bytes + 64 * 1024, "read {total} bytes past the cap");
    if let Ok(report) = result {
        assert_eq!(report.bytes_out, total);
    }
});
