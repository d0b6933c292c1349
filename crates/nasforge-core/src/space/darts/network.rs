//! The DARTS CIFAR network around an architecture (stem, normal and reduction cells with their
//! preprocessing, classifier) and its analytic parameter and FLOP counts.

use serde::{Deserialize, Serialize};

use super::{DartsArch, DartsOp, NODES, NetworkCost};

/// The DARTS CIFAR evaluation network (`NetworkCIFAR` of the original code, auxiliary head not built) around
/// an architecture, for analytic parameter and FLOP counts:
///
/// - stem: 3×3 convolution to 3C channels + BN;
/// - `layers` cells; cells `layers / 3` and `2 * layers / 3` are reduction cells and double the channels
///   (C, 2C, 4C); a cell's output has 4× its channels (the four concatenated nodes);
/// - each cell preprocesses c_{k-2} with ReLU-conv 1×1-BN, or with FactorizedReduce (ReLU, two 1×1 stride-2
///   convolutions to C/2 channels each, concatenated, BN) when the previous cell reduced, and c_{k-1} with
///   ReLU-conv 1×1-BN;
/// - operations (C channels; stride 2 on the cell inputs of a reduction cell, stride 1 elsewhere):
///   `sep_conv_k` = two stacked (ReLU, depthwise k×k, pointwise 1×1, BN); `dil_conv_k` = ReLU, depthwise k×k
///   with dilation 2, pointwise 1×1, BN; `conv_1x1`/`conv_3x3` = ReLU, k×k conv, BN; `conv_7x1_1x7` = ReLU,
///   1×7 conv (stride in width), 7×1 conv (stride in height), BN; pools and `none` have no parameters;
///   `skip_connect` is the identity, or FactorizedReduce(C, C) with stride 2;
/// - global average pooling and a linear classifier.
///
/// Parameters include BN scale and shift and the classifier bias (convolutions have none); FLOPs are the
/// multiply-accumulates of convolutions and the classifier. Every edge is counted as built. Spatial sizes
/// halve (rounding up) at reductions; the original code needs even sizes there, as CIFAR's 32 and 16 are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DartsNetwork {
    pub channels: usize,
    pub layers: usize,
    pub input_channels: usize,
    pub input_size: usize,
    pub classes: usize,
}

impl Default for DartsNetwork {
    /// The DARTS search-phase network: C = 16, 8 cells, 3×32×32 inputs, 10 classes.
    fn default() -> Self {
        DartsNetwork { channels: 16, layers: 8, input_channels: 3, input_size: 32, classes: 10 }
    }
}

impl DartsNetwork {
    /// The DARTS CIFAR-10 evaluation network: C = 36, 20 cells.
    pub fn cifar10_eval() -> Self {
        DartsNetwork { channels: 36, layers: 20, ..DartsNetwork::default() }
    }

    /// FactorizedReduce: ReLU, two 1×1 stride-2 convolutions to half the channels each, BN.
    fn factorized_reduce(cost: &mut NetworkCost, c_in: usize, c_out: usize, out_size: usize) {
        cost.conv(c_in, c_out / 2, 1, out_size, false);
        cost.conv(c_in, c_out - c_out / 2, 1, out_size, false);
        cost.params += 2 * c_out as u64;
    }

    /// One operation on C channels, from `in_size` to `out_size` (they differ only with stride 2).
    fn op_cost(cost: &mut NetworkCost, op: DartsOp, c: usize, in_size: usize, out_size: usize) {
        let separable = |cost: &mut NetworkCost, kernel: usize| {
            cost.conv(1, c, kernel, out_size, false); // depthwise
            cost.conv(c, c, 1, out_size, true);
        };
        match op {
            DartsOp::None | DartsOp::MaxPool3x3 | DartsOp::AvgPool3x3 => {}
            DartsOp::SkipConnect => {
                if in_size != out_size {
                    Self::factorized_reduce(cost, c, c, out_size);
                }
            }
            DartsOp::SepConv3x3 | DartsOp::SepConv5x5 | DartsOp::SepConv7x7 => {
                let kernel = match op {
                    DartsOp::SepConv3x3 => 3,
                    DartsOp::SepConv5x5 => 5,
                    _ => 7,
                };
                separable(cost, kernel);
                separable(cost, kernel);
            }
            DartsOp::DilConv3x3 => separable(cost, 3),
            DartsOp::DilConv5x5 => separable(cost, 5),
            DartsOp::Conv1x1 => cost.conv(c, c, 1, out_size, true),
            DartsOp::Conv3x3 => cost.conv(c, c, 3, out_size, true),
            DartsOp::Conv7x1_1x7 => {
                let weights = 7 * (c * c) as u64;
                cost.params += 2 * weights + 2 * c as u64;
                cost.flops += weights * (in_size * out_size + out_size * out_size) as u64;
            }
        }
    }

    /// Parameters and FLOPs of the network built from `arch`.
    pub fn cost(&self, arch: &DartsArch) -> NetworkCost {
        let mut cost = NetworkCost::default();
        let mut size = self.input_size;
        let stem = 3 * self.channels;
        cost.conv(self.input_channels, stem, 3, size, true);
        let (mut c_prev_prev, mut c_prev, mut c) = (stem, stem, self.channels);
        let mut reduction_prev = false;
        for layer in 0..self.layers {
            let reduction = layer == self.layers / 3 || layer == 2 * self.layers / 3;
            if reduction {
                c *= 2;
            }
            let out_size = if reduction { size.div_ceil(2) } else { size };
            if reduction_prev {
                Self::factorized_reduce(&mut cost, c_prev_prev, c, size);
            } else {
                cost.conv(c_prev_prev, c, 1, size, true);
            }
            cost.conv(c_prev, c, 1, size, true);
            let cell = if reduction { &arch.reduce } else { &arch.normal };
            for &(op, input) in cell.nodes.iter().flatten() {
                let in_size = if reduction && input < 2 { size } else { out_size };
                Self::op_cost(&mut cost, op, c, in_size, out_size);
            }
            reduction_prev = reduction;
            (c_prev_prev, c_prev) = (c_prev, NODES * c);
            size = out_size;
        }
        cost.linear(c_prev, self.classes);
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::super::DARTS_V2;
    use super::super::tests::{arch, genotype};
    use super::*;

    #[test]
    fn darts_v2_has_the_papers_parameter_count() {
        let cost = DartsNetwork::cifar10_eval().cost(&arch(DARTS_V2));
        // The original code reports "param size = 3.349342MB" (auxiliary head excluded), the paper 3.3M.
        assert_eq!(cost.params, 3_349_342);
        // Multiply-accumulates, recomputed independently with a Python transcription of the original
        // `NetworkCIFAR` layer structure (about 528M).
        assert_eq!(cost.flops, 528_359_040);
        // The search-phase size (C = 16, 8 cells), same transcription.
        let search = DartsNetwork::default().cost(&arch(DARTS_V2));
        assert_eq!((search.params, search.flops), (246_106, 43_444_736));
    }

    #[test]
    fn network_cost_by_hand() {
        // C = 4, 3 cells (cell 0 normal, cells 1 and 2 reduce), 3×8×8 inputs, 10 classes; pools only.
        let network = DartsNetwork { channels: 4, layers: 3, input_channels: 3, input_size: 8, classes: 10 };
        let pools = genotype(
            "max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1",
            "max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1",
        );
        let pools = arch(&pools);
        let base = network.cost(&pools);
        // Stem 3→12 at 8×8: 324 + 24 params, 324·64 MACs.
        // Cell 0 (C 4, 8×8): two ReLU-conv-BN 12→4: 2·(48 + 8) params, 2·48·64 MACs.
        // Cell 1 (C 8, 8×8 → 4×4): ReLU-conv-BN 12→8 and 16→8 at 8×8: (96 + 16) + (128 + 16) params,
        //   96·64 + 128·64 MACs.
        // Cell 2 (C 16, 4×4 → 2×2): FactorizedReduce 16→16 at 4×4 (256 + 32 params, 256·16 MACs) and
        //   32→16 (512 + 32 params, 512·16 MACs).
        // Classifier 64→10: 650 params, 640 MACs.
        assert_eq!(base.params, 348 + 112 + 256 + 832 + 650);
        assert_eq!(base.flops, 20_736 + 6_144 + 14_336 + 12_288 + 640);

        let delta = |edit: fn(&mut DartsArch)| {
            let mut a = pools;
            edit(&mut a);
            let cost = network.cost(&a);
            (cost.params - base.params, cost.flops - base.flops)
        };
        // sep_conv_3x3 in the normal cell (C 4, 8×8): 2·(9·4 + 16 + 8) params, 2·(36 + 16)·64 MACs.
        assert_eq!(delta(|a| a.normal.nodes[0][0].0 = DartsOp::SepConv3x3), (120, 6_656));
        // dil_conv_5x5: 25·4 + 16 + 8 params, (100 + 16)·64 MACs.
        assert_eq!(delta(|a| a.normal.nodes[2][1].0 = DartsOp::DilConv5x5), (124, 7_424));
        // skip_connect on a reduction cell's input is FactorizedReduce(C, C): cell 1 (C 8, out 4×4)
        // 64 + 16 params, 64·16 MACs; cell 2 (C 16, out 2×2) 256 + 32 params, 256·4 MACs.
        assert_eq!(delta(|a| a.reduce.nodes[1][0].0 = DartsOp::SkipConnect), (80 + 288, 1_024 + 1_024));
        // On an intermediate node it is the identity.
        assert_eq!(delta(|a| a.reduce.nodes[1][0] = (DartsOp::SkipConnect, 2)), (0, 0));
        // conv_7x1_1x7 with stride 2: cell 1 14·64 + 16 params, 7·64·(8·4 + 4·4) MACs; cell 2
        // 14·256 + 32 params, 7·256·(4·2 + 2·2) MACs.
        assert_eq!(delta(|a| a.reduce.nodes[0][0].0 = DartsOp::Conv7x1_1x7), (912 + 3_616, 21_504 + 21_504));
        // conv_3x3 in the normal cell: 9·16 + 8 params, 144·64 MACs.
        assert_eq!(delta(|a| a.normal.nodes[0][0].0 = DartsOp::Conv3x3), (152, 9_216));
    }
}
