//! Time per `ask` of every strategy once it has been told 200 results, on the NAS-Bench-201 space with a
//! synthetic score (a fixed function of the cell, so no table is needed). Each strategy runs 200 ask/tell
//! rounds, then 20 more whose asks are timed one by one: their mean includes the model refits that fall
//! among them (BANANAS retrains and the predictor-guided search refits every 10 results), their maximum is
//! the slowest single ask. Strategies that take several objectives are timed with two as well (the score
//! and the number of convolutions, minimised).
//!
//! `cargo run --release -p nasforge-core --example learning_ask_time`

use std::time::Instant;

use nasforge_core::predictor::ModelKind;
use nasforge_core::space::{Nb201Arch, Nb201Op, Nb201Space};
use nasforge_core::strategy::{Controller, PredictorConfig, ReinforceConfig, StrategyRng, TpeConfig};
use nasforge_core::study::trial_seed;
use nasforge_core::{Outcome, StrategySpec};
use rand::SeedableRng;

const TOLD: u64 = 200;
const TIMED: u64 = 20;

/// A rugged score: per-edge values, a bonus for convolutions in sequence, a penalty for cut cells.
fn score(arch: &Nb201Arch) -> f64 {
    let value = |op: Nb201Op| match op {
        Nb201Op::NorConv3x3 => 3.0,
        Nb201Op::NorConv1x1 => 2.0,
        Nb201Op::AvgPool3x3 => 1.0,
        Nb201Op::SkipConnect => 1.5,
        Nb201Op::None => 0.0,
    };
    let mut total: f64 = arch.ops.iter().enumerate().map(|(edge, &op)| value(op) * (1.0 + 0.1 * edge as f64)).sum();
    if arch.ops[0] == Nb201Op::NorConv3x3 && arch.ops[5] == Nb201Op::NorConv3x3 {
        total += 2.0;
    }
    if arch.ops[3] == Nb201Op::SkipConnect {
        total += 1.0;
    }
    if arch.ops[3] == Nb201Op::None && (arch.ops[0] == Nb201Op::None || arch.ops[4] == Nb201Op::None) {
        total -= 5.0;
    }
    total
}

/// The oriented outcome with one objective (the score) or two (and the number of convolutions, minimised).
fn outcome(arch: &Nb201Arch, objectives: usize) -> Outcome {
    let convolutions = arch.ops.iter().filter(|op| matches!(op, Nb201Op::NorConv3x3 | Nb201Op::NorConv1x1)).count();
    let scores = [score(arch), -(convolutions as f64)];
    Outcome { scores: scores[..objectives].to_vec(), violation: 0.0 }
}

fn main() {
    let mut runs: Vec<(String, StrategySpec, usize)> =
        StrategySpec::NAMES.iter().map(|&n| (n.to_string(), StrategySpec::from_name(n).unwrap(), 1)).collect();
    runs.extend([
        (
            "reinforce (autoregressive)".to_string(),
            StrategySpec::Reinforce(ReinforceConfig { controller: Controller::Autoregressive, ..Default::default() }),
            1,
        ),
        ("tpe (univariate)".to_string(), StrategySpec::Tpe(TpeConfig { multivariate: false, ..Default::default() }), 1),
        (
            "predictor (gp)".to_string(),
            StrategySpec::Predictor(PredictorConfig { model: ModelKind::Gp, ..Default::default() }),
            1,
        ),
        (
            "predictor (mlp)".to_string(),
            StrategySpec::Predictor(PredictorConfig { model: ModelKind::Mlp, ..Default::default() }),
            1,
        ),
    ]);
    for &name in StrategySpec::NAMES {
        let spec = StrategySpec::from_name(name).unwrap();
        if spec.is_multi_objective() {
            runs.push((format!("{name} (2 objectives)"), spec, 2));
        }
    }
    println!(
        "| strategy | {TOLD} ask+tell rounds (ms) | mean ask, results {}–{} (ms) | slowest of those asks (ms) |",
        TOLD + 1,
        TOLD + TIMED
    );
    println!("|---|---|---|---|");
    for (label, spec, objectives) in runs {
        let mut strategy = spec.build(&Nb201Space, objectives).expect("valid defaults");
        let started = Instant::now();
        for trial in 0..TOLD {
            let arch = strategy.ask(&mut StrategyRng::seed_from_u64(trial_seed(1, trial)), &[]);
            strategy.tell(&arch, Some(&outcome(&arch, objectives)));
        }
        let warm_up = started.elapsed().as_secs_f64() * 1e3;
        let mut times = Vec::new();
        for trial in TOLD..TOLD + TIMED {
            let started = Instant::now();
            let arch = strategy.ask(&mut StrategyRng::seed_from_u64(trial_seed(1, trial)), &[]);
            times.push(started.elapsed().as_secs_f64() * 1e3);
            strategy.tell(&arch, Some(&outcome(&arch, objectives)));
        }
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let slowest = times.iter().copied().fold(0.0, f64::max);
        println!("| {label} | {warm_up:.1} | {mean:.3} | {slowest:.3} |");
    }
}
