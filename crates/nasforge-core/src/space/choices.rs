//! The choice lists of space settings and the decimals of printed forms, shared by the spaces that have them.

use std::fmt;

use super::ParseError;

pub(crate) fn unknown(what: &str, name: &str, expected: &str) -> String {
    format!("unknown {what} '{name}' (expected one of {expected})")
}

/// A non-negative decimal that is a whole percentage, in percent.
pub(crate) fn percent_from_f64(value: f64) -> Option<u32> {
    let percent = value * 100.0;
    let rounded = percent.round();
    (value.is_finite() && value >= 0.0 && (percent - rounded).abs() < 1e-6 && rounded <= f64::from(u32::MAX))
        .then_some(rounded as u32)
}

/// Reads a decimal such as `0.75`, `1` or `0.10` exactly, in percent; `None` unless it is a whole percentage.
pub(crate) fn percent_from_text(text: &str) -> Option<u32> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None => (text, ""),
    };
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.bytes().skip(2).any(|b| b != b'0') {
        return None;
    }
    let hundredths: u32 = format!("{fraction:0<2}")[..2].parse().ok()?;
    whole_number(whole)?.try_into().ok().and_then(|w: u32| w.checked_mul(100)).and_then(|p| p.checked_add(hundredths))
}

/// Writes a percentage as the shortest decimal: 100 → `1`, 75 → `0.75`, 10 → `0.1`.
pub(crate) fn percent_text(percent: u32) -> String {
    let (whole, hundredths) = (percent / 100, percent % 100);
    match hundredths {
        0 => whole.to_string(),
        h if h % 10 == 0 => format!("{whole}.{}", h / 10),
        h => format!("{whole}.{h:02}"),
    }
}

pub(crate) fn percents_text(percents: &[u32]) -> String {
    percents.iter().map(|&p| percent_text(p)).collect::<Vec<_>>().join(", ")
}

/// A number written in ASCII digits only (no sign), that fits.
pub(crate) fn whole_number(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

pub(crate) fn numbers_text(numbers: &[usize]) -> String {
    numbers.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
}

/// Sorts a choice list of the setting `field` of the space `space`, rejecting an empty list, duplicates and values `allowed` refuses (it says why).
pub(crate) fn choice_list<T: Ord + Copy + fmt::Display>(
    space: &str,
    field: &str,
    values: impl IntoIterator<Item = T>,
    allowed: impl Fn(T) -> Result<(), String>,
) -> Result<Vec<T>, ParseError> {
    let mut list: Vec<T> = values.into_iter().collect();
    if list.is_empty() {
        return Err(ParseError::new(format!("{space} space setting `{field}`: the list is empty")));
    }
    for &value in &list {
        allowed(value).map_err(|why| ParseError::new(format!("{space} space setting `{field}`: {why}")))?;
    }
    list.sort_unstable();
    if let Some(pair) = list.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(ParseError::new(format!("{space} space setting `{field}`: {} is listed twice", pair[0])));
    }
    Ok(list)
}

/// Percentages of a list of decimals, each in `range` (percent) and whole.
pub(crate) fn percent_list(
    space: &str,
    field: &str,
    values: &[f64],
    range: std::ops::RangeInclusive<u32>,
    bounds: &str,
) -> Result<Vec<u32>, ParseError> {
    let mut percents = Vec::with_capacity(values.len());
    for &value in values {
        match percent_from_f64(value).filter(|p| range.contains(p)) {
            Some(p) => percents.push(p),
            None => {
                return Err(ParseError::new(format!(
                    "{space} space setting `{field}`: {value} must be {bounds} and a whole percentage"
                )));
            }
        }
    }
    choice_list(space, field, percents, |_| Ok(()))
}
