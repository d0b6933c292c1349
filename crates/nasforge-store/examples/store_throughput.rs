//! How many trials per second a store records the way workers do: `claim_new` (a new running trial under
//! a lease, checked against the budget and the canonical forms) then `finish`, each one committed
//! transaction, by 1 or more workers (threads with connections of their own) on one study.
//!
//! `cargo run --release -p nasforge-store --example store_throughput [N] [URL] [WORKERS]`
//! N trials in all (default 20000); URL of the storage (default, or `-`: an SQLite file in a temporary
//! directory; a `postgresql://` URL names a database whose nasforge tables may be created; each run adds a
//! study); WORKERS (default 1).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use nasforge_core::study::{Claim, Lease, TrialStore};
use nasforge_core::{Metrics, TrialRecord, TrialState};
use nasforge_store::Storage;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let n: u64 = match args.next() {
        Some(arg) => arg.parse().map_err(|e| format!("N must be a number: {e}"))?,
        None => 20_000,
    };
    let url = args.next().filter(|u| !u.is_empty() && u != "-");
    let workers: u64 = match args.next() {
        Some(arg) => arg.parse().map_err(|e| format!("WORKERS must be a number: {e}"))?,
        None => 1,
    };
    match url {
        Some(url) => run(&url, n, workers.max(1), None),
        None => {
            let dir = std::env::temp_dir().join(format!("nasforge-store-throughput-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("throughput.db");
            let result = run(&format!("sqlite:{}", path.display()), n, workers.max(1), Some(&path));
            let _ = std::fs::remove_dir_all(&dir);
            result
        }
    }
}

/// Trial `i`: one of the 15625 NB201 cells (and, past them, made-up ones), each canonical form once.
fn proposal(i: u64, lease: &Lease) -> TrialRecord {
    let ops = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"];
    let op = |k: u64| ops[((i / 5u64.pow(k as u32)) % 5) as usize];
    let arch = format!("|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|#{}", op(0), op(1), op(2), op(3), op(4), op(5), i / 15625);
    TrialRecord {
        id: 0,
        arch_json: format!(
            "{{\"ops\":[\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\"]}}",
            op(0),
            op(1),
            op(2),
            op(3),
            op(4),
            op(5)
        ),
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
        worker: Some(lease.owner.clone()),
    }
}

fn run(url: &str, n: u64, workers: u64, file: Option<&std::path::Path>) -> Result<(), Error> {
    let storage = Storage::open(url)?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
    let study = format!("bench-{}-{stamp}", std::process::id());
    storage.create_study(&study, "nb201", r#"{"strategy": {"name": "evolution"}}"#)?;
    let barrier = Arc::new(Barrier::new(workers as usize));
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (url, study, barrier) = (url.to_string(), study.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || -> Result<Duration, Error> {
                let storage = Storage::open(&url)?;
                let mut store = storage.trial_store(&study)?;
                let lease = Lease::for_this_process(w as usize, Duration::from_secs(60));
                barrier.wait();
                let started = Instant::now();
                // Worker w takes trials w, w + workers, …; the budget is the whole run's.
                for i in (w..n).step_by(workers as usize) {
                    let Claim::Claimed(mut trial) = store.claim_new(&proposal(i, &lease), Some(n), &lease)? else {
                        return Err(format!("trial {i} was not claimed").into());
                    };
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
                    if !store.finish(&trial, &lease)? {
                        return Err(format!("trial {} lost its lease", trial.id).into());
                    }
                }
                Ok(started.elapsed())
            })
        })
        .collect();
    let mut elapsed = Duration::ZERO;
    for handle in handles {
        elapsed = elapsed.max(handle.join().map_err(|_| "a worker panicked")??);
    }
    let elapsed = elapsed.as_secs_f64();

    let mut store = storage.trial_store(&study)?;
    let loading = Instant::now();
    let loaded = store.load_trials()?.len();
    let load_time = loading.elapsed().as_secs_f64();
    if loaded as u64 != n {
        return Err(format!("stored {n} trials, loaded {loaded}").into());
    }
    let size =
        file.and_then(|p| std::fs::metadata(p).ok()).map(|m| format!("; file {:.1} MiB", m.len() as f64 / 1048576.0));
    println!(
        "{storage}: {n} trials (claim_new + finish, 2 committed transactions each) by {workers} worker(s) in \
         {elapsed:.3} s: {:.0} trials/s; load_trials: {load_time:.3} s{}",
        n as f64 / elapsed,
        size.unwrap_or_default()
    );
    Ok(())
}
