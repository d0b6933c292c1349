//! The learning strategies (TPE, REINFORCE, BO, BANANAS, predictor-guided search) against random search on
//! the NAS-Bench-201 table, through the real `nasforge compare --json`: after 100 paid evaluations each must
//! reach a lower mean regret than random search over the same seeds, by more than the 95% confidence
//! interval of the difference of the means; likewise with eight simulated workers, each proposal made while
//! seven others are pending.

mod common;

use common::nb201_table;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The strategies compared with random search, and over how many seeds. A 100-evaluation run of the
/// model-based strategies takes 0.07–0.4 s in a test build (TPE's and REINFORCE's under 0.05 s), and
/// their lead over random search is several times the interval at 30 seeds: the suite stays within a
/// minute on two cores.
const GROUPS: [(&str, u64); 2] = [("tpe,reinforce", 100), ("bo,bananas,predictor", 30)];
const QUERIES: u64 = 100;

/// Mean regret and its 95% interval half-width after `QUERIES` paid evaluations, for random search and
/// then each of `strategies`, over seeds `0..seeds`.
fn regrets(table: &Path, metric: &str, strategies: &str, seeds: u64, workers: usize) -> Vec<(String, f64, f64)> {
    let (queries, seeds_text, strategies) = (QUERIES.to_string(), seeds.to_string(), format!("random,{strategies}"));
    let workers = workers.to_string();
    let args = [
        "compare",
        "--table",
        table.to_str().unwrap(),
        "--metric",
        metric,
        "--strategies",
        &strategies,
        "--queries",
        &queries,
        "--seeds",
        &seeds_text,
        "--workers",
        &workers,
        "--json",
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_nasforge"))
        .args(args)
        .env_remove("NASFORGE_NB201_TABLE")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "nasforge {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("compare --json prints JSON");
    assert_eq!(report["seeds"], seeds);
    report["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let checkpoint = &s["checkpoints"][0];
            assert_eq!(checkpoint["queries"], QUERIES);
            let number = |key: &str| checkpoint[key].as_f64().unwrap_or_else(|| panic!("{key} in {checkpoint}"));
            (s["name"].as_str().unwrap().to_string(), number("mean_regret"), number("ci95"))
        })
        .collect()
}

fn assert_beat_random(metric: &str, groups: &[(&str, u64)], workers: usize) {
    let Some(table) = nb201_table() else { return };
    for &(strategies, seeds) in groups {
        let results = regrets(&table, metric, strategies, seeds, workers);
        let names: Vec<&str> = results.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(names[0], "random");
        assert_eq!(names[1..], strategies.split(',').collect::<Vec<_>>());
        let (_, random, random_ci) = results[0];
        for (name, regret, ci) in &results[1..] {
            // Independent means: the interval of the difference is the root of the sum of the squared intervals.
            let margin = (random_ci * random_ci + ci * ci).sqrt();
            assert!(
                random - regret > margin,
                "{metric}: {name} regret {regret:.4} ± {ci:.4} vs random {random:.4} ± {random_ci:.4} \
                 after {QUERIES} queries over {seeds} seeds with {workers} workers"
            );
        }
    }
}

#[test]
fn learning_strategies_beat_random_search_on_cifar10() {
    assert_beat_random("cifar10", &GROUPS, 1);
}

#[test]
fn learning_strategies_beat_random_search_on_cifar100() {
    assert_beat_random("cifar100", &GROUPS, 1);
}

#[test]
fn learning_strategies_beat_random_search_with_eight_workers() {
    // Each proposal made while seven others are pending (simulated workers whose trials all take the same
    // time), with every kind of lie, including BANANAS' ensemble retrained for each proposal (about 25 ms).
    let groups = [("tpe,tpe:constant_liar=true,reinforce", 100), ("bo,bo:constant_liar=min,bananas,predictor", 30)];
    assert_beat_random("cifar10", &groups, 8);
}
