//! NAS-Bench-201 variation: sampling a cell, mutating one edge, uniform crossover over edges, and the
//! 24 single-edge neighbours.

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};

use super::{EDGES, Nb201Arch, Nb201Op};

pub(super) fn sample<R: Rng + ?Sized>(rng: &mut R) -> Nb201Arch {
    Nb201Arch { ops: std::array::from_fn(|_| *Nb201Op::ALL.choose(rng).expect("five ops")) }
}

pub(super) fn mutate<R: Rng + ?Sized>(arch: &Nb201Arch, rng: &mut R) -> Nb201Arch {
    let mut child = *arch;
    let edge = rng.random_range(0..EDGES);
    let shift = rng.random_range(1..5);
    child.ops[edge] = Nb201Op::ALL[(arch.ops[edge].index() + shift) % 5];
    child
}

pub(super) fn crossover<R: Rng + ?Sized>(a: &Nb201Arch, b: &Nb201Arch, rng: &mut R) -> Nb201Arch {
    Nb201Arch { ops: std::array::from_fn(|edge| if rng.random_bool(0.5) { a.ops[edge] } else { b.ops[edge] }) }
}

pub(super) fn neighbours(arch: &Nb201Arch) -> Vec<Nb201Arch> {
    let mut result = Vec::with_capacity(EDGES * 4);
    for edge in 0..EDGES {
        for op in Nb201Op::ALL {
            if op != arch.ops[edge] {
                let mut neighbour = *arch;
                neighbour.ops[edge] = op;
                result.push(neighbour);
            }
        }
    }
    result
}
