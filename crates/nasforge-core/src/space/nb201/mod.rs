//! The NAS-Bench-201 cell space: 4 nodes, 6 edges, 5 operations, printed in the benchmark's own string
//! format, with a canonical form that merges strings computing the same function.

mod arch;
mod canonical;
mod encoding;
mod network;
mod operators;
mod text;
mod variation;

#[cfg(test)]
mod tests;

use rand::Rng;

// `NetworkCost` was first defined here; the path `space::nb201::NetworkCost` stays valid.
pub use super::NetworkCost;
use super::{ParseError, SearchSpace, TaskShape};
pub use arch::{EDGE_NODES, EDGES, Nb201Arch, Nb201Op};
pub use network::Nb201Network;
pub use operators::Nb201Operator;

/// The NAS-Bench-201 cell space. It has no settings: the operation set is the benchmark's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nb201Space;

impl Nb201Space {
    /// All 15,625 cells, in index order.
    pub fn all() -> impl Iterator<Item = Nb201Arch> {
        (0..5usize.pow(EDGES as u32)).map(Nb201Arch::from_index)
    }
}

impl SearchSpace for Nb201Space {
    type Arch = Nb201Arch;
    const NAME: &'static str = "nb201";

    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Nb201Arch {
        variation::sample(rng)
    }

    fn mutate<R: Rng + ?Sized>(&self, arch: &Nb201Arch, rng: &mut R) -> Nb201Arch {
        variation::mutate(arch, rng)
    }

    fn crossover<R: Rng + ?Sized>(&self, a: &Nb201Arch, b: &Nb201Arch, rng: &mut R) -> Nb201Arch {
        variation::crossover(a, b, rng)
    }

    fn neighbours(&self, arch: &Nb201Arch) -> Vec<Nb201Arch> {
        variation::neighbours(arch)
    }

    fn decision_sizes(&self) -> Vec<usize> {
        encoding::decision_sizes()
    }

    fn to_decisions(&self, arch: &Nb201Arch) -> Vec<usize> {
        encoding::to_decisions(arch)
    }

    fn from_decisions(&self, decisions: &[usize]) -> Nb201Arch {
        encoding::from_decisions(decisions)
    }

    fn encode_path(&self, arch: &Nb201Arch) -> Option<Vec<f64>> {
        Some(Self::path_counts(arch))
    }

    fn parse(&self, text: &str) -> Result<Nb201Arch, ParseError> {
        text::parse(text)
    }

    fn print(&self, arch: &Nb201Arch) -> String {
        text::print(arch)
    }

    fn canonical(&self, arch: &Nb201Arch) -> String {
        canonical::canonical(arch)
    }

    /// The canonical form of a cell with no path from input to output is the zero sum, `0`.
    fn computes_nothing(&self, arch: &Nb201Arch) -> bool {
        canonical::canonical(arch) == canonical::ZERO
    }

    fn validate(&self, _arch: &Nb201Arch) -> Result<(), ParseError> {
        Ok(())
    }

    /// The benchmark's network (C = 16, 5 cells per stage) for the task's input and classes.
    fn cost(&self, arch: &Nb201Arch, task: &TaskShape) -> Option<NetworkCost> {
        let network = Nb201Network {
            input_channels: task.channels,
            input_size: task.size,
            classes: task.classes,
            ..Nb201Network::default()
        };
        Some(network.cost(arch))
    }
}
