//! Zero-cost proxies through the binary: `nasforge proxies` against the NAS-Bench-201 table, searches
//! whose evaluator is a proxy, and the refusals a user meets.

mod common;

use common::{fails, json, nb201_table, ok, trials};

#[test]
fn proxies_rank_the_nb201_table_as_published() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let table = table.to_str().unwrap();
    let args = [
        "proxies",
        "--table",
        table,
        "--metric",
        "cifar10",
        "--proxies",
        "synflow,params",
        "--combine",
        "synflow,params",
        "--sample",
        "60",
        "--seed",
        "1",
        "--json",
    ];
    let report = json(&ok(dir.path(), &args));
    assert_eq!(report["networks"], 60);
    let proxies = report["proxies"].as_array().unwrap();
    let names: Vec<&str> = proxies.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["synflow", "params", "mean_rank(synflow+params)"]);
    // Published on all 15,625 cells: synflow 0.74, params 0.75; 60 cells leave a wide margin.
    for proxy in proxies {
        let rho = proxy["spearman"].as_f64().unwrap();
        assert!(rho > 0.45 && rho <= 1.0, "{proxy}");
        assert!(proxy["kendall"].as_f64().unwrap() > 0.3, "{proxy}");
    }
    assert!(proxies[0]["seconds_per_network"].as_f64().unwrap() > 0.0);
    // The same seed scores the same networks the same way.
    let again = json(&ok(dir.path(), &args));
    for (a, b) in again["proxies"].as_array().unwrap().iter().zip(proxies) {
        assert_eq!((&a["spearman"], &a["kendall"]), (&b["spearman"], &b["kendall"]));
    }
}

#[test]
fn a_search_can_score_candidates_by_proxies() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("z.db").display());
    let search = |study: &str, extra: &[&str]| {
        let mut args = vec![
            "search",
            "--space",
            "nb201",
            "--strategy",
            "evolution",
            "--storage",
            &store,
            "--study",
            study,
            "--channels",
            "4",
            "--cells",
            "1",
            "--seed",
            "3",
        ];
        args.extend_from_slice(extra);
        ok(dir.path(), &args)
    };
    search("data-free", &["--proxy", "synflow", "--trials", "6"]);
    let list = trials(dir.path(), &store, "data-free");
    let complete: Vec<_> = list.iter().filter(|t| t["state"] == "complete").collect();
    assert!(!complete.is_empty());
    for trial in &complete {
        assert!(trial["metrics"]["synflow"].as_f64().unwrap() > 0.0, "{trial}");
        assert!(trial["metrics"]["params"].as_f64().unwrap() > 0.0, "{trial}");
    }
    // A cell that computes nothing is a failed trial with its reason, never a score.
    for trial in list.iter().filter(|t| t["state"] == "failed") {
        assert!(trial["error"].as_str().unwrap().contains("computes nothing"), "{trial}");
    }
    let best = json(&ok(dir.path(), &["best", "--storage", &store, "--study", "data-free", "--json"]));
    let top = complete.iter().map(|t| t["metrics"]["synflow"].as_f64().unwrap()).fold(f64::MIN, f64::max);
    assert_eq!(best["metrics"]["synflow"].as_f64().unwrap(), top);

    // Data-dependent proxies see a minibatch of the dataset's training images.
    search(
        "with-data",
        &["--proxy", "naswot,jacob_cov", "--dataset", "synthetic", "--proxy-batch-size", "8", "--trials", "3"],
    );
    for trial in trials(dir.path(), &store, "with-data").iter().filter(|t| t["state"] == "complete") {
        assert!(trial["metrics"]["naswot"].as_f64().unwrap().is_finite(), "{trial}");
        assert!(trial["metrics"]["jacob_cov"].as_f64().unwrap().is_finite(), "{trial}");
    }
    // Continuing with other proxies would mix incomparable scores: refused, naming the evaluator.
    let error = fails(
        dir.path(),
        &["search", "--storage", &store, "--study", "data-free", "--proxy", "params", "--trials", "8"],
    );
    assert!(error.contains("zero-cost evaluator"), "{error}");
}

#[test]
fn bad_proxy_requests_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("z.db").display());
    let error = fails(dir.path(), &["search", "--storage", &store, "--proxy", "naswot", "--trials", "2"]);
    assert!(error.contains("naswot") && error.contains("--dataset"), "{error}");
    assert!(!dir.path().join("z.db").exists(), "a refused search stores nothing");
    let error = fails(dir.path(), &["search", "--storage", &store, "--proxy", "synflow,zen", "--trials", "2"]);
    assert!(error.contains("unknown zero-cost proxy `zen`"), "{error}");
    let error = fails(
        dir.path(),
        &["search", "--storage", &store, "--proxy", "synflow", "--objective", "val_accuracy:max", "--trials", "2"],
    );
    assert!(error.contains("no metric `val_accuracy`") && error.contains("synflow"), "{error}");
    let error =
        fails(dir.path(), &["proxies", "--metric", "cifar10", "--proxies", "synflow", "--combine", "synflow,naswot"]);
    assert!(error.contains("naswot") && error.contains("not among the proxies"), "{error}");
}
