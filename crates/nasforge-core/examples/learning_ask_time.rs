//! Time per `ask` of every strategy after 100, 1,000 and 10,000 told results, on the DARTS space (large
//! enough that 10,000 results are 10,000 distinct networks; NAS-Bench-201 has 4,930) with a synthetic score
//! (a fixed function of the decisions, so no table is needed). Each strategy is told uniformly random
//! architectures with their scores up to a checkpoint (its own proposals would take hours for the
//! unbounded models), then asks 20 times, each ask timed and its proposal told its result: the mean
//! includes the model refits that fall among them (BANANAS and the predictor-guided search refit every 10
//! results, BO re-selects its kernel every 10), the slowest is a refit. Strategies that take several
//! objectives are timed with two as well (the score and the sum of the decisions, minimised). The rows
//! with `fit_limit=0` fit their model on every result (the behaviour before the limit); their cost grows
//! with the history, so they stop after 1,000.
//!
//! `cargo run --release -p nasforge-core --example learning_ask_time`

use std::time::Instant;

use nasforge_core::predictor::ModelKind;
use nasforge_core::space::DartsSpace;
use nasforge_core::strategy::{Controller, PredictorConfig, ReinforceConfig, StrategyRng, TpeConfig};
use nasforge_core::study::trial_seed;
use nasforge_core::{Outcome, SearchSpace, StrategySpec};
use rand::SeedableRng;

const CHECKPOINTS: [usize; 3] = [100, 1_000, 10_000];
const TIMED: usize = 20;
/// The last checkpoint a strategy without a fit limit is timed at.
const UNBOUNDED_UP_TO: usize = 1_000;

/// A rugged score of the decisions: a value per decision and choice, and a bonus when the normal and the
/// reduction cell make the same choice at a position.
fn score(decisions: &[usize]) -> f64 {
    let half = decisions.len() / 2;
    let values: f64 = decisions.iter().enumerate().map(|(d, &c)| ((d * 7 + c * 13) % 10) as f64 / 10.0).sum();
    let shared = (0..half).filter(|&d| decisions[d] == decisions[d + half]).count();
    values + 0.5 * shared as f64
}

/// The oriented outcome with one objective (the score) or two (and the sum of the decisions, minimised).
fn outcome(space: &DartsSpace, arch: &<DartsSpace as SearchSpace>::Arch, objectives: usize) -> Outcome {
    let decisions = space.to_decisions(arch);
    let scores = [score(&decisions), -(decisions.iter().sum::<usize>() as f64)];
    Outcome { scores: scores[..objectives].to_vec(), violation: 0.0 }
}

fn parse(text: &str) -> StrategySpec {
    StrategySpec::parse(text).expect("a valid strategy")
}

fn main() {
    let mut runs: Vec<(String, StrategySpec, usize)> =
        StrategySpec::NAMES.iter().map(|&n| (n.to_string(), parse(n), 1)).collect();
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
        let spec = parse(name);
        if spec.is_multi_objective() {
            runs.push((format!("{name} (2 objectives)"), spec, 2));
        }
    }
    let unbounded =
        ["bo:fit_limit=0", "bananas:fit_limit=0", "predictor:fit_limit=0", "predictor:model=gp;fit_limit=0"];
    let mut runs: Vec<(String, StrategySpec, usize, usize)> =
        runs.into_iter().map(|(label, spec, objectives)| (label, spec, objectives, usize::MAX)).collect();
    runs.extend(unbounded.map(|text| (text.to_string(), parse(text), 1, UNBOUNDED_UP_TO)));
    let space = DartsSpace::default();
    let headers: Vec<String> = CHECKPOINTS.iter().map(|n| format!("after {n}: mean / slowest ask (ms)")).collect();
    println!("| strategy | {} |", headers.join(" | "));
    println!("|---|{}", "---|".repeat(CHECKPOINTS.len()));
    for (label, spec, objectives, up_to) in runs {
        let mut strategy = spec.build(&space, objectives).expect("valid settings");
        let mut history = StrategyRng::seed_from_u64(1);
        let mut told = 0;
        let mut cells = Vec::new();
        for checkpoint in CHECKPOINTS {
            if checkpoint > up_to {
                cells.push("not run".to_string());
                continue;
            }
            while told < checkpoint {
                let arch = space.sample(&mut history);
                strategy.tell(&arch, Some(&outcome(&space, &arch, objectives)));
                told += 1;
            }
            let mut times = Vec::new();
            for _ in 0..TIMED {
                let mut rng = StrategyRng::seed_from_u64(trial_seed(1, told as u64));
                let started = Instant::now();
                let arch = strategy.ask(&mut rng, &[]);
                times.push(started.elapsed().as_secs_f64() * 1e3);
                strategy.tell(&arch, Some(&outcome(&space, &arch, objectives)));
                told += 1;
            }
            let mean = times.iter().sum::<f64>() / times.len() as f64;
            let slowest = times.iter().copied().fold(0.0, f64::max);
            cells.push(format!("{mean:.3} / {slowest:.3}"));
        }
        println!("| {label} | {} |", cells.join(" | "));
    }
}
