//! Where the filter module's wall time goes, and what fuel metering adds to it.
//!
//! A developer tool (`scripts/wall-profile.sh` builds its inputs and runs it under `perf`), not
//! part of `ndr`. Fuel is the project's CPU bound and `scripts/fuel-profile.sh` says where it
//! goes, but fuel counts wasm instructions: a `memory.copy` is charged per byte, a table
//! look-up like an add. This runs the same calls `ndr bench` makes and times them, so that
//! `perf` can say where the time goes:
//!
//! - `--perf-map`: wasmtime writes `/tmp/perf-PID.map`, which names the compiled functions for
//!   `perf report` (a module built with its name section, e.g. `wasm-opt -g`);
//! - `--compare-fuel`: the messages are timed alternately in an engine with fuel metering and
//!   in one without it, and both are printed: the cost of metering itself.
//!
//!   wall_profile MODULE.wasm PATH... [--passes N] [--middle] [--perf-map] [--compare-fuel]
//!
//! `--middle` keeps the p40-p60 messages by fuel, as `fuel_profile --middle` does, so that the
//! profile describes the p50 message.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use common::{FUEL_PER_CALL, Runner};
use wasmtime::{Config, Engine, Linker, Module, ProfilingStrategy, Store};

mod common;

/// A module instance in an engine with or without fuel metering.
struct Timed {
    runner: Runner<()>,
    fuel: bool,
}

impl Timed {
    fn new(wasm: &[u8], fuel: bool, perf_map: bool) -> anyhow::Result<Timed> {
        let mut config = Config::new();
        config.consume_fuel(fuel);
        if perf_map {
            config.profiler(ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, wasm)?;
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
        Ok(Timed { runner: Runner::new(store, instance)?, fuel })
    }

    /// Classify one message: the fuel used (0 without metering) and the nanoseconds taken.
    fn run(&mut self, message: &[u8], request: &[u8]) -> anyhow::Result<(u64, u128)> {
        if self.fuel {
            self.runner.store.set_fuel(FUEL_PER_CALL)?;
        }
        let started = Instant::now();
        self.runner.classify(message, request)?;
        let took = started.elapsed().as_nanos();
        let used = if self.fuel { FUEL_PER_CALL - self.runner.store.get_fuel()? } else { 0 };
        Ok((used, took))
    }

    /// Each message's fastest time over `passes` passes, in nanoseconds.
    fn fastest(&mut self, messages: &[Vec<u8>], request: &[u8], passes: usize) -> anyhow::Result<Vec<u128>> {
        let mut best = vec![u128::MAX; messages.len()];
        for _ in 0..passes {
            for (best, message) in best.iter_mut().zip(messages) {
                *best = (*best).min(self.run(message, request)?.1);
            }
        }
        Ok(best)
    }
}

struct Args {
    module: PathBuf,
    paths: Vec<PathBuf>,
    passes: usize,
    middle: bool,
    perf_map: bool,
    compare_fuel: bool,
}

fn args() -> anyhow::Result<Args> {
    let (mut passes, mut middle, mut perf_map, mut compare_fuel) = (20, false, false, false);
    let mut positional = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--passes" => passes = it.next().context("--passes N")?.parse()?,
            "--middle" => middle = true,
            "--perf-map" => perf_map = true,
            "--compare-fuel" => compare_fuel = true,
            _ => positional.push(PathBuf::from(a)),
        }
    }
    if positional.len() < 2 || passes == 0 {
        bail!("usage: wall_profile MODULE.wasm PATH... [--passes N] [--middle] [--perf-map] [--compare-fuel]");
    }
    let module = positional.remove(0);
    Ok(Args { module, paths: positional, passes, middle, perf_map, compare_fuel })
}

/// The p50 and p90 of `nanos`, in microseconds.
fn percentiles(mut nanos: Vec<u128>) -> (f64, f64) {
    nanos.sort_unstable();
    let at = |q: usize| nanos[(nanos.len() - 1) * q / 100] as f64 / 1000.0;
    (at(50), at(90))
}

fn main() -> ExitCode {
    common::exit("wall_profile", profile())
}

fn profile() -> anyhow::Result<()> {
    let args = args()?;
    let mut messages = common::messages(&args.paths)?;
    let request = common::request();
    let wasm = std::fs::read(&args.module).with_context(|| args.module.display().to_string())?;
    let mut metered = Timed::new(&wasm, true, args.perf_map)?;
    if args.middle {
        let mut by_fuel = Vec::with_capacity(messages.len());
        for message in messages {
            by_fuel.push((metered.run(&message, &request)?.0, message));
        }
        by_fuel.sort_by_key(|(fuel, _)| *fuel);
        messages = by_fuel.drain(common::middle_fifth(by_fuel.len())).map(|(_, m)| m).collect();
    }
    let (p50, p90) = percentiles(metered.fastest(&messages, &request, args.passes)?);
    println!(
        "{} messages{}, each one's fastest of {} passes, with fuel metering: p50 {p50:.1} µs, p90 {p90:.1} µs",
        messages.len(),
        if args.middle { " (p40-p60 by fuel)" } else { "" },
        args.passes
    );
    if args.compare_fuel {
        // Alternate the two engines pass by pass, so that a change in the machine's speed falls
        // on both alike.
        let mut unmetered = Timed::new(&wasm, false, args.perf_map)?;
        let (mut with, mut without) = (vec![u128::MAX; messages.len()], vec![u128::MAX; messages.len()]);
        for _ in 0..args.passes {
            for (best, took) in with.iter_mut().zip(metered.fastest(&messages, &request, 1)?) {
                *best = (*best).min(took);
            }
            for (best, took) in without.iter_mut().zip(unmetered.fastest(&messages, &request, 1)?) {
                *best = (*best).min(took);
            }
        }
        let ((w50, w90), (n50, n90)) = (percentiles(with), percentiles(without));
        println!(
            "alternated: with fuel metering p50 {w50:.1} µs, p90 {w90:.1} µs; without p50 {n50:.1} µs, p90 {n90:.1} µs"
        );
        println!(
            "fuel metering adds {:.0}% at p50, {:.0}% at p90",
            100.0 * (w50 / n50 - 1.0),
            100.0 * (w90 / n90 - 1.0)
        );
    }
    Ok(())
}
