//! The JSON requests that cross a host boundary (the wasm ABI, the JavaScript package), decoded
//! and answered in one place so that every host reads them alike. Each function takes the
//! request document's bytes and returns the answer document, or a [`RequestError`].

use serde::Deserialize;
use serde_json::Value;

use crate::batv::KeyRing;
use crate::srs::Srs;
use crate::{Config, Envelope};

/// Why a request was not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Not JSON of the request's schema (unknown fields included).
    BadJson(String),
    /// Valid JSON, but the configuration cannot be used (a bad key, a missing SRS domain).
    BadConfig(String),
}

/// An answer document. A report is serialised straight from its struct: building a JSON tree
/// first cost about a tenth of a classification.
pub enum Answer {
    Report(Box<crate::Report>),
    Value(Value),
}

impl serde::Serialize for Answer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Answer::Report(report) => report.serialize(s),
            Answer::Value(value) => value.serialize(s),
        }
    }
}

fn parse<'a, T: Deserialize<'a> + Default>(json: &'a [u8]) -> Result<T, RequestError> {
    if json.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(json).map_err(|e| RequestError::BadJson(format!("request: {e}")))
}

/// Versions and the reason classes.
pub fn info() -> Value {
    serde_json::json!({
        "abi_major": crate::ABI_MAJOR,
        "abi_minor": crate::ABI_MINOR,
        "version": env!("CARGO_PKG_VERSION"),
        "reasons": crate::reason::REASONS,
    })
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ClassifyRequest {
    envelope: Option<Envelope>,
    config: Config,
    /// What the host knows besides the message (ABI 1.4).
    facts: crate::verdict::Facts,
    now: u64,
}

/// `{"envelope":…, "config":…, "facts":…, "now":…}` (all optional) → the report.
pub fn classify(raw: &[u8], request: &[u8]) -> Result<Answer, RequestError> {
    let r: ClassifyRequest = parse(request)?;
    Ok(Answer::Report(Box::new(crate::classify_with_facts(raw, r.envelope.as_ref(), &r.config, &r.facts, r.now))))
}

/// The request of `ndr_classify` (only the envelope and the limits are read) → whether the
/// message needs its body read (ABI 1.4).
pub fn prescreen(raw: &[u8], request: &[u8]) -> Result<Answer, RequestError> {
    let r: ClassifyRequest = parse(request)?;
    to_value(crate::prescreen::prescreen(raw, r.envelope.as_ref(), &r.config.limits))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct AddressRequest {
    config: Config,
    address: String,
    /// For signing: the recipient the mail goes to (exemptions are per destination).
    destination: Option<String>,
    now: u64,
}

fn key_ring(config: &Config) -> Result<KeyRing, RequestError> {
    let batv = config.batv.as_ref().ok_or_else(|| RequestError::BadConfig("no [batv] configuration".into()))?;
    KeyRing::new(batv).map_err(RequestError::BadConfig)
}

fn srs(config: &Config) -> Result<Srs, RequestError> {
    let c = config.srs.as_ref().ok_or_else(|| RequestError::BadConfig("no [srs] configuration".into()))?;
    Srs::new(c).map_err(RequestError::BadConfig)
}

fn to_value(v: impl serde::Serialize) -> Result<Answer, RequestError> {
    serde_json::to_value(v).map(Answer::Value).map_err(|e| RequestError::BadJson(e.to_string()))
}

/// `{"config":{"batv":…}, "address":…, "destination":…, "now":…}` → `batv::Signed`.
pub fn batv_sign(request: &[u8]) -> Result<Answer, RequestError> {
    let r: AddressRequest = parse(request)?;
    to_value(key_ring(&r.config)?.sign(&r.address, r.destination.as_deref(), r.now))
}

/// `{"config":{"batv":…}, "address":…, "now":…}` → `batv::Verified`.
pub fn batv_verify(request: &[u8]) -> Result<Answer, RequestError> {
    let r: AddressRequest = parse(request)?;
    to_value(key_ring(&r.config)?.verify_at_site(&r.address, r.config.site.as_ref(), r.now))
}

/// `{"config":{"srs":…}, "address":…, "now":…}` → `{"address": rewritten}`.
pub fn srs_forward(request: &[u8]) -> Result<Answer, RequestError> {
    let r: AddressRequest = parse(request)?;
    Ok(Answer::Value(serde_json::json!({ "address": srs(&r.config)?.forward(&r.address, r.now) })))
}

/// `{"config":{"srs":…}, "address":…, "now":…}` → `srs::Reversed`.
pub fn srs_reverse(request: &[u8]) -> Result<Answer, RequestError> {
    let r: AddressRequest = parse(request)?;
    to_value(srs(&r.config)?.reverse(&r.address, r.now))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ShouldBounceRequest {
    envelope: Envelope,
    context: crate::outbound::SendContext,
    config: Config,
    now: u64,
}

/// `{"envelope":…, "context":…, "config":…, "now":…}` and the failed message → `ShouldBounce`.
pub fn should_bounce(raw: &[u8], request: &[u8]) -> Result<Answer, RequestError> {
    let r: ShouldBounceRequest = parse(request)?;
    to_value(crate::outbound::should_bounce(raw, &r.envelope, &r.context, &r.config, r.now))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct BuildDsnRequest {
    envelope: Envelope,
    failure: crate::outbound::Failure,
    /// Return the whole original instead of its headers.
    full: bool,
    now: u64,
}

/// `{"envelope":…, "failure":…, "full":…, "now":…}` and the failed message → `Dsn`.
pub fn build_dsn(raw: &[u8], request: &[u8]) -> Result<Answer, RequestError> {
    let r: BuildDsnRequest = parse(request)?;
    let dsn = crate::outbound::build_dsn(raw, &r.envelope, &r.failure, r.full, r.now).map_err(RequestError::BadJson)?;
    to_value(dsn)
}
