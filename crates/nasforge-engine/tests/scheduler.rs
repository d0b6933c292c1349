//! The multi-fidelity scheduler through the engine: a command evaluator that prints a scripted learning
//! curve per architecture, ASHA and Hyperband stopping trials at their rungs, a resume in the middle of a
//! study equal to an uninterrupted run, exact budgets with several workers, and the refusals.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use nasforge_core::TrialState;
use nasforge_core::scheduler::SchedulerKind;
use nasforge_engine::config::SchedulerFlags;
use nasforge_engine::{ConfigFile, EvaluatorKind, RunOptions, StudyHandle, StudyRequest, TrainingFlags};

/// Prints 9 epochs of a curve whose level is a hash of the architecture: `{"epoch": e, "val_accuracy": …}`.
const CURVE: &str = r#"
import hashlib, json, os
arch = json.load(open(os.environ["NASFORGE_ARCH_FILE"]))["arch"]
level = int(hashlib.md5(arch.encode()).hexdigest()[:8], 16) / 16**8
for epoch in range(1, 10):
    print(json.dumps({"epoch": epoch, "val_accuracy": level * (1 - 0.5 ** epoch)}), flush=True)
"#;

fn request(dir: &Path, kind: SchedulerKind, trials: u64) -> StudyRequest {
    let script = dir.join("curve.py");
    std::fs::write(&script, CURVE).unwrap();
    StudyRequest {
        command: Some(format!("python3 {}", script.display())),
        metric: Some("val_accuracy".into()),
        trials: Some(trials),
        seed: Some(5),
        scheduler: SchedulerFlags { kind: Some(kind), max_resource: Some(9.0), ..SchedulerFlags::default() },
        ..StudyRequest::default()
    }
}

fn run(dir: &Path, study: &str, request: &StudyRequest, workers: usize) -> Vec<nasforge_core::TrialRecord> {
    let url = format!("sqlite:{}", dir.join("studies.db").display());
    let mut handle = StudyHandle::open_or_new(&url, study, &ConfigFile::default(), request).unwrap();
    let options = RunOptions { workers, ..RunOptions::default() };
    handle.run(options, &AtomicBool::new(false), &|_| Box::new(())).unwrap();
    handle.trials().unwrap()
}

#[test]
fn asha_stops_trials_behind_at_a_rung_and_a_resumed_study_equals_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let whole = run(dir.path(), "whole", &request(dir.path(), SchedulerKind::Asha, 14), 1);
    let pruned: Vec<_> = whole.iter().filter(|t| t.state == TrialState::Pruned).collect();
    assert!(!pruned.is_empty() && pruned.len() < whole.len(), "some trials stop early, not all");
    for trial in &pruned {
        // Rungs at epochs 1 and 3 (η = 3, maximum 9): a stopped trial's curve ends there.
        let epochs = trial.intermediate.len();
        assert!(epochs == 1 || epochs == 3, "trial {} stopped after {epochs} epochs", trial.id);
        assert_eq!(trial.metrics["epoch"], epochs as f64);
        assert!(trial.error.as_deref().unwrap().contains("stopped by the scheduler at rung epoch"));
    }
    for trial in whole.iter().filter(|t| t.state == TrialState::Complete) {
        assert_eq!(trial.metrics["epoch"], 9.0, "a trial that is not stopped runs to the end");
    }

    // The same study stopped after 6 trials and continued to 14 takes the same decisions.
    run(dir.path(), "resumed", &request(dir.path(), SchedulerKind::Asha, 6), 1);
    let resumed = run(dir.path(), "resumed", &StudyRequest { trials: Some(14), ..StudyRequest::default() }, 1);
    let summary = |trials: &[nasforge_core::TrialRecord]| -> Vec<(String, TrialState, usize)> {
        trials.iter().map(|t| (t.arch.clone(), t.state, t.intermediate.len())).collect()
    };
    assert_eq!(summary(&resumed), summary(&whole));
}

#[test]
fn hyperband_with_several_workers_spends_the_exact_budget() {
    let dir = tempfile::tempdir().unwrap();
    let trials = run(dir.path(), "hb", &request(dir.path(), SchedulerKind::Hyperband, 16), 3);
    let paid = trials.iter().filter(|t| t.is_paid()).count();
    assert_eq!(paid, 16);
    assert!(trials.iter().all(|t| t.state.is_finished()));
    // Hyperband's most conservative bracket has no rung: some trials run all 9 epochs unchallenged.
    assert!(trials.iter().any(|t| t.state == TrialState::Complete));
}

#[test]
fn schedulers_without_intermediate_results_or_with_bad_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("refused.db").display());
    let refused = |request: StudyRequest| -> String {
        let error = StudyHandle::open_or_new(&url, "r", &ConfigFile::default(), &request).err().unwrap();
        error.to_string()
    };
    let asha = SchedulerFlags { kind: Some(SchedulerKind::Asha), ..SchedulerFlags::default() };
    let on_table = StudyRequest {
        evaluator: Some(EvaluatorKind::Table),
        metric: Some("cifar10".into()),
        scheduler: asha.clone(),
        ..StudyRequest::default()
    };
    assert!(refused(on_table).contains("reports no intermediate results"));
    let training = |flags: SchedulerFlags| StudyRequest {
        training: TrainingFlags { dataset: Some("synthetic".into()), epochs: Some(9), ..TrainingFlags::default() },
        scheduler: flags,
        ..StudyRequest::default()
    };
    assert!(refused(training(SchedulerFlags { eta: Some(1.5), ..asha.clone() })).contains("eta must be at least 2"));
    let error = refused(training(SchedulerFlags { min_resource: Some(5.0), max_resource: Some(3.0), ..asha.clone() }));
    assert!(error.contains("max_resource (3) must be at least min_resource (5)"), "{error}");
    assert!(
        refused(training(SchedulerFlags { max_resource: Some(27.0), ..asha })).contains("above the training epochs")
    );
    let error = refused(training(SchedulerFlags { eta: Some(2.0), ..SchedulerFlags::default() }));
    assert!(error.contains("need a scheduler"), "{error}");
    assert!(!dir.path().join("refused.db").exists(), "a refused study stores nothing");
}
