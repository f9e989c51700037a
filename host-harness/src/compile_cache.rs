//! A cache of compiled modules: compiling the module takes about a second, loading its machine
//! code a few milliseconds, so each run of `ndr` after the first starts at once.
//!
//! The cache holds machine code that wasmtime runs as it is, so it lives where only the user
//! writes: `$NDR_CACHE_DIR`, else `$XDG_CACHE_HOME/ndr`, else `~/.cache/ndr`. A folder that
//! others may write to is not used. Files are named by the SHA-1 of the module's bytes;
//! wasmtime refuses code from another version or configuration, which is then compiled again.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha1::{Digest, Sha1};

use crate::{Budget, Filter};

/// The cache folder from the environment; `None` when `NDR_CACHE_DIR` is `off` or empty, or no
/// home folder is known.
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var_os("NDR_CACHE_DIR") {
        Some(d) if d.is_empty() || d == "off" => None,
        Some(d) => Some(PathBuf::from(d)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|d| d.join("ndr")),
    }
}

/// Load the module in `wasm_path`, from the cache in `dir` when it holds this module's code,
/// else by compiling it (and storing the code). Without a usable folder it only compiles.
pub fn load(wasm_path: &Path, budget: Budget, dir: Option<&Path>) -> anyhow::Result<Filter> {
    let wasm = std::fs::read(wasm_path).with_context(|| format!("cannot read module {}", wasm_path.display()))?;
    let load = || -> anyhow::Result<Filter> {
        let Some(dir) = dir.filter(|d| private_folder(d)) else {
            return Filter::from_bytes(&wasm, budget);
        };
        let file = dir.join(format!("{}.cwasm", hex::encode(Sha1::digest(&wasm))));
        if let Ok(code) = std::fs::read(&file) {
            // SAFETY: the file is in a folder only this user writes to, under the digest of
            // this module, and was written by `store` from `Filter::precompile`.
            if let Ok(filter) = unsafe { Filter::from_precompiled(&code, budget) } {
                return Ok(filter);
            }
        }
        let code = Filter::precompile(&wasm)?;
        // SAFETY: `code` was made by `precompile` just now.
        let filter = unsafe { Filter::from_precompiled(&code, budget)? };
        // A cache that cannot be written only costs the next run a compile.
        let _ = store(&file, &code);
        Ok(filter)
    };
    load().with_context(|| format!("bad module {}", wasm_path.display()))
}

/// Create the folder if needed (for the user alone) and say whether it is private: writable by
/// nobody but its owner. An existing folder's permissions are never changed.
fn private_folder(dir: &Path) -> bool {
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;
    if !dir.is_dir() {
        if std::fs::create_dir_all(dir).is_err() {
            return false;
        }
        #[cfg(unix)]
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    #[cfg(unix)]
    return std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o022 == 0);
    #[cfg(not(unix))]
    true
}

/// Write through a temporary file and rename it, so that no run reads half a file.
fn store(file: &Path, code: &[u8]) -> std::io::Result<()> {
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(code)?;
    f.sync_all()?;
    std::fs::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAT: &str = r#"(module (memory (export "memory") 1) (func (export "ndr_abi_v1")))"#;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ndr-cache-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn the_second_load_comes_from_the_cache_and_a_damaged_file_is_replaced() {
        let dir = scratch("hit");
        let wasm = dir.with_extension("wat");
        std::fs::write(&wasm, WAT).unwrap();
        load(&wasm, Budget::default(), Some(&dir)).unwrap();
        let cached: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
        assert_eq!(cached.len(), 1, "{cached:?}");
        let code = std::fs::read(&cached[0]).unwrap();
        load(&wasm, Budget::default(), Some(&dir)).unwrap();
        // Damaged code is refused by wasmtime, compiled again and stored again.
        std::fs::write(&cached[0], &code[..code.len() / 2]).unwrap();
        load(&wasm, Budget::default(), Some(&dir)).unwrap();
        assert_eq!(std::fs::read(&cached[0]).unwrap(), code);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(&wasm);
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_others_may_write_to_is_not_used_and_a_new_one_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("shared");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let wasm = dir.with_extension("wat");
        std::fs::write(&wasm, WAT).unwrap();
        load(&wasm, Budget::default(), Some(&dir)).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing is cached in a shared folder");
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o777, "left as it was");
        let fresh = dir.join("new");
        assert!(private_folder(&fresh));
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o700);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(&wasm);
    }
}
