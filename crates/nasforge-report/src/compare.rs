//! The strategy comparison (`nasforge compare --html`): each strategy's mean regret against the number of
//! queries, and against simulated time when the comparison has it, with 95% confidence bands.

use nasforge_core::compare::StrategyComparison;

use crate::chart::{Band, Chart, PALETTE, Series, Style};
use crate::markup::escape;
use crate::page::html_document;

/// A strategy's name and the (x, mean regret, CI95 half-width) of each of its checkpoints.
type RegretLine<'a> = (&'a str, Vec<(f64, f64, f64)>);

fn regret_chart(title: &str, x_label: &str, lines: Vec<RegretLine>) -> String {
    let mut chart = Chart::new(title, x_label, "mean regret (95% CI)");
    for (k, (name, points)) in lines.into_iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let band = points.iter().map(|&(x, mean, ci)| (x, mean - ci, mean + ci)).collect();
        chart = chart.with_band(Band { color, points: band }).with(Series::new(
            name,
            color,
            Style::LineAndPoints,
            points.iter().map(|&(x, mean, _)| (x, mean)).collect(),
        ));
    }
    chart.to_svg()
}

/// Regret against paid queries, one line per strategy with its CI95 band: an `<svg>` chart.
pub fn regret_svg(results: &[StrategyComparison]) -> String {
    let lines = results
        .iter()
        .map(|r| (r.name.as_str(), r.checkpoints.iter().map(|c| (c.queries as f64, c.mean_regret, c.ci95)).collect()))
        .collect();
    regret_chart("regret of the returned cell against queries", "paid queries", lines)
}

/// Regret against simulated hours (when the comparison timed its runs), else nothing.
pub fn regret_over_time_svg(results: &[StrategyComparison]) -> String {
    if results.iter().all(|r| r.time_checkpoints.is_empty()) {
        return String::new();
    }
    let lines = results
        .iter()
        .map(|r| {
            let points = r.time_checkpoints.iter().map(|c| (c.seconds / 3600.0, c.mean_regret, c.ci95)).collect();
            (r.name.as_str(), points)
        })
        .collect();
    regret_chart("regret of the returned cell against simulated time", "simulated hours", lines)
}

/// The comparison as one self-contained HTML page; `description` says what was compared (one line).
pub fn render_compare_page(description: &str, results: &[StrategyComparison]) -> String {
    let body = format!(
        "<h1>nasforge strategy comparison</h1>\n<p class=\"note\">{}</p>\n{}{}",
        escape(description),
        regret_svg(results),
        regret_over_time_svg(results)
    );
    html_document("nasforge strategy comparison", &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nasforge_core::compare::Checkpoint;

    fn strategy(name: &str, regrets: &[(u64, f64, f64)]) -> StrategyComparison {
        StrategyComparison {
            name: name.to_string(),
            checkpoints: regrets
                .iter()
                .map(|&(queries, mean_regret, ci95)| Checkpoint {
                    queries,
                    mean_best: 0.0,
                    mean_search_value: 0.0,
                    mean_regret,
                    ci95,
                })
                .collect(),
            time_checkpoints: vec![],
            trials_per_second: 0.0,
        }
    }

    #[test]
    fn one_line_and_band_per_strategy() {
        let results =
            [strategy("random", &[(10, 3.0, 0.5), (20, 2.0, 0.4)]), strategy("tpe", &[(10, 2.5, 0.5), (20, 1.0, 0.3)])];
        let page = render_compare_page("nb201 <test>", &results);
        assert_eq!(page.matches("<svg").count(), 1, "no time checkpoints: one chart");
        assert_eq!(page.matches("class=\"band\"").count(), 2);
        assert!(page.contains(">random</text>") && page.contains(">tpe</text>"));
        assert!(page.contains("nb201 &lt;test&gt;"));
    }
}
