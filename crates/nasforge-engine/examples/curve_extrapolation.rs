//! How well learning-curve extrapolation predicts real curves: for every complete trial of a study with a
//! learning curve, the final value of `--metric` predicted from the first third of the curve against the
//! best value the trial reached, as mean absolute error (beside that of the best value of the first third);
//! and how often the truth fell within the predicted 2σ. Larger is taken as better.
//!
//! ```text
//! cargo run --release -p nasforge-engine --example curve_extrapolation -- \
//!     --storage sqlite:curves.db --study curves [--metric val_accuracy] [--resource epoch]
//! ```

use nasforge_core::TrialState;
use nasforge_core::scheduler::extrapolate;
use nasforge_engine::StudyHandle;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut storage, mut study, mut metric, mut resource) =
        (None, None, "val_accuracy".to_string(), "epoch".to_string());
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--storage" => storage = Some(value),
            "--study" => study = Some(value),
            "--metric" => metric = value,
            "--resource" => resource = value,
            other => return Err(format!("unknown flag {other} (flags: --storage --study --metric --resource)")),
        }
    }
    let (storage, study) = storage.zip(study).ok_or("--storage and --study are needed")?;
    let trials = StudyHandle::open(&storage, &study).map_err(|e| e.to_string())?.trials().map_err(|e| e.to_string())?;
    let (mut errors, mut within, mut last_point_errors) = (Vec::new(), 0, Vec::new());
    for trial in trials.iter().filter(|t| t.state == TrialState::Complete && t.is_paid()) {
        let points: Vec<(f64, f64)> =
            trial.intermediate.iter().filter_map(|m| Some((*m.get(&resource)?, *m.get(&metric)?))).collect();
        if points.len() < 9 {
            continue;
        }
        let (xs, ys): (Vec<f64>, Vec<f64>) = points.into_iter().unzip();
        let third = xs.len() / 3;
        // What the trial reports: the best value of its curve.
        let (final_x, final_y) = (xs[xs.len() - 1], ys.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        let Some(prediction) = extrapolate(&xs[..third], &ys[..third], final_x, true) else { continue };
        let error = (prediction.mean - final_y).abs();
        errors.push(error);
        within += usize::from(error <= 2.0 * prediction.std);
        // The baseline: the best value observed so far as the prediction.
        let best_so_far = ys[..third].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        last_point_errors.push((best_so_far - final_y).abs());
    }
    if errors.is_empty() {
        return Err(format!("no complete trial with at least 9 points of `{resource}` and `{metric}`"));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!("curves\t{}", errors.len());
    println!("mae_extrapolated\t{:.4}", mean(&errors));
    println!("mae_best_so_far\t{:.4}", mean(&last_point_errors));
    println!("within_2_sigma\t{:.2}", within as f64 / errors.len() as f64);
    Ok(())
}
