//! The table evaluator on small tables written by the test (made-up values, not benchmark results).

use nasforge_core::space::{Nb201Space, TaskShape};
use nasforge_core::{EvalError, EvalRequest, Evaluator, Metrics, SearchSpace};
use nasforge_eval::{Table, TableEvaluator};

const CONV: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
const POOL: &str = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|";

fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.csv");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn evaluate(evaluator: &TableEvaluator, printed: &str) -> Result<Metrics, EvalError> {
    let arch = Nb201Space.parse(printed).unwrap();
    let request =
        EvalRequest { space: &Nb201Space, arch: &arch, printed, trial_id: 0, seed: 0, checkpoint: None, reported: 0 };
    evaluator.evaluate(&request, &mut ())
}

#[test]
fn answers_every_column_plus_analytic_cost() {
    let (_dir, path) = write(&format!("score,arch,latency\n0.5,{CONV},3\n0.25, {POOL} ,1.5\n"));
    let table = Table::load(&path, &Nb201Space).unwrap();
    assert_eq!(table.columns(), ["score", "latency"]);
    assert_eq!(table.range(0), (0.5, 0.25));
    let evaluator = TableEvaluator::new(table, TaskShape::CIFAR10);
    let metrics = evaluate(&evaluator, CONV).unwrap();
    assert_eq!(metrics["score"], 0.5);
    assert_eq!(metrics["latency"], 3.0);
    assert_eq!(metrics["params"], 1_531_546.0);
    // Architectures are matched by the space's printed form, whatever spacing the file used.
    assert_eq!(evaluate(&evaluator, POOL).unwrap()["score"], 0.25);
    assert_eq!(evaluator.metric_names(&Nb201Space), ["score", "latency", "params", "flops"]);
    let missing = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";
    let Err(EvalError::Fatal(message)) = evaluate(&evaluator, missing) else {
        panic!("a missing architecture is fatal")
    };
    assert!(message.contains("is not in the table (2 rows)"), "{message}");
}

#[test]
fn a_params_column_of_the_table_wins_over_the_analytic_count() {
    let (_dir, path) = write(&format!("arch,params\n{CONV},42\n"));
    let evaluator = TableEvaluator::new(Table::load(&path, &Nb201Space).unwrap(), TaskShape::CIFAR10);
    assert_eq!(evaluate(&evaluator, CONV).unwrap()["params"], 42.0);
}

#[test]
fn rejects_repeated_rows_and_ragged_lines_with_their_line() {
    let (_dir, path) = write(&format!("arch,score\n{CONV},1\n{POOL},2\n{CONV},3\n"));
    let err = Table::load(&path, &Nb201Space).unwrap_err().to_string();
    assert!(err.contains("line 4") && err.contains("listed again (first at line 2)"), "{err}");
    let (_dir, path) = write(&format!("arch,score\n{CONV},1,7\n"));
    let err = Table::load(&path, &Nb201Space).unwrap_err().to_string();
    assert!(err.contains("line 2"), "{err}");
    let (_dir, path) = write(&format!("arch,score\n{CONV},inf\n"));
    let err = Table::load(&path, &Nb201Space).unwrap_err().to_string();
    assert!(err.contains("'inf' is not a number"), "{err}");
}
