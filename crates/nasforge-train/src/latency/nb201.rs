//! The NAS-Bench-201 space under a latency look-up table: a network's operators are its stem, the edges of
//! every cell that compute, the additions of each node's terms, the residual reductions and the head.

use std::collections::BTreeSet;

use burn::tensor::{Device, Tensor};

use nasforge_core::space::nb201::Nb201Operator;
use nasforge_core::space::{Nb201Arch, Nb201Space, TaskShape};

use super::{LatencySpace, fastest_ms};
use crate::NetworkScale;
use crate::network::{Nb201OperatorNet, nb201_network};

impl LatencySpace for Nb201Space {
    type Operator = Nb201Operator;

    fn settings_value(&self) -> serde_json::Value {
        // The space has no settings: its operations are the benchmark's.
        serde_json::json!({})
    }

    fn operators(&self, arch: &Nb201Arch, task: &TaskShape, scale: &NetworkScale) -> Vec<Nb201Operator> {
        nb201_network(task, scale).operators(arch)
    }

    fn every_operator(&self, task: &TaskShape, scale: &NetworkScale) -> BTreeSet<Nb201Operator> {
        nb201_network(task, scale).every_operator()
    }

    fn time_operator(&self, operator: &Nb201Operator, batch: usize, runs: usize, device: &Device) -> f64 {
        let (net, shape) = Nb201OperatorNet::new(operator, batch, device);
        let x = Tensor::<4>::zeros(shape, device);
        fastest_ms(runs, || net.run(x.clone()))
    }
}
