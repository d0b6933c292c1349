//! `nasforge train`: trains one architecture from scratch on the whole training set (full fidelity)
//! through the engine, prints each epoch, its test accuracy and hardware metrics, and where the weights are;
//! the result of a study's trial is stored with the study (`best` shows it).

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use nasforge_engine::{FinalTrainingRequest, train_final_architecture};
use nasforge_train::EpochStats;

use crate::cli::TrainArgs;
use crate::search::training_flags;

pub fn run(args: &TrainArgs) -> Result<ExitCode> {
    let request = FinalTrainingRequest {
        arch: args.chosen.arch.clone(),
        space: args.chosen.space,
        study: args.chosen.study("trained")?,
        training: training_flags(&args.training),
        device: args.device,
        seed: args.seed,
        weights: args.weights.clone(),
        checkpoint: None,
    };
    let show = std::io::stderr().is_terminal() || !args.json;
    let mut on_epoch = |stats: &EpochStats, epochs: usize| {
        if show {
            eprintln!(
                "epoch {}/{epochs}: test accuracy {:.4}, test loss {:.4}, train loss {:.4}",
                stats.epoch, stats.val_accuracy, stats.val_loss, stats.train_loss
            );
        }
    };
    let trained = train_final_architecture(&request, &mut on_epoch)?;
    let result = &trained.result;
    if args.json {
        println!("{}", trained.to_json());
    } else {
        println!("arch\t{}", trained.arch);
        println!("dataset\t{}", trained.dataset);
        println!("test_accuracy\t{:.4}", result.test_accuracy);
        println!("test_loss\t{:.4}", result.test_loss);
        println!("params\t{}", result.params);
        println!("flops\t{}", result.flops);
        println!("model_bytes\t{}", result.model_bytes);
        println!("latency_ms\t{:.3}", result.latency_ms);
        println!("train_seconds\t{:.1}", result.train_seconds);
        println!("epochs\t{}", result.epochs);
        if let Some(weights) = &result.weights {
            println!("weights\t{}", weights.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
