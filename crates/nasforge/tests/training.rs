//! The training evaluator and final training through the real binary, on the in-memory synthetic dataset
//! (small and fast): a search whose trials are trained networks with learning curves and hardware metrics,
//! `nasforge train` on the study's best trial, and bad training input.

mod common;

use common::{fails, json, ok};

use std::path::Path;

/// Tiny NAS-Bench-201 networks on the synthetic task, as `search` and `train` take them.
#[rustfmt::skip]
const TINY_NETWORKS: &[&str] = &[
    "--space", "nb201", "--dataset", "synthetic", "--channels", "4", "--cells", "1", "--batch-size", "32",
    "--lr", "0.1",
];

/// A search of three tiny networks, 3 epochs each (without the command name, for `search` and `study create`).
fn search_flags(store: &str) -> Vec<&str> {
    [
        TINY_NETWORKS,
        &["--strategy", "random", "--epochs", "3", "--trials", "3", "--seed", "5", "--study", "syn"],
        &["--storage", store],
    ]
    .concat()
}

#[test]
fn a_search_trains_networks_and_the_best_is_retrained() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let summary = ok(dir.path(), &[&["search"], &search_flags(&store)[..]].concat());
    assert!(summary.contains("paid\t3"), "{summary}");
    let trials = json(&ok(dir.path(), &["trials", "--storage", &store, "--study", "syn", "--json"]));
    let trials = trials.as_array().unwrap();
    assert_eq!(trials.len(), 3);
    for trial in trials {
        assert_eq!(trial["state"], "complete", "{trial}");
        let metrics = &trial["metrics"];
        let accuracy = metrics["val_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&accuracy), "{trial}");
        for key in
            ["params", "flops", "model_bytes", "activation_bytes", "latency_ms", "latency_batch_ms", "train_seconds"]
        {
            assert!(metrics[key].as_f64().is_some_and(|v| v > 0.0), "{key} missing or not positive in {trial}");
        }
        // The learning curve: one entry per epoch, in order.
        let curve = trial["intermediate"].as_array().unwrap();
        let epochs: Vec<u64> = curve.iter().map(|e| e["epoch"].as_f64().unwrap() as u64).collect();
        assert_eq!(epochs, [1, 2, 3], "{trial}");
        // The trial's losses and accuracy are those of its best epoch, with the curve's meaning.
        let best_epoch = curve.iter().find(|e| e["val_accuracy"] == metrics["val_accuracy"]).unwrap();
        assert_eq!(best_epoch["train_loss"], metrics["train_loss"], "{trial}");
        assert_eq!(best_epoch["val_loss"], metrics["val_loss"], "{trial}");
    }
    // A network with a convolution learns the synthetic task well above chance (4 classes).
    let best = json(&ok(dir.path(), &["best", "--storage", &store, "--study", "syn", "--json"]));
    let weights = dir.path().join("final.bpk");
    let out = ok(
        dir.path(),
        &[
            "train",
            "--storage",
            &store,
            "--study",
            "syn",
            "--arch",
            "best",
            "--epochs",
            "4",
            "--weights",
            weights.to_str().unwrap(),
            "--json",
        ],
    );
    let result = json(&out);
    assert_eq!(result["arch"], best["arch"]);
    let accuracy = result["test_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&accuracy), "{result}");
    for key in ["params", "flops", "latency_ms", "train_seconds"] {
        assert!(result[key].as_f64().is_some_and(|v| v > 0.0), "{key} in {result}");
    }
    assert_eq!(result["epochs"], 4);
    assert!(
        weights.metadata().unwrap().len() as f64 >= result["params"].as_f64().unwrap() * 4.0,
        "weights file too small"
    );
    // The result is stored with the study: `best` shows it after the terminal has scrolled away.
    let shown = json(&ok(dir.path(), &["best", "--storage", &store, "--study", "syn", "--json"]));
    let finals = shown["final_trainings"].as_array().unwrap();
    assert_eq!(finals.len(), 1, "{shown}");
    assert_eq!(finals[0]["test_accuracy"], result["test_accuracy"]);
    assert_eq!(finals[0]["weights"], result["weights"]);
    let text = ok(dir.path(), &["best", "--storage", &store, "--study", "syn"]);
    assert!(text.contains("final training: test accuracy") && text.contains("final.bpk"), "{text}");
    // Without --weights, the weights are named after the study and the trial.
    let trial = best["id"].as_u64().unwrap();
    let named = [&["train", "--storage", &store, "--study", "syn", "--arch", "best", "--epochs", "1", "--json"][..]];
    let result = json(&ok(dir.path(), &named.concat()));
    assert_eq!(result["weights"], format!("nasforge-weights/syn-trial{trial}.bpk"));
    assert!(dir.path().join(result["weights"].as_str().unwrap()).exists());

    // A string architecture, without a study: the all-convolution cell learns the task.
    let arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    let out = ok(dir.path(), &[&["train", "--arch", arch, "--epochs", "4", "--json"], TINY_NETWORKS].concat());
    let result = json(&out);
    assert!(result["test_accuracy"].as_f64().unwrap() > 0.5, "4 classes, chance is 0.25: {result}");
    assert!(Path::new(result["weights"].as_str().unwrap()).is_relative());
    assert!(dir.path().join(result["weights"].as_str().unwrap()).exists(), "{result}");
}

#[test]
fn a_continued_training_study_keeps_its_fidelity() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let create = search_flags(&store);
    ok(dir.path(), &[&["study", "create"][..], &create].concat());
    // The same study with another number of epochs would mix two fidelities.
    let error = fails(dir.path(), &["search", "--storage", &store, "--study", "syn", "--epochs", "9"]);
    assert!(error.contains("training evaluator") && error.contains("\"epochs\":3"), "{error}");
}

#[test]
fn bad_training_input_gives_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let missing = dir.path().join("nowhere");
    let base = ["search", "--space", "nb201", "--trials", "1", "--storage", &store];
    let error = fails(
        dir.path(),
        &[&base[..], &["--dataset", "fashion-mnist", "--data-dir", missing.to_str().unwrap()]].concat(),
    );
    assert!(error.contains("dataset-fashion-mnist") && error.contains("nowhere"), "{error}");
    let error = fails(dir.path(), &[&base[..], &["--dataset", "imagenet"]].concat());
    assert!(error.contains("unknown dataset 'imagenet'"), "{error}");
    let error = fails(dir.path(), &[&base[..], &["--dataset", "synthetic", "--data-fraction", "1.5"]].concat());
    assert!(error.contains("data_fraction"), "{error}");
    let error = fails(dir.path(), &[&base[..], &["--dataset", "synthetic", "--device", "tpu"]].concat());
    assert!(error.contains("unknown device 'tpu'"), "{error}");
    let error = fails(dir.path(), &[&base[..], &["--dataset", "synthetic", "--metric", "cifar10"]].concat());
    assert!(error.contains("no metric `cifar10`"), "{error}");
    let error = fails(dir.path(), &["train", "--arch", "|bogus~0|", "--dataset", "synthetic"]);
    assert!(error.contains("not a nb201 architecture"), "{error}");
    let error = fails(dir.path(), &["train", "--arch", "best", "--dataset", "synthetic"]);
    assert!(error.contains("add --storage and --study"), "{error}");
    // The refused searches left nothing behind: not even a store file.
    assert!(!dir.path().join("s.db").exists());
    let error = fails(dir.path(), &["studies", "--storage", &store]);
    assert!(error.contains("no store at"), "{error}");
    assert!(!dir.path().join("s.db").exists());
}

#[test]
fn a_cell_that_computes_nothing_is_refused_for_final_training() {
    let dir = tempfile::tempdir().unwrap();
    let zero = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|";
    let error = fails(dir.path(), &[&["train", "--arch", zero, "--epochs", "1"], TINY_NETWORKS].concat());
    assert!(error.contains("computes nothing"), "{error}");
}
