//! What the store tests share: a fresh database of each backend per test, trials to claim, and macros
//! that run one generic test function against SQLite and PostgreSQL, and against the memory storage.
//!
//! PostgreSQL tests use the server named by `NASFORGE_TEST_POSTGRES` (a URL whose user may create
//! databases; `scripts/pg_test_cluster.sh start` prints one): each test gets a database of its own, dropped
//! afterwards. Without it they are skipped, or fail under `CI=true` (see nasforge-testkit's `require`).

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

#[allow(unused_imports)]
pub use nasforge_core::study::this_host;
use nasforge_core::study::{Claim, Lease};
use nasforge_core::{Metrics, TrialRecord, TrialState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Memory,
}

/// A database for one test: a file in a temporary directory, or a PostgreSQL database dropped at the end.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    dir: Option<tempfile::TempDir>,
    /// (server URL, database name) of a PostgreSQL database to drop.
    drop_database: Option<(String, String)>,
    /// The memory storage, which opening `memory:` again would not find: "reopening" it is a clone.
    memory: Option<nasforge_store::Storage>,
}

impl TestDb {
    pub fn storage(&self) -> nasforge_store::Storage {
        if let Some(memory) = &self.memory {
            return memory.clone();
        }
        nasforge_store::Storage::open(&self.url).unwrap_or_else(|e| panic!("opening {}: {e}", self.url))
    }

    /// A storage with a study named `name` in it (created when missing).
    pub fn with_study(&self, name: &str) -> nasforge_store::Storage {
        let storage = self.storage();
        if storage.study(name).unwrap().is_none() {
            storage.create_study(name, "nb201", "{}").unwrap();
        }
        storage
    }

    /// The temporary directory of an SQLite database.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_ref().map(|d| d.path())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.drop_database.take()
            && let Ok(mut client) = postgres::Client::connect(&server, postgres::NoTls)
        {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("store.db").display());
    TestDb { backend: Backend::Sqlite, url, dir: Some(dir), drop_database: None, memory: None }
}

pub fn memory() -> TestDb {
    let url = "memory:".to_string();
    let storage = nasforge_store::Storage::open(&url).unwrap();
    TestDb { backend: Backend::Memory, url, dir: None, drop_database: None, memory: Some(storage) }
}

/// `url` with another database name.
pub fn with_database(url: &str, database: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (url, None),
    };
    let scheme_end = main.find("://").map_or(0, |i| i + 3);
    let base = match main[scheme_end..].rfind('/') {
        Some(i) => &main[..scheme_end + i],
        None => main,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// A new, empty PostgreSQL database for one test.
pub fn postgres(test: &str) -> Option<TestDb> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let server = nasforge_testkit::require(nasforge_testkit::Postgres)?;
    let name = format!(
        "nf_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        test.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(30).collect::<String>()
    );
    let mut client = postgres::Client::connect(&server, postgres::NoTls)
        .unwrap_or_else(|e| panic!("{test}: cannot connect to {}: {e:?}", nasforge_testkit::POSTGRES_VARIABLE));
    client.batch_execute(&format!("CREATE DATABASE \"{name}\"")).unwrap();
    let url = with_database(&server, &name);
    Some(TestDb { backend: Backend::Postgres, url, dir: None, drop_database: Some((server, name)), memory: None })
}

/// Runs each named generic test function `fn(&TestDb)` as `on_sqlite::NAME` and `on_postgres::NAME` (the
/// test file declares `#[macro_use] mod common;`).
#[allow(unused_macros)]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::common::sqlite());
                }
            )*
        }
        mod on_postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(db) = super::common::postgres(stringify!($name)) {
                        super::$name(&db);
                    }
                }
            )*
        }
    };
}

/// Runs each named generic test function `fn(&TestDb)` as `on_memory::NAME`: the contract of the stores
/// that does not involve leases running out or processes dying (the memory storage has neither).
#[allow(unused_macros)]
macro_rules! memory_backend {
    ($($name:ident),* $(,)?) => {
        mod on_memory {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::common::memory());
                }
            )*
        }
    };
}

pub fn metrics(pairs: &[(&str, f64)]) -> Metrics {
    pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

/// A trial to claim, of canonical form `canon-{canonical}`.
pub fn proposal(i: u64, canonical: u64) -> TrialRecord {
    TrialRecord {
        id: 999, // ignored by claim_new
        arch: format!("|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|conv{i}~1|none~2|"),
        arch_json: format!("{{\"ops\": [\"nor_conv_3x3\", {i}]}}"),
        canonical: format!("canon-{canonical}"),
        state: TrialState::Running,
        metrics: Metrics::new(),
        intermediate: Vec::new(),
        cached_from: None,
        seed: i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        error: None,
        started_at: 1_700_000_000.0 + i as f64 * 0.125,
        finished_at: None,
        attempts: 1,
        worker: None,
    }
}

/// `trial` finished with an accuracy.
pub fn finished(mut trial: TrialRecord, accuracy: f64) -> TrialRecord {
    trial.state = TrialState::Complete;
    trial.metrics = metrics(&[("accuracy", accuracy), ("params", 1.2e6), ("latency_ms", 3.25)]);
    trial.finished_at = Some(trial.started_at + 12.5);
    trial
}

pub fn lease(name: &str, duration: Duration) -> Lease {
    Lease { owner: format!("test-host-{name}:{}:0", std::process::id()), duration }
}

/// A lease that does not run out during a test.
pub fn long_lease(name: &str) -> Lease {
    lease(name, Duration::from_secs(3600))
}

#[track_caller]
pub fn claimed(claim: Claim) -> TrialRecord {
    match claim {
        Claim::Claimed(trial) => trial,
        other => panic!("expected a claimed trial, got {other:?}"),
    }
}

#[track_caller]
pub fn cache_hit(claim: Claim) -> TrialRecord {
    match claim {
        Claim::CacheHit(trial) => trial,
        other => panic!("expected a cache hit, got {other:?}"),
    }
}

/// The pid of a process that has just exited (and was reaped).
pub fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// A made-up accuracy from the architecture's canonical form, with a three-epoch learning curve, after a
/// pause per epoch; every 17th architecture fails.
pub struct FakeTraining {
    pub epoch_time: Duration,
}

impl nasforge_core::study::Evaluator<nasforge_core::space::Nb201Space> for FakeTraining {
    fn evaluate(
        &self,
        request: &nasforge_core::study::EvalRequest<'_, nasforge_core::space::Nb201Space>,
        reporter: &mut dyn nasforge_core::study::Reporter,
    ) -> Result<Metrics, nasforge_core::study::EvalError> {
        use nasforge_core::space::SearchSpace;
        let canonical = request.space.canonical(request.arch);
        let score = canonical.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) % 10_000;
        let accuracy = score as f64 / 100.0;
        if score % 17 == 0 {
            return Err(nasforge_core::study::EvalError::Failed("diverged".into()));
        }
        for epoch in 1..=3 {
            std::thread::sleep(self.epoch_time);
            reporter.report(&metrics(&[("accuracy", accuracy * epoch as f64 / 3.0)]))?;
        }
        Ok(metrics(&[("accuracy", accuracy)]))
    }
}

/// Runs one worker of study `study` (created when missing) at `url` with the real study loop until `paid`
/// paid trials are finished; returns why it stopped and the trials it knows.
pub fn run_worker(
    url: &str,
    study: &str,
    thread: usize,
    paid: u64,
    epoch_time: Duration,
) -> (nasforge_core::study::StopReason, Vec<TrialRecord>) {
    use nasforge_core::space::{Nb201Space, SearchSpace};
    use nasforge_core::study::{RunLimits, Study};
    use nasforge_core::{Objective, Objectives, StrategySpec};
    let storage = nasforge_store::Storage::open(url).unwrap();
    if storage.study(study).unwrap().is_none() {
        // Several workers may start at once: one creates the study.
        let _ = storage.create_study(study, Nb201Space::NAME, "{}");
    }
    let mut store = storage.trial_store(study).unwrap();
    let objectives = Objectives::new(vec![Objective::maximize("accuracy")], vec![]).unwrap();
    let strategy = StrategySpec::from_name("evolution").unwrap().build(&Nb201Space, 1).unwrap();
    let mut run = Study::open(Nb201Space, strategy, objectives, 42, &mut store).unwrap();
    let limits = RunLimits { max_paid_trials: Some(paid), ..RunLimits::default() };
    let lease = Lease::for_this_process(thread, Duration::from_secs(30));
    let stop = std::sync::atomic::AtomicBool::new(false);
    let reason = run
        .run(&FakeTraining { epoch_time }, &mut store, &limits, &lease, &mut (), &stop)
        .unwrap_or_else(|e| panic!("worker {thread}: {e}"));
    (reason, run.trials().to_vec())
}

/// Checks a finished study: exactly `paid` paid trials, all finished, each canonical form paid once, ids
/// 0, 1, 2…, cache hits copying their source. Returns the trials.
pub fn check_study(url: &str, study: &str, paid: u64) -> Vec<TrialRecord> {
    use nasforge_core::study::TrialStore;
    let trials = nasforge_store::Storage::open(url).unwrap().trial_store(study).unwrap().load_trials().unwrap();
    assert!(trials.iter().enumerate().all(|(i, t)| t.id == i as u64), "ids are 0, 1, 2…");
    let paid_trials: Vec<&TrialRecord> = trials.iter().filter(|t| t.is_paid()).collect();
    assert_eq!(paid_trials.len() as u64, paid, "paid trials");
    let canonical: std::collections::BTreeSet<&str> = paid_trials.iter().map(|t| t.canonical.as_str()).collect();
    assert_eq!(canonical.len(), paid_trials.len(), "a canonical form was paid for twice");
    for t in &trials {
        assert!(t.state.is_finished(), "trial {} still runs", t.id);
        assert!(t.worker.is_some(), "trial {} has no worker", t.id);
        if let Some(source) = t.cached_from {
            let source = &trials[source as usize];
            assert_eq!((source.canonical.as_str(), source.state), (t.canonical.as_str(), t.state));
        }
    }
    trials
}
