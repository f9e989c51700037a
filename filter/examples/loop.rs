//! Native per-message timing over a folder, for profiling (`perf record ... loop DIR N`).
fn main() {
    let dir = std::env::args().nth(1).expect("a folder of messages");
    let n: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let msgs: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .expect("readable folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    let config = ndr_filter::Config::default();
    let mut times = Vec::new();
    for _ in 0..n {
        for m in &msgs {
            let t = std::time::Instant::now();
            let r = ndr_filter::classify(m, None, &config, 0);
            std::hint::black_box(serde_json::to_vec(&r).ok());
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    let mean: f64 = times.iter().sum::<f64>() / times.len() as f64;
    let pct = |p: usize| times[times.len() * p / 100];
    println!("{} runs: mean {mean:.1} µs, p50 {:.1}, p90 {:.1}, p99 {:.1}", times.len(), pct(50), pct(90), pct(99));
}
