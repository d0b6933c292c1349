//! How many trials per second SQLite storage persists the way a study writes them: insert_trial then
//! update_trial per trial, each its own committed transaction. `cargo run --release -p nasforge-store --example store_throughput [N]`

use std::time::Instant;

use nasforge_core::study::TrialStore;
use nasforge_core::{Metrics, TrialRecord, TrialState};
use nasforge_store::Storage;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let n: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|e| format!("N must be a number: {e}"))?,
        None => 20_000,
    };
    let dir = std::env::temp_dir().join(format!("nasforge-store-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("throughput.db");
    let result = run(&path, n);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run(path: &std::path::Path, n: u64) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let storage = Storage::open(&format!("sqlite:{}", path.display()))?;
    storage.create_study("bench", "nb201", r#"{"strategy": {"name": "evolution"}}"#)?;
    let mut store = storage.trial_store("bench")?;
    let ops = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"];

    let started = Instant::now();
    for i in 0..n {
        let op = |k: u64| ops[((i / 5u64.pow(k as u32)) % 5) as usize];
        let arch = format!("|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|", op(0), op(1), op(2), op(3), op(4), op(5));
        let mut trial = TrialRecord {
            id: 0,
            arch_json: format!("{{\"ops\":[\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\"]}}", op(0), op(1), op(2), op(3), op(4), op(5)),
            canonical: arch.clone(),
            arch,
            state: TrialState::Running,
            metrics: Metrics::new(),
            intermediate: Vec::new(),
            cached_from: None,
            seed: i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            error: None,
            started_at: 1.7e9 + i as f64,
            finished_at: None,
            attempts: 1,
        };
        trial.id = store.insert_trial(&trial)?;
        trial.state = TrialState::Complete;
        trial.metrics = [
            ("cifar10".to_string(), 90.0 + (i % 997) as f64 / 250.0),
            ("params".to_string(), 1.0e6 + i as f64),
            ("flops".to_string(), 2.5e8),
            ("latency_ms".to_string(), 3.0 + (i % 13) as f64 / 7.0),
        ]
        .into_iter()
        .collect();
        trial.finished_at = Some(trial.started_at + 0.01);
        store.update_trial(&trial)?;
    }
    let elapsed = started.elapsed().as_secs_f64();

    let loading = Instant::now();
    let loaded = store.load_trials()?.len();
    let load_time = loading.elapsed().as_secs_f64();
    if loaded as u64 != n {
        return Err(format!("stored {n} trials, loaded {loaded}").into());
    }
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!(
        "{n} trials (insert + update, 2 committed transactions each) in {elapsed:.3} s: {:.0} trials/s; \
         load_trials: {load_time:.3} s; file {:.1} MiB",
        n as f64 / elapsed,
        size as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}
