//! Text in HTML and SVG: escaping, and numbers and times written for people.

/// `text` safe inside an HTML or SVG element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A metric for people: whole numbers as such, others with four significant decimals.
pub fn rounded(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 { format!("{value:.0}") } else { format!("{value:.4}") }
}

/// Seconds since the Unix epoch as an RFC 3339 UTC time (`2026-12-01T14:59:59Z`).
pub fn utc_time(seconds: f64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(seconds.max(0.0));
    humantime::format_rfc3339_seconds(time).to_string()
}

/// The unit a span of seconds reads best in: its divisor and name.
pub fn time_unit(span_seconds: f64) -> (f64, &'static str) {
    match span_seconds {
        s if s >= 2.0 * 3600.0 => (3600.0, "hours"),
        s if s >= 120.0 => (60.0, "minutes"),
        _ => (1.0, "seconds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn numbers_and_times_for_people() {
        assert_eq!(rounded(615_386.0), "615386");
        assert_eq!(rounded(93.43499999999999), "93.4350");
        assert_eq!(utc_time(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(time_unit(30.0), (1.0, "seconds"));
        assert_eq!(time_unit(600.0), (60.0, "minutes"));
        assert_eq!(time_unit(86_400.0), (3600.0, "hours"));
    }
}
