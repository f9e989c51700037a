//! Throughput of the filter natively and through the wasm module in wasmtime:
//! classification of the real bounces of `tests/corpus/bounces` and of the ordinary mail of
//! `tests/corpus/ham`, and BATV/SRS operations.
//! Each benchmark first checks that it computes the expected answer.
//!
//!     cargo bench -p ndr-tests --bench throughput
//!
//! Figures are per message (classification) or per operation (BATV, SRS).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndr_filter::batv::{BatvConfig, KeyRing};
use ndr_filter::srs::{Srs, SrsConfig};
use serde_json::json;

fn corpus_bounces() -> Vec<Vec<u8>> {
    corpus_folder("bounces/eml")
}

/// The messages of one corpus folder (not its subfolders), in a fixed order.
fn corpus_folder(folder: &str) -> Vec<Vec<u8>> {
    let dir = ndr_tests::corpus().join(folder);
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    let mut msgs: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    msgs.sort();
    msgs
}

fn classification(c: &mut Criterion) {
    let msgs = corpus_bounces();
    let bytes: usize = msgs.iter().map(Vec::len).sum();
    let config = ndr_filter::Config::default();
    let bounces = msgs.iter().filter(|m| ndr_filter::classify(m, None, &config, 0).is_bounce).count();
    assert!(bounces * 10 > msgs.len() * 9, "the corpus should be classified as bounces: {bounces}/{}", msgs.len());
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(msgs.len() as u64));
    group.bench_function("native (corpus pass)", |b| {
        b.iter(|| {
            msgs.iter().map(|m| ndr_filter::classify(black_box(m), None, &config, 0).recipients.len()).sum::<usize>()
        })
    });
    // The module's work includes writing the report as JSON: the fair native counterpart.
    group.bench_function("native with JSON report (corpus pass)", |b| {
        b.iter(|| {
            msgs.iter()
                .map(|m| serde_json::to_vec(&ndr_filter::classify(black_box(m), None, &config, 0)).unwrap().len())
                .sum::<usize>()
        })
    });
    let filter = ndr_tests::filter();
    let mut instance = filter.instance().unwrap();
    group.bench_function("wasm, reused instance (corpus pass)", |b| {
        b.iter(|| msgs.iter().map(|m| instance.classify(black_box(m), b"").unwrap().len()).sum::<usize>())
    });
    group.bench_function("wasm, fresh instance per message (corpus pass)", |b| {
        b.iter(|| {
            msgs.iter().map(|m| filter.instance().unwrap().classify(black_box(m), b"").unwrap().len()).sum::<usize>()
        })
    });
    group.finish();
    let mut single = c.benchmark_group("instantiate");
    single.bench_function("from the compiled module", |b| b.iter(|| filter.instance().unwrap()));
    single.finish();
    // Loading the module: compiling the wasm, or loading machine code precompiled for this host.
    let wasm = std::fs::read(ndr_tests::module_path()).unwrap();
    let precompiled = ndr_host::Filter::precompile(&wasm).unwrap();
    let mut load = c.benchmark_group("load module");
    load.sample_size(10);
    load.bench_function("compile from wasm", |b| {
        b.iter(|| ndr_host::Filter::from_bytes(black_box(&wasm), Default::default()).unwrap())
    });
    load.bench_function("from precompiled bytes", |b| {
        // SAFETY: `precompiled` comes from `precompile` in this process.
        b.iter(|| unsafe { ndr_host::Filter::from_precompiled(black_box(&precompiled), Default::default()) }.unwrap())
    });
    load.finish();
    println!("corpus: {} messages, {bytes} bytes", msgs.len());
}

/// Ordinary mail (`tests/corpus/ham`): it should leave after its headers, whatever its MIME shape.
fn ordinary_mail(c: &mut Criterion) {
    let msgs = corpus_folder("ham/eml");
    let config = ndr_filter::Config::default();
    let normal = msgs.iter().filter(|m| ndr_filter::classify(m, None, &config, 0).kind == ndr_filter::Kind::Normal);
    assert!(normal.count() * 10 > msgs.len() * 9, "the ham should be ordinary mail");
    let mut group = c.benchmark_group("classify ordinary mail");
    group.throughput(Throughput::Elements(msgs.len() as u64));
    group.bench_function("native with JSON report (corpus pass)", |b| {
        b.iter(|| {
            msgs.iter()
                .map(|m| serde_json::to_vec(&ndr_filter::classify(black_box(m), None, &config, 0)).unwrap().len())
                .sum::<usize>()
        })
    });
    let mut instance = ndr_tests::filter().instance().unwrap();
    group.bench_function("wasm, reused instance (corpus pass)", |b| {
        b.iter(|| msgs.iter().map(|m| instance.classify(black_box(m), b"").unwrap().len()).sum::<usize>())
    });
    group.finish();
    println!("ordinary mail: {} messages, {} bytes", msgs.len(), msgs.iter().map(Vec::len).sum::<usize>());
}

/// Native time per message for each format the corpus bounces are read as.
fn by_format(c: &mut Criterion) {
    let config = ndr_filter::Config::default();
    let mut groups: std::collections::BTreeMap<String, Vec<Vec<u8>>> = Default::default();
    for m in corpus_bounces() {
        let format = ndr_filter::classify(&m, None, &config, 0).format.unwrap_or_else(|| "none".into());
        groups.entry(format).or_default().push(m);
    }
    let mut group = c.benchmark_group("native by format");
    group.sample_size(10).measurement_time(std::time::Duration::from_secs(1));
    for (format, msgs) in &groups {
        group.throughput(Throughput::Elements(msgs.len() as u64));
        group.bench_function(format!("{format} ({} messages)", msgs.len()), |b| {
            b.iter(|| {
                msgs.iter()
                    .map(|m| ndr_filter::classify(black_box(m), None, &config, 0).recipients.len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

/// A bounce whose returned original has a body of about `size` bytes of ordinary text.
fn bounce_of_size(size: usize) -> Vec<u8> {
    let mut m = String::from(
        "From: MAILER-DAEMON@mx.example.org\nTo: alice@example.com\nSubject: Undelivered Mail Returned to Sender\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: text/plain\n\n\
         I'm sorry to have to inform you that your message could not be delivered.\n\n--b\n\
         Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n\
         Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\n\
         Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown\n\n--b\n\
         Content-Type: message/rfc822\n\nReceived: from out.example.com (out.example.com [198.51.100.7])\n\
         From: alice@example.com\nTo: bob@example.org\nMessage-ID: <size.test@example.com>\nSubject: report\n\n",
    );
    let line = "Quarterly figures are attached below; see https://example.com/reports for the archive.\n";
    while m.len() < size {
        m.push_str(line);
    }
    m.truncate(size.max(m.find("\n\n--b\nContent-Type: message/rfc822").unwrap_or(0)));
    m.push_str("\n--b--\n");
    m.into_bytes()
}

/// An ordinary one-part text message of about `size` bytes.
fn ordinary_of_size(size: usize) -> Vec<u8> {
    let mut m = String::from(
        "Received: from out.example.com (out.example.com [198.51.100.7])\n\tby mx.example.org; Mon, 2 Nov 2026 10:00:00 +0000\n\
         From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: report\nMessage-ID: <size.ham@example.com>\n\
         Content-Type: text/plain; charset=utf-8\n\n",
    );
    let line = "Quarterly figures are attached below; see https://example.com/reports for the archive.\n";
    while m.len() < size {
        m.push_str(line);
    }
    m.into_bytes()
}

/// Cost against message size, 1 KB to 10 MB: it should grow linearly (constant MB/s).
fn size_curve(c: &mut Criterion) {
    let config = ndr_filter::Config::default();
    let filter = ndr_tests::filter();
    let mut instance = filter.instance().unwrap();
    let mut group = c.benchmark_group("size curve");
    group.sample_size(10).measurement_time(std::time::Duration::from_secs(2));
    for size in [1_000, 10_000, 100_000, 1_000_000, 10_000_000] {
        let m = bounce_of_size(size);
        assert_eq!(ndr_filter::classify(&m, None, &config, 0).recipients.len(), 1, "{size}");
        group.throughput(Throughput::Bytes(m.len() as u64));
        group.bench_function(format!("native {size} B"), |b| {
            b.iter(|| ndr_filter::classify(black_box(&m), None, &config, 0))
        });
        group.bench_function(format!("wasm {size} B"), |b| b.iter(|| instance.classify(black_box(&m), b"").unwrap()));
        // Ordinary mail of the same size: its body is searched for a few words, not parsed.
        let ordinary = ordinary_of_size(size);
        assert_eq!(ndr_filter::classify(&ordinary, None, &config, 0).kind, ndr_filter::Kind::Normal, "{size}");
        group.bench_function(format!("wasm ordinary {size} B"), |b| {
            b.iter(|| instance.classify(black_box(&ordinary), b"").unwrap())
        });
    }
    group.finish();
}

fn batv_srs(c: &mut Criterion) {
    let config = json!({
        "batv": {"keys": [{"digit": 1, "secret": "bench-secret-0123456789abcdef"}]},
        "srs": {"domain": "fwd.example.net", "secrets": ["bench"]}
    });
    let ring = KeyRing::new(&serde_json::from_value::<BatvConfig>(config["batv"].clone()).unwrap()).unwrap();
    let srs = Srs::new(&serde_json::from_value::<SrsConfig>(config["srs"].clone()).unwrap()).unwrap();
    let now = 1_795_478_400;
    let tagged = ring.sign("alice@example.com", None, now).address;
    assert_eq!(ring.verify(&tagged, now).result, ndr_filter::batv::Outcome::Valid);
    let rewritten = srs.forward("bob@origin.example", now);
    assert_eq!(srs.reverse(&rewritten, now).address.as_deref(), Some("bob@origin.example"));

    let mut group = c.benchmark_group("batv_srs");
    group.throughput(Throughput::Elements(1));
    group.bench_function("native batv sign", |b| b.iter(|| ring.sign(black_box("alice@example.com"), None, now)));
    group.bench_function("native batv verify", |b| b.iter(|| ring.verify(black_box(&tagged), now)));
    group.bench_function("native srs forward", |b| b.iter(|| srs.forward(black_box("bob@origin.example"), now)));
    group.bench_function("native srs reverse", |b| b.iter(|| srs.reverse(black_box(&rewritten), now)));
    let mut instance = ndr_tests::filter().instance().unwrap();
    let req = |address: &str| json!({"config": config, "address": address, "now": now}).to_string().into_bytes();
    let (sign, verify, fwd, rev) = (req("alice@example.com"), req(&tagged), req("bob@origin.example"), req(&rewritten));
    assert!(instance.request("ndr_batv_verify", &verify).unwrap().contains("\"valid\""));
    group.bench_function("wasm batv sign", |b| b.iter(|| instance.request("ndr_batv_sign", black_box(&sign)).unwrap()));
    group.bench_function("wasm batv verify", |b| {
        b.iter(|| instance.request("ndr_batv_verify", black_box(&verify)).unwrap())
    });
    group.bench_function("wasm srs forward", |b| {
        b.iter(|| instance.request("ndr_srs_forward", black_box(&fwd)).unwrap())
    });
    group.bench_function("wasm srs reverse", |b| {
        b.iter(|| instance.request("ndr_srs_reverse", black_box(&rev)).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = classification, ordinary_mail, by_format, size_curve, batv_srs
}
criterion_main!(benches);
