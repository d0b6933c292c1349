//! The DARTS canonical form: each cell's smallest relabelling under the exact equivalences of the module
//! docs (pair order, the input of `none` edges, renumbering intermediate nodes).

use super::{DartsArch, DartsCell, DartsOp, DartsSpace, NODES};

impl DartsSpace {
    /// The class representative of a cell under the equivalences of the module docs.
    fn canonical_cell(cell: &DartsCell) -> DartsCell {
        let mut best: Option<DartsCell> = None;
        for perm in permutations() {
            // perm[i]: the new position of node i + 2.
            let relabel = |input: usize| if (2..NODES + 2).contains(&input) { 2 + perm[input - 2] } else { input };
            let keeps_order = (0..NODES).all(|node| {
                cell.nodes[node].iter().all(|&(op, input)| op == DartsOp::None || relabel(input) < 2 + perm[node])
            });
            if !keeps_order {
                continue;
            }
            let mut nodes = cell.nodes;
            for (node, pair) in cell.nodes.iter().enumerate() {
                let mut pair = pair.map(|(op, input)| (op, relabel(input)));
                // A `none` edge reads the lowest of 0 and 1 that the other edge does not (0 and 1 for two).
                match (pair[0].0 == DartsOp::None, pair[1].0 == DartsOp::None) {
                    (true, true) => (pair[0].1, pair[1].1) = (0, 1),
                    (true, false) => pair[0].1 = usize::from(pair[1].1 == 0),
                    (false, true) => pair[1].1 = usize::from(pair[0].1 == 0),
                    (false, false) => {}
                }
                pair.sort_unstable();
                nodes[perm[node]] = pair;
            }
            let candidate = DartsCell { nodes };
            if best.is_none_or(|best| candidate < best) {
                best = Some(candidate);
            }
        }
        best.unwrap_or(*cell)
    }

    /// The canonical representative of `arch` (itself a valid architecture of the space).
    pub fn canonical_arch(&self, arch: &DartsArch) -> DartsArch {
        DartsArch { normal: Self::canonical_cell(&arch.normal), reduce: Self::canonical_cell(&arch.reduce) }
    }
}

/// The 24 permutations of the four intermediate nodes, identity first.
pub(super) fn permutations() -> impl Iterator<Item = [usize; NODES]> {
    (0..NODES.pow(NODES as u32)).filter_map(|code| {
        let perm: [usize; NODES] = std::array::from_fn(|i| code / NODES.pow((NODES - 1 - i) as u32) % NODES);
        let distinct = (0..NODES).all(|i| !perm[..i].contains(&perm[i]));
        distinct.then_some(perm)
    })
}
