//! Ask and tell through the engine: a study evaluated by its caller, continued by another session; a study
//! with a table evaluator asked and told in one session and continued by a search (the command line's
//! path) with the same trials as an uninterrupted search; the refusals.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use nasforge_core::{Metrics, TrialState};
use nasforge_engine::{ConfigFile, DeviceChoice, EvaluatorKind, RunOptions, StudyHandle, StudyRequest, Told};

fn caller_request() -> StudyRequest {
    StudyRequest {
        evaluator: Some(EvaluatorKind::Caller),
        objectives: vec!["acc:max".into()],
        strategy: Some(nasforge_engine::StrategyKind::Tpe),
        seed: Some(3),
        ..StudyRequest::default()
    }
}

/// A made-up accuracy of an architecture: the share of 3×3 convolutions among its edges.
fn accuracy(arch: &str) -> f64 {
    arch.matches("nor_conv_3x3").count() as f64 / 6.0
}

#[test]
fn a_caller_study_continues_in_another_session_and_refuses_a_search() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("s.db").display());
    let mut handle = StudyHandle::new(&url, "py", &ConfigFile::default(), &caller_request()).unwrap();
    assert_eq!(handle.config().budget.trials, None, "a caller asks as long as it likes");
    let mut session = handle.ask_tell(DeviceChoice::Cpu).unwrap();
    for _ in 0..5 {
        let trial = session.ask(None).unwrap().expect("no budget");
        assert_eq!(trial.decisions.len(), 6, "one operation per NB201 edge");
        let metrics = Metrics::from([("acc".to_string(), accuracy(&trial.arch))]);
        session.tell(trial.id, Told::Complete(metrics)).unwrap();
    }
    let asked = session.ask(None).unwrap().unwrap();
    assert_eq!(session.pending(), vec![asked.id]);
    let e = session.tell(99, Told::Failed("x".into())).unwrap_err().to_string();
    assert!(e.contains("trial 99 is not waiting for a result"), "{e}");
    let e = session.tell(asked.id, Told::Complete(Metrics::new())).unwrap_err().to_string();
    assert!(e.contains("metric 'acc' is not among"), "{e}");
    session.tell(asked.id, Told::Failed("diverged".into())).unwrap();
    let e = session.tell(asked.id, Told::Failed("again".into())).unwrap_err().to_string();
    assert!(e.contains("not waiting for a result"), "{e}");
    let e = session.evaluate(asked.id).unwrap_err().to_string();
    assert!(e.contains("evaluated by its caller"), "{e}");
    drop(session);

    // Another process opens the study by name and goes on with up to 10 paid trials.
    let mut reopened = StudyHandle::open(&url, "py").unwrap();
    let mut session = reopened.ask_tell(DeviceChoice::Cpu).unwrap();
    while let Some(trial) = session.ask(Some(10)).unwrap() {
        session.tell(trial.id, Told::Complete(Metrics::from([("acc".to_string(), accuracy(&trial.arch))]))).unwrap();
    }
    let trials = reopened.trials().unwrap();
    assert_eq!(trials.iter().filter(|t| t.is_paid()).count(), 10);
    assert_eq!(trials[5].state, TrialState::Failed);
    assert_eq!(trials[5].error.as_deref(), Some("diverged"));

    let e = reopened.run(RunOptions::default(), &AtomicBool::new(false), &|_| Box::new(())).unwrap_err();
    assert!(e.to_string().contains("continue it with nasforge.load_study"), "{e}");
}

/// A table of every NB201 cell whose `acc` is [`accuracy`].
fn write_table(path: &Path) {
    use nasforge_core::SearchSpace;
    use nasforge_core::space::Nb201Space;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "arch,acc").unwrap();
    for arch in Nb201Space::all() {
        let printed = Nb201Space.print(&arch);
        writeln!(file, "{printed},{}", accuracy(&printed)).unwrap();
    }
}

#[test]
fn asked_trials_evaluated_by_the_studys_table_continue_as_a_search() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t.csv");
    write_table(&table);
    let url = format!("sqlite:{}", dir.path().join("s.db").display());
    let request = |trials| StudyRequest {
        table: Some(table.clone()),
        strategy: Some(nasforge_engine::StrategyKind::Evolution),
        trials: Some(trials),
        seed: Some(11),
        ..StudyRequest::default()
    };
    let whole = {
        let mut handle = StudyHandle::new(&url, "whole", &ConfigFile::default(), &request(30)).unwrap();
        handle.run(RunOptions::default(), &AtomicBool::new(false), &|_| Box::new(())).unwrap();
        handle.trials().unwrap()
    };

    let mut handle = StudyHandle::new(&url, "halves", &ConfigFile::default(), &request(12)).unwrap();
    let mut session = handle.ask_tell(DeviceChoice::Cpu).unwrap();
    while let Some(trial) = session.ask(None).unwrap() {
        let metrics = session.evaluate(trial.id).unwrap().unwrap();
        assert_eq!(metrics["acc"], accuracy(&trial.arch));
    }
    drop(session);
    let mut continued = StudyHandle::open_or_new(&url, "halves", &ConfigFile::default(), &request(30)).unwrap();
    continued.run(RunOptions::default(), &AtomicBool::new(false), &|_| Box::new(())).unwrap();
    let halves = continued.trials().unwrap();
    let archs = |trials: &[nasforge_core::TrialRecord]| trials.iter().map(|t| t.arch.clone()).collect::<Vec<_>>();
    assert_eq!(archs(&halves), archs(&whole));
}

#[test]
fn an_in_memory_study_works_with_sessions_and_workers() {
    let mut handle = StudyHandle::new("sqlite::memory:", "m", &ConfigFile::default(), &caller_request()).unwrap();
    let mut first = handle.ask_tell(DeviceChoice::Cpu).unwrap();
    let mut second = handle.ask_tell(DeviceChoice::Cpu).unwrap();
    let a = first.ask(None).unwrap().unwrap();
    let b = second.ask(None).unwrap().unwrap();
    assert_ne!(a.id, b.id, "two sessions share the one in-memory store");
    second.tell(b.id, Told::Complete(Metrics::from([("acc".to_string(), 0.5)]))).unwrap();
    first.tell(a.id, Told::Pruned("stopped early".into())).unwrap();
    let trials = handle.trials().unwrap();
    assert_eq!(trials.len(), 2);
    assert_eq!(trials[a.id as usize].state, TrialState::Pruned);
}
