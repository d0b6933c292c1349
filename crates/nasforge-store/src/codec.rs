//! How values are written in a store. Metrics: a JSON object of numbers, lossless for every f64 (non-finite
//! values, which JSON numbers cannot hold, are the strings "NaN", "Infinity", "-Infinity"). u64 values (ids,
//! seeds, versions): the signed 64-bit integer with the same bits (SQLite INTEGER, PostgreSQL BIGINT).

use nasforge_core::Metrics;
use serde_json::{Map, Number, Value};

/// The JSON object text of `metrics`. Finite values are shortest round-trip numbers.
pub(crate) fn encode_metrics(metrics: &Metrics) -> String {
    let mut object = Map::with_capacity(metrics.len());
    for (name, &value) in metrics {
        let value = match Number::from_f64(value) {
            Some(number) => Value::Number(number),
            None if value.is_nan() => Value::String("NaN".into()),
            None if value > 0.0 => Value::String("Infinity".into()),
            None => Value::String("-Infinity".into()),
        };
        object.insert(name.clone(), value);
    }
    Value::Object(object).to_string()
}

/// Reads what [`encode_metrics`] wrote (also accepts integers and `null` as NaN, for hand-written rows).
pub(crate) fn decode_metrics(text: &str) -> Result<Metrics, String> {
    let object: Map<String, Value> =
        serde_json::from_str(text).map_err(|e| format!("metrics are not a JSON object ({e}): {}", clip(text)))?;
    let mut metrics = Metrics::new();
    for (name, value) in object {
        let number = match &value {
            Value::Number(n) => n.as_f64(),
            Value::Null => Some(f64::NAN),
            Value::String(s) => match s.as_str() {
                "NaN" => Some(f64::NAN),
                "Infinity" | "inf" => Some(f64::INFINITY),
                "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
                _ => None,
            },
            _ => None,
        };
        let number = number.ok_or_else(|| format!("metric '{name}' is not a number: {}", clip(&value.to_string())))?;
        metrics.insert(name, number);
    }
    Ok(metrics)
}

/// A u64 as the signed 64-bit integer with the same bits.
pub(crate) fn to_sql_u64(value: u64) -> i64 {
    value as i64
}

/// What [`to_sql_u64`] wrote.
pub(crate) fn from_sql_u64(value: i64) -> u64 {
    value as u64
}

fn clip(text: &str) -> String {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_f64_round_trips_bit_for_bit() {
        let values = [
            0.0,
            -0.0,
            1.0,
            0.1,
            1.0 / 3.0,
            93.37999725341797,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            1e300,
            -2.5e-300,
            f64::EPSILON,
            123_456_789.123_456_78,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let metrics: Metrics = values.iter().enumerate().map(|(i, &v)| (format!("m{i:02}"), v)).collect();
        let back = decode_metrics(&encode_metrics(&metrics)).unwrap();
        assert_eq!(back.len(), metrics.len());
        for (name, value) in &metrics {
            assert_eq!(back[name].to_bits(), value.to_bits(), "{name}: {value} came back as {}", back[name]);
        }
    }

    #[test]
    fn names_with_quotes_and_unicode_survive() {
        let metrics: Metrics =
            [("a \"quoted\" \\ name".to_string(), 1.5), ("精度 ✓".to_string(), 2.0), (String::new(), 3.0)]
                .into_iter()
                .collect();
        assert_eq!(decode_metrics(&encode_metrics(&metrics)).unwrap(), metrics);
        assert_eq!(encode_metrics(&Metrics::new()), "{}");
        assert_eq!(decode_metrics("{}").unwrap(), Metrics::new());
    }

    #[test]
    fn u64_values_keep_their_bits() {
        for value in [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            assert_eq!(from_sql_u64(to_sql_u64(value)), value);
        }
        assert_eq!(to_sql_u64(u64::MAX), -1);
    }

    #[test]
    fn bad_text_is_an_error() {
        assert!(decode_metrics("[1, 2]").unwrap_err().contains("not a JSON object"));
        assert!(decode_metrics("{\"a\": \"x\"}").unwrap_err().contains("metric 'a'"));
        assert!(decode_metrics("{\"a\": [1]}").is_err());
        assert!(decode_metrics("").is_err());
    }
}
