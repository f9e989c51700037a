//! `ndr`: the command-line program on the wasm module.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ndr_host::{Budget, Filter, FilterInstance, source};
use serde_json::{Map, Value, json};

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
        /// Site configuration (TOML or JSON).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The time in Unix seconds (default: the clock).
        #[arg(long)]
        now: Option<u64>,
    },
    /// Print the module's ABI version and what it knows.
    Info,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let budget = Budget { fuel_base: cli.fuel, fuel_per_byte: cli.fuel_per_byte, memory_bytes: cli.memory_mb << 20 };
    let filter = match ndr_host::find_module(cli.module.clone())
        .and_then(|p| Filter::from_file(&p, budget).map_err(|e| format!("{e:#}")))
    {
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
        Command::Scan { paths, json, config, now } => match request(config, now) {
            Ok(req) => scan(&filter, &paths, json, &req),
            Err(e) => {
                eprintln!("ndr: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// The ABI request document: configuration and time.
fn request(config: Option<PathBuf>, now: Option<u64>) -> Result<Vec<u8>, String> {
    let now = now.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    });
    let mut req = json!({ "now": now });
    if let Some(path) = config {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        let value: Value = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))?
        } else {
            toml::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))?
        };
        req["config"] = value;
    }
    Ok(req.to_string().into_bytes())
}

fn scan(filter: &Filter, paths: &[PathBuf], json: bool, req: &[u8]) -> ExitCode {
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
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if !json {
        let _ = writeln!(
            out,
            "{:<48} {:<18} {:<12} {:<36} {:<8} {}",
            "FILE", "KIND", "FORMAT", "RECIPIENT", "STATUS", "REASON"
        );
    }
    // Config errors are the same for every message: check once, before the first message.
    if let Err(e) = get_instance(filter, &mut instance).and_then(|i| i.classify(b"", req).map_err(|e| e.to_string())) {
        eprintln!("ndr: {e}");
        return ExitCode::from(2);
    }
    for file in files {
        progress.inc(1);
        let items = match file {
            Ok(path) => source::messages(&path),
            Err((path, e)) => {
                vec![source::Item {
                    file: path.display().to_string(),
                    index: None,
                    bytes: Err(format!("cannot read {}: {e}", path.display())),
                }]
            }
        };
        for item in items {
            let record = match &item.bytes {
                Err(e) => {
                    unreadable += 1;
                    progress.suspend(|| eprintln!("ndr: {e}"));
                    failed(e)
                }
                Ok(bytes) => match get_instance(filter, &mut instance)
                    .and_then(|i| i.classify(bytes, req).map_err(|e| e.to_string()))
                {
                    Ok(doc) => {
                        serde_json::from_str(&doc).unwrap_or_else(|e| failed(&format!("bad result document: {e}")))
                    }
                    Err(e) => {
                        if instance.as_ref().is_some_and(FilterInstance::is_poisoned) {
                            instance = None;
                        }
                        failed(&e)
                    }
                },
            };
            let line = with_file(record, &item.file, item.index);
            let _ = if json { writeln!(out, "{line}") } else { writeln!(out, "{}", table_row(&line)) };
        }
    }
    progress.finish_and_clear();
    let _ = out.flush();
    if unreadable > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn get_instance<'a>(filter: &Filter, slot: &'a mut Option<FilterInstance>) -> Result<&'a mut FilterInstance, String> {
    if slot.is_none() {
        *slot = Some(filter.instance().map_err(|e| format!("cannot instantiate the module: {e:#}"))?);
    }
    slot.as_mut().ok_or_else(|| "no instance".to_string())
}

/// A record for a message that produced no report.
fn failed(error: &str) -> Value {
    json!({ "kind": null, "is_bounce": null, "format": null, "recipients": [], "original": null, "warnings": [], "error": error })
}

/// `file` and `index` first, then the report's fields.
fn with_file(record: Value, file: &str, index: Option<usize>) -> Value {
    let mut m = Map::new();
    m.insert("file".into(), json!(file));
    m.insert("index".into(), json!(index));
    if let Value::Object(fields) = record {
        m.extend(fields);
    }
    Value::Object(m)
}

fn table_row(v: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let mut file = s(&v["file"]);
    if let Some(i) = v["index"].as_u64() {
        file = format!("{file}#{i}");
    }
    if file.chars().count() > 48 {
        file = format!("…{}", file.chars().rev().take(47).collect::<Vec<_>>().into_iter().rev().collect::<String>());
    }
    let recipients = v["recipients"].as_array().cloned().unwrap_or_default();
    let first = recipients.first().cloned().unwrap_or(Value::Null);
    let mut rcpt = s(&first["address"]);
    if recipients.len() > 1 {
        rcpt = format!("{rcpt} (+{})", recipients.len() - 1);
    }
    let kind = if v["error"].is_string() && v["kind"].is_null() { "error".to_string() } else { s(&v["kind"]) };
    let reason = if v["error"].is_string() { format!("error: {}", s(&v["error"])) } else { s(&first["reason"]) };
    format!("{file:<48} {kind:<18} {:<12} {rcpt:<36} {:<8} {reason}", s(&v["format"]), s(&first["status"]))
}
