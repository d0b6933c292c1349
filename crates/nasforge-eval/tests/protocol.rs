//! The benchmark protocol's tables, on small tables written by the test (made-up values, not benchmark
//! results): per-seed noise, a report table joined on `arch`, a time column, empty cells.

use nasforge_core::space::{Nb201Space, TaskShape};
use nasforge_core::{Direction, EvalRequest, Evaluator, Metrics, SearchSpace};
use nasforge_eval::table::ReportJoin;
use nasforge_eval::{Table, TableEvaluator};

const CONV: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
const POOL: &str = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|";
const SKIP: &str = "|skip_connect~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|";

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn evaluate(evaluator: &TableEvaluator, printed: &str, seed: u64) -> Metrics {
    let arch = Nb201Space.parse(printed).unwrap();
    let request =
        EvalRequest { space: &Nb201Space, arch: &arch, printed, trial_id: 0, seed, checkpoint: None, reported: 0 };
    evaluator.evaluate(&request, &mut ()).unwrap()
}

/// A validation-like table: the mean, three seeds (the third empty for POOL) and a training time.
fn validation(dir: &tempfile::TempDir) -> std::path::PathBuf {
    write(
        dir,
        "valid.csv",
        &format!("arch,acc,acc_seed0,acc_seed1,acc_seed2,seconds\n{CONV},90,89,90,91,100\n{POOL},50,49,51,,20\n"),
    )
}

#[test]
fn noise_draws_one_seed_per_query_skipping_empty_cells_and_new_seeds_give_new_draws() {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::load(&validation(&dir), &Nb201Space).unwrap();
    let evaluator = TableEvaluator::new(table, TaskShape::CIFAR10).with_seed_noise("acc").unwrap();
    let draws = |printed| (0..6).map(|seed| evaluate(&evaluator, printed, seed)["acc"]).collect::<Vec<_>>();
    // Seed s answers seed column s mod n of the n non-empty ones: consecutive seeds give every seed once.
    assert_eq!(draws(CONV), [89.0, 90.0, 91.0, 89.0, 90.0, 91.0]);
    assert_eq!(draws(POOL), [49.0, 51.0, 49.0, 51.0, 49.0, 51.0]);
    // The same seed always gives the same draw; the other columns are answered as they are.
    assert_eq!(evaluate(&evaluator, CONV, 7)["acc"], evaluate(&evaluator, CONV, 7)["acc"]);
    assert_eq!(evaluate(&evaluator, POOL, 0)["seconds"], 20.0);
    // An empty cell is left out of the answer.
    assert!(!evaluate(&evaluator, POOL, 0).contains_key("acc_seed2"));
}

#[test]
fn noise_on_a_metric_without_seed_columns_names_the_file_header_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "plain.csv", &format!("arch,acc\n{CONV},90\n"));
    let table = Table::load(&path, &Nb201Space).unwrap();
    let err = TableEvaluator::new(table, TaskShape::CIFAR10).with_seed_noise("acc").unwrap_err().to_string();
    assert!(err.contains("plain.csv, line 1:") && err.contains("`acc`") && err.contains("acc_seed0"), "{err}");
}

#[test]
fn the_report_table_is_joined_on_arch_and_recorded_as_report_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let search = Table::load(&validation(&dir), &Nb201Space).unwrap();
    let test_path = write(&dir, "test.csv", &format!("arch,test\n{POOL},55\n{SKIP},99\n{CONV},93\n"));
    let report = Table::load(&test_path, &Nb201Space).unwrap();
    let join = ReportJoin::new(&search, report, &["test".to_string()]).unwrap();
    // The optimum is over the searchable cells only (SKIP is not in the search table).
    assert_eq!(join.optimum("test", Direction::Maximize), Some(93.0));
    assert_eq!(join.optimum("test", Direction::Minimize), Some(55.0));
    let evaluator = TableEvaluator::new(search, TaskShape::CIFAR10).with_report(join);
    let answer = evaluate(&evaluator, POOL, 0);
    assert_eq!((answer["acc"], answer["report:test"]), (50.0, 55.0));
    assert!(evaluator.metric_names(&Nb201Space).contains(&"report:test".to_string()));
}

#[test]
fn a_report_table_lacking_a_cell_names_the_search_line_and_the_arch_column() {
    let dir = tempfile::tempdir().unwrap();
    let search = Table::load(&validation(&dir), &Nb201Space).unwrap();
    let test_path = write(&dir, "test.csv", &format!("arch,test\n{CONV},93\n"));
    let report = Table::load(&test_path, &Nb201Space).unwrap();
    let err = ReportJoin::new(&search, report, &["test".to_string()]).unwrap_err().to_string();
    assert!(
        err.contains("valid.csv, line 3: column `arch`") && err.contains(POOL) && err.contains("test.csv"),
        "{err}"
    );
    let report = Table::load(&test_path, &Nb201Space).unwrap();
    let err = ReportJoin::new(&search, report, &["cifar10".to_string()]).unwrap_err().to_string();
    assert!(err.contains("test.csv: no column `cifar10`"), "{err}");
}

#[test]
fn a_time_column_needs_a_duration_on_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::load(&validation(&dir), &Nb201Space).unwrap();
    assert_eq!(table.time_column("seconds").unwrap(), 4);
    let path = write(&dir, "negative.csv", &format!("arch,acc,seconds\n{CONV},90,100\n{POOL},50,-3\n"));
    let err = Table::load(&path, &Nb201Space).unwrap().time_column("seconds").unwrap_err().to_string();
    assert!(err.contains("negative.csv, line 3: column `seconds`: -3 is not a duration"), "{err}");
    let path = write(&dir, "missing.csv", &format!("arch,acc,seconds\n{CONV},90,\n{POOL},50,2\n"));
    let err = Table::load(&path, &Nb201Space).unwrap().time_column("seconds").unwrap_err().to_string();
    assert!(err.contains("missing.csv, line 2: column `seconds` is empty"), "{err}");
    // A metric must be complete too; a seed column may have holes.
    let table = Table::load(&validation(&dir), &Nb201Space).unwrap();
    let err = table.column("acc_seed2").unwrap_err().to_string();
    assert!(err.contains("valid.csv, line 3: column `acc_seed2` is empty"), "{err}");
}

#[test]
fn a_broken_line_is_named_once_with_its_own_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "ragged.csv", &format!("arch,acc\n{CONV},1\n{POOL},2\n{SKIP},3,4\n"));
    let err = Table::load(&path, &Nb201Space).unwrap_err().to_string();
    assert!(err.ends_with("ragged.csv, line 4: 3 fields where the header line has 2"), "{err}");
    let err = Table::load(&dir.path().join("absent.csv"), &Nb201Space).unwrap_err().to_string();
    assert!(err.contains("absent.csv: cannot read the table: no such file;") && err.contains("--table PATH"), "{err}");
    assert!(!err.contains("os error"), "{err}");
}
