//! Chain encodings for strategies and predictors: the decision vector (depth, width, then seven choices
//! per layer slot) and its inverse, which repairs what does not apply.

use super::{Activation, ChainArch, ChainLayer, ChainSpace, LayerKind, Norm, SearchSpace};

fn index_of<T: PartialEq>(choices: &[T], value: &T) -> usize {
    choices.iter().position(|c| c == value).unwrap_or(0)
}

pub(super) fn decision_sizes(space: &ChainSpace) -> Vec<usize> {
    let mut sizes = vec![space.max_depth - space.min_depth + 1, space.width_percents.len()];
    for _ in 0..space.max_depth {
        sizes.extend([
            LayerKind::ALL.len(),
            space.channels.len(),
            space.kernels.len(),
            Activation::ALL.len(),
            Norm::ALL.len(),
            space.dropout_percents.len(),
            space.max_skip_distance + 1,
        ]);
    }
    sizes
}

pub(super) fn to_decisions(space: &ChainSpace, arch: &ChainArch) -> Vec<usize> {
    let depth = arch.layers.len();
    let mut decisions = vec![
        depth.clamp(space.min_depth, space.max_depth) - space.min_depth,
        index_of(&space.width_percents, &arch.width_percent),
    ];
    for slot in 0..space.max_depth {
        match arch.layers.get(slot) {
            Some(layer) => decisions.extend([
                layer.kind.index(),
                layer.channels.map_or(0, |c| index_of(&space.channels, &c)),
                layer.kernel.map_or(0, |k| index_of(&space.kernels, &k)),
                layer.activation.map_or(0, Activation::index),
                layer.norm.map_or(0, Norm::index),
                index_of(&space.dropout_percents, &layer.dropout_percent),
                layer.skip.unwrap_or(0).min(space.max_skip_distance),
            ]),
            None => decisions.extend([0; 7]),
        }
    }
    decisions
}

pub(super) fn from_decisions(space: &ChainSpace, decisions: &[usize]) -> ChainArch {
    let sizes = space.decision_sizes();
    let choice = |i: usize| decisions.get(i).copied().unwrap_or(0) % sizes[i];
    let depth = space.min_depth + choice(0);
    let layers = (0..depth)
        .map(|slot| {
            let d = |field: usize| choice(2 + 7 * slot + field);
            let kind = LayerKind::ALL[d(0)];
            let skip = d(6).min(slot + 1);
            ChainLayer {
                kind,
                channels: kind.sets_channels().then(|| space.channels[d(1)]),
                kernel: kind.chooses_kernel().then(|| space.kernels[d(2)]),
                activation: kind.has_weights().then(|| Activation::ALL[d(3)]),
                norm: kind.has_weights().then(|| Norm::ALL[d(4)]),
                dropout_percent: space.dropout_percents[d(5)],
                skip: (skip > 0).then_some(skip),
            }
        })
        .collect();
    ChainArch { layers, width_percent: space.width_percents[choice(1)] }
}
