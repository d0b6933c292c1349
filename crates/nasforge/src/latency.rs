//! `nasforge latency build|check`: latency model files measured on a device through the engine
//! ([`build_latency_model`], [`check_latency_model`]).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use nasforge_core::space::TaskShape;
use nasforge_engine::latency::{LatencyBuildRequest, LatencyCheckRequest, build_latency_model, check_latency_model};
use nasforge_engine::{ConfigFile, SpaceConfig, SpaceKind};
use nasforge_train::NetworkScale;
use nasforge_train::latency::Repetition;

use crate::cli::{LatencyBuildArgs, LatencyCheckArgs};

/// Prints `what: done/total` on standard error at every tenth of the way.
fn progress(what: &'static str) -> impl FnMut(usize, usize) + Send {
    move |done, total| {
        if done == total || done % total.div_ceil(10).max(1) == 0 {
            eprintln!("{what}: {done}/{total}");
        }
    }
}

/// The space of `--config`'s `[space]` table, else `--space` with its default settings.
fn space(config: Option<&Path>, space: SpaceKind) -> Result<SpaceConfig> {
    let from_file = config.map(ConfigFile::load).transpose()?.and_then(|file| file.space);
    Ok(from_file.unwrap_or_else(|| space.default_config()))
}

pub fn build(args: &LatencyBuildArgs) -> Result<ExitCode> {
    let (channels, size) = args.input;
    let request = LatencyBuildRequest {
        space: space(args.config.as_deref(), args.space)?,
        device: args.device,
        task: TaskShape { channels, size, classes: args.classes },
        scale: NetworkScale { channels: args.channels, cells: args.cells },
        batch: args.batch,
        threads: args.threads,
        repetition: Repetition { runs: args.runs, passes: args.passes },
        calibration: args.calibration,
        seed: args.seed,
    };
    let table = build_latency_model(&request, &mut progress("measured"))?;
    table.save(&args.output).map_err(anyhow::Error::msg)?;
    println!("path\t{}", args.output.display());
    println!("device\t{} ({} threads)", table.target.device, table.target.threads);
    println!("operators\t{}", table.operators.len());
    println!("calibration networks\t{}", table.calibration.len());
    println!("build_seconds\t{:.1}", table.build_seconds);
    let space = &table.target.space;
    println!("check with\tnasforge latency check --space {space} --model {} --samples 200", args.output.display());
    Ok(ExitCode::SUCCESS)
}

pub fn check(args: &LatencyCheckArgs) -> Result<ExitCode> {
    let request = LatencyCheckRequest {
        model: args.model.clone(),
        space: space(args.config.as_deref(), args.space)?,
        device: args.device,
        samples: args.samples,
        seed: args.seed,
    };
    let check = check_latency_model(&request, &mut progress("measured"))?;
    if args.json {
        println!("{}", serde_json::to_string(&check)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} networks measured end to end: median {:.3} ms ({:.3} to {:.3}), {:.0} s",
        check.samples, check.measured_median_ms, check.measured_min_ms, check.measured_max_ms, check.seconds
    );
    println!("model\twithin ±10%\tKendall τ\tmean |error|\tmean error (bias)");
    for model in &check.models {
        println!(
            "{}\t{:.1}%\t{:.3}\t{:.1}%\t{:+.1}%",
            model.model,
            100.0 * model.within_10pct,
            model.kendall,
            model.mean_abs_error_pct,
            model.mean_error_pct
        );
    }
    Ok(ExitCode::SUCCESS)
}
