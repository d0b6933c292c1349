//! The NAS-Bench-201 cell space: 4 nodes, 6 edges, 5 operations, printed in the benchmark's own string
//! format, with a canonical form that merges strings computing the same function.

use std::fmt;

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ParseError, SearchSpace, TaskShape};

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

    fn index(self) -> usize {
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

    fn op(&self, to: usize, from: usize) -> Nb201Op {
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

fn unknown_op(name: &str) -> String {
    let known: Vec<_> = Nb201Op::ALL.iter().map(|op| op.name()).collect();
    format!("unknown operation '{name}' (expected one of {})", known.join(", "))
}

/// The NAS-Bench-201 cell space. It has no settings: the operation set is the benchmark's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nb201Space;

impl Nb201Space {
    /// All 15,625 cells, in index order.
    pub fn all() -> impl Iterator<Item = Nb201Arch> {
        (0..5usize.pow(EDGES as u32)).map(Nb201Arch::from_index)
    }

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

    /// The BANANAS path encoding: for every sequence of 1 to 3 non-`none` operations, how many
    /// input-to-output paths of the cell carry exactly that sequence (4 + 16 + 64 = 84 features).
    fn path_counts(arch: &Nb201Arch) -> Vec<f64> {
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

impl SearchSpace for Nb201Space {
    type Arch = Nb201Arch;
    const NAME: &'static str = "nb201";

    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Nb201Arch {
        Nb201Arch { ops: std::array::from_fn(|_| *Nb201Op::ALL.choose(rng).expect("five ops")) }
    }

    fn mutate<R: Rng + ?Sized>(&self, arch: &Nb201Arch, rng: &mut R) -> Nb201Arch {
        let mut child = *arch;
        let edge = rng.random_range(0..EDGES);
        let shift = rng.random_range(1..5);
        child.ops[edge] = Nb201Op::ALL[(arch.ops[edge].index() + shift) % 5];
        child
    }

    fn crossover<R: Rng + ?Sized>(&self, a: &Nb201Arch, b: &Nb201Arch, rng: &mut R) -> Nb201Arch {
        Nb201Arch { ops: std::array::from_fn(|edge| if rng.random_bool(0.5) { a.ops[edge] } else { b.ops[edge] }) }
    }

    fn neighbours(&self, arch: &Nb201Arch) -> Vec<Nb201Arch> {
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

    fn decision_sizes(&self) -> Vec<usize> {
        vec![5; EDGES]
    }

    fn to_decisions(&self, arch: &Nb201Arch) -> Vec<usize> {
        arch.ops.iter().map(|op| op.index()).collect()
    }

    fn from_decisions(&self, decisions: &[usize]) -> Nb201Arch {
        Nb201Arch { ops: std::array::from_fn(|edge| Nb201Op::ALL[decisions[edge] % 5]) }
    }

    fn encode_path(&self, arch: &Nb201Arch) -> Option<Vec<f64>> {
        Some(Self::path_counts(arch))
    }

    fn parse(&self, text: &str) -> Result<Nb201Arch, ParseError> {
        let text = text.trim();
        let groups: Vec<&str> = text.split('+').collect();
        if groups.len() != 3 {
            return Err(ParseError::new(format!(
                "nb201 architecture '{text}': expected 3 nodes separated by '+', found {}",
                groups.len()
            )));
        }
        let mut ops = [Nb201Op::None; EDGES];
        for (i, group) in groups.iter().enumerate() {
            let to = i + 1;
            let inner = group
                .strip_prefix('|')
                .and_then(|g| g.strip_suffix('|'))
                .filter(|g| !g.is_empty())
                .ok_or_else(|| {
                    ParseError::new(format!("nb201 architecture '{text}': node {to} '{group}' must look like |op~0|…|"))
                })?;
            let tokens: Vec<&str> = inner.split('|').collect();
            if tokens.len() != to {
                return Err(ParseError::new(format!(
                    "nb201 architecture '{text}': node {to} takes {to} inputs, found {}",
                    tokens.len()
                )));
            }
            let mut seen = [false; 3];
            for token in tokens {
                let (name, from) = token.split_once('~').ok_or_else(|| {
                    ParseError::new(format!("nb201 architecture '{text}': node {to}: '{token}' is not op~input"))
                })?;
                let from: usize = from.parse().ok().filter(|&f| f < to).ok_or_else(|| {
                    ParseError::new(format!(
                        "nb201 architecture '{text}': node {to}: input '{from}' must be a node number below {to}"
                    ))
                })?;
                if std::mem::replace(&mut seen[from], true) {
                    return Err(ParseError::new(format!(
                        "nb201 architecture '{text}': node {to} lists input {from} twice"
                    )));
                }
                let op = Nb201Op::from_name(name).ok_or_else(|| {
                    ParseError::new(format!("nb201 architecture '{text}': node {to}: {}", unknown_op(name)))
                })?;
                ops[to * (to - 1) / 2 + from] = op;
            }
        }
        Ok(Nb201Arch { ops })
    }

    fn print(&self, arch: &Nb201Arch) -> String {
        let mut out = String::with_capacity(96);
        for to in 1..=3 {
            if to > 1 {
                out.push('+');
            }
            out.push('|');
            for from in 0..to {
                out.push_str(arch.op(to, from).name());
                out.push('~');
                out.push(char::from(b'0' + from as u8));
                out.push('|');
            }
        }
        out
    }

    fn canonical(&self, arch: &Nb201Arch) -> String {
        let terms = Self::node_terms(arch, 3, &mut Default::default());
        if terms.is_empty() { "0".to_string() } else { terms.join("+") }
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

/// The benchmark's CIFAR network around a cell: a 3×3 stem convolution, three stages of `cells_per_stage`
/// cells with C, 2C and 4C channels joined by residual reduction blocks, batch norm + ReLU, global average
/// pooling and a linear classifier. Used for analytic parameter and FLOP counts (and by training).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nb201Network {
    pub channels: usize,
    pub cells_per_stage: usize,
    pub input_channels: usize,
    pub input_size: usize,
    pub classes: usize,
}

impl Default for Nb201Network {
    /// The benchmark's CIFAR-10 network: C = 16, N = 5, 3×32×32 inputs, 10 classes.
    fn default() -> Self {
        Nb201Network { channels: 16, cells_per_stage: 5, input_channels: 3, input_size: 32, classes: 10 }
    }
}

/// Parameters and multiply-accumulates of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkCost {
    /// Trainable parameters (batch-norm scale and shift included; running statistics not).
    pub params: u64,
    /// Multiply-accumulate operations of one forward pass on one input, counting convolutions and the
    /// classifier (the convention of the benchmark's own FLOP figures).
    pub flops: u64,
}

impl NetworkCost {
    pub(crate) fn conv(&mut self, c_in: usize, c_out: usize, kernel: usize, out_size: usize, batch_norm: bool) {
        let weights = (kernel * kernel * c_in * c_out) as u64;
        self.params += weights + if batch_norm { 2 * c_out as u64 } else { 0 };
        self.flops += weights * (out_size * out_size) as u64;
    }
}

impl Nb201Network {
    /// Parameters and FLOPs of the network with `arch` in every cell. Every edge's operation is
    /// counted as built, whether or not its output reaches the cell's output (as the benchmark counts).
    pub fn cost(&self, arch: &Nb201Arch) -> NetworkCost {
        let mut cost = NetworkCost::default();
        let mut size = self.input_size;
        let mut channels = self.channels;
        cost.conv(self.input_channels, channels, 3, size, true);
        for stage in 0..3 {
            if stage > 0 {
                // Residual reduction block: 3×3 stride 2, 3×3, and a 2×2 average pool + 1×1 shortcut.
                let out_channels = channels * 2;
                size = size.div_ceil(2);
                cost.conv(channels, out_channels, 3, size, true);
                cost.conv(out_channels, out_channels, 3, size, true);
                cost.conv(channels, out_channels, 1, size, false);
                channels = out_channels;
            }
            for _ in 0..self.cells_per_stage {
                for op in arch.ops {
                    match op {
                        Nb201Op::NorConv1x1 => cost.conv(channels, channels, 1, size, true),
                        Nb201Op::NorConv3x3 => cost.conv(channels, channels, 3, size, true),
                        Nb201Op::None | Nb201Op::SkipConnect | Nb201Op::AvgPool3x3 => {}
                    }
                }
            }
        }
        cost.params += 2 * channels as u64; // final batch norm
        let classifier = (channels * self.classes) as u64;
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

    const EXAMPLE: &str =
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";

    fn arch(text: &str) -> Nb201Arch {
        Nb201Space.parse(text).unwrap()
    }

    #[test]
    fn parses_and_prints_the_benchmark_format() {
        let a = arch(EXAMPLE);
        assert_eq!(a.ops[0], Nb201Op::NorConv3x3);
        assert_eq!(a.ops[2], Nb201Op::AvgPool3x3);
        assert_eq!(a.ops[5], Nb201Op::SkipConnect);
        assert_eq!(Nb201Space.print(&a), EXAMPLE);
        for a in Nb201Space::all() {
            assert_eq!(Nb201Space.parse(&Nb201Space.print(&a)).unwrap(), a);
            assert_eq!(Nb201Arch::from_index(a.index()), a);
        }
    }

    #[test]
    fn json_round_trips_and_names_bad_fields() {
        let a = arch(EXAMPLE);
        let json = Nb201Space.to_json(&a);
        assert!(json.contains("\"nodes\""), "{json}");
        assert_eq!(Nb201Space.from_json(&json).unwrap(), a);
        let err = Nb201Space.from_json(r#"{"nodes": [["conv"], ["none","none"], ["none","none","none"]]}"#);
        assert!(err.unwrap_err().message.contains("nodes[0][0]"));
        let err = Nb201Space.from_json(r#"{"nodes": [["none"], ["none"], ["none","none","none"]]}"#);
        assert!(err.unwrap_err().message.contains("node 2 takes 2 inputs"));
    }

    #[test]
    fn rejects_malformed_strings_with_the_reason() {
        let cases = [
            ("", "expected 3 nodes"),
            ("|none~0|+|none~0|none~1|", "expected 3 nodes"),
            ("|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv_9x9'"),
            ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 takes 2 inputs"),
            ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "below 1"),
            ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "twice"),
            ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must look like"),
            ("|none|+|none~0|none~1|+|none~0|none~1|none~2|", "not op~input"),
        ];
        for (text, expected) in cases {
            let err = Nb201Space.parse(text).unwrap_err();
            assert!(err.message.contains(expected), "{text}: {}", err.message);
        }
    }

    #[test]
    fn canonical_form_merges_equivalent_cells() {
        let canonical = |text: &str| Nb201Space.canonical(&arch(text));
        // Edges out of a node that never reaches the output do not matter.
        assert_eq!(
            canonical("|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|none~2|"),
            canonical("|nor_conv_1x1~0|+|skip_connect~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"),
        );
        // A node fed only by `none` edges is zero, so what it feeds vanishes.
        assert_eq!(
            canonical("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|"),
            canonical("|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"),
        );
        // Nodes 1 and 2 swap roles when they do not feed each other.
        assert_eq!(
            canonical("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_1x1~1|skip_connect~2|"),
            canonical("|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|nor_conv_1x1~2|"),
        );
        // A skip connection is the identity: conv after a skip is conv of the input.
        assert_eq!(
            canonical("|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|"),
            canonical("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"),
        );
        // Cells whose output is always zero are one network.
        assert_eq!(canonical("|nor_conv_3x3~0|+|nor_conv_3x3~1|none~0|+|none~0|none~1|none~2|"), "0");
        // Different operations, or a different wiring, stay different.
        assert_ne!(
            canonical("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"),
            canonical("|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|"),
        );
        assert_ne!(
            canonical(EXAMPLE),
            canonical("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
        );
        // Two parallel convolutions are two sets of weights: not one convolution.
        assert_ne!(
            canonical("|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|"),
            canonical("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"),
        );
    }

    #[test]
    fn canonical_classes_of_the_whole_space() {
        let classes: HashSet<String> = Nb201Space::all().map(|a| Nb201Space.canonical(&a)).collect();
        // Reported in the README; any change to the canonical rules must be deliberate.
        assert_eq!(classes.len(), 4930, "distinct networks among the 15,625 cells");
    }

    #[test]
    fn neighbours_mutation_and_crossover_stay_in_the_space() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        let a = arch(EXAMPLE);
        let neighbours = Nb201Space.neighbours(&a);
        assert_eq!(neighbours.len(), 24);
        assert!(neighbours.iter().all(|n| n.ops.iter().zip(a.ops).filter(|(x, y)| **x != *y).count() == 1));
        for _ in 0..200 {
            let m = Nb201Space.mutate(&a, &mut rng);
            assert!(neighbours.contains(&m));
            let b = Nb201Space.sample(&mut rng);
            let child = Nb201Space.crossover(&a, &b, &mut rng);
            assert!((0..EDGES).all(|e| child.ops[e] == a.ops[e] || child.ops[e] == b.ops[e]));
        }
    }

    #[test]
    fn encodings_have_fixed_length() {
        let a = arch(EXAMPLE);
        let onehot = Nb201Space.encode_onehot(&a);
        assert_eq!(onehot.len(), 30);
        assert_eq!(onehot.iter().sum::<f64>(), 6.0);
        let paths = Nb201Space.encode_path(&a).unwrap();
        assert_eq!(paths.len(), 84);
        // Paths: 0→3 skip; 0→1→3 conv3,conv3; 0→2→3 conv3,skip; 0→1→2→3 conv3,pool,skip.
        assert_eq!(paths.iter().sum::<f64>(), 4.0);
        let empty = arch("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
        assert_eq!(Nb201Space.encode_path(&empty).unwrap().iter().sum::<f64>(), 0.0);
        assert_eq!(Nb201Space.from_decisions(&Nb201Space.to_decisions(&a)), a);
    }

    #[test]
    fn network_cost_matches_the_benchmark() {
        let network = Nb201Network::default();
        let none = arch("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
        let conv =
            arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|");
        // Hand-computed: stem 464, reduction blocks 14,464 + 57,600, final BN 128, classifier 650.
        assert_eq!(network.cost(&none).params, 73_306);
        // Plus 6 convolutions of 9C²+2C per cell, 5 cells per stage, C = 16, 32, 64.
        assert_eq!(network.cost(&conv).params, 1_531_546);
        // Hand-computed multiply-accumulates (the benchmark lists 7.78 and 220.1 MFLOPs for these cells).
        assert_eq!(network.cost(&none).flops, 7_783_040);
        assert_eq!(network.cost(&conv).flops, 7_783_040 + 3 * 30 * 2_359_296);
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Any text either fails with a message or parses to a cell that prints back to an equivalent string.
        fn parses_consistently(text: &str) -> Result<(), TestCaseError> {
            if let Ok(arch) = Nb201Space.parse(text) {
                let printed = Nb201Space.print(&arch);
                prop_assert_eq!(Nb201Space.parse(&printed).unwrap(), arch);
            }
            Ok(())
        }

        fn token() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "|",
                "+",
                "~",
                "0",
                "1",
                "2",
                "3",
                "9",
                "none",
                "skip_connect",
                "nor_conv_1x1",
                "nor_conv_3x3",
                "avg_pool_3x3",
                " ",
                "~-1",
                "é",
            ])
            .prop_map(String::from)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn arbitrary_text_never_panics(text in any::<String>()) {
                parses_consistently(&text)?;
            }

            #[test]
            fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..40)) {
                parses_consistently(&tokens.concat())?;
            }

            #[test]
            fn json_of_any_shape_never_panics(nodes in prop::collection::vec(prop::collection::vec(token(), 0..4), 0..5)) {
                let json = serde_json::json!({ "nodes": nodes }).to_string();
                if let Ok(arch) = Nb201Space.from_json(&json) {
                    prop_assert_eq!(Nb201Space.from_json(&Nb201Space.to_json(&arch)).unwrap(), arch);
                }
            }
        }
    }
}
