//! Classify files natively and print one JSON line each (the same fields as `ndr scan --json`
//! for single files). For debugging the core without the wasm host. `$NDR_CONFIG` may name a
//! JSON configuration file.
fn main() {
    let config: ndr_filter::Config = std::env::var("NDR_CONFIG")
        .ok()
        .and_then(|p| std::fs::read(p).ok())
        .map(|b| serde_json::from_slice(&b).expect("config"))
        .unwrap_or_default();
    for path in std::env::args().skip(1) {
        let raw = std::fs::read(&path).unwrap_or_default();
        let report = ndr_filter::classify(&raw, None, &config, 0);
        let mut v = serde_json::to_value(&report).unwrap_or_default();
        v["file"] = serde_json::Value::String(path);
        println!("{v}");
    }
}
