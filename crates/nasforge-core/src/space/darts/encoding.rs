//! DARTS encodings for strategies and predictors: the decision vector (operation and input of every
//! edge), its one-hot form, and the BANANAS-style path counts.

use super::{DartsArch, DartsCell, DartsOp, DartsSpace, NODES};

impl DartsSpace {
    fn searched_index(&self, op: DartsOp) -> Option<usize> {
        self.searched.iter().position(|&o| o == op)
    }

    pub(super) fn path_counts(&self, arch: &DartsArch) -> Vec<f64> {
        let k = self.searched.len();
        let offsets: Vec<usize> = (0..=NODES).map(|len| (1..=len as u32).map(|l| k.pow(l)).sum()).collect();
        let per_source = offsets[NODES];
        let mut features = vec![0.0; 2 * 2 * per_source];
        for (c, cell) in arch.cells().into_iter().enumerate() {
            // For each node: the (source input, path length, op-sequence index) of every path ending there.
            let mut paths: Vec<Vec<(usize, usize, usize)>> = Vec::with_capacity(NODES);
            for pair in &cell.nodes {
                let mut here = Vec::new();
                for &(op, input) in pair {
                    let Some(o) = self.searched_index(op) else { continue };
                    if input < 2 {
                        here.push((input, 1, o));
                    } else if let Some(earlier) = paths.get(input - 2) {
                        here.extend(earlier.iter().map(|&(source, len, index)| (source, len + 1, index * k + o)));
                    }
                }
                for &(source, len, index) in &here {
                    features[(2 * c + source) * per_source + offsets[len - 1] + index] += 1.0;
                }
                paths.push(here);
            }
        }
        features
    }
}

pub(super) fn decision_sizes(space: &DartsSpace) -> Vec<usize> {
    let k = space.searched.len();
    (0..2).flat_map(|_| (0..NODES).flat_map(move |node| [k, node + 2, k, node + 2])).collect()
}

pub(super) fn to_decisions(space: &DartsSpace, arch: &DartsArch) -> Vec<usize> {
    arch.cells()
        .into_iter()
        .flat_map(|cell| cell.nodes.iter().flatten())
        .flat_map(|&(op, input)| [space.searched_index(op).unwrap_or(0), input])
        .collect()
}

pub(super) fn from_decisions(space: &DartsSpace, decisions: &[usize]) -> DartsArch {
    let k = space.searched.len();
    let cell = |c: usize| DartsCell {
        nodes: std::array::from_fn(|node| {
            let d = &decisions[(c * NODES + node) * 4..][..4];
            let first = d[1] % (node + 2);
            let mut second = d[3] % (node + 2);
            if second == first {
                second = (second + 1) % (node + 2);
            }
            [(space.searched[d[0] % k], first), (space.searched[d[2] % k], second)]
        }),
    };
    DartsArch { normal: cell(0), reduce: cell(1) }
}

pub(super) fn encode_onehot(space: &DartsSpace, arch: &DartsArch) -> Vec<f64> {
    let k = space.searched.len();
    let mut encoding = Vec::with_capacity(2 * NODES * 2 * (k + NODES + 1));
    for cell in arch.cells() {
        for (node, pair) in cell.nodes.iter().enumerate() {
            for &(op, input) in pair {
                let mut ops = vec![0.0; k];
                if let Some(o) = space.searched_index(op) {
                    ops[o] = 1.0;
                }
                let mut inputs = vec![0.0; node + 2];
                if let Some(slot) = inputs.get_mut(input) {
                    *slot = 1.0;
                }
                encoding.extend(ops);
                encoding.extend(inputs);
            }
        }
    }
    encoding
}
