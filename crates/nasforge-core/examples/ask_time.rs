//! Time per `ask` of each strategy on the NAS-Bench-201 space, with a synthetic objective (a fixed
//! function of the cell, so no table is needed): 200 trials per strategy, one study seed.
//!
//! cargo run --release -p nasforge-core --example ask_time [-- STRATEGY… ] [--trials N]

use std::time::Instant;

use nasforge_core::space::{Nb201Arch, Nb201Op, Nb201Space};
use nasforge_core::strategy::StrategyRng;
use nasforge_core::study::trial_seed;
use nasforge_core::{Outcome, StrategySpec};
use rand::SeedableRng;

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

fn main() {
    let mut names = Vec::new();
    let mut trials = 200;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--trials" {
            trials = args.next().and_then(|t| t.parse().ok()).expect("--trials N");
        } else {
            names.push(arg);
        }
    }
    if names.is_empty() {
        names = StrategySpec::NAMES.iter().map(|n| n.to_string()).collect();
    }
    println!("{:<10} {:>8} {:>14} {:>16} {:>12}", "strategy", "trials", "mean ms/ask", "last 20 ms/ask", "max ms/ask");
    for name in names {
        let spec = StrategySpec::from_name(&name).expect("a strategy name");
        let mut strategy = spec.build(&Nb201Space, 1).expect("builds");
        let mut times = Vec::with_capacity(trials);
        for trial in 0..trials {
            let mut rng = StrategyRng::seed_from_u64(trial_seed(0, trial as u64));
            let started = Instant::now();
            let arch = strategy.ask(&mut rng, &[]);
            times.push(started.elapsed().as_secs_f64() * 1e3);
            strategy.tell(&arch, Some(&Outcome { scores: vec![score(&arch)], violation: 0.0 }));
        }
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let tail = &times[times.len().saturating_sub(20)..];
        let last = tail.iter().sum::<f64>() / tail.len() as f64;
        let max = times.iter().copied().fold(0.0, f64::max);
        println!("{name:<10} {trials:>8} {mean:>14.3} {last:>16.3} {max:>12.3}");
    }
}
