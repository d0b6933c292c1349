//! Tests that need the backend's insides: operations retried after an uncertain commit, and the migration
//! of a database of schema version 2 (built from the history's own version 2 schema, with trials written
//! by version 2's claim function).

use std::sync::atomic::Ordering;
use std::time::Duration;

use nasforge_core::study::{Claim, Lease, TrialStore};
use nasforge_core::{Metrics, TrialRecord, TrialState};
use postgres::{Client, NoTls};

use super::*;

/// A fresh database on the test server; dropped with the guard.
struct TestDatabase {
    admin: Client,
    name: String,
    url: String,
}

impl TestDatabase {
    /// `None` when the test is skipped (no server; see nasforge-testkit).
    fn new(test: &str) -> Option<TestDatabase> {
        let server = nasforge_testkit::require(nasforge_testkit::Postgres)?;
        let name = format!("nf_{}_{test}", std::process::id());
        let mut admin = Client::connect(&server, NoTls).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let (main, query) = server.split_once('?').map_or((server.as_str(), None), |(m, q)| (m, Some(q)));
        let base = &main[..main.rfind('/').unwrap()];
        let url = format!("{base}/{name}{}", query.map(|q| format!("?{q}")).unwrap_or_default());
        Some(TestDatabase { admin, name, url })
    }

    fn open(&self) -> PostgresStorage {
        PostgresStorage::open(&self.url, Duration::from_secs(5)).unwrap()
    }

    fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn proposal(canonical: &str) -> TrialRecord {
    TrialRecord {
        id: 0,
        arch: format!("arch of {canonical}"),
        arch_json: "{}".into(),
        canonical: canonical.into(),
        state: TrialState::Running,
        metrics: Metrics::new(),
        intermediate: Vec::new(),
        cached_from: None,
        seed: 7,
        error: None,
        started_at: 1.7e9,
        finished_at: None,
        attempts: 1,
        worker: None,
    }
}

/// What every operation does when it runs again after a commit whose outcome it could not see (the
/// connection broke during COMMIT): it finds its own work and neither repeats nor refuses it.
#[test]
fn operations_retried_after_an_uncertain_commit_are_idempotent() {
    let Some(db) = TestDatabase::new("uncertain_commit") else { return };
    let storage = db.open();
    storage.create_study("s", "nb201", "{}").unwrap();
    let lease = Lease { owner: "h:1:0".into(), duration: Duration::from_secs(3600) };
    let mut store = storage.trial_store("s").unwrap();
    let Claim::Claimed(first) = store.claim_new(&proposal("a"), Some(10), &lease).unwrap() else { panic!() };
    store.append_intermediate(first.id, &Metrics::from([("e".to_string(), 1.0)])).unwrap();
    let Claim::Claimed(other) = store.claim_new(&proposal("b"), Some(10), &lease).unwrap() else { panic!() };
    store.finish(&TrialRecord { state: TrialState::Complete, ..other.clone() }, &lease).unwrap();

    storage.shared.pretend_retry.store(true, Ordering::Relaxed);
    // A study of that name created earlier (another creation time) is still refused.
    assert!(matches!(storage.create_study("s", "nb201", "{}"), Err(StoreError::StudyExists { .. })));
    // The claim that committed is returned again, not recorded twice (nor called busy).
    let Claim::Claimed(again) = store.claim_new(&proposal("a"), Some(10), &lease).unwrap() else { panic!() };
    assert_eq!(again.id, first.id);
    // A cache hit that committed is returned again.
    let hit = store.claim_new(&proposal("b"), Some(10), &lease).unwrap();
    let Claim::CacheHit(hit) = hit else { panic!("{hit:?}") };
    let Claim::CacheHit(hit_again) = store.claim_new(&proposal("b"), Some(10), &lease).unwrap() else { panic!() };
    assert_eq!(hit_again.id, hit.id);
    // Another worker's claim of the same architecture is still busy.
    let other_worker = Lease { owner: "h:2:0".into(), ..lease.clone() };
    assert_eq!(store.claim_new(&proposal("a"), Some(10), &other_worker).unwrap(), Claim::Busy);
    // The step of a held trial is written once.
    store.held.get_mut(&first.id).unwrap().next_step -= 1;
    store.append_intermediate(first.id, &Metrics::from([("e".to_string(), 1.0)])).unwrap();
    // A result that committed is reported as recorded; another worker's is not.
    let done = TrialRecord { state: TrialState::Complete, finished_at: Some(1.8e9), ..first.clone() };
    assert!(store.finish(&done, &lease).unwrap());
    assert!(store.finish(&done, &lease).unwrap());
    assert!(!store.finish(&done, &other_worker).unwrap());
    // A final result that committed is not recorded twice.
    let result =
        FinalResultRecord { trial_id: first.id, created_at: 1.9e9, payload_json: "{\"test_accuracy\": 0.9}".into() };
    storage.record_final_result("s", &result).unwrap();
    storage.record_final_result("s", &result).unwrap();
    // A takeover that committed: the running trial of this owner that this handle does not hold.
    let Claim::Claimed(third) = store.claim_new(&proposal("c"), Some(10), &lease).unwrap() else { panic!() };
    assert_eq!(store.claim_abandoned(&lease).unwrap(), None, "a trial this handle holds is not a takeover");
    let mut fresh = storage.trial_store("s").unwrap();
    assert_eq!(fresh.claim_abandoned(&lease).unwrap().map(|t| t.id), Some(third.id));

    storage.shared.pretend_retry.store(false, Ordering::Relaxed);
    let trials = store.load_trials().unwrap();
    assert_eq!(trials.iter().map(|t| t.canonical.as_str()).collect::<Vec<_>>(), ["a", "b", "b", "c"]);
    assert_eq!(trials[0].intermediate.len(), 1);
    assert_eq!(storage.final_results("s").unwrap(), [result]);
}

/// Schema version 2 as nasforge wrote it: the history's version 2 schema and its `nasforge_meta` row.
fn write_version_2(client: &mut Client) {
    client.batch_execute(schema::HISTORY.create).unwrap();
    client.execute("INSERT INTO nasforge_meta (key, value) VALUES ('schema_version', '2')", &[]).unwrap();
}

/// Claims through version 2's `nasforge_claim_new`; returns (outcome, id).
fn claim_v2(client: &mut Client, study: i64, canonical: &str, metrics: &str, owner: &str) -> (String, Option<i64>) {
    let row = client
        .query_one(
            "SELECT o_outcome, o_id FROM nasforge_claim_new($1, $2, '{}', $3, $4, 7, NULL, 1.7e9, NULL, $5, 3600, NULL)",
            &[&study, &format!("arch of {canonical}"), &canonical, &metrics, &owner],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

#[test]
fn a_version_2_database_is_migrated_to_version_3() {
    let Some(db) = TestDatabase::new("migrate_v2") else { return };
    let mut client = db.client();
    write_version_2(&mut client);
    // A study written by version 2: a finished trial with a learning curve, a cache hit of it (which
    // version 2 recorded with its source's metrics wholesale), a failed trial, and a running one.
    let study: i64 = client
        .query_one(
            "INSERT INTO studies (name, space, config_json, created_at) VALUES ('old', 'nb201', '{\"budget\": 9}', 1.7e9) RETURNING id",
            &[],
        )
        .unwrap()
        .get(0);
    let owner = "old-host:1:0";
    assert_eq!(claim_v2(&mut client, study, "A", "{\"params\":1.5}", owner), ("claimed".into(), Some(0)));
    client.execute("INSERT INTO intermediate VALUES ($1, 0, 0, '{\"accuracy\":50}')", &[&study]).unwrap();
    client
        .execute(
            "UPDATE trials SET state = 'complete', metrics = '{\"accuracy\":93.37999725341797,\"params\":1.5}', \
             finished_at = 1.8e9, lease_until = NULL WHERE study = $1 AND id = 0",
            &[&study],
        )
        .unwrap();
    assert_eq!(claim_v2(&mut client, study, "A", "{\"params\":2.5}", owner), ("hit".into(), Some(1)));
    assert_eq!(claim_v2(&mut client, study, "B", "{}", owner), ("claimed".into(), Some(2)));
    client
        .execute(
            "UPDATE trials SET state = 'failed', error = 'diverged', finished_at = 1.9e9, lease_until = NULL \
             WHERE study = $1 AND id = 2",
            &[&study],
        )
        .unwrap();
    assert_eq!(claim_v2(&mut client, study, "C", "{}", owner), ("claimed".into(), Some(3)));

    // Workers opening it at once migrate it once.
    let openers: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            std::thread::spawn(move || PostgresStorage::open(&url, Duration::from_secs(5)).map(|_| ()))
        })
        .collect();
    for opener in openers {
        opener.join().unwrap().unwrap();
    }
    let version: String =
        client.query_one("SELECT value FROM nasforge_meta WHERE key = 'schema_version'", &[]).unwrap().get(0);
    assert_eq!(version, POSTGRES_SCHEMA_VERSION.to_string());
    assert_eq!(POSTGRES_SCHEMA_VERSION, 3);

    // The trials are intact.
    let storage = db.open();
    assert_eq!(storage.study("old").unwrap().unwrap().config_json, "{\"budget\": 9}");
    let mut store = storage.trial_store("old").unwrap();
    let trials = store.load_trials().unwrap();
    let summary: Vec<(u64, &str, TrialState, Option<u64>, u32)> =
        trials.iter().map(|t| (t.id, t.canonical.as_str(), t.state, t.cached_from, t.attempts)).collect();
    assert_eq!(
        summary,
        [
            (0, "A", TrialState::Complete, None, 1),
            (1, "A", TrialState::Complete, Some(0), 0),
            (2, "B", TrialState::Failed, None, 1),
            (3, "C", TrialState::Running, None, 1)
        ]
    );
    assert_eq!(trials[0].metrics, Metrics::from([("accuracy".into(), 93.37999725341797), ("params".into(), 1.5)]));
    assert_eq!(trials[0].intermediate, [Metrics::from([("accuracy".to_string(), 50.0)])]);
    assert_eq!(trials[1].metrics, trials[0].metrics, "version 2 copied the source's metrics wholesale");
    assert_eq!(trials[2].error.as_deref(), Some("diverged"));
    assert!(trials.iter().all(|t| t.worker.as_deref() == Some(owner)));
    assert_eq!(
        store.changes(0).unwrap().iter().map(|(v, t)| (*v, t.id)).collect::<Vec<_>>(),
        [(1, 0), (2, 1), (3, 2), (4, 3)]
    );

    // The new table works, and cache hits now keep the proposal's own metrics.
    assert_eq!(storage.final_results("old").unwrap(), []);
    let result = FinalResultRecord { trial_id: 0, created_at: 2e9, payload_json: "{\"test_accuracy\": 94.1}".into() };
    storage.record_final_result("old", &result).unwrap();
    assert_eq!(storage.final_results("old").unwrap(), [result]);
    let lease = Lease { owner: "new-host:2:0".into(), duration: Duration::from_secs(3600) };
    let mut own = proposal("A");
    own.metrics = Metrics::from([("params".to_string(), 3.5), ("flops".to_string(), 1e8)]);
    let Claim::CacheHit(hit) = store.claim_new(&own, None, &lease).unwrap() else { panic!() };
    let expected =
        Metrics::from([("accuracy".into(), 93.37999725341797), ("params".into(), 3.5), ("flops".into(), 1e8)]);
    assert_eq!((hit.id, hit.cached_from, &hit.metrics), (4, Some(0), &expected));
    assert_eq!(store.load_trials().unwrap()[4], hit, "the store holds what the claim returned");

    // Reopening a migrated database changes nothing.
    drop((store, storage));
    let before = db.open().trial_store("old").unwrap().load_trials().unwrap();
    assert_eq!(db.open().trial_store("old").unwrap().load_trials().unwrap(), before);
}
