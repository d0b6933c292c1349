//! The NAS-Bench-201 canonical form: the deduplication key, which merges cells computing the same
//! function (dead edges, zero nodes, skip connections, the order of summed terms).

use super::{Nb201Arch, Nb201Op, Nb201Space};

/// The canonical form of a cell whose output is always zero.
pub(super) const ZERO: &str = "0";

impl Nb201Space {
    /// The terms summed at `node`, each a canonical expression of the cell's input `x`. Skip connections
    /// are the identity, so they splice the source's terms in; an empty list is a node that is always zero
    /// (every path to it is cut by `none`), and any operation on zero is zero (convolutions have no bias,
    /// as in the benchmark), so such edges vanish.
    fn node_terms(arch: &Nb201Arch, node: usize, memo: &mut [Option<Vec<String>>; 4]) -> Vec<String> {
        if let Some(terms) = &memo[node] {
            return terms.clone();
        }
        let mut terms = Vec::new();
        if node == 0 {
            terms.push("x".to_string());
        } else {
            for from in 0..node {
                let op = arch.op(node, from);
                if op == Nb201Op::None {
                    continue;
                }
                let source = Self::node_terms(arch, from, memo);
                if source.is_empty() {
                    continue;
                }
                let short = match op {
                    Nb201Op::SkipConnect => {
                        terms.extend(source);
                        continue;
                    }
                    Nb201Op::NorConv1x1 => "c1",
                    Nb201Op::NorConv3x3 => "c3",
                    Nb201Op::AvgPool3x3 => "ap",
                    Nb201Op::None => unreachable!("none edges were skipped"),
                };
                terms.push(format!("{short}({})", source.join("+")));
            }
            terms.sort_unstable();
        }
        memo[node] = Some(terms.clone());
        terms
    }
}

pub(super) fn canonical(arch: &Nb201Arch) -> String {
    let terms = Nb201Space::node_terms(arch, 3, &mut Default::default());
    if terms.is_empty() { ZERO.to_string() } else { terms.join("+") }
}
