//! PostgreSQL restarted in the middle of a search (`pg_ctl restart -m fast`, which ends every connection):
//! the workers' operations retry, reconnect and resume; the study completes with every count right.
//!
//! A test binary of its own: cargo runs test binaries one after another, so the restart disturbs no other
//! test. It needs `NASFORGE_TEST_POSTGRES` and `NASFORGE_TEST_POSTGRES_RESTART` (a shell command that
//! restarts that server; `scripts/pg_test_cluster.sh start` prints both).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use nasforge_core::study::{StopReason, TrialStore};

/// Restarts the server, which stays down for two seconds (the script's `NASFORGE_PG_DOWN_SECONDS`).
fn restart_server(command: &str) {
    let status =
        std::process::Command::new("sh").args(["-c", command]).env("NASFORGE_PG_DOWN_SECONDS", "2").status().unwrap();
    assert!(status.success(), "restarting PostgreSQL failed: {command}");
}

#[test]
fn workers_resume_after_a_postgres_restart() {
    let Some(db) = postgres("workers_resume_after_restart") else { return };
    let Some(command) = nasforge_testkit::require(nasforge_testkit::PostgresRestart) else { return };
    let storage = db.with_study("search");
    let budget = 150;

    // Three workers with the real study loop, and one that claims and finishes directly with a keeper.
    let finished_trials = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(5));
    let workers: Vec<_> = (0..3)
        .map(|thread| {
            let (url, start) = (db.url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                run_worker(&url, "search", thread, budget, Duration::from_millis(4))
            })
        })
        .collect();
    let direct = {
        let (url, start, finished_trials, done) =
            (db.url.clone(), Arc::clone(&start), Arc::clone(&finished_trials), Arc::clone(&done));
        std::thread::spawn(move || {
            let storage = nasforge_store::Storage::open(&url).unwrap();
            storage.create_study("direct", "nb201", "{}").unwrap();
            let mut store = storage.trial_store("direct").unwrap();
            let lease = long_lease("direct");
            start.wait();
            let mut i = 0;
            while !done.load(Ordering::SeqCst) || i < 20 {
                let trial = claimed(store.claim_new(&proposal(i, i), None, &lease).unwrap());
                let keeper = store.keep_alive(trial.id, &lease).unwrap();
                std::thread::sleep(Duration::from_millis(5));
                store.append_intermediate(trial.id, &metrics(&[("epoch", 1.0)])).unwrap();
                assert!(store.finish(&finished(trial, i as f64), &lease).unwrap(), "trial {i} was not recorded");
                drop(keeper);
                finished_trials.fetch_add(1, Ordering::SeqCst);
                i += 1;
            }
            i
        })
    };
    start.wait();

    // Restart once the search is under way.
    let mut watcher = storage.trial_store("search").unwrap();
    let waiting = Instant::now();
    while watcher.load_trials().unwrap().iter().filter(|t| t.state.is_finished()).count() < 30 {
        assert!(waiting.elapsed() < Duration::from_secs(120), "the search does not progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = finished_trials.load(Ordering::SeqCst);
    let retries = nasforge_store::postgres_retries();
    let restarting = Instant::now();
    restart_server(&command);
    eprintln!("PostgreSQL restarted in {:?}", restarting.elapsed());
    done.store(true, Ordering::SeqCst);

    for worker in workers {
        assert_eq!(worker.join().unwrap().0, StopReason::Budget);
    }
    let direct_count = direct.join().unwrap();
    assert!(direct_count > before, "the direct worker did not resume");
    let retried = nasforge_store::postgres_retries() - retries;
    eprintln!("{retried} operations were retried");
    assert!(retried > 0, "no operation met the restart");

    let trials = check_study(&db.url, "search", budget);
    let retried: Vec<_> = trials.iter().filter(|t| t.is_paid() && t.attempts != 1).collect();
    assert!(retried.is_empty(), "trials were retried (their leases did not survive the restart): {retried:?}");
    let direct_trials = db.storage().trial_store("direct").unwrap().load_trials().unwrap();
    assert_eq!(direct_trials.len() as u64, direct_count);
    assert!(
        direct_trials.iter().all(|t| t.state.is_finished() && t.intermediate.len() == 1),
        "a result was lost or doubled"
    );
    let changes = db.storage().trial_store("search").unwrap().changes(0).unwrap();
    let versions: std::collections::BTreeSet<u64> = changes.iter().map(|(v, _)| *v).collect();
    assert_eq!((changes.len(), versions.len()), (trials.len(), trials.len()));
}
