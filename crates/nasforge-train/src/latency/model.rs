//! The three latency models of a space (look-up table, learned predictor, FLOPs line) over one model file,
//! how the file is measured on a device, and how well each model predicts networks measured end to end.

use std::collections::HashSet;
use std::time::Instant;

use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde::Serialize;

use nasforge_core::SearchSpace;
use nasforge_core::predictor::{Model, Ridge, RidgeModel, kendall_tau};
use nasforge_core::space::TaskShape;
use nasforge_core::space::mbconv::Precision;

use super::{
    LATENCY_TABLE_FORMAT, LatencyModelKind, LatencySpace, LatencyTable, LatencyTarget, MeasuredNetwork, fastest_ms,
    in_pool,
};
use crate::NetworkScale;
use crate::network::DeployedNetwork;

/// The latency models of one file over the space it was measured for.
pub struct SpaceLatency<S: LatencySpace> {
    space: S,
    table: LatencyTable,
    /// Intercept (ms) and slope (ms per million multiply-accumulates), by least squares.
    flops_line: Option<(f64, f64)>,
    predictor: Option<RidgeModel>,
    /// The median over the calibration networks of measured ÷ summed latency: what a whole network costs
    /// beyond its operators timed alone (1 without calibration networks).
    lut_scale: f64,
}

/// A latency model file's models over printed architectures, whatever the space.
pub trait LatencyModel: Send + Sync {
    fn table(&self) -> &LatencyTable;

    /// The latency `kind` predicts for the printed architecture, in milliseconds.
    fn predict_printed(&self, kind: LatencyModelKind, printed: &str) -> Result<f64, String>;

    /// Printed networks to look for the fastest among: the space's first choice of every decision, then
    /// `count` random ones.
    fn probes(&self, count: usize) -> Vec<String>;

    /// Measures `samples` random networks (distinct, none of the file's calibration networks) end to end on
    /// `device`, as the file's operators were (its runs and passes, in a pool of its threads), and compares
    /// each model's predictions with them. `progress` hears `(done, total)` measurements.
    fn check(
        &self,
        samples: usize,
        seed: u64,
        device: &Device,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<LatencyCheck, String>;
}

fn flops<S: LatencySpace>(space: &S, target: &LatencyTarget, arch: &S::Arch) -> f64 {
    space.network_cost(arch, &target.task, &target.scale).flops as f64 / 1e6
}

/// Least squares `y = a + b·x`; `None` without two distinct `x`.
fn fit_line(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (points.len() >= 2 && sxx > 0.0).then(|| (my - sxy / sxx * mx, sxy / sxx))
}

impl<S: LatencySpace> SpaceLatency<S> {
    /// The models of `table` over `space`, which must be the space it was measured for; the predictor and
    /// the FLOPs line are fitted on its calibration networks.
    pub fn new(space: S, table: LatencyTable) -> Result<SpaceLatency<S>, String> {
        let mut archs = Vec::with_capacity(table.calibration.len());
        for measured in &table.calibration {
            let arch = space
                .parse(&measured.arch)
                .map_err(|e| format!("latency model: calibration network '{}': {}", measured.arch, e.message))?;
            archs.push((arch, measured.latency_ms));
        }
        let target = &table.target;
        let points: Vec<(f64, f64)> = archs.iter().map(|(a, ms)| (flops(&space, target, a), *ms)).collect();
        let flops_line = fit_line(&points);
        let predictor = (archs.len() >= 2).then(|| {
            let rows: Vec<Vec<f64>> =
                archs.iter().map(|(a, _)| space.latency_features(a, &target.task, &target.scale)).collect();
            let targets: Vec<f64> = archs.iter().map(|(_, ms)| *ms).collect();
            Ridge::default().train(&rows, &targets)
        });
        let mut ratios = Vec::with_capacity(archs.len());
        for (arch, ms) in &archs {
            ratios.push(ms / operators_sum(&space, &table, arch)?);
        }
        ratios.sort_by(f64::total_cmp);
        let lut_scale = if ratios.is_empty() { 1.0 } else { ratios[ratios.len() / 2] };
        Ok(SpaceLatency { space, table, flops_line, predictor, lut_scale })
    }

    /// The latency `kind` predicts for `arch`, in milliseconds.
    pub fn predict(&self, kind: LatencyModelKind, arch: &S::Arch) -> Result<f64, String> {
        let target = &self.table.target;
        let fitted = || {
            format!(
                "the latency model has {} calibration networks: too few to fit the {} model (build it with --calibration)",
                self.table.calibration.len(),
                kind.name()
            )
        };
        match kind {
            LatencyModelKind::Lut => Ok(self.lut_scale * operators_sum(&self.space, &self.table, arch)?),
            LatencyModelKind::Predictor => {
                let model = self.predictor.as_ref().ok_or_else(fitted)?;
                Ok(model.predict(&[self.space.latency_features(arch, &target.task, &target.scale)])[0].mean)
            }
            LatencyModelKind::Flops => {
                let (intercept, slope) = self.flops_line.ok_or_else(fitted)?;
                Ok(intercept + slope * flops(&self.space, target, arch))
            }
            LatencyModelKind::Measured => Err("the measured latency needs the trained network, not a model".into()),
        }
    }
}

/// The sum of the table's times of `arch`'s operators; an operator the table lacks is named.
fn operators_sum<S: LatencySpace>(space: &S, table: &LatencyTable, arch: &S::Arch) -> Result<f64, String> {
    let operators = space.operators(arch, &table.target.task, &table.target.scale);
    table.sum(operators.iter().map(ToString::to_string))
}

impl<S: LatencySpace> LatencyModel for SpaceLatency<S> {
    fn table(&self) -> &LatencyTable {
        &self.table
    }

    fn predict_printed(&self, kind: LatencyModelKind, printed: &str) -> Result<f64, String> {
        let arch = self.space.parse(printed).map_err(|e| e.message)?;
        self.predict(kind, &arch)
    }

    fn probes(&self, count: usize) -> Vec<String> {
        let space = &self.space;
        let first = space.from_decisions(&vec![0; space.decision_sizes().len()]);
        let mut rng = Pcg64Mcg::seed_from_u64(0);
        std::iter::once(first).chain((0..count).map(|_| space.sample(&mut rng))).map(|a| space.print(&a)).collect()
    }

    fn check(
        &self,
        samples: usize,
        seed: u64,
        device: &Device,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<LatencyCheck, String> {
        in_pool(self.table.target.threads, || check_in_pool(self, samples, seed, device, progress))
    }
}

/// Distinct random architectures (by canonical form), none of `excluded`.
fn distinct_sample<S: SearchSpace>(space: &S, count: usize, seed: u64, excluded: &HashSet<String>) -> Vec<S::Arch> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut seen = excluded.clone();
    let mut archs = Vec::with_capacity(count);
    while archs.len() < count {
        let arch = space.sample(&mut rng);
        if seen.insert(space.canonical(&arch)) {
            archs.push(arch);
        }
    }
    archs
}

/// The fastest end-to-end latency of `arch`'s network over `runs` forward passes of `batch` images (fresh
/// weights, batch norm in inference) in `precision`.
pub(super) fn measure_network<S: LatencySpace>(
    space: &S,
    (task, scale): (&TaskShape, &NetworkScale),
    (batch, precision): (usize, Precision),
    arch: &S::Arch,
    runs: usize,
    device: &Device,
) -> f64 {
    let network = DeployedNetwork::new(space.build(arch, task, scale, device), precision);
    let x = Tensor::<4>::zeros([batch, task.channels, task.size, task.size], device);
    fastest_ms(runs, || {
        let _ = network.forward(x.clone()).into_data();
    })
}

/// Measures the latency model file of `space` for `target` on `device`, in a pool of the target's threads:
/// every operator any network of the space can contain, timed alone, then `calibration` random networks end
/// to end, each repeated as `repetition` says. `progress` hears `(done, total)` measurements.
pub fn build_table<S: LatencySpace>(
    space: &S,
    target: LatencyTarget,
    repetition: Repetition,
    calibration: usize,
    seed: u64,
    device: &Device,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<LatencyTable, String> {
    in_pool(target.threads, || {
        let started = Instant::now();
        let every: Vec<S::Operator> = space.every_operator(&target.task, &target.scale).into_iter().collect();
        let mut progress = counter(repetition.passes.max(1) * (every.len() + calibration), progress);
        let times = sweep(
            &every,
            repetition,
            |operator| space.time_operator(operator, target.batch, repetition.runs, device),
            &mut progress,
        );
        let operators = every.iter().map(ToString::to_string).zip(times).collect();
        let archs = distinct_sample(space, calibration, seed, &HashSet::new());
        let network = (&target.task, &target.scale);
        let batch = (target.batch, Precision::F32);
        let measure = |arch: &S::Arch| measure_network(space, network, batch, arch, repetition.runs, device);
        let times = sweep(&archs, repetition, measure, &mut progress);
        let calibration = archs
            .iter()
            .zip(times)
            .map(|(arch, latency_ms)| MeasuredNetwork { arch: space.print(arch), latency_ms })
            .collect();
        Ok(LatencyTable {
            format: LATENCY_TABLE_FORMAT,
            target,
            runs: repetition.runs,
            passes: repetition.passes,
            operators,
            calibration,
            build_seconds: started.elapsed().as_secs_f64(),
        })
    })
}

/// How measurements are repeated: `runs` timed runs (the fastest kept) in each of `passes` sweeps over all
/// that is measured, the fastest sweep kept: interference from other processes, which comes and goes over
/// seconds, has to hit every sweep to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repetition {
    pub runs: usize,
    pub passes: usize,
}

/// The fastest time of each item over the sweeps; `progress` hears each measurement.
fn sweep<T>(
    items: &[T],
    repetition: Repetition,
    mut measure: impl FnMut(&T) -> f64,
    progress: &mut dyn FnMut(),
) -> Vec<f64> {
    let mut fastest = vec![f64::INFINITY; items.len()];
    for _ in 0..repetition.passes.max(1) {
        for (i, item) in items.iter().enumerate() {
            fastest[i] = fastest[i].min(measure(item));
            progress();
        }
    }
    fastest
}

/// Counts measurements towards `total` for a `(done, total)` progress callback.
fn counter(total: usize, progress: &mut (dyn FnMut(usize, usize) + Send)) -> impl FnMut() + '_ {
    let mut done = 0;
    move || {
        done += 1;
        progress(done, total);
    }
}

/// How well one model predicted the measured latencies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelAccuracy {
    pub model: &'static str,
    /// The share of networks predicted within ±10 % of their measured latency.
    pub within_10pct: f64,
    /// Kendall's τ between predicted and measured latencies.
    pub kendall: f64,
    /// The mean of |predicted − measured| / measured, in percent.
    pub mean_abs_error_pct: f64,
    /// The mean of (predicted − measured) / measured, in percent: the model's bias.
    pub mean_error_pct: f64,
}

/// A check of a latency model file against networks measured end to end: the look-up table's accuracy at the
/// top level, every model's in `models`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyCheck {
    pub samples: usize,
    pub within_10pct: f64,
    pub kendall: f64,
    pub models: Vec<ModelAccuracy>,
    /// The measured latencies' median and range, in milliseconds.
    pub measured_median_ms: f64,
    pub measured_min_ms: f64,
    pub measured_max_ms: f64,
    pub seconds: f64,
}

fn check_in_pool<S: LatencySpace>(
    latency: &SpaceLatency<S>,
    samples: usize,
    seed: u64,
    device: &Device,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<LatencyCheck, String> {
    let started = Instant::now();
    let space = &latency.space;
    let table = &latency.table;
    let calibration: HashSet<String> =
        table.calibration.iter().filter_map(|m| space.parse(&m.arch).ok()).map(|a| space.canonical(&a)).collect();
    let archs = distinct_sample(space, samples, seed, &calibration);
    let repetition = Repetition { runs: table.runs, passes: table.passes };
    let mut progress = counter(repetition.passes.max(1) * samples, progress);
    let target = &table.target;
    let network = (&target.task, &target.scale);
    let measure =
        |arch: &S::Arch| measure_network(space, network, (target.batch, Precision::F32), arch, table.runs, device);
    let measured = sweep(&archs, repetition, measure, &mut progress);
    let mut models = Vec::new();
    for kind in [LatencyModelKind::Lut, LatencyModelKind::Predictor, LatencyModelKind::Flops] {
        let predicted = match archs.iter().map(|a| latency.predict(kind, a)).collect::<Result<Vec<f64>, String>>() {
            Ok(predicted) => predicted,
            // A file without calibration networks has the look-up table only.
            Err(_) if kind != LatencyModelKind::Lut => continue,
            Err(e) => return Err(e),
        };
        let signed: Vec<f64> = predicted.iter().zip(&measured).map(|(p, m)| (p - m) / m).collect();
        let errors: Vec<f64> = signed.iter().map(|e| e.abs()).collect();
        models.push(ModelAccuracy {
            model: kind.name(),
            within_10pct: errors.iter().filter(|&&e| e <= 0.10).count() as f64 / samples.max(1) as f64,
            kendall: kendall_tau(&predicted, &measured),
            mean_abs_error_pct: 100.0 * errors.iter().sum::<f64>() / samples.max(1) as f64,
            mean_error_pct: 100.0 * signed.iter().sum::<f64>() / samples.max(1) as f64,
        });
    }
    let mut sorted = measured.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(LatencyCheck {
        samples,
        within_10pct: models[0].within_10pct,
        kendall: models[0].kendall,
        models,
        measured_median_ms: sorted.get(samples / 2).copied().unwrap_or(f64::NAN),
        measured_min_ms: sorted.first().copied().unwrap_or(f64::NAN),
        measured_max_ms: sorted.last().copied().unwrap_or(f64::NAN),
        seconds: started.elapsed().as_secs_f64(),
    })
}
