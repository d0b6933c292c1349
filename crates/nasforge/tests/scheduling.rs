//! Multi-fidelity scheduling and warm starts through the binary, with the training evaluator.

mod common;

use common::{fails, ok, trials};

#[test]
fn asha_stops_training_trials_at_their_rungs() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let args = [
        "search",
        "--storage",
        &store,
        "--study",
        "asha",
        "--space",
        "nb201",
        "--strategy",
        "random",
        "--dataset",
        "synthetic",
        "--channels",
        "4",
        "--cells",
        "1",
        "--epochs",
        "4",
        "--scheduler",
        "asha",
        "--eta",
        "2",
        "--trials",
        "8",
        "--seed",
        "4",
        "--warm-start",
        "synflow",
        "--warm-start-pool",
        "20",
        "--warm-start-top",
        "2",
    ];
    ok(dir.path(), &args);
    let list = trials(dir.path(), &store, "asha");
    assert_eq!(list.iter().filter(|t| t["cached_from"].is_null()).count(), 8);
    let pruned: Vec<_> = list.iter().filter(|t| t["state"] == "pruned").collect();
    assert!(!pruned.is_empty(), "with η = 2, some trials fall behind at epoch 1 or 2");
    for trial in pruned {
        // Rungs at epochs 1 and 2 of 4: the curve ends at the rung, the reason says which.
        let epochs = trial["intermediate"].as_array().unwrap().len();
        assert!(epochs == 1 || epochs == 2, "{trial}");
        assert!(trial["error"].as_str().unwrap().contains(&format!("rung epoch = {epochs}")), "{trial}");
        assert!(trial["metrics"]["val_accuracy"].as_f64().is_some());
    }
    let error = fails(dir.path(), &["search", "--storage", &store, "--study", "asha", "--scheduler", "hyperband"]);
    assert!(error.contains("scheduler"), "{error}");
}

#[test]
fn schedulers_are_refused_where_nothing_is_reported_or_settings_are_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let error = fails(dir.path(), &["search", "--storage", &store, "--proxy", "synflow", "--scheduler", "asha"]);
    assert!(error.contains("zero-cost evaluator reports no intermediate results"), "{error}");
    let error = fails(dir.path(), &["search", "--storage", &store, "--scheduler", "sha"]);
    assert!(error.contains("unknown scheduler 'sha'"), "{error}");
    let training = ["search", "--storage", &store, "--dataset", "synthetic", "--epochs", "3", "--scheduler", "asha"];
    let refused = |extra: &[&str]| fails(dir.path(), &[&training[..], extra].concat());
    assert!(refused(&["--eta", "1"]).contains("eta must be at least 2"));
    assert!(refused(&["--max-resource", "9"]).contains("above the training epochs (3)"));
    assert!(refused(&["--min-resource", "3", "--max-resource", "2"]).contains("must be at least min_resource"));
    assert!(!dir.path().join("s.db").exists(), "a refused search stores nothing");
}
