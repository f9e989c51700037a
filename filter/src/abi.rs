//! The stable ABI of the zero-import wasm module (`docs/ABI.md`, version 1). The `unsafe` of the
//! crate lives here and in the module's allocator (`arena.rs`). Every export validates its
//! arguments against the live buffers it handed out, so no argument can make the module read or
//! free memory it does not own. The work of each call runs on the per-call arena
//! ([`arena::during_call`]); host buffers and the result document live outside it.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::arena;
use crate::requests::{self, Answer, RequestError};
use crate::{ABI_MAJOR, ABI_MINOR};

/// Status codes returned by the exports. Append-only: a retired code is never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    Ok = 0,
    BadPointer = 1,
    BadLength = 2,
    BadUtf8 = 3,
    BadJson = 4,
    UnknownBuffer = 5,
    Internal = 6,
    BadConfig = 7,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::BadPointer => "bad_pointer",
            Status::BadLength => "bad_length",
            Status::BadUtf8 => "bad_utf8",
            Status::BadJson => "bad_json",
            Status::UnknownBuffer => "unknown_buffer",
            Status::Internal => "internal",
            Status::BadConfig => "bad_config",
        }
    }
}

/// The largest buffer `ndr_alloc` hands out (1 GiB): lengths are signed 32-bit on the wire.
const MAX_BUFFER: usize = 1 << 30;

#[derive(Default)]
struct State {
    /// Live host buffers: start address → the buffer (kept here so it is not dropped).
    buffers: BTreeMap<usize, Box<[u8]>>,
    /// The last result document, owned by the module.
    result: Vec<u8>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Marker export: its presence says "this module speaks ABI major version 1".
#[unsafe(no_mangle)]
pub extern "C" fn ndr_abi_v1() {}

/// `(major << 16) | minor`.
#[unsafe(no_mangle)]
pub extern "C" fn ndr_abi_version() -> i32 {
    ((ABI_MAJOR << 16) | ABI_MINOR) as i32
}

/// Allocate a buffer of `len` bytes for the host to write into. Returns its address, or 0 when
/// `len` is negative or too large or memory is exhausted. `len` 0 gives a valid empty buffer.
#[unsafe(no_mangle)]
pub extern "C" fn ndr_alloc(len: i32) -> i32 {
    let Ok(len) = usize::try_from(len) else {
        return 0;
    };
    if len > MAX_BUFFER {
        return 0;
    }
    let mut v: Vec<u8> = Vec::new();
    // One byte more than asked, so that every buffer (even an empty one) has its own address.
    if v.try_reserve_exact(len + 1).is_err() {
        return 0;
    }
    v.resize(len + 1, 0);
    let buffer = v.into_boxed_slice();
    let addr = buffer.as_ptr() as usize;
    STATE.with(|s| s.borrow_mut().buffers.insert(addr, buffer));
    addr as i32
}

/// Free a buffer from `ndr_alloc`. `len` must be the length it was allocated with.
#[unsafe(no_mangle)]
pub extern "C" fn ndr_free(ptr: i32, len: i32) -> i32 {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let addr = ptr as u32 as usize;
        match s.buffers.get(&addr) {
            Some(b) if usize::try_from(len).is_ok_and(|l| l + 1 == b.len()) => {
                s.buffers.remove(&addr);
                Status::Ok as i32
            }
            _ => Status::UnknownBuffer as i32,
        }
    })
}

/// Address of the last result document (JSON, UTF-8).
#[unsafe(no_mangle)]
pub extern "C" fn ndr_result_ptr() -> i32 {
    STATE.with(|s| s.borrow().result.as_ptr() as i32)
}

/// Length in bytes of the last result document.
#[unsafe(no_mangle)]
pub extern "C" fn ndr_result_len() -> i32 {
    STATE.with(|s| s.borrow().result.len() as i32)
}

/// Classify the message in `[msg_ptr, msg_ptr + msg_len)` with the JSON request in
/// `[req_ptr, req_ptr + req_len)` (`req_len` 0: defaults). The result document is the report
/// on status 0, an error document otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn ndr_classify(msg_ptr: i32, msg_len: i32, req_ptr: i32, req_len: i32) -> i32 {
    message_export(msg_ptr, msg_len, req_ptr, req_len, requests::classify)
}

/// May the message in `[msg_ptr, msg_ptr + msg_len)` (its headers suffice) be accepted without
/// its body? The request is `ndr_classify`'s; the answer `{"needs_body": bool, "why": "…"}` (ABI 1.4).
#[unsafe(no_mangle)]
pub extern "C" fn ndr_prescreen(msg_ptr: i32, msg_len: i32, req_ptr: i32, req_len: i32) -> i32 {
    message_export(msg_ptr, msg_len, req_ptr, req_len, requests::prescreen)
}

/// Should the failed message in `[msg_ptr, msg_ptr + msg_len)` be bounced (ABI 1.1)?
#[unsafe(no_mangle)]
pub extern "C" fn ndr_should_bounce(msg_ptr: i32, msg_len: i32, req_ptr: i32, req_len: i32) -> i32 {
    message_export(msg_ptr, msg_len, req_ptr, req_len, requests::should_bounce)
}

/// Build the RFC 3464 bounce for the failed message (ABI 1.1).
#[unsafe(no_mangle)]
pub extern "C" fn ndr_build_dsn(msg_ptr: i32, msg_len: i32, req_ptr: i32, req_len: i32) -> i32 {
    message_export(msg_ptr, msg_len, req_ptr, req_len, requests::build_dsn)
}

/// Sign an envelope sender with the BATV key ring (ABI 1.1).
#[unsafe(no_mangle)]
pub extern "C" fn ndr_batv_sign(req_ptr: i32, req_len: i32) -> i32 {
    call(|| with_request(req_ptr, req_len, requests::batv_sign))
}

/// Verify the BATV tag of a bounce recipient (ABI 1.1).
#[unsafe(no_mangle)]
pub extern "C" fn ndr_batv_verify(req_ptr: i32, req_len: i32) -> i32 {
    call(|| with_request(req_ptr, req_len, requests::batv_verify))
}

/// Rewrite a sender with SRS for forwarding (ABI 1.1).
#[unsafe(no_mangle)]
pub extern "C" fn ndr_srs_forward(req_ptr: i32, req_len: i32) -> i32 {
    call(|| with_request(req_ptr, req_len, requests::srs_forward))
}

/// Reverse one of our SRS addresses (ABI 1.1).
#[unsafe(no_mangle)]
pub extern "C" fn ndr_srs_reverse(req_ptr: i32, req_len: i32) -> i32 {
    call(|| with_request(req_ptr, req_len, requests::srs_reverse))
}

/// An export that takes a message and a request document.
fn message_export(
    msg_ptr: i32,
    msg_len: i32,
    req_ptr: i32,
    req_len: i32,
    answer: fn(&[u8], &[u8]) -> Result<Answer, RequestError>,
) -> i32 {
    call(|| {
        with_input(msg_ptr, msg_len, |msg| with_request(req_ptr, req_len, |req| answer(msg, req)))
            .and_then(|inner| inner)
    })
}

/// Read a request document (UTF-8 JSON) and answer it; the answer is serialised.
fn with_request(
    ptr: i32,
    len: i32,
    answer: impl FnOnce(&[u8]) -> Result<Answer, RequestError>,
) -> Result<Vec<u8>, (Status, String)> {
    with_input(ptr, len, |req| {
        if std::str::from_utf8(req).is_err() {
            return Err((Status::BadUtf8, "request is not UTF-8".to_string()));
        }
        let value = answer(req).map_err(|e| match e {
            RequestError::BadJson(m) => (Status::BadJson, m),
            RequestError::BadConfig(m) => (Status::BadConfig, m),
        })?;
        crate::answer_json::to_vec(&value).map_err(|e| (Status::Internal, e.to_string()))
    })
    .and_then(|inner| inner)
}

/// Information about the module: versions and the reason classes, as JSON.
#[unsafe(no_mangle)]
pub extern "C" fn ndr_info() -> i32 {
    call(|| serde_json::to_vec(&requests::info()).map_err(|e| (Status::Internal, e.to_string())))
}

/// Run the work of an export on the per-call arena and keep its result document.
fn call(work: impl FnOnce() -> Result<Vec<u8>, (Status, String)>) -> i32 {
    arena::during_call(|| finish(work()))
}

fn finish(outcome: Result<Vec<u8>, (Status, String)>) -> i32 {
    let (status, document) = match outcome {
        Ok(doc) => (Status::Ok, doc),
        Err((status, message)) => {
            let doc = serde_json::json!({"error": {"code": status as i32, "name": status.name(), "message": message}});
            (status, doc.to_string().into_bytes())
        }
    };
    // The document outlives the call: copied out of the arena, into the last result's buffer
    // (which keeps no more than 64 KiB from a larger result before).
    arena::outside_call(|| {
        STATE.with(|s| {
            let result = &mut s.borrow_mut().result;
            result.clear();
            result.shrink_to(64 << 10);
            result.extend_from_slice(&document);
        })
    });
    status as i32
}

/// Run `f` on the bytes of a host buffer range, after checking that the range lies inside one
/// live buffer from `ndr_alloc`. A zero length needs no buffer.
fn with_input<T>(ptr: i32, len: i32, f: impl FnOnce(&[u8]) -> T) -> Result<T, (Status, String)> {
    let len = usize::try_from(len).map_err(|_| (Status::BadLength, format!("negative length {len}")))?;
    if len == 0 {
        return Ok(f(&[]));
    }
    let addr = ptr as u32 as usize;
    let buffer_end = STATE.with(|s| {
        let s = s.borrow();
        let (start, buffer) = s.buffers.range(..=addr).next_back()?;
        // The last byte of every buffer is padding, not part of the host's data.
        Some(start + buffer.len() - 1)
    });
    let Some(buffer_end) = buffer_end.filter(|end| addr < *end) else {
        return Err((Status::BadPointer, format!("address {addr} is not in a buffer from ndr_alloc")));
    };
    if addr.checked_add(len).is_none_or(|end| end > buffer_end) {
        return Err((Status::BadLength, format!("range {addr}+{len} runs past its buffer")));
    }
    // SAFETY: `[addr, addr + len)` lies inside a live boxed buffer owned by STATE. Nothing
    // frees or writes it while `f` runs: the module is single-threaded and `f` (classification)
    // never calls the exports.
    let bytes = unsafe { std::slice::from_raw_parts(addr as *const u8, len) };
    Ok(f(bytes))
}
