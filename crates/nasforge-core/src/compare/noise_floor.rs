//! The noise floor of a noisy benchmark: the regret of a search that queried the best cells by their
//! noiseless search metric, one noisy draw each, and returned its best draw.

use rayon::prelude::*;
use serde::Serialize;

use super::returned::Returned;
use super::{CompareSettings, mean_and_ci95};
use crate::space::SearchSpace;
use crate::study::{EvalRequest, Evaluator, StudyError, trial_seed};

#[derive(Debug, Clone, Serialize)]
pub struct NoiseFloor {
    /// How many cells were queried (the best ones by the noiseless search metric).
    pub cells: usize,
    pub mean_regret: f64,
    pub ci95: f64,
}

/// Queries every cell of `cells` (printed; the best ones by the noiseless search metric) once on each seed
/// `0..settings.seeds`, the draw of cell `i` seeded by `trial_seed(seed, i)`, and measures the report
/// regret of the best draw.
pub fn noise_floor<S: SearchSpace>(
    space: &S,
    cells: &[String],
    evaluator: &dyn Evaluator<S>,
    settings: &CompareSettings,
) -> Result<NoiseFloor, StudyError> {
    let regrets: Vec<f64> = (0..settings.seeds)
        .into_par_iter()
        .map(|seed| {
            let mut best: Option<Returned> = None;
            for (index, printed) in cells.iter().enumerate() {
                let failed =
                    |message: String| StudyError::Evaluation { id: index as u64, arch: printed.clone(), message };
                let arch = space.parse(printed).map_err(|e| failed(e.message))?;
                let request = EvalRequest {
                    space,
                    arch: &arch,
                    printed,
                    trial_id: index as u64,
                    seed: trial_seed(seed, index as u64),
                    checkpoint: None,
                    reported: 0,
                };
                let metrics = evaluator.evaluate(&request, &mut ()).map_err(|e| failed(e.to_string()))?;
                let (Some(&search), Some(&report)) =
                    (metrics.get(&settings.objective.metric), metrics.get(&settings.report_metric))
                else {
                    continue;
                };
                if best.is_none_or(|b| settings.objective.orient(search) > settings.objective.orient(b.search)) {
                    best = Some(Returned { search, report });
                }
            }
            Ok(best.map_or(f64::NAN, |b| settings.regret(b.report)))
        })
        .collect::<Result<_, StudyError>>()?;
    let (mean_regret, ci95) = mean_and_ci95(&regrets);
    Ok(NoiseFloor { cells: cells.len(), mean_regret, ci95 })
}
