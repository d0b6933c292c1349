//! The NAS-Bench-201 network around a cell (stem, three stages of cells, residual reductions,
//! classifier) and its analytic parameter and FLOP counts.

use serde::{Deserialize, Serialize};

use super::{Nb201Arch, Nb201Op, NetworkCost};

/// The benchmark's CIFAR network around a cell: a 3×3 stem convolution, three stages of `cells_per_stage`
/// cells with C, 2C and 4C channels joined by residual reduction blocks, batch norm + ReLU, global average
/// pooling and a linear classifier. Used for analytic parameter and FLOP counts (and by training).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nb201Network {
    pub channels: usize,
    pub cells_per_stage: usize,
    pub input_channels: usize,
    pub input_size: usize,
    pub classes: usize,
}

impl Default for Nb201Network {
    /// The benchmark's CIFAR-10 network: C = 16, N = 5, 3×32×32 inputs, 10 classes.
    fn default() -> Self {
        Nb201Network { channels: 16, cells_per_stage: 5, input_channels: 3, input_size: 32, classes: 10 }
    }
}

impl Nb201Network {
    /// Parameters and FLOPs of the network with `arch` in every cell. Every edge's operation is
    /// counted as built, whether or not its output reaches the cell's output (as the benchmark counts).
    pub fn cost(&self, arch: &Nb201Arch) -> NetworkCost {
        let mut cost = NetworkCost::default();
        let mut size = self.input_size;
        let mut channels = self.channels;
        cost.conv(self.input_channels, channels, 3, size, true);
        for stage in 0..3 {
            if stage > 0 {
                // Residual reduction block: 3×3 stride 2, 3×3, and a 2×2 average pool + 1×1 shortcut.
                let out_channels = channels * 2;
                size = size.div_ceil(2);
                cost.conv(channels, out_channels, 3, size, true);
                cost.conv(out_channels, out_channels, 3, size, true);
                cost.conv(channels, out_channels, 1, size, false);
                channels = out_channels;
            }
            for _ in 0..self.cells_per_stage {
                for op in arch.ops {
                    match op {
                        Nb201Op::NorConv1x1 => cost.conv(channels, channels, 1, size, true),
                        Nb201Op::NorConv3x3 => cost.conv(channels, channels, 3, size, true),
                        Nb201Op::None | Nb201Op::SkipConnect | Nb201Op::AvgPool3x3 => {}
                    }
                }
            }
        }
        cost.params += 2 * channels as u64; // final batch norm
        cost.linear(channels, self.classes);
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::arch;
    use super::*;

    #[test]
    fn network_cost_matches_the_benchmark() {
        let network = Nb201Network::default();
        let none = arch("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
        let conv =
            arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|");
        // Hand-computed: stem 464, reduction blocks 14,464 + 57,600, final BN 128, classifier 650.
        assert_eq!(network.cost(&none).params, 73_306);
        // Plus 6 convolutions of 9C²+2C per cell, 5 cells per stage, C = 16, 32, 64.
        assert_eq!(network.cost(&conv).params, 1_531_546);
        // Hand-computed multiply-accumulates (the benchmark lists 7.78 and 220.1 MFLOPs for these cells).
        assert_eq!(network.cost(&none).flops, 7_783_040);
        assert_eq!(network.cost(&conv).flops, 7_783_040 + 3 * 30 * 2_359_296);
    }
}
