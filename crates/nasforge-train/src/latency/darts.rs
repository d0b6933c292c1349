//! The DARTS space under a latency look-up table: a network's operators are its stem, each cell's
//! preprocessing, the edges that compute, the additions and concatenations of its nodes, and the head.

use std::collections::BTreeSet;

use burn::tensor::{Device, Tensor};

use nasforge_core::space::darts::DartsOperator;
use nasforge_core::space::{DartsArch, DartsSpace, TaskShape};

use super::{LatencySpace, fastest_ms};
use crate::NetworkScale;
use crate::network::{DartsOperatorNet, darts_network};

impl LatencySpace for DartsSpace {
    type Operator = DartsOperator;

    fn settings_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("settings serialise")
    }

    fn operators(&self, arch: &DartsArch, task: &TaskShape, scale: &NetworkScale) -> Vec<DartsOperator> {
        darts_network(task, scale).operators(arch)
    }

    fn every_operator(&self, task: &TaskShape, scale: &NetworkScale) -> BTreeSet<DartsOperator> {
        darts_network(task, scale).every_operator(self.ops())
    }

    fn time_operator(&self, operator: &DartsOperator, batch: usize, runs: usize, device: &Device) -> f64 {
        let (net, shape) = DartsOperatorNet::new(operator, batch, device);
        let x = Tensor::<4>::zeros(shape, device);
        fastest_ms(runs, || net.run(x.clone()))
    }
}
