//! The DARTS architecture: operations, cells of (operation, input) pairs, the published genotypes, the
//! checked construction of a cell from its pairs, and the JSON form with located errors.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An operation on one edge of a DARTS cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DartsOp {
    None,
    MaxPool3x3,
    AvgPool3x3,
    SkipConnect,
    SepConv3x3,
    SepConv5x5,
    DilConv3x3,
    DilConv5x5,
    SepConv7x7,
    Conv1x1,
    Conv3x3,
    Conv7x1_1x7,
}

impl DartsOp {
    /// Every operation this module knows, in canonical order.
    pub const ALL: [DartsOp; 12] = [
        DartsOp::None,
        DartsOp::MaxPool3x3,
        DartsOp::AvgPool3x3,
        DartsOp::SkipConnect,
        DartsOp::SepConv3x3,
        DartsOp::SepConv5x5,
        DartsOp::DilConv3x3,
        DartsOp::DilConv5x5,
        DartsOp::SepConv7x7,
        DartsOp::Conv1x1,
        DartsOp::Conv3x3,
        DartsOp::Conv7x1_1x7,
    ];

    /// The original DARTS operation set (`PRIMITIVES` of the original code), in its order.
    pub const ORIGINAL: [DartsOp; 8] = [
        DartsOp::None,
        DartsOp::MaxPool3x3,
        DartsOp::AvgPool3x3,
        DartsOp::SkipConnect,
        DartsOp::SepConv3x3,
        DartsOp::SepConv5x5,
        DartsOp::DilConv3x3,
        DartsOp::DilConv5x5,
    ];

    /// The name used in genotypes.
    pub fn name(self) -> &'static str {
        match self {
            DartsOp::None => "none",
            DartsOp::MaxPool3x3 => "max_pool_3x3",
            DartsOp::AvgPool3x3 => "avg_pool_3x3",
            DartsOp::SkipConnect => "skip_connect",
            DartsOp::SepConv3x3 => "sep_conv_3x3",
            DartsOp::SepConv5x5 => "sep_conv_5x5",
            DartsOp::DilConv3x3 => "dil_conv_3x3",
            DartsOp::DilConv5x5 => "dil_conv_5x5",
            DartsOp::SepConv7x7 => "sep_conv_7x7",
            DartsOp::Conv1x1 => "conv_1x1",
            DartsOp::Conv3x3 => "conv_3x3",
            DartsOp::Conv7x1_1x7 => "conv_7x1_1x7",
        }
    }

    pub fn from_name(name: &str) -> Option<DartsOp> {
        DartsOp::ALL.into_iter().find(|op| op.name() == name)
    }
}

impl fmt::Display for DartsOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Intermediate nodes per cell.
pub const NODES: usize = 4;

/// The cells of an architecture, in the order of the genotype, of the JSON form and of the decisions.
pub const CELL_NAMES: [&str; 2] = ["normal", "reduce"];

/// DARTS (first order) as published in the original code's `genotypes.py`.
pub const DARTS_V1: &str = "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), \
('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], \
normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), \
('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], \
reduce_concat=[2, 3, 4, 5])";

/// DARTS (second order), the paper's CIFAR-10 cell, as published in the original code's `genotypes.py`.
pub const DARTS_V2: &str = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), \
('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], \
normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), \
('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], \
reduce_concat=[2, 3, 4, 5])";

/// One cell: `nodes[i]` is intermediate node `i + 2`, two `(operation, input)` pairs with distinct inputs
/// below `i + 2` (0 = c_{k-2}, 1 = c_{k-1}, 2.. = earlier intermediate nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DartsCell {
    pub nodes: [[(DartsOp, usize); 2]; NODES],
}

/// A DARTS architecture: the normal cell (stride 1) and the reduction cell (stride 2 on the cell inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DartsArch {
    pub normal: DartsCell,
    pub reduce: DartsCell,
}

impl DartsArch {
    /// The cells in `CELL_NAMES` order.
    pub fn cells(&self) -> [&DartsCell; 2] {
        [&self.normal, &self.reduce]
    }

    pub(super) fn cell_mut(&mut self, cell: usize) -> &mut DartsCell {
        if cell == 0 { &mut self.normal } else { &mut self.reduce }
    }
}

/// "reduce cell, node 4, edge 2": where an edge is, as messages name it.
pub(super) fn edge_location(cell: usize, node: usize, edge: usize) -> String {
    format!("{} cell, node {}, edge {}", CELL_NAMES[cell], node + 2, edge + 1)
}

/// The location of the `k`-th pair of a cell's list, which may lie beyond the 8 pairs a cell has.
pub(super) fn pair_location(cell: usize, k: usize) -> String {
    if k < 2 * NODES { edge_location(cell, k / 2, k % 2) } else { format!("{} cell, pair {}", CELL_NAMES[cell], k + 1) }
}

pub(super) fn duplicate_input(cell: usize, node: usize, input: usize) -> String {
    format!(
        "{} cell, node {}: both edges read input {input} (the two inputs of a node must differ)",
        CELL_NAMES[cell],
        node + 2
    )
}

pub(super) fn op_list(ops: &[DartsOp]) -> String {
    ops.iter().map(|op| op.name()).collect::<Vec<_>>().join(", ")
}

/// Why `name` is not one of `ops`.
pub(super) fn op_error(name: &str, ops: &[DartsOp]) -> String {
    if DartsOp::from_name(name).is_some() {
        format!("operation '{name}' is not in this space (expected one of {})", op_list(ops))
    } else {
        format!("unknown operation '{name}' (expected one of {})", op_list(ops))
    }
}

/// Builds a cell from its 8 pairs in order, checking operations against `ops`, inputs and distinctness.
pub(super) fn cell_from_pairs(cell: usize, pairs: &[(&str, &str)], ops: &[DartsOp]) -> Result<DartsCell, String> {
    if pairs.len() != 2 * NODES {
        return Err(format!(
            "{} cell: expected 8 (operation, input) pairs, 2 for each of the 4 nodes, found {}",
            CELL_NAMES[cell],
            pairs.len()
        ));
    }
    let mut nodes = [[(DartsOp::None, 0); 2]; NODES];
    for (k, &(name, input)) in pairs.iter().enumerate() {
        let (node, edge) = (k / 2, k % 2);
        let op = ops
            .iter()
            .copied()
            .find(|op| op.name() == name)
            .ok_or_else(|| format!("{}: {}", edge_location(cell, node, edge), op_error(name, ops)))?;
        let input =
            input.parse::<usize>().ok().filter(|&i| i < node + 2).ok_or_else(|| {
                format!("{}: input {input} must be below {}", edge_location(cell, node, edge), node + 2)
            })?;
        nodes[node][edge] = (op, input);
    }
    for (node, pair) in nodes.iter().enumerate() {
        if pair[0].1 == pair[1].1 {
            return Err(duplicate_input(cell, node, pair[0].1));
        }
    }
    Ok(DartsCell { nodes })
}

/// The JSON form: `{"normal": [["sep_conv_3x3", 0], ...], "reduce": [...]}`.
#[derive(Serialize)]
struct DartsJsonOut {
    normal: Vec<(&'static str, usize)>,
    reduce: Vec<(&'static str, usize)>,
}

/// Read loosely, so that every malformed pair gets a message naming its field.
#[derive(Deserialize)]
struct DartsJsonIn {
    normal: serde_json::Value,
    reduce: serde_json::Value,
}

impl Serialize for DartsArch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let pairs = |cell: &DartsCell| cell.nodes.iter().flatten().map(|&(op, input)| (op.name(), input)).collect();
        DartsJsonOut { normal: pairs(&self.normal), reduce: pairs(&self.reduce) }.serialize(serializer)
    }
}

fn short_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 { format!("{}…", text.chars().take(40).collect::<String>()) } else { text }
}

fn cell_from_json(cell: usize, value: &serde_json::Value) -> Result<DartsCell, String> {
    let field = CELL_NAMES[cell];
    let items = value.as_array().ok_or_else(|| {
        format!("field `{field}`: expected a list of 8 [operation, input] pairs, found {}", short_json(value))
    })?;
    if items.len() != 2 * NODES {
        return Err(format!(
            "field `{field}`: expected 8 [operation, input] pairs, 2 for each of the 4 nodes, found {}",
            items.len()
        ));
    }
    let mut pairs = Vec::with_capacity(2 * NODES);
    let mut inputs = Vec::with_capacity(2 * NODES);
    for (k, item) in items.iter().enumerate() {
        let location = format!("field `{field}[{k}]` ({})", pair_location(cell, k));
        let pair = item
            .as_array()
            .filter(|pair| pair.len() == 2)
            .ok_or_else(|| format!("{location}: expected an [operation, input] pair, found {}", short_json(item)))?;
        let name = pair[0]
            .as_str()
            .ok_or_else(|| format!("{location}: expected an operation name, found {}", short_json(&pair[0])))?;
        let input = pair[1]
            .as_u64()
            .ok_or_else(|| format!("{location}: expected an input number, found {}", short_json(&pair[1])))?;
        pairs.push(name);
        inputs.push(input.to_string());
    }
    let pairs: Vec<(&str, &str)> = pairs.into_iter().zip(inputs.iter().map(String::as_str)).collect();
    cell_from_pairs(cell, &pairs, &DartsOp::ALL).map_err(|message| format!("field `{field}`: {message}"))
}

impl<'de> Deserialize<'de> for DartsArch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = DartsJsonIn::deserialize(deserializer)?;
        let normal = cell_from_json(0, &json.normal).map_err(serde::de::Error::custom)?;
        let reduce = cell_from_json(1, &json.reduce).map_err(serde::de::Error::custom)?;
        Ok(DartsArch { normal, reduce })
    }
}
