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

use std::fmt;

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::nb201::NetworkCost;
use super::{ParseError, SearchSpace, TaskShape};

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

    fn cell_mut(&mut self, cell: usize) -> &mut DartsCell {
        if cell == 0 { &mut self.normal } else { &mut self.reduce }
    }
}

/// "reduce cell, node 4, edge 2": where an edge is, as messages name it.
fn edge_location(cell: usize, node: usize, edge: usize) -> String {
    format!("{} cell, node {}, edge {}", CELL_NAMES[cell], node + 2, edge + 1)
}

/// The location of the `k`-th pair of a cell's list, which may lie beyond the 8 pairs a cell has.
fn pair_location(cell: usize, k: usize) -> String {
    if k < 2 * NODES { edge_location(cell, k / 2, k % 2) } else { format!("{} cell, pair {}", CELL_NAMES[cell], k + 1) }
}

fn duplicate_input(cell: usize, node: usize, input: usize) -> String {
    format!(
        "{} cell, node {}: both edges read input {input} (the two inputs of a node must differ)",
        CELL_NAMES[cell],
        node + 2
    )
}

fn op_list(ops: &[DartsOp]) -> String {
    ops.iter().map(|op| op.name()).collect::<Vec<_>>().join(", ")
}

/// Why `name` is not one of `ops`.
fn op_error(name: &str, ops: &[DartsOp]) -> String {
    if DartsOp::from_name(name).is_some() {
        format!("operation '{name}' is not in this space (expected one of {})", op_list(ops))
    } else {
        format!("unknown operation '{name}' (expected one of {})", op_list(ops))
    }
}

/// Builds a cell from its 8 pairs in order, checking operations against `ops`, inputs and distinctness.
fn cell_from_pairs(cell: usize, pairs: &[(&str, &str)], ops: &[DartsOp]) -> Result<DartsCell, String> {
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

/// The genotype's tokens: names, integers, quoted strings and punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Ident(&'a str),
    Int(&'a str),
    Str(&'a str),
    Punct(char),
}

impl Token<'_> {
    fn describe(self) -> String {
        match self {
            Token::Ident(s) | Token::Int(s) => format!("'{s}'"),
            Token::Str(s) => format!("the string '{s}'"),
            Token::Punct(c) => format!("'{c}'"),
        }
    }
}

/// A character as messages quote it: control characters escaped, the rest as they are.
fn shown(c: char) -> String {
    if c.is_control() { c.escape_debug().to_string() } else { c.to_string() }
}

/// Splits a genotype into tokens, each with its 1-based character position.
fn tokenize(text: &str) -> Result<Vec<(Token<'_>, usize)>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().enumerate().peekable();
    while let Some((n, (start, ch))) = chars.next() {
        let at = n + 1;
        let mut end = start + ch.len_utf8();
        if ch.is_whitespace() {
            continue;
        } else if ch.is_ascii_digit() {
            while let Some(&(_, (b, c))) = chars.peek().filter(|(_, (_, c))| c.is_ascii_digit()) {
                end = b + c.len_utf8();
                chars.next();
            }
            tokens.push((Token::Int(&text[start..end]), at));
        } else if ch.is_ascii_alphabetic() || ch == '_' {
            while let Some(&(_, (b, c))) = chars.peek().filter(|(_, (_, c))| c.is_ascii_alphanumeric() || *c == '_') {
                end = b + c.len_utf8();
                chars.next();
            }
            tokens.push((Token::Ident(&text[start..end]), at));
        } else if ch == '\'' || ch == '"' {
            // Operation names hold only letters, digits and '_': a string ends at its quote or fails at the
            // first other character, which locates a missing quote where it is missing.
            loop {
                match chars.next() {
                    Some((_, (close, c))) if c == ch => {
                        tokens.push((Token::Str(&text[end..close]), at));
                        break;
                    }
                    Some((_, (_, c))) if c.is_ascii_alphanumeric() || c == '_' => {}
                    Some((n, (_, c))) => {
                        return Err(format!(
                            "the string starting at character {at} is not closed before '{}' at character {} \
                             (operation names hold only letters, digits and '_')",
                            shown(c),
                            n + 1
                        ));
                    }
                    None => return Err(format!("unterminated string starting at character {at}")),
                }
            }
        } else if "()[],=".contains(ch) {
            tokens.push((Token::Punct(ch), at));
        } else {
            return Err(format!("unexpected character '{}' at character {at}", shown(ch)));
        }
    }
    Ok(tokens)
}

/// A recursive-descent reader of the genotype's tokens.
struct GenotypeParser<'a> {
    tokens: Vec<(Token<'a>, usize)>,
    next: usize,
}

impl<'a> GenotypeParser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.next).map(|&(token, _)| token)
    }

    /// What stands at the current position, for messages.
    fn found(&self) -> String {
        match self.tokens.get(self.next) {
            Some(&(token, at)) => format!("{} at character {at}", token.describe()),
            None => "the end of the text".to_string(),
        }
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(Token::Punct(c));
        self.next += usize::from(found);
        found
    }

    fn expect(&mut self, c: char, context: &str) -> Result<(), String> {
        if self.eat(c) { Ok(()) } else { Err(format!("expected '{c}' {context}, found {}", self.found())) }
    }

    fn ident(&mut self, what: &str) -> Result<(&'a str, usize), String> {
        match self.tokens.get(self.next) {
            Some(&(Token::Ident(name), at)) => {
                self.next += 1;
                Ok((name, at))
            }
            _ => Err(format!("expected {what}, found {}", self.found())),
        }
    }

    fn int(&mut self, what: &str) -> Result<&'a str, String> {
        match self.peek() {
            Some(Token::Int(digits)) => {
                self.next += 1;
                Ok(digits)
            }
            _ => Err(format!("expected {what}, found {}", self.found())),
        }
    }

    /// `[('op', input), ...]`, returned raw; the cell checks count, operations and inputs.
    fn pairs(&mut self, cell: usize) -> Result<Vec<(&'a str, &'a str)>, String> {
        let field = CELL_NAMES[cell];
        self.expect('[', &format!("to open the list of field '{field}'"))?;
        let mut pairs = Vec::new();
        while !self.eat(']') {
            let location = pair_location(cell, pairs.len());
            self.expect('(', &format!("to open the pair of {location}"))?;
            let name = match self.peek() {
                Some(Token::Str(name)) => {
                    self.next += 1;
                    name
                }
                _ => return Err(format!("{location}: expected a quoted operation name, found {}", self.found())),
            };
            self.expect(',', &format!("after the operation of {location}"))?;
            let input = self.int("an input number").map_err(|e| format!("{location}: {e}"))?;
            self.eat(',');
            self.expect(')', &format!("to close the pair of {location}"))?;
            pairs.push((name, input));
            if !self.eat(',') {
                self.expect(']', &format!("or ',' after {location}"))?;
                break;
            }
        }
        Ok(pairs)
    }

    /// `[2, 3, 4, 5]` or `range(2, 6)`: the only concatenation a 4-node DARTS cell has.
    fn concat(&mut self, field: &str) -> Result<(), String> {
        let (numbers, found) = if self.peek() == Some(Token::Ident("range")) {
            self.next += 1;
            self.expect('(', "after 'range'")?;
            let start = self.int("the start of the range")?;
            self.expect(',', "after the start of the range")?;
            let stop = self.int("the end of the range")?;
            self.eat(',');
            self.expect(')', "to close 'range('")?;
            let numbers = match (start.parse::<usize>(), stop.parse::<usize>()) {
                (Ok(start), Ok(stop)) if stop - start.min(stop) <= NODES => (start..stop).map(Some).collect(),
                _ => Vec::new(),
            };
            (numbers, format!("range({start}, {stop})"))
        } else {
            self.expect('[', &format!("to open the list of field '{field}'"))?;
            let mut digits = Vec::new();
            while !self.eat(']') {
                digits.push(self.int(&format!("a node number in field '{field}'"))?);
                if !self.eat(',') {
                    self.expect(']', &format!("or ',' in field '{field}'"))?;
                    break;
                }
            }
            (digits.iter().map(|d| d.parse::<usize>().ok()).collect(), format!("[{}]", digits.join(", ")))
        };
        if numbers != [Some(2), Some(3), Some(4), Some(5)] {
            return Err(format!(
                "{field} must be [2, 3, 4, 5] or range(2, 6), as the cell concatenates all four intermediate \
                 nodes; found {found}"
            ));
        }
        Ok(())
    }

    fn genotype(&mut self, ops: &[DartsOp]) -> Result<DartsArch, String> {
        match self.peek() {
            Some(Token::Ident("Genotype")) => self.next += 1,
            _ => return Err(format!("expected 'Genotype(', found {}", self.found())),
        }
        self.expect('(', "after 'Genotype'")?;
        const FIELDS: [&str; 4] = ["normal", "normal_concat", "reduce", "reduce_concat"];
        let mut seen = [false; 4];
        let mut cells: [Vec<(&str, &str)>; 2] = [Vec::new(), Vec::new()];
        while !self.eat(')') {
            let (name, at) = self.ident("a field name (normal, normal_concat, reduce, reduce_concat)")?;
            let index = FIELDS.iter().position(|&f| f == name).ok_or_else(|| {
                format!(
                    "unknown field '{name}' at character {at} (expected normal, normal_concat, reduce, reduce_concat)"
                )
            })?;
            if std::mem::replace(&mut seen[index], true) {
                return Err(format!("field '{name}' given twice (again at character {at})"));
            }
            self.expect('=', &format!("after field '{name}'"))?;
            match index {
                0 | 2 => cells[index / 2] = self.pairs(index / 2)?,
                _ => self.concat(name)?,
            }
            if !self.eat(',') {
                self.expect(')', "or ',' after a field")?;
                break;
            }
        }
        if self.next < self.tokens.len() {
            return Err(format!("unexpected {} after the closing ')'", self.found()));
        }
        if let Some(missing) = FIELDS.iter().zip(seen).find(|(_, seen)| !seen) {
            return Err(format!("missing field '{}'", missing.0));
        }
        let normal = cell_from_pairs(0, &cells[0], ops)?;
        let reduce = cell_from_pairs(1, &cells[1], ops)?;
        Ok(DartsArch { normal, reduce })
    }
}

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

    fn searched_index(&self, op: DartsOp) -> Option<usize> {
        self.searched.iter().position(|&o| o == op)
    }

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

    fn path_counts(&self, arch: &DartsArch) -> Vec<f64> {
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

/// The 24 permutations of the four intermediate nodes, identity first.
fn permutations() -> impl Iterator<Item = [usize; NODES]> {
    (0..NODES.pow(NODES as u32)).filter_map(|code| {
        let perm: [usize; NODES] = std::array::from_fn(|i| code / NODES.pow((NODES - 1 - i) as u32) % NODES);
        let distinct = (0..NODES).all(|i| !perm[..i].contains(&perm[i]));
        distinct.then_some(perm)
    })
}

impl SearchSpace for DartsSpace {
    type Arch = DartsArch;
    const NAME: &'static str = "darts";

    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> DartsArch {
        DartsArch { normal: self.sample_cell(rng), reduce: self.sample_cell(rng) }
    }

    fn mutate<R: Rng + ?Sized>(&self, arch: &DartsArch, rng: &mut R) -> DartsArch {
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
            let ops: Vec<DartsOp> = self.searched.iter().copied().filter(|&o| o != op).collect();
            pair[edge].0 = *ops.choose(rng).expect("at least two searched operations");
        }
        child
    }

    fn crossover<R: Rng + ?Sized>(&self, a: &DartsArch, b: &DartsArch, rng: &mut R) -> DartsArch {
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

    fn neighbours(&self, arch: &DartsArch) -> Vec<DartsArch> {
        let mut result = Vec::new();
        for cell in 0..2 {
            for node in 0..NODES {
                for edge in 0..2 {
                    let (op, input) = arch.cells()[cell].nodes[node][edge];
                    let other = arch.cells()[cell].nodes[node][1 - edge].1;
                    for &new_op in self.searched.iter().filter(|&&o| o != op) {
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

    fn decision_sizes(&self) -> Vec<usize> {
        let k = self.searched.len();
        (0..2).flat_map(|_| (0..NODES).flat_map(move |node| [k, node + 2, k, node + 2])).collect()
    }

    fn to_decisions(&self, arch: &DartsArch) -> Vec<usize> {
        arch.cells()
            .into_iter()
            .flat_map(|cell| cell.nodes.iter().flatten())
            .flat_map(|&(op, input)| [self.searched_index(op).unwrap_or(0), input])
            .collect()
    }

    fn from_decisions(&self, decisions: &[usize]) -> DartsArch {
        let k = self.searched.len();
        let cell = |c: usize| DartsCell {
            nodes: std::array::from_fn(|node| {
                let d = &decisions[(c * NODES + node) * 4..][..4];
                let first = d[1] % (node + 2);
                let mut second = d[3] % (node + 2);
                if second == first {
                    second = (second + 1) % (node + 2);
                }
                [(self.searched[d[0] % k], first), (self.searched[d[2] % k], second)]
            }),
        };
        DartsArch { normal: cell(0), reduce: cell(1) }
    }

    /// One-hot of the decisions, except that a `none` edge (never searched) has an all-zero operation block.
    fn encode_onehot(&self, arch: &DartsArch) -> Vec<f64> {
        let k = self.searched.len();
        let mut encoding = Vec::with_capacity(2 * NODES * 2 * (k + NODES + 1));
        for cell in arch.cells() {
            for (node, pair) in cell.nodes.iter().enumerate() {
                for &(op, input) in pair {
                    let mut ops = vec![0.0; k];
                    if let Some(o) = self.searched_index(op) {
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

    fn encode_path(&self, arch: &DartsArch) -> Option<Vec<f64>> {
        Some(self.path_counts(arch))
    }

    fn parse(&self, text: &str) -> Result<DartsArch, ParseError> {
        let tokens = tokenize(text).map_err(|e| ParseError::new(format!("darts genotype: {e}")))?;
        GenotypeParser { tokens, next: 0 }
            .genotype(&self.ops)
            .map_err(|e| ParseError::new(format!("darts genotype: {e}")))
    }

    fn print(&self, arch: &DartsArch) -> String {
        let pairs = |cell: &DartsCell| {
            let pairs: Vec<String> =
                cell.nodes.iter().flatten().map(|(op, input)| format!("('{}', {input})", op.name())).collect();
            pairs.join(", ")
        };
        format!(
            "Genotype(normal=[{}], normal_concat=[2, 3, 4, 5], reduce=[{}], reduce_concat=[2, 3, 4, 5])",
            pairs(&arch.normal),
            pairs(&arch.reduce)
        )
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
        for (c, cell) in arch.cells().into_iter().enumerate() {
            for (node, pair) in cell.nodes.iter().enumerate() {
                for (edge, &(op, input)) in pair.iter().enumerate() {
                    let location = edge_location(c, node, edge);
                    if !self.ops.contains(&op) {
                        let message = op_error(op.name(), &self.ops);
                        return Err(ParseError::new(format!("darts architecture: {location}: {message}")));
                    }
                    if input >= node + 2 {
                        let message = format!("input {input} must be below {}", node + 2);
                        return Err(ParseError::new(format!("darts architecture: {location}: {message}")));
                    }
                }
                if pair[0].1 == pair[1].1 {
                    return Err(ParseError::new(format!(
                        "darts architecture: {}",
                        duplicate_input(c, node, pair[0].1)
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The DARTS CIFAR evaluation network (`NetworkCIFAR` of the original code, auxiliary head not built) around
/// an architecture, for analytic parameter and FLOP counts:
///
/// - stem: 3×3 convolution to 3C channels + BN;
/// - `layers` cells; cells `layers / 3` and `2 * layers / 3` are reduction cells and double the channels
///   (C, 2C, 4C); a cell's output has 4× its channels (the four concatenated nodes);
/// - each cell preprocesses c_{k-2} with ReLU-conv 1×1-BN, or with FactorizedReduce (ReLU, two 1×1 stride-2
///   convolutions to C/2 channels each, concatenated, BN) when the previous cell reduced, and c_{k-1} with
///   ReLU-conv 1×1-BN;
/// - operations (C channels; stride 2 on the cell inputs of a reduction cell, stride 1 elsewhere):
///   `sep_conv_k` = two stacked (ReLU, depthwise k×k, pointwise 1×1, BN); `dil_conv_k` = ReLU, depthwise k×k
///   with dilation 2, pointwise 1×1, BN; `conv_1x1`/`conv_3x3` = ReLU, k×k conv, BN; `conv_7x1_1x7` = ReLU,
///   1×7 conv (stride in width), 7×1 conv (stride in height), BN; pools and `none` have no parameters;
///   `skip_connect` is the identity, or FactorizedReduce(C, C) with stride 2;
/// - global average pooling and a linear classifier.
///
/// Parameters include BN scale and shift and the classifier bias (convolutions have none); FLOPs are the
/// multiply-accumulates of convolutions and the classifier. Every edge is counted as built. Spatial sizes
/// halve (rounding up) at reductions; the original code needs even sizes there, as CIFAR's 32 and 16 are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DartsNetwork {
    pub channels: usize,
    pub layers: usize,
    pub input_channels: usize,
    pub input_size: usize,
    pub classes: usize,
}

impl Default for DartsNetwork {
    /// The DARTS search-phase network: C = 16, 8 cells, 3×32×32 inputs, 10 classes.
    fn default() -> Self {
        DartsNetwork { channels: 16, layers: 8, input_channels: 3, input_size: 32, classes: 10 }
    }
}

impl DartsNetwork {
    /// The DARTS CIFAR-10 evaluation network: C = 36, 20 cells.
    pub fn cifar10_eval() -> Self {
        DartsNetwork { channels: 36, layers: 20, ..DartsNetwork::default() }
    }

    /// FactorizedReduce: ReLU, two 1×1 stride-2 convolutions to half the channels each, BN.
    fn factorized_reduce(cost: &mut NetworkCost, c_in: usize, c_out: usize, out_size: usize) {
        cost.conv(c_in, c_out / 2, 1, out_size, false);
        cost.conv(c_in, c_out - c_out / 2, 1, out_size, false);
        cost.params += 2 * c_out as u64;
    }

    /// One operation on C channels, from `in_size` to `out_size` (they differ only with stride 2).
    fn op_cost(cost: &mut NetworkCost, op: DartsOp, c: usize, in_size: usize, out_size: usize) {
        let separable = |cost: &mut NetworkCost, kernel: usize| {
            cost.conv(1, c, kernel, out_size, false); // depthwise
            cost.conv(c, c, 1, out_size, true);
        };
        match op {
            DartsOp::None | DartsOp::MaxPool3x3 | DartsOp::AvgPool3x3 => {}
            DartsOp::SkipConnect => {
                if in_size != out_size {
                    Self::factorized_reduce(cost, c, c, out_size);
                }
            }
            DartsOp::SepConv3x3 | DartsOp::SepConv5x5 | DartsOp::SepConv7x7 => {
                let kernel = match op {
                    DartsOp::SepConv3x3 => 3,
                    DartsOp::SepConv5x5 => 5,
                    _ => 7,
                };
                separable(cost, kernel);
                separable(cost, kernel);
            }
            DartsOp::DilConv3x3 => separable(cost, 3),
            DartsOp::DilConv5x5 => separable(cost, 5),
            DartsOp::Conv1x1 => cost.conv(c, c, 1, out_size, true),
            DartsOp::Conv3x3 => cost.conv(c, c, 3, out_size, true),
            DartsOp::Conv7x1_1x7 => {
                let weights = 7 * (c * c) as u64;
                cost.params += 2 * weights + 2 * c as u64;
                cost.flops += weights * (in_size * out_size + out_size * out_size) as u64;
            }
        }
    }

    /// Parameters and FLOPs of the network built from `arch`.
    pub fn cost(&self, arch: &DartsArch) -> NetworkCost {
        let mut cost = NetworkCost::default();
        let mut size = self.input_size;
        let stem = 3 * self.channels;
        cost.conv(self.input_channels, stem, 3, size, true);
        let (mut c_prev_prev, mut c_prev, mut c) = (stem, stem, self.channels);
        let mut reduction_prev = false;
        for layer in 0..self.layers {
            let reduction = layer == self.layers / 3 || layer == 2 * self.layers / 3;
            if reduction {
                c *= 2;
            }
            let out_size = if reduction { size.div_ceil(2) } else { size };
            if reduction_prev {
                Self::factorized_reduce(&mut cost, c_prev_prev, c, size);
            } else {
                cost.conv(c_prev_prev, c, 1, size, true);
            }
            cost.conv(c_prev, c, 1, size, true);
            let cell = if reduction { &arch.reduce } else { &arch.normal };
            for &(op, input) in cell.nodes.iter().flatten() {
                let in_size = if reduction && input < 2 { size } else { out_size };
                Self::op_cost(&mut cost, op, c, in_size, out_size);
            }
            reduction_prev = reduction;
            (c_prev_prev, c_prev) = (c_prev, NODES * c);
            size = out_size;
        }
        let classifier = (c_prev * self.classes) as u64;
        cost.params += classifier + self.classes as u64;
        cost.flops += classifier;
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::HashSet;

    fn space() -> DartsSpace {
        DartsSpace::default()
    }

    fn arch(text: &str) -> DartsArch {
        space().parse(text).unwrap_or_else(|e| panic!("{text}: {}", e.message))
    }

    /// A genotype from its two cells written as `op~input` pairs separated by spaces.
    fn genotype(normal: &str, reduce: &str) -> String {
        let pairs = |cell: &str| {
            let pairs: Vec<String> = cell
                .split_whitespace()
                .map(|pair| {
                    let (op, input) = pair.split_once('~').unwrap();
                    format!("('{op}', {input})")
                })
                .collect();
            pairs.join(", ")
        };
        format!(
            "Genotype(normal=[{}], normal_concat=[2, 3, 4, 5], reduce=[{}], reduce_concat=[2, 3, 4, 5])",
            pairs(normal),
            pairs(reduce)
        )
    }

    fn rng() -> rand_pcg::Pcg64Mcg {
        rand_pcg::Pcg64Mcg::seed_from_u64(2019)
    }

    #[test]
    fn darts_v2_parses_and_prints_back() {
        let a = arch(DARTS_V2);
        assert_eq!(a.normal.nodes[0], [(DartsOp::SepConv3x3, 0), (DartsOp::SepConv3x3, 1)]);
        assert_eq!(a.normal.nodes[3], [(DartsOp::SkipConnect, 0), (DartsOp::DilConv3x3, 2)]);
        assert_eq!(a.reduce.nodes[1], [(DartsOp::SkipConnect, 2), (DartsOp::MaxPool3x3, 1)]);
        assert_eq!(space().print(&a), DARTS_V2);
        let v1 = arch(DARTS_V1);
        assert_eq!(space().print(&v1), DARTS_V1);
        assert_eq!(v1.reduce.nodes[3], [(DartsOp::SkipConnect, 2), (DartsOp::AvgPool3x3, 0)]);
    }

    #[test]
    fn parsing_tolerates_python_spellings() {
        let v2 = arch(DARTS_V2);
        let variants = [
            DARTS_V2.replace('\'', "\""),
            DARTS_V2.replace(' ', ""),
            DARTS_V2.replace(", ", ",\n    ").replace('[', "[\n  "),
            DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)"),
            DARTS_V2.replace("[2, 3, 4, 5]", "range(2,6)").replace(")]", "),]").replace("5])", "5],)"),
            format!("  {DARTS_V2}\n"),
            // Fields in another order, as Python keyword arguments allow.
            "Genotype(reduce_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), \
             ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), \
             ('skip_connect', 2), ('max_pool_3x3', 1)], normal_concat=[2, 3, 4, 5], normal=[('sep_conv_3x3', 0), \
             ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), \
             ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)])"
                .to_string(),
        ];
        for text in variants {
            assert_eq!(space().parse(&text).map_err(|e| e.message), Ok(v2), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_genotypes_with_the_reason() {
        let normal = "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 \
                      skip_connect~0 dil_conv_3x3~2";
        let reduce = "max_pool_3x3~0 max_pool_3x3~1 skip_connect~2 max_pool_3x3~1 max_pool_3x3~0 skip_connect~2 \
                      skip_connect~2 max_pool_3x3~1";
        let with_reduce = |reduce: &str| genotype(normal, reduce);
        let cases = [
            (
                with_reduce(&reduce.replacen("max_pool_3x3~1", "conv_9x9~1", 2).replacen(
                    "conv_9x9~1",
                    "max_pool_3x3~1",
                    1,
                )),
                "darts genotype: reduce cell, node 3, edge 2: unknown operation 'conv_9x9' (expected one of none, \
                 max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5)",
            ),
            (
                with_reduce(&reduce.replacen("skip_connect~2", "skip_connect~7", 2).replacen(
                    "skip_connect~7",
                    "skip_connect~2",
                    1,
                )),
                "darts genotype: reduce cell, node 4, edge 2: input 7 must be below 4",
            ),
            (
                genotype(&normal.replacen("sep_conv_3x3~1", "sep_conv_7x7~1", 1), reduce),
                "darts genotype: normal cell, node 2, edge 2: operation 'sep_conv_7x7' is not in this space",
            ),
            (genotype(&normal.replacen("~1", "~0", 1), reduce), "normal cell, node 2: both edges read input 0"),
            (
                genotype(&normal.replacen(" dil_conv_3x3~2", "", 1), reduce),
                "normal cell: expected 8 (operation, input) pairs, 2 for each of the 4 nodes, found 7",
            ),
            (
                genotype(normal, &format!("{reduce} none~0")),
                "reduce cell: expected 8 (operation, input) pairs, 2 for each of the 4 nodes, found 9",
            ),
            (genotype(normal, &reduce.replacen("~0", "~-1", 1)), "unexpected character '-' at character"),
            (
                genotype(normal, &reduce.replacen("~0", "~99999999999999999999999", 1)),
                "reduce cell, node 2, edge 1: input 99999999999999999999999 must be below 2",
            ),
            (
                DARTS_V2.replacen("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 4]", 1),
                "normal_concat must be [2, 3, 4, 5] or range(2, 6), as the cell concatenates all four intermediate nodes; found [2, 3, 4]",
            ),
            (
                DARTS_V2.replacen("reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(2, 7)", 1),
                "reduce_concat must be [2, 3, 4, 5] or range(2, 6), as the cell concatenates all four intermediate nodes; found range(2, 7)",
            ),
            (DARTS_V2.replacen(", reduce_concat=[2, 3, 4, 5]", "", 1), "darts genotype: missing field 'reduce_concat'"),
            (DARTS_V2.replacen("reduce_concat", "normal_concat", 1), "field 'normal_concat' given twice"),
            (DARTS_V2.replacen("reduce_concat", "reduce_cat", 1), "unknown field 'reduce_cat' at character"),
            (DARTS_V2.replacen("Genotype", "Genome", 1), "expected 'Genotype(', found 'Genome' at character 1"),
            (
                DARTS_V2.replacen("('sep_conv_3x3', 1)", "('sep_conv_3x3' 1)", 1),
                "expected ',' after the operation of normal cell, node 2, edge 2, found '1'",
            ),
            (
                DARTS_V2.replacen("('sep_conv_3x3', 1)", "('sep_conv_3x3', )", 1),
                "normal cell, node 2, edge 2: expected an input number, found ')'",
            ),
            (
                DARTS_V2.replacen("('sep_conv_3x3', 1)", "(sep_conv_3x3, 1)", 1),
                "normal cell, node 2, edge 2: expected a quoted operation name, found 'sep_conv_3x3'",
            ),
            (
                DARTS_V2.replacen("'sep_conv_3x3', 1)", "'sep_conv_3x3, 1)", 1),
                "the string starting at character 40 is not closed before ',' at character 53",
            ),
            (
                DARTS_V2.replace('\'', "\"").replacen("\"max_pool_3x3\", 1", "\"max_pool_3x3', 1", 1),
                "is not closed before ''' at character",
            ),
            (format!("{DARTS_V2})"), "unexpected ')' at character"),
            (DARTS_V2[..DARTS_V2.len() - 1].to_string(), "found the end of the text"),
            (String::new(), "darts genotype: expected 'Genotype(', found the end of the text"),
        ];
        for (text, expected) in cases {
            let err = space().parse(&text).unwrap_err();
            assert!(err.message.contains(expected), "{text}\n  gave: {}\n  expected: {expected}", err.message);
        }
    }

    #[test]
    fn random_architectures_round_trip() {
        let mut rng = rng();
        let space = space();
        for _ in 0..2000 {
            let a = space.sample(&mut rng);
            space.validate(&a).unwrap();
            assert_eq!(space.parse(&space.print(&a)).unwrap(), a);
            let json = space.to_json(&a);
            assert_eq!(space.from_json(&json).unwrap(), a);
            assert_eq!(space.from_decisions(&space.to_decisions(&a)), a);
            // The canonical key is itself a valid genotype of the same class.
            let key = space.canonical(&a);
            assert_eq!(space.canonical(&space.parse(&key).unwrap()), key);
            assert!(a.cells().iter().all(|cell| cell.nodes.iter().flatten().all(|(op, _)| *op != DartsOp::None)));
        }
    }

    #[test]
    fn json_form_and_its_errors() {
        let a = arch(DARTS_V2);
        let json = space().to_json(&a);
        assert!(json.starts_with(r#"{"normal":[["sep_conv_3x3",0],["sep_conv_3x3",1],"#), "{json}");
        assert!(json.contains(r#""reduce":[["max_pool_3x3",0],"#), "{json}");
        let good = serde_json::from_str::<serde_json::Value>(&json).unwrap();
        let with = |path: &str, value: serde_json::Value| {
            let mut doc = good.clone();
            *doc.pointer_mut(path).unwrap() = value;
            space().from_json(&doc.to_string()).unwrap_err().message
        };
        use serde_json::json;
        let cases = [
            (
                with("/reduce/3/0", json!("conv_9x9")),
                "field `reduce`: reduce cell, node 3, edge 2: unknown operation 'conv_9x9'",
            ),
            (with("/normal/5/1", json!(7)), "field `normal`: normal cell, node 4, edge 2: input 7 must be below 4"),
            (
                with("/normal/5/1", json!(-1)),
                "field `normal[5]` (normal cell, node 4, edge 2): expected an input number, found -1",
            ),
            (
                with("/normal/5/0", json!(3)),
                "field `normal[5]` (normal cell, node 4, edge 2): expected an operation name, found 3",
            ),
            (
                with("/normal/1", json!(["sep_conv_3x3"])),
                "field `normal[1]` (normal cell, node 2, edge 2): expected an [operation, input] pair",
            ),
            (with("/normal/1/1", json!(0)), "field `normal`: normal cell, node 2: both edges read input 0"),
            (
                with("/reduce", json!([])),
                "field `reduce`: expected 8 [operation, input] pairs, 2 for each of the 4 nodes, found 0",
            ),
            (with("/reduce", json!("x")), "field `reduce`: expected a list of 8 [operation, input] pairs"),
        ];
        for (message, expected) in cases {
            assert!(message.starts_with("darts architecture JSON: "), "{message}");
            assert!(message.contains(expected), "{message}\n  expected: {expected}");
        }
        let missing = space().from_json(r#"{"normal": []}"#).unwrap_err().message;
        assert!(missing.contains("missing field `reduce`"), "{missing}");
        // JSON accepts every known operation; `validate` then checks the space's list.
        let custom = DartsSpace::with_ops(["sep_conv_3x3", "max_pool_3x3", "skip_connect"]).unwrap();
        let err = custom.from_json(&json).unwrap_err().message;
        assert_eq!(
            err,
            "darts architecture: normal cell, node 5, edge 2: operation 'dil_conv_3x3' is not in this space \
             (expected one of sep_conv_3x3, max_pool_3x3, skip_connect)"
        );
    }

    #[test]
    fn validate_checks_inputs_and_operations() {
        let mut a = arch(DARTS_V2);
        a.reduce.nodes[2][1].1 = 4;
        assert_eq!(
            space().validate(&a).unwrap_err().message,
            "darts architecture: reduce cell, node 4, edge 2: input 4 must be below 4"
        );
        let mut a = arch(DARTS_V2);
        a.normal.nodes[3][1] = (DartsOp::SepConv3x3, 0);
        assert_eq!(
            space().validate(&a).unwrap_err().message,
            "darts architecture: normal cell, node 5: both edges read input 0 (the two inputs of a node must differ)"
        );
        let mut a = arch(DARTS_V2);
        a.normal.nodes[0][0].0 = DartsOp::Conv1x1;
        assert!(
            space()
                .validate(&a)
                .unwrap_err()
                .message
                .contains("node 2, edge 1: operation 'conv_1x1' is not in this space")
        );
    }

    #[test]
    fn variation_stays_in_the_space() {
        let mut rng = rng();
        let space = space();
        let v2 = arch(DARTS_V2);
        // Per cell: 8 edges × 6 other operations, plus the free inputs 0 + 2 + 4 + 6.
        assert_eq!(space.neighbours(&v2).len(), 2 * (8 * 6 + 12));
        for _ in 0..200 {
            let a = space.sample(&mut rng);
            let neighbours = space.neighbours(&a);
            assert_eq!(neighbours.len(), 120);
            assert_eq!(neighbours.iter().collect::<HashSet<_>>().len(), 120, "neighbours are distinct");
            for n in &neighbours {
                space.validate(n).unwrap();
                let changed = a
                    .cells()
                    .iter()
                    .zip(n.cells())
                    .flat_map(|(x, y)| x.nodes.iter().flatten().zip(y.nodes.iter().flatten()))
                    .filter(|(x, y)| x != y)
                    .count();
                assert_eq!(changed, 1);
            }
            for _ in 0..10 {
                let m = space.mutate(&a, &mut rng);
                assert!(neighbours.contains(&m));
            }
            let b = space.sample(&mut rng);
            let child = space.crossover(&a, &b, &mut rng);
            space.validate(&child).unwrap();
            for c in 0..2 {
                for node in 0..NODES {
                    let n = child.cells()[c].nodes[node];
                    assert!(n == a.cells()[c].nodes[node] || n == b.cells()[c].nodes[node]);
                }
            }
        }
        // Mutation reaches input changes and operation changes.
        let mutants: HashSet<DartsArch> = (0..2000).map(|_| space.mutate(&v2, &mut rng)).collect();
        assert_eq!(mutants.len(), space.neighbours(&v2).len());
        // A genotype with `none` edges mutates away from them to searched operations.
        let with_none = arch(&DARTS_V2.replacen("'skip_connect', 0", "'none', 0", 1));
        assert_eq!(space.neighbours(&with_none).len(), 121);
        assert!(space.neighbours(&with_none).iter().all(|n| space.validate(n).is_ok()));
    }

    #[test]
    fn decisions_round_trip_and_repair() {
        let space = space();
        let sizes = space.decision_sizes();
        assert_eq!(sizes.len(), 32);
        assert_eq!(&sizes[..8], &[7, 2, 7, 2, 7, 3, 7, 3]);
        assert_eq!(&sizes[12..16], &[7, 5, 7, 5]);
        assert_eq!(sizes[16..], sizes[..16]);
        let v2 = arch(DARTS_V2);
        let decisions = space.to_decisions(&v2);
        assert_eq!(&decisions[..4], &[3, 0, 3, 1]); // sep_conv_3x3 is searched op 3
        assert_eq!(space.from_decisions(&decisions), v2);
        // Equal inputs: the second moves to the next index, wrapping.
        let mut d = decisions.clone();
        d[12..16].copy_from_slice(&[0, 4, 1, 4]);
        assert_eq!(space.from_decisions(&d).normal.nodes[3], [(DartsOp::MaxPool3x3, 4), (DartsOp::AvgPool3x3, 0)]);
        d[12..16].copy_from_slice(&[0, 2, 1, 2]);
        assert_eq!(space.from_decisions(&d).normal.nodes[3], [(DartsOp::MaxPool3x3, 2), (DartsOp::AvgPool3x3, 3)]);
        let mut rng = rng();
        for _ in 0..500 {
            let d: Vec<usize> = sizes.iter().map(|&s| rng.random_range(0..s)).collect();
            space.validate(&space.from_decisions(&d)).unwrap();
        }
    }

    #[test]
    fn canonical_form_merges_only_equivalent_cells() {
        let canonical = |normal: &str, reduce: &str| space().canonical(&arch(&genotype(normal, reduce)));
        let reduce = "max_pool_3x3~0 max_pool_3x3~1 skip_connect~2 max_pool_3x3~1 max_pool_3x3~0 skip_connect~2 \
                      skip_connect~2 max_pool_3x3~1";
        let base = canonical(
            "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 skip_connect~0 dil_conv_3x3~2",
            reduce,
        );
        // The two pairs of a node are summed: their order does not matter (DARTS_V1 lists node 2 as 1, 0).
        assert_eq!(
            base,
            canonical(
                "sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 skip_connect~0 sep_conv_3x3~1 dil_conv_3x3~2 skip_connect~0",
                reduce,
            )
        );
        // Nodes 3 and 4 read only the cell inputs: renumbering them only permutes output channels.
        assert_eq!(
            base,
            canonical(
                "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 sep_conv_3x3~0 sep_conv_3x3~1 skip_connect~0 dil_conv_3x3~2",
                reduce,
            )
        );
        // Node 2 moves to the end when the node reading it moves along: 2→5, 3→2, 4→3, 5→4.
        assert_eq!(
            canonical(
                "sep_conv_5x5~0 avg_pool_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 skip_connect~0 dil_conv_3x3~2",
                reduce,
            ),
            canonical(
                "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 sep_conv_5x5~0 avg_pool_3x3~1 skip_connect~0 dil_conv_3x3~4",
                reduce,
            )
        );
        // What a `none` edge reads does not matter.
        assert_eq!(
            canonical(
                "none~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 none~2 skip_connect~0 skip_connect~0 dil_conv_3x3~2",
                reduce,
            ),
            canonical(
                "none~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 none~3 skip_connect~0 skip_connect~0 dil_conv_3x3~2",
                reduce,
            )
        );
        // Not merged: swapping c_{k-2} and c_{k-1} (different sources and preprocessing)…
        assert_ne!(
            base,
            canonical(
                "sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~0 skip_connect~1 skip_connect~1 dil_conv_3x3~2",
                reduce,
            )
        );
        // …which node an edge reads, unless the nodes are interchangeable: nodes 2 and 3 are (both
        // sep_conv_3x3 of c_{k-2} and c_{k-1}), nodes 2 and 4 are not…
        assert_eq!(
            base,
            canonical(
                "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 skip_connect~0 dil_conv_3x3~3",
                reduce,
            )
        );
        assert_ne!(
            base,
            canonical(
                "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 skip_connect~0 dil_conv_3x3~4",
                reduce,
            )
        );
        // …which operation reads which input…
        assert_ne!(
            base,
            canonical(
                "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 skip_connect~1 skip_connect~0 dil_conv_3x3~2",
                reduce,
            )
        );
        // …a different operation, or the cells swapped.
        assert_ne!(
            base,
            canonical(
                "sep_conv_5x5~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 skip_connect~0 dil_conv_3x3~2",
                reduce,
            )
        );
        let v2 = arch(DARTS_V2);
        let swapped = DartsArch { normal: v2.reduce, reduce: v2.normal };
        assert_ne!(space().canonical(&v2), space().canonical(&swapped));
        assert_ne!(space().canonical(&v2), space().canonical(&arch(DARTS_V1)));
    }

    #[test]
    fn canonical_classes_of_random_samples() {
        // Every member of a class (all valid renumberings × pair orders) has the class's key, and
        // architectures with equal keys have identical path encodings (a necessary condition of equivalence).
        let space = space();
        let mut rng = rng();
        let mut keys: HashSet<String> = HashSet::new();
        for _ in 0..300 {
            let a = space.sample(&mut rng);
            let key = space.canonical(&a);
            let paths = space.encode_path(&a).unwrap();
            for perm in permutations() {
                let relabel = |input: usize| if input < 2 { input } else { 2 + perm[input - 2] };
                let mut b = a;
                for (src, dst) in [(&a.normal, &mut b.normal), (&a.reduce, &mut b.reduce)] {
                    if (0..NODES).all(|n| src.nodes[n].iter().all(|&(_, i)| relabel(i) < 2 + perm[n])) {
                        for (pair, &to) in src.nodes.iter().zip(&perm) {
                            let mut pair = pair.map(|(op, i)| (op, relabel(i)));
                            if rng.random_bool(0.5) {
                                pair.swap(0, 1);
                            }
                            dst.nodes[to] = pair;
                        }
                    }
                }
                space.validate(&b).unwrap();
                assert_eq!(space.canonical(&b), key);
                assert_eq!(space.encode_path(&b).unwrap(), paths);
            }
            keys.insert(key);
        }
        assert_eq!(keys.len(), 300, "random samples are almost surely distinct networks");
    }

    #[test]
    fn custom_operation_lists() {
        let names = [
            "none",
            "max_pool_3x3",
            "avg_pool_3x3",
            "skip_connect",
            "sep_conv_3x3",
            "sep_conv_5x5",
            "dil_conv_3x3",
            "conv_1x1",
        ];
        let space = DartsSpace::with_ops(names).unwrap();
        assert_eq!(space.ops().len(), 8);
        assert_eq!(space.searched_ops().len(), 7);
        assert!(space.parse(DARTS_V2).is_ok());
        let text = DARTS_V2.replacen("dil_conv_3x3", "conv_1x1", 1);
        assert_eq!(space.parse(&text).unwrap().normal.nodes[3][1], (DartsOp::Conv1x1, 2));
        let err = space.parse(&DARTS_V2.replacen("dil_conv_3x3", "dil_conv_5x5", 1)).unwrap_err();
        assert!(err.message.contains("normal cell, node 5, edge 2: operation 'dil_conv_5x5' is not in this space (expected one of none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, conv_1x1)"), "{}", err.message);
        assert!(DartsSpace::default().parse(&text).unwrap_err().message.contains("'conv_1x1' is not in this space"));
        let mut rng = rng();
        let used: HashSet<DartsOp> = (0..200)
            .flat_map(|_| {
                let a = space.sample(&mut rng);
                [a.normal, a.reduce].into_iter().flat_map(|cell| cell.nodes.into_iter().flatten().map(|(op, _)| op))
            })
            .collect();
        assert_eq!(used, space.searched_ops().iter().copied().collect());
        // Without `none`, a genotype using it is rejected; the list's order is the decisions' order.
        let small = DartsSpace::with_ops(["sep_conv_7x7", "conv_7x1_1x7", "conv_3x3"]).unwrap();
        assert_eq!(small.decision_sizes()[0], 3);
        assert!(small.parse(DARTS_V2).unwrap_err().message.contains("normal cell, node 2, edge 1: operation 'sep_conv_3x3' is not in this space (expected one of sep_conv_7x7, conv_7x1_1x7, conv_3x3)"));
        let a = small.sample(&mut rng);
        assert_eq!(small.parse(&small.print(&a)).unwrap(), a);
        assert_eq!(small.encode_path(&a).unwrap().len(), 4 * (3 + 9 + 27 + 81));
        // Bad lists.
        let bad: [(&[&str], &str); 4] = [
            (
                &["sep_conv_3x3", "conv_9x9"],
                "darts operation list: unknown operation 'conv_9x9' (expected one of none, max_pool_3x3,",
            ),
            (&["sep_conv_3x3", "none", "sep_conv_3x3"], "darts operation list: 'sep_conv_3x3' is listed twice"),
            (
                &["none", "sep_conv_3x3"],
                "darts operation list: needs at least 2 operations other than none, found 1 (none, sep_conv_3x3)",
            ),
            (&[], "needs at least 2 operations other than none, found 0"),
        ];
        for (names, expected) in bad {
            let err = DartsSpace::with_ops(names).unwrap_err();
            assert!(err.message.contains(expected), "{names:?}: {}", err.message);
        }
    }

    #[test]
    fn encodings() {
        let space = space();
        let v2 = arch(DARTS_V2);
        let onehot = space.encode_onehot(&v2);
        let sizes: usize = space.decision_sizes().iter().sum();
        assert_eq!(onehot.len(), sizes);
        assert_eq!(onehot.len(), 2 * 2 * (4 * 7 + 2 + 3 + 4 + 5));
        assert_eq!(onehot.iter().sum::<f64>(), 32.0);
        let with_none = arch(&DARTS_V2.replacen("'skip_connect', 0", "'none', 0", 1));
        assert_eq!(space.encode_onehot(&with_none).iter().sum::<f64>(), 31.0);

        let paths = space.encode_path(&v2).unwrap();
        let per_source = 7 + 49 + 343 + 2401;
        assert_eq!(paths.len(), 4 * per_source);
        // Normal cell: 7 single-operation paths, and c_{k-2} and c_{k-1} → node 2 (sep_conv_3x3) → node 5
        // (dil_conv_3x3). Reduction cell: 5 single max-pools, and 6 max_pool → skip paths.
        assert_eq!(paths.iter().sum::<f64>(), 20.0);
        let (sep3, dil3, skip, max) = (3, 5, 2, 0); // searched-operation indices
        let at = |cell: usize, source: usize, seq: &[usize]| {
            let offset = [0, 7, 7 + 49][seq.len() - 1];
            paths[(2 * cell + source) * per_source + offset + seq.iter().fold(0, |acc, o| acc * 7 + o)]
        };
        assert_eq!(at(0, 0, &[sep3]), 2.0);
        assert_eq!(at(0, 1, &[sep3]), 3.0);
        assert_eq!(at(0, 0, &[skip]), 2.0);
        assert_eq!(at(0, 0, &[sep3, dil3]), 1.0);
        assert_eq!(at(0, 1, &[sep3, dil3]), 1.0);
        assert_eq!(at(1, 0, &[max]), 2.0);
        assert_eq!(at(1, 1, &[max]), 3.0);
        assert_eq!(at(1, 0, &[max, skip]), 3.0);
        assert_eq!(at(1, 1, &[max, skip]), 3.0);
        // A `none` edge cuts its paths.
        assert_eq!(space.encode_path(&with_none).unwrap().iter().sum::<f64>(), 19.0);
    }

    #[test]
    fn darts_v2_has_the_papers_parameter_count() {
        let cost = DartsNetwork::cifar10_eval().cost(&arch(DARTS_V2));
        // The original code reports "param size = 3.349342MB" (auxiliary head excluded), the paper 3.3M.
        assert_eq!(cost.params, 3_349_342);
        // Multiply-accumulates, recomputed independently with a Python transcription of the original
        // `NetworkCIFAR` layer structure (about 528M).
        assert_eq!(cost.flops, 528_359_040);
        // The search-phase size (C = 16, 8 cells), same transcription.
        let search = DartsNetwork::default().cost(&arch(DARTS_V2));
        assert_eq!((search.params, search.flops), (246_106, 43_444_736));
    }

    #[test]
    fn network_cost_by_hand() {
        // C = 4, 3 cells (cell 0 normal, cells 1 and 2 reduce), 3×8×8 inputs, 10 classes; pools only.
        let network = DartsNetwork { channels: 4, layers: 3, input_channels: 3, input_size: 8, classes: 10 };
        let pools = genotype(
            "max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1",
            "max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1",
        );
        let pools = arch(&pools);
        let base = network.cost(&pools);
        // Stem 3→12 at 8×8: 324 + 24 params, 324·64 MACs.
        // Cell 0 (C 4, 8×8): two ReLU-conv-BN 12→4: 2·(48 + 8) params, 2·48·64 MACs.
        // Cell 1 (C 8, 8×8 → 4×4): ReLU-conv-BN 12→8 and 16→8 at 8×8: (96 + 16) + (128 + 16) params,
        //   96·64 + 128·64 MACs.
        // Cell 2 (C 16, 4×4 → 2×2): FactorizedReduce 16→16 at 4×4 (256 + 32 params, 256·16 MACs) and
        //   32→16 (512 + 32 params, 512·16 MACs).
        // Classifier 64→10: 650 params, 640 MACs.
        assert_eq!(base.params, 348 + 112 + 256 + 832 + 650);
        assert_eq!(base.flops, 20_736 + 6_144 + 14_336 + 12_288 + 640);

        let delta = |edit: fn(&mut DartsArch)| {
            let mut a = pools;
            edit(&mut a);
            let cost = network.cost(&a);
            (cost.params - base.params, cost.flops - base.flops)
        };
        // sep_conv_3x3 in the normal cell (C 4, 8×8): 2·(9·4 + 16 + 8) params, 2·(36 + 16)·64 MACs.
        assert_eq!(delta(|a| a.normal.nodes[0][0].0 = DartsOp::SepConv3x3), (120, 6_656));
        // dil_conv_5x5: 25·4 + 16 + 8 params, (100 + 16)·64 MACs.
        assert_eq!(delta(|a| a.normal.nodes[2][1].0 = DartsOp::DilConv5x5), (124, 7_424));
        // skip_connect on a reduction cell's input is FactorizedReduce(C, C): cell 1 (C 8, out 4×4)
        // 64 + 16 params, 64·16 MACs; cell 2 (C 16, out 2×2) 256 + 32 params, 256·4 MACs.
        assert_eq!(delta(|a| a.reduce.nodes[1][0].0 = DartsOp::SkipConnect), (80 + 288, 1_024 + 1_024));
        // On an intermediate node it is the identity.
        assert_eq!(delta(|a| a.reduce.nodes[1][0] = (DartsOp::SkipConnect, 2)), (0, 0));
        // conv_7x1_1x7 with stride 2: cell 1 14·64 + 16 params, 7·64·(8·4 + 4·4) MACs; cell 2
        // 14·256 + 32 params, 7·256·(4·2 + 2·2) MACs.
        assert_eq!(delta(|a| a.reduce.nodes[0][0].0 = DartsOp::Conv7x1_1x7), (912 + 3_616, 21_504 + 21_504));
        // conv_3x3 in the normal cell: 9·16 + 8 params, 144·64 MACs.
        assert_eq!(delta(|a| a.normal.nodes[0][0].0 = DartsOp::Conv3x3), (152, 9_216));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn check(text: &str) {
            let space = space();
            if let Ok(a) = space.parse(text) {
                space.validate(&a).unwrap();
                assert_eq!(space.parse(&space.print(&a)).unwrap(), a, "{text}");
            }
        }

        proptest! {
            #[test]
            fn parse_never_panics_on_arbitrary_strings(text in any::<String>()) {
                check(&text);
            }

            #[test]
            fn parse_never_panics_on_genotype_like_strings(text in "Genotype\\((normal|reduce|_concat|range|[=\\[\\]\\(\\), '\"0-9]|sep_conv_3x3|none|\\s){0,80}\\)") {
                check(&text);
            }

            #[test]
            fn parse_handles_edited_genotypes(
                seed in any::<u64>(),
                edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, any::<char>()), 1..4),
            ) {
                let space = space();
                let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
                let mut chars: Vec<char> = space.print(&space.sample(&mut rng)).chars().collect();
                for (index, kind, c) in edits {
                    let i = index.index(chars.len());
                    match kind {
                        0 => { chars.remove(i); }
                        1 => chars.insert(i, c),
                        _ => chars[i] = "0123456789,()[]'_".chars().nth(index.index(17)).unwrap(),
                    }
                }
                check(&chars.into_iter().collect::<String>());
            }
        }
    }
}
