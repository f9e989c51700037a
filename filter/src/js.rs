//! The wasm-bindgen bindings of the npm package (`js/`). They take JavaScript values, turn the
//! options object into the same JSON request the ABI module reads (`docs/ABI.md`), answer it
//! through [`crate::requests`] and hand back plain objects, so Node, browsers and wasmtime hosts
//! get identical answers. Errors are `Error` objects with a stable `code`: the ABI's status names
//! (`bad_json`, `bad_config`) and `bad_input` for a message that is not a string or bytes.

use js_sys::{Array, ArrayBuffer, Date, JSON, Reflect, Uint8Array};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::requests::{self, Answer, RequestError};

fn error(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&e, &"code".into(), &code.into());
    e.into()
}

fn request_error(e: RequestError) -> JsValue {
    match e {
        RequestError::BadJson(m) => error("bad_json", &m),
        RequestError::BadConfig(m) => error("bad_config", &m),
    }
}

/// A message given as a string (UTF-8 encoded), a `Uint8Array` (Node's `Buffer` included) or an
/// `ArrayBuffer`.
fn message_bytes(raw: &JsValue) -> Result<Vec<u8>, JsValue> {
    if let Some(s) = raw.as_string() {
        Ok(s.into_bytes())
    } else if raw.is_instance_of::<Uint8Array>() {
        Ok(Uint8Array::unchecked_from_js_ref(raw).to_vec())
    } else if raw.is_instance_of::<ArrayBuffer>() {
        Ok(Uint8Array::new(raw).to_vec())
    } else {
        Err(error("bad_input", "the message must be a string, a Uint8Array or an ArrayBuffer"))
    }
}

/// The options object as the JSON request document; `now` defaults to the clock (in whole
/// seconds), as on the command line.
fn request(options: &JsValue) -> Result<Vec<u8>, JsValue> {
    let text = if options.is_undefined() || options.is_null() {
        "{}".to_string()
    } else if options.is_object() && !Array::is_array(options) {
        JSON::stringify(options)
            .map_err(|_| error("bad_json", "options cannot be turned into JSON"))?
            .as_string()
            .unwrap_or_default()
    } else {
        return Err(error("bad_json", "options must be an object"));
    };
    let mut doc: Value = serde_json::from_str(&text).map_err(|e| error("bad_json", &format!("options: {e}")))?;
    if let Some(map) = doc.as_object_mut() {
        map.entry("now").or_insert_with(|| Value::from((Date::now() / 1000.0).floor() as u64));
    }
    serde_json::to_vec(&doc).map_err(|e| error("bad_json", &e.to_string()))
}

/// Plain objects and arrays, `null` for absent values, numbers as numbers.
fn to_js(value: Result<Answer, RequestError>) -> Result<JsValue, JsValue> {
    value
        .map_err(request_error)?
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| error("internal", &e.to_string()))
}

/// Classify one message: `options` = `{envelope?, config?, now?}` → the report.
#[wasm_bindgen]
pub fn classify(raw: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    to_js(requests::classify(&message_bytes(&raw)?, &request(&options)?))
}

/// Should a bounce of this failed message be sent? `{envelope, context?, config?, now?}`.
#[wasm_bindgen(js_name = shouldBounce)]
pub fn should_bounce(raw: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    to_js(requests::should_bounce(&message_bytes(&raw)?, &request(&options)?))
}

/// An RFC 3464 report for this failed message: `{envelope, failure, full?, now?}`.
#[wasm_bindgen(js_name = buildDsn)]
pub fn build_dsn(raw: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    to_js(requests::build_dsn(&message_bytes(&raw)?, &request(&options)?))
}

/// `{config: {batv}, address, destination?, now?}` → the signed address.
#[wasm_bindgen(js_name = batvSign)]
pub fn batv_sign(options: JsValue) -> Result<JsValue, JsValue> {
    to_js(requests::batv_sign(&request(&options)?))
}

/// `{config: {batv}, address, now?}` → the verification.
#[wasm_bindgen(js_name = batvVerify)]
pub fn batv_verify(options: JsValue) -> Result<JsValue, JsValue> {
    to_js(requests::batv_verify(&request(&options)?))
}

/// `{config: {srs}, address, now?}` → `{address}` rewritten.
#[wasm_bindgen(js_name = srsForward)]
pub fn srs_forward(options: JsValue) -> Result<JsValue, JsValue> {
    to_js(requests::srs_forward(&request(&options)?))
}

/// `{config: {srs}, address, now?}` → the original address.
#[wasm_bindgen(js_name = srsReverse)]
pub fn srs_reverse(options: JsValue) -> Result<JsValue, JsValue> {
    to_js(requests::srs_reverse(&request(&options)?))
}

/// Versions (ABI major and minor, crate) and the reason classes.
#[wasm_bindgen]
pub fn info() -> Result<JsValue, JsValue> {
    to_js(Ok(Answer::Value(requests::info())))
}
