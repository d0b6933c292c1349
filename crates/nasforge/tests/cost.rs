//! `nasforge cost` through the binary: an estimate timed on a table search, one from a study's own trials,
//! the time budget, and the refusals.

mod common;

use common::{fails, json, nb201_table, ok};

#[test]
fn a_table_search_is_priced_from_a_timed_calibration_and_from_its_own_trials() {
    let Some(table) = nb201_table() else { return };
    let (dir, table) = (tempfile::tempdir().unwrap(), table.to_str().unwrap().to_string());
    let priced = ["--price", "3", "--watts", "100", "--json"];
    let estimate = json(&ok(dir.path(), &[&["cost", "--table", &table, "--trials", "400"][..], &priced].concat()));
    assert_eq!(estimate["calibration"]["from"], "timed");
    assert!(estimate["calibration"]["trials"].as_u64().unwrap() >= 3);
    assert_eq!(estimate["trials"], 400);
    assert_eq!(estimate["limited_by"], "trials");
    let hours = estimate["device_hours"].as_f64().unwrap();
    assert!((estimate["wall_seconds"].as_f64().unwrap() / 3600.0 - hours).abs() < 1e-12);
    assert!((estimate["money"].as_f64().unwrap() - 3.0 * hours).abs() < 1e-12);
    assert!((estimate["energy_kwh"].as_f64().unwrap() - 0.1 * hours).abs() < 1e-12);
    assert!(!dir.path().join("nasforge.db").exists(), "the calibration leaves no store");

    let timed = json(&ok(
        dir.path(),
        &[
            "cost",
            "--table",
            &table,
            "--trials",
            "100000000",
            "--time-budget",
            "2s",
            "--calibration-trials",
            "5",
            "--json",
        ],
    ));
    assert_eq!(timed["limited_by"], "time");
    assert_eq!(timed["wall_seconds"], 2.0);

    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    ok(dir.path(), &["search", "--storage", &store, "--study", "t", "--table", &table, "--trials", "50"]);
    let own = json(&ok(
        dir.path(),
        &["cost", "--storage", &store, "--study", "t", "--from-study", "--trials", "500", "--json"],
    ));
    assert_eq!(own["calibration"]["from"], "study");
    assert_eq!(own["calibration"]["trials"], 50);
    assert_eq!(own["trials"], 500);
}

#[test]
fn bad_cost_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = fails(dir.path(), &["cost", "--storage", "sqlite:none.db", "--study", "x", "--from-study"]);
    assert!(e.contains("no store at sqlite:none.db"), "{e}");
    let e = fails(dir.path(), &["cost", "--price=-1"]);
    assert!(e.contains("--price and --watts must be non-negative"), "{e}");
    let e = fails(dir.path(), &["cost", "--command", "true", "--metric", "acc", "--calibration-trials", "0"]);
    assert!(e.contains("0") && e.contains("calibration-trials"), "{e}");
}
