//! The printed form `w<width>-r<resolution>[-t<threads>-b<batch>[-f16|-bf16]]:stage/stage…`, each stage `block,block…`, each block
//! `k<kernel>e<expansion>[-se]-<activation>`: reading it with a located error for each mistake, and writing it.

use super::super::choices::{percent_from_text, percent_text, unknown, whole_number};
use super::{Deployment, MbActivation, MbBlock, MbconvArch, MbconvSpace, ParseError, Precision, SearchSpace};

fn parse_block(stage: usize, number: usize, text: &str) -> Result<MbBlock, ParseError> {
    let error = |message: String| ParseError::new(format!("mbconv stage {stage}, block {number}: {message}"));
    let mut fields = text.split('-');
    let shape = fields.next().unwrap_or_default();
    let (kernel, expansion) = shape
        .strip_prefix('k')
        .and_then(|rest| rest.split_once('e'))
        .and_then(|(k, e)| Some((whole_number(k)?, whole_number(e)?)))
        .ok_or_else(|| error(format!("'{shape}' must look like k3e6 (kernel, then expansion ratio)")))?;
    let mut field = fields.next().ok_or_else(|| error(format!("'{text}' needs an activation, like {shape}-relu")))?;
    let se = field == "se";
    if se {
        field = fields.next().ok_or_else(|| error(format!("'{text}' needs an activation after se")))?;
    }
    let activation =
        MbActivation::from_name(field).ok_or_else(|| error(unknown("activation", field, &MbActivation::names())))?;
    if let Some(extra) = fields.next() {
        return Err(error(format!("unexpected field '{extra}' after the activation")));
    }
    Ok(MbBlock { kernel, expansion, se, activation })
}

pub(super) fn parse(space: &MbconvSpace, text: &str) -> Result<MbconvArch, ParseError> {
    let text = text.trim();
    let form = "w<width multiplier>-r<resolution>:, like w1-r0.75:";
    let (header, body) = text
        .split_once(':')
        .ok_or_else(|| ParseError::new(format!("mbconv architecture '{text}': expected {form} before the stages")))?;
    let mut fields = header.split('-');
    let width = fields.next().unwrap_or_default();
    let resolution = fields.next().unwrap_or_default();
    let percent = |field: &str, prefix: char, what: &str| {
        field.strip_prefix(prefix).and_then(percent_from_text).ok_or_else(|| {
            ParseError::new(format!(
                "mbconv architecture '{text}': {what} '{field}' must look like {prefix}1 or {prefix}0.75 (whole percent)"
            ))
        })
    };
    let width_percent = percent(width, 'w', "width multiplier")?;
    let resolution_percent = percent(resolution, 'r', "resolution")?;
    let deployment = match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (None, ..) => None,
        (Some(threads), Some(batch), precision, None) => {
            let number = |field: &str, prefix: char, what: &str| {
                field.strip_prefix(prefix).and_then(whole_number).filter(|&n| n > 0).ok_or_else(|| {
                    ParseError::new(format!("mbconv architecture '{text}': {what} '{field}' must look like {prefix}2"))
                })
            };
            let precision = match precision {
                None => Precision::F32,
                Some(name) => Precision::from_name(name).ok_or_else(|| {
                    ParseError::new(format!(
                        "mbconv architecture '{text}': {}",
                        unknown("precision", name, &Precision::names())
                    ))
                })?,
            };
            Some(Deployment {
                threads: number(threads, 't', "threads")?,
                batch: number(batch, 'b', "batch")?,
                precision,
            })
        }
        _ => {
            return Err(ParseError::new(format!(
                "mbconv architecture '{text}': after the resolution comes ':' or a deployment like -t2-b16 or \
                 -t2-b16-f16, not '{}'",
                header.splitn(3, '-').nth(2).unwrap_or_default()
            )));
        }
    };
    let stages = body
        .split('/')
        .enumerate()
        .map(|(s, stage)| {
            stage.split(',').enumerate().map(|(b, block)| parse_block(s + 1, b + 1, block.trim())).collect()
        })
        .collect::<Result<Vec<Vec<MbBlock>>, _>>()?;
    let arch = MbconvArch { width_percent, resolution_percent, stages, deployment };
    space.validate(&arch)?;
    Ok(arch)
}

pub(super) fn block_text(block: &MbBlock) -> String {
    let se = if block.se { "-se" } else { "" };
    format!("k{}e{}{se}-{}", block.kernel, block.expansion, block.activation.name())
}

pub(super) fn print(arch: &MbconvArch) -> String {
    let stages: Vec<String> =
        arch.stages.iter().map(|blocks| blocks.iter().map(block_text).collect::<Vec<_>>().join(",")).collect();
    let deployment = arch.deployment.map(deployment_text).unwrap_or_default();
    format!(
        "w{}-r{}{deployment}:{}",
        percent_text(arch.width_percent),
        percent_text(arch.resolution_percent),
        stages.join("/")
    )
}

/// `-t<threads>-b<batch>`, then `-f16` or `-bf16` when the precision is not f32.
fn deployment_text(deployment: Deployment) -> String {
    let precision =
        if deployment.precision.is_f32() { String::new() } else { format!("-{}", deployment.precision.name()) };
    format!("-t{}-b{}{precision}", deployment.threads, deployment.batch)
}
