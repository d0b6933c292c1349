//! `nasforge oneshot`: a one-shot search through the engine ([`one_shot_search`]): the supernet trained, the
//! cell chosen (SPOS, ENAS: the best of the candidates scored with inherited weights; DARTS, GDAS: derived from α),
//! retrained stand-alone; prints the chosen cell, the times and its test accuracy.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Result, bail};
use nasforge_engine::config::TrainingFlags;
use nasforge_engine::{OneShotMethod, OneShotRequest, SpaceKind, one_shot_search};
use nasforge_train::EpochStats;
use nasforge_train::differentiable::{DifferentiableConfig, Relaxation};
use nasforge_train::enas::EnasConfig;

use crate::cli::{self, OneshotArgs};
use crate::search::training_flags;

/// Epochs of the stand-alone training when --final-epochs is not given.
const FINAL_EPOCHS: usize = 10;

pub fn run(args: &OneshotArgs) -> Result<ExitCode> {
    if args.space != SpaceKind::Nb201 {
        bail!("--space {}: only nb201 has a supernet so far", args.space.name());
    }
    let training = training_flags(&args.training);
    let differentiable = |relaxation| {
        OneShotMethod::Differentiable(DifferentiableConfig { relaxation, arch_learning_rate: args.arch_learning_rate })
    };
    let method = match args.method {
        cli::OneShotMethod::Spos => OneShotMethod::Spos { candidates: args.candidates },
        cli::OneShotMethod::Enas => OneShotMethod::Enas {
            candidates: args.candidates,
            controller: EnasConfig {
                controller_steps: args.controller_steps,
                reward_images: args.reward_images,
                learning_rate: args.controller_learning_rate,
            },
        },
        cli::OneShotMethod::Darts => differentiable(Relaxation::Darts),
        cli::OneShotMethod::Gdas => differentiable(Relaxation::GDAS),
    };
    let request = OneShotRequest {
        method,
        final_training: TrainingFlags {
            epochs: Some(args.final_epochs.unwrap_or(FINAL_EPOCHS)),
            channels: args.final_channels.or(training.channels),
            cells: args.final_cells.or(training.cells),
            batch_size: training.batch_size,
            learning_rate: training.learning_rate,
            resolution: training.resolution,
            augment: training.augment,
            ..TrainingFlags::default()
        },
        training,
        validation_images: args.validation_images,
        recalibration_images: args.recalibration_images,
        device: args.device,
        seed: args.seed,
        state: (!args.no_state).then(|| args.state.clone()),
    };
    let show = std::io::stderr().is_terminal() || !args.json;
    let mut on_epoch = |stats: &EpochStats, epochs: usize| {
        if show {
            eprintln!("final training, epoch {}/{epochs}: test accuracy {:.4}", stats.epoch, stats.val_accuracy);
        }
    };
    let search = one_shot_search(&request, &mut on_epoch)?;
    if args.json {
        println!("{}", search.to_json());
    } else {
        println!("method\t{}", search.method);
        println!("arch\t{}", search.arch);
        println!("inherited_accuracy\t{:.4}", search.inherited_accuracy);
        if search.candidates > 0 {
            println!("candidates\t{}", search.candidates);
        }
        println!("search_seconds\t{:.1}", search.search_seconds);
        println!("test_accuracy\t{:.4}", search.final_training.result.test_accuracy);
        println!("final_train_seconds\t{:.1}", search.final_training.result.train_seconds);
    }
    Ok(ExitCode::SUCCESS)
}
