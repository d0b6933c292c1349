//! The network built around a chain (stem, layers, classifier): the shapes of every layer and skip,
//! which training builds from, and the analytic parameter and FLOP counts.

use serde::{Deserialize, Serialize};

use super::{BOTTLENECK_REDUCTION, ChainArch, INVERTED_RESIDUAL_EXPANSION, LayerKind, NetworkCost, TaskShape};

/// The network around a chain (see the module docs): its input, classes and stem width. Used for analytic
/// parameter and FLOP counts, and by training through [`ChainNetwork::plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainNetwork {
    pub input_channels: usize,
    pub input_size: usize,
    pub classes: usize,
    /// Output channels of the stem's 3×3 convolution (not scaled by the width multiplier).
    pub stem_channels: usize,
}

impl Default for ChainNetwork {
    /// CIFAR-10 (3×32×32 inputs, 10 classes) with a 16-channel stem.
    fn default() -> Self {
        ChainNetwork { input_channels: 3, input_size: 32, classes: 10, stem_channels: 16 }
    }
}

/// The resolved shapes of one layer of a chain network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerPlan {
    pub in_channels: usize,
    pub out_channels: usize,
    pub in_size: usize,
    pub out_size: usize,
    pub skip: Option<SkipPlan>,
}

/// How a layer's skip is built: the source node and how it is adapted to the layer's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkipPlan {
    /// The node read: 0 is the stem's output, `i` the output of layer `i`.
    pub from_node: usize,
    pub from_channels: usize,
    pub from_size: usize,
    /// Adaptive average pooling to the layer's output size (the sizes differ).
    pub pool: bool,
    /// A 1×1 conv + batch norm to the layer's output channels (the channel counts differ).
    pub project: bool,
}

impl ChainNetwork {
    /// The default network with the task's input and classes.
    pub fn for_task(task: &TaskShape) -> ChainNetwork {
        ChainNetwork { input_channels: task.channels, input_size: task.size, classes: task.classes, ..Self::default() }
    }

    /// The shapes of every layer of `arch`, by the module's buildability rules.
    pub fn plan(&self, arch: &ChainArch) -> Vec<LayerPlan> {
        // (channels, size) of each node; node 0 is the stem's output.
        let mut nodes = vec![(self.stem_channels, self.input_size)];
        let mut plans = Vec::with_capacity(arch.layers.len());
        for (i, layer) in arch.layers.iter().enumerate() {
            let (in_channels, in_size) = nodes[i];
            let out_channels = layer.channels.map_or(in_channels, |c| arch.scaled_channels(c));
            let out_size = if layer.kind.downsamples() { in_size.div_ceil(2) } else { in_size };
            let skip = layer.skip.map(|d| {
                let from_node = (i + 1).saturating_sub(d);
                let (from_channels, from_size) = nodes[from_node];
                SkipPlan {
                    from_node,
                    from_channels,
                    from_size,
                    pool: from_size != out_size,
                    project: from_channels != out_channels,
                }
            });
            nodes.push((out_channels, out_size));
            plans.push(LayerPlan { in_channels, out_channels, in_size, out_size, skip });
        }
        plans
    }

    /// Parameters (convolutions without bias, every norm's scale and shift, the classifier with bias) and
    /// multiply-accumulates (convolutions, skip projections and the classifier; pools are not counted).
    pub fn cost(&self, arch: &ChainArch) -> NetworkCost {
        let mut cost = NetworkCost::default();
        cost.conv(self.input_channels, self.stem_channels, 3, self.input_size, true);
        let mut channels = self.stem_channels;
        for (layer, plan) in arch.layers.iter().zip(self.plan(arch)) {
            let (c_in, c_out, size) = (plan.in_channels, plan.out_channels, plan.out_size);
            let kernel = layer.kernel.unwrap_or(3);
            // Every norm has a scale and a shift per channel, so all count as batch norm's. A depthwise
            // convolution over C channels has the weights of a convolution from 1 channel to C.
            match layer.kind {
                LayerKind::Conv3x3 | LayerKind::DilatedConv3x3 => cost.conv(c_in, c_out, 3, size, true),
                LayerKind::Conv1x1 => cost.conv(c_in, c_out, 1, size, true),
                LayerKind::DepthwiseConv3x3 => cost.conv(1, c_in, 3, size, true),
                LayerKind::Bottleneck => {
                    let middle = (c_out / BOTTLENECK_REDUCTION).max(1);
                    cost.conv(c_in, middle, 1, size, true);
                    cost.conv(middle, middle, kernel, size, true);
                    cost.conv(middle, c_out, 1, size, true);
                }
                LayerKind::InvertedResidual => {
                    let hidden = c_in * INVERTED_RESIDUAL_EXPANSION;
                    cost.conv(c_in, hidden, 1, size, true);
                    cost.conv(1, hidden, kernel, size, true);
                    cost.conv(hidden, c_out, 1, size, true);
                }
                LayerKind::MaxPool3x3 | LayerKind::AvgPool3x3 | LayerKind::Identity => {}
            }
            if let Some(skip) = plan.skip.filter(|skip| skip.project) {
                cost.conv(skip.from_channels, c_out, 1, size, true);
            }
            channels = c_out;
        }
        cost.linear(channels, self.classes);
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::arch;
    use super::super::{ChainSettings, ChainSpace, SearchSpace};
    use super::*;

    #[test]
    fn plan_resolves_channels_sizes_and_skips() {
        let network = ChainNetwork { input_channels: 3, input_size: 9, classes: 10, stem_channels: 8 };
        let a = arch("w0.5:conv3x3-c32-relu-bn|maxpool3x3|depthwise_conv3x3-relu-gn-s3|avgpool3x3-s3");
        let shapes: Vec<_> =
            network.plan(&a).iter().map(|p| (p.in_channels, p.out_channels, p.in_size, p.out_size)).collect();
        assert_eq!(shapes, [(8, 16, 9, 9), (16, 16, 9, 5), (16, 16, 5, 5), (16, 16, 5, 3)]);
        let skips: Vec<_> = network.plan(&a).iter().map(|p| p.skip).collect();
        assert_eq!(skips[..2], [None, None]);
        let skip = |from_node, from_channels, from_size, pool, project| {
            Some(SkipPlan { from_node, from_channels, from_size, pool, project })
        };
        assert_eq!(skips[2], skip(0, 8, 9, true, true));
        assert_eq!(skips[3], skip(1, 16, 9, true, false));
    }

    #[test]
    fn network_cost_of_small_chains_by_hand() {
        let space = ChainSpace::new(ChainSettings { channels: vec![8, 16], ..ChainSettings::default() }).unwrap();
        // Stem 3→4 on 8×8: 108 weights + 8 norm; layer 1 conv 4→8: 288 + 16; layer 2 pools to 4×4; layer 3
        // 1×1 conv 8→16: 128 + 32, and its skip from node 1 is pooled and projected 8→16: 128 + 32; the
        // classifier 16×10 + 10.
        let network = ChainNetwork { input_channels: 3, input_size: 8, classes: 10, stem_channels: 4 };
        let a = space.parse("w1:conv3x3-c8-relu-bn|maxpool3x3|conv1x1-c16-relu-gn-s2").unwrap();
        assert_eq!(network.cost(&a).params, 116 + 304 + 160 + 160 + 170);
        assert_eq!(network.cost(&a).flops, 108 * 64 + 288 * 64 + 128 * 16 + 128 * 16 + 160);
        // On 4×4 with a 4-channel stem: an inverted residual 4→24→8 with a 5×5 depthwise (96 + 48, 600 + 48,
        // 192 + 16), a depthwise 3×3 on 8 (72 + 16), a bottleneck 8→4→16 with a 3×3 middle (32 + 8,
        // 144 + 8, 64 + 32) plus its residual projected 8→16 (128 + 32), a classifier 16×2 + 2.
        let network = ChainNetwork { input_channels: 3, input_size: 4, classes: 2, stem_channels: 4 };
        let a = space
            .parse("w1:inverted_residual-k5-c8-swish-bn|depthwise_conv3x3-relu-ln|bottleneck-k3-c16-gelu-bn-s1")
            .unwrap();
        assert_eq!(network.cost(&a).params, 116 + 1000 + 88 + 288 + 160 + 34);
        assert_eq!(network.cost(&a).flops, 16 * (108 + 888 + 72 + 240 + 128) + 32);
        // The width multiplier scales the layers, not the stem: 16 × 0.5 = 8 channels, so the 1×1 conv is
        // 8→8 (64 + 16) and the skip needs no projection; the classifier 8×10 + 10.
        let half = space.parse("w0.5:conv3x3-c16-relu-bn|maxpool3x3|conv1x1-c16-relu-gn-s2").unwrap();
        let network = ChainNetwork { input_channels: 3, input_size: 8, classes: 10, stem_channels: 4 };
        assert_eq!(network.cost(&half).params, 116 + 304 + 80 + 90);
        // The space's cost is the default network's for the task.
        let task = TaskShape { channels: 3, size: 8, classes: 10 };
        let expected = ChainNetwork { input_channels: 3, input_size: 8, classes: 10, stem_channels: 16 }.cost(&half);
        assert_eq!(space.cost(&half, &task), Some(expected));
    }
}
