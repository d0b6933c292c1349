//! The decision vector of an mbconv architecture: width, resolution, then for each stage its depth and, for
//! each of `max_depth` block slots, kernel, expansion, squeeze-and-excitation and activation. Slots beyond a
//! stage's depth are ignored when read and written as 0. Then threads and batch when the space searches the
//! deployment, and the precision when it lists more than f32.

use super::{Deployment, MbActivation, MbBlock, MbconvArch, MbconvSpace};

/// Decisions per block slot: kernel, expansion, squeeze-and-excitation, activation.
const BLOCK_DECISIONS: usize = 4;

pub(super) fn decision_sizes(space: &MbconvSpace) -> Vec<usize> {
    let mut sizes = vec![space.width_percents.len(), space.resolution_percents.len()];
    for _ in &space.stage_channels {
        sizes.push(space.max_depth - space.min_depth + 1);
        for _ in 0..space.max_depth {
            sizes.extend([space.kernels.len(), space.expansions.len(), 2, MbActivation::ALL.len()]);
        }
    }
    if let Some(choices) = &space.deployment {
        sizes.extend([choices.threads.len(), choices.batches.len()]);
        if choices.searches_precision() {
            sizes.push(choices.precisions.len());
        }
    }
    sizes
}

fn position<T: PartialEq>(choices: &[T], value: &T) -> usize {
    choices.iter().position(|c| c == value).unwrap_or(0)
}

pub(super) fn to_decisions(space: &MbconvSpace, arch: &MbconvArch) -> Vec<usize> {
    let mut decisions = vec![
        position(&space.width_percents, &arch.width_percent),
        position(&space.resolution_percents, &arch.resolution_percent),
    ];
    for blocks in &arch.stages {
        decisions.push(blocks.len().saturating_sub(space.min_depth));
        for slot in 0..space.max_depth {
            match blocks.get(slot) {
                Some(block) => decisions.extend([
                    position(&space.kernels, &block.kernel),
                    position(&space.expansions, &block.expansion),
                    usize::from(block.se),
                    position(&MbActivation::ALL, &block.activation),
                ]),
                None => decisions.extend([0; BLOCK_DECISIONS]),
            }
        }
    }
    if let (Some(choices), Some(deployment)) = (&space.deployment, arch.deployment) {
        decisions
            .extend([position(&choices.threads, &deployment.threads), position(&choices.batches, &deployment.batch)]);
        if choices.searches_precision() {
            decisions.push(position(&choices.precisions, &deployment.precision));
        }
    }
    decisions
}

pub(super) fn from_decisions(space: &MbconvSpace, decisions: &[usize]) -> MbconvArch {
    let pick = |choices: &[usize], i: usize| choices[decisions.get(i).copied().unwrap_or(0).min(choices.len() - 1)];
    let pick_percent =
        |choices: &[u32], i: usize| choices[decisions.get(i).copied().unwrap_or(0).min(choices.len() - 1)];
    let mut at = 2;
    let mut stages = Vec::with_capacity(space.stage_channels.len());
    for _ in &space.stage_channels {
        let depth = space.min_depth + decisions.get(at).copied().unwrap_or(0).min(space.max_depth - space.min_depth);
        at += 1;
        let blocks = (0..depth)
            .map(|slot| {
                let first = at + slot * BLOCK_DECISIONS;
                MbBlock {
                    kernel: pick(&space.kernels, first),
                    expansion: pick(&space.expansions, first + 1),
                    se: decisions.get(first + 2).is_some_and(|&d| d > 0),
                    activation: MbActivation::ALL[decisions.get(first + 3).copied().unwrap_or(0).min(1)],
                }
            })
            .collect();
        at += space.max_depth * BLOCK_DECISIONS;
        stages.push(blocks);
    }
    let deployment = space.deployment.as_ref().map(|choices| Deployment {
        threads: pick(&choices.threads, at),
        batch: pick(&choices.batches, at + 1),
        precision: choices.precisions[decisions.get(at + 2).copied().unwrap_or(0).min(choices.precisions.len() - 1)],
    });
    MbconvArch {
        width_percent: pick_percent(&space.width_percents, 0),
        resolution_percent: pick_percent(&space.resolution_percents, 1),
        stages,
        deployment,
    }
}
