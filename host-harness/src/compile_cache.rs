//! A cache of compiled modules: compiling the module takes about a second, loading its machine
//! code a few milliseconds, so each run of `ndr` after the first starts at once.
//!
//! The cache holds machine code that wasmtime runs as it is, so it is used only where nobody
//! else can write (Unix only): `$NDR_CACHE_DIR`, else `$XDG_CACHE_HOME/ndr`, else `~/.cache/ndr`.
//! The folder and each of its parents must belong to this user or root and be writable by
//! nobody else (a sticky folder such as `/tmp` may be shared); symbolic links are resolved
//! once, and the real path is used from then on. A code file must be a regular file of this
//! user that nobody else can write. Otherwise the module is compiled, as without a cache. Files
//! are named by the SHA-1 of the module's bytes; wasmtime refuses code made by an incompatible
//! wasmtime or configuration, which is then compiled again.

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
        let Some(dir) = dir.and_then(private::folder) else {
            return Filter::from_bytes(&wasm, budget);
        };
        let file = dir.join(format!("{}.cwasm", hex::encode(Sha1::digest(&wasm))));
        if let Some(code) = private::read(&file) {
            // SAFETY: the file is this user's, in a folder only this user (or root) can write,
            // under the digest of this module: `store` wrote it from `Filter::precompile`.
            if let Ok(filter) = unsafe { Filter::from_precompiled(&code, budget) } {
                return Ok(filter);
            }
        }
        let code = Filter::precompile(&wasm)?;
        // SAFETY: `code` was made by `precompile` just now.
        let filter = unsafe { Filter::from_precompiled(&code, budget)? };
        // A cache that cannot be written only costs the next run a compile.
        let _ = private::store(&file, &code);
        Ok(filter)
    };
    load().with_context(|| format!("bad module {}", wasm_path.display()))
}

#[cfg(unix)]
mod private {
    use std::io::{Read, Write};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::path::{Path, PathBuf};

    fn me() -> u32 {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() }
    }

    /// This user's, and writable by nobody else: a cache folder or code file.
    fn private(m: &std::fs::Metadata) -> bool {
        m.uid() == me() && m.permissions().mode() & 0o022 == 0
    }

    /// A parent of the cache folder: owned by this user or root, and writable by nobody else
    /// unless sticky (`/tmp`), so that nobody else can swap the folder.
    fn trusted_parent(m: &std::fs::Metadata) -> bool {
        let mode = m.permissions().mode();
        (m.uid() == me() || m.uid() == 0) && (mode & 0o022 == 0 || mode & 0o1000 != 0)
    }

    /// Create the folder if needed (0700). Its real path (links resolved) if only this user
    /// can change what is in it.
    pub fn folder(dir: &Path) -> Option<PathBuf> {
        if std::fs::metadata(dir).is_err() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).ok()?;
        }
        let dir = dir.canonicalize().ok()?;
        // The folder itself: this user's, shared with nobody; its parents cannot be swapped.
        let own = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir() && private(&m));
        let parents = dir.ancestors().skip(1).all(|a| std::fs::metadata(a).is_ok_and(|m| trusted_parent(&m)));
        (own && parents).then_some(dir)
    }

    /// The file's bytes, if it is a regular file of this user that nobody else can write.
    pub fn read(file: &Path) -> Option<Vec<u8>> {
        let mut f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(file).ok()?;
        let m = f.metadata().ok()?;
        if !(m.is_file() && private(&m)) {
            return None;
        }
        let mut code = Vec::new();
        f.read_to_end(&mut code).ok()?;
        Some(code)
    }

    /// Write a new file (0600) under a name no other writer uses, then rename it into place, so
    /// that no reader sees half a file.
    pub fn store(file: &Path, code: &[u8]) -> std::io::Result<()> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = file.with_extension(format!("tmp.{}.{n}", std::process::id()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
            .and_then(|mut f| f.write_all(code).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::rename(&tmp, file));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}

/// Elsewhere the ownership of files cannot be checked: no cache.
#[cfg(not(unix))]
mod private {
    use std::path::Path;

    pub fn folder(_: &Path) -> Option<std::path::PathBuf> {
        None
    }
    pub fn read(_: &Path) -> Option<Vec<u8>> {
        None
    }
    pub fn store(_: &Path, _: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const WAT: &str = r#"(module (memory (export "memory") 1) (func (export "ndr_abi_v1")))"#;

    /// A scratch folder and a module file beside it.
    fn scratch(name: &str) -> (PathBuf, PathBuf) {
        let d = std::env::temp_dir().join(format!("ndr-cache-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let wasm = d.with_extension("wat");
        std::fs::write(&wasm, WAT).unwrap();
        (d, wasm)
    }

    fn cached(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir).map(|r| r.flatten().map(|e| e.path()).collect()).unwrap_or_default()
    }

    #[test]
    fn the_second_load_comes_from_the_cache_and_a_damaged_file_is_replaced() {
        let (dir, wasm) = scratch("hit");
        load(&wasm, Budget::default(), Some(&dir)).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        let files = cached(&dir);
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);
        let code = std::fs::read(&files[0]).unwrap();
        load(&wasm, Budget::default(), Some(&dir)).unwrap();
        // Damaged code is refused by wasmtime, compiled again and stored again.
        std::fs::write(&files[0], &code[..code.len() / 2]).unwrap();
        load(&wasm, Budget::default(), Some(&dir)).unwrap();
        assert_eq!(std::fs::read(&files[0]).unwrap(), code);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(&wasm);
    }

    #[test]
    fn shared_folders_and_loose_files_are_not_trusted_and_links_are_resolved() {
        let (dir, wasm) = scratch("shared");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        load(&wasm, Budget::default(), Some(&dir)).unwrap();
        assert!(cached(&dir).is_empty(), "nothing is cached in a folder others can write to");
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o777, "left as it was");

        // A private folder reached through a shared one is not private.
        let inner = dir.join("inner");
        std::fs::create_dir(&inner).unwrap();
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(private::folder(&inner).is_none());

        // A link to a private folder stands for the folder it names, from then on.
        let (real, _) = scratch("real");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = real.with_extension("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(private::folder(&link), Some(real.canonicalize().unwrap()));

        // A code file others could have written is not read.
        let file = real.join("x.cwasm");
        std::fs::write(&file, b"code").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(private::read(&file).is_none());
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(private::read(&file).as_deref(), Some(&b"code"[..]));

        for p in [&dir, &real] {
            let _ = std::fs::remove_dir_all(p);
        }
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_file(&wasm);
    }
}
