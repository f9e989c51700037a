//! What the developer tools in `examples/` share: the messages under the paths they are given,
//! the request `ndr bench` sends, and a module instance called as `FilterInstance::classify`
//! calls it (buffers in, `ndr_classify`, buffers out).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use wasmtime::{Instance, Store, TypedFunc};

/// Fuel each call starts with where metering is on: more than any message needs.
pub const FUEL_PER_CALL: u64 = u64::MAX / 2;

/// Every readable message under `paths`, in `ndr bench`'s order; an error if there is none.
pub fn messages(paths: &[PathBuf]) -> anyhow::Result<Vec<Vec<u8>>> {
    let messages: Vec<Vec<u8>> = ndr_host::source::files(paths)
        .into_iter()
        .filter_map(Result::ok)
        .flat_map(|p| ndr_host::source::messages(&p))
        .filter_map(|i| i.bytes.ok())
        .collect();
    if messages.is_empty() {
        bail!("no readable messages");
    }
    Ok(messages)
}

/// The classify request `ndr bench` sends.
pub fn request() -> Vec<u8> {
    ndr_host::request::classify(None, ndr_host::request::unix_now(), None).to_string().into_bytes()
}

/// The p40-p60 fifth of `n` items sorted by fuel (at least one): what `--middle` keeps, so that
/// a profile describes the p50 message.
pub fn middle_fifth(n: usize) -> std::ops::Range<usize> {
    n * 2 / 5..(n * 3 / 5).max(n * 2 / 5 + 1)
}

/// The tool's exit: its error printed after its name.
pub fn exit(tool: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{tool}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// An instance of a module and the exports a classification calls.
pub struct Runner<T: 'static> {
    pub store: Store<T>,
    instance: Instance,
    alloc: TypedFunc<i32, i32>,
    free: TypedFunc<(i32, i32), i32>,
    classify: TypedFunc<(i32, i32, i32, i32), i32>,
}

impl<T: 'static> Runner<T> {
    pub fn new(mut store: Store<T>, instance: Instance) -> anyhow::Result<Runner<T>> {
        Ok(Runner {
            alloc: instance.get_typed_func(&mut store, "ndr_alloc")?,
            free: instance.get_typed_func(&mut store, "ndr_free")?,
            classify: instance.get_typed_func(&mut store, "ndr_classify")?,
            store,
            instance,
        })
    }

    /// Classify one message; an error unless the module answers with status 0.
    pub fn classify(&mut self, message: &[u8], request: &[u8]) -> anyhow::Result<()> {
        let msg = self.put(message)?;
        let req = self.put(request)?;
        let status = self.classify.call(&mut self.store, (msg.0, msg.1, req.0, req.1))?;
        self.free.call(&mut self.store, msg)?;
        self.free.call(&mut self.store, req)?;
        if status != 0 {
            bail!("ndr_classify returned status {status}");
        }
        Ok(())
    }

    fn put(&mut self, bytes: &[u8]) -> anyhow::Result<(i32, i32)> {
        let len = i32::try_from(bytes.len())?;
        let ptr = self.alloc.call(&mut self.store, len)?;
        let memory = self.instance.get_memory(&mut self.store, "memory").context("no memory export")?;
        memory.write(&mut self.store, ptr as u32 as usize, bytes)?;
        Ok((ptr, len))
    }
}
