//! `ndr`: the command-line program on the wasm module.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ndr_host::{Budget, Filter, FilterInstance, request, source};
use serde_json::{Value, json};

mod output;

#[derive(Parser)]
#[command(
    name = "ndr",
    version,
    about = "Classify bounces, auto-replies and backscatter with the sandboxed filter module"
)]
struct Cli {
    /// The wasm module (default: $NDR_MODULE, beside the executable, or the cargo target folder).
    #[arg(long, global = true)]
    module: Option<PathBuf>,
    /// Fuel per call, plus --fuel-per-byte for each input byte.
    #[arg(long, global = true, default_value_t = Budget::default().fuel_base)]
    fuel: u64,
    #[arg(long, global = true, default_value_t = Budget::default().fuel_per_byte)]
    fuel_per_byte: u64,
    /// Memory limit of the module instance, in MiB.
    #[arg(long, global = true, default_value_t = Budget::default().memory_bytes >> 20)]
    memory_mb: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Classify .eml files, folders (recursively, Maildir too) and mbox files.
    Scan {
        /// Files and folders to read.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// JSON Lines: one object per message.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        request: RequestArgs,
    },
    /// Show every signal behind the verdict on one message.
    Explain {
        file: PathBuf,
        /// The whole report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        request: RequestArgs,
    },
    /// Measure classification speed on a folder of mail: messages/s, MB/s, per-message percentiles.
    Bench {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A fresh module instance per message instead of one reused instance.
        #[arg(long)]
        fresh: bool,
        /// Passes over the messages (the first one warms up and is not counted).
        #[arg(long, default_value_t = 3)]
        passes: usize,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        request: RequestArgs,
    },
    /// Write every message of files, folders and mbox files to a folder, one file each
    /// (`000001.eml`, …), and print one JSON line per message: its source and the file written.
    Split {
        /// Files and folders to read.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The folder to write to (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the module's ABI version and what it knows.
    Info,
    /// BATV: sign envelope senders, verify the tags of bounce recipients.
    Batv {
        #[command(subcommand)]
        op: BatvOp,
    },
    /// SRS: rewrite senders for forwarding, reverse bounce recipients.
    Srs {
        #[command(subcommand)]
        op: SrsOp,
    },
    /// Run as a milter for Postfix or Sendmail (README, "Mail server integration").
    Milter {
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Run as a Postfix policy service: RCPT-time BATV decisions (`check_policy_service`).
    Policy {
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Run as an HTTP service: /classify, /batv/verify, /health, and Stalwart's MTA Hooks at
    /// /stalwart (README, "HTTP service").
    Serve {
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Write the man pages or shell completions into DIR (used to build the package).
    #[command(hide = true)]
    Generate { what: Generated, dir: PathBuf },
    /// Check a site configuration file as the services load it: every problem as
    /// FILE:LINE: key: what is wrong. Exit 0 when valid, 2 otherwise.
    CheckConfig {
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a running service's counters (`[service] metrics_listen`): decisions by kind,
    /// verdict and action, failures, BATV results and call latency.
    Stats {
        /// The service's metrics URL.
        #[arg(long, default_value = "http://127.0.0.1:9187/metrics")]
        url: String,
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what the configured [state] backend holds: the report sources with the most
    /// backscatter, the fullest limit buckets, and the sent-mail registry's size.
    State {
        /// Site configuration with the [state] section.
        #[arg(long)]
        config: PathBuf,
        /// How many sources and buckets to list.
        #[arg(long, default_value_t = 20)]
        top: usize,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What `ndr generate` writes.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Generated {
    Man,
    Completions,
}

/// Options of the mail services.
#[derive(clap::Args)]
struct ServiceArgs {
    /// Where to listen: inet:HOST:PORT or unix:PATH.
    #[arg(long)]
    listen: ndr_host::service::Listen,
    /// Site configuration with an optional [service] section; SIGHUP reads it again.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Test hook: make every module call fail (trap) or hang (stall).
    #[arg(long, hide = true)]
    test_fault: Option<ndr_host::service::Fault>,
}

/// What a classification request carries besides the message.
#[derive(clap::Args, Clone, Default)]
struct RequestArgs {
    /// Site configuration (TOML, or JSON for *.json).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The time in Unix seconds (default: the clock).
    #[arg(long)]
    now: Option<u64>,
    /// Facts a service would know besides the message (ABI 1.4), as JSON:
    /// {"sent_registry": true, "source_reputation": {"backscatter": 12, "legitimate": 0}}.
    #[arg(long)]
    facts: Option<PathBuf>,
    #[command(flatten)]
    envelope: EnvelopeArgs,
}

/// The SMTP envelope, for stored mail whose delivery headers are missing or wrong. Parts not
/// given are read from the delivery headers (Return-Path, X-Original-To, Delivered-To).
#[derive(clap::Args, Clone, Default)]
struct EnvelopeArgs {
    /// MAIL FROM ("" or "<>" for the null sender).
    #[arg(long)]
    mail_from: Option<String>,
    /// RCPT TO (repeat for several).
    #[arg(long)]
    rcpt: Vec<String>,
    /// The SMTP client's address.
    #[arg(long)]
    client_ip: Option<String>,
}

impl EnvelopeArgs {
    fn to_json(&self) -> Option<Value> {
        if self.mail_from.is_none() && self.rcpt.is_empty() && self.client_ip.is_none() {
            return None;
        }
        Some(request::envelope(self.mail_from.as_deref(), &self.rcpt, self.client_ip.as_deref(), None))
    }
}

/// Options shared by the address commands.
#[derive(clap::Args)]
struct AddressArgs {
    /// The address.
    address: String,
    /// Site configuration with the [batv] or [srs] section (TOML, or JSON for *.json).
    #[arg(long, required = true)]
    config: PathBuf,
    /// The time in Unix seconds (default: the clock).
    #[arg(long)]
    now: Option<u64>,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum BatvOp {
    /// Sign an envelope sender: prvs=KDDDSSSSSS=local@domain.
    Sign {
        #[command(flatten)]
        args: AddressArgs,
        /// The recipient the mail goes to (exempt destinations get an untagged sender).
        #[arg(long)]
        destination: Option<String>,
    },
    /// Verify the tag on the recipient of a bounce.
    Verify {
        #[command(flatten)]
        args: AddressArgs,
    },
}

#[derive(Subcommand)]
enum SrsOp {
    /// Rewrite a sender for forwarding (SRS0, or SRS1 for a second hop).
    Forward {
        #[command(flatten)]
        args: AddressArgs,
    },
    /// Reverse one of our SRS addresses to the original sender.
    Reverse {
        #[command(flatten)]
        args: AddressArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Reads a running service's counters over HTTP: no module needed.
    if let Command::Stats { url, json } = &cli.command {
        return match ndr_host::metrics::stats(url, *json) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ndr: {e}");
                ExitCode::from(2)
            }
        };
    }
    // Reads the state backend: no module needed.
    if let Command::State { config, top, json } = &cli.command {
        return state_command(config, *top, *json);
    }
    // Needs no module: the package build runs it before the module is in place.
    if let Command::Generate { what, dir } = &cli.command {
        let cmd = <Cli as clap::CommandFactory>::command();
        let written = match what {
            Generated::Man => ndr_host::cli_docs::write_man_pages(cmd, dir),
            Generated::Completions => ndr_host::cli_docs::write_completions(cmd, dir),
        };
        return written.map_or_else(
            |e| {
                eprintln!("ndr: {e:#}");
                ExitCode::from(2)
            },
            |()| ExitCode::SUCCESS,
        );
    }
    let budget = Budget { fuel_base: cli.fuel, fuel_per_byte: cli.fuel_per_byte, memory_bytes: cli.memory_mb << 20 };
    let filter = match ndr_host::find_module(cli.module.clone()).and_then(|p| {
        let cache = ndr_host::compile_cache::default_dir();
        ndr_host::compile_cache::load(&p, budget, cache.as_deref()).map_err(|e| format!("{e:#}"))
    }) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("ndr: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Info => {
            match filter.instance().map_err(|e| format!("{e:#}")).and_then(|mut i| i.info().map_err(|e| e.to_string()))
            {
                Ok(info) => {
                    println!("{info}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("ndr: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Batv { op: BatvOp::Sign { args, destination } } => {
            address_command(&filter, "ndr_batv_sign", &args, destination)
        }
        Command::Batv { op: BatvOp::Verify { args } } => address_command(&filter, "ndr_batv_verify", &args, None),
        Command::Srs { op: SrsOp::Forward { args } } => address_command(&filter, "ndr_srs_forward", &args, None),
        Command::Srs { op: SrsOp::Reverse { args } } => address_command(&filter, "ndr_srs_reverse", &args, None),
        Command::CheckConfig { file, json } => check_config(filter, &file, json),
        Command::Stats { .. } | Command::State { .. } => unreachable!("handled before the module is loaded"),
        Command::Generate { .. } => unreachable!("handled before the module is loaded"),
        Command::Milter { service } => run_service("milter", filter, service),
        Command::Policy { service } => run_service("policy", filter, service),
        Command::Serve { service } => run_service("serve", filter, service),
        Command::Bench { paths, fresh, passes, json, request: args } => match request(&args) {
            Ok(req) => bench(&filter, &paths, fresh, passes.max(2), json, &req),
            Err(e) => {
                eprintln!("ndr: {e}");
                ExitCode::from(2)
            }
        },
        Command::Explain { file, json, request: args } => match request(&args) {
            Ok(req) => explain(&filter, &file, &req, json),
            Err(e) => {
                eprintln!("ndr: {e}");
                ExitCode::from(2)
            }
        },
        Command::Split { paths, out } => split(&paths, &out),
        Command::Scan { paths, json, request: args } => match request(&args) {
            Ok(req) => scan(&filter, &paths, json, &req, max_message_bytes(&req)),
            Err(e) => {
                eprintln!("ndr: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// `ndr check-config`: the services' own validation of a file.
fn check_config(filter: Filter, file: &std::path::Path, json: bool) -> ExitCode {
    let pool = ndr_host::pool::Pool::new(filter, 1);
    match ndr_host::service::check_config(file, &pool) {
        Ok(_) => {
            if json {
                println!("{}", json!({"file": file.display().to_string(), "valid": true, "errors": []}));
            } else {
                println!("{}: OK", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(invalid) => {
            if json {
                println!("{}", invalid.to_json());
            } else {
                eprintln!("{invalid}");
            }
            ExitCode::from(2)
        }
    }
}

/// `ndr milter`, `ndr policy` and `ndr serve`: serve until killed.
fn run_service(name: &'static str, filter: Filter, args: ServiceArgs) -> ExitCode {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = match runtime.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ndr: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        let pool = ndr_host::pool::Pool::new(filter, ndr_host::pool::MAX_IDLE);
        // An invalid file never starts a service: it would fail open.
        let svc = ndr_host::service::Service::new(name, pool, args.config.clone(), args.test_fault)
            .map_err(|e| anyhow::anyhow!("refusing to start, invalid configuration:\n{e}"))?;
        match name {
            "milter" => ndr_host::milter::run(&args.listen, svc).await,
            "serve" => ndr_host::serve::run(&args.listen, svc).await,
            _ => ndr_host::policy::run(&args.listen, svc).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ndr: {name}: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The ABI request document: configuration, time and envelope.
fn request(args: &RequestArgs) -> Result<Vec<u8>, String> {
    let now = args.now.unwrap_or_else(request::unix_now);
    let config = args.config.as_deref().map(request::read_config).transpose()?;
    let mut req = request::classify(config.as_ref().map(|c| &c.module), now, args.envelope.to_json());
    if let Some(path) = &args.facts {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let facts: Value = serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        if !facts.is_object() {
            return Err(format!("{}: the facts must be a JSON object", path.display()));
        }
        req["facts"] = facts;
    }
    Ok(req.to_string().into_bytes())
}

/// `ndr state`: the configured backend's sources, buckets and registry size.
fn state_command(config: &std::path::Path, top: usize, json: bool) -> ExitCode {
    let run = || -> Result<Value, String> {
        let file = request::read_config(config)?;
        let c = file.state.ok_or_else(|| format!("{}: no [state] section", config.display()))?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        runtime.block_on(ndr_host::state::show::snapshot_json(&c, top))
    };
    match run() {
        Ok(v) if json => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Ok(v) => {
            print!("{}", ndr_host::state::show::to_text(&v));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ndr: state: {e}");
            ExitCode::from(2)
        }
    }
}

/// `ndr batv …` and `ndr srs …`: one request to the module, one answer.
fn address_command(filter: &Filter, export: &str, args: &AddressArgs, destination: Option<String>) -> ExitCode {
    let run = || -> Result<Value, String> {
        let config = request::read_config(&args.config)?;
        let now = args.now.unwrap_or_else(request::unix_now);
        let req = request::address(Some(&config.module), now, &args.address, destination.as_deref());
        let mut instance = filter.instance().map_err(|e| format!("cannot instantiate the module: {e:#}"))?;
        let answer = instance.request(export, req.to_string().as_bytes()).map_err(|e| e.to_string())?;
        serde_json::from_str(&answer).map_err(|e| format!("bad answer from the module: {e}"))
    };
    let answer = match run() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ndr: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!("{answer}");
    } else {
        println!("{}", human_answer(export, &answer));
    }
    // Verification that fails, or a reversal that does not verify, exits 1 so scripts can test it.
    let failed = match export {
        "ndr_batv_verify" => answer["result"] != "valid",
        "ndr_srs_reverse" => answer["address"].is_null(),
        _ => false,
    };
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn human_answer(export: &str, a: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    match export {
        "ndr_batv_sign" if a["signed"] == true => s(&a["address"]),
        "ndr_batv_sign" => format!("{}\t(unchanged: {})", s(&a["address"]), s(&a["skipped"])),
        "ndr_batv_verify" => {
            let mut line = format!("{}\t{}", s(&a["result"]), s(&a["address"]));
            if let Some(k) = a["key"].as_u64() {
                line.push_str(&format!("\tkey {k}"));
            }
            if a["case_folded"] == true {
                line.push_str("\tcase-folded");
            }
            if let Some(d) = a["days_past"].as_u64() {
                line.push_str(&format!("\texpired {d} days ago"));
            }
            if let Some(t) = a["tag_kind"].as_str() {
                line.push_str(&format!("\ttag {t}"));
            }
            if a["enforcing"] == false {
                line.push_str("\tobserve period");
            }
            line
        }
        "ndr_srs_reverse" if a["address"].is_string() => s(&a["address"]),
        "ndr_srs_reverse" => format!("not reversed: {}", s(&a["error"])),
        _ => s(&a["address"]),
    }
}

fn split(paths: &[PathBuf], out: &std::path::Path) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("ndr: cannot create {}: {e}", out.display());
        return ExitCode::from(2);
    }
    let mut failed = false;
    let mut written = 0;
    for file in source::files(paths) {
        let items = match file {
            Ok(path) => source::messages(&path),
            Err((path, e)) => {
                eprintln!("ndr: {}: {e}", path.display());
                failed = true;
                continue;
            }
        };
        for item in items {
            let bytes = match item.bytes {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("ndr: {e}");
                    failed = true;
                    continue;
                }
            };
            written += 1;
            let target = out.join(format!("{written:06}.eml"));
            if let Err(e) = std::fs::write(&target, bytes) {
                eprintln!("ndr: cannot write {}: {e}", target.display());
                return ExitCode::from(2);
            }
            println!("{}", json!({"file": item.file, "index": item.index, "written": target.display().to_string()}));
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// `[limits] max_message_bytes` of a request (the module's default when not set): the most
/// of a file worth reading, since the module reads no more.
fn max_message_bytes(req: &[u8]) -> usize {
    serde_json::from_slice::<Value>(req)
        .ok()
        .and_then(|r| r["config"]["limits"]["max_message_bytes"].as_u64())
        .map_or(ndr_filter::Limits::default().max_message_bytes, |n| n as usize)
}

fn scan(filter: &Filter, paths: &[PathBuf], json: bool, req: &[u8], max_bytes: usize) -> ExitCode {
    let files = source::files(paths);
    let progress = if std::io::stderr().is_terminal() && files.len() > 20 {
        indicatif::ProgressBar::new(files.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut instance: Option<FilterInstance> = None;
    let mut unreadable = 0;
    let mut summary = output::Summary::default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if !json {
        let _ = writeln!(out, "{}", output::table_header());
    }
    // Config errors are the same for every message: check once, before the first message.
    if let Err(e) = get_instance(filter, &mut instance).and_then(|i| i.classify(b"", req).map_err(|e| e.to_string())) {
        eprintln!("ndr: {e}");
        return ExitCode::from(2);
    }
    for file in files {
        progress.inc(1);
        let items: Box<dyn Iterator<Item = source::Item>> = match file {
            Ok(path) => source::read(&path, max_bytes),
            Err((path, e)) => {
                let why = if e.starts_with("skipped") {
                    format!("{}: {e}", path.display())
                } else {
                    format!("cannot read {}: {e}", path.display())
                };
                Box::new(std::iter::once(source::Item {
                    file: path.display().to_string(),
                    index: None,
                    bytes: Err(why),
                }))
            }
        };
        for item in items {
            let record = match &item.bytes {
                Err(e) => {
                    unreadable += 1;
                    progress.suspend(|| eprintln!("ndr: {e}"));
                    output::failed(e)
                }
                Ok(bytes) => match get_instance(filter, &mut instance)
                    .and_then(|i| i.classify(bytes, req).map_err(|e| e.to_string()))
                {
                    Ok(doc) => serde_json::from_str(&doc)
                        .unwrap_or_else(|e| output::failed(&format!("bad result document: {e}"))),
                    Err(e) => {
                        if instance.as_ref().is_some_and(FilterInstance::is_poisoned) {
                            instance = None;
                        }
                        output::failed(&e)
                    }
                },
            };
            let line = output::with_file(record, &item.file, item.index);
            summary.add(&line);
            let _ = if json { writeln!(out, "{line}") } else { writeln!(out, "{}", output::table_row(&line)) };
        }
    }
    progress.finish_and_clear();
    if !json {
        let _ = write!(out, "{}", summary.render(output::site_configured(req)));
    }
    let _ = out.flush();
    if unreadable > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn get_instance<'a>(filter: &Filter, slot: &'a mut Option<FilterInstance>) -> Result<&'a mut FilterInstance, String> {
    if slot.is_none() {
        *slot = Some(filter.instance().map_err(|e| format!("cannot instantiate the module: {e:#}"))?);
    }
    slot.as_mut().ok_or_else(|| "no instance".to_string())
}

/// `ndr explain`: the verdict on one message and every signal behind it.
fn explain(filter: &Filter, file: &std::path::Path, req: &[u8], json: bool) -> ExitCode {
    let raw = match std::fs::read(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ndr: cannot read {}: {e}", file.display());
            return ExitCode::from(1);
        }
    };
    let report = match filter
        .instance()
        .map_err(|e| format!("{e:#}"))
        .and_then(|mut i| i.classify(&raw, req).map_err(|e| e.to_string()))
    {
        Ok(doc) => serde_json::from_str::<Value>(&doc).unwrap_or_default(),
        Err(e) => {
            eprintln!("ndr: {e}");
            return ExitCode::from(2);
        }
    };
    if json {
        println!("{report}");
        return ExitCode::SUCCESS;
    }
    println!("{}", output::explain_text(file, &report, req, &raw));
    ExitCode::SUCCESS
}

/// `ndr bench`: time every message through the module, after one warm-up pass.
fn bench(filter: &Filter, paths: &[PathBuf], fresh: bool, passes: usize, json: bool, req: &[u8]) -> ExitCode {
    let messages: Vec<Vec<u8>> = source::files(paths)
        .into_iter()
        .filter_map(Result::ok)
        .flat_map(|p| source::messages(&p))
        .filter_map(|i| i.bytes.ok())
        .collect();
    if messages.is_empty() {
        eprintln!("ndr: no readable messages");
        return ExitCode::from(1);
    }
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let mut reused = match filter.instance() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("ndr: cannot instantiate the module: {e:#}");
            return ExitCode::from(2);
        }
    };
    let mut times: Vec<f64> = Vec::with_capacity(messages.len() * (passes - 1));
    // Per message: its fastest timed pass (other work on the machine only ever adds time) and
    // the fuel it used (the same on every pass: the count of wasm instructions).
    let mut best = vec![f64::INFINITY; messages.len()];
    let mut fuel_each = vec![0u64; messages.len()];
    let (mut failures, mut fuel, mut memory) = (0usize, 0u64, 0usize);
    let started = std::time::Instant::now();
    for pass in 0..passes {
        for (n, m) in messages.iter().enumerate() {
            let fuel_before = fuel;
            let t = std::time::Instant::now();
            let outcome = if fresh {
                filter.instance().map_err(|e| e.to_string()).and_then(|mut i| {
                    let r = i.classify(m, req).map_err(|e| e.to_string());
                    fuel += i.fuel_used();
                    memory = memory.max(i.memory_bytes());
                    r
                })
            } else {
                let r = reused.classify(m, req).map_err(|e| e.to_string());
                fuel += reused.fuel_used();
                memory = memory.max(reused.memory_bytes());
                if reused.is_poisoned() {
                    reused = match filter.instance() {
                        Ok(i) => i,
                        Err(_) => return ExitCode::from(2),
                    };
                }
                r
            };
            if pass > 0 {
                let us = t.elapsed().as_secs_f64() * 1e6;
                times.push(us);
                best[n] = best[n].min(us);
                fuel_each[n] = fuel - fuel_before;
                failures += outcome.is_err() as usize;
            }
        }
        if pass == 0 {
            fuel = 0;
        }
    }
    let total = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    let timed_secs: f64 = times.iter().sum::<f64>() / 1e6;
    best.sort_by(f64::total_cmp);
    fuel_each.sort_unstable();
    let middle = |v: usize| (v - 1) / 2;
    let figures = json!({
        "messages": messages.len(),
        "bytes": bytes,
        "passes_timed": passes - 1,
        "instance": if fresh { "fresh per message" } else { "reused" },
        "messages_per_second": times.len() as f64 / timed_secs,
        "mb_per_second": (bytes * (passes - 1)) as f64 / 1e6 / timed_secs,
        "us_per_message": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0), "mean": timed_secs * 1e6 / times.len() as f64},
        "us_per_message_best_pass": {"p50": best[middle(best.len())], "p90": best[(best.len() - 1) * 9 / 10]},
        "fuel_per_byte": fuel as f64 / (bytes * (passes - 1)) as f64,
        "fuel_per_message": {"p50": fuel_each[middle(fuel_each.len())], "p90": fuel_each[(fuel_each.len() - 1) * 9 / 10]},
        "memory_bytes_max": memory,
        "failures": failures,
        "wall_seconds": total,
    });
    if json {
        println!("{figures}");
    } else {
        let us = &figures["us_per_message"];
        println!(
            "{} messages, {:.1} MB, {} timed passes, {} instance",
            messages.len(),
            bytes as f64 / 1e6,
            passes - 1,
            figures["instance"].as_str().unwrap_or("")
        );
        println!(
            "{:.0} messages/s, {:.2} MB/s",
            figures["messages_per_second"].as_f64().unwrap_or(0.0),
            figures["mb_per_second"].as_f64().unwrap_or(0.0)
        );
        println!(
            "per message: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs, mean {:.0} µs",
            us["p50"].as_f64().unwrap_or(0.0),
            us["p90"].as_f64().unwrap_or(0.0),
            us["p99"].as_f64().unwrap_or(0.0),
            us["max"].as_f64().unwrap_or(0.0),
            us["mean"].as_f64().unwrap_or(0.0)
        );
        let best = &figures["us_per_message_best_pass"];
        println!(
            "each message's fastest pass: p50 {:.0} µs, p90 {:.0} µs",
            best["p50"].as_f64().unwrap_or(0.0),
            best["p90"].as_f64().unwrap_or(0.0)
        );
        let per_message = &figures["fuel_per_message"];
        println!(
            "fuel per message: p50 {}, p90 {}; per input byte: {:.0}; instance memory at most {:.1} MiB; failures: {failures}",
            per_message["p50"],
            per_message["p90"],
            figures["fuel_per_byte"].as_f64().unwrap_or(0.0),
            memory as f64 / (1 << 20) as f64
        );
    }
    if failures > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
