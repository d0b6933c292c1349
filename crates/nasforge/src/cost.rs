//! `nasforge cost`: a search's predicted wall time, device-hours, energy and money; the estimate is the
//! engine's ([`estimate_by_timing`], [`estimate_from_study`]).

use std::process::ExitCode;

use anyhow::Result;
use nasforge_engine::config::parse_duration;
use nasforge_engine::{
    Calibration, CostEstimate, CostRequest, RunOptions, StudyHandle, estimate_by_timing, estimate_from_study,
};

use crate::cli::CostArgs;
use crate::search::{file_and_place, study_request};

pub fn run(args: &CostArgs) -> Result<ExitCode> {
    let search = &args.search;
    if !(args.price >= 0.0 && args.watts >= 0.0) {
        anyhow::bail!("--price and --watts must be non-negative numbers");
    }
    let options =
        RunOptions { workers: search.workers, lease: parse_duration("lease", &search.lease)?, device: search.device };
    let cost = CostRequest {
        calibration_trials: args.calibration_trials.unwrap_or((2 * search.workers).max(3)) as u64,
        options,
        price_per_device_hour: args.price,
        watts: args.watts,
    };
    let (file, url, name) = file_and_place(search)?;
    let estimate = if args.from_study {
        estimate_from_study(&StudyHandle::open_to_work(&url, &name, &study_request(search))?, &cost)?
    } else {
        estimate_by_timing(&file, &study_request(search), &cost)?
    };
    if search.json {
        println!("{}", serde_json::to_string(&estimate)?);
    } else {
        print_estimate(&estimate, search.workers);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_estimate(estimate: &CostEstimate, workers: usize) {
    match &estimate.calibration {
        Calibration::Timed { trials, seconds, setup_seconds } => println!(
            "calibration\t{trials} trials timed here in {seconds:.2} s with {workers} worker(s), after {setup_seconds:.2} s of setup"
        ),
        Calibration::Study { trials, seconds } => {
            println!("calibration\tthe study's {trials} finished paid trials over {seconds:.1} s")
        }
    }
    println!("trials_per_second\t{:.4}", estimate.trials_per_second);
    let trials = estimate.trials.map_or("unbounded".to_string(), |t| t.to_string());
    println!("trials\t{trials} (limited by the {} budget)", estimate.limited_by);
    println!("wall_time\t{}", humanize(estimate.wall_seconds));
    println!("device_hours\t{:.4}", estimate.device_hours);
    println!("energy_kwh\t{:.4}", estimate.energy_kwh);
    println!("money\t{:.2}", estimate.money);
}

/// `1h 02m 03s`, `4m 05s` or `6.2s`.
fn humanize(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    match whole {
        0..60 => format!("{seconds:.1}s"),
        60..3600 => format!("{}m {:02}s", whole / 60, whole % 60),
        _ => format!("{}h {:02}m {:02}s", whole / 3600, whole % 3600 / 60, whole % 60),
    }
}
