//! A whole study through the engine library alone: created from a request, run, continued with a larger
//! budget, its best trial, Pareto front and hypervolume read back, on a table of every NB201 cell.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use nasforge_core::space::Nb201Space;
use nasforge_core::{SearchSpace, StopReason, TrialState};
use nasforge_engine::{
    ConfigFile, EngineError, RunOptions, SpaceKind, StrategyKind, StudyHandle, StudyRequest, list_studies,
};

/// A table of all 15,625 cells: `score` counts the 3×3 convolutions, `cost` the convolutions of any kind
/// (so the two objectives conflict and the Pareto front has several points).
fn write_table(path: &Path) {
    let space = Nb201Space;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "arch,score,cost").unwrap();
    let sizes = space.decision_sizes();
    let total: usize = sizes.iter().product();
    for mut index in 0..total {
        let decisions: Vec<usize> = sizes
            .iter()
            .map(|size| {
                let choice = index % size;
                index /= size;
                choice
            })
            .collect();
        let printed = space.print(&space.from_decisions(&decisions));
        let score = printed.matches("nor_conv_3x3").count() as f64 + 0.01 * printed.matches("skip").count() as f64;
        let cost = printed.matches("conv").count() as f64;
        writeln!(file, "{printed},{score},{cost}").unwrap();
    }
}

fn no_observer(_worker: usize) -> Box<dyn nasforge_core::StudyObserver> {
    Box::new(())
}

#[test]
fn a_study_created_run_continued_and_read_through_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("cells.csv");
    write_table(&table);
    let url = format!("sqlite:{}", dir.path().join("studies.db").display());
    let request = StudyRequest {
        space: Some(SpaceKind::Nb201),
        strategy: Some(StrategyKind::Nsga2),
        table: Some(table.clone()),
        objectives: vec!["score:max".into(), "cost:min".into()],
        trials: Some(30),
        seed: Some(7),
        ..StudyRequest::default()
    };

    // Created: nothing is stored until the study is run, not even the store's file.
    let mut study = StudyHandle::open_or_new(&url, "pareto", &ConfigFile::default(), &request).unwrap();
    assert!(!study.is_stored());
    assert!(!dir.path().join("studies.db").exists());
    let stop = AtomicBool::new(false);
    let report = study.run(RunOptions { workers: 2, ..RunOptions::default() }, &stop, &no_observer).unwrap();
    assert_eq!(report.reason, StopReason::Budget);
    let counts = report.results.counts();
    assert_eq!(counts.paid, 30);
    assert_eq!(counts.failed, 0);
    assert_eq!(list_studies(&url).unwrap()[0].name, "pareto");

    // Continued with a larger budget: only the budget comes from the request.
    let more = StudyRequest { trials: Some(50), ..StudyRequest::default() };
    let mut study = StudyHandle::open_or_new(&url, "pareto", &ConfigFile::default(), &more).unwrap();
    assert!(study.is_stored());
    assert_eq!(study.config().seed, 7);
    let report = study.run(RunOptions::default(), &stop, &no_observer).unwrap();
    assert_eq!(report.results.counts().paid, 50);

    // Results read back by a fresh handle agree with the run's report.
    let results = StudyHandle::open(&url, "pareto").unwrap().results().unwrap();
    assert_eq!(results.trials.len(), report.results.trials.len());
    let best = results.best().unwrap();
    let best_score = best.metrics["score"];
    for trial in results.trials.iter().filter(|t| t.state == TrialState::Complete) {
        assert!(trial.metrics["score"] <= best_score, "trial {} beats the best", trial.id);
    }
    let front = results.pareto();
    assert!(front.trials.len() >= 2, "two conflicting objectives give a front of several trials");
    for a in &front.trials {
        for b in &results.trials {
            let dominates = b.metrics["score"] >= a.metrics["score"]
                && b.metrics["cost"] <= a.metrics["cost"]
                && (b.metrics["score"] > a.metrics["score"] || b.metrics["cost"] < a.metrics["cost"]);
            assert!(!dominates, "front trial {} is dominated by trial {}", a.id, b.id);
        }
    }
    let hypervolume = front.hypervolume.unwrap();
    assert!(hypervolume.value > 0.0);
    assert_eq!(hypervolume.reference.len(), 2);

    // The study keeps what it searches for.
    let other = StudyRequest { strategy: Some(StrategyKind::Random), ..StudyRequest::default() };
    let error = StudyHandle::open_or_new(&url, "pareto", &ConfigFile::default(), &other).unwrap_err();
    assert!(matches!(error, EngineError::Invalid(_)));
    assert!(error.to_string().contains("study 'pareto' was created with strategy"), "{error}");
    let error = StudyHandle::open(&url, "missing").unwrap_err().to_string();
    assert!(error.contains("no study 'missing'") && error.contains("pareto"), "{error}");
}

#[test]
fn a_request_that_cannot_run_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("cells.csv");
    write_table(&table);
    let url = format!("sqlite:{}", dir.path().join("studies.db").display());
    let request = StudyRequest { table: Some(table), metric: Some("accuracy".into()), ..StudyRequest::default() };
    let mut study = StudyHandle::open_or_new(&url, "wrong-metric", &ConfigFile::default(), &request).unwrap();
    let error = study.run(RunOptions::default(), &AtomicBool::new(false), &no_observer).unwrap_err().to_string();
    assert!(error.contains("no metric `accuracy`") && error.contains("score, cost"), "{error}");
    assert!(!dir.path().join("studies.db").exists());
    assert!(list_studies(&url).unwrap_err().to_string().contains("no store at"));
}

#[test]
fn a_cache_hit_records_its_own_size() {
    // Two strings of one network may differ in dead edges (a convolution whose node never reaches the
    // output), so in parameters: the table's analytic `params` of a cache hit must be its own string's.
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("cells.csv");
    write_table(&table);
    let url = format!("sqlite:{}", dir.path().join("studies.db").display());
    // Strategies avoid repeats while they can: a study that pays for 4,000 of the 4,930 networks of the
    // 15,625 strings cannot, and repeats networks written with other dead edges.
    let request = StudyRequest {
        strategy: Some(StrategyKind::Random),
        table: Some(table),
        metric: Some("score".into()),
        trials: Some(4_000),
        ..StudyRequest::default()
    };
    let mut study = StudyHandle::open_or_new(&url, "sizes", &ConfigFile::default(), &request).unwrap();
    let report = study.run(RunOptions::default(), &AtomicBool::new(false), &no_observer).unwrap();
    let space = Nb201Space;
    let hits: Vec<_> = report.results.trials.iter().filter(|t| !t.is_paid()).collect();
    assert!(!hits.is_empty(), "the run made no cache hit");
    let mut differing = 0;
    for hit in &hits {
        let own = space.cost(&space.parse(&hit.arch).unwrap(), &nasforge_core::space::TaskShape::CIFAR10).unwrap();
        assert_eq!(hit.metrics["params"], own.params as f64, "cache hit {} ({})", hit.id, hit.arch);
        assert_eq!(hit.metrics["flops"], own.flops as f64, "cache hit {} ({})", hit.id, hit.arch);
        let source = report.results.trial(hit.cached_from.unwrap()).unwrap();
        assert_eq!(hit.metrics["score"], source.metrics["score"]);
        differing += usize::from(source.metrics["params"] != hit.metrics["params"]);
    }
    assert!(differing > 0, "no cache hit had a size of its own: the test shows nothing");
}
