//! Drives the real `nasforge` binary: searches on the NAS-Bench-201 table, continuing studies, a kill -9
//! in the middle of a search, the report commands, `compare`, and every kind of bad input.

mod common;

use common::{fails, json, nasforge, nb201_table, ok, trials};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn storage(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("studies.db").display())
}

fn search_args<'a>(table: &'a str, store: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["search", "--space", "nb201", "--evaluator", "table", "--table", table, "--storage", store];
    args.extend_from_slice(extra);
    args
}

#[test]
fn a_search_runs_continues_and_reports() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (table, store) = (table.to_str().unwrap().to_string(), storage(dir.path()));
    let args = search_args(
        &table,
        &store,
        &["--strategy", "evolution", "--metric", "cifar10", "--trials", "60", "--seed", "1", "--study", "s"],
    );
    let summary = ok(dir.path(), &args);
    assert!(summary.contains("paid\t60"), "{summary}");
    let first = trials(dir.path(), &store, "s");
    let paid = |list: &[Value]| list.iter().filter(|t| t["cached_from"].is_null()).count();
    assert_eq!(paid(&first), 60);
    for trial in &first {
        assert_eq!(trial["state"], "complete");
        let accuracy = trial["metrics"]["cifar10"].as_f64().unwrap();
        assert!((10.0..=94.3733).contains(&accuracy), "{trial}");
        assert!(trial["metrics"]["params"].as_f64().unwrap() >= 73_306.0);
    }

    // The same command with a larger budget continues the study without repeating the flags' work.
    let mut more = args.clone();
    let position = more.iter().position(|a| *a == "60").unwrap();
    more[position] = "100";
    ok(dir.path(), &more);
    let second = trials(dir.path(), &store, "s");
    assert_eq!(paid(&second), 100);
    assert_eq!(&second[..first.len()], &first[..], "earlier trials are kept as they were");
    // Continuing needs only the study's name: its configuration is stored.
    ok(dir.path(), &["search", "--storage", &store, "--study", "s", "--trials", "110"]);
    assert_eq!(paid(&trials(dir.path(), &store, "s")), 110);

    let best = json(&ok(dir.path(), &["best", "--storage", &store, "--study", "s", "--json"]));
    let best_value = best["metrics"]["cifar10"].as_f64().unwrap();
    let max = second.iter().map(|t| t["metrics"]["cifar10"].as_f64().unwrap()).fold(0.0, f64::max);
    assert!(best_value >= max, "best {best_value} below a trial's {max}");
    assert!(best["arch"].as_str().unwrap().starts_with('|'));

    // The same seed and budget in a new study gives the same trials.
    let mut again = args.clone();
    *again.last_mut().unwrap() = "t";
    ok(dir.path(), &again);
    let archs = |list: &[Value]| list.iter().map(|t| t["arch"].clone()).collect::<Vec<_>>();
    assert_eq!(archs(&trials(dir.path(), &store, "t")), archs(&first));

    // Changing what the study searches for is refused.
    let mut other = args.clone();
    let position = other.iter().position(|a| *a == "evolution").unwrap();
    other[position] = "random";
    let err = fails(dir.path(), &other);
    assert!(err.contains("study 's' was created with strategy"), "{err}");
}

#[test]
fn a_multi_objective_study_reports_its_pareto_front() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (table, store) = (table.to_str().unwrap().to_string(), storage(dir.path()));
    let args = search_args(
        &table,
        &store,
        &[
            "--strategy",
            "nsga2",
            "--objective",
            "cifar10:max",
            "--objective",
            "params:min",
            "--constraint",
            "flops <= 1e8",
            "--trials",
            "80",
            "--study",
            "mo",
        ],
    );
    ok(dir.path(), &args);
    let front = json(&ok(dir.path(), &["pareto", "--storage", &store, "--study", "mo", "--json"]));
    let front = front.as_array().unwrap();
    assert!(!front.is_empty());
    let all = trials(dir.path(), &store, "mo");
    let value = |t: &Value, m: &str| t["metrics"][m].as_f64().unwrap();
    for member in front {
        assert!(value(member, "flops") <= 1e8, "an infeasible trial on the front");
        for other in all.iter().filter(|t| value(t, "flops") <= 1e8) {
            let dominates = value(other, "cifar10") >= value(member, "cifar10")
                && value(other, "params") <= value(member, "params")
                && (value(other, "cifar10") > value(member, "cifar10")
                    || value(other, "params") < value(member, "params"));
            assert!(!dominates, "{member} is dominated by {other}");
        }
    }
    let text = ok(dir.path(), &["pareto", "--storage", &store, "--study", "mo"]);
    assert!(text.contains("hypervolume"), "{text}");
}

#[test]
fn a_killed_search_loses_no_completed_trial_and_continues() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (table, store) = (table.to_str().unwrap().to_string(), storage(dir.path()));
    let args = search_args(&table, &store, &["--strategy", "random", "--trials", "3000", "--study", "k"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_nasforge"))
        .args(&args)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until trials are being written, then kill -9 in the middle of the search.
    let mut written = 0;
    for _ in 0..500 {
        let out = nasforge(dir.path(), &["trials", "--storage", &store, "--study", "k", "--json"]);
        if out.status.success() {
            written = json(&String::from_utf8_lossy(&out.stdout)).as_array().unwrap().len();
            if written >= 100 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(written >= 100, "the search wrote no trials");
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "the search finished before it was killed; raise --trials");

    let before = trials(dir.path(), &store, "k");
    assert!(!before.is_empty());
    for (i, trial) in before.iter().enumerate() {
        assert_eq!(trial["id"].as_u64().unwrap(), i as u64, "trial ids have a gap");
        if i + 1 < before.len() {
            assert_eq!(trial["state"], "complete", "{trial}");
        }
    }
    ok(dir.path(), &args);
    let after = trials(dir.path(), &store, "k");
    let paid = after.iter().filter(|t| t["cached_from"].is_null()).count();
    assert_eq!(paid, 3000);
    assert!(after.iter().all(|t| t["state"] == "complete"));
    for (old, new) in before.iter().zip(&after) {
        if old["state"] == "complete" {
            assert_eq!(old, new, "a completed trial changed after the restart");
        } else {
            assert_eq!(old["arch"], new["arch"], "the interrupted trial was retried in place");
        }
    }
}

#[test]
fn compare_reports_every_strategy_at_every_checkpoint() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let table = table.to_str().unwrap();
    let out = ok(
        dir.path(),
        &[
            "compare",
            "--table",
            table,
            "--metric",
            "cifar10",
            "--strategies",
            "random,evolution",
            "--queries",
            "10,50",
            "--seeds",
            "20",
            "--json",
        ],
    );
    let report = json(&out);
    assert_eq!(report["metric"], "cifar10");
    assert_eq!(report["seeds"], 20);
    assert!((report["optimum"].as_f64().unwrap() - 94.3733).abs() < 1e-9);
    let strategies = report["strategies"].as_array().unwrap();
    assert_eq!(strategies.len(), 2);
    for strategy in strategies {
        let checkpoints = strategy["checkpoints"].as_array().unwrap();
        assert_eq!(checkpoints.len(), 2);
        let regret = |c: &Value| c["mean_regret"].as_f64().unwrap();
        assert!(regret(&checkpoints[1]) <= regret(&checkpoints[0]), "regret grew with more queries");
        for c in checkpoints {
            let best = c["mean_best"].as_f64().unwrap();
            assert!((regret(c) - (94.3733 - best)).abs() < 1e-9);
            assert!(c["ci95"].as_f64().unwrap() > 0.0);
        }
    }
    let text =
        ok(dir.path(), &["compare", "--table", table, "--strategies", "local", "--queries", "20", "--seeds", "5"]);
    assert!(text.contains("local") && text.contains("mean regret"), "{text}");
}

/// A small table of made-up values for input-checking tests (not benchmark results).
const TINY_TABLE: &str = "arch,score\n\
|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,1.0\n\
|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|,2.0\n";

#[test]
fn bad_tables_are_named_with_the_line_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(dir.path());
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let cases = [
        (dir.path().join("missing.csv").to_str().unwrap().to_string(), "missing.csv: cannot read the table"),
        (write("empty.csv", ""), "empty.csv: the file is empty"),
        (write("noarch.csv", "name,score\nx,1\n"), "no `arch` column"),
        (
            write("badarch.csv", "arch,score\n|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|,1\n"),
            "line 2: nb201 architecture",
        ),
        (
            write("notnumber.csv", &format!("{TINY_TABLE}|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,high\n")),
            "line 4: column `score`: 'high' is not a number",
        ),
        (write("header.csv", "arch,score\n"), "no rows"),
    ];
    for (table, expected) in cases {
        let err =
            fails(dir.path(), &search_args(&table, &store, &["--metric", "score", "--study", "bad", "--trials", "5"]));
        assert!(err.contains(expected), "{table}: expected '{expected}' in: {err}");
    }
    // A metric the table does not have.
    let tiny = write("tiny.csv", TINY_TABLE);
    let err = fails(dir.path(), &search_args(&tiny, &store, &["--metric", "cifar10", "--study", "bad"]));
    assert!(err.contains("no metric `cifar10`") && err.contains("score"), "{err}");
    // No study, not even a store file, was created by any of these failures.
    assert!(!dir.path().join("studies.db").exists());
}

#[test]
fn a_table_without_the_asked_architecture_stops_the_study_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(dir.path());
    let tiny = dir.path().join("tiny.csv");
    std::fs::write(&tiny, TINY_TABLE).unwrap();
    let tiny = tiny.to_str().unwrap();
    let err = fails(
        dir.path(),
        &search_args(
            tiny,
            &store,
            &["--metric", "score", "--strategy", "random", "--study", "partial", "--trials", "50"],
        ),
    );
    assert!(err.contains("tiny.csv: architecture |") && err.contains("is not in the table (2 rows)"), "{err}");
    // What was evaluated before stays readable.
    let list = trials(dir.path(), &store, "partial");
    assert!(!list.is_empty());
    assert_eq!(list.last().unwrap()["state"], "failed");
}

#[test]
fn bad_configuration_and_stores_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = dir.path().join("tiny.csv");
    std::fs::write(&tiny, TINY_TABLE).unwrap();
    let tiny = tiny.to_str().unwrap();
    let store = storage(dir.path());

    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "study = \"x\"\ntrials = \"many\"\n").unwrap();
    let err =
        fails(dir.path(), &["search", "--config", config.to_str().unwrap(), "--table", tiny, "--storage", &store]);
    assert!(err.contains("bad.toml") && err.contains("line 2"), "{err}");
    std::fs::write(&config, "[strategy]\nname = \"evolution\"\npopulaton = 3\n").unwrap();
    let err =
        fails(dir.path(), &["search", "--config", config.to_str().unwrap(), "--table", tiny, "--storage", &store]);
    assert!(err.contains("populaton"), "{err}");

    let err = fails(dir.path(), &search_args(tiny, "sqlite:/nonexistent-dir/x.db", &["--metric", "score"]));
    assert!(err.contains("/nonexistent-dir/x.db"), "{err}");
    let err = fails(dir.path(), &search_args(tiny, &store, &["--strategy", "annealing"]));
    assert!(err.contains("invalid value 'annealing' for '--strategy") && err.contains("bo, bananas"), "{err}");
    let err = fails(dir.path(), &["search", "--space", "resnet", "--table", tiny, "--storage", &store]);
    assert!(err.contains("invalid value 'resnet' for '--space") && err.contains("nb201, chain, darts"), "{err}");
    let err = fails(dir.path(), &search_args(tiny, &store, &["--constraint", "params < 3", "--metric", "score"]));
    assert!(err.contains("constraint 'params < 3'"), "{err}");
    let err = fails(dir.path(), &search_args(tiny, &store, &["--time-budget", "soon", "--metric", "score"]));
    assert!(err.contains("time budget 'soon'"), "{err}");
    let err = fails(
        dir.path(),
        &search_args(tiny, &store, &["--objective", "score", "--objective", "params", "--strategy", "evolution"]),
    );
    assert!(err.contains("use nsga2 or random"), "{err}");

    // A file that is not a store is refused and left as it was.
    let foreign = dir.path().join("notes.db");
    std::fs::write(&foreign, "my notes, not a database").unwrap();
    let err = fails(dir.path(), &search_args(tiny, &format!("sqlite:{}", foreign.display()), &["--metric", "score"]));
    assert!(err.contains("notes.db"), "{err}");
    assert_eq!(std::fs::read_to_string(&foreign).unwrap(), "my notes, not a database");

    // A study keeps its space: the same study name with another space is refused.
    // (The tiny table lacks the first proposal, so this run stops with an error, but the study exists.)
    fails(dir.path(), &search_args(tiny, &store, &["--metric", "score", "--study", "cells", "--trials", "1"]));
    let err = fails(dir.path(), &["search", "--space", "chain", "--storage", &store, "--study", "cells"]);
    assert!(err.contains(r#"study 'cells' was created with space {"name":"nb201"}"#), "{err}");

    let err = fails(dir.path(), &["best", "--storage", &store, "--study", "nothing"]);
    assert!(err.contains("no study 'nothing'"), "{err}");
}
