//! mbconv variation: uniform sampling, the single-step changes behind neighbours and mutation (one field of
//! one block, a stage one block deeper or shallower, the width, the resolution, the deployment's threads or
//! batch), and stage-wise crossover.

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};

use super::{Deployment, MbActivation, MbBlock, MbconvArch, MbconvSpace};

/// The values of `choices` other than `current`, in order.
fn others<T: Copy + PartialEq>(current: T, choices: &[T]) -> impl Iterator<Item = T> + '_ {
    choices.iter().copied().filter(move |&c| c != current)
}

impl MbconvSpace {
    fn random_block<R: Rng + ?Sized>(&self, rng: &mut R) -> MbBlock {
        MbBlock {
            kernel: *self.kernels.choose(rng).expect("validated non-empty"),
            expansion: *self.expansions.choose(rng).expect("validated non-empty"),
            se: rng.random_bool(0.5),
            activation: *MbActivation::ALL.choose(rng).expect("two activations"),
        }
    }
}

/// Each decision uniformly: width, resolution, then each stage's depth and each of its blocks' fields, then
/// the deployment's threads, batch and precision.
pub(super) fn sample<R: Rng + ?Sized>(space: &MbconvSpace, rng: &mut R) -> MbconvArch {
    let stages = space
        .stage_channels
        .iter()
        .map(|_| {
            let depth = rng.random_range(space.min_depth..=space.max_depth);
            (0..depth).map(|_| space.random_block(rng)).collect()
        })
        .collect();
    let width_percent = *space.width_percents.choose(rng).expect("validated non-empty");
    let resolution_percent = *space.resolution_percents.choose(rng).expect("validated non-empty");
    let deployment = space.deployment.as_ref().map(|choices| Deployment {
        threads: *choices.threads.choose(rng).expect("validated non-empty"),
        batch: *choices.batches.choose(rng).expect("validated non-empty"),
        // Drawn only when searched, so that a space without precisions samples as it always has.
        precision: match choices.searches_precision() {
            true => *choices.precisions.choose(rng).expect("validated non-empty"),
            false => choices.precisions[0],
        },
    });
    MbconvArch { width_percent, resolution_percent, stages, deployment }
}

/// In order: each other width, each other resolution, each other thread count, batch and precision; then for each stage one block deeper (a copy of its
/// last block appended) and one shallower (its last block removed) where the depth range allows; then for
/// each block each other kernel, each other expansion, squeeze-and-excitation switched, the other activation.
/// Every change gives a different network, so no neighbour is listed twice.
pub(super) fn neighbours(space: &MbconvSpace, arch: &MbconvArch) -> Vec<MbconvArch> {
    let mut out: Vec<MbconvArch> = others(arch.width_percent, &space.width_percents)
        .map(|width_percent| MbconvArch { width_percent, ..arch.clone() })
        .collect();
    out.extend(
        others(arch.resolution_percent, &space.resolution_percents)
            .map(|resolution_percent| MbconvArch { resolution_percent, ..arch.clone() }),
    );
    if let (Some(choices), Some(deployment)) = (&space.deployment, arch.deployment) {
        let deployed = |deployment: Deployment| MbconvArch { deployment: Some(deployment), ..arch.clone() };
        out.extend(
            others(deployment.threads, &choices.threads).map(|threads| deployed(Deployment { threads, ..deployment })),
        );
        out.extend(
            others(deployment.batch, &choices.batches).map(|batch| deployed(Deployment { batch, ..deployment })),
        );
        out.extend(
            others(deployment.precision, &choices.precisions)
                .map(|precision| deployed(Deployment { precision, ..deployment })),
        );
    }
    let with_stage = |s: usize, blocks: Vec<MbBlock>| {
        let mut child = arch.clone();
        child.stages[s] = blocks;
        child
    };
    for (s, blocks) in arch.stages.iter().enumerate() {
        if blocks.len() < space.max_depth {
            let mut deeper = blocks.clone();
            deeper.push(*blocks.last().expect("validated: at least min_depth ≥ 1 blocks"));
            out.push(with_stage(s, deeper));
        }
        if blocks.len() > space.min_depth {
            out.push(with_stage(s, blocks[..blocks.len() - 1].to_vec()));
        }
        for (b, block) in blocks.iter().enumerate() {
            let changed = |new: MbBlock| {
                let mut blocks = blocks.clone();
                blocks[b] = new;
                with_stage(s, blocks)
            };
            out.extend(others(block.kernel, &space.kernels).map(|kernel| changed(MbBlock { kernel, ..*block })));
            out.extend(
                others(block.expansion, &space.expansions).map(|expansion| changed(MbBlock { expansion, ..*block })),
            );
            out.push(changed(MbBlock { se: !block.se, ..*block }));
            out.extend(
                others(block.activation, &MbActivation::ALL)
                    .map(|activation| changed(MbBlock { activation, ..*block })),
            );
        }
    }
    out
}

/// A uniformly chosen neighbour (every architecture has one: each block has two activations).
pub(super) fn mutate<R: Rng + ?Sized>(space: &MbconvSpace, arch: &MbconvArch, rng: &mut R) -> MbconvArch {
    neighbours(space, arch).choose(rng).cloned().unwrap_or_else(|| arch.clone())
}

/// Each stage whole from either parent, the width, the resolution and the deployment from either, each by a
/// fair coin.
pub(super) fn crossover<R: Rng + ?Sized>(a: &MbconvArch, b: &MbconvArch, rng: &mut R) -> MbconvArch {
    let mut either = |x: u32, y: u32| if rng.random_bool(0.5) { x } else { y };
    let width_percent = either(a.width_percent, b.width_percent);
    let resolution_percent = either(a.resolution_percent, b.resolution_percent);
    let stages =
        a.stages.iter().zip(&b.stages).map(|(x, y)| if rng.random_bool(0.5) { x } else { y }.clone()).collect();
    let deployment = if rng.random_bool(0.5) { a.deployment } else { b.deployment };
    MbconvArch { width_percent, resolution_percent, stages, deployment }
}
