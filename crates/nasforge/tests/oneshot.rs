//! `nasforge oneshot` through the binary on a synthetic task: the supernet trained, candidates scored with
//! inherited weights, the chosen cell retrained stand-alone; and the refusals.

mod common;

use common::{fails, json, ok};

#[test]
fn a_one_shot_search_retrains_the_cell_it_chose() {
    let dir = tempfile::tempdir().unwrap();
    let supernet = ["--dataset", "synthetic", "--channels", "4", "--cells", "1", "--epochs", "3", "--seed", "2"];
    let scoring = ["--candidates", "12", "--validation-images", "50", "--final-epochs", "2", "--json"];
    let out = json(&ok(dir.path(), &[&["oneshot"][..], &supernet, &scoring].concat()));
    assert_eq!(out["method"], "spos");
    assert_eq!(out["candidates"], 12);
    let arch = out["arch"].as_str().unwrap();
    assert_eq!(arch.matches('~').count(), 6, "an NB201 cell: {arch}");
    assert_eq!(out["final"]["arch"], arch, "the chosen cell is the one retrained");
    assert_eq!(out["final"]["epochs"], 2);
    let inherited = out["inherited_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&inherited), "{out}");
    let test = out["test_accuracy"].as_f64().unwrap();
    // Four classes: a stand-alone network trained for two epochs learns the synthetic task above chance.
    assert!(test > 0.4, "{out}");
    assert!(out["search_seconds"].as_f64().unwrap() >= out["supernet_seconds"].as_f64().unwrap());
    let steps = out["supernet_steps"].as_u64().unwrap();
    assert!(steps > 0 && steps.is_multiple_of(3), "three epochs of equal steps: {steps}");
}

#[test]
fn one_shot_searches_it_cannot_run_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = fails(dir.path(), &["oneshot", "--space", "darts", "--dataset", "synthetic"]);
    assert!(e.contains("only nb201 has a supernet so far"), "{e}");
    let e = fails(dir.path(), &["oneshot", "--method", "darts", "--dataset", "synthetic"]);
    assert!(e.contains("possible values: spos"), "{e}");
    let e = fails(dir.path(), &["oneshot", "--dataset", "no-such-data"]);
    assert!(e.contains("unknown dataset 'no-such-data'"), "{e}");
}
