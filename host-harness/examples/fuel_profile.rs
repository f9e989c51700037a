//! Per-function fuel profile of the filter module: where a classification's wasm fuel goes.
//!
//! A developer tool (`scripts/fuel-profile.sh` builds its inputs and runs it), not part of `ndr`.
//! It takes the shipped module and a copy optimised from the same build in one `wasm-opt` run
//! with `-g --log-execution`, which keeps function names and calls an imported
//! `env.log_execution(i32)` (a probe) at every function entry, before every return and at every
//! loop header. At each probe the host
//! reads the fuel left and the wasm call stack; the fuel used between two probes is charged to
//! the stack seen at the first of them: to its top function (self) and to every distinct
//! function on it (inclusive).
//!
//! A probe costs [`PROBE_FUEL`] (its `i32.const` and `call`), which is not charged to anyone, so
//! a message's profile adds up to the shipped module's fuel for it. Every message is run through
//! both modules with the calls `ndr bench` makes (after one warm-up pass; the shipped module
//! through `ndr_host` itself), and the run fails if the sums differ: attribution loses no fuel
//! and the profiled code is the shipped code.
//!
//!   fuel_profile SHIPPED.wasm INSTRUMENTED.wasm PATH... [--top N] [--middle] [--callers] [--within TEXT]

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use common::{FUEL_PER_CALL, Runner};
use wasmtime::{Caller, Config, Engine, Linker, Module, Store, WasmBacktrace};

mod common;

/// Fuel of one probe: `i32.const id` and `call $log_execution` cost one each.
const PROBE_FUEL: u64 = 2;

/// Deepest stack a probe reads; a deeper one stops the run (its outer frames would be lost).
const MAX_FRAMES: usize = 512;

/// Stands for the host: the caller of the exports, and the function of the fuel a call uses
/// before its first probe (a unit or so).
const BEFORE_PROBES: u32 = u32::MAX;

/// A call stack, innermost function first, as wasm function indices.
type Stack = Vec<u32>;

/// What the probes collect while one message is classified.
#[derive(Default)]
struct Probes {
    recording: bool,
    fuel_at_last_probe: u64,
    stack_at_last_probe: Stack,
    fuel_by_stack: HashMap<Stack, u64>,
    names: HashMap<u32, String>,
    count: u64,
    deepest: usize,
}

impl Probes {
    /// Charge the fuel used since the last probe (less this probe's own) to the last probe's
    /// stack, and remember `fuel_left` and `stack` for the next charge.
    fn charge(&mut self, fuel_left: u64, probe_fuel: u64, stack: Stack) {
        let used = self.fuel_at_last_probe.saturating_sub(fuel_left).saturating_sub(probe_fuel);
        let previous = std::mem::replace(&mut self.stack_at_last_probe, stack);
        *self.fuel_by_stack.entry(previous).or_default() += used;
        self.fuel_at_last_probe = fuel_left;
    }
}

fn log_execution(mut caller: Caller<'_, Probes>, _probe_id: i32) {
    if !caller.data().recording {
        return;
    }
    let fuel_left = caller.get_fuel().unwrap_or(0);
    let trace = WasmBacktrace::capture(&caller);
    let probes = caller.data_mut();
    let stack: Stack = trace.frames().iter().map(|f| f.func_index()).collect();
    probes.deepest = probes.deepest.max(stack.len());
    for frame in trace.frames() {
        probes
            .names
            .entry(frame.func_index())
            .or_insert_with(|| frame.func_name().map_or_else(|| format!("func[{}]", frame.func_index()), demangle));
    }
    probes.count += 1;
    probes.charge(fuel_left, PROBE_FUEL, stack);
}

/// `_ZN…17h0123456789abcdefE` → `crate::path::name`, without the hash.
fn demangle(name: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(name))
}

/// Load the instrumented module with the probes linked in.
fn instrumented(engine: &Engine, wasm: &Path, linker: &Linker<Probes>) -> anyhow::Result<Runner<Probes>> {
    let module = Module::from_file(engine, wasm).map_err(|e| anyhow::anyhow!("{}: {e}", wasm.display()))?;
    let mut store = Store::new(engine, Probes::default());
    store.set_fuel(FUEL_PER_CALL)?;
    let instance = linker.instantiate(&mut store, &module)?;
    Runner::new(store, instance)
}

/// Classify one message in the instrumented module; the fuel used, probes included.
fn run(runner: &mut Runner<Probes>, message: &[u8], request: &[u8]) -> anyhow::Result<u64> {
    runner.store.set_fuel(FUEL_PER_CALL)?;
    let probes = runner.store.data_mut();
    probes.fuel_at_last_probe = FUEL_PER_CALL;
    probes.stack_at_last_probe.clear();
    probes.fuel_by_stack.clear();
    runner.classify(message, request)?;
    let fuel_left = runner.store.get_fuel()?;
    runner.store.data_mut().charge(fuel_left, 0, Stack::new());
    Ok(FUEL_PER_CALL - fuel_left)
}

/// One message's profile.
struct Profile {
    fuel: u64,
    fuel_by_stack: HashMap<Stack, u64>,
}

struct Args {
    shipped: PathBuf,
    instrumented: PathBuf,
    paths: Vec<PathBuf>,
    top: usize,
    middle: bool,
    /// Name every function's main caller, not only those whose name is shared.
    callers: bool,
    /// Count only the fuel of stacks with a function whose name contains this.
    within: Option<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut positional = Vec::new();
    let (mut top, mut middle, mut callers, mut within) = (30, false, false, None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--top" => top = it.next().context("--top needs a number")?.parse()?,
            "--middle" => middle = true,
            "--callers" => callers = true,
            "--within" => within = Some(it.next().context("--within needs a name")?),
            _ => positional.push(PathBuf::from(a)),
        }
    }
    if positional.len() < 3 {
        bail!(
            "usage: fuel_profile SHIPPED.wasm INSTRUMENTED.wasm PATH... [--top N] [--middle] [--callers] [--within TEXT]"
        );
    }
    let paths = positional.split_off(2);
    Ok(Args { shipped: positional.remove(0), instrumented: positional.remove(0), paths, top, middle, callers, within })
}

fn main() -> ExitCode {
    common::exit("fuel_profile", profile())
}

fn profile() -> anyhow::Result<()> {
    let args = args()?;
    let messages = common::messages(&args.paths)?;
    let request = common::request();
    let mut config = Config::new();
    config.consume_fuel(true).wasm_backtrace_max_frames(NonZeroUsize::new(MAX_FRAMES));
    let engine = Engine::new(&config)?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "log_execution", log_execution)?;
    // The shipped module as `ndr bench` runs it: its fuel is the figure the profile must match.
    let mut shipped = ndr_host::Filter::from_file(&args.shipped, ndr_host::Budget::default())?.instance()?;
    let mut instrumented = instrumented(&engine, &args.instrumented, &linker)?;

    // A warm-up pass, as `ndr bench` does: the allocator's first calls grow memory.
    for m in &messages {
        shipped.classify(m, &request)?;
        run(&mut instrumented, m, &request)?;
    }
    instrumented.store.data_mut().recording = true;
    let mut profiles = Vec::with_capacity(messages.len());
    for (n, m) in messages.iter().enumerate() {
        shipped.classify(m, &request)?;
        let fuel = shipped.fuel_used();
        let probes_before = instrumented.store.data().count;
        let fuel_instrumented = run(&mut instrumented, m, &request)?;
        let probes = instrumented.store.data_mut();
        let fuel_by_stack = std::mem::take(&mut probes.fuel_by_stack);
        let attributed: u64 = fuel_by_stack.values().sum();
        let probe_fuel = (probes.count - probes_before) * PROBE_FUEL;
        if attributed + probe_fuel != fuel_instrumented || attributed != fuel {
            bail!(
                "message {n}: shipped module {fuel} fuel, instrumented {fuel_instrumented} with {probe_fuel} in \
                 probes, {attributed} attributed: the profile would not add up"
            );
        }
        profiles.push(Profile { fuel, fuel_by_stack });
    }
    let probes = instrumented.store.data();
    if probes.deepest >= MAX_FRAMES {
        bail!("a call stack reached {MAX_FRAMES} frames: raise MAX_FRAMES");
    }
    print_profile(&args, &mut profiles, &probes.names, probes.count);
    Ok(())
}

fn print_profile(args: &Args, profiles: &mut [Profile], names: &HashMap<u32, String>, probe_count: u64) {
    profiles.sort_by_key(|p| p.fuel);
    let n = profiles.len();
    let p50 = profiles[(n - 1) / 2].fuel;
    let chosen = if args.middle { &profiles[common::middle_fifth(n)] } else { &profiles[..] };
    let mut self_fuel: HashMap<u32, u64> = HashMap::new();
    let mut inclusive: HashMap<u32, u64> = HashMap::new();
    // Inclusive fuel by (function, its caller), to tell apart functions of one name.
    let mut by_caller: HashMap<(u32, u32), u64> = HashMap::new();
    let plain_name = |f: u32| names.get(&f).map_or("(the host)", String::as_str);
    let wanted = |stack: &Stack| args.within.as_ref().is_none_or(|w| stack.iter().any(|&f| plain_name(f).contains(w)));
    let mut within = 0;
    for (stack, &fuel) in chosen.iter().flat_map(|p| &p.fuel_by_stack).filter(|(stack, _)| wanted(stack)) {
        within += fuel;
        *self_fuel.entry(stack.first().copied().unwrap_or(BEFORE_PROBES)).or_default() += fuel;
        for (depth, &f) in stack.iter().enumerate() {
            if !stack[..depth].contains(&f) {
                *inclusive.entry(f).or_default() += fuel;
                *by_caller.entry((f, stack.get(depth + 1).copied().unwrap_or(BEFORE_PROBES))).or_default() += fuel;
            }
        }
    }
    let total: u64 = chosen.iter().map(|p| p.fuel).sum();
    println!(
        "{} of {n} messages{}; fuel per message: p50 {p50} (all), mean {} (these); {probe_count} probes in all \
         ({PROBE_FUEL} fuel each, left out); every message's profile adds up to the shipped module's fuel",
        chosen.len(),
        if args.middle { " (p40-p60 by fuel)" } else { "" },
        total / chosen.len() as u64,
    );
    let pct = |f: u64| 100.0 * f as f64 / total as f64;
    if let Some(w) = &args.within {
        println!(
            "only the fuel spent within functions named *{w}*: {:.2}% of all",
            100.0 * within as f64 / total as f64
        );
    }
    let mut functions_named: HashMap<&str, usize> = HashMap::new();
    for n in names.values() {
        *functions_named.entry(n).or_default() += 1;
    }
    // Generic instances and closures share names (`OnceCell<T>::try_init`): add the function's
    // index and its main caller.
    let name = |f: &u32| {
        let own = plain_name(*f);
        if !args.callers && functions_named.get(own).copied().unwrap_or(0) < 2 {
            return own.to_string();
        }
        let caller = by_caller.iter().filter(|((g, _), _)| g == f).max_by_key(|(key, fuel)| (**fuel, key.1));
        caller.map_or(own.to_string(), |((_, c), _)| format!("{own}  (function {f}, from {})", plain_name(*c)))
    };
    for (title, order) in [("self", &self_fuel), ("inclusive", &inclusive)] {
        let mut ranked: Vec<(&u32, &u64)> = order.iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        println!("\nby {title} fuel:\n rank   self%  incl%  function");
        for (rank, (f, _)) in ranked.iter().take(args.top).enumerate() {
            let s = self_fuel.get(f).copied().unwrap_or(0);
            let i = inclusive.get(f).copied().unwrap_or(0);
            println!("{:5} {:7.2} {:6.2}  {}", rank + 1, pct(s), pct(i), name(f));
        }
    }
}
