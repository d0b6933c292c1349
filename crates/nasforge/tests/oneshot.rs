//! `nasforge oneshot` through the binary on a synthetic task: the supernet trained, candidates scored with
//! inherited weights (SPOS, ENAS) or the cell derived from α (DARTS, GDAS), the chosen cell retrained
//! stand-alone; and the refusals.

mod common;

use common::{fails, json, ok};

#[test]
fn an_spos_search_retrains_the_cell_it_chose() {
    let out = scored_search("spos");
    assert!(out.get("policy").is_none(), "{out}");
}

#[test]
fn an_enas_search_retrains_the_cell_its_controller_led_to() {
    let out = scored_search("enas");
    assert_eq!(out["operations"][0], "none");
    let policy = out["policy"].as_array().unwrap();
    assert_eq!(policy.len(), 6, "one distribution per edge: {out}");
    for row in policy {
        let row: Vec<f64> = row.as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).collect();
        assert_eq!(row.len(), 5);
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{row:?}");
    }
    // Three epochs of 20 updates moved the controller off the uniform distribution.
    assert!(policy.iter().flat_map(|r| r.as_array().unwrap()).any(|p| (p.as_f64().unwrap() - 0.2).abs() > 0.01));
}

/// A search that scores candidates with inherited weights (`spos` or `enas`) and retrains the best.
fn scored_search(method: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let supernet = ["--dataset", "synthetic", "--channels", "4", "--cells", "1", "--epochs", "3", "--seed", "2"];
    let scoring = ["--candidates", "12", "--validation-images", "50", "--final-epochs", "2", "--json"];
    let enas = ["--controller-steps", "20", "--reward-images", "32"];
    let out = json(&ok(dir.path(), &[&["oneshot", "--method", method][..], &supernet, &scoring, &enas].concat()));
    assert_eq!(out["method"], method);
    assert!(!dir.path().join("nasforge-oneshot").exists(), "the state is removed when the search ends");
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
    out
}

fn differentiable_search(method: &str) {
    let dir = tempfile::tempdir().unwrap();
    let supernet = ["--dataset", "synthetic", "--channels", "4", "--cells", "1", "--epochs", "3", "--seed", "2"];
    let rest = ["--method", method, "--arch-learning-rate", "0.01", "--validation-images", "50"];
    let out = json(&ok(dir.path(), &[&["oneshot"][..], &supernet, &rest, &["--final-epochs", "1", "--json"]].concat()));
    assert_eq!(out["method"], method);
    assert_eq!(out["operations"][0], "none");
    let history = out["alpha_history"].as_array().unwrap();
    assert_eq!(history.len(), 3, "softmax(α) after each of three epochs: {out}");
    let last = history[2].as_array().unwrap();
    assert_eq!(last.len(), 6, "six edges");
    let arch = out["arch"].as_str().unwrap();
    // The derived cell is the strongest operation of each edge, read from the last α.
    for (edge, row) in last.iter().enumerate() {
        let row: Vec<f64> = row.as_array().unwrap().iter().map(|w| w.as_f64().unwrap()).collect();
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{row:?}");
        let strongest = (0..5).fold(0, |best, i| if row[i] > row[best] { i } else { best });
        let op = out["operations"][strongest].as_str().unwrap();
        let chosen = arch.split('|').filter(|t| t.contains('~')).nth(edge).unwrap();
        assert!(chosen.starts_with(op), "edge {edge}: {chosen} is not the strongest, {op}: {row:?}");
    }
    assert_eq!(out["final"]["arch"], arch);
    assert!(out["test_accuracy"].as_f64().unwrap() > 0.0, "{out}");
}

#[test]
fn a_darts_search_derives_the_strongest_operation_of_each_edge_and_retrains_it() {
    differentiable_search("darts");
}

#[test]
fn a_gdas_search_derives_the_strongest_operation_of_each_edge_and_retrains_it() {
    differentiable_search("gdas");
}

#[test]
fn one_shot_searches_it_cannot_run_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = fails(dir.path(), &["oneshot", "--space", "darts", "--dataset", "synthetic"]);
    assert!(e.contains("only nb201 has a supernet so far"), "{e}");
    let e = fails(dir.path(), &["oneshot", "--method", "drnas", "--dataset", "synthetic"]);
    assert!(e.contains("possible values: spos, enas, darts, gdas"), "{e}");
    let e =
        fails(dir.path(), &["oneshot", "--method", "enas", "--controller-learning-rate=-1", "--dataset", "synthetic"]);
    assert!(e.contains("the controller's learning rate must be a positive number, not -1"), "{e}");
    let e = fails(dir.path(), &["oneshot", "--method", "darts", "--arch-learning-rate", "0", "--dataset", "synthetic"]);
    assert!(e.contains("--arch-learning-rate must be a positive number, not 0"), "{e}");
    // Refused before it is built: a supernet whose training would not fit in this machine's memory.
    for method in ["spos", "darts"] {
        let e = fails(dir.path(), &["oneshot", "--method", method, "--channels", "100000", "--dataset", "synthetic"]);
        assert!(e.contains("training this supernet would need about") && e.contains("GiB available"), "{e}");
    }
    let out = dir.path().join("huge");
    let e =
        fails(dir.path(), &["supernet", "--channels", "100000", "--dataset", "synthetic", "-o", out.to_str().unwrap()]);
    assert!(e.contains("lower --channels, --cells or --batch-size"), "{e}");
    assert!(!out.exists(), "a supernet training that never started leaves nothing");
    let e = fails(dir.path(), &["oneshot", "--dataset", "no-such-data"]);
    assert!(e.contains("unknown dataset 'no-such-data'"), "{e}");
    assert!(!dir.path().join("nasforge-oneshot").exists(), "a search that never started keeps no state");
}
