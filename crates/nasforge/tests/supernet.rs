//! `nasforge supernet` and the supernet evaluator through the binary on a synthetic task: a supernet trained
//! once and saved serves several studies of different strategies, each candidate scored with the weights
//! it inherits (the same cell scores the same in every study); a killed training continues from its last
//! epoch; and the refusals.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{fails, json, ok, trials};

const TRAIN: [&str; 10] = ["--dataset", "synthetic", "--channels", "4", "--cells", "1", "--epochs", "2", "--seed", "2"];

#[test]
fn a_saved_supernet_serves_studies_of_any_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let out = json(&ok(dir.path(), &[&["supernet"][..], &TRAIN, &["-o", "net", "--json"]].concat()));
    assert_eq!(
        (out["space"].as_str(), out["dataset"].as_str(), out["path"].as_str()),
        (Some("nb201"), Some("synthetic"), Some("net"))
    );
    assert_eq!(out["network"]["channels"], 4);
    assert!(out["steps"].as_u64().unwrap() > 0, "{out}");
    assert!(dir.path().join("net/supernet.json").is_file() && dir.path().join("net/weights.bpk").is_file());

    let scoring = ["--supernet", "net", "--validation-images", "60", "--recalibration-images", "64"];
    let mut scores: HashMap<String, f64> = HashMap::new();
    for strategy in ["tpe", "random"] {
        let study = ["--storage", "sqlite:studies.db", "--study", strategy, "--strategy", strategy, "--trials", "12"];
        ok(dir.path(), &[&["search"][..], &study, &scoring].concat());
        let done = trials(dir.path(), "sqlite:studies.db", strategy);
        assert_eq!(done.len(), 12, "{strategy}");
        for trial in &done {
            assert_eq!(trial["state"], "complete", "{trial}");
            let metrics = &trial["metrics"];
            let accuracy = metrics["val_accuracy"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&accuracy), "{trial}");
            assert!(metrics["val_loss"].as_f64().unwrap() > 0.0 && metrics["params"].as_f64().unwrap() > 0.0);
            assert!(metrics["score_seconds"].as_f64().unwrap() < 60.0, "{trial}");
            let arch = trial["arch"].as_str().unwrap().to_string();
            if let Some(earlier) = scores.insert(arch.clone(), accuracy) {
                assert_eq!(earlier, accuracy, "{arch} scored differently by two studies");
            }
        }
    }
    // Four classes: the supernet's weights tell cells apart, above chance for the best.
    let best = scores.values().copied().fold(0.0, f64::max);
    assert!(best > 0.3, "{scores:?}");

    let e = fails(dir.path(), &[&["supernet"][..], &TRAIN, &["-o", "net"]].concat());
    assert!(e.contains("already holds a supernet"), "{e}");
}

#[test]
fn searches_the_supernet_evaluator_cannot_serve_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = fails(dir.path(), &["search", "--supernet", "nowhere", "--trials", "2"]);
    assert!(e.contains("nowhere/supernet.json") && e.contains("nasforge supernet -o DIR"), "{e}");
    let e = fails(dir.path(), &["search", "--evaluator", "supernet", "--trials", "2"]);
    assert!(e.contains("needs --supernet DIR"), "{e}");
    ok(dir.path(), &[&["supernet"][..], &TRAIN, &["-o", "net"]].concat());
    let e = fails(dir.path(), &["search", "--supernet", "net", "--space", "darts", "--trials", "2"]);
    assert!(e.contains("scores nb201 cells"), "{e}");
    let e = fails(dir.path(), &["search", "--supernet", "net", "--scheduler", "asha", "--trials", "2"]);
    assert!(e.contains("reports no intermediate results"), "{e}");
    let e = fails(dir.path(), &["search", "--supernet", "net", "--objective", "latency_ms:min", "--trials", "2"]);
    assert!(e.contains("records no metric `latency_ms`"), "{e}");
    let e = fails(dir.path(), &["supernet", "--space", "chain", "-o", "other"]);
    assert!(e.contains("only nb201 has a supernet so far"), "{e}");
}

#[test]
fn a_killed_supernet_training_continues_from_its_last_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["supernet", "--dataset", "synthetic", "--channels", "4", "--cells", "1", "--seed", "2", "-o", "net"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_nasforge"))
        .args(args)
        .args(["--epochs", "40"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let first = stderr.lines().map(|line| line.unwrap()).find(|line| line.starts_with("supernet epoch "));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(first.as_deref().map(|l| l.starts_with("supernet epoch 1/40")), Some(true), "{first:?}");
    assert!(!dir.path().join("net/supernet.json").exists(), "killed before the end");

    let e = fails(dir.path(), &[&args[..], &["--epochs", "41"]].concat());
    assert!(e.contains("unfinished supernet training with other settings"), "{e}");
    let out = common::nasforge(dir.path(), &[&args[..], &["--epochs", "40", "--json"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8_lossy(&out.stderr);
    let first_resumed = log.lines().find(|l| l.starts_with("supernet epoch ")).unwrap();
    assert!(!first_resumed.starts_with("supernet epoch 1/"), "the continued run started over: {first_resumed}");
    assert!(log.contains("supernet epoch 40/40"), "{log}");
    let manifest = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(manifest["steps"].as_u64().unwrap() % 40, 0, "forty epochs of equal steps: {manifest}");
    assert!(!dir.path().join("net/checkpoint").exists(), "the finished training leaves no checkpoint");
}
