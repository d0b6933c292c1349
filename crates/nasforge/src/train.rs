//! `nasforge train`: trains one architecture from scratch on the whole training set (full fidelity), reports
//! its test accuracy and hardware metrics, and saves the weights.
//!
//! The architecture is a string, a file (its string or JSON), or `best` / a trial id of a study; with a
//! study, its training settings (dataset, optimiser, network scale) are the starting point, flags override
//! them, and the data fraction is 1 unless `--data-fraction` says otherwise.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use nasforge_train::{Buildable, DeviceChoice, EpochStats, TrainConfig, train_final};
use serde_json::json;

use crate::cli::TrainArgs;
use crate::config::{EvaluatorConfig, SpaceConfig, TrainSettings};
use crate::report::{best_trial, load_study};
use crate::search::training_flags;
use crate::spaces::{SpaceTask, with_space};

pub fn run(args: &TrainArgs) -> Result<ExitCode> {
    let study = match (&args.storage, &args.study) {
        (Some(url), Some(name)) => Some((name.as_str(), load_study(url, name)?)),
        (None, None) => None,
        _ => bail!("--storage and --study go together (they name the study whose architecture is trained)"),
    };
    let space = match (&args.space, &study) {
        (Some(name), Some((study_name, loaded))) if name != loaded.config.space.name() => {
            bail!("--space {name} differs from the space of study '{study_name}' ({})", loaded.config.space.name())
        }
        (_, Some((_, loaded))) => loaded.config.space.clone(),
        (Some(name), None) => SpaceConfig::from_name(name)?,
        (None, None) => SpaceConfig::Nb201,
    };
    let arch = match &study {
        Some((study_name, loaded)) => {
            let trial = if args.arch == "best" {
                best_trial(&loaded.trials, &loaded.config.objectives)
                    .with_context(|| format!("study '{study_name}' has no complete trial yet"))?
            } else if let Ok(id) = args.arch.parse::<u64>() {
                loaded
                    .trials
                    .iter()
                    .find(|t| t.id == id)
                    .with_context(|| format!("study '{study_name}' has no trial {id}"))?
            } else {
                bail!("with --study, --arch is `best` or a trial id (not '{}')", args.arch);
            };
            trial.arch.clone()
        }
        None if args.arch == "best" || args.arch.parse::<u64>().is_ok() => {
            bail!("--arch {} names a trial: add --storage and --study", args.arch)
        }
        None => arch_text(&args.arch)?,
    };
    let base = match study.as_ref().map(|(_, loaded)| &loaded.config.evaluator) {
        Some(EvaluatorConfig::Train(settings)) => settings.clone(),
        _ => TrainSettings::default(),
    };
    let flags = training_flags(&args.training);
    let full_data = TrainSettings {
        training: TrainConfig { data_fraction: flags.data_fraction.unwrap_or(1.0), ..base.training.clone() },
        ..base
    };
    let settings = flags.apply(full_data)?;
    let device = DeviceChoice::parse(&args.device).map_err(anyhow::Error::msg)?;
    with_space(&space, FinalTraining { args, arch, settings, device })
}

/// `text` itself, or the contents of the file it names.
fn arch_text(text: &str) -> Result<String> {
    let path = Path::new(text);
    if path.is_file() {
        let contents = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(contents.trim().to_string());
    }
    Ok(text.to_string())
}

struct FinalTraining<'a> {
    args: &'a TrainArgs,
    arch: String,
    settings: TrainSettings,
    device: DeviceChoice,
}

impl SpaceTask for FinalTraining<'_> {
    type Output = Result<ExitCode>;

    fn run<S: Buildable>(self, space: S) -> Result<ExitCode> {
        let FinalTraining { args, arch, settings, device } = self;
        let parsed = if arch.starts_with('{') { space.from_json(&arch) } else { space.parse(&arch) };
        let parsed = parsed.map_err(|e| anyhow::anyhow!("--arch is not a {} architecture: {e}", S::NAME))?;
        let canonical = space.canonical(&parsed);
        let weights = args.weights.clone().unwrap_or_else(|| default_weights_path(S::NAME, &canonical));
        let source = nasforge_train::data::load_named(&settings.dataset, settings.data_dir.as_deref())?;
        let config = TrainConfig { device, ..settings.training };
        let epochs = config.epochs;
        let show = std::io::stderr().is_terminal() || !args.json;
        let mut on_epoch = |stats: &EpochStats| {
            if show {
                eprintln!(
                    "epoch {}/{epochs}: test accuracy {:.4}, test loss {:.4}, train loss {:.4}",
                    stats.epoch, stats.val_accuracy, stats.val_loss, stats.train_loss
                );
            }
        };
        let result = train_final(&space, &parsed, &source, &config, args.seed, Some(&weights), &mut on_epoch)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let printed = space.print(&parsed);
        if args.json {
            let object = json!({
                "space": S::NAME,
                "arch": printed,
                "dataset": settings.dataset,
                "test_accuracy": result.test_accuracy,
                "test_loss": result.test_loss,
                "params": result.params,
                "flops": result.flops,
                "model_bytes": result.model_bytes,
                "latency_ms": result.latency_ms,
                "train_seconds": result.train_seconds,
                "epochs": result.epochs,
                "weights": result.weights,
            });
            println!("{object}");
        } else {
            println!("arch\t{printed}");
            println!("dataset\t{}", settings.dataset);
            println!("test_accuracy\t{:.4}", result.test_accuracy);
            println!("test_loss\t{:.4}", result.test_loss);
            println!("params\t{}", result.params);
            println!("flops\t{}", result.flops);
            println!("model_bytes\t{}", result.model_bytes);
            println!("latency_ms\t{:.3}", result.latency_ms);
            println!("train_seconds\t{:.1}", result.train_seconds);
            println!("epochs\t{}", result.epochs);
            println!("weights\t{}", weights.display());
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// `nasforge-weights/SPACE-HASH.bpk`, the hash naming the canonical architecture.
fn default_weights_path(space: &str, canonical: &str) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    canonical.hash(&mut hasher);
    PathBuf::from("nasforge-weights").join(format!("{space}-{:016x}.bpk", hasher.finish()))
}
