//! Classify files natively and print one JSON line each (the same fields as `ndr scan --json`
//! for single files). For debugging the core without the wasm host.
fn main() {
    for path in std::env::args().skip(1) {
        let raw = std::fs::read(&path).unwrap_or_default();
        let report = ndr_filter::classify(&raw, None, &ndr_filter::Config::default(), 0);
        let mut v = serde_json::to_value(&report).unwrap_or_default();
        v["file"] = serde_json::Value::String(path);
        println!("{v}");
    }
}
