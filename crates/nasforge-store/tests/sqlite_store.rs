//! Round trips through SQLite storage: studies, trials with every field, intermediate results, per-study
//! ids, reopening, several connections sharing one study, and agreement with nasforge-core's MemoryStore.

use std::collections::BTreeSet;
use std::path::Path;

use nasforge_core::study::{MemoryStore, TrialStore};
use nasforge_core::{Metrics, TrialRecord, TrialState};
use nasforge_store::{Storage, StoreError, StudyStore};

fn metrics(pairs: &[(&str, f64)]) -> Metrics {
    pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

fn url(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

fn trial(i: u64) -> TrialRecord {
    TrialRecord {
        id: 999, // ignored by insert_trial
        arch: format!("|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|conv{i}~1|none~2|"),
        arch_json: format!("{{\"ops\": [\"nor_conv_3x3\", {i}]}}"),
        canonical: format!("canon-{}", i % 7),
        state: TrialState::Running,
        metrics: Metrics::new(),
        intermediate: Vec::new(),
        cached_from: None,
        seed: i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        error: None,
        started_at: 1_700_000_000.0 + i as f64 * 0.125,
        finished_at: None,
        attempts: 1,
    }
}

fn finish(mut t: TrialRecord, accuracy: f64) -> TrialRecord {
    t.state = TrialState::Complete;
    t.metrics = metrics(&[("accuracy", accuracy), ("params", 1.2e6), ("latency_ms", 3.25)]);
    t.finished_at = Some(t.started_at + 12.5);
    t
}

#[test]
fn studies_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&url(&dir.path().join("s.db"))).unwrap();
    assert!(storage.studies().unwrap().is_empty());
    assert_eq!(storage.study("a").unwrap(), None);

    let a = storage.create_study("a", "nb201", r#"{"budget": 10}"#).unwrap();
    let names = ["b – ünïcødé 研究 🚀", "with 'quotes' and \"double\"", " ", "a\0nul"];
    for name in names {
        storage.create_study(name, "chain", "{}").unwrap();
    }
    assert_eq!(a.name, "a");
    assert_eq!(a.space, "nb201");
    assert_eq!(a.config_json, r#"{"budget": 10}"#);
    assert!(a.created_at > 1.6e9 && a.created_at < 1e10, "{}", a.created_at);
    assert_eq!(storage.study("a").unwrap(), Some(a.clone()));
    for name in names {
        assert_eq!(storage.study(name).unwrap().unwrap().name, name);
    }
    let listed: Vec<String> = storage.studies().unwrap().into_iter().map(|s| s.name).collect();
    let mut expected = vec!["a".to_string()];
    expected.extend(names.iter().map(|s| s.to_string()));
    assert_eq!(listed, expected, "creation order");

    let e = storage.create_study("a", "nb201", "{}").unwrap_err();
    assert!(matches!(e, StoreError::StudyExists { .. }), "{e}");
    assert!(e.to_string().contains("'a' exists already") && e.to_string().contains("s.db"), "{e}");
    assert!(matches!(storage.create_study("", "nb201", "{}"), Err(StoreError::EmptyStudyName)));
    let e = storage.create_study("c", "nb201", "{not json").unwrap_err();
    assert!(matches!(e, StoreError::InvalidConfig { .. }), "{e}");
    assert_eq!(storage.study("c").unwrap(), None);

    storage.update_study_config("a", r#"{"budget": 20}"#).unwrap();
    let updated = storage.study("a").unwrap().unwrap();
    assert_eq!(updated.config_json, r#"{"budget": 20}"#);
    assert_eq!(updated.created_at, a.created_at);
    assert!(matches!(storage.update_study_config("zzz", "{}"), Err(StoreError::NoStudy { .. })));
    assert!(matches!(storage.update_study_config("a", "]"), Err(StoreError::InvalidConfig { .. })));
    let e = storage.trial_store("zzz").unwrap_err();
    assert!(matches!(e, StoreError::NoStudy { .. }));
    assert!(e.to_string().contains("no study named 'zzz'"), "{e}");
}

#[test]
fn trials_round_trip_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&url(&dir.path().join("t.db"))).unwrap();
    storage.create_study("s", "nb201", "{}").unwrap();
    let mut store = storage.trial_store("s").unwrap();
    assert_eq!(store.study_name(), "s");
    assert!(store.load_trials().unwrap().is_empty());

    let seeds = [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX - 1, u64::MAX, 0x8000_0000_0000_0001];
    let mut expected = Vec::new();
    for (i, &seed) in seeds.iter().enumerate() {
        let mut t = trial(i as u64);
        t.seed = seed;
        let id = store.insert_trial(&t).unwrap();
        assert_eq!(id, i as u64);
        t.id = id;
        expected.push(t);
    }
    // A complete trial with a learning curve reported epoch by epoch.
    let curve = vec![
        metrics(&[("val_accuracy", 0.1), ("loss", 2.3)]),
        metrics(&[("val_accuracy", 0.45), ("loss", f64::INFINITY)]),
        metrics(&[("val_accuracy", 1.0 / 3.0), ("loss", 5e-324)]),
    ];
    for m in &curve {
        store.append_intermediate(2, m).unwrap();
    }
    let mut t2 = finish(expected[2].clone(), 93.37999725341797);
    t2.intermediate = curve.clone();
    t2.attempts = 3;
    t2.error = Some("retried: attempt 3 after an interrupted run — ünïcødé".into());
    store.update_trial(&t2).unwrap();
    expected[2] = t2;
    // A failed trial, a pruned one, and a cache hit inserted finished (with its own curve).
    let mut t3 = expected[3].clone();
    t3.state = TrialState::Failed;
    t3.error = Some("diverged: loss is NaN".into());
    t3.finished_at = Some(t3.started_at + 0.5);
    store.update_trial(&t3).unwrap();
    expected[3] = t3;
    let mut t4 = finish(expected[4].clone(), -0.0);
    t4.state = TrialState::Pruned;
    t4.metrics.insert("tiny".into(), f64::MIN_POSITIVE);
    t4.metrics.insert("huge".into(), -f64::MAX);
    store.update_trial(&t4).unwrap();
    expected[4] = t4;
    let mut hit = finish(trial(100), 93.37999725341797);
    hit.cached_from = Some(2);
    hit.attempts = 0;
    hit.seed = u64::MAX;
    hit.intermediate = vec![metrics(&[("x", 1.0)]), metrics(&[]), metrics(&[("x", 2.0)])];
    hit.id = store.insert_trial(&hit).unwrap();
    assert_eq!(hit.id, seeds.len() as u64);
    expected.push(hit);

    let loaded = store.load_trials().unwrap();
    assert_eq!(loaded, expected);
    for (l, e) in loaded.iter().zip(&expected) {
        assert_eq!(l.seed, e.seed, "u64 seeds survive bit for bit");
        for (name, v) in &e.metrics {
            assert_eq!(l.metrics[name].to_bits(), v.to_bits(), "{name}");
        }
    }

    // NaN survives too (not comparable with ==, so checked apart).
    store.append_intermediate(0, &metrics(&[("loss", f64::NAN)])).unwrap();
    let loaded = store.load_trials().unwrap();
    assert!(loaded[0].intermediate[0]["loss"].is_nan());

    // update_trial makes the stored curve exactly the record's: shorter, changed, or empty.
    let mut t2 = expected[2].clone();
    t2.intermediate = vec![metrics(&[("val_accuracy", 0.7)])];
    store.update_trial(&t2).unwrap();
    assert_eq!(store.load_trials().unwrap()[2].intermediate, t2.intermediate);
    t2.intermediate.clear();
    store.update_trial(&t2).unwrap();
    assert!(store.load_trials().unwrap()[2].intermediate.is_empty());
    store.append_intermediate(2, &metrics(&[("e", 1.0)])).unwrap();
    assert_eq!(store.load_trials().unwrap()[2].intermediate, vec![metrics(&[("e", 1.0)])]);

    // Unknown ids are errors that name the study and the trial.
    let mut missing = trial(0);
    missing.id = 77;
    let e = StudyStore::update_trial(&mut store, &missing).unwrap_err();
    assert!(e.to_string().contains("has no trial 77"), "{e}");
    let e = store.append_intermediate(78, &Metrics::new()).unwrap_err();
    assert!(e.to_string().contains("has no trial 78"), "{e}");
}

#[test]
fn ids_are_per_study_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.db");
    {
        let storage = Storage::open(&url(&path)).unwrap();
        storage.create_study("one", "nb201", "{}").unwrap();
        storage.create_study("two", "nb201", "{}").unwrap();
        let mut one = storage.trial_store("one").unwrap();
        let mut two = storage.trial_store("two").unwrap();
        for i in 0..5 {
            assert_eq!(one.insert_trial(&trial(i)).unwrap(), i);
            if i % 2 == 0 {
                assert_eq!(two.insert_trial(&trial(100 + i)).unwrap(), i / 2);
            }
        }
        one.update_trial(&finish(TrialRecord { id: 4, ..trial(4) }, 0.5)).unwrap();
        one.append_intermediate(1, &metrics(&[("acc", 0.25)])).unwrap();
        two.append_intermediate(1, &metrics(&[("acc", 0.75)])).unwrap();
        // `storage`, `one` and `two` are dropped here: the connection closes.
    }
    for open in [url(&path), format!("sqlite://{}", path.display()), path.display().to_string()] {
        let storage = Storage::open(&open).unwrap();
        assert_eq!(storage.path(), path);
        let names: Vec<String> = storage.studies().unwrap().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["one", "two"]);
        let one = storage.trial_store("one").unwrap().load_trials().unwrap();
        let two = storage.trial_store("two").unwrap().load_trials().unwrap();
        assert_eq!(one.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        assert_eq!(two.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(one[4], finish(TrialRecord { id: 4, ..trial(4) }, 0.5));
        assert_eq!(one[1].intermediate, [metrics(&[("acc", 0.25)])]);
        assert_eq!(two[1].intermediate, [metrics(&[("acc", 0.75)])]);
        assert_eq!(two[1].arch, trial(102).arch);
    }
    // Ids go on after reopening.
    let storage = Storage::open(&url(&path)).unwrap();
    assert_eq!(storage.trial_store("two").unwrap().insert_trial(&trial(9)).unwrap(), 3);
}

#[test]
fn in_memory_storage_works() {
    let storage = Storage::open("sqlite::memory:").unwrap();
    storage.create_study("m", "nb201", "{}").unwrap();
    let mut store = storage.trial_store("m").unwrap();
    assert_eq!(store.insert_trial(&trial(0)).unwrap(), 0);
    assert_eq!(store.load_trials().unwrap().len(), 1);
}

/// Two connections (as two worker processes would have) insert into one study at once: no id twice.
#[test]
fn concurrent_writers_never_share_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    Storage::open(&url(&path)).unwrap().create_study("s", "nb201", "{}").unwrap();
    let per_writer = 300;
    let handles: Vec<_> = (0..3)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let storage = Storage::open(&url(&path)).unwrap();
                let mut store = storage.trial_store("s").unwrap();
                let mut ids = Vec::new();
                for i in 0..per_writer {
                    let mut t = trial(w * 1000 + i);
                    t.id = store.insert_trial(&t).unwrap();
                    store.update_trial(&finish(t.clone(), 0.5)).unwrap();
                    ids.push(t.id);
                }
                ids
            })
        })
        .collect();
    let ids: Vec<u64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an id was given twice");
    assert_eq!(unique, (0..3 * per_writer).collect());
    let loaded = Storage::open(&url(&path)).unwrap().trial_store("s").unwrap().load_trials().unwrap();
    assert_eq!(loaded.len() as u64, 3 * per_writer);
    assert!(loaded.iter().all(|t| t.state == TrialState::Complete));
}

/// The same operations on the SQLite store and on core's MemoryStore leave the same trials.
#[test]
fn agrees_with_the_memory_store() {
    let storage = Storage::open("sqlite::memory:").unwrap();
    storage.create_study("s", "nb201", "{}").unwrap();
    let mut sqlite = storage.trial_store("s").unwrap();
    let mut memory = MemoryStore::default();
    let stores: [&mut dyn TrialStore; 2] = [&mut sqlite, &mut memory];
    for store in stores {
        for i in 0..20u64 {
            let id = store.insert_trial(&trial(i)).unwrap();
            assert_eq!(id, i);
            for epoch in 0..(i % 4) {
                store.append_intermediate(id, &metrics(&[("epoch", epoch as f64)])).unwrap();
            }
            if i % 3 != 0 {
                let mut done = finish(TrialRecord { id, ..trial(i) }, i as f64 / 20.0);
                // The study keeps the curve it reported; a retried trial keeps only its last attempt's.
                done.intermediate = (0..(i % 4) / 2).map(|e| metrics(&[("epoch", 10.0 + e as f64)])).collect();
                store.update_trial(&done).unwrap();
            }
        }
    }
    assert_eq!(sqlite.load_trials().unwrap(), memory.load_trials().unwrap());
}
