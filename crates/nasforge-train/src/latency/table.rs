//! A latency model file: the look-up table of one device (the median milliseconds of every operator a space
//! can contain, FBNet's method), the networks measured end to end that the learned predictor and the FLOPs
//! line are fitted on, and what it was measured for (device, threads, space and its settings, input, scale,
//! batch), checked before any use.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use nasforge_core::space::TaskShape;

use crate::NetworkScale;

/// The version of the file's layout.
pub const LATENCY_TABLE_FORMAT: u32 = 1;

/// A network measured end to end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasuredNetwork {
    /// The architecture's printed form.
    pub arch: String,
    pub latency_ms: f64,
}

/// What a latency model was measured for; a model is only used for the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyTarget {
    /// `cpu`, `cuda:N` or `wgpu`.
    pub device: String,
    /// Threads the networks run on (the measurements run in a thread pool of this size).
    pub threads: usize,
    pub space: String,
    /// The space's settings (its configuration table).
    pub space_settings: serde_json::Value,
    pub task: TaskShape,
    pub scale: NetworkScale,
    /// Images per forward pass.
    pub batch: usize,
}

/// The file `nasforge latency build` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyTable {
    pub format: u32,
    pub target: LatencyTarget,
    /// Timed runs per measurement (after warm-up), the fastest kept, in each of `passes` sweeps over all
    /// operators and networks, the fastest sweep kept.
    pub runs: usize,
    pub passes: usize,
    /// Median milliseconds of each operator, by its key.
    pub operators: BTreeMap<String, f64>,
    /// Random networks measured end to end, for the predictor and the FLOPs line.
    pub calibration: Vec<MeasuredNetwork>,
    pub build_seconds: f64,
}

impl LatencyTable {
    /// Writes the file whole (a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let json = serde_json::to_string_pretty(self).map_err(|e| format!("{}: {e}", path.display()))?;
        let temporary = path.with_extension("json.partial");
        fs::write(&temporary, json + "\n")
            .and_then(|()| fs::rename(&temporary, path))
            .map_err(|e| format!("writing {}: {e}", path.display()))
    }

    /// Reads a file, naming it and the line of a mistake.
    pub fn load(path: &Path) -> Result<LatencyTable, String> {
        let text = fs::read_to_string(path).map_err(|e| format!("latency model {}: {e}", path.display()))?;
        let table: LatencyTable = serde_json::from_str(&text)
            .map_err(|e| format!("latency model {}: not a latency model file: {e}", path.display()))?;
        if table.format != LATENCY_TABLE_FORMAT {
            return Err(format!(
                "latency model {}: format {} (this build reads format {LATENCY_TABLE_FORMAT}; build it again)",
                path.display(),
                table.format
            ));
        }
        Ok(table)
    }

    /// Refuses a model measured for something else than `target`, naming what differs.
    pub fn check_target(&self, target: &LatencyTarget) -> Result<(), String> {
        let mine = &self.target;
        let differs = |what: &str, built: String, wanted: String| {
            Err(format!(
                "the latency model was measured {what} {built}, not {wanted}: build one for this (nasforge latency build)"
            ))
        };
        if mine.device != target.device {
            return differs("on device", mine.device.clone(), target.device.clone());
        }
        if mine.space != target.space {
            return differs("for the space", mine.space.clone(), target.space.clone());
        }
        if mine.space_settings != target.space_settings {
            return differs(
                "for the space settings",
                mine.space_settings.to_string(),
                target.space_settings.to_string(),
            );
        }
        if mine.task != target.task {
            let shape =
                |t: &TaskShape| format!("{}×{}×{} inputs with {} classes", t.channels, t.size, t.size, t.classes);
            return differs("for", shape(&mine.task), shape(&target.task));
        }
        if mine.scale != target.scale {
            return differs("at the scale", format!("{:?}", mine.scale), format!("{:?}", target.scale));
        }
        if mine.batch != target.batch {
            return differs("at batch", mine.batch.to_string(), target.batch.to_string());
        }
        if mine.threads != target.threads {
            return differs("with threads", mine.threads.to_string(), target.threads.to_string());
        }
        Ok(())
    }

    /// The sum of the operators' times; an operator the table lacks is named.
    pub fn sum<I: IntoIterator<Item = String>>(&self, keys: I) -> Result<f64, String> {
        keys.into_iter().try_fold(0.0, |total, key| match self.operators.get(&key) {
            Some(ms) => Ok(total + ms),
            None => Err(format!("operator '{key}' is missing from the latency look-up table")),
        })
    }
}
