//! What a latency look-up table needs of a search space (FBNet's method): each network as the operators it
//! runs, every operator any network of the space can contain, each operator built and timed alone, and the
//! learned predictor's inputs.

use std::collections::BTreeSet;
use std::fmt;

use burn::tensor::Device;

use nasforge_core::space::TaskShape;

use crate::NetworkScale;
use crate::network::Buildable;

/// A search space whose networks a latency look-up table prices.
pub trait LatencySpace: Buildable + Sync {
    /// One operator; its printed form is its key in the table and names everything that decides its time.
    type Operator: fmt::Display + Ord;

    /// The space's settings, recorded in a model file: a model serves only the space it was measured for.
    fn settings_value(&self) -> serde_json::Value;

    /// The operators the network of `arch` runs (one entry per run: an operator that runs twice is listed
    /// twice).
    fn operators(&self, arch: &Self::Arch, task: &TaskShape, scale: &NetworkScale) -> Vec<Self::Operator>;

    /// Every operator a network of the space can contain, so that a table of them prices every network.
    fn every_operator(&self, task: &TaskShape, scale: &NetworkScale) -> BTreeSet<Self::Operator>;

    /// The fastest of `runs` runs of `operator` alone on a batch of `batch` images (fresh weights).
    fn time_operator(&self, operator: &Self::Operator, batch: usize, runs: usize, device: &Device) -> f64;

    /// The learned predictor's inputs: the one-hot decisions, then the network's cost in millions of
    /// multiply-accumulates and parameters.
    fn latency_features(&self, arch: &Self::Arch, task: &TaskShape, scale: &NetworkScale) -> Vec<f64> {
        let cost = self.network_cost(arch, task, scale);
        let mut features = self.encode_onehot(arch);
        features.extend([cost.flops as f64 / 1e6, cost.params as f64 / 1e6]);
        features
    }
}
