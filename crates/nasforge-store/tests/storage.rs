//! Storages on both backends: studies, per-study ids, reopening, locations without passwords; and what
//! only PostgreSQL has: its schema record (newer versions and foreign tables refused untouched), text
//! without NUL, an unreachable server.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::*;
use nasforge_core::study::TrialStore;
use nasforge_store::{FinalResultRecord, POSTGRES_SCHEMA_VERSION, PostgresStorage, Storage, StoreError};

both_backends!(studies_round_trip, ids_are_per_study_and_survive_reopening, final_results_round_trip);
memory_backend!(studies_round_trip, ids_are_per_study_and_survive_reopening, final_results_round_trip);

fn studies_round_trip(db: &TestDb) {
    let storage = db.storage();
    assert!(storage.studies().unwrap().is_empty());
    assert_eq!(storage.study("a").unwrap(), None);

    let a = storage.create_study("a", "nb201", r#"{"budget": 10}"#).unwrap();
    let names = ["b – ünïcødé 研究 🚀", "with 'quotes' and \"double\"", " ", "a\0nul"];
    for name in names {
        let created = storage.create_study(name, "chain", "{}");
        if db.backend == Backend::Postgres && name.contains('\0') {
            let e = created.unwrap_err();
            assert!(matches!(e, StoreError::NulInText { .. }), "{e:?}");
            continue;
        }
        created.unwrap();
    }
    let names: Vec<&str> = names.into_iter().filter(|n| db.backend != Backend::Postgres || !n.contains('\0')).collect();
    assert_eq!(a.name, "a");
    assert_eq!(a.space, "nb201");
    assert_eq!(a.config_json, r#"{"budget": 10}"#);
    assert!(a.created_at > 1.6e9 && a.created_at < 1e10, "{}", a.created_at);
    assert_eq!(storage.study("a").unwrap(), Some(a.clone()));
    for name in &names {
        assert_eq!(storage.study(name).unwrap().unwrap().name, *name);
    }
    let listed: Vec<String> = storage.studies().unwrap().into_iter().map(|s| s.name).collect();
    let mut expected = vec!["a".to_string()];
    expected.extend(names.iter().map(|s| s.to_string()));
    assert_eq!(listed, expected, "creation order");

    let e = storage.create_study("a", "nb201", "{}").unwrap_err();
    assert!(matches!(e, StoreError::StudyExists { .. }), "{e}");
    assert!(e.to_string().contains("'a' exists already") && e.to_string().contains(storage.location()), "{e}");
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

fn ids_are_per_study_and_survive_reopening(db: &TestDb) {
    let a = long_lease("a");
    {
        let storage = db.storage();
        storage.create_study("one", "nb201", "{}").unwrap();
        storage.create_study("two", "nb201", "{}").unwrap();
        let mut one = storage.trial_store("one").unwrap();
        let mut two = storage.trial_store("two").unwrap();
        assert_eq!((one.study_name(), two.study_name()), ("one", "two"));
        for i in 0..5 {
            assert_eq!(claimed(one.claim_new(&proposal(i, i), None, &a).unwrap()).id, i);
            if i % 2 == 0 {
                assert_eq!(claimed(two.claim_new(&proposal(100 + i, i), None, &a).unwrap()).id, i / 2);
            }
        }
        let four = one.load_trials().unwrap().remove(4);
        assert!(one.finish(&finished(four, 0.5), &a).unwrap());
        one.append_intermediate(1, &metrics(&[("acc", 0.25)])).unwrap();
        two.append_intermediate(1, &metrics(&[("acc", 0.75)])).unwrap();
        // The storage and its stores are dropped here: the connection closes.
    }
    let storage = db.storage();
    let names: Vec<String> = storage.studies().unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["one", "two"]);
    let one = storage.trial_store("one").unwrap().load_trials().unwrap();
    let two = storage.trial_store("two").unwrap().load_trials().unwrap();
    assert_eq!(one.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    assert_eq!(two.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(one[4].metrics["accuracy"], 0.5);
    assert_eq!(one[1].intermediate, [metrics(&[("acc", 0.25)])]);
    assert_eq!(two[1].intermediate, [metrics(&[("acc", 0.75)])]);
    assert_eq!(two[1].arch, proposal(102, 2).arch);
    // Ids go on after reopening.
    assert_eq!(claimed(storage.trial_store("two").unwrap().claim_new(&proposal(9, 9), None, &a).unwrap()).id, 3);
}

/// Results attached to a study after its search: per study, in the order recorded, several per trial, kept
/// after reopening; unknown studies and trials and payloads that are not JSON are errors.
fn final_results_round_trip(db: &TestDb) {
    let storage = db.with_study("s");
    storage.create_study("other", "nb201", "{}").unwrap();
    let a = long_lease("a");
    for study in ["s", "other"] {
        let mut store = storage.trial_store(study).unwrap();
        for i in 0..3 {
            claimed(store.claim_new(&proposal(i, i), None, &a).unwrap());
        }
    }
    assert_eq!(storage.final_results("s").unwrap(), []);
    let payload = r#"{"test_accuracy": 93.37999725341797, "test_loss": 0.25, "weights": "w/ünï.mpk", "epochs": 200}"#;
    let results = [
        FinalResultRecord { trial_id: 2, created_at: 1_700_000_000.125, payload_json: payload.into() },
        FinalResultRecord { trial_id: 0, created_at: 1_700_000_001.5, payload_json: "[1, 2]".into() },
        FinalResultRecord::new(2, r#"{"epochs": 1}"#),
    ];
    for result in &results {
        storage.record_final_result("s", result).unwrap();
    }
    storage.record_final_result("other", &FinalResultRecord::new(1, "null")).unwrap();
    assert_eq!(storage.final_results("s").unwrap(), results);
    assert!(results[2].created_at > 1.6e9 && results[2].created_at < 1e10, "{}", results[2].created_at);

    let e = storage.record_final_result("nope", &results[0]).unwrap_err();
    assert!(matches!(e, StoreError::NoStudy { .. }) && e.to_string().contains("no study named 'nope'"), "{e}");
    let e = storage.record_final_result("s", &FinalResultRecord { trial_id: 9, ..results[0].clone() }).unwrap_err();
    assert!(matches!(e, StoreError::NoTrial { id: 9, .. }) && e.to_string().contains("has no trial 9"), "{e}");
    let e = storage.record_final_result("s", &FinalResultRecord::new(0, "{not json")).unwrap_err();
    assert!(matches!(e, StoreError::InvalidFinalResult { trial: 0, .. }), "{e:?}");
    assert!(matches!(storage.final_results("nope"), Err(StoreError::NoStudy { .. })));
    drop(storage);
    let storage = db.storage();
    assert_eq!(storage.final_results("s").unwrap(), results);
    assert_eq!(storage.final_results("other").unwrap().len(), 1);
}

#[test]
fn sqlite_urls_and_locations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.db");
    Storage::open(&format!("sqlite:{}", path.display())).unwrap().create_study("s", "nb201", "{}").unwrap();
    for open in
        [format!("sqlite:{}", path.display()), format!("sqlite://{}", path.display()), path.display().to_string()]
    {
        let storage = Storage::open(&open).unwrap();
        assert_eq!(storage.path(), Some(path.as_path()));
        assert_eq!(storage.location(), path.display().to_string());
        assert_eq!(storage.to_string(), path.display().to_string());
        assert_eq!(storage.studies().unwrap().len(), 1);
    }
    let memory = Storage::open("sqlite::memory:").unwrap();
    memory.create_study("m", "nb201", "{}").unwrap();
    let mut store = memory.trial_store("m").unwrap();
    assert_eq!(claimed(store.claim_new(&proposal(0, 0), None, &long_lease("a")).unwrap()).id, 0);
    // An in-memory store has one connection: its keeper renews through it.
    let keeper = store.keep_alive(0, &lease("a", Duration::from_millis(30))).unwrap();
    std::thread::sleep(Duration::from_millis(60));
    drop(keeper);
    assert_eq!(store.load_trials().unwrap().len(), 1);
}

fn postgres_db(test: &str) -> Option<TestDb> {
    postgres(test)
}

#[test]
fn postgres_location_hides_the_password() {
    let Some(db) = postgres_db("postgres_location_hides_the_password") else { return };
    let storage = db.storage();
    assert_eq!(storage.path(), None);
    assert_eq!(storage.location(), db.url, "a URL without a password is shown as is");
    // A password in the URL (the test server trusts 127.0.0.1, so any password connects).
    let (scheme, rest) = db.url.split_once("://").unwrap();
    let (user, host) = rest.split_once('@').unwrap();
    let with_password = format!("{scheme}://{user}:s3cret-pw@{host}");
    let storage = Storage::open(&with_password).unwrap();
    for shown in [storage.location().to_string(), storage.to_string(), format!("{storage:?}")] {
        assert!(!shown.contains("s3cret-pw"), "{shown}");
    }
    assert!(storage.location().contains(":***@"), "{}", storage.location());
    let e = storage.trial_store("missing").unwrap_err();
    assert!(!e.to_string().contains("s3cret-pw") && e.to_string().contains("no study named"), "{e}");
    let with_database = with_database(&with_password, "no_such_database_here");
    let e = PostgresStorage::open(&with_database, Duration::from_secs(1)).unwrap_err();
    let message = e.to_string();
    assert!(!message.contains("s3cret-pw") && message.contains("no_such_database_here"), "{message}");
    assert!(message.contains("does not exist"), "the server's message is shown: {message}");
}

#[test]
fn postgres_schema_newer_or_foreign_is_refused_untouched() {
    let Some(db) = postgres_db("postgres_schema_newer_or_foreign") else { return };
    db.storage().create_study("s", "nb201", "{}").unwrap();
    let mut client = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let version: String =
        client.query_one("SELECT value FROM nasforge_meta WHERE key = 'schema_version'", &[]).unwrap().get(0);
    assert_eq!(version, POSTGRES_SCHEMA_VERSION.to_string());
    client
        .execute(
            "UPDATE nasforge_meta SET value = $1 WHERE key = 'schema_version'",
            &[&(POSTGRES_SCHEMA_VERSION + 1).to_string()],
        )
        .unwrap();
    let e = Storage::open(&db.url).unwrap_err();
    assert!(matches!(e, StoreError::NewerSchema { found, .. } if found == POSTGRES_SCHEMA_VERSION + 1), "{e:?}");
    assert!(e.to_string().contains("newer"), "{e}");
    let studies: i64 = client.query_one("SELECT count(*) FROM studies", &[]).unwrap().get(0);
    assert_eq!(studies, 1);

    // Another program's tables named like ours, without nasforge_meta.
    let Some(foreign) = postgres_db("postgres_foreign") else { return };
    let mut client = postgres::Client::connect(&foreign.url, postgres::NoTls).unwrap();
    client.batch_execute("CREATE TABLE trials (x INTEGER); INSERT INTO trials VALUES (7);").unwrap();
    let e = Storage::open(&foreign.url).unwrap_err();
    assert!(matches!(e, StoreError::ForeignDatabase { .. }), "{e:?}");
    assert!(e.to_string().contains("not a nasforge store") && e.to_string().contains("trials"), "{e}");
    let tables: i64 = client
        .query_one("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", &[])
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "nothing was created");
}

/// Workers that open one new database at once create the schema once.
#[test]
fn postgres_schema_is_created_once_by_concurrent_openers() {
    let Some(db) = postgres_db("postgres_schema_concurrent") else { return };
    let openers: Vec<_> = (0..6)
        .map(|_| {
            let url = db.url.clone();
            std::thread::spawn(move || Storage::open(&url).map(|_| ()))
        })
        .collect();
    for opener in openers {
        opener.join().unwrap().unwrap();
    }
    assert!(db.storage().studies().unwrap().is_empty());
}

#[test]
fn an_unreachable_postgres_server_is_an_error_after_the_retries() {
    // Nothing listens on port 1.
    let started = Instant::now();
    let e = PostgresStorage::open("postgresql://nobody:pw@127.0.0.1:1/db", Duration::from_millis(700)).unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(e, StoreError::Postgres { .. }), "{e:?}");
    assert!(e.to_string().contains("127.0.0.1:1") && !e.to_string().contains(":pw@"), "{e}");
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(10), "{waited:?}");
    let e = Storage::open("postgresql://u@127.0.0.1:notaport/db").unwrap_err();
    assert!(matches!(e, StoreError::BadUrl { .. }), "{e:?}");
}
