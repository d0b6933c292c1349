//! burn networks built from architectures of every space, matching the core crate's analytic cost models
//! (`Nb201Network`, `ChainNetwork`, `DartsNetwork`, `MbconvPlan`) parameter for parameter.

// The enums of modules below hold their layers inline: a network is built once per trial, so their size does
// not matter, and burn's `Module` derive walks plain variants.
#![allow(clippy::large_enum_variant)]

mod batch_norm_statistics;
mod chain;
mod darts;
mod layers;
mod mbconv;
mod nb201;
mod nb201_supernet;
mod precision;
mod probe;

pub use batch_norm_statistics::BatchNormStatistics;
pub use chain::{ChainBody, ChainLayerNet, ChainNet, ChainOperatorNet, ChainSkip, chain_network};
pub use darts::{DartsCellNet, DartsEdge, DartsNet, DartsOperatorNet, DartsPre, FactorizedReduce, darts_network};
pub use layers::{Act, ConvUnit, Norm2d};
pub use mbconv::{MbBlockNet, MbHead, MbOperatorNet, MbconvNet, SqueezeExcite};
pub use nb201::{Nb201Block, Nb201Cell, Nb201Edge, Nb201Net, Nb201OperatorNet, ResidualReduction, nb201_network};
pub use nb201_supernet::{CellTerms, EdgeTerm, Nb201Supernet, SupernetBlock, SupernetCell, SupernetEdge};
pub use precision::DeployedNetwork;
pub use probe::Probe;

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use nasforge_core::SearchSpace;
use nasforge_core::space::{NetworkCost, TaskShape};

/// The size knobs of a network (the "downscaled model" fidelity): `None` keeps the space's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkScale {
    /// nb201: C; darts: C; chain and mbconv: the stem's channels (before mbconv's width multiplier).
    pub channels: Option<usize>,
    /// nb201: cells per stage (N); darts: the number of cells; chain and mbconv: unused.
    pub cells: Option<usize>,
}

/// A network of any space.
#[derive(Module, Debug)]
pub enum Network {
    Nb201(Nb201Net),
    Chain(ChainNet),
    Darts(DartsNet),
    Mbconv(MbconvNet),
}

impl Network {
    /// Logits `[n, classes]` of a batch `[n, channels, size, size]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Network::Nb201(n) => n.forward(x),
            Network::Chain(n) => n.forward(x),
            Network::Darts(n) => n.forward(x),
            Network::Mbconv(n) => n.forward(x),
        }
    }
}

/// A search space whose architectures can be built into burn networks.
pub trait Buildable: SearchSpace {
    /// The network around `arch` for a task, at a scale.
    fn build(&self, arch: &Self::Arch, task: &TaskShape, scale: &NetworkScale, device: &Device) -> Network;
    /// The analytic parameter and FLOP counts of the network `build` makes.
    fn network_cost(&self, arch: &Self::Arch, task: &TaskShape, scale: &NetworkScale) -> NetworkCost;
    /// The format the network of `arch` computes in where it is deployed, when the architecture carries its
    /// deployment (a co-design space); `None` otherwise.
    fn deployed_precision(&self, _arch: &Self::Arch) -> Option<nasforge_core::space::mbconv::Precision> {
        None
    }
    /// A rough upper bound of the activations one image keeps for the backward pass, in floats.
    fn activation_estimate(&self, arch: &Self::Arch, task: &TaskShape, scale: &NetworkScale) -> u64 {
        // Each multiply-accumulate over a weight touches one output; a conservative proxy is FLOPs divided by
        // the average fan-in, bounded below by the input.
        let cost = self.network_cost(arch, task, scale);
        (cost.flops / 9).max((task.channels * task.size * task.size) as u64) * 4
    }
}

/// Counts trainable parameters: every float parameter except batch norm's running statistics (buffers,
/// which burn's `num_params` counts too). This is what the analytic cost models count.
struct TrainableCounter {
    path: Vec<String>,
    count: usize,
}

impl burn::module::ModuleVisitor for TrainableCounter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        if !self.path.last().is_some_and(|name| name.starts_with("running_")) {
            self.count += param.lazy_shape().num_elements();
        }
    }
}

/// The number of trainable parameters of a module (running statistics excluded).
pub fn trainable_params<M: Module>(module: &M) -> u64 {
    let mut counter = TrainableCounter { path: Vec::new(), count: 0 };
    module.visit(&mut counter);
    counter.count as u64
}

impl Network {
    /// Trainable parameters (see [`trainable_params`]).
    pub fn params(&self) -> u64 {
        trainable_params(self)
    }
}
