//! `nasforge export` through the binary: an architecture given or a study's best, as JSON with the network's
//! analytic size, as a PyTorch source file, as an ONNX model, and the refusals. (The PyTorch file is built and
//! counted with PyTorch, and the ONNX model run by onnxruntime against burn, by the Python package's tests.)

mod common;

use common::{fails, json, nb201_table, ok};

const EMPTY: &str = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";

#[test]
fn an_architecture_exports_as_json_with_its_network() {
    let dir = tempfile::tempdir().unwrap();
    let exported = json(&ok(dir.path(), &["export", "--arch", EMPTY, "--input", "3x32x32"]));
    assert_eq!(exported["space"]["name"], "nb201");
    assert_eq!(exported["arch"], EMPTY);
    assert_eq!(exported["arch_json"]["nodes"][2][2], "none");
    assert_eq!(exported["decisions"], serde_json::json!([0, 0, 0, 0, 0, 0]));
    assert_eq!(exported["input"], serde_json::json!([3, 32, 32]));
    // The benchmark's CIFAR-10 network of a cell that computes nothing: stem, reductions, classifier.
    assert_eq!(exported["params"], 73_306);

    let small = json(&ok(
        dir.path(),
        &["export", "--arch", EMPTY, "--input", "1x28x28", "--classes", "3", "--channels", "4", "--cells", "1"],
    ));
    assert_eq!(small["classes"], 3);
    assert_eq!(small["scale"], serde_json::json!({"channels": 4, "cells": 1}));
    assert!(small["params"].as_u64().unwrap() < 73_306);

    let file = dir.path().join("net.py");
    ok(
        dir.path(),
        &[
            "export",
            "--space",
            "darts",
            "--arch",
            "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
            "--format",
            "pytorch",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    let source = std::fs::read_to_string(&file).unwrap();
    assert!(source.contains("def build():") && source.contains("class DartsNet"), "{source}");
}

#[test]
fn a_studys_best_exports_in_the_studys_network() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    ok(
        dir.path(),
        &["search", "--storage", &store, "--study", "t", "--table", table.to_str().unwrap(), "--trials", "8"],
    );
    let best = json(&ok(dir.path(), &["best", "--storage", &store, "--study", "t", "--json"]));
    let exported = json(&ok(dir.path(), &["export", "--storage", &store, "--study", "t", "--arch", "best"]));
    assert_eq!(exported["arch"], best["arch"]);
    // The table's task (CIFAR-10 shape) at the space's default scale: the table's own `params` metric.
    assert_eq!(exported["params"].as_f64().unwrap(), best["metrics"]["params"].as_f64().unwrap());
    let trial = json(&ok(dir.path(), &["export", "--storage", &store, "--study", "t", "--arch", "3"]));
    assert_eq!(trial["input"], serde_json::json!([3, 32, 32]));
}

#[test]
fn bad_exports_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = fails(dir.path(), &["export", "--arch", "best"]);
    assert!(e.contains("names a trial: add --storage and --study"), "{e}");
    let e = fails(dir.path(), &["export", "--arch", EMPTY, "--input", "3x32x31"]);
    assert!(e.contains("only square inputs"), "{e}");
    let e = fails(dir.path(), &["export", "--arch", "|conv~0|"]);
    assert!(e.contains("not an architecture of the nb201 space"), "{e}");
    let e = fails(dir.path(), &["export", "--arch", EMPTY, "--storage", "sqlite:x.db"]);
    assert!(e.contains("--storage and --study go together"), "{e}");
    let missing = dir.path().join("no-such-dir").join("net.py");
    let e = fails(dir.path(), &["export", "--arch", EMPTY, "-o", missing.to_str().unwrap()]);
    assert!(e.contains("writing") && e.contains("net.py"), "{e}");
    let e = fails(dir.path(), &["export", "--arch", EMPTY, "--format", "onnx"]);
    assert!(e.contains("give the file with -o FILE"), "{e}");
    let e = fails(dir.path(), &["export", "--arch", EMPTY, "--weights", "w.bpk"]);
    assert!(e.contains("--weights and --reference go with --format onnx"), "{e}");
    let model = dir.path().join("m.onnx");
    let e = fails(
        dir.path(),
        &["export", "--arch", EMPTY, "--format", "onnx", "--weights", "no-such.bpk", "-o", model.to_str().unwrap()],
    );
    assert!(e.contains("no-such.bpk"), "{e}");
    assert!(!model.exists(), "a failed export wrote its output");
}

#[test]
fn an_onnx_export_holds_the_network_and_burns_reference_logits() {
    let dir = tempfile::tempdir().unwrap();
    let (model, reference) = (dir.path().join("m.onnx"), dir.path().join("r.json"));
    let network = ["--input", "1x16x16", "--classes", "3", "--channels", "4", "--cells", "1"];
    ok(
        dir.path(),
        &[
            &["export", "--arch", EMPTY, "--format", "onnx"],
            &network[..],
            &["-o", model.to_str().unwrap(), "--reference", reference.to_str().unwrap()],
        ]
        .concat(),
    );
    let bytes = std::fs::read(&model).unwrap();
    let params =
        json(&ok(dir.path(), &[&["export", "--arch", EMPTY], &network[..]].concat()))["params"].as_u64().unwrap();
    // Every trainable parameter is in the file as a float32 (plus running statistics and the graph).
    assert!(bytes.len() as u64 > 4 * params, "{} bytes for {params} parameters", bytes.len());
    let text = String::from_utf8_lossy(&bytes);
    for op in ["Conv", "BatchNormalization", "GlobalAveragePool", "Gemm", "logits", "nasforge", EMPTY] {
        assert!(text.contains(op), "no {op} in the model");
    }
    let reference = json(&std::fs::read_to_string(&reference).unwrap());
    assert_eq!(reference["input_shape"], serde_json::json!([2, 1, 16, 16]));
    assert_eq!(reference["input"].as_array().unwrap().len(), 2 * 16 * 16);
    assert_eq!(reference["logits"].as_array().unwrap().len(), 2 * 3);
}
