//! # ndr-host
//!
//! Loads the zero-import `ndr_filter.wasm` module with wasmtime and calls it through its stable
//! ABI (`docs/ABI.md`) with a CPU budget (fuel) and a memory limit on every call. A trap, an
//! exhausted budget or a module error becomes an [`CallError`]; the host never crashes because
//! of the module.
//!
//! ```no_run
//! let filter = ndr_host::Filter::from_file("ndr_filter.wasm".as_ref(), ndr_host::Budget::default())?;
//! let mut instance = filter.instance()?;
//! let report_json = instance.classify(b"Subject: hi\n\nhello\n", b"")?;
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod cli_docs;
pub mod compile_cache;
pub mod config_check;
pub mod kept_budget;
pub mod metrics;
pub mod milter;
pub mod milter_wire;
mod module_path;
pub mod packet_deadlines;
pub mod policy;
pub mod pool;
pub mod quick_ack;
pub mod request;
pub mod serve;
pub mod service;
pub mod settings;
pub mod socket_access;
pub mod source;
pub mod state;

use std::path::Path;

use anyhow::{Context, bail};
use wasmtime::{
    Config, Engine, Instance, InstancePre, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, TypedFunc,
};

pub use module_path::find_module;

/// The ABI major version this host speaks.
pub const ABI_MAJOR: u32 = 1;

/// Bounds on one call into the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Fuel every call gets, whatever its input.
    pub fuel_base: u64,
    /// Extra fuel per input byte. On the corpus a bounce uses about 240 per byte and ordinary
    /// mail about 90, one message (over 200 bytes) at most about 1,000: the default leaves 5×.
    pub fuel_per_byte: u64,
    /// Linear memory the instance may grow to, in bytes.
    pub memory_bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { fuel_base: 200_000_000, fuel_per_byte: 5_000, memory_bytes: 512 << 20 }
    }
}

/// Why a call did not produce a result document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The module refused the call with an ABI status (e.g. 4, `bad_json`).
    #[error("module error {code} ({name}): {message}")]
    Module { code: i32, name: String, message: String },
    /// The call ran out of fuel.
    #[error("CPU budget exhausted")]
    Budget,
    /// The module trapped or hit the memory limit; the instance must be discarded.
    #[error("module failed: {0}")]
    Trap(String),
}

/// The one engine configuration: fuel metering on (the CPU budget of every call).
fn engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.consume_fuel(true);
    Ok(Engine::new(&config)?)
}

/// A compiled module, ready to instantiate (compile once per process, instantiate cheaply).
pub struct Filter {
    engine: Engine,
    pre: InstancePre<StoreLimits>,
    budget: Budget,
}

impl Filter {
    /// Compile the module in a wasm file (the compile cache's path without a cache folder).
    pub fn from_file(path: &Path, budget: Budget) -> anyhow::Result<Filter> {
        compile_cache::load(path, budget, None)
    }

    /// Compile a module from its bytes (binary or text format) and check that it speaks our ABI.
    pub fn from_bytes(wasm: &[u8], budget: Budget) -> anyhow::Result<Filter> {
        let engine = engine()?;
        let module = Module::new(&engine, wasm)?;
        Filter::from_module(engine, module, budget)
    }

    /// Compile a module to machine code for this build of the host, to store and load later
    /// with [`Filter::from_precompiled`]: loading takes milliseconds where compiling takes about
    /// a second.
    pub fn precompile(wasm: &[u8]) -> anyhow::Result<Vec<u8>> {
        Ok(engine()?.precompile_module(wasm)?)
    }

    /// Load a module compiled by [`Filter::precompile`]. Bytes from another wasmtime version or
    /// configuration are refused with an error.
    ///
    /// # Safety
    /// wasmtime runs the machine code in `precompiled` as it is: it must come from
    /// [`Filter::precompile`] and must not have been altered since (keep it where only the
    /// operator can write).
    pub unsafe fn from_precompiled(precompiled: &[u8], budget: Budget) -> anyhow::Result<Filter> {
        let engine = engine()?;
        // SAFETY: the caller vouches that the bytes come from `precompile`.
        let module = unsafe { Module::deserialize(&engine, precompiled)? };
        Filter::from_module(engine, module, budget)
    }

    fn from_module(engine: Engine, module: Module, budget: Budget) -> anyhow::Result<Filter> {
        if let Some(import) = module.imports().next() {
            bail!("the module imports {}::{}; an ndr module imports nothing", import.module(), import.name());
        }
        let marker = format!("ndr_abi_v{ABI_MAJOR}");
        if module.get_export(&marker).is_none() {
            bail!("the module does not export {marker}: not an ndr filter module of ABI version {ABI_MAJOR}");
        }
        let linker = Linker::new(&engine);
        let pre = linker.instantiate_pre(&module)?;
        Ok(Filter { engine, pre, budget })
    }

    /// A new instance. Reuse it for many calls; discard it after a [`CallError::Trap`].
    pub fn instance(&self) -> anyhow::Result<FilterInstance> {
        let limits = StoreLimitsBuilder::new().memory_size(self.budget.memory_bytes).instances(1).build();
        let mut store = Store::new(&self.engine, limits);
        store.limiter(|l| l);
        store.set_fuel(self.budget.fuel_base)?;
        let instance = self.pre.instantiate(&mut store)?;
        FilterInstance::new(store, instance, self.budget)
    }

    /// The budget calls get.
    pub fn budget(&self) -> Budget {
        self.budget
    }
}

/// One instance of the module with its store; calls are sequential.
pub struct FilterInstance {
    store: Store<StoreLimits>,
    instance: Instance,
    budget: Budget,
    alloc: TypedFunc<i32, i32>,
    free: TypedFunc<(i32, i32), i32>,
    result_ptr: TypedFunc<(), i32>,
    result_len: TypedFunc<(), i32>,
    poisoned: bool,
    last_fuel_used: u64,
}

impl FilterInstance {
    fn new(mut store: Store<StoreLimits>, instance: Instance, budget: Budget) -> anyhow::Result<FilterInstance> {
        let s = &mut store;
        Ok(FilterInstance {
            alloc: instance.get_typed_func(&mut *s, "ndr_alloc")?,
            free: instance.get_typed_func(&mut *s, "ndr_free")?,
            result_ptr: instance.get_typed_func(&mut *s, "ndr_result_ptr")?,
            result_len: instance.get_typed_func(&mut *s, "ndr_result_len")?,
            store,
            instance,
            budget,
            poisoned: false,
            last_fuel_used: 0,
        })
    }

    /// True once a call trapped: the instance must not be used again.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Classify a message; `request_json` is the ABI request (empty for defaults). Returns the
    /// report as JSON text.
    pub fn classify(&mut self, raw: &[u8], request_json: &[u8]) -> Result<String, CallError> {
        self.message_request("ndr_classify", raw, request_json)
    }

    /// Whether a message (its headers suffice) needs its body read: `ndr_prescreen`'s answer
    /// as JSON text (`{"needs_body", "why"}`).
    pub fn prescreen(&mut self, headers: &[u8], request_json: &[u8]) -> Result<String, CallError> {
        self.message_request("ndr_prescreen", headers, request_json)
    }

    /// Call a request export (`ndr_batv_sign`, `ndr_batv_verify`, `ndr_srs_forward`,
    /// `ndr_srs_reverse`) with its JSON request; returns the answer document.
    pub fn request(&mut self, export: &str, request_json: &[u8]) -> Result<String, CallError> {
        self.guarded(request_json.len(), |this| {
            let f: TypedFunc<(i32, i32), i32> = this.instance.get_typed_func(&mut this.store, export)?;
            let req = this.put(request_json)?;
            let status = f.call(&mut this.store, req);
            this.free.call(&mut this.store, req)?;
            Ok(status?)
        })
    }

    /// Call an export that takes a message and a request (`ndr_should_bounce`, `ndr_build_dsn`).
    pub fn message_request(&mut self, export: &str, raw: &[u8], request_json: &[u8]) -> Result<String, CallError> {
        self.guarded(raw.len() + request_json.len(), |this| {
            let f: TypedFunc<(i32, i32, i32, i32), i32> = this.instance.get_typed_func(&mut this.store, export)?;
            let msg = this.put(raw)?;
            let req = this.put(request_json)?;
            let status = f.call(&mut this.store, (msg.0, msg.1, req.0, req.1));
            this.free.call(&mut this.store, msg)?;
            this.free.call(&mut this.store, req)?;
            Ok(status?)
        })
    }

    /// The module's `ndr_info` document.
    pub fn info(&mut self) -> Result<String, CallError> {
        self.guarded(0, |this| {
            let f: TypedFunc<(), i32> = this.instance.get_typed_func(&mut this.store, "ndr_info")?;
            Ok(f.call(&mut this.store, ())?)
        })
    }

    /// The ABI version the module reports, `(major, minor)`.
    pub fn abi_version(&mut self) -> Result<(u32, u32), CallError> {
        let v = self.guarded_raw(0, |this| {
            let f: TypedFunc<(), i32> = this.instance.get_typed_func(&mut this.store, "ndr_abi_version")?;
            Ok(f.call(&mut this.store, ())?)
        })?;
        Ok(((v as u32) >> 16, (v as u32) & 0xffff))
    }

    /// Direct access for conformance tests: call an export with raw i32 arguments.
    pub fn call_raw(&mut self, name: &str, args: &[i32]) -> Result<Vec<i32>, CallError> {
        self.guarded_raw(0, |this| {
            let func = this.instance.get_func(&mut this.store, name).context("no such export")?;
            let params: Vec<wasmtime::Val> = args.iter().map(|a| wasmtime::Val::I32(*a)).collect();
            let mut results = vec![wasmtime::Val::I32(0); func.ty(&this.store).results().len()];
            func.call(&mut this.store, &params, &mut results)?;
            Ok(results.iter().map(|v| v.i32().unwrap_or(0)).collect())
        })
    }

    /// The current result document (bytes of the module's result buffer).
    pub fn result_document(&mut self) -> Result<String, CallError> {
        self.guarded_raw(0, |this| this.read_result())
    }

    /// Write bytes into a fresh module buffer; `(ptr, len)`.
    fn put(&mut self, bytes: &[u8]) -> anyhow::Result<(i32, i32)> {
        let len = i32::try_from(bytes.len()).context("input over 2 GiB")?;
        let ptr = self.alloc.call(&mut self.store, len)?;
        if ptr == 0 {
            bail!("the module could not allocate {len} bytes");
        }
        let memory = self.instance.get_memory(&mut self.store, "memory").context("no memory export")?;
        memory.write(&mut self.store, ptr as u32 as usize, bytes)?;
        Ok((ptr, len))
    }

    fn read_result(&mut self) -> anyhow::Result<String> {
        let ptr = self.result_ptr.call(&mut self.store, ())? as u32 as usize;
        let len = self.result_len.call(&mut self.store, ())? as u32 as usize;
        let memory = self.instance.get_memory(&mut self.store, "memory").context("no memory export")?;
        let bytes = memory.data(&self.store).get(ptr..ptr + len).context("result outside memory")?.to_vec();
        String::from_utf8(bytes).context("result is not UTF-8")
    }

    /// Run a call that ends with an ABI status, then read the result document.
    fn guarded(
        &mut self,
        input_len: usize,
        f: impl FnOnce(&mut Self) -> anyhow::Result<i32>,
    ) -> Result<String, CallError> {
        let status = self.guarded_raw(input_len, f)?;
        self.last_fuel_used = self.fuel_budget(input_len).saturating_sub(self.store.get_fuel().unwrap_or(0));
        let doc = self.guarded_raw(0, |this| this.read_result())?;
        if status == 0 {
            return Ok(doc);
        }
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap_or_default();
        let text = |k: &str| v["error"][k].as_str().unwrap_or("").to_string();
        Err(CallError::Module { code: status, name: text("name"), message: text("message") })
    }

    /// Refuel, run, and turn every failure into a `CallError`.
    fn guarded_raw<T>(
        &mut self,
        input_len: usize,
        f: impl FnOnce(&mut Self) -> anyhow::Result<T>,
    ) -> Result<T, CallError> {
        if self.poisoned {
            return Err(CallError::Trap("instance was poisoned by an earlier failure".into()));
        }
        let fuel = self.fuel_budget(input_len);
        self.store.set_fuel(fuel).map_err(|e| CallError::Trap(e.to_string()))?;
        f(self).map_err(|e| {
            self.poisoned = true;
            match e.downcast_ref::<wasmtime::Trap>() {
                Some(wasmtime::Trap::OutOfFuel) => CallError::Budget,
                _ => CallError::Trap(format!("{e:#}")),
            }
        })
    }

    fn fuel_budget(&self, input_len: usize) -> u64 {
        self.budget.fuel_base.saturating_add(self.budget.fuel_per_byte.saturating_mul(input_len as u64))
    }

    /// Size of the instance's linear memory in bytes. Wasm memory never shrinks, so this is
    /// the most the instance has needed so far.
    pub fn memory_bytes(&mut self) -> usize {
        self.instance.get_memory(&mut self.store, "memory").map_or(0, |m| m.data_size(&self.store))
    }

    /// Fuel the last classification or request used: a noise-free cost measure.
    pub fn fuel_used(&self) -> u64 {
        self.last_fuel_used
    }
}
