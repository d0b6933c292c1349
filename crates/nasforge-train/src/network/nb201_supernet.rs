//! The NAS-Bench-201 supernet: every operation of every edge of every cell with weights of its own, shared by
//! every architecture of the space. An architecture is one path through it: each edge runs the operation the
//! architecture picks. The stem, the residual reductions, the last batch norm and the classifier are shared
//! by all paths. One-shot search (SPOS) trains it one sampled path per step and then scores architectures
//! with the weights they inherit; differentiable search (DARTS, GDAS) runs it with each edge's operations
//! weighted by the architecture parameters ([`EdgeTerm`]).

use burn::module::Module;
use burn::nn::pool::AvgPool2d;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use nasforge_core::space::nb201::EDGES;
use nasforge_core::space::{Nb201Arch, Nb201Network, Nb201Op};

use super::layers::{Act, ConvSpec, ConvUnit, Norm2d, avg_pool, global_pool};
use super::nb201::ResidualReduction;
use super::{batch_norm_statistics, probe};
use crate::kernels;

/// Every candidate operation of one edge; the parameter-free ones (zero, identity) need no field.
#[derive(Module, Debug)]
pub struct SupernetEdge {
    conv_1x1: ConvUnit,
    conv_3x3: ConvUnit,
    pool: AvgPool2d,
}

impl SupernetEdge {
    fn new(channels: usize, device: &Device) -> Self {
        SupernetEdge {
            conv_1x1: ConvUnit::relu_conv_bn(ConvSpec::new(channels, channels, 1), device),
            conv_3x3: ConvUnit::relu_conv_bn(ConvSpec::new(channels, channels, 3), device),
            pool: avg_pool(3, 1, 1, false),
        }
    }

    /// The edge's output under `op` (`None` for the zero operation).
    fn forward(&self, op: Nb201Op, x: Tensor<4>) -> Option<Tensor<4>> {
        match op {
            Nb201Op::None => None,
            Nb201Op::SkipConnect => Some(x),
            Nb201Op::NorConv1x1 => Some(self.conv_1x1.forward(x)),
            Nb201Op::NorConv3x3 => Some(self.conv_3x3.forward(x)),
            Nb201Op::AvgPool3x3 => Some(kernels::avg_pool2d(&self.pool, x)),
        }
    }

    /// The sum of `terms` (`None` when every term is the zero operation).
    fn forward_terms(&self, terms: &[EdgeTerm], x: &Tensor<4>) -> Option<Tensor<4>> {
        let mut sum: Option<Tensor<4>> = None;
        for term in terms {
            let Some(out) = self.forward(term.op, x.clone()) else { continue };
            let out = match &term.weight {
                Some(w) => out * w.clone().reshape([1, 1, 1, 1]),
                None => out,
            };
            sum = Some(add(sum, out));
        }
        sum
    }
}

/// One operation of an edge's output, scaled by `weight` (a one-element tensor) where the search relaxes the
/// choice of operation: an edge outputs the sum of its terms. A path through the supernet is one unweighted
/// term per edge.
#[derive(Debug, Clone)]
pub struct EdgeTerm {
    pub op: Nb201Op,
    pub weight: Option<Tensor<1>>,
}

/// The terms of each of a cell's six edges (in `EDGE_NODES` order); every cell of the supernet gets the same.
pub type CellTerms = [Vec<EdgeTerm>; EDGES];

/// `term` added to `sum`, if there is one yet.
fn add(sum: Option<Tensor<4>>, term: Tensor<4>) -> Tensor<4> {
    match sum {
        Some(s) => s + term,
        None => term,
    }
}

/// The terms of the path `arch`: its operation on each edge, unweighted.
fn path_terms(arch: &Nb201Arch) -> CellTerms {
    arch.ops.map(|op| vec![EdgeTerm { op, weight: None }])
}

/// A cell of six edges over four nodes, each edge with every operation.
#[derive(Module, Debug)]
pub struct SupernetCell {
    /// In `EDGE_NODES` order, as `Nb201Cell`'s.
    edges: Vec<SupernetEdge>,
}

impl SupernetCell {
    fn forward(&self, terms: &CellTerms, x: Tensor<4>) -> Tensor<4> {
        let mut nodes = vec![x];
        for to in 1..=3 {
            let mut sum: Option<Tensor<4>> = None;
            for (from, node) in nodes.iter().enumerate() {
                let edge = to * (to - 1) / 2 + from;
                if let Some(term) = self.edges[edge].forward_terms(&terms[edge], node) {
                    sum = Some(add(sum, term));
                }
            }
            let value = sum.unwrap_or_else(|| nodes[0].zeros_like());
            nodes.push(value);
        }
        nodes.pop().expect("four nodes")
    }
}

#[derive(Module, Debug)]
pub enum SupernetBlock {
    Cell(SupernetCell),
    Reduction(ResidualReduction),
}

/// The supernet of the NAS-Bench-201 network (see the module's documentation).
#[derive(Module, Debug)]
pub struct Nb201Supernet {
    stem: ConvUnit,
    blocks: Vec<SupernetBlock>,
    last_norm: BatchNorm,
    classifier: Linear,
}

impl Nb201Supernet {
    /// The supernet of `network`'s skeleton (channels, cells per stage, input, classes).
    pub fn new(network: &Nb201Network, device: &Device) -> Self {
        let mut c = network.channels;
        let stem = ConvUnit::new(
            ConvSpec::new(network.input_channels, c, 3),
            Some(Norm2d::batch(c, device)),
            Act::Identity,
            device,
        );
        let mut blocks = Vec::new();
        for stage in 0..3 {
            if stage > 0 {
                blocks.push(SupernetBlock::Reduction(ResidualReduction::new(c, 2 * c, device)));
                c *= 2;
            }
            for _ in 0..network.cells_per_stage {
                let edges = (0..EDGES).map(|_| SupernetEdge::new(c, device)).collect();
                blocks.push(SupernetBlock::Cell(SupernetCell { edges }));
            }
        }
        Nb201Supernet {
            stem,
            blocks,
            last_norm: BatchNormConfig::new(c).init(device),
            classifier: LinearConfig::new(c, network.classes).init(device),
        }
    }

    /// An upper estimate of the memory, in bytes, that training the supernet of `network` takes, before it
    /// is built: every parameter three times (weights, gradients, the optimiser's momentum), and the
    /// activations a step on a batch of `batch` images keeps for its backward pass. A step runs one path (SPOS,
    /// ENAS, GDAS; counted as two tensors an edge, the heaviest path's) or, with `every_operation`, every
    /// operation of every edge (DARTS: ten tensors an edge), plus the three node sums of a cell. Measured on
    /// supernets of 32 channels at batch 256 on 28×28 images (peak RSS less that of the same run at 4 channels
    /// and batch 16): SPOS 397 MB with one cell per stage and 938 MB with three, where this estimate says 2.2
    /// and 2.4 times as much; DARTS 2,151 MB with one cell per stage, where it says 1.4 times as much.
    pub fn training_bytes(network: &Nb201Network, batch: usize, every_operation: bool) -> u64 {
        let arch = |op| Nb201Arch { ops: [op; EDGES] };
        let cost = |op| network.cost(&arch(op)).params;
        let shared = cost(Nb201Op::None);
        let params = cost(Nb201Op::NorConv3x3) + cost(Nb201Op::NorConv1x1) - shared;
        let per_edge = if every_operation { 10 } else { 2 };
        let per_cell = (EDGES * per_edge + 3) as u64;
        let (mut channels, mut size) = (network.channels as u64, network.input_size as u64);
        // The stem's convolution and batch norm.
        let mut floats = 2 * channels * size * size;
        for stage in 0..3 {
            if stage > 0 {
                size = size.div_ceil(2);
                channels *= 2;
                // A residual reduction: two convolutions with their norms and activations, the shortcut.
                floats += 7 * channels * size * size;
            }
            floats += network.cells_per_stage as u64 * per_cell * channels * size * size;
        }
        4 * (3 * params + batch as u64 * floats)
    }

    /// The supernet on the plain device under its autodiff one, its batch norms out of training: what
    /// scoring candidates with inherited weights runs on (no backward graph recorded).
    pub fn for_scoring(&self) -> Nb201Supernet {
        self.valid()
    }

    /// Logits `[n, classes]` of a batch through the path of `arch`.
    pub fn forward(&self, arch: &Nb201Arch, x: Tensor<4>) -> Tensor<2> {
        self.forward_terms(&path_terms(arch), x)
    }

    /// Logits `[n, classes]` of a batch, every cell's edges computing `terms`.
    pub fn forward_terms(&self, terms: &CellTerms, x: Tensor<4>) -> Tensor<2> {
        let mut x = self.stem.forward(x);
        for block in &self.blocks {
            x = match block {
                SupernetBlock::Cell(cell) => cell.forward(terms, x),
                SupernetBlock::Reduction(r) => r.forward(x),
            };
        }
        let x = probe::relu(batch_norm_statistics::batch_norm(&self.last_norm, x));
        self.classifier.forward(global_pool(x))
    }
}
