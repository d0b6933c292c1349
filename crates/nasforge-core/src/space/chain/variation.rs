//! Chain variation: uniform sampling, the kinds of single-step change (layer fields, depth, width) behind
//! mutation and neighbours, and single-point crossover on layers with skips repaired.

use std::collections::HashSet;

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};

use super::{Activation, ChainArch, ChainLayer, ChainSpace, LayerKind, Norm};

impl ChainSpace {
    /// The skip choices at layer `position` (1-based): none, then distances 1..=min(position, max).
    fn skip_choices(&self, position: usize) -> impl Iterator<Item = Option<usize>> {
        std::iter::once(None).chain((1..=position.min(self.max_skip_distance)).map(Some))
    }

    fn default_kernel(&self) -> usize {
        if self.kernels.contains(&3) { 3 } else { self.kernels[0] }
    }

    /// `layer` turned into a `kind` layer: fields it had are kept, fields it lacked are filled (channels of
    /// the nearest earlier layer that sets them, else the smallest choice; kernel 3; relu; bn).
    fn retyped(&self, layers: &[ChainLayer], index: usize, kind: LayerKind) -> ChainLayer {
        let layer = &layers[index];
        let earlier_channels = layers[..index].iter().rev().find_map(|l| l.channels);
        ChainLayer {
            kind,
            channels: kind.sets_channels().then(|| layer.channels.or(earlier_channels).unwrap_or(self.channels[0])),
            kernel: kind.chooses_kernel().then(|| layer.kernel.unwrap_or_else(|| self.default_kernel())),
            activation: kind.has_weights().then(|| layer.activation.unwrap_or(Activation::Relu)),
            norm: kind.has_weights().then(|| layer.norm.unwrap_or(Norm::Batch)),
            dropout_percent: layer.dropout_percent,
            skip: layer.skip,
        }
    }

    fn random_layer<R: Rng + ?Sized>(&self, position: usize, rng: &mut R) -> ChainLayer {
        let kind = *LayerKind::ALL.choose(rng).expect("nine layer types");
        let weights = kind.has_weights();
        let skip = rng.random_range(0..=position.min(self.max_skip_distance));
        ChainLayer {
            kind,
            channels: kind.sets_channels().then(|| *self.channels.choose(rng).expect("validated non-empty")),
            kernel: kind.chooses_kernel().then(|| *self.kernels.choose(rng).expect("validated non-empty")),
            activation: weights.then(|| *Activation::ALL.choose(rng).expect("four activations")),
            norm: weights.then(|| *Norm::ALL.choose(rng).expect("three norms")),
            dropout_percent: *self.dropout_percents.choose(rng).expect("validated non-empty"),
            skip: (skip > 0).then_some(skip),
        }
    }

    /// The architectures one change of kind `change` away from `arch`, in a fixed order.
    fn changes(&self, arch: &ChainArch, change: Change) -> Vec<ChainArch> {
        let depth = arch.layers.len();
        let with_layers = |layers: Vec<ChainLayer>| ChainArch { layers, width_percent: arch.width_percent };
        match change {
            Change::Width => others(Some(arch.width_percent), &self.width_percents)
                .map(|width_percent| ChainArch { width_percent, ..arch.clone() })
                .collect(),
            // Deepen: a copy of a layer right after it; later skips keep their distances.
            Change::AddLayer if depth < self.max_depth => (0..depth)
                .map(|index| {
                    let mut layers = arch.layers.clone();
                    layers.insert(index + 1, layers[index].clone());
                    with_layers(layers)
                })
                .collect(),
            Change::RemoveLayer if depth > self.min_depth => (0..depth)
                .map(|index| {
                    let mut layers = arch.layers.clone();
                    layers.remove(index);
                    clamp_skips(&mut layers);
                    with_layers(layers)
                })
                .collect(),
            Change::AddLayer | Change::RemoveLayer => Vec::new(),
            _ => (0..depth)
                .flat_map(|index| {
                    self.layer_changes(&arch.layers, index, change).into_iter().map(move |layer| {
                        let mut layers = arch.layers.clone();
                        layers[index] = layer;
                        with_layers(layers)
                    })
                })
                .collect(),
        }
    }

    /// The layers one change of kind `change` away from `layers[index]`, in a fixed order.
    fn layer_changes(&self, layers: &[ChainLayer], index: usize, change: Change) -> Vec<ChainLayer> {
        let layer = &layers[index];
        let with = |edit: &dyn Fn(&mut ChainLayer)| {
            let mut changed = layer.clone();
            edit(&mut changed);
            changed
        };
        match change {
            Change::Type => {
                others(Some(layer.kind), LayerKind::ALL).map(|kind| self.retyped(layers, index, kind)).collect()
            }
            Change::Channels => {
                others(layer.channels, &self.channels).map(|c| with(&|l| l.channels = Some(c))).collect()
            }
            Change::Kernel => others(layer.kernel, &self.kernels).map(|k| with(&|l| l.kernel = Some(k))).collect(),
            Change::Activation => {
                others(layer.activation, Activation::ALL).map(|a| with(&|l| l.activation = Some(a))).collect()
            }
            Change::Norm => others(layer.norm, Norm::ALL).map(|n| with(&|l| l.norm = Some(n))).collect(),
            Change::Dropout => others(Some(layer.dropout_percent), &self.dropout_percents)
                .map(|p| with(&|l| l.dropout_percent = p))
                .collect(),
            Change::Skip => {
                self.skip_choices(index + 1).filter(|&s| s != layer.skip).map(|s| with(&|l| l.skip = s)).collect()
            }
            Change::AddLayer | Change::RemoveLayer | Change::Width => Vec::new(),
        }
    }
}

/// The kinds of single-step change, in the order `neighbours` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Type,
    Channels,
    Kernel,
    Activation,
    Norm,
    Dropout,
    Skip,
    AddLayer,
    RemoveLayer,
    Width,
}

const CHANGES: [Change; 10] = [
    Change::Type,
    Change::Channels,
    Change::Kernel,
    Change::Activation,
    Change::Norm,
    Change::Dropout,
    Change::Skip,
    Change::AddLayer,
    Change::RemoveLayer,
    Change::Width,
];

/// The choices other than `current`; none when the field is absent.
fn others<T: Copy + PartialEq>(current: Option<T>, choices: &[T]) -> impl Iterator<Item = T> + '_ {
    choices.iter().copied().filter(move |&choice| current.is_some_and(|current| choice != current))
}

/// Clamps skips that reach before the stem to the stem's output.
pub(super) fn clamp_skips(layers: &mut [ChainLayer]) {
    for (index, layer) in layers.iter_mut().enumerate() {
        layer.skip = layer.skip.map(|d| d.min(index + 1));
    }
}

pub(super) fn sample<R: Rng + ?Sized>(space: &ChainSpace, rng: &mut R) -> ChainArch {
    let depth = rng.random_range(space.min_depth..=space.max_depth);
    let width_percent = *space.width_percents.choose(rng).expect("validated non-empty");
    ChainArch { layers: (1..=depth).map(|position| space.random_layer(position, rng)).collect(), width_percent }
}

pub(super) fn mutate<R: Rng + ?Sized>(space: &ChainSpace, arch: &ChainArch, rng: &mut R) -> ChainArch {
    let options: Vec<Vec<ChainArch>> =
        CHANGES.iter().map(|&change| space.changes(arch, change)).filter(|c| !c.is_empty()).collect();
    match options.choose(rng) {
        Some(changes) => changes.choose(rng).expect("non-empty").clone(),
        None => arch.clone(),
    }
}

pub(super) fn crossover<R: Rng + ?Sized>(space: &ChainSpace, a: &ChainArch, b: &ChainArch, rng: &mut R) -> ChainArch {
    let (head, tail) = if rng.random_bool(0.5) { (a, b) } else { (b, a) };
    let p = rng.random_range(1..=head.layers.len().max(1)).min(head.layers.len());
    let total = p + tail.layers.len();
    let lowest = total.saturating_sub(space.max_depth).min(tail.layers.len());
    let highest = total.saturating_sub(space.min_depth).clamp(lowest, tail.layers.len());
    let q = rng.random_range(lowest..=highest);
    let mut layers: Vec<ChainLayer> = head.layers[..p].iter().chain(&tail.layers[q..]).cloned().collect();
    layers.truncate(space.max_depth);
    clamp_skips(&mut layers);
    let width_percent = if rng.random_bool(0.5) { a.width_percent } else { b.width_percent };
    ChainArch { layers, width_percent }
}

pub(super) fn neighbours(space: &ChainSpace, arch: &ChainArch) -> Vec<ChainArch> {
    let mut seen = HashSet::new();
    CHANGES
        .iter()
        .flat_map(|&change| space.changes(arch, change))
        .filter(|neighbour| neighbour != arch && seen.insert(neighbour.clone()))
        .collect()
}
