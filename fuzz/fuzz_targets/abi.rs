//! Each export of the wasm module from raw arguments, through the wasmtime host: a program of
//! calls read from the input, with arguments that are either raw integers or the addresses and
//! lengths of buffers allocated earlier. Whatever the arguments, the module must answer with a
//! status; a trap (the instance is then poisoned) is a bug. Module: $NDR_MODULE, or the one
//! `scripts/build-module.sh` builds.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ndr_host::{Budget, CallError, Filter};

static FILTER: LazyLock<Filter> = LazyLock::new(|| {
    let path = std::env::var("NDR_MODULE")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target/wasm32-unknown-unknown/wasm/ndr_filter.wasm").into());
    Filter::from_file(path.as_ref(), Budget::default()).expect("load the module (bash scripts/build-module.sh)")
});

/// (export, number of i32 arguments)
const EXPORTS: &[(&str, usize)] = &[
    ("ndr_alloc", 1),
    ("ndr_free", 2),
    ("ndr_classify", 4),
    ("ndr_should_bounce", 4),
    ("ndr_build_dsn", 4),
    ("ndr_batv_sign", 2),
    ("ndr_batv_verify", 2),
    ("ndr_srs_forward", 2),
    ("ndr_srs_reverse", 2),
    ("ndr_result_ptr", 0),
    ("ndr_result_len", 0),
    ("ndr_info", 0),
    ("ndr_abi_version", 0),
];

fuzz_target!(|data: &[u8]| {
    let mut instance = FILTER.instance().unwrap();
    let mut buffers: Vec<(i32, i32)> = Vec::new();
    let mut input = data.chunks_exact(5);
    while let Some(op) = input.next() {
        let (export, arity) = EXPORTS[op[0] as usize % EXPORTS.len()];
        let mut args = Vec::with_capacity(arity);
        for _ in 0..arity {
            let Some(a) = input.next() else { return };
            let raw = i32::from_le_bytes([a[1], a[2], a[3], a[4]]);
            // Low bit of the selector: a raw integer, or a live buffer's address or length.
            let arg = match (a[0] & 1, buffers.get(a[0] as usize / 2 % buffers.len().max(1))) {
                (1, Some(&(ptr, len))) => if a[0] & 2 == 0 { ptr } else { len },
                _ if export == "ndr_alloc" => raw & 0xffff, // keep allocations small
                _ => raw,
            };
            args.push(arg);
        }
        match instance.call_raw(export, &args) {
            Ok(results) => {
                if export == "ndr_alloc" && results[0] != 0 {
                    buffers.push((results[0], args[0]));
                }
                if export == "ndr_free" && results[0] == 0 {
                    buffers.retain(|&b| b != (args[0], args[1]));
                }
            }
            Err(CallError::Budget) => return,
            Err(e) => panic!("{export}{args:?} trapped: {e}"),
        }
    }
});
