//! The `TrialStore` contract on both backends: claims (new, cache hit, busy, budget) as nasforge-core's
//! `MemoryStore` makes them, versions and changes, leases (expired, renewed, of a dead process), results
//! recorded exactly once, and several connections claiming at once.

#[macro_use]
mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use nasforge_core::scheduler::PAUSED_AT;
use nasforge_core::study::{Claim, Lease, MemoryStore, TrialStore};
use nasforge_core::{Metrics, TrialRecord, TrialState};

both_backends!(
    claims_agree_with_the_memory_store,
    versions_and_changes,
    an_expired_lease_is_taken_over_once,
    a_dead_process_on_this_host_loses_its_trial,
    keep_alive_renews_the_lease,
    four_connections_claiming_at_once,
    unknown_trials_are_errors,
    fields_round_trip,
    cache_hits_keep_their_own_metrics,
    a_paused_trial_is_resumed_once_with_its_curve,
);
memory_backend!(
    claims_agree_with_the_memory_store,
    versions_and_changes,
    four_connections_claiming_at_once,
    unknown_trials_are_errors,
    fields_round_trip,
    cache_hits_keep_their_own_metrics,
    a_paused_trial_is_resumed_once_with_its_curve,
);

/// The same operations on a store and on `MemoryStore` give the same answers, the same trials and the
/// same versions.
fn claims_agree_with_the_memory_store(db: &TestDb) {
    let storage = db.with_study("s");
    let mut store = storage.trial_store("s").unwrap();
    let mut memory = MemoryStore::default();
    let a = long_lease("a");
    let b = long_lease("b");
    let stores: [&mut dyn TrialStore; 2] = [&mut store, &mut memory];
    let mut answers: Vec<Vec<Claim>> = Vec::new();
    for store in stores {
        let mut seen = Vec::new();
        let mut claim = |store: &mut dyn TrialStore, i: u64, canonical: u64, budget: Option<u64>, lease: &Lease| {
            let claim = store.claim_new(&proposal(i, canonical), budget, lease).unwrap();
            seen.push(claim.clone());
            claim
        };
        let t0 = claimed(claim(store, 0, 0, Some(3), &a));
        assert_eq!(
            (t0.id, t0.attempts, t0.state, t0.worker.as_deref()),
            (0, 1, TrialState::Running, Some(a.owner.as_str()))
        );
        assert_eq!(claim(store, 1, 0, Some(3), &b), Claim::Busy);
        let t1 = claimed(claim(store, 2, 1, Some(3), &b));
        let t2 = claimed(claim(store, 3, 2, None, &a));
        assert_eq!((t1.id, t2.id), (1, 2));
        assert_eq!(claim(store, 4, 3, Some(3), &a), Claim::BudgetReached);
        store.append_intermediate(0, &metrics(&[("epoch", 1.0)])).unwrap();
        store.append_intermediate(0, &metrics(&[("epoch", 2.0), ("loss", f64::INFINITY)])).unwrap();
        assert!(store.finish(&finished(t0.clone(), 93.37999725341797), &a).unwrap());
        let mut failed = t1.clone();
        failed.state = TrialState::Failed;
        failed.error = Some("diverged: loss is NaN — ünïcødé".into());
        failed.finished_at = Some(failed.started_at + 0.5);
        assert!(store.finish(&failed, &b).unwrap());
        // Cache hits copy the first paid trial's result, cost nothing, and come before the budget check.
        let hit = cache_hit(claim(store, 5, 0, Some(3), &b));
        assert_eq!((hit.id, hit.cached_from, hit.attempts, hit.state), (3, Some(0), 0, TrialState::Complete));
        assert_eq!(hit.metrics["accuracy"], 93.37999725341797);
        assert_eq!(hit.worker.as_deref(), Some(b.owner.as_str()));
        let failed_hit = cache_hit(claim(store, 6, 1, Some(3), &a));
        assert_eq!((failed_hit.state, failed_hit.error.as_deref()), (TrialState::Failed, failed.error.as_deref()));
        assert_eq!(claim(store, 7, 2, Some(3), &b), Claim::Busy);
        let mut pruned = finished(t2.clone(), -0.0);
        pruned.state = TrialState::Pruned;
        pruned.metrics.insert("tiny".into(), 5e-324);
        pruned.metrics.insert("huge".into(), -f64::MAX);
        assert!(store.finish(&pruned, &a).unwrap());
        let t3 = claimed(claim(store, 8, 3, Some(4), &b));
        assert_eq!(t3.id, 5);
        assert_eq!(claim(store, 9, 4, Some(4), &b), Claim::BudgetReached);
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(store.load_trials().unwrap(), memory.load_trials().unwrap());
    assert_eq!(store.changes(0).unwrap(), memory.changes(0).unwrap());
    assert_eq!(store.changes(4).unwrap(), memory.changes(4).unwrap());
}

fn versions_and_changes(db: &TestDb) {
    let storage = db.with_study("s");
    storage.create_study("other", "nb201", "{}").unwrap();
    let mut store = storage.trial_store("s").unwrap();
    let mut other = storage.trial_store("other").unwrap();
    let a = long_lease("a");
    assert!(store.changes(0).unwrap().is_empty());
    let trials: Vec<TrialRecord> =
        (0..3).map(|i| claimed(store.claim_new(&proposal(i, i), None, &a).unwrap())).collect();
    let changes = store.changes(0).unwrap();
    assert_eq!(changes.iter().map(|(v, t)| (*v, t.id)).collect::<Vec<_>>(), [(1, 0), (2, 1), (3, 2)]);
    assert_eq!(changes[1].1, trials[1]);
    assert!(store.changes(3).unwrap().is_empty());
    // Each study counts its own versions.
    claimed(other.claim_new(&proposal(9, 9), None, &a).unwrap());
    assert_eq!(other.changes(0).unwrap().iter().map(|(v, _)| *v).collect::<Vec<_>>(), [1]);
    assert!(store.changes(3).unwrap().is_empty());

    let step = metrics(&[("val_accuracy", 0.25)]);
    store.append_intermediate(1, &step).unwrap();
    let changes = store.changes(3).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!((changes[0].0, changes[0].1.id), (4, 1));
    assert_eq!(changes[0].1.intermediate, std::slice::from_ref(&step));
    assert!(store.finish(&finished(trials[0].clone(), 0.5), &a).unwrap());
    let changes = store.changes(4).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!((changes[0].0, changes[0].1.id, changes[0].1.state), (5, 0, TrialState::Complete));
    // Every trial once, at its last change, in version order.
    let all = store.changes(0).unwrap();
    assert_eq!(all.iter().map(|(v, t)| (*v, t.id)).collect::<Vec<_>>(), [(3, 2), (4, 1), (5, 0)]);
    // A result that is not recorded changes nothing.
    assert!(!store.finish(&finished(trials[0].clone(), 0.9), &a).unwrap());
    assert!(!store.finish(&finished(trials[2].clone(), 0.9), &long_lease("someone else")).unwrap());
    assert!(store.changes(5).unwrap().is_empty());
    // load_trials: by id, with intermediate results; the same after reopening.
    let loaded = store.load_trials().unwrap();
    assert_eq!(loaded.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(loaded[1].intermediate, [step]);
    drop((store, other, storage));
    let mut reopened = db.storage().trial_store("s").unwrap();
    assert_eq!(reopened.load_trials().unwrap(), loaded);
    assert_eq!(reopened.changes(0).unwrap(), all);
}

fn an_expired_lease_is_taken_over_once(db: &TestDb) {
    let storage = db.with_study("s");
    let mut store = storage.trial_store("s").unwrap();
    // Long enough that a loaded machine still looks before it runs out (else that check is not made).
    let duration = Duration::from_millis(1500);
    let short = lease("short", duration);
    let claiming = Instant::now();
    let trial = claimed(store.claim_new(&proposal(0, 0), None, &short).unwrap());
    let claimed_by = Instant::now();
    claimed(store.claim_new(&proposal(1, 1), None, &long_lease("alive")).unwrap());
    store.append_intermediate(trial.id, &metrics(&[("epoch", 1.0)])).unwrap();
    store.append_intermediate(trial.id, &metrics(&[("epoch", 2.0)])).unwrap();
    let mut observer = db.storage().trial_store("s").unwrap();
    let early = observer.claim_abandoned(&long_lease("early")).unwrap();
    if claiming.elapsed() < duration {
        assert_eq!(early, None, "the lease still holds");
    } else {
        eprintln!("the machine is too slow to check the lease before it runs out");
    }
    // Until the lease has surely run out (it started before the claim returned).
    std::thread::sleep((claimed_by + duration + Duration::from_millis(200)).saturating_duration_since(Instant::now()));

    // Three workers with connections of their own look for abandoned trials at once: one gets it.
    let barrier = Arc::new(Barrier::new(3));
    let takers: Vec<_> = (0..3)
        .map(|i| {
            let (storage, barrier) = (db.storage(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut store = storage.trial_store("s").unwrap();
                let lease = long_lease(&format!("taker{i}"));
                barrier.wait();
                (store.claim_abandoned(&lease).unwrap(), lease)
            })
        })
        .collect();
    let results: Vec<(Option<TrialRecord>, Lease)> = takers.into_iter().map(|t| t.join().unwrap()).collect();
    let taken: Vec<&(Option<TrialRecord>, Lease)> = results.iter().filter(|(t, _)| t.is_some()).collect();
    assert_eq!(taken.len(), 1, "{results:?}");
    let (Some(retried), taker) = taken[0] else { unreachable!() };
    assert_eq!((retried.id, retried.attempts, retried.state), (trial.id, 2, TrialState::Running));
    assert_eq!(retried.worker.as_deref(), Some(taker.owner.as_str()));
    assert!(retried.intermediate.is_empty(), "the learning curve starts again");
    assert_eq!(observer.load_trials().unwrap()[0].intermediate, Vec::<Metrics>::new());
    assert_eq!(observer.claim_new(&proposal(2, 0), None, &long_lease("x")).unwrap(), Claim::Busy);
    assert_eq!(observer.claim_abandoned(&long_lease("late")).unwrap(), None);

    // The first worker comes back: its learning curve and result are not recorded.
    let version = observer.changes(0).unwrap().last().unwrap().0;
    store.append_intermediate(trial.id, &metrics(&[("epoch", 3.0)])).unwrap();
    assert!(!store.finish(&finished(trial.clone(), 0.1), &short).unwrap());
    assert!(observer.changes(version).unwrap().is_empty(), "a lost lease changed something");
    let now = &observer.load_trials().unwrap()[0];
    assert_eq!((now.state, now.attempts, now.worker.as_deref()), (TrialState::Running, 2, Some(taker.owner.as_str())));
    assert!(now.intermediate.is_empty());

    let mut taker_store = db.storage().trial_store("s").unwrap();
    taker_store.append_intermediate(trial.id, &metrics(&[("epoch", 1.5)])).unwrap();
    assert!(taker_store.finish(&finished(retried.clone(), 0.75), taker).unwrap());
    assert!(!taker_store.finish(&finished(retried.clone(), 0.8), taker).unwrap(), "recorded twice");
    let done = &observer.load_trials().unwrap()[0];
    assert_eq!((done.state, done.attempts, done.metrics["accuracy"]), (TrialState::Complete, 2, 0.75));
    assert_eq!(done.intermediate, [metrics(&[("epoch", 1.5)])]);
    assert_eq!(done.worker.as_deref(), Some(taker.owner.as_str()));
}

fn a_dead_process_on_this_host_loses_its_trial(db: &TestDb) {
    let storage = db.with_study("s");
    let mut store = storage.trial_store("s").unwrap();
    let host = this_host();
    let dead = Lease { owner: format!("{host}:{}:0", dead_pid()), duration: Duration::from_secs(3600) };
    let alive = Lease { owner: format!("{host}:{}:1", std::process::id()), duration: Duration::from_secs(3600) };
    let elsewhere = Lease { owner: format!("{host}-elsewhere:{}:0", dead_pid()), duration: Duration::from_secs(3600) };
    claimed(store.claim_new(&proposal(0, 0), None, &alive).unwrap());
    claimed(store.claim_new(&proposal(1, 1), None, &elsewhere).unwrap());
    let orphan = claimed(store.claim_new(&proposal(2, 2), None, &dead).unwrap());
    let taker = long_lease("taker");
    let taken = store.claim_abandoned(&taker).unwrap();
    // PostgreSQL serves many machines: the name `localhost` (no $HOSTNAME) does not tell which one.
    let trusted = db.backend == Backend::Sqlite || host != "localhost";
    if trusted {
        let taken = taken.expect("the dead process's trial was not taken over");
        assert_eq!((taken.id, taken.attempts), (orphan.id, 2));
        assert_eq!(taken.worker, Some(taker.owner.clone()));
        assert!(!store.finish(&finished(orphan, 0.5), &dead).unwrap());
    } else {
        assert_eq!(taken, None);
        eprintln!("$HOSTNAME is unset: PostgreSQL waits for the lease of a dead process on 'localhost'");
    }
    assert_eq!(store.claim_abandoned(&taker).unwrap(), None, "a live or remote worker lost its trial");
}

fn keep_alive_renews_the_lease(db: &TestDb) {
    let storage = db.with_study("s");
    let mut store = storage.trial_store("s").unwrap();
    let mut other = db.storage().trial_store("s").unwrap();
    // Renewed every 0.5 s: the lease runs out only if two renewals in a row come more than 1 s late.
    let duration = Duration::from_millis(1500);
    let a = lease("a", duration);
    let trial = claimed(store.claim_new(&proposal(0, 0), None, &a).unwrap());
    let keeper = store.keep_alive(trial.id, &a).unwrap();
    // Watch for twice the lease's duration: without renewals it would run out halfway.
    let watching = Instant::now();
    while watching.elapsed() < duration * 2 {
        assert_eq!(other.claim_abandoned(&long_lease("b")).unwrap(), None, "the renewed lease ran out");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(keeper);
    let dropped = Instant::now();
    // Dropping the keeper joins its thread: the last renewal is done, the lease runs out within `duration`.
    std::thread::sleep(duration + Duration::from_millis(200));
    let b = long_lease("b");
    let taken = other.claim_abandoned(&b).unwrap().expect("the lease was still renewed after the keeper's drop");
    assert!(dropped.elapsed() >= duration);
    assert_eq!(taken.attempts, 2);
    // A keeper of a lost lease renews nothing: the trial stays the new holder's.
    let late = store.keep_alive(trial.id, &a).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    drop(late);
    assert!(!store.finish(&finished(trial.clone(), 0.5), &a).unwrap());
    assert!(other.finish(&finished(taken, 0.6), &b).unwrap());
    let done = &store.load_trials().unwrap()[0];
    assert_eq!((done.state, done.worker.as_deref()), (TrialState::Complete, Some(b.owner.as_str())));
}

/// Four threads with connections of their own claim from a pool of 40 architectures with a budget of 25:
/// exactly 25 paid trials, no canonical form paid twice, and every cache hit copies a finished trial.
fn four_connections_claiming_at_once(db: &TestDb) {
    let _storage = db.with_study("s");
    let budget = 25;
    let barrier = Arc::new(Barrier::new(4));
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let (storage, barrier) = (db.storage(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut store = storage.trial_store("s").unwrap();
                let lease = long_lease(&format!("w{w}"));
                let mut counts = HashMap::new();
                barrier.wait();
                for j in 0..120u64 {
                    let canonical = (j * 7 + w * 13) % 40;
                    let claim = store.claim_new(&proposal(w * 1000 + j, canonical), Some(budget), &lease).unwrap();
                    let kind = match &claim {
                        Claim::Claimed(_) => "claimed",
                        Claim::CacheHit(_) => "hit",
                        Claim::Busy => "busy",
                        Claim::BudgetReached => "budget",
                    };
                    *counts.entry(kind).or_insert(0u64) += 1;
                    if let Claim::Claimed(trial) = claim {
                        store.append_intermediate(trial.id, &metrics(&[("epoch", 1.0)])).unwrap();
                        assert!(store.finish(&finished(trial, canonical as f64), &lease).unwrap());
                    }
                }
                counts
            })
        })
        .collect();
    let counts: Vec<HashMap<&str, u64>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let claimed_total: u64 = counts.iter().map(|c| c.get("claimed").copied().unwrap_or(0)).sum();
    assert_eq!(claimed_total, budget, "{counts:?}");

    let trials = db.storage().trial_store("s").unwrap().load_trials().unwrap();
    assert!(trials.iter().enumerate().all(|(i, t)| t.id == i as u64), "ids are 0, 1, 2…");
    let paid: Vec<&TrialRecord> = trials.iter().filter(|t| t.is_paid()).collect();
    assert_eq!(paid.len() as u64, budget);
    let canonical: BTreeSet<&str> = paid.iter().map(|t| t.canonical.as_str()).collect();
    assert_eq!(canonical.len(), paid.len(), "a canonical form was paid for twice");
    for t in &trials {
        assert!(t.state.is_finished(), "trial {} still runs", t.id);
        if let Some(source) = t.cached_from {
            let source = &trials[source as usize];
            assert!(source.is_paid() && source.canonical == t.canonical && source.id < t.id);
            assert_eq!((t.state, &t.metrics), (source.state, &source.metrics));
        } else {
            assert_eq!(t.intermediate.len(), 1);
        }
    }
    let hits = trials.len() as u64 - budget;
    assert_eq!(hits, counts.iter().map(|c| c.get("hit").copied().unwrap_or(0)).sum::<u64>());
    let changes = db.storage().trial_store("s").unwrap().changes(0).unwrap();
    let versions: BTreeSet<u64> = changes.iter().map(|(v, _)| *v).collect();
    assert_eq!((changes.len(), versions.len()), (trials.len(), trials.len()));
    // claim + append + finish per paid trial, one change per cache hit.
    assert_eq!(*versions.last().unwrap(), budget * 3 + hits);
}

fn unknown_trials_are_errors(db: &TestDb) {
    let storage = db.with_study("s");
    let mut store = storage.trial_store("s").unwrap();
    let a = long_lease("a");
    let mut ghost = proposal(0, 0);
    ghost.id = 77;
    let e = store.finish(&finished(ghost, 0.5), &a).unwrap_err();
    assert!(e.to_string().contains("has no trial 77"), "{e}");
    let e = store.append_intermediate(78, &Metrics::new()).unwrap_err();
    assert!(e.to_string().contains("has no trial 78"), "{e}");
    let e = db.storage().trial_store("nope").unwrap_err();
    assert!(e.to_string().contains("no study named 'nope'"), "{e}");
}

/// Every field survives: extreme seeds, awkward floats, unicode, long texts, NaN in a learning curve.
fn fields_round_trip(db: &TestDb) {
    let storage = db.with_study("s");
    let mut store = storage.trial_store("s").unwrap();
    let a = long_lease("a");
    let seeds = [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX - 1, u64::MAX, 0x8000_0000_0000_0001];
    let mut expected = Vec::new();
    for (i, &seed) in seeds.iter().enumerate() {
        let mut t = proposal(i as u64, i as u64);
        t.seed = seed;
        t.arch = format!("{} — ünïcødé 研究 {}", t.arch, "x".repeat(i * 1000));
        t.canonical = format!("{}{}", t.canonical, "c".repeat(i * 1000));
        let mut t = claimed(store.claim_new(&t, None, &a).unwrap());
        assert_eq!(t.seed, seed);
        t = finished(t, 1.0 / (i as f64 + 3.0));
        t.metrics.insert("min".into(), f64::MIN_POSITIVE);
        t.metrics.insert("inf".into(), f64::NEG_INFINITY);
        t.metrics.insert("名前 \"quoted\"".into(), 1e300);
        t.error = (i % 2 == 1).then(|| format!("warning {i}: ✓"));
        assert!(store.finish(&t, &a).unwrap());
        expected.push(t);
    }
    let loaded = store.load_trials().unwrap();
    assert_eq!(loaded, expected);
    for (l, e) in loaded.iter().zip(&expected) {
        for (name, v) in &e.metrics {
            assert_eq!(l.metrics[name].to_bits(), v.to_bits(), "{name}");
        }
    }
    let running = claimed(store.claim_new(&proposal(50, 50), None, &a).unwrap());
    store.append_intermediate(running.id, &metrics(&[("loss", f64::NAN)])).unwrap();
    assert!(store.load_trials().unwrap()[running.id as usize].intermediate[0]["loss"].is_nan());
}

/// The metrics a proposal carries (its own size, known before evaluation) stay on a claimed trial until its
/// result, and override the copied ones on a cache hit; the store holds what the claim returned, as
/// `MemoryStore` does.
fn cache_hits_keep_their_own_metrics(db: &TestDb) {
    let storage = db.with_study("s");
    let mut store = storage.trial_store("s").unwrap();
    let mut memory = MemoryStore::default();
    let a = long_lease("a");
    let sized = |i: u64, canonical: u64, params: f64| {
        let mut trial = proposal(i, canonical);
        trial.metrics = metrics(&[("params", params), ("flops", params * 100.0), ("名前 \"q\"", -0.0)]);
        trial
    };
    let stores: [&mut dyn TrialStore; 2] = [&mut store, &mut memory];
    for store in stores {
        let first = claimed(store.claim_new(&sized(0, 0, 1.5e6), None, &a).unwrap());
        assert_eq!(first.metrics, sized(0, 0, 1.5e6).metrics, "a claimed trial keeps the proposal's metrics");
        assert_eq!(store.load_trials().unwrap()[0].metrics, first.metrics);
        let mut done = finished(first, 0.75);
        done.metrics.insert("loss".into(), f64::NAN);
        assert!(store.finish(&done, &a).unwrap());
        let hit = cache_hit(store.claim_new(&sized(1, 0, 2.5e6), None, &a).unwrap());
        let expected = metrics(&[
            ("accuracy", 0.75),
            ("params", 2.5e6),
            ("latency_ms", 3.25),
            ("flops", 2.5e8),
            ("名前 \"q\"", -0.0),
        ]);
        assert_eq!(hit.metrics.len(), expected.len() + 1, "{:?}", hit.metrics);
        for (name, value) in &expected {
            assert_eq!(hit.metrics[name].to_bits(), value.to_bits(), "{name}");
        }
        assert!(hit.metrics["loss"].is_nan());
        // Without metrics of its own, a hit copies its source's.
        let plain = cache_hit(store.claim_new(&proposal(2, 0), None, &a).unwrap());
        assert_eq!(plain.metrics.len(), done.metrics.len());
        let stored = store.load_trials().unwrap();
        assert_eq!(format!("{:?}", stored[1]), format!("{hit:?}"), "the store holds what the claim returned");
        assert_eq!(format!("{:?}", stored[2]), format!("{plain:?}"));
    }
    assert_eq!(format!("{:?}", store.load_trials().unwrap()), format!("{:?}", memory.load_trials().unwrap()));
}

/// A trial paused at a rung (pruned with `paused_at`) goes back to running under one lease only, with its
/// learning curve, and goes on appending to it — on the store as on `MemoryStore`.
fn a_paused_trial_is_resumed_once_with_its_curve(db: &TestDb) {
    let storage = db.with_study("s");
    let mut store = storage.trial_store("s").unwrap();
    let mut memory = MemoryStore::default();
    let (a, b) = (long_lease("a"), long_lease("b"));
    let stores: [&mut dyn TrialStore; 2] = [&mut store, &mut memory];
    for store in stores {
        let trial = claimed(store.claim_new(&proposal(0, 0), None, &a).unwrap());
        store.append_intermediate(0, &metrics(&[("epoch", 1.0), ("accuracy", 0.5)])).unwrap();
        assert_eq!(store.resume_paused(0, &b).unwrap(), None, "a running trial is not paused");
        let mut paused = trial.clone();
        paused.state = TrialState::Pruned;
        paused.metrics = metrics(&[("epoch", 1.0), ("accuracy", 0.5), (PAUSED_AT, 1.0)]);
        paused.error = Some("paused by the scheduler at rung epoch = 1".into());
        assert!(store.finish(&paused, &a).unwrap());
        let resumed = store.resume_paused(0, &b).unwrap().expect("a paused trial resumes");
        assert_eq!((resumed.state, resumed.worker.as_deref()), (TrialState::Running, Some(b.owner.as_str())));
        assert_eq!(resumed.intermediate, vec![metrics(&[("epoch", 1.0), ("accuracy", 0.5)])]);
        assert_eq!(store.resume_paused(0, &a).unwrap(), None, "resumed once");
        store.append_intermediate(0, &metrics(&[("epoch", 2.0), ("accuracy", 0.6)])).unwrap();
        assert!(!store.finish(&finished(resumed.clone(), 0.6), &a).unwrap(), "the old lease is gone");
        assert!(store.finish(&finished(resumed, 0.6), &b).unwrap());
        let trials = store.load_trials().unwrap();
        assert_eq!((trials[0].state, trials[0].intermediate.len()), (TrialState::Complete, 2));
        // A finished trial that was never paused is not resumable.
        assert_eq!(store.resume_paused(0, &a).unwrap(), None);
    }
}
