//! How well a supernet ranks NAS-Bench-201 cells on Fashion-MNIST: trains the supernet of the ground truth's
//! network (8 channels, 1 cell per stage) one path per step (`--method spos`: drawn uniformly; `enas`: drawn
//! from a controller trained after each epoch on the validation split), scores each cell of
//! `benchmarks/nb201-fashion-mnist/nb201_fashion_mnist.csv` on the same validation split with its inherited
//! weights, twice: with batch-norm statistics re-estimated through each cell's path on
//! `--recalibration-images` training images, and with each validation batch's own statistics; prints for
//! each the rank correlations (Kendall τ, Spearman ρ) with the cells' stand-alone validation accuracy, the
//! supernet's top cell and where it stands, and the times.
//!
//! ```text
//! cargo run --release -p nasforge-train --example supernet_ranking -- [--method spos|enas] [--epochs 10] \
//!     [--data-fraction 0.5] [--validation-images 2000] [--recalibration-images 512] [--seed 0]
//! ```

use std::path::Path;
use std::time::Instant;

use nasforge_core::SearchSpace;
use nasforge_core::predictor::{kendall_tau, spearman_rho};
use nasforge_core::space::{Nb201Network, Nb201Space};
use nasforge_train::data::load_fashion_mnist;
use nasforge_train::enas::{EnasConfig, EnasPaths};
use nasforge_train::network::Nb201Supernet;
use nasforge_train::spos::{PathSampler, Scoring, UniformPaths, inherited_score, train_supernet};
use nasforge_train::{Batcher, OptimizerKind, TrainConfig};

/// The ground truth's split and network (see its README).
const VALIDATION_FRACTION: f64 = 0.1;
const SPLIT_SEED: u64 = 0;
const GROUND_TRUTH: &str = "benchmarks/nb201-fashion-mnist/nb201_fashion_mnist.csv";

struct Args {
    /// `spos` or `enas`.
    method: String,
    epochs: usize,
    data_fraction: f64,
    validation_images: usize,
    recalibration_images: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        method: "spos".into(),
        epochs: 10,
        data_fraction: 0.5,
        validation_images: 2000,
        recalibration_images: 512,
        seed: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--method" if value == "spos" || value == "enas" => args.method = value,
            "--method" => return Err(format!("--method {value}: expected spos or enas")),
            "--epochs" => args.epochs = value.parse().map_err(|e| format!("--epochs {value}: {e}"))?,
            "--data-fraction" => {
                args.data_fraction = value.parse().map_err(|e| format!("--data-fraction {value}: {e}"))?
            }
            "--validation-images" => {
                args.validation_images = value.parse().map_err(|e| format!("--validation-images {value}: {e}"))?
            }
            "--recalibration-images" => {
                args.recalibration_images = value.parse().map_err(|e| format!("--recalibration-images {value}: {e}"))?
            }
            "--seed" => args.seed = value.parse().map_err(|e| format!("--seed {value}: {e}"))?,
            _ => {
                return Err(format!(
                    "unknown flag {flag} (flags: --method spos|enas --epochs N --data-fraction F \
                     --validation-images N --recalibration-images N --seed S)"
                ));
            }
        }
    }
    Ok(args)
}

/// The ground truth's cells and their validation accuracy.
fn ground_truth() -> Result<Vec<(String, f64)>, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(GROUND_TRUTH);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .skip(1)
        .map(|(line, row)| {
            let mut fields = row.split(',');
            let (Some(arch), Some(accuracy)) = (fields.next(), fields.next()) else {
                return Err(format!("{}:{}: expected arch,val_accuracy,…", path.display(), line + 1));
            };
            let accuracy = accuracy
                .parse()
                .map_err(|e| format!("{}:{}: val_accuracy {accuracy}: {e}", path.display(), line + 1))?;
            Ok((arch.to_string(), accuracy))
        })
        .collect()
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let truth = ground_truth()?;
    let (train_all, _) = load_fashion_mnist(None).map_err(|e| e.to_string())?;
    let (train_split, val) = train_all.split(VALIDATION_FRACTION, SPLIT_SEED);
    let train = train_split.subset(args.data_fraction, args.seed);
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: 64,
        optimizer: OptimizerKind::Sgd { momentum: 0.9, nesterov: true },
        learning_rate: 0.05,
        weight_decay: 5e-4,
        cosine: true,
        ..TrainConfig::default()
    };
    let batcher =
        Batcher { normalization: train_split.channel_stats(), augmentation: config.augmentation, resolution: None };
    let network = Nb201Network { channels: 8, cells_per_stage: 1, input_channels: 1, input_size: 28, classes: 10 };
    let device = config.device.device()?;
    device.seed(args.seed);
    let supernet = Nb201Supernet::new(&network, &device.clone().autodiff());
    let mut paths: Box<dyn PathSampler> = match args.method.as_str() {
        "enas" => Box::new(EnasPaths::new(EnasConfig::default(), args.epochs, &val, &batcher, &device, args.seed)?),
        _ => Box::new(UniformPaths),
    };
    let run =
        train_supernet(supernet, &train, &batcher, &config, &device, args.seed, paths.as_mut(), None, &mut |_, _| {
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    let scorer = run.supernet.for_scoring();
    let space = Nb201Space;
    let cells: Vec<_> =
        truth.iter().map(|(arch, _)| space.parse(arch)).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let accuracies: Vec<f64> = truth.iter().map(|(_, a)| *a).collect();
    let best = accuracies.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut rankings = Vec::new();
    for recalibration_images in [args.recalibration_images, 0] {
        let scoring = Scoring {
            validation: &val,
            validation_images: args.validation_images,
            train: &train_split,
            recalibration_images,
            batcher: &batcher,
        };
        let started = Instant::now();
        let scores = cells
            .iter()
            .map(|cell| inherited_score(&scorer, cell, &scoring, &device).map(|s| s.accuracy))
            .collect::<Result<Vec<f64>, String>>()?;
        let seconds_per_cell = started.elapsed().as_secs_f64() / cells.len() as f64;
        let top = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).ok_or("an empty ground truth")?;
        rankings.push(serde_json::json!({
            "recalibration_images": recalibration_images,
            "kendall_tau": kendall_tau(&scores, &accuracies),
            "spearman_rho": spearman_rho(&scores, &accuracies),
            "seconds_per_cell": seconds_per_cell,
            "top_cell": truth[top].0,
            "top_cell_val_accuracy": accuracies[top],
            "top_cell_rank": accuracies.iter().filter(|&&a| a > accuracies[top]).count() + 1,
        }));
    }
    println!(
        "{}",
        serde_json::json!({
            "method": args.method,
            "cells": truth.len(),
            "epochs": args.epochs,
            "data_fraction": args.data_fraction,
            "validation_images": args.validation_images.min(val.len()),
            "seed": args.seed,
            "supernet_steps": run.steps,
            "supernet_train_seconds": run.train_seconds,
            "loss": [run.first_loss, run.last_loss],
            "best_val_accuracy": best,
            "rankings": rankings,
        })
    );
    Ok(())
}
