//! Latency models of a device for every space (`mbconv`, `nb201`, `darts`, `chain`): a look-up table of every
//! operator measured alone and summed per network (FBNet's method), a ridge regression learned from networks
//! measured end to end, and a FLOPs line fitted on the same networks; how each is built on a device, and how
//! well each predicts the measured end-to-end latency of networks it has never seen.

mod chain;
mod darts;
mod mbconv;
mod model;
mod nb201;
mod space;
mod table;

pub use mbconv::measure_deployed;
pub use model::{LatencyCheck, LatencyModel, ModelAccuracy, Repetition, SpaceLatency, build_table};
pub use space::LatencySpace;
pub use table::{LATENCY_TABLE_FORMAT, LatencyTable, LatencyTarget, MeasuredNetwork};

use std::time::Instant;

/// Where a trial's `latency_ms` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LatencyModelKind {
    /// The look-up table: the sum of the network's operators, scaled by the calibration networks' median ratio
    /// of measured to summed latency.
    Lut,
    /// Ridge regression on the architecture's encoding and cost, fitted on networks measured end to end.
    Predictor,
    /// A line in the network's multiply-accumulates, fitted on the same networks.
    Flops,
    /// No model: the trained network itself, timed after training; in a co-design space (threads and batch
    /// searched), each candidate's network timed under its deployment before training.
    #[default]
    Measured,
}

impl LatencyModelKind {
    pub const ALL: [LatencyModelKind; 4] =
        [LatencyModelKind::Lut, LatencyModelKind::Predictor, LatencyModelKind::Flops, LatencyModelKind::Measured];

    pub fn name(self) -> &'static str {
        match self {
            LatencyModelKind::Lut => "lut",
            LatencyModelKind::Predictor => "predictor",
            LatencyModelKind::Flops => "flops",
            LatencyModelKind::Measured => "measured",
        }
    }

    pub fn from_name(name: &str) -> Result<LatencyModelKind, String> {
        Self::ALL.into_iter().find(|kind| kind.name() == name).ok_or_else(|| {
            format!("unknown latency model '{name}' (expected one of {})", Self::ALL.map(Self::name).join(", "))
        })
    }
}

/// Runs `work` in a thread pool of `threads` threads, where the CPU backend's parallel loops run.
fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> Result<T, String> + Send) -> Result<T, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("a pool of {threads} threads: {e}"))?;
    pool.install(work)
}

/// The milliseconds of `runs` calls of `run` after three calls of warm-up, sorted.
fn timed_ms(runs: usize, mut run: impl FnMut()) -> Vec<f64> {
    for _ in 0..3 {
        run();
    }
    let mut times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// The median milliseconds of `runs` calls of `run`, after three calls of warm-up.
pub(crate) fn median_ms(runs: usize, run: impl FnMut()) -> f64 {
    let times = timed_ms(runs, run);
    times[times.len() / 2]
}

/// The fastest of `runs` calls of `run` in milliseconds, after three calls of warm-up: the time without
/// interference (other processes on a shared machine only ever add to it).
pub(crate) fn fastest_ms(runs: usize, run: impl FnMut()) -> f64 {
    timed_ms(runs, run)[0]
}
