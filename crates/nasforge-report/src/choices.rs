//! Which choices the good architectures make: for each decision of the space (an NB201 edge, a DARTS
//! node's edge, a chain's layer position), how often each operation appears among the best trials on the
//! first objective, beside how often it appears among all complete trials.

use std::fmt::Write;

use nasforge_core::space::chain::LayerKind;
use nasforge_core::space::{ChainSettings, DartsArch, MbconvSettings, Nb201Op, darts, nb201};
use nasforge_core::{Objectives, TrialRecord};
use nasforge_engine::{SpaceConfig, scored_trials};

use crate::ReportError;
use crate::architecture::Architecture;
use crate::markup::escape;

/// One kind of decision: its slots (rows) and the choices each slot has (columns).
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceGroup {
    pub name: String,
    pub slots: Vec<String>,
    pub choices: Vec<String>,
    /// `top[slot][choice]`: how many of the best trials make that choice there.
    pub top: Vec<Vec<usize>>,
    /// `all[slot][choice]`: how many of all complete trials make it.
    pub all: Vec<Vec<usize>>,
}

impl ChoiceGroup {
    fn new(name: &str, slots: Vec<String>, choices: Vec<String>) -> ChoiceGroup {
        let empty = vec![vec![0; choices.len()]; slots.len()];
        ChoiceGroup { name: name.to_string(), slots, choices, top: empty.clone(), all: empty }
    }

    /// The share of the best trials, and of all trials, that make `choice` at `slot` (among those that have
    /// the slot: a chain's fifth layer only counts chains that deep); `None` where no trial has the slot.
    pub fn shares(&self, slot: usize, choice: usize) -> (Option<f64>, Option<f64>) {
        let share = |counts: &[usize]| {
            let total: usize = counts.iter().sum();
            (total > 0).then(|| counts[choice] as f64 / total as f64)
        };
        (share(&self.top[slot]), share(&self.all[slot]))
    }
}

/// The choices of a study's best trials against all of its complete trials.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceUsage {
    /// How many best trials were counted.
    pub top_trials: usize,
    /// How many complete trials were counted.
    pub all_trials: usize,
    pub groups: Vec<ChoiceGroup>,
}

/// One choice an architecture makes: in group `group`, slot `slot`, choice `choice` (indices).
struct Pick {
    group: usize,
    slot: usize,
    choice: usize,
}

impl ChoiceUsage {
    /// Counts the choices of the best `top_fraction` (at least one trial) of `trials`' paid complete trials
    /// on the first objective (feasible first), and of all of them; `None` without a complete trial.
    pub fn new(
        space: &SpaceConfig,
        trials: &[TrialRecord],
        objectives: &Objectives,
        top_fraction: f64,
    ) -> Result<Option<ChoiceUsage>, ReportError> {
        let mut scored = scored_trials(trials, objectives);
        if scored.is_empty() {
            return Ok(None);
        }
        scored.sort_by(|(_, a), (_, b)| a.violation.total_cmp(&b.violation).then(b.scores[0].total_cmp(&a.scores[0])));
        let top_trials = ((scored.len() as f64 * top_fraction).ceil() as usize).clamp(1, scored.len());
        let mut groups = layout(space);
        for (rank, (trial, _)) in scored.iter().enumerate() {
            for pick in picks(space, &Architecture::parse(space, trial.id, &trial.arch)?) {
                let group = &mut groups[pick.group];
                group.all[pick.slot][pick.choice] += 1;
                if rank < top_trials {
                    group.top[pick.slot][pick.choice] += 1;
                }
            }
        }
        Ok(Some(ChoiceUsage { top_trials, all_trials: scored.len(), groups }))
    }
}

fn names<T>(items: &[T], name: impl Fn(&T) -> String) -> Vec<String> {
    items.iter().map(name).collect()
}

/// The groups of a space, with no choice counted yet.
fn layout(space: &SpaceConfig) -> Vec<ChoiceGroup> {
    match space {
        SpaceConfig::Nb201 => vec![ChoiceGroup::new(
            "operation on each edge (node → node)",
            names(&nb201::EDGE_NODES, |(to, from)| format!("{from} → {to}")),
            names(&Nb201Op::ALL, |op| op.name().to_string()),
        )],
        SpaceConfig::Darts(darts) => {
            let slots = (0..darts::NODES).flat_map(|n| (1..=2).map(move |e| format!("node {}, edge {e}", n + 2)));
            let ops = names(darts.ops(), |op| op.name().to_string());
            darts::CELL_NAMES
                .iter()
                .map(|cell| {
                    ChoiceGroup::new(
                        &format!("{cell} cell: operation on each edge"),
                        slots.clone().collect(),
                        ops.clone(),
                    )
                })
                .collect()
        }
        SpaceConfig::Chain(chain) => {
            let settings = ChainSettings::from(chain.clone());
            vec![
                ChoiceGroup::new(
                    "layer type at each position",
                    (1..=settings.max_depth).map(|l| format!("layer {l}")).collect(),
                    names(LayerKind::ALL, |kind| kind.name().to_string()),
                ),
                ChoiceGroup::new(
                    "depth",
                    vec!["searched layers".to_string()],
                    (settings.min_depth..=settings.max_depth).map(|d| d.to_string()).collect(),
                ),
            ]
        }
        SpaceConfig::Mbconv(mbconv) => {
            let settings = MbconvSettings::from(mbconv.clone());
            let stages: Vec<String> = (1..=settings.stage_channels.len()).map(|s| format!("stage {s}")).collect();
            let blocks: Vec<String> = (1..=settings.stage_channels.len())
                .flat_map(|s| (1..=settings.max_depth).map(move |b| format!("stage {s}, block {b}")))
                .collect();
            vec![
                ChoiceGroup::new(
                    "depth of each stage",
                    stages,
                    (settings.min_depth..=settings.max_depth).map(|d| d.to_string()).collect(),
                ),
                ChoiceGroup::new(
                    "kernel of each block",
                    blocks.clone(),
                    names(&settings.kernels, |k| format!("{k}×{k}")),
                ),
                ChoiceGroup::new("expansion of each block", blocks, names(&settings.expansions, |e| format!("× {e}"))),
            ]
        }
    }
}

/// The choices `arch` makes, as indices into [`layout`]'s groups.
fn picks(space: &SpaceConfig, arch: &Architecture) -> Vec<Pick> {
    match (space, arch) {
        (_, Architecture::Nb201(cell)) => (cell.ops.iter().enumerate())
            .map(|(slot, op)| Pick { group: 0, slot, choice: Nb201Op::ALL.iter().position(|o| o == op).unwrap_or(0) })
            .collect(),
        (SpaceConfig::Darts(darts), Architecture::Darts(arch)) => darts_picks(darts.ops(), arch),
        (SpaceConfig::Chain(chain), Architecture::Chain(arch)) => {
            let min_depth = ChainSettings::from(chain.clone()).min_depth;
            let layers = (arch.layers.iter().enumerate()).filter_map(|(slot, layer)| {
                Some(Pick { group: 0, slot, choice: LayerKind::ALL.iter().position(|k| *k == layer.kind)? })
            });
            let depth = arch.layers.len().checked_sub(min_depth).map(|choice| Pick { group: 1, slot: 0, choice });
            layers.chain(depth).collect()
        }
        (SpaceConfig::Mbconv(mbconv), Architecture::Mbconv(arch)) => {
            let settings = MbconvSettings::from(mbconv.clone());
            let mut picks: Vec<Pick> = (arch.stages.iter().enumerate())
                .map(|(slot, blocks)| Pick { group: 0, slot, choice: blocks.len().saturating_sub(settings.min_depth) })
                .collect();
            for (stage, position, block) in arch.blocks() {
                let slot = stage * settings.max_depth + position;
                let kernel = settings.kernels.iter().position(|&k| k == block.kernel);
                let expansion = settings.expansions.iter().position(|&e| e == block.expansion);
                picks.extend(kernel.map(|choice| Pick { group: 1, slot, choice }));
                picks.extend(expansion.map(|choice| Pick { group: 2, slot, choice }));
            }
            picks
        }
        _ => vec![],
    }
}

fn darts_picks(ops: &[darts::DartsOp], arch: &DartsArch) -> Vec<Pick> {
    let mut picks = Vec::new();
    for (group, cell) in arch.cells().into_iter().enumerate() {
        for (node, pair) in cell.nodes.iter().enumerate() {
            for (edge, (op, _input)) in pair.iter().enumerate() {
                if let Some(choice) = ops.iter().position(|o| o == op) {
                    picks.push(Pick { group, slot: 2 * node + edge, choice });
                }
            }
        }
    }
    picks
}

const LABEL_WIDTH: usize = 150;
const CELL_WIDTH: usize = 112;
const ROW_HEIGHT: usize = 26;

/// One heat map per group: a cell per (slot, choice), shaded by the share of the best trials making that
/// choice, with that share and the share among all trials written in it. `<svg>` elements.
pub fn choices_svg(usage: &ChoiceUsage) -> String {
    let mut html = String::new();
    for group in &usage.groups {
        let width = LABEL_WIDTH + CELL_WIDTH * group.choices.len() + 8;
        let height = 56 + ROW_HEIGHT * group.slots.len();
        let _ = write!(
            html,
            "<svg class=\"heatmap\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\">\
             <title>{name}</title><text class=\"chart-title\" x=\"4\" y=\"18\">{name}: best {top} of {all} trials \
             (all complete trials in brackets)</text>",
            name = escape(&group.name),
            top = usage.top_trials,
            all = usage.all_trials,
        );
        for (c, choice) in group.choices.iter().enumerate() {
            let x = LABEL_WIDTH + CELL_WIDTH * c + CELL_WIDTH / 2;
            let _ = write!(
                html,
                "<text class=\"tick\" x=\"{x}\" y=\"44\" text-anchor=\"middle\">{}</text>",
                escape(choice)
            );
        }
        for (s, slot) in group.slots.iter().enumerate() {
            let y = 52 + ROW_HEIGHT * s;
            let _ = write!(html, "<text class=\"tick\" x=\"4\" y=\"{}\">{}</text>", y + 17, escape(slot));
            for c in 0..group.choices.len() {
                let x = LABEL_WIDTH + CELL_WIDTH * c;
                let (top, all) = group.shares(s, c);
                let percent = |share: Option<f64>| share.map_or("–".to_string(), |v| format!("{:.0}%", 100.0 * v));
                let _ = write!(
                    html,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"#1f77b4\" fill-opacity=\"{:.3}\" \
                     stroke=\"#ddd\"/><text class=\"cell\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}\
                     &#160;<tspan class=\"muted\" fill=\"#777\">(all {})</tspan></text>",
                    CELL_WIDTH - 2,
                    ROW_HEIGHT - 2,
                    0.05 + 0.75 * top.unwrap_or(0.0),
                    x + CELL_WIDTH / 2,
                    y + 17,
                    percent(top),
                    percent(all),
                );
            }
        }
        html.push_str("</svg>");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_trials::{objectives, trial};
    use nasforge_core::TrialState;

    fn cell_trial(id: u64, arch: &str, acc: f64) -> TrialRecord {
        let mut t = trial(id, TrialState::Complete, &[("acc", acc)], 0.0);
        t.arch = arch.to_string();
        t
    }

    #[test]
    fn the_best_trials_choices_are_counted_apart_from_all() {
        let conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
        let pool = "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|";
        let mut trials: Vec<TrialRecord> = (0..9).map(|i| cell_trial(i, pool, 50.0 + i as f64)).collect();
        trials.push(cell_trial(9, conv, 90.0));
        let usage = ChoiceUsage::new(&SpaceConfig::Nb201, &trials, &objectives(&["acc:max"]), 0.1).unwrap().unwrap();
        assert_eq!((usage.top_trials, usage.all_trials), (1, 10));
        let group = &usage.groups[0];
        assert_eq!(group.slots.len(), 6);
        let conv3 = group.choices.iter().position(|c| c == "nor_conv_3x3").unwrap();
        let pool3 = group.choices.iter().position(|c| c == "avg_pool_3x3").unwrap();
        assert_eq!(group.shares(0, conv3), (Some(1.0), Some(0.1)));
        assert_eq!(group.shares(5, pool3), (Some(0.0), Some(0.9)));
        let svg = choices_svg(&usage);
        assert!(svg.contains("100%") && svg.contains("nor_conv_3x3") && svg.contains("0 → 1"));
    }

    #[test]
    fn a_chain_counts_layer_types_by_position_and_depth() {
        let space = SpaceConfig::Chain(Default::default());
        let arch = "w0.75:conv3x3-c32-relu-bn-d0.1|bottleneck-k5-c64-swish-gn-s1|maxpool3x3-s2";
        let usage =
            ChoiceUsage::new(&space, &[cell_trial(0, arch, 1.0)], &objectives(&["acc:max"]), 0.5).unwrap().unwrap();
        let layer_counts: usize = usage.groups[0].all.iter().flatten().sum();
        let depth_counts: usize = usage.groups[1].all.iter().flatten().sum();
        assert_eq!((layer_counts, depth_counts), (3, 1));
        let conv = usage.groups[0].choices.iter().position(|c| c == "conv3x3").unwrap();
        assert_eq!(usage.groups[0].top[0][conv], 1);
    }

    #[test]
    fn an_unreadable_architecture_names_its_trial() {
        let trials = vec![cell_trial(4, "|conv~0|", 1.0)];
        let error = ChoiceUsage::new(&SpaceConfig::Nb201, &trials, &objectives(&["acc:max"]), 0.1).unwrap_err();
        assert!(error.to_string().contains("trial 4"), "{error}");
    }
}
