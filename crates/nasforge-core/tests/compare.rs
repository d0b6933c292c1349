//! The comparison harness on the NAS-Bench-201 space with a synthetic evaluator (a known function of the
//! cell, not a benchmark): the returned cell, noisy re-evaluation and asynchronous workers in simulated time.

use nasforge_core::compare::{CompareSettings, StrategyComparison, compare};
use nasforge_core::space::{Nb201Op, Nb201Space};
use nasforge_core::{EvalError, EvalRequest, Evaluator, Metrics, Objective, Reporter, StrategySpec};

/// `true`: a score of the cell (convolutions high, `none` nothing); `search`: the score seen by the
/// search, `true` ± `noise` by the parity of the query's seed; `anti`: 100 − `true`; `seconds`: 10 per
/// convolution plus 1.
struct Synthetic {
    noise: f64,
}

impl Evaluator<Nb201Space> for Synthetic {
    fn evaluate(&self, request: &EvalRequest<'_, Nb201Space>, _: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        let score = |op: &Nb201Op| match op {
            Nb201Op::NorConv3x3 => 3.0,
            Nb201Op::NorConv1x1 => 2.0,
            Nb201Op::AvgPool3x3 => 1.0,
            Nb201Op::SkipConnect => 0.5,
            Nb201Op::None => 0.0,
        };
        let truth: f64 =
            request.arch.ops.iter().enumerate().map(|(edge, op)| score(op) * (1.0 + edge as f64 / 10.0)).sum();
        let convolutions = request.arch.ops.iter().filter(|op| matches!(op, Nb201Op::NorConv3x3 | Nb201Op::NorConv1x1));
        let sign = if request.seed.is_multiple_of(2) { 1.0 } else { -1.0 };
        Ok(Metrics::from([
            ("true".into(), truth),
            ("search".into(), truth + sign * self.noise),
            ("anti".into(), 100.0 - truth),
            ("seconds".into(), 1.0 + 10.0 * convolutions.count() as f64),
        ]))
    }
}

fn settings(report_metric: &str) -> CompareSettings {
    CompareSettings {
        objective: Objective::maximize("search"),
        report_metric: report_metric.into(),
        optimum: 100.0,
        checkpoints: vec![10, 30],
        time_checkpoints: Vec::new(),
        time_metric: None,
        seeds: 20,
        workers: 1,
        reevaluations: 0,
    }
}

fn run(evaluator: &Synthetic, settings: &CompareSettings, strategy: &str) -> StrategyComparison {
    let strategies = [(strategy.to_string(), StrategySpec::parse(strategy).unwrap())];
    compare(&Nb201Space, &strategies, evaluator, settings).unwrap().remove(0)
}

#[test]
fn the_returned_cell_is_the_best_by_the_search_metric_scored_by_the_report_metric() {
    let evaluator = Synthetic { noise: 0.0 };
    let by_search = run(&evaluator, &settings("true"), "random");
    let anti = run(&evaluator, &settings("anti"), "random");
    for (same, other) in by_search.checkpoints.iter().zip(&anti.checkpoints) {
        // The same runs return the same cells: their report value is 100 − their search value.
        assert!((same.mean_best - same.mean_search_value).abs() < 1e-9, "{same:?}");
        assert!((other.mean_best - (100.0 - same.mean_best)).abs() < 1e-9, "{other:?} vs {same:?}");
        assert!((other.mean_regret - (100.0 - other.mean_best)).abs() < 1e-9, "{other:?}");
        assert!((other.mean_search_value - same.mean_search_value).abs() < 1e-9);
    }
}

#[test]
fn reevaluation_returns_the_best_mean_of_two_seeds() {
    let evaluator = Synthetic { noise: 5.0 };
    let one_draw = run(&evaluator, &settings("true"), "evolution");
    // One draw: the search trusts lucky draws, so what it saw is above what the cell is worth.
    let lucky = &one_draw.checkpoints[1];
    assert!(lucky.mean_search_value > lucky.mean_best + 4.0, "{lucky:?}");
    let reevaluated = run(&evaluator, &CompareSettings { reevaluations: 5, ..settings("true") }, "evolution");
    // Seeds s and s+1 have opposite noise: the mean of the two draws is the cell's true value.
    for checkpoint in &reevaluated.checkpoints {
        assert!((checkpoint.mean_search_value - checkpoint.mean_best).abs() < 1e-9, "{checkpoint:?}");
    }
}

#[test]
fn workers_run_asynchronously_in_simulated_time() {
    let evaluator = Synthetic { noise: 0.0 };
    let timed = |workers| CompareSettings {
        checkpoints: vec![12],
        time_checkpoints: vec![0.5, 41.0, 1_000.0],
        time_metric: Some("seconds".into()),
        workers,
        ..settings("true")
    };
    let one = run(&evaluator, &timed(1), "random");
    let four = run(&evaluator, &timed(4), "random");
    // Nothing finishes before the shortest evaluation (1 s).
    assert_eq!((one.time_checkpoints[0].runs, four.time_checkpoints[0].runs), (0, 0));
    // 12 evaluations of 1–61 s: one worker cannot be done by 41 s, and everything is done by 1,000 s.
    assert_eq!(one.time_checkpoints[1].ended, 0);
    assert_eq!((one.time_checkpoints[2].ended, four.time_checkpoints[2].ended), (20, 20));
    // At the end of the budget the time and query views agree.
    for run in [&one, &four] {
        assert!((run.time_checkpoints[2].mean_regret - run.checkpoints[0].mean_regret).abs() < 1e-9);
    }
    // Four workers have finished more by 41 s, so their returned cells are at least as good on average.
    assert!(four.time_checkpoints[1].mean_best >= one.time_checkpoints[1].mean_best, "{four:?} {one:?}");
}
