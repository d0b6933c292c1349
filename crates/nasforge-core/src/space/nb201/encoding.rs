//! NAS-Bench-201 encodings for strategies and predictors: the decision vector (one operation choice per
//! edge) and the BANANAS path encoding.

use super::{EDGES, Nb201Arch, Nb201Op, Nb201Space};

pub(super) fn decision_sizes() -> Vec<usize> {
    vec![5; EDGES]
}

pub(super) fn to_decisions(arch: &Nb201Arch) -> Vec<usize> {
    arch.ops.iter().map(|op| op.index()).collect()
}

pub(super) fn from_decisions(decisions: &[usize]) -> Nb201Arch {
    Nb201Arch { ops: std::array::from_fn(|edge| Nb201Op::ALL[decisions[edge] % 5]) }
}

impl Nb201Space {
    /// The BANANAS path encoding: for every sequence of 1 to 3 non-`none` operations, how many
    /// input-to-output paths of the cell carry exactly that sequence (4 + 16 + 64 = 84 features).
    pub(super) fn path_counts(arch: &Nb201Arch) -> Vec<f64> {
        const PATHS: [&[(usize, usize)]; 4] =
            [&[(3, 0)], &[(1, 0), (3, 1)], &[(2, 0), (3, 2)], &[(1, 0), (2, 1), (3, 2)]];
        let mut features = vec![0.0; 4 + 16 + 64];
        'path: for path in PATHS {
            let mut index = 0;
            for &(to, from) in path {
                let op = arch.op(to, from);
                if op == Nb201Op::None {
                    continue 'path;
                }
                index = index * 4 + (op.index() - 1);
            }
            let offset = match path.len() {
                1 => 0,
                2 => 4,
                _ => 20,
            };
            features[offset + index] += 1.0;
        }
        features
    }
}
