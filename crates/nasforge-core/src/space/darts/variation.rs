//! DARTS variation: sampling cells with distinct inputs per node, mutating one edge's operation or input,
//! uniform crossover over whole nodes, and the single-edge neighbours.

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};

use super::{DartsArch, DartsCell, DartsOp, DartsSpace, NODES};

impl DartsSpace {
    fn sample_cell<R: Rng + ?Sized>(&self, rng: &mut R) -> DartsCell {
        DartsCell {
            nodes: std::array::from_fn(|node| {
                let first = rng.random_range(0..node + 2);
                let mut second = rng.random_range(0..node + 1);
                if second >= first {
                    second += 1;
                }
                let mut op = || *self.searched.choose(rng).expect("at least two searched operations");
                [(op(), first), (op(), second)]
            }),
        }
    }
}

pub(super) fn sample<R: Rng + ?Sized>(space: &DartsSpace, rng: &mut R) -> DartsArch {
    DartsArch { normal: space.sample_cell(rng), reduce: space.sample_cell(rng) }
}

pub(super) fn mutate<R: Rng + ?Sized>(space: &DartsSpace, arch: &DartsArch, rng: &mut R) -> DartsArch {
    let mut child = *arch;
    let cell = rng.random_range(0..2);
    let node = rng.random_range(0..NODES);
    let edge = rng.random_range(0..2);
    let pair = &mut child.cell_mut(cell).nodes[node];
    let (op, input) = pair[edge];
    let other = pair[1 - edge].1;
    let inputs: Vec<usize> = (0..node + 2).filter(|&i| i != input && i != other).collect();
    if !inputs.is_empty() && rng.random_bool(0.5) {
        pair[edge].1 = *inputs.choose(rng).expect("a free input");
    } else {
        let ops: Vec<DartsOp> = space.searched.iter().copied().filter(|&o| o != op).collect();
        pair[edge].0 = *ops.choose(rng).expect("at least two searched operations");
    }
    child
}

pub(super) fn crossover<R: Rng + ?Sized>(a: &DartsArch, b: &DartsArch, rng: &mut R) -> DartsArch {
    let mut child = *a;
    for cell in 0..2 {
        for node in 0..NODES {
            if rng.random_bool(0.5) {
                child.cell_mut(cell).nodes[node] = b.cells()[cell].nodes[node];
            }
        }
    }
    child
}

pub(super) fn neighbours(space: &DartsSpace, arch: &DartsArch) -> Vec<DartsArch> {
    let mut result = Vec::new();
    for cell in 0..2 {
        for node in 0..NODES {
            for edge in 0..2 {
                let (op, input) = arch.cells()[cell].nodes[node][edge];
                let other = arch.cells()[cell].nodes[node][1 - edge].1;
                for &new_op in space.searched.iter().filter(|&&o| o != op) {
                    let mut neighbour = *arch;
                    neighbour.cell_mut(cell).nodes[node][edge].0 = new_op;
                    result.push(neighbour);
                }
                for new_input in (0..node + 2).filter(|&i| i != input && i != other) {
                    let mut neighbour = *arch;
                    neighbour.cell_mut(cell).nodes[node][edge].1 = new_input;
                    result.push(neighbour);
                }
            }
        }
    }
    result
}
