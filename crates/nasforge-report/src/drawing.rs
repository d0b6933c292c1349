//! Drawings of one architecture as SVG: an NB201 cell and the two DARTS cells as graphs (nodes, and edges
//! labelled with their operation), a chain as a stack of layers with its skips, an mbconv network as a stack
//! of blocks with their shortcuts.

use std::fmt::Write;

use nasforge_core::space::chain::ChainLayer;
use nasforge_core::space::{ChainArch, DartsArch, DartsCell, DartsOp, MbconvArch, Nb201Arch, Nb201Op, darts, nb201};

use crate::architecture::Architecture;
use crate::markup::escape;

/// The architecture as `<svg>` elements (one per cell for DARTS).
pub fn architecture_svg(arch: &Architecture) -> String {
    match arch {
        Architecture::Nb201(cell) => nb201_svg(cell),
        Architecture::Darts(arch) => darts_svg(arch),
        Architecture::Chain(chain) => chain_svg(chain),
        Architecture::Mbconv(arch) => mbconv_svg(arch),
    }
}

/// A graph being drawn: edges first, so that nodes and labels sit on top.
struct Graph {
    edges: String,
    nodes: String,
}

impl Graph {
    fn new() -> Graph {
        Graph { edges: String::new(), nodes: String::new() }
    }

    fn node(&mut self, (x, y): (f64, f64), label: &str) {
        let _ = write!(
            self.nodes,
            "<g class=\"node\"><ellipse cx=\"{x:.1}\" cy=\"{y:.1}\" rx=\"30\" ry=\"17\" fill=\"#eef4fb\" stroke=\"#1f77b4\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            y + 4.0,
            escape(label)
        );
    }

    /// A curved edge from `from` to `to` bowed by `bow` pixels sideways, its label at the middle; a
    /// missing operation (`none`) is drawn dashed and grey.
    fn edge(&mut self, from: (f64, f64), to: (f64, f64), bow: f64, label: &str, absent: bool) {
        let (mx, my) = ((from.0 + to.0) / 2.0, (from.1 + to.1) / 2.0);
        let length = ((to.0 - from.0).powi(2) + (to.1 - from.1).powi(2)).sqrt().max(1.0);
        let (nx, ny) = (-(to.1 - from.1) / length, (to.0 - from.0) / length);
        // The control point at twice the bow puts the curve's middle at `bow` from the chord.
        let (cx, cy) = (mx + 2.0 * bow * nx, my + 2.0 * bow * ny);
        let (lx, ly) = (mx + bow * nx, my + bow * ny);
        let (class, paint) = if absent { ("edge absent", "#bbb\" stroke-dasharray=\"4 3") } else { ("edge", "#555") };
        let _ = write!(
            self.edges,
            "<path class=\"{class}\" fill=\"none\" stroke=\"{paint}\" d=\"M{:.1},{:.1} Q{cx:.1},{cy:.1} {:.1},{:.1}\" marker-end=\"url(#arrow)\"/>\
             <text class=\"edge-label\" x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            from.0,
            from.1,
            to.0,
            to.1,
            ly + 4.0,
            escape(label)
        );
    }

    fn to_svg(&self, title: &str, width: f64, height: f64) -> String {
        format!(
            "<svg class=\"architecture\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
             role=\"img\"><title>{title}</title>{ARROW}<text class=\"chart-title\" x=\"8\" y=\"18\">{title}</text>\
             {}{}</svg>",
            self.edges,
            self.nodes,
            title = escape(title)
        )
    }
}

/// The arrow head of edges (a local reference: `url(#arrow)` needs nothing outside the page).
const ARROW: &str = "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
                     markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/>\
                     </marker></defs>";

/// Nodes 0 (input) to 3 (output) on a line; each edge bows more the more nodes it skips, alternately above
/// and below.
fn nb201_svg(cell: &Nb201Arch) -> String {
    let position = |node: usize| (70.0 + 190.0 * node as f64, 170.0);
    let mut graph = Graph::new();
    for (&op, &(to, from)) in cell.ops.iter().zip(&nb201::EDGE_NODES) {
        let span = (to - from) as f64;
        let bow = match to - from {
            1 => 0.0,
            2 => -55.0,
            _ => 70.0 * span / 2.0,
        };
        let (a, b) = (position(from), position(to));
        // Edges end at the nodes' rims rather than their centres.
        graph.edge((a.0 + 30.0, a.1), (b.0 - 30.0, b.1), bow, op.name(), op == Nb201Op::None);
    }
    for node in 0..4 {
        let label = match node {
            0 => "input".to_string(),
            3 => "output".to_string(),
            n => format!("node {n}"),
        };
        graph.node(position(node), &label);
    }
    graph.to_svg("NB201 cell", 700.0, 300.0)
}

/// Each cell: the inputs c_{k-2} and c_{k-1} on the left, intermediate nodes 2–5 across, the output (their
/// concatenation) on the right.
fn darts_svg(arch: &DartsArch) -> String {
    arch.cells().iter().zip(darts::CELL_NAMES).map(|(cell, name)| darts_cell_svg(cell, name)).collect()
}

fn darts_cell_svg(cell: &DartsCell, name: &str) -> String {
    let position = |node: usize| match node {
        0 => (60.0, 90.0),
        1 => (60.0, 290.0),
        n => (230.0 + 150.0 * (n - 2) as f64, if n % 2 == 0 { 140.0 } else { 240.0 }),
    };
    let output = (230.0 + 150.0 * darts::NODES as f64, 190.0);
    let mut graph = Graph::new();
    for (i, pair) in cell.nodes.iter().enumerate() {
        let node = i + 2;
        for (edge, &(op, input)) in pair.iter().enumerate() {
            let bow = if edge == 0 { -18.0 } else { 18.0 };
            graph.edge(position(input), position(node), bow, op.name(), op == DartsOp::None);
        }
        graph.edge(position(node), output, 0.0, "", true);
    }
    for node in 0..darts::NODES + 2 {
        let label = match node {
            0 => "c_{k-2}".to_string(),
            1 => "c_{k-1}".to_string(),
            n => n.to_string(),
        };
        graph.node(position(node), &label);
    }
    graph.node(output, "c_{k}");
    graph.to_svg(&format!("DARTS {name} cell"), output.0 + 50.0, 360.0)
}

/// A layer's text: its type and the choices it has (`conv3x3 · 32 ch · relu · bn · dropout 10%`).
fn layer_text(layer: &ChainLayer) -> String {
    let mut parts = vec![layer.kind.name().to_string()];
    parts.extend(layer.kernel.map(|k| format!("{k}×{k}")));
    parts.extend(layer.channels.map(|c| format!("{c} ch")));
    parts.extend(layer.activation.map(|a| a.name().to_string()));
    parts.extend(layer.norm.map(|n| n.name().to_string()));
    if layer.dropout_percent > 0 {
        parts.push(format!("dropout {}%", layer.dropout_percent));
    }
    parts.join(" · ")
}

/// The stem, each layer and the classifier as boxes from top to bottom; a skip as an arc on the right from
/// the node it reads to the layer it is added to.
fn chain_svg(chain: &ChainArch) -> String {
    let mut boxes = vec![format!("stem (width × {})", chain.width_multiplier())];
    boxes.extend(chain.layers.iter().map(layer_text));
    boxes.push("pool · classifier".to_string());
    let skips: Vec<(usize, usize)> = (chain.layers.iter().enumerate())
        .filter_map(|(i, layer)| Some(((i + 1).checked_sub(layer.skip?)?, i + 1)))
        .collect();
    stack_svg("chain", &format!("chain of {} layers", chain.layers.len()), &boxes, &skips)
}

/// An mbconv network as a stack: resolution and stem, each block (the ones with a shortcut marked by a skip
/// around them), the head.
fn mbconv_svg(arch: &MbconvArch) -> String {
    let mut boxes = vec![format!(
        "resolution × {} · stem (width × {})",
        f64::from(arch.resolution_percent) / 100.0,
        f64::from(arch.width_percent) / 100.0
    )];
    let mut skips = Vec::new();
    for (stage, position, block) in arch.blocks() {
        // A stage's later blocks keep its channels at stride 1: their input is added to their output.
        if position > 0 {
            skips.push((boxes.len() - 1, boxes.len()));
        }
        let se = if block.se { " · SE" } else { "" };
        boxes.push(format!(
            "stage {} · MBConv k{} × {}{se} · {}",
            stage + 1,
            block.kernel,
            block.expansion,
            block.activation.name()
        ));
    }
    boxes.push("head 1×1 · pool · classifier".to_string());
    stack_svg("mbconv", &format!("mbconv network of {} blocks", boxes.len() - 2), &boxes, &skips)
}

/// Boxes stacked top to bottom with arrows between them, and skips `(from, to)` between boxes drawn as arcs
/// on the right.
fn stack_svg(title: &str, heading: &str, boxes: &[String], skips: &[(usize, usize)]) -> String {
    const BOX_WIDTH: f64 = 380.0;
    const BOX_HEIGHT: f64 = 30.0;
    const PITCH: f64 = 46.0;
    let top = |node: usize| 34.0 + PITCH * node as f64;
    let mut body = String::new();
    for (node, text) in boxes.iter().enumerate() {
        let y = top(node);
        let _ = write!(
            body,
            "<g class=\"layer\"><rect x=\"20\" y=\"{y:.1}\" width=\"{BOX_WIDTH}\" height=\"{BOX_HEIGHT}\" rx=\"5\" \
             fill=\"#eef4fb\" stroke=\"#1f77b4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            20.0 + BOX_WIDTH / 2.0,
            y + 20.0,
            escape(text)
        );
        if node + 1 < boxes.len() {
            let _ = write!(
                body,
                "<path class=\"edge\" fill=\"none\" stroke=\"#555\" d=\"M{x:.1},{:.1} L{x:.1},{:.1}\" marker-end=\"url(#arrow)\"/>",
                y + BOX_HEIGHT,
                top(node + 1),
                x = 20.0 + BOX_WIDTH / 2.0
            );
        }
    }
    for &(source, node) in skips {
        let (from, to) = (top(source) + BOX_HEIGHT / 2.0, top(node) + BOX_HEIGHT / 2.0);
        let reach = 30.0 + 12.0 * (node - source) as f64;
        let _ = write!(
            body,
            "<path class=\"edge skip\" fill=\"none\" stroke=\"#555\" d=\"M{r:.1},{from:.1} C{c:.1},{from:.1} {c:.1},{to:.1} {r:.1},{to:.1}\" \
             marker-end=\"url(#arrow)\"/><text class=\"edge-label\" x=\"{:.1}\" y=\"{:.1}\">+</text>",
            20.0 + BOX_WIDTH + reach * 0.75 + 4.0,
            (from + to) / 2.0 + 4.0,
            r = 20.0 + BOX_WIDTH,
            c = 20.0 + BOX_WIDTH + reach,
        );
    }
    let width = 20.0 + BOX_WIDTH + 30.0 + 12.0 * boxes.len().saturating_sub(1) as f64 + 20.0;
    let height = top(boxes.len()) + 10.0;
    format!(
        "<svg class=\"architecture\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\">\
         <title>{title}</title>{ARROW}<text class=\"chart-title\" x=\"8\" y=\"18\">{heading}</text>{body}</svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use nasforge_core::SearchSpace;
    use nasforge_core::space::{ChainSpace, DartsSpace, MbconvSpace, Nb201Space};

    #[test]
    fn an_nb201_cell_is_drawn_with_every_edges_operation() {
        let cell = Nb201Space.parse(crate::test_trials::CELL).unwrap();
        let svg = architecture_svg(&Architecture::Nb201(cell));
        assert_eq!(svg.matches("<path class=\"edge").count(), 6);
        for op in ["nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_1x1"] {
            assert!(svg.contains(&format!(">{op}</text>")), "{op}");
        }
        assert_eq!(svg.matches("<ellipse").count(), 4);
    }

    #[test]
    fn darts_cells_are_drawn_one_each() {
        let arch = DartsSpace::default().parse(darts::DARTS_V2).unwrap();
        let svg = architecture_svg(&Architecture::Darts(Box::new(arch)));
        assert_eq!(svg.matches("<svg").count(), 2);
        assert!(svg.contains("DARTS normal cell") && svg.contains("DARTS reduce cell"));
        assert!(svg.contains(">sep_conv_3x3</text>") && svg.contains(">max_pool_3x3</text>"));
    }

    #[test]
    fn a_chain_is_a_stack_with_its_skips() {
        let chain = ChainSpace::default()
            .parse("w0.75:conv3x3-c32-relu-bn-d0.1|bottleneck-k5-c64-swish-gn-s1|maxpool3x3-s2")
            .unwrap();
        let svg = architecture_svg(&Architecture::Chain(chain));
        assert_eq!(svg.matches("class=\"layer\"").count(), 5, "stem, three layers, classifier");
        assert_eq!(svg.matches("edge skip").count(), 2);
        assert!(svg.contains("conv3x3 · 32 ch · relu · bn · dropout 10%"));
    }

    #[test]
    fn an_mbconv_network_is_a_stack_of_blocks_with_their_shortcuts() {
        let arch = MbconvSpace::default()
            .parse("w0.75-r1:k3e3-relu,k5e6-se-hswish/k3e4-relu,k7e6-relu,k3e3-relu/k5e3-relu,k3e3-relu/k7e4-relu,k3e6-relu")
            .unwrap();
        let svg = architecture_svg(&Architecture::Mbconv(Box::new(arch)));
        assert_eq!(svg.matches("class=\"layer\"").count(), 2 + 9, "stem, nine blocks, head");
        assert_eq!(svg.matches("edge skip").count(), 9 - 4, "every block but each stage's first");
        assert!(svg.contains("stage 1 · MBConv k5 × 6 · SE · hswish"));
    }
}
