//! The store under the real study loop and under kill -9: a study run, stopped and continued from its
//! SQLite file goes on where it stopped, and a killed writer loses no trial whose write had returned.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;

use nasforge_core::space::{Nb201Space, SearchSpace};
use nasforge_core::study::{EvalError, EvalRequest, Evaluator, Reporter, RunLimits, StopReason, Study, TrialStore};
use nasforge_core::{Metrics, Objective, Objectives, StrategySpec, TrialRecord, TrialState};
use nasforge_store::Storage;

/// A made-up accuracy from the architecture's canonical form, with a three-epoch learning curve.
struct FakeTraining;

impl Evaluator<Nb201Space> for FakeTraining {
    fn evaluate(&self, request: &EvalRequest<'_, Nb201Space>, reporter: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        let canonical = request.space.canonical(request.arch);
        let score = canonical.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) % 10_000;
        let accuracy = score as f64 / 100.0;
        if score % 17 == 0 {
            return Err(EvalError::Failed("diverged".into()));
        }
        for epoch in 1..=3 {
            reporter.report(&[("accuracy".to_string(), accuracy * epoch as f64 / 3.0)].into_iter().collect())?;
        }
        Ok([("accuracy".to_string(), accuracy)].into_iter().collect())
    }
}

fn run_study(url: &str, paid: u64) -> (Vec<TrialRecord>, StopReason) {
    let storage = Storage::open(url).unwrap();
    if storage.study("loop").unwrap().is_none() {
        storage.create_study("loop", Nb201Space::NAME, "{}").unwrap();
    }
    let mut store = storage.trial_store("loop").unwrap();
    let objectives = Objectives::new(vec![Objective::maximize("accuracy")], vec![]).unwrap();
    let strategy = StrategySpec::from_name("evolution").unwrap().build(&Nb201Space, 1).unwrap();
    let mut study = Study::open(Nb201Space, strategy, objectives, 42, &mut store).unwrap();
    let limits = RunLimits { max_paid_trials: Some(paid), ..RunLimits::default() };
    let reason = study.run(&FakeTraining, &mut store, &limits, &mut (), &AtomicBool::new(false)).unwrap();
    let in_memory = study.trials().to_vec();
    assert_eq!(store.load_trials().unwrap(), in_memory, "the store holds what the study holds");
    (in_memory, reason)
}

#[test]
fn a_study_continues_from_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("loop.db").display());
    let (first, reason) = run_study(&url, 40);
    assert_eq!(reason, StopReason::Budget);
    assert_eq!(first.iter().filter(|t| t.is_paid()).count(), 40);
    assert!(first.iter().any(|t| t.state == TrialState::Complete && t.intermediate.len() == 3));
    let (second, _) = run_study(&url, 80);
    assert_eq!(&second[..first.len()], &first[..], "continuing keeps the history");
    assert_eq!(second.iter().filter(|t| t.is_paid()).count(), 80);
    assert!(second.iter().enumerate().all(|(i, t)| t.id == i as u64));
}

const CHILD_DB: &str = "NASFORGE_STORE_KILL_TEST_DB";

/// Not a test of its own: the writer process of `kill_9_loses_no_committed_trial` (does nothing unless
/// that test starts it). It writes trials forever and prints each id once `update_trial` has returned.
#[test]
fn killed_writer_child() {
    let Ok(path) = std::env::var(CHILD_DB) else { return };
    let storage = Storage::open(&format!("sqlite:{path}")).unwrap();
    let mut store = storage.trial_store("k").unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let mut t = TrialRecord {
            id: 0,
            arch: format!("arch-{i}"),
            arch_json: "{}".into(),
            canonical: format!("c{i}"),
            state: TrialState::Running,
            metrics: Metrics::new(),
            intermediate: Vec::new(),
            cached_from: None,
            seed: u64::MAX - i,
            error: None,
            started_at: i as f64,
            finished_at: None,
            attempts: 1,
        };
        t.id = store.insert_trial(&t).unwrap();
        t.state = TrialState::Complete;
        t.metrics.insert("accuracy".into(), i as f64);
        t.finished_at = Some(i as f64 + 1.0);
        store.update_trial(&t).unwrap();
        writeln!(out, "committed {}", t.id).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_9_loses_no_committed_trial() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.db");
    Storage::open(&format!("sqlite:{}", path.display())).unwrap().create_study("k", "nb201", "{}").unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "killed_writer_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut committed = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("committed ") {
            committed.push(id.parse::<u64>().unwrap());
            if committed.len() == 2000 {
                child.kill().unwrap(); // SIGKILL on Unix
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(committed.len(), 2000, "the writer stopped early");
    let trials = Storage::open(&format!("sqlite:{}", path.display())).unwrap().trial_store("k").unwrap().load_trials().unwrap();
    assert!(trials.len() >= committed.len());
    for &id in &committed {
        let t = &trials[id as usize];
        assert_eq!(t.id, id);
        assert_eq!(t.state, TrialState::Complete, "trial {id} lost its update");
        assert_eq!(t.metrics["accuracy"], id as f64);
        assert_eq!(t.seed, u64::MAX - id);
    }
}
