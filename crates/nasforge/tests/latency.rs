//! `nasforge latency build|check` and a hardware-aware search through the binary, on a tiny mbconv space (a
//! study file's `[space]`) with the data-free zero-cost evaluator: a model file measured once, checked on
//! unseen networks, then used for `latency_ms` with a hard bound (candidates over it rejected untrained,
//! with their predicted latency and the reason) and MnasNet's reward; a co-design search (threads and batch
//! searched with the network, each candidate measured under its deployment); and the refusals, each leaving
//! the study intact.

mod common;

use common::{fails, json, ok, trials};

const SPACE: &str = "[space]\nname = \"mbconv\"\nstage_channels = [4, 8]\nstage_strides = [1, 2]\nstem_channels = 4\n\
                     head_channels = 8\nmin_depth = 1\nmax_depth = 2\nkernels = [3, 5]\nexpansions = [2, 3]\n\
                     width_multipliers = [0.5, 1.0]\nresolutions = [0.5, 1.0]\n";

/// Writes the study file and builds a model file `lut.json` for CIFAR's shape (the data-free proxies' task).
fn model(dir: &std::path::Path) {
    std::fs::write(dir.join("space.toml"), SPACE).unwrap();
    let build = ["latency", "build", "--config", "space.toml", "--input", "3x32x32", "--runs", "2", "--passes", "1"];
    let out = ok(dir, &[&build[..], &["--calibration", "8", "-o", "lut.json"]].concat());
    assert!(out.contains("calibration networks\t8") && out.contains("(1 threads)"), "{out}");
}

#[test]
fn a_model_file_is_built_checked_and_searched_with() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let check = json(&ok(
        dir.path(),
        &["latency", "check", "--config", "space.toml", "--model", "lut.json", "--samples", "6", "--json"],
    ));
    assert_eq!(check["samples"], 6);
    let models: Vec<&str> = check["models"].as_array().unwrap().iter().map(|m| m["model"].as_str().unwrap()).collect();
    assert_eq!(models, ["lut", "predictor", "flops"]);
    assert!((0.0..=1.0).contains(&check["within_10pct"].as_f64().unwrap()), "{check}");
    assert!((-1.0..=1.0).contains(&check["kendall"].as_f64().unwrap()), "{check}");

    // A first study with the table's latency and no bound: every trial has its predicted latency.
    let search =
        ["search", "--config", "space.toml", "--proxy", "params", "--metric", "params", "--storage", "sqlite:s.db"];
    let latency = ["--latency-model", "lut", "--latency-table", "lut.json"];
    ok(dir.path(), &[&search[..], &latency, &["--study", "free", "--trials", "16", "--seed", "4"]].concat());
    let free = trials(dir.path(), "sqlite:s.db", "free");
    let mut latencies: Vec<f64> = free.iter().map(|t| t["metrics"]["latency_ms"].as_f64().unwrap()).collect();
    assert!(free.iter().all(|t| t["state"] == "complete"), "{free:?}");
    latencies.sort_by(f64::total_cmp);
    let bound = latencies[latencies.len() / 2];

    // The same search under the median as a hard bound: the slower half is rejected before any proxy runs.
    let bounded = ["--study", "bounded", "--trials", "16", "--seed", "4", "--constraint"];
    let reward = ["--latency-reward", &format!("{bound}:-0.07")];
    let constraint = format!("latency_ms <= {bound}");
    ok(dir.path(), &[&search[..], &latency, &bounded, &[constraint.as_str()], &reward].concat());
    let done = trials(dir.path(), "sqlite:s.db", "bounded");
    let (mut rejected, mut kept) = (0, 0);
    for trial in &done {
        let ms = trial["metrics"]["latency_ms"].as_f64().unwrap();
        if trial["state"] == "failed" {
            rejected += 1;
            assert!(ms > bound, "{trial}");
            let error = trial["error"].as_str().unwrap();
            assert!(error.contains("rejected before training: the lut latency is"), "{error}");
            assert!(trial["metrics"].get("proxy_seconds").is_none(), "no proxy ran: {trial}");
        } else {
            kept += 1;
            assert!(ms <= bound && trial["metrics"]["proxy_seconds"].as_f64().is_some(), "{trial}");
            // The proxies record no val_accuracy, so no reward.
            assert!(trial["metrics"].get("latency_reward").is_none(), "{trial}");
        }
    }
    assert!(rejected > 0 && kept > 0, "{done:?}");
}

#[test]
fn latency_models_that_cannot_serve_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let search =
        ["search", "--config", "space.toml", "--proxy", "params", "--metric", "params", "--storage", "sqlite:s.db"];
    let lut = ["--latency-model", "lut", "--latency-table", "lut.json"];
    ok(dir.path(), &[&search[..], &["--study", "kept", "--trials", "3"]].concat());
    let refused = |extra: &[&str], expected: &[&str]| {
        let e = fails(dir.path(), &[&search[..], extra].concat());
        for part in expected {
            assert!(e.contains(part), "{extra:?}: {e}");
        }
    };
    refused(
        &[&lut[..], &["--study", "x", "--constraint", "latency_ms <= 0.000001"]].concat(),
        &["no network of the mbconv space meets latency_ms <= 0.000001", "the fastest it knows takes"],
    );
    refused(&["--study", "x", "--latency-model", "lut"], &["--latency-model lut: needs --latency-table FILE"]);
    refused(&["--study", "x", "--latency-table", "lut.json"], &["the measured latency needs no model"]);
    refused(&[&lut[..], &["--study", "x", "--dataset", "synthetic"]].concat(), &["lut.json", "measured for 3×32×32"]);
    refused(
        &[&lut[..], &["--study", "x", "--space", "nb201"]].concat(),
        &["lut.json", "measured for the space mbconv, not nb201"],
    );
    let deployed = ["search", "--storage", "sqlite:s.db", "--study", "x", "--space", "nb201", "--dataset", "synthetic"];
    let e = fails(dir.path(), &[&deployed[..], &["--objective", "deployed_val_accuracy:max"]].concat());
    assert!(e.contains("deployed_val_accuracy is recorded in a co-design space only"), "{e}");
    std::fs::write(dir.path().join("bad.json"), "{\"format\": 1,\n\"target\": 3}").unwrap();
    refused(
        &["--study", "x", "--latency-model", "lut", "--latency-table", "bad.json"],
        &["bad.json", "not a latency model file", "line 2"],
    );
    // A model of the default space does not serve the tiny one.
    let other = ["latency", "build", "--input", "3x32x32", "--runs", "1", "--passes", "1", "--calibration", "0"];
    ok(dir.path(), &[&other[..], &["-o", "default.json"]].concat());
    refused(
        &["--study", "x", "--latency-model", "lut", "--latency-table", "default.json"],
        &["default.json", "space settings"],
    );
    let e = fails(dir.path(), &["latency", "check", "--config", "space.toml", "--model", "lut.json", "--samples", "1"]);
    assert!(e.contains("at least 2 networks"), "{e}");
    // Every refusal left the store as it was.
    assert_eq!(trials(dir.path(), "sqlite:s.db", "kept").len(), 3);
}

#[test]
fn an_nb201_model_prices_the_cells_of_a_search() {
    let dir = tempfile::tempdir().unwrap();
    let network = ["--input", "3x32x32", "--channels", "4", "--cells", "1"];
    let build = ["latency", "build", "--space", "nb201", "--runs", "2", "--passes", "1", "--calibration", "8"];
    let out = ok(dir.path(), &[&build[..], &network, &["-o", "nb.json"]].concat());
    assert!(out.contains("operators\t19") && out.contains("calibration networks\t8"), "{out}");
    let check = ["latency", "check", "--space", "nb201", "--model", "nb.json", "--samples", "4", "--json"];
    assert_eq!(json(&ok(dir.path(), &check))["samples"], 4);

    let search = ["search", "--space", "nb201", "--proxy", "params", "--metric", "params", "--storage", "sqlite:s.db"];
    let latency = ["--latency-model", "lut", "--latency-table", "nb.json", "--channels", "4", "--cells", "1"];
    ok(dir.path(), &[&search[..], &latency, &["--study", "nb", "--trials", "8"]].concat());
    let done = trials(dir.path(), "sqlite:s.db", "nb");
    assert_eq!(done.len(), 8);
    assert!(done.iter().all(|t| t["metrics"]["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0)), "{done:?}");
    // The model was measured for 4 channels and one cell per stage: a search at 8 channels is refused.
    let e = fails(
        dir.path(),
        &[&search[..], &latency[..4], &["--study", "wide", "--channels", "8", "--cells", "1"]].concat(),
    );
    assert!(e.contains("nb.json") && e.contains("at the scale"), "{e}");
}

#[test]
fn a_codesign_search_measures_each_candidate_under_its_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let deployment = "threads = [1, 2]\nbatches = [1, 16]\nprecisions = [\"f32\", \"bf16\"]\n";
    std::fs::write(dir.path().join("codesign.toml"), format!("{SPACE}{deployment}")).unwrap();
    let search = ["search", "--config", "codesign.toml", "--proxy", "params", "--storage", "sqlite:s.db"];
    let objectives = ["--strategy", "nsga2", "--objective", "params:min", "--objective", "throughput:max"];
    ok(dir.path(), &[&search[..], &objectives, &["--study", "co", "--trials", "12", "--seed", "2"]].concat());
    let done = trials(dir.path(), "sqlite:s.db", "co");
    assert_eq!(done.len(), 12);
    let mut deployments = std::collections::HashSet::new();
    for trial in &done {
        assert_eq!(trial["state"], "complete", "{trial}");
        let arch = trial["arch"].as_str().unwrap();
        // The printed form carries the deployment: `w0.5-r1-t2-b16:…`, `w0.5-r1-t1-b1-bf16:…`.
        let header = arch.split(':').next().unwrap();
        let batch: f64 =
            header.split('-').find_map(|field| field.strip_prefix('b').and_then(|b| b.parse().ok())).unwrap();
        deployments.insert(header.split_once("-t").unwrap().1.to_string());
        let (ms, throughput) =
            (trial["metrics"]["latency_ms"].as_f64().unwrap(), trial["metrics"]["throughput"].as_f64().unwrap());
        assert!(ms > 0.0 && (throughput - batch * 1000.0 / ms).abs() < 1e-6 * throughput, "{trial}");
    }
    assert!(deployments.len() >= 3, "{deployments:?}");
    assert!(deployments.iter().any(|d| d.ends_with("-bf16")), "bf16 among the deployments: {deployments:?}");

    // Under the median as a hard bound, the slower candidates are rejected before any proxy runs, each with
    // its measured latency; the others keep the measurement the bound was checked on.
    let mut latencies: Vec<f64> = done.iter().map(|t| t["metrics"]["latency_ms"].as_f64().unwrap()).collect();
    latencies.sort_by(f64::total_cmp);
    let constraint = format!("latency_ms <= {}", latencies[latencies.len() / 2]);
    let bounded = ["--study", "bounded", "--trials", "12", "--seed", "2", "--constraint", &constraint];
    ok(dir.path(), &[&search[..], &objectives, &bounded].concat());
    let (mut rejected, mut kept) = (0, 0);
    for trial in trials(dir.path(), "sqlite:s.db", "bounded") {
        let ms = trial["metrics"]["latency_ms"].as_f64().unwrap();
        if trial["state"] == "failed" {
            rejected += 1;
            let error = trial["error"].as_str().unwrap();
            assert!(ms > latencies[latencies.len() / 2], "{trial}");
            assert!(error.contains("rejected before training: the measured (deployed) latency is"), "{error}");
        } else {
            kept += 1;
            assert!(ms <= latencies[latencies.len() / 2] && trial["metrics"]["throughput"].is_number(), "{trial}");
        }
    }
    assert!(rejected > 0 && kept > 0, "{rejected} rejected, {kept} kept");

    // A bound below what the smallest network takes on any thread count is refused; lut models do not serve
    // a space that searches its deployment; the study is intact.
    let e = fails(
        dir.path(),
        &[&search[..], &objectives, &["--study", "x", "--constraint", "latency_ms <= 0.000001"]].concat(),
    );
    assert!(e.contains("no network of the mbconv space meets latency_ms <= 0.000001") && e.contains("-t"), "{e}");
    let e = fails(
        dir.path(),
        &[&search[..], &objectives, &["--study", "x", "--latency-model", "lut", "--latency-table", "lut.json"]]
            .concat(),
    );
    assert!(e.contains("holds one thread count and batch"), "{e}");
    let e = fails(dir.path(), &["latency", "build", "--config", "codesign.toml", "-o", "x.json"]);
    assert!(e.contains("holds one thread count and batch"), "{e}");
    assert_eq!(trials(dir.path(), "sqlite:s.db", "co").len(), 12);
}
