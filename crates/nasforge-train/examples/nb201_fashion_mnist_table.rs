//! Builds the Fashion-MNIST ground truth of NAS-Bench-201 cells (`benchmarks/nb201-fashion-mnist/`): a
//! seeded sample of distinct cells (distinct canonical forms), each trained once at one fixed fidelity on a
//! split of the training set, its validation accuracy measured on the held-out rest of the training set and
//! its test accuracy on the 10,000 test images by the same trained network.
//!
//! ```text
//! cargo run --release -p nasforge-train --example nb201_fashion_mnist_table -- \
//!     --cells 150 --seed 2026 -o benchmarks/nb201-fashion-mnist/nb201_fashion_mnist.csv
//! ```
//!
//! Appends one row per trained cell and skips the cells already in the output, so a killed run continues.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use nasforge_core::SearchSpace;
use nasforge_core::space::Nb201Space;
use nasforge_train::data::{SplitMix64, load_fashion_mnist};
use nasforge_train::train::task_of;
use nasforge_train::{Batcher, Buildable, NetworkScale, TrainConfig, evaluate, train_network};

/// The fidelity, fixed: written into the README beside the table.
const CHANNELS: usize = 8;
const CELLS_PER_STAGE: usize = 1;
const EPOCHS: usize = 2;
const DATA_FRACTION: f64 = 0.15;
const BATCH_SIZE: usize = 64;
const VALIDATION_FRACTION: f64 = 0.1;
const SPLIT_SEED: u64 = 0;
const HEADER: &str = "arch,val_accuracy,test_accuracy,params,flops,train_seconds";

struct Args {
    cells: usize,
    seed: u64,
    output: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { cells: 150, seed: 2026, output: PathBuf::from("nb201_fashion_mnist.csv") };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--cells" => args.cells = value.parse().map_err(|e| format!("--cells {value}: {e}"))?,
            "--seed" => args.seed = value.parse().map_err(|e| format!("--seed {value}: {e}"))?,
            "-o" | "--output" => args.output = PathBuf::from(value),
            _ => return Err(format!("unknown flag {flag} (flags: --cells N --seed S -o FILE)")),
        }
    }
    Ok(args)
}

/// The first `count` distinct canonical cells of a seeded uniform sample, cells that compute nothing left out.
fn sample_cells(space: &Nb201Space, count: usize, seed: u64) -> Vec<String> {
    let mut rng = SplitMix64::new(seed);
    let sizes = space.decision_sizes();
    let mut seen = HashSet::new();
    let mut cells = Vec::new();
    while cells.len() < count {
        let decisions: Vec<usize> = sizes.iter().map(|&n| rng.below(n)).collect();
        let arch = space.from_decisions(&decisions);
        let canonical = space.canonical(&arch);
        if !space.computes_nothing(&arch) && seen.insert(canonical) {
            cells.push(space.print(&arch));
        }
    }
    cells
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let space = Nb201Space;
    let done: HashSet<String> = match std::fs::read_to_string(&args.output) {
        Ok(text) => text.lines().skip(1).filter_map(|l| l.split(',').next()).map(str::to_string).collect(),
        Err(_) => HashSet::new(),
    };
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&args.output)
        .map_err(|e| format!("opening {}: {e}", args.output.display()))?;
    if done.is_empty() {
        writeln!(out, "{HEADER}").map_err(|e| e.to_string())?;
    }
    let (train_all, test) = load_fashion_mnist(None).map_err(|e| e.to_string())?;
    let (train_split, val) = train_all.split(VALIDATION_FRACTION, SPLIT_SEED);
    let config = TrainConfig {
        epochs: EPOCHS,
        batch_size: BATCH_SIZE,
        data_fraction: DATA_FRACTION,
        scale: NetworkScale { channels: Some(CHANNELS), cells: Some(CELLS_PER_STAGE) },
        latency_runs: 0,
        ..TrainConfig::default()
    };
    let device = config.device.device()?;
    let task = task_of(&train_split, None);
    let batcher =
        Batcher { normalization: train_split.channel_stats(), augmentation: config.augmentation, resolution: None };
    for (index, arch_text) in sample_cells(&space, args.cells, args.seed).into_iter().enumerate() {
        if done.contains(&arch_text) {
            continue;
        }
        let arch = space.parse(&arch_text).map_err(|e| e.to_string())?;
        let seed = args.seed + index as u64;
        device.seed(seed);
        let model = space.build(&arch, &task, &config.scale, &device.clone().autodiff());
        let params = model.params();
        let cost = space.network_cost(&arch, &task, &config.scale);
        let train = train_split.subset(config.data_fraction, seed);
        let run = train_network(model, &train, &val, &batcher, &config, &device, seed, None, &mut |_| Ok(()))
            .map_err(|e| format!("training {arch_text}: {e}"))?;
        let last = run.curve.last().expect("at least one epoch");
        let (test_accuracy, _) = evaluate(&run.model, &test, &batcher, &device);
        writeln!(
            out,
            "{arch_text},{:.4},{:.4},{params},{},{:.2}",
            last.val_accuracy, test_accuracy, cost.flops, run.train_seconds
        )
        .map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        eprintln!("{:>3}/{} val {:.4} test {:.4} {arch_text}", index + 1, args.cells, last.val_accuracy, test_accuracy);
    }
    Ok(())
}
