//! The header gate against the full parse: a message the gate (with `scan.rs`'s structural scan
//! of a multipart body) turns away as ordinary must be claimed by no detector when parsed
//! whole, and must show the same headers. Tight limits make the cut paths run too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndr_filter::Limits;

fuzz_target!(|raw: &[u8]| {
    let _ = ndr_filter::check_gate(raw, &Limits::default());
    let tight = Limits { max_parts: 8, max_headers: 8, max_header_bytes: 64, ..Limits::default() };
    let _ = ndr_filter::check_gate(raw, &tight);
});
