//! The chain space under a latency look-up table: a network's operators are its stem, each convolution,
//! normalisation and activation of its layers, its pools, each skip's pooling, projection and addition, and
//! the head.

use std::collections::BTreeSet;

use burn::tensor::{Device, Tensor};

use nasforge_core::space::chain::ChainOperator;
use nasforge_core::space::{ChainArch, ChainSpace, TaskShape};

use super::{LatencySpace, fastest_ms};
use crate::NetworkScale;
use crate::network::{ChainOperatorNet, chain_network};

impl LatencySpace for ChainSpace {
    type Operator = ChainOperator;

    fn settings_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("settings serialise")
    }

    fn operators(&self, arch: &ChainArch, task: &TaskShape, scale: &NetworkScale) -> Vec<ChainOperator> {
        chain_network(task, scale).operators(arch)
    }

    fn every_operator(&self, task: &TaskShape, scale: &NetworkScale) -> BTreeSet<ChainOperator> {
        chain_network(task, scale).every_operator(self)
    }

    fn time_operator(&self, operator: &ChainOperator, batch: usize, runs: usize, device: &Device) -> f64 {
        let (net, shape) = ChainOperatorNet::new(operator, batch, device);
        let x = Tensor::<4>::zeros(shape, device);
        fastest_ms(runs, || net.run(x.clone()))
    }
}
