//! The chain's printed form `w<width>:layer|layer…`: reading it field by field with a located error for
//! each mistake, writing it, and the decimal and list formats its messages share.

use super::super::choices::{percent_from_text, percent_text, unknown, whole_number};
use super::{Activation, ChainArch, ChainLayer, ChainSpace, LayerKind, Norm, ParseError, SearchSpace};

/// Reads the fields of one printed layer, in order.
struct LayerReader<'a> {
    number: usize,
    kind: LayerKind,
    fields: std::iter::Peekable<std::str::Split<'a, char>>,
}

impl LayerReader<'_> {
    fn error(&self, message: String) -> ParseError {
        ParseError::new(format!("chain layer {}: {message}", self.number))
    }

    /// The next field, which the layer's type requires, read by `read`; `wrong` says why a field it refuses
    /// is wrong, unless the field is one the type does not take at all.
    fn required<T>(
        &mut self,
        what: &str,
        read: impl Fn(&str) -> Option<T>,
        wrong: impl Fn(&str) -> String,
    ) -> Result<T, ParseError> {
        let field = self.fields.next().ok_or_else(|| self.error(format!("{} needs {what}", self.kind)))?;
        read(field).ok_or_else(|| self.error(self.misplaced(field).unwrap_or_else(|| wrong(field))))
    }

    /// The next field if it starts with `prefix` (and is not a field the type does not take), read by `read`.
    fn optional<T>(
        &mut self,
        prefix: char,
        read: impl Fn(&str) -> Option<T>,
        form: &str,
    ) -> Result<Option<T>, ParseError> {
        let Some(&field) = self.fields.peek() else { return Ok(None) };
        let Some(value) = field.strip_prefix(prefix).filter(|_| self.misplaced(field).is_none()) else {
            return Ok(None);
        };
        self.fields.next();
        read(value).map(Some).ok_or_else(|| self.error(format!("'{field}' must be {form}")))
    }

    /// Why `field` is wrong when it is a field the layer's type does not take.
    fn misplaced(&self, field: &str) -> Option<String> {
        let kind = self.kind;
        let numbered = |prefix: char| field.strip_prefix(prefix).and_then(whole_number).is_some();
        if numbered('k') && !kind.chooses_kernel() {
            Some(format!("{kind} takes no kernel '{field}' (its type fixes its kernel)"))
        } else if numbered('c') && !kind.sets_channels() {
            Some(format!("{kind} takes no channels '{field}' (it keeps its input's channels)"))
        } else if (Activation::from_name(field).is_some() || Norm::from_name(field).is_some()) && !kind.has_weights() {
            Some(format!("{kind} takes no activation or norm '{field}' (it has no weights)"))
        } else {
            None
        }
    }
}

fn parse_layer(number: usize, text: &str) -> Result<ChainLayer, ParseError> {
    let mut fields = text.split('-');
    let name = fields.next().unwrap_or_default();
    let kind = LayerKind::from_name(name).ok_or_else(|| {
        ParseError::new(format!("chain layer {number}: {}", unknown("layer type", name, &LayerKind::names())))
    })?;
    let mut reader = LayerReader { number, kind, fields: fields.peekable() };
    let numbered = |prefix: char| move |field: &str| field.strip_prefix(prefix).and_then(whole_number);
    let expected = |what: &'static str| move |field: &str| format!("expected the {what} of {kind}, found '{field}'");
    let mut kernel = None;
    if kind.chooses_kernel() {
        kernel = Some(reader.required("a kernel k<size>", numbered('k'), expected("kernel k<size>"))?);
    }
    let mut channels = None;
    if kind.sets_channels() {
        channels = Some(reader.required("channels c<count>", numbered('c'), expected("channels c<count>"))?);
    }
    let (mut activation, mut norm) = (None, None);
    if kind.has_weights() {
        let names = Activation::names();
        activation =
            Some(reader.required("an activation", Activation::from_name, |f| unknown("activation", f, &names))?);
        let names = Norm::names();
        norm = Some(reader.required("a norm", Norm::from_name, |f| unknown("norm", f, &names))?);
    }
    let dropout_percent =
        reader.optional('d', percent_from_text, "a dropout in whole percent, like d0.1")?.unwrap_or(0);
    let skip = reader.optional('s', |v| whole_number(v).filter(|&d| d > 0), "a skip distance of 1 or more, like s1")?;
    if let Some(field) = reader.fields.next() {
        let message = reader.misplaced(field).unwrap_or_else(|| {
            format!(
                "unexpected field '{field}' (after {kind}'s own fields: optional d<dropout>, then s<skip distance>)"
            )
        });
        return Err(reader.error(message));
    }
    Ok(ChainLayer { kind, channels, kernel, activation, norm, dropout_percent, skip })
}

/// `type[-k<kernel>][-c<channels>][-<activation>-<norm>][-d<dropout>]`: a printed layer without its skip.
pub(super) fn layer_text(layer: &ChainLayer, channels: Option<usize>, dropout_percent: u32) -> String {
    let mut text = layer.kind.name().to_string();
    if let Some(k) = layer.kernel {
        text.push_str(&format!("-k{k}"));
    }
    if let Some(c) = channels {
        text.push_str(&format!("-c{c}"));
    }
    for name in [layer.activation.map(Activation::name), layer.norm.map(Norm::name)].into_iter().flatten() {
        text.push('-');
        text.push_str(name);
    }
    if dropout_percent > 0 {
        text.push_str(&format!("-d{}", percent_text(dropout_percent)));
    }
    text
}

pub(super) fn parse(space: &ChainSpace, text: &str) -> Result<ChainArch, ParseError> {
    let text = text.trim();
    let (header, body) = text.split_once(':').ok_or_else(|| {
        ParseError::new(format!("chain architecture '{text}': expected 'w<width multiplier>:' before the layers"))
    })?;
    let width_percent = header.strip_prefix('w').and_then(percent_from_text).ok_or_else(|| {
        ParseError::new(format!(
            "chain architecture '{text}': width multiplier '{header}' must look like w1 or w0.75 (whole percent)"
        ))
    })?;
    let layers = body
        .split('|')
        .enumerate()
        .map(|(i, layer)| parse_layer(i + 1, layer.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let arch = ChainArch { layers, width_percent };
    space.validate(&arch)?;
    Ok(arch)
}

pub(super) fn print(arch: &ChainArch) -> String {
    let mut out = format!("w{}:", percent_text(arch.width_percent));
    for (i, layer) in arch.layers.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        out.push_str(&layer_text(layer, layer.channels, layer.dropout_percent));
        if let Some(d) = layer.skip {
            out.push_str(&format!("-s{d}"));
        }
    }
    out
}
