//! The network around an mbconv architecture: the shapes of its stem, blocks and head, which training and
//! the latency models build from, and the analytic parameter and FLOP counts.

use serde::{Deserialize, Serialize};

use super::{MbActivation, MbconvArch, MbconvSpace, NetworkCost, TaskShape};

/// The squeeze-and-excitation bottleneck: a quarter of the hidden channels, at least 1.
pub const SE_REDUCTION: usize = 4;

/// The resolved shape of one block: everything that decides its weights and its running time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlockPlan {
    pub in_channels: usize,
    pub out_channels: usize,
    /// The input's side; the output's is `ceil(in_size / stride)`.
    pub in_size: usize,
    pub stride: usize,
    pub kernel: usize,
    /// Channels of the expansion and the depthwise convolution: `in_channels × expansion`.
    pub hidden: usize,
    /// The squeeze-and-excitation bottleneck's channels, when the block has one.
    pub squeeze: Option<usize>,
    pub activation: MbActivation,
}

impl BlockPlan {
    pub fn out_size(&self) -> usize {
        self.in_size.div_ceil(self.stride)
    }

    /// The identity shortcut: stride 1 and as many channels out as in.
    pub fn residual(&self) -> bool {
        self.stride == 1 && self.in_channels == self.out_channels
    }

    /// Expansion (1×1), depthwise (k×k), squeeze-and-excitation (two linear layers with bias), projection
    /// (1×1); every convolution with batch norm.
    pub fn cost(&self) -> NetworkCost {
        let mut cost = NetworkCost::default();
        cost.conv(self.in_channels, self.hidden, 1, self.in_size, true);
        cost.conv(1, self.hidden, self.kernel, self.out_size(), true);
        if let Some(squeeze) = self.squeeze {
            cost.linear(self.hidden, squeeze);
            cost.linear(squeeze, self.hidden);
        }
        cost.conv(self.hidden, self.out_channels, 1, self.out_size(), true);
        cost
    }
}

/// The whole network of one architecture for one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MbconvPlan {
    pub input_channels: usize,
    /// The task's input side, resized to `resolution` first when they differ (bilinear).
    pub input_size: usize,
    pub resolution: usize,
    /// The stem's 3×3 convolution (stride 1) + batch norm + ReLU, after the width multiplier.
    pub stem_channels: usize,
    pub blocks: Vec<BlockPlan>,
    /// The head's 1×1 convolution + batch norm + ReLU before global pooling (not scaled by the width).
    pub head_channels: usize,
    pub classes: usize,
}

impl MbconvPlan {
    /// Channels and side of the last block's output (the stem's when there is no block).
    pub fn last(&self) -> (usize, usize) {
        self.blocks.last().map_or((self.stem_channels, self.resolution), |b| (b.out_channels, b.out_size()))
    }

    /// Parameters (convolutions without bias, batch norm's scale and shift, linear layers with bias) and
    /// multiply-accumulates (convolutions and linear layers; the resize, pools and activations not counted).
    pub fn cost(&self) -> NetworkCost {
        let mut cost = NetworkCost::default();
        cost.conv(self.input_channels, self.stem_channels, 3, self.resolution, true);
        for block in &self.blocks {
            cost += block.cost();
        }
        let (channels, size) = self.last();
        cost.conv(channels, self.head_channels, 1, size, true);
        cost.linear(self.head_channels, self.classes);
        cost
    }
}

impl MbconvSpace {
    /// The shapes of the network around `arch` for a task; `stem_channels` (before the width multiplier)
    /// overrides the space's.
    pub fn plan(&self, arch: &MbconvArch, task: &TaskShape, stem_channels: Option<usize>) -> MbconvPlan {
        let resolution = arch.resolution(task.size);
        let stem = arch.scaled_channels(stem_channels.unwrap_or(self.stem_channels));
        let (mut channels, mut size) = (stem, resolution);
        let mut blocks = Vec::new();
        for ((blocks_of_stage, &stage_channels), &stage_stride) in
            arch.stages.iter().zip(&self.stage_channels).zip(&self.stage_strides)
        {
            let out_channels = arch.scaled_channels(stage_channels);
            for (i, block) in blocks_of_stage.iter().enumerate() {
                let hidden = channels * block.expansion;
                let plan = BlockPlan {
                    in_channels: channels,
                    out_channels,
                    in_size: size,
                    stride: if i == 0 { stage_stride } else { 1 },
                    kernel: block.kernel,
                    hidden,
                    squeeze: block.se.then(|| (hidden / SE_REDUCTION).max(1)),
                    activation: block.activation,
                };
                (channels, size) = (out_channels, plan.out_size());
                blocks.push(plan);
            }
        }
        MbconvPlan {
            input_channels: task.channels,
            input_size: task.size,
            resolution,
            stem_channels: stem,
            blocks,
            head_channels: self.head_channels,
            classes: task.classes,
        }
    }
}
