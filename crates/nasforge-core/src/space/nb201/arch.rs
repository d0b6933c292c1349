//! The NAS-Bench-201 architecture: the operation on each of the cell's six edges, its index among the
//! 15,625 cells and its JSON form.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An operation on one edge of the cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Nb201Op {
    None,
    SkipConnect,
    NorConv1x1,
    NorConv3x3,
    AvgPool3x3,
}

impl Nb201Op {
    pub const ALL: [Nb201Op; 5] =
        [Nb201Op::None, Nb201Op::SkipConnect, Nb201Op::NorConv1x1, Nb201Op::NorConv3x3, Nb201Op::AvgPool3x3];

    /// The benchmark's name of the operation.
    pub fn name(self) -> &'static str {
        match self {
            Nb201Op::None => "none",
            Nb201Op::SkipConnect => "skip_connect",
            Nb201Op::NorConv1x1 => "nor_conv_1x1",
            Nb201Op::NorConv3x3 => "nor_conv_3x3",
            Nb201Op::AvgPool3x3 => "avg_pool_3x3",
        }
    }

    pub fn from_name(name: &str) -> Option<Nb201Op> {
        Nb201Op::ALL.into_iter().find(|op| op.name() == name)
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Nb201Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Number of edges of the cell.
pub const EDGES: usize = 6;

/// The (to, from) nodes of each edge, in the order `ops` stores them: the order of the printed string.
pub const EDGE_NODES: [(usize, usize); EDGES] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

/// One NAS-Bench-201 cell: the operation on each edge, in `EDGE_NODES` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nb201Arch {
    pub ops: [Nb201Op; EDGES],
}

impl Nb201Arch {
    /// The architecture's index among the 5^6 = 15,625 cells (edge 0 is the most significant digit).
    pub fn index(&self) -> usize {
        self.ops.iter().fold(0, |acc, op| acc * 5 + op.index())
    }

    pub fn from_index(mut index: usize) -> Nb201Arch {
        let mut ops = [Nb201Op::None; EDGES];
        for slot in ops.iter_mut().rev() {
            *slot = Nb201Op::ALL[index % 5];
            index /= 5;
        }
        Nb201Arch { ops }
    }

    /// The cell a differentiable search derives from its operation weights (`weights[edge][op]`, operations in
    /// [`Nb201Op::ALL`] order), as NAS-Bench-201's DARTS does: the strongest operation of each edge, `none`
    /// included. Ties go to the earlier operation; NaN never wins.
    pub fn strongest(weights: &[[f64; 5]; EDGES]) -> Nb201Arch {
        Nb201Arch {
            ops: weights.map(|row| {
                let best = (1..5).fold(0, |best, i| if row[i] > row[best] || row[best].is_nan() { i } else { best });
                Nb201Op::ALL[best]
            }),
        }
    }

    pub(super) fn op(&self, to: usize, from: usize) -> Nb201Op {
        self.ops[to * (to - 1) / 2 + from]
    }
}

/// The JSON form lists, for each node after the input, the operation on the edge from each earlier node:
/// `{"nodes": [["nor_conv_3x3"], ["nor_conv_3x3", "avg_pool_3x3"], ["skip_connect", "none", "skip_connect"]]}`.
#[derive(Serialize, Deserialize)]
struct Nb201Json {
    nodes: Vec<Vec<String>>,
}

impl Serialize for Nb201Arch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let nodes = (1..=3).map(|to| (0..to).map(|from| self.op(to, from).name().to_string()).collect()).collect();
        Nb201Json { nodes }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Nb201Arch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Nb201Json::deserialize(deserializer)?;
        if json.nodes.len() != 3 {
            return Err(serde::de::Error::custom(format!(
                "field `nodes`: expected 3 nodes after the input, found {}",
                json.nodes.len()
            )));
        }
        let mut ops = Vec::with_capacity(EDGES);
        for (i, node) in json.nodes.iter().enumerate() {
            let to = i + 1;
            if node.len() != to {
                return Err(serde::de::Error::custom(format!(
                    "field `nodes[{i}]`: node {to} takes {to} inputs, found {}",
                    node.len()
                )));
            }
            for (from, name) in node.iter().enumerate() {
                ops.push(Nb201Op::from_name(name).ok_or_else(|| {
                    serde::de::Error::custom(format!("field `nodes[{i}][{from}]`: {}", unknown_op(name)))
                })?);
            }
        }
        Ok(Nb201Arch { ops: ops.try_into().expect("six edges were read") })
    }
}

pub(super) fn unknown_op(name: &str) -> String {
    let known: Vec<_> = Nb201Op::ALL.iter().map(|op| op.name()).collect();
    format!("unknown operation '{name}' (expected one of {})", known.join(", "))
}
