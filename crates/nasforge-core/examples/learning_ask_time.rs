//! Time per `ask` of the learning strategies after 200 told results on the NAS-Bench-201 space, with a
//! synthetic score (a fixed function of the cell, no table needed). Run with
//! `cargo run --release -p nasforge-core --example learning_ask_time`.

use std::time::Instant;

use nasforge_core::space::{Nb201Op, Nb201Space};
use nasforge_core::strategy::{Controller, ReinforceConfig, StrategyRng, StrategySpec, TpeConfig};
use nasforge_core::study::trial_seed;
use nasforge_core::{Outcome, SearchSpace};
use rand::SeedableRng;

/// Convolutions score, pools less, `none` nothing; later edges a little more.
fn score(arch: &<Nb201Space as SearchSpace>::Arch) -> f64 {
    arch.ops
        .iter()
        .enumerate()
        .map(|(edge, op)| match op {
            Nb201Op::NorConv3x3 => 3.0 + edge as f64 * 0.1,
            Nb201Op::NorConv1x1 => 2.0,
            Nb201Op::AvgPool3x3 => 1.0,
            Nb201Op::SkipConnect => 0.5,
            Nb201Op::None => 0.0,
        })
        .sum()
}

fn main() {
    let told = 200;
    let asks = 2_000;
    let specs = [
        ("tpe (multivariate, default)", StrategySpec::Tpe(TpeConfig::default())),
        ("tpe (univariate)", StrategySpec::Tpe(TpeConfig { multivariate: false, ..TpeConfig::default() })),
        ("reinforce (factorized, default)", StrategySpec::Reinforce(ReinforceConfig::default())),
        (
            "reinforce (autoregressive)",
            StrategySpec::Reinforce(ReinforceConfig { controller: Controller::Autoregressive, ..Default::default() }),
        ),
    ];
    for (label, spec) in specs {
        let mut strategy = spec.build(&Nb201Space, 1).expect("valid defaults");
        let started = Instant::now();
        for trial in 0..told {
            let arch = strategy.ask(&mut StrategyRng::seed_from_u64(trial_seed(1, trial)), &[]);
            strategy.tell(&arch, Some(&Outcome { scores: vec![score(&arch)], violation: 0.0 }));
        }
        let run = started.elapsed();
        let started = Instant::now();
        for i in 0..asks {
            std::hint::black_box(strategy.ask(&mut StrategyRng::seed_from_u64(trial_seed(2, i)), &[]));
        }
        let per_ask = started.elapsed().as_secs_f64() / asks as f64;
        println!(
            "{label:32} ask after {told} results: {:8.1} µs   ({told} ask+tell rounds: {:.1} ms)",
            per_ask * 1e6,
            run.as_secs_f64() * 1e3
        );
    }
}
