//! The DARTS cell space (Liu, Simonyan and Yang, "DARTS: Differentiable Architecture Search", 2019): a pair of
//! cells, normal and reduction, each with 4 intermediate nodes that sum two operations applied to earlier
//! nodes. Printed as the original code's `Genotype(...)`.
//!
//! # Cells and numbering
//!
//! A cell reads two inputs, the outputs of the two previous cells: input 0 is c_{k-2}, input 1 is c_{k-1}.
//! Intermediate node `n` (n = 2, 3, 4, 5, the number by which later nodes name it) is
//! `op_a(state[a]) + op_b(state[b])` with `a, b < n` and `a != b` (the original derivation keeps the
//! two strongest *distinct* predecessors). The cell output concatenates all four intermediate nodes
//! (`normal_concat = [2, 3, 4, 5]`). In [`DartsCell::nodes`], `nodes[i]` is node `i + 2`; error messages
//! use the node number `i + 2` and number a node's two pairs "edge 1" and "edge 2".
//!
//! # Operations
//!
//! The known operations ([`DartsOp::ALL`]) are the original eight (`none`, `max_pool_3x3`, `avg_pool_3x3`,
//! `skip_connect`, `sep_conv_3x3`, `sep_conv_5x5`, `dil_conv_3x3`, `dil_conv_5x5`, [`DartsOp::ORIGINAL`],
//! the default list) plus `sep_conv_7x7` and `conv_7x1_1x7` (in the original code's `OPS` table) and
//! `conv_1x1`, `conv_3x3` (ReLU-conv-BN, as some variants use). A space's list is any selection of these
//! ([`DartsSpace::with_ops`]) with at least two operations other than `none`.
//!
//! `none` is never *searched*: final DARTS genotypes never contain it, so sampling, mutation, neighbours and
//! the decision vector use only the list's other operations (the "searched" operations). When the list
//! contains `none` (the default does), `parse`, `from_json` and `validate` accept it, so any genotype over
//! the list can be read, costed and deduplicated. Such an architecture is outside the searched set: its
//! `none` edges are encoded as choice 0 by `to_decisions` (the one lossy case) and as an all-zero block by
//! `encode_onehot`.
//!
//! # Forms
//!
//! Printed: `Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...8 pairs], normal_concat=[2, 3,
//! 4, 5], reduce=[...8 pairs], reduce_concat=[2, 3, 4, 5])`, pairs in node order. Parsing tolerates
//! whitespace and newlines, single or double quotes, trailing commas, fields in any order, and
//! `range(2, 6)` for a concat; the concat must denote nodes 2, 3, 4, 5.
//!
//! JSON: `{"normal": [["sep_conv_3x3", 0], ...8 pairs], "reduce": [...8 pairs]}`.
//!
//! # Canonical form
//!
//! `canonical` prints a representative of the architecture's class under three exact equivalences, applied
//! to each cell on its own:
//! 1. the two pairs of a node are summed, so their order does not matter (pairs are sorted);
//! 2. `none` outputs zero whatever it reads, so the input of a `none` edge does not matter (it is set to the
//!    lowest of 0 and 1 that differs from the other edge's input);
//! 3. intermediate nodes may be renumbered by any permutation under which every (non-`none`) edge still
//!    reads an earlier node. The renumbered cell permutes the channel blocks of the cell output; every
//!    consumer of a cell output (the next cells' ReLU-1×1-conv-BN or FactorizedReduce preprocessing, the
//!    global-pool + linear classifier, the auxiliary head's ReLU-pool-1×1 conv) applies elementwise or
//!    per-channel maps and then a full channel-mixing linear map, so the permutation is absorbed by
//!    permuting that map's weights: the two networks compute the same set of functions, with identically
//!    distributed initial weights.
//!
//! The representative is the smallest such relabelling (by operation order of [`DartsOp::ALL`], then
//! input). Nothing else is merged: in particular c_{k-2} and c_{k-1} are never swapped (different sources,
//! different preprocessing), and nodes computing the same expression stay distinct (separate weights).
//!
//! # Decisions, variation, encodings
//!
//! Decisions: for the normal then the reduction cell, for each node, for each of its two edges, an
//! operation choice (among the searched operations) then an input choice (node `i + 2` has `i + 2`
//! inputs): 2 × 4 × 2 × 2 = 32 decisions. A vector whose two inputs of a node coincide is repaired by moving
//! the second input to the next index, wrapping to 0.
//!
//! Neighbours: every change of one edge's operation (to another searched operation) or of one edge's input
//! (to another allowed input not read by the node's other edge), in cell, node, edge order, operations
//! before inputs. Mutation picks a cell, a node and an edge uniformly, then changes its operation or (with
//! probability ½, when the node has a free input) its input, uniformly among the alternatives; it always
//! returns one of the neighbours. Crossover is uniform over whole nodes, cell by cell: each node (both of
//! its pairs) comes from either parent with probability ½.
//!
//! Path encoding (after BANANAS, White et al. 2021): for each cell, each cell input and each sequence of 1
//! to 4 searched operations, the number of paths from that input through intermediate nodes to the cell
//! output (which reads every intermediate node) that carry exactly that sequence; `none` edges cut paths.
//! With k searched operations that is 2 × 2 × (k + k² + k³ + k⁴) features (11,200 for the default list).
//! BANANAS itself uses 0/1 indicators and a slightly different indexing; counts keep the same information
//! and more. The encoding is invariant under the canonical equivalences.

mod arch;
mod canonical;
mod encoding;
mod network;
mod operators;
mod text;
mod validation;
mod variation;

#[cfg(test)]
mod tests;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{NetworkCost, ParseError, SearchSpace, TaskShape};
pub use arch::{CELL_NAMES, DARTS_V1, DARTS_V2, DartsArch, DartsCell, DartsOp, NODES};
use arch::{op_error, op_list};
pub use network::DartsNetwork;
pub use operators::DartsOperator;

/// The DARTS cell space over a list of operations (default: the original eight). Its configuration form
/// is `{"ops": ["none", "max_pool_3x3", …]}`, validated on reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DartsSettings", into = "DartsSettings")]
pub struct DartsSpace {
    /// The operations a genotype may use, in the order given.
    ops: Vec<DartsOp>,
    /// The operations sampling, mutation and decisions choose from: `ops` without `none`.
    searched: Vec<DartsOp>,
}

/// The settings of a DARTS space as configuration files write them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DartsSettings {
    /// Operation names (see [`DartsOp`]).
    pub ops: Vec<String>,
}

impl Default for DartsSettings {
    fn default() -> Self {
        DartsSettings { ops: DartsOp::ORIGINAL.iter().map(|op| op.name().to_string()).collect() }
    }
}

impl TryFrom<DartsSettings> for DartsSpace {
    type Error = ParseError;

    fn try_from(settings: DartsSettings) -> Result<Self, ParseError> {
        DartsSpace::with_ops(&settings.ops)
    }
}

impl From<DartsSpace> for DartsSettings {
    fn from(space: DartsSpace) -> Self {
        DartsSettings { ops: space.ops.iter().map(|op| op.name().to_string()).collect() }
    }
}

impl Default for DartsSpace {
    fn default() -> Self {
        DartsSpace::new(&DartsOp::ORIGINAL).expect("the original operation set is valid")
    }
}

impl DartsSpace {
    /// A space over `ops`: no repeats, at least two operations other than `none`.
    pub fn new(ops: &[DartsOp]) -> Result<DartsSpace, ParseError> {
        for (i, op) in ops.iter().enumerate() {
            if ops[..i].contains(op) {
                return Err(ParseError::new(format!("darts operation list: '{op}' is listed twice")));
            }
        }
        let searched: Vec<DartsOp> = ops.iter().copied().filter(|&op| op != DartsOp::None).collect();
        if searched.len() < 2 {
            return Err(ParseError::new(format!(
                "darts operation list: needs at least 2 operations other than none, found {} ({})",
                searched.len(),
                op_list(ops)
            )));
        }
        Ok(DartsSpace { ops: ops.to_vec(), searched })
    }

    /// A space over operations given by name, e.g. the original list with `conv_1x1` for `dil_conv_5x5`.
    pub fn with_ops<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Result<DartsSpace, ParseError> {
        let ops = names
            .into_iter()
            .map(|name| {
                let name = name.as_ref();
                DartsOp::from_name(name)
                    .ok_or_else(|| ParseError::new(format!("darts operation list: {}", op_error(name, &DartsOp::ALL))))
            })
            .collect::<Result<Vec<_>, _>>()?;
        DartsSpace::new(&ops)
    }

    /// The operations a genotype may use.
    pub fn ops(&self) -> &[DartsOp] {
        &self.ops
    }

    /// The operations that are searched (sampled, mutated, decided): `ops` without `none`.
    pub fn searched_ops(&self) -> &[DartsOp] {
        &self.searched
    }
}

impl SearchSpace for DartsSpace {
    type Arch = DartsArch;
    const NAME: &'static str = "darts";

    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> DartsArch {
        variation::sample(self, rng)
    }

    fn mutate<R: Rng + ?Sized>(&self, arch: &DartsArch, rng: &mut R) -> DartsArch {
        variation::mutate(self, arch, rng)
    }

    fn crossover<R: Rng + ?Sized>(&self, a: &DartsArch, b: &DartsArch, rng: &mut R) -> DartsArch {
        variation::crossover(a, b, rng)
    }

    fn neighbours(&self, arch: &DartsArch) -> Vec<DartsArch> {
        variation::neighbours(self, arch)
    }

    fn decision_sizes(&self) -> Vec<usize> {
        encoding::decision_sizes(self)
    }

    fn to_decisions(&self, arch: &DartsArch) -> Vec<usize> {
        encoding::to_decisions(self, arch)
    }

    fn from_decisions(&self, decisions: &[usize]) -> DartsArch {
        encoding::from_decisions(self, decisions)
    }

    /// One-hot of the decisions, except that a `none` edge (never searched) has an all-zero operation block.
    fn encode_onehot(&self, arch: &DartsArch) -> Vec<f64> {
        encoding::encode_onehot(self, arch)
    }

    fn encode_path(&self, arch: &DartsArch) -> Option<Vec<f64>> {
        Some(self.path_counts(arch))
    }

    fn parse(&self, text: &str) -> Result<DartsArch, ParseError> {
        text::parse(self, text)
    }

    fn print(&self, arch: &DartsArch) -> String {
        text::print(arch)
    }

    fn canonical(&self, arch: &DartsArch) -> String {
        self.print(&self.canonical_arch(arch))
    }

    /// The DARTS search-phase network (C = 16, 8 cells) for the task's input and classes.
    fn cost(&self, arch: &DartsArch, task: &TaskShape) -> Option<NetworkCost> {
        let network = DartsNetwork {
            input_channels: task.channels,
            input_size: task.size,
            classes: task.classes,
            ..DartsNetwork::default()
        };
        Some(network.cost(arch))
    }

    fn validate(&self, arch: &DartsArch) -> Result<(), ParseError> {
        validation::validate(self, arch)
    }
}
