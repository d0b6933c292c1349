//! A small SVG chart: linear axes with round ticks, series drawn as points, lines or steps, shaded bands
//! and a legend. Every plot of a report is one of these, so they all look alike.

use std::fmt::Write;

use crate::markup::escape;

/// Colours of successive series, distinguishable in colour and in greyscale print.
pub const PALETTE: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// The grey of points that are shown but are not the point of a plot (pruned or infeasible trials).
pub const MUTED: &str = "#9a9a9a";

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 46.0;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    /// A dot per point; hollow dots for points of lesser interest.
    Points { hollow: bool },
    /// Straight segments between the points in order; dashed for points of lesser interest.
    Line { dashed: bool },
    /// Segments with dots on the points.
    LineAndPoints,
    /// A staircase: each value holds until the next point's x (a best-so-far line).
    Step,
}

/// One named series of (x, y) points; points with a non-finite coordinate are left out.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub style: Style,
    pub points: Vec<(f64, f64)>,
    /// A hover text per point (empty: none).
    pub tooltips: Vec<String>,
}

impl Series {
    pub fn new(name: impl Into<String>, color: &'static str, style: Style, points: Vec<(f64, f64)>) -> Series {
        Series { name: name.into(), color, style, points, tooltips: Vec::new() }
    }

    pub fn with_tooltips(mut self, tooltips: Vec<String>) -> Series {
        self.tooltips = tooltips;
        self
    }
}

/// A shaded area between a low and a high value at each x (a confidence interval).
#[derive(Debug, Clone)]
pub struct Band {
    pub color: &'static str,
    /// (x, low, high), by increasing x.
    pub points: Vec<(f64, f64, f64)>,
}

/// A chart with a title and axis labels.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
}

/// A linear map from data to pixels.
#[derive(Debug, Clone, Copy)]
struct Scale {
    low: f64,
    high: f64,
    from: f64,
    to: f64,
}

impl Scale {
    fn map(&self, value: f64) -> f64 {
        self.from + (value - self.low) / (self.high - self.low) * (self.to - self.from)
    }
}

impl Chart {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Chart {
        Chart { title: title.into(), x_label: x_label.into(), y_label: y_label.into(), series: vec![], bands: vec![] }
    }

    pub fn with(mut self, series: Series) -> Chart {
        self.series.push(series);
        self
    }

    pub fn with_band(mut self, band: Band) -> Chart {
        self.bands.push(band);
        self
    }

    /// The data's range on each axis (finite values only), or `None` without any finite point.
    fn ranges(&self) -> Option<((f64, f64), (f64, f64))> {
        let points = self.series.iter().flat_map(|s| s.points.iter().copied());
        let band_points = self.bands.iter().flat_map(|b| b.points.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]));
        let (mut x, mut y) = ((f64::INFINITY, f64::NEG_INFINITY), (f64::INFINITY, f64::NEG_INFINITY));
        for (px, py) in points.chain(band_points).filter(|(px, py)| px.is_finite() && py.is_finite()) {
            x = (x.0.min(px), x.1.max(px));
            y = (y.0.min(py), y.1.max(py));
        }
        (x.0 <= x.1).then_some((padded(x), padded(y)))
    }

    /// The chart as an `<svg>` element (inline in HTML: no namespace needed).
    pub fn to_svg(&self) -> String {
        let mut svg = format!(
            "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\">\
             <title>{}</title><text class=\"chart-title\" x=\"{LEFT}\" y=\"20\">{}</text>",
            escape(&self.title),
            escape(&self.title)
        );
        let Some((x_range, y_range)) = self.ranges() else {
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" class=\"empty\">no data yet</text></svg>",
                WIDTH / 2.0,
                HEIGHT / 2.0
            );
            return svg;
        };
        let x = Scale { low: x_range.0, high: x_range.1, from: LEFT, to: WIDTH - RIGHT };
        let y = Scale { low: y_range.0, high: y_range.1, from: HEIGHT - BOTTOM, to: TOP };
        self.axes(&mut svg, &x, &y);
        for band in &self.bands {
            band_svg(&mut svg, band, &x, &y);
        }
        for series in &self.series {
            series_svg(&mut svg, series, &x, &y);
        }
        self.legend(&mut svg);
        svg.push_str("</svg>");
        svg
    }

    fn axes(&self, svg: &mut String, x: &Scale, y: &Scale) {
        let (bottom, top) = (HEIGHT - BOTTOM, TOP);
        let _ = write!(
            svg,
            "<rect class=\"plot-area\" fill=\"#fcfcfc\" stroke=\"#ccc\" x=\"{LEFT}\" y=\"{top}\" width=\"{}\" height=\"{}\"/>",
            WIDTH - RIGHT - LEFT,
            bottom - top
        );
        let (x_ticks, x_step) = nice_ticks(x.low, x.high);
        for tick in x_ticks {
            let px = x.map(tick);
            let _ = write!(
                svg,
                "<line class=\"grid\" stroke=\"#eee\" x1=\"{px:.1}\" y1=\"{top}\" x2=\"{px:.1}\" y2=\"{bottom}\"/>\
                 <text class=\"tick\" x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                bottom + 16.0,
                tick_label(tick, x_step)
            );
        }
        let (y_ticks, y_step) = nice_ticks(y.low, y.high);
        for tick in y_ticks {
            let py = y.map(tick);
            let _ = write!(
                svg,
                "<line class=\"grid\" stroke=\"#eee\" x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{}\" y2=\"{py:.1}\"/>\
                 <text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                WIDTH - RIGHT,
                LEFT - 6.0,
                py + 4.0,
                tick_label(tick, y_step)
            );
        }
        let _ = write!(
            svg,
            "<text class=\"axis-label\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
             <text class=\"axis-label\" transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            (LEFT + WIDTH - RIGHT) / 2.0,
            HEIGHT - 8.0,
            escape(&self.x_label),
            (top + bottom) / 2.0,
            escape(&self.y_label)
        );
    }

    fn legend(&self, svg: &mut String) {
        let mut x = WIDTH - RIGHT;
        for series in self.series.iter().rev().filter(|s| !s.name.is_empty() && !s.points.is_empty()) {
            let width = 22.0 + 6.5 * series.name.chars().count() as f64;
            x -= width;
            let _ = write!(
                svg,
                "<g class=\"legend\"><rect x=\"{x:.1}\" y=\"12\" width=\"10\" height=\"10\" fill=\"{}\"/>\
                 <text x=\"{:.1}\" y=\"21\">{}</text></g>",
                series.color,
                x + 14.0,
                escape(&series.name)
            );
        }
    }
}

/// A range widened by 4% on each side, or by one unit around a single value.
fn padded((low, high): (f64, f64)) -> (f64, f64) {
    if high > low {
        let margin = (high - low) * 0.04;
        (low - margin, high + margin)
    } else {
        let margin = if low == 0.0 { 1.0 } else { low.abs() * 0.05 };
        (low - margin, high + margin)
    }
}

/// About five round ticks (1, 2 or 5 times a power of ten apart) inside `low..=high`, and their step.
pub fn nice_ticks(low: f64, high: f64) -> (Vec<f64>, f64) {
    let raw = (high - low) / 5.0;
    if !(raw.is_finite() && raw > 0.0) {
        return (vec![low], 1.0);
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = match raw / magnitude {
        r if r < 1.5 => 1.0,
        r if r < 3.0 => 2.0,
        r if r < 7.0 => 5.0,
        _ => 10.0,
    } * magnitude;
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    ((first..=last).map(|k| k as f64 * step).collect(), step)
}

/// A tick's text, with as many decimals as its step needs (scientific notation for large or tiny values).
pub fn tick_label(value: f64, step: f64) -> String {
    let magnitude = value.abs().max(step.abs());
    if magnitude >= 1e6 || (magnitude < 1e-3 && magnitude > 0.0) {
        return format!("{value:.1e}");
    }
    let decimals = (-step.log10().floor()).clamp(0.0, 6.0) as usize;
    let text = format!("{value:.decimals$}");
    if text == "-0" { "0".to_string() } else { text }
}

fn finite_points(series: &Series) -> impl Iterator<Item = (usize, (f64, f64))> + '_ {
    series.points.iter().copied().enumerate().filter(|(_, (x, y))| x.is_finite() && y.is_finite())
}

fn path_data(points: impl Iterator<Item = (f64, f64)>, x: &Scale, y: &Scale) -> String {
    let mut data = String::new();
    for (i, (px, py)) in points.enumerate() {
        let _ = write!(data, "{}{:.1},{:.1}", if i == 0 { "M" } else { " L" }, x.map(px), y.map(py));
    }
    data
}

fn series_svg(svg: &mut String, series: &Series, x: &Scale, y: &Scale) {
    let color = series.color;
    let line = |svg: &mut String, points: Vec<(f64, f64)>, dashed: bool| {
        let dash = if dashed { " stroke-dasharray=\"4 3\"" } else { "" };
        let _ = write!(
            svg,
            "<path class=\"line\" fill=\"none\" stroke-width=\"1.6\" d=\"{}\" stroke=\"{color}\"{dash}/>",
            path_data(points.into_iter(), x, y)
        );
    };
    match series.style {
        Style::Line { dashed } => line(svg, finite_points(series).map(|(_, p)| p).collect(), dashed),
        Style::LineAndPoints => line(svg, finite_points(series).map(|(_, p)| p).collect(), false),
        Style::Step => {
            let mut steps: Vec<(f64, f64)> = Vec::new();
            for (_, (px, py)) in finite_points(series) {
                if let Some(&(_, previous)) = steps.last() {
                    steps.push((px, previous));
                }
                steps.push((px, py));
            }
            line(svg, steps, false);
        }
        Style::Points { .. } => {}
    }
    let dots = match series.style {
        Style::Points { hollow } => Some(hollow),
        Style::LineAndPoints => Some(false),
        Style::Line { .. } | Style::Step => None,
    };
    if let Some(hollow) = dots {
        let paint = if hollow { format!("fill=\"none\" stroke=\"{color}\"") } else { format!("fill=\"{color}\"") };
        let _ = write!(svg, "<g class=\"points\" {paint}>");
        for (i, (px, py)) in finite_points(series) {
            let (cx, cy) = (x.map(px), y.map(py));
            match series.tooltips.get(i) {
                Some(tip) => {
                    let _ = write!(
                        svg,
                        "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"3\"><title>{}</title></circle>",
                        escape(tip)
                    );
                }
                None => {
                    let _ = write!(svg, "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"3\"/>");
                }
            }
        }
        svg.push_str("</g>");
    }
}

fn band_svg(svg: &mut String, band: &Band, x: &Scale, y: &Scale) {
    let finite: Vec<_> =
        band.points.iter().copied().filter(|(px, lo, hi)| px.is_finite() && lo.is_finite() && hi.is_finite()).collect();
    if finite.len() < 2 {
        return;
    }
    let upper = finite.iter().map(|&(px, _, hi)| (px, hi));
    let lower = finite.iter().rev().map(|&(px, lo, _)| (px, lo));
    let _ = write!(
        svg,
        "<path class=\"band\" fill-opacity=\"0.18\" d=\"{} Z\" fill=\"{}\"/>",
        path_data(upper.chain(lower), x, y),
        band.color
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        let (ticks, step) = nice_ticks(0.3, 9.7);
        assert_eq!(step, 2.0);
        assert_eq!(ticks, vec![2.0, 4.0, 6.0, 8.0]);
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(2e6, 1e6), "2.0e6");
        assert_eq!(nice_ticks(1.0, 1.0).0, vec![1.0]);
    }

    #[test]
    fn a_chart_without_finite_points_says_so() {
        let chart = Chart::new("t", "x", "y").with(Series::new("s", PALETTE[0], Style::Step, vec![(f64::NAN, 1.0)]));
        assert!(chart.to_svg().contains("no data yet"));
    }

    #[test]
    fn a_chart_draws_its_series_and_escapes_text() {
        let chart = Chart::new("a < b", "x", "y")
            .with(Series::new("best", PALETTE[0], Style::Step, vec![(0.0, 1.0), (2.0, 3.0)]))
            .with(Series::new("all", MUTED, Style::Points { hollow: true }, vec![(1.0, 2.0)]));
        let svg = chart.to_svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a &lt; b") && !svg.contains("a < b"));
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains(">best</text>") && svg.contains(">all</text>"));
    }
}
