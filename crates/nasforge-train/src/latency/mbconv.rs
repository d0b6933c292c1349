//! The mbconv space under a latency look-up table (a network's operators are its resize, stem, blocks and
//! head), its predictor's inputs, and a co-design candidate measured under its own deployment.

use std::collections::BTreeSet;

use burn::tensor::{Device, Tensor};

use nasforge_core::SearchSpace;
use nasforge_core::space::mbconv::{BlockPlan, MbOperator};
use nasforge_core::space::{MbconvArch, MbconvSpace, TaskShape};

use super::model::measure_network;
use super::{LatencySpace, fastest_ms, in_pool};
use crate::NetworkScale;
use crate::network::MbOperatorNet;

impl LatencySpace for MbconvSpace {
    type Operator = MbOperator;

    fn settings_value(&self) -> serde_json::Value {
        serde_json::to_value(self.settings()).expect("settings serialise")
    }

    fn operators(&self, arch: &MbconvArch, task: &TaskShape, scale: &NetworkScale) -> Vec<MbOperator> {
        self.plan(arch, task, scale.channels).operators()
    }

    fn every_operator(&self, task: &TaskShape, scale: &NetworkScale) -> BTreeSet<MbOperator> {
        MbconvSpace::every_operator(self, task, scale.channels)
    }

    fn time_operator(&self, operator: &MbOperator, batch: usize, runs: usize, device: &Device) -> f64 {
        let (net, shape) = MbOperatorNet::new(operator, batch, device);
        let x = Tensor::<4>::zeros(shape, device);
        fastest_ms(runs, || net.run(x.clone()))
    }

    /// The one-hot decisions, then the cost that drives time on a CPU (millions of multiply-accumulates and
    /// parameters, blocks, the depthwise work and the expanded activations).
    fn latency_features(&self, arch: &MbconvArch, task: &TaskShape, scale: &NetworkScale) -> Vec<f64> {
        let plan = self.plan(arch, task, scale.channels);
        let cost = plan.cost();
        let mut features = self.encode_onehot(arch);
        let per_block =
            |work: &dyn Fn(&BlockPlan) -> usize| plan.blocks.iter().map(|b| work(b) as f64).sum::<f64>() / 1e6;
        features.extend([
            cost.flops as f64 / 1e6,
            cost.params as f64 / 1e6,
            plan.blocks.len() as f64,
            per_block(&|b| b.hidden * b.out_size().pow(2) * b.kernel.pow(2)),
            per_block(&|b| b.hidden * b.in_size.pow(2)),
        ]);
        features
    }
}

/// The fastest of `runs` forward passes of `arch`'s network (fresh weights) under its deployment: a batch of
/// its batch size, in its precision (the input cast to it and the logits back to f32 included), on a pool of
/// its thread count. What a co-design search compares candidates by.
pub fn measure_deployed(
    space: &MbconvSpace,
    network: (&TaskShape, &NetworkScale),
    arch: &MbconvArch,
    runs: usize,
    device: &Device,
) -> Result<f64, String> {
    let deployment = arch
        .deployment
        .ok_or_else(|| format!("{} has no deployment (threads and batch) to measure", space.print(arch)))?;
    let batch = (deployment.batch, deployment.precision);
    in_pool(deployment.threads, || Ok(measure_network(space, network, batch, arch, runs, device)))
}
