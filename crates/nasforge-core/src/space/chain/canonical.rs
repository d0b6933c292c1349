//! The chain's canonical form: the deduplication key lists the network actually built (scaled channels,
//! skip sources as nodes, no-op identities dropped, dropout-only identities folded into the layer before).

use super::text::layer_text;
use super::{ChainArch, ChainLayer, LayerKind};

/// One entry of the canonical form: a layer that is built, its channels after the width multiplier, its
/// dropout (with a folded dropout layer's) and the canonical node its skip reads.
struct CanonicalEntry<'a> {
    layer: &'a ChainLayer,
    channels: Option<usize>,
    dropout_percent: u32,
    skip_from: Option<usize>,
}

pub(super) fn canonical(arch: &ChainArch) -> String {
    // alias[node] = the canonical node holding the same tensor; canonical node k ≥ 1 is entries[k - 1].
    let mut alias: Vec<usize> = vec![0];
    let mut entries: Vec<CanonicalEntry> = Vec::with_capacity(arch.layers.len());
    for (i, layer) in arch.layers.iter().enumerate() {
        let node = i + 1;
        let input = alias[i];
        let skip_from = layer.skip.map(|d| alias[node.saturating_sub(d)]);
        if layer.kind == LayerKind::Identity && skip_from.is_none() {
            if layer.dropout_percent == 0 {
                alias.push(input);
                continue;
            }
            let undropped_read_later = arch.layers[node..].iter().enumerate().any(|(j, later)| {
                let later_node = node + 1 + j;
                later
                    .skip
                    .and_then(|d| later_node.checked_sub(d))
                    .is_some_and(|from| from < node && alias[from] == input)
            });
            let previous = input
                .checked_sub(1)
                .map(|k| &mut entries[k])
                .filter(|previous| previous.dropout_percent == 0 && previous.skip_from.is_none());
            if let Some(previous) = previous.filter(|_| !undropped_read_later) {
                previous.dropout_percent = layer.dropout_percent;
                alias.push(input);
                continue;
            }
        }
        let channels = layer.channels.map(|c| arch.scaled_channels(c));
        entries.push(CanonicalEntry { layer, channels, dropout_percent: layer.dropout_percent, skip_from });
        alias.push(entries.len());
    }
    let mut key = String::from("stem");
    for entry in &entries {
        key.push('|');
        key.push_str(&layer_text(entry.layer, entry.channels, entry.dropout_percent));
        if let Some(from) = entry.skip_from {
            key.push_str(&format!("+{from}"));
        }
    }
    key
}
