//! The honest benchmark protocol through the real binary: search on validation accuracy and report test
//! accuracy, noisy evaluations, asynchronous workers in simulated time, and every kind of bad input
//! (made-up tables written by the tests, the NAS-Bench-201 tables where named).

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{fails, json, nb201_table, ok, trials};
use serde_json::Value;

fn validation_table() -> Option<std::path::PathBuf> {
    nasforge_testkit::require(nasforge_testkit::Nb201ValidationTable)
}

/// A CSV's rows by architecture: column name → cell.
fn read_csv(path: &Path) -> HashMap<String, HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|line| {
            let cells: HashMap<String, String> =
                header.iter().zip(line.split(',')).map(|(h, c)| (h.to_string(), c.to_string())).collect();
            (cells["arch"].clone(), cells)
        })
        .collect()
}

fn compare_json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["compare", "--strategies", "random", "--json"];
    all.extend_from_slice(args);
    json(&ok(dir, &all))
}

fn checkpoint(report: &Value, index: usize) -> (f64, f64, f64) {
    let c = &report["strategies"][0]["checkpoints"][index];
    (c["mean_best"].as_f64().unwrap(), c["mean_regret"].as_f64().unwrap(), c["mean_search_value"].as_f64().unwrap())
}

#[test]
fn validation_search_is_scored_by_the_test_accuracy_of_the_returned_cell() {
    let (Some(test), Some(valid)) = (nb201_table(), validation_table()) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (test, valid) = (test.to_str().unwrap(), valid.to_str().unwrap());
    let common = ["--queries", "10,50", "--seeds", "30"];
    let honest = compare_json(
        dir.path(),
        &[
            &["--table", valid, "--metric", "cifar10_valid", "--report-table", test, "--report-metric", "cifar10"],
            &common[..],
        ]
        .concat(),
    );
    assert_eq!((honest["metric"].as_str(), honest["report_metric"].as_str()), (Some("cifar10_valid"), Some("cifar10")));
    assert!((honest["optimum"].as_f64().unwrap() - 94.3733).abs() < 1e-9, "{honest}");
    let today = compare_json(dir.path(), &[&["--table", test, "--metric", "cifar10"], &common[..]].concat());
    for index in 0..2 {
        let (best, regret, seen) = checkpoint(&honest, index);
        assert!((regret - (94.3733 - best)).abs() < 1e-9, "the regret is on the test accuracy: {honest}");
        // The search saw validation accuracy (cifar10-valid: lower than test accuracy on this benchmark).
        assert!(seen < best, "{honest}");
        // Random search queries the same cells under both protocols; choosing by the test column itself
        // can only do better than choosing by validation.
        let (_, today_regret, _) = checkpoint(&today, index);
        assert!(today_regret < regret, "today {today_regret} vs honest {regret}");
    }
}

#[test]
fn noisy_evaluations_draw_a_seed_and_come_with_the_noise_floor() {
    let (Some(test), Some(valid)) = (nb201_table(), validation_table()) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (test, valid) = (test.to_str().unwrap(), valid.to_str().unwrap());
    let args = ["--table", valid, "--metric", "cifar10_valid", "--report-table", test, "--report-metric", "cifar10"];
    let run =
        |extra: &[&str]| compare_json(dir.path(), &[&args[..], &["--queries", "50", "--seeds", "30"], extra].concat());
    let (clean, noisy) = (run(&[]), run(&["--noise", "seeds"]));
    assert_eq!(noisy["noise"], "seeds");
    assert!(clean["noise_floor"].is_null(), "{clean}");
    let floor = &noisy["noise_floor"];
    assert_eq!(floor["cells"], 100);
    assert!(floor["mean_regret"].as_f64().unwrap() > 0.0, "{floor}");
    // The search sees single draws: the same cells are scored differently from the noiseless run.
    assert_ne!(checkpoint(&clean, 0).2, checkpoint(&noisy, 0).2);
    // Re-evaluation is measured under the same command.
    let reevaluated = run(&["--noise", "seeds", "--reevaluate", "10"]);
    assert_eq!(reevaluated["reevaluate"], 10);
    assert!(checkpoint(&reevaluated, 0).1.is_finite());
}

#[test]
fn simulated_workers_finish_sooner_in_simulated_time() {
    let Some(valid) = validation_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let valid = valid.to_str().unwrap();
    let run = |workers: &str| {
        compare_json(
            dir.path(),
            &[
                "--table",
                valid,
                "--metric",
                "cifar10_valid",
                "--time-column",
                "cifar10_train_seconds",
                "--times",
                "2h,5h",
                "--queries",
                "20",
                "--seeds",
                "10",
                "--workers",
                workers,
            ],
        )
    };
    let (one, four) = (run("1"), run("4"));
    let times = |report: &Value| report["strategies"][0]["time_checkpoints"].as_array().unwrap().clone();
    let ended = |report: &Value, index: usize| times(report)[index]["ended"].as_u64().unwrap();
    assert_eq!(times(&one)[0]["seconds"], 7200.0);
    // Every training takes 542–3461 s: 20 in a row take over 3 hours; 4 workers do 5 each, in under 5 hours.
    assert_eq!((ended(&one, 0), ended(&one, 1)), (0, 0));
    assert_eq!(ended(&four, 1), 10);
    assert!(times(&four)[0]["runs"].as_u64().unwrap() == 10);
}

#[test]
fn search_records_the_report_metric_and_noisy_draws_with_each_trial() {
    let (Some(test), Some(valid)) = (nb201_table(), validation_table()) else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("honest.toml");
    std::fs::write(
        &config,
        format!(
            "study = \"honest\"\nstorage = \"sqlite:{}\"\nmetric = \"cifar10_valid\"\ntrials = 30\nseed = 3\n\n\
             [strategy]\nname = \"evolution\"\n\n[evaluator]\nkind = \"table\"\ntable = \"{}\"\n\
             report_table = \"{}\"\nreport_metrics = [\"cifar10\"]\nnoise = \"seeds\"\n",
            dir.path().join("s.db").display(),
            valid.display(),
            test.display()
        ),
    )
    .unwrap();
    ok(dir.path(), &["search", "--config", config.to_str().unwrap(), "--json"]);
    let (test_rows, valid_rows) = (read_csv(&test), read_csv(&valid));
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let trials = trials(dir.path(), &store, "honest");
    assert_eq!(trials.len(), 30);
    let mut off_the_mean = 0;
    for trial in &trials {
        let arch = trial["arch"].as_str().unwrap();
        let metrics = &trial["metrics"];
        let cell = |rows: &HashMap<String, HashMap<String, String>>, column: &str| -> Option<f64> {
            rows[arch][column].parse().ok()
        };
        assert_eq!(metrics["report:cifar10"].as_f64(), cell(&test_rows, "cifar10"), "{trial}");
        let drawn = metrics["cifar10_valid"].as_f64().unwrap();
        let seeds: Vec<f64> = (0..3).filter_map(|s| cell(&valid_rows, &format!("cifar10_valid_seed{s}"))).collect();
        assert!(seeds.contains(&drawn), "{drawn} is not one of the seeds {seeds:?}: {trial}");
        off_the_mean += usize::from(Some(drawn) != cell(&valid_rows, "cifar10_valid"));
    }
    assert!(off_the_mean > 20, "the draws are the seeds' values, not their mean");
}

/// Distinct NB201 cells for made-up tables: the first `count` of the space in a fixed order.
fn cells(count: usize) -> Vec<String> {
    const OPS: [&str; 5] = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"];
    (0..count)
        .map(|i| {
            let op = |edge: u32| OPS[(i / 5usize.pow(edge)) % 5];
            format!("|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|", op(0), op(1), op(2), op(3), op(4), op(5))
        })
        .collect()
}

fn write(dir: &Path, name: &str, header: &str, rows: &[String]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn bad_protocol_input_names_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cells = cells(20);
    let rows = |f: &dyn Fn(usize, &str) -> String| cells.iter().enumerate().map(|(i, c)| f(i, c)).collect::<Vec<_>>();
    let valid = write(dir.path(), "valid.csv", "arch,acc,seconds", &rows(&|i, c| format!("{c},{i},{}", 10 + i)));
    let short_report = write(dir.path(), "test.csv", "arch,test", &rows(&|i, c| format!("{c},{i}"))[..19]);
    let base =
        ["compare", "--table", &valid, "--metric", "acc", "--strategies", "random", "--queries", "5", "--seeds", "2"];
    let err = fails(dir.path(), &[&base[..], &["--report-table", &short_report, "--report-metric", "test"]].concat());
    assert!(err.contains("valid.csv, line 21: column `arch`") && err.contains("test.csv"), "{err}");
    let err = fails(dir.path(), &[&base[..], &["--noise", "seeds"]].concat());
    assert!(err.contains("valid.csv, line 1:") && err.contains("`acc`") && err.contains("acc_seed0"), "{err}");
    let negative =
        write(dir.path(), "negative.csv", "arch,acc,seconds", &rows(&|i, c| format!("{c},{i},{}", 5 - i as i64)));
    let mut args = base.to_vec();
    args[2] = &negative;
    let err = fails(dir.path(), &[&args[..], &["--time-column", "seconds"]].concat());
    assert!(err.contains("negative.csv, line 8: column `seconds`: -1 is not a duration"), "{err}");
    let missing = write(
        dir.path(),
        "missing.csv",
        "arch,acc,seconds",
        &rows(&|i, c| format!("{c},{i},{}", if i == 3 { String::new() } else { i.to_string() })),
    );
    args[2] = &missing;
    let err = fails(dir.path(), &[&args[..], &["--time-column", "seconds"]].concat());
    assert!(err.contains("missing.csv, line 5: column `seconds` is empty"), "{err}");
}

#[test]
fn a_broken_table_line_is_named_once_with_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<String> = cells(20).iter().map(|c| format!("{c},1")).collect();
    rows[19].push_str(",2");
    let broken = write(dir.path(), "broken.csv", "arch,acc", &rows);
    for command in [
        &["compare", "--table", &broken, "--seeds", "1"][..],
        &["search", "--table", &broken, "--storage", "sqlite:s.db"],
    ] {
        let err = fails(dir.path(), command);
        assert!(err.contains("broken.csv, line 21: 3 fields where the header line has 2"), "{err}");
        assert_eq!(err.matches("line").count(), 2, "the position is given once: {err}");
    }
}

#[test]
fn a_missing_table_says_how_to_point_nasforge_at_it() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        &["compare", "--table", "nowhere.csv", "--seeds", "1"][..],
        &["search", "--table", "nowhere.csv", "--storage", "sqlite:s.db"],
    ] {
        let err = fails(dir.path(), command);
        assert!(err.contains("nowhere.csv: cannot read the table: no such file"), "{err}");
        assert!(err.contains("--table PATH") && err.contains("$NASFORGE_NB201_TABLE"), "{err}");
        assert!(!err.contains("os error") && err.matches("no such file").count() == 1, "{err}");
    }
}
