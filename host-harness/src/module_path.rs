//! Where the `ndr` command finds the wasm module when none is named.

use std::path::PathBuf;

/// File name of the module.
pub const MODULE_FILE: &str = "ndr_filter.wasm";

/// The module path: `explicit`, else `$NDR_MODULE`, else beside the executable, else where the
/// Debian package installs it (`/usr/bin/ndr` → `/usr/lib/ndr/`; `/usr/local` alike), else in
/// the cargo target folder the executable was built in (`target/wasm32-unknown-unknown/wasm/`).
pub fn find_module(explicit: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(p) = explicit.or_else(|| std::env::var_os("NDR_MODULE").map(PathBuf::from)) {
        return Ok(p);
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate the ndr executable: {e}"))?;
    let dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    let mut candidates = vec![dir.join(MODULE_FILE)];
    if let Some(prefix) = dir.parent() {
        candidates.push(prefix.join("lib").join("ndr").join(MODULE_FILE));
    }
    // target/release/ndr (or target/release/deps/test-binary) → target/wasm32-unknown-unknown/wasm/
    for up in dir.ancestors().skip(1).take(2) {
        candidates.push(up.join("wasm32-unknown-unknown").join("wasm").join(MODULE_FILE));
    }
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        format!(
            "no {MODULE_FILE} found (looked in {}); build it with scripts/build-module.sh or pass --module",
            candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )
    })
}
