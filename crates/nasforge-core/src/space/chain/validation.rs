//! Chain validation: checks that an architecture (read from JSON or text) obeys the space's settings,
//! naming the layer and field at fault.

use super::super::choices::{numbers_text, percent_text, percents_text};
use super::{ChainArch, ChainLayer, ChainSpace, ParseError};

impl ChainSpace {
    fn check_layer(&self, number: usize, layer: &ChainLayer) -> Result<(), ParseError> {
        let kind = layer.kind;
        let err = |message: String| Err(ParseError::new(format!("chain layer {number}: {message}")));
        let presence = [
            (
                "channels",
                layer.channels.is_some(),
                kind.sets_channels(),
                "a channel count",
                "it keeps its input's channels",
            ),
            ("kernel", layer.kernel.is_some(), kind.chooses_kernel(), "a kernel size", "its type fixes its kernel"),
            ("activation", layer.activation.is_some(), kind.has_weights(), "an activation", "it has no weights"),
            ("norm", layer.norm.is_some(), kind.has_weights(), "a norm", "it has no weights"),
        ];
        for (field, present, takes, needs, why_not) in presence {
            match (present, takes) {
                (true, false) => return err(format!("{kind} takes no {field} ({why_not})")),
                (false, true) => return err(format!("{kind} needs {needs}")),
                _ => {}
            }
        }
        if let Some(c) = layer.channels.filter(|c| !self.channels.contains(c)) {
            return err(format!("channels {c} is not among the choices ({})", numbers_text(&self.channels)));
        }
        if let Some(k) = layer.kernel.filter(|k| !self.kernels.contains(k)) {
            return err(format!("kernel {k} is not among the choices ({})", numbers_text(&self.kernels)));
        }
        if !self.dropout_percents.contains(&layer.dropout_percent) {
            return err(format!(
                "dropout {} is not among the choices ({})",
                percent_text(layer.dropout_percent),
                percents_text(&self.dropout_percents)
            ));
        }
        match layer.skip {
            Some(0) => err("skip distance 0: a skip reads 1 or more nodes back".into()),
            Some(d) if d > number => {
                err(format!("skip distance {d} reaches before the stem (at most {number} at layer {number})"))
            }
            Some(d) if d > self.max_skip_distance => {
                err(format!("skip distance {d} is above the space's maximum {}", self.max_skip_distance))
            }
            _ => Ok(()),
        }
    }
}

pub(super) fn validate(space: &ChainSpace, arch: &ChainArch) -> Result<(), ParseError> {
    let depth = arch.layers.len();
    if !(space.min_depth..=space.max_depth).contains(&depth) {
        return Err(ParseError::new(format!(
            "chain architecture: depth {depth} is outside the space's {}..={} layers",
            space.min_depth, space.max_depth
        )));
    }
    if !space.width_percents.contains(&arch.width_percent) {
        return Err(ParseError::new(format!(
            "chain architecture: width multiplier {} is not among the choices ({})",
            percent_text(arch.width_percent),
            percents_text(&space.width_percents)
        )));
    }
    arch.layers.iter().enumerate().try_for_each(|(i, layer)| space.check_layer(i + 1, layer))
}
