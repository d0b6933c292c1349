//! The self-contained HTML page: one file with its style, its SVG plots and the table's sorting script
//! inline, so that it opens anywhere without a network.

use std::fmt::Write;

use crate::choices::choices_svg;
use crate::curves::curves_svg;
use crate::drawing::architecture_svg;
use crate::history::history_svg;
use crate::markup::{escape, rounded};
use crate::pareto::{hypervolume_svg, pareto_svg};
use crate::study_report::StudyReport;
use crate::trial_table::{SORT_SCRIPT, TablePage, trials_table_html};

const STYLE: &str = "
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1400px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
.note { color: #666; }
svg { max-width: 100%; height: auto; margin: 6px 12px 6px 0; vertical-align: top; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .chart-title { font-size: 13px; font-weight: 600; }
svg .axis-label { font-size: 12px; }
svg .empty { font-size: 14px; fill: #888; text-anchor: middle; }
svg .plot-area { fill: #fcfcfc; stroke: #ccc; }
svg .grid { stroke: #eee; }
svg .line { fill: none; stroke-width: 1.6; }
svg .band { fill-opacity: 0.18; stroke: none; }
svg .points circle { stroke-width: 1; fill-opacity: 0.75; }
svg .node ellipse { fill: #eef4fb; stroke: #1f77b4; stroke-width: 1.5; }
svg .layer rect { fill: #eef4fb; stroke: #1f77b4; stroke-width: 1.2; }
svg .edge { fill: none; stroke: #555; stroke-width: 1.4; }
svg .edge.absent { stroke: #bbb; stroke-dasharray: 4 3; }
svg .edge-label { font-size: 11px; fill: #8a2b06; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg .cell { font-size: 11px; } svg .muted { fill: #777; }
table.trials { border-collapse: collapse; font-size: 12px; }
table.trials th { cursor: pointer; background: #f3f3f3; position: sticky; top: 0; }
table.trials th, table.trials td { border: 1px solid #ddd; padding: 2px 6px; }
table.trials td.number { text-align: right; font-variant-numeric: tabular-nums; }
table.trials td.arch { font-family: ui-monospace, monospace; font-size: 11px; }
table.trials tr.pruned, table.trials tr.failed { color: #888; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dl.summary dt { font-weight: 600; }
";

/// A whole HTML document around `body`, with the report's style and the table's sorting script.
pub fn html_document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style>\
         </head><body>\n{body}\n<script>{SORT_SCRIPT}</script></body></html>\n",
        escape(title)
    )
}

fn section(html: &mut String, id: &str, title: &str, body: &str) {
    let _ = write!(html, "<section id=\"{id}\"><h2>{}</h2>\n{body}\n</section>\n", escape(title));
}

fn note(text: &str) -> String {
    format!("<p class=\"note\">{}</p>", escape(text))
}

/// The study's name, space, objectives, counts, best trial and hypervolume as an HTML definition list.
pub fn summary_html(report: &StudyReport) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("space", report.space.to_string()),
        ("objectives", report.objectives.objectives.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    ];
    if !report.objectives.constraints.is_empty() {
        let constraints = report.objectives.constraints.iter().map(ToString::to_string).collect::<Vec<_>>();
        rows.push(("constraints", constraints.join(", ")));
    }
    let counts = &report.counts;
    rows.push((
        "trials",
        format!(
            "{} in all: {} paid ({} failed, {} pruned), {} answered from the cache, {} running",
            report.trials.len(),
            counts.paid,
            counts.failed,
            report.pruned,
            counts.cache_hits,
            counts.running
        ),
    ));
    if let Some(best) = &report.best {
        let metrics = report
            .objectives
            .objectives
            .iter()
            .filter_map(|o| Some(format!("{} {}", o.metric, rounded(*best.trial.metrics.get(&o.metric)?))))
            .collect::<Vec<_>>();
        rows.push(("best trial", format!("{}: {}", best.trial.id, metrics.join(", "))));
        rows.push(("best architecture", best.trial.arch.clone()));
    }
    if let Some(hypervolume) = &report.hypervolume {
        let reference: Vec<String> =
            hypervolume.reference.iter().map(|(m, v)| format!("{m} = {}", rounded(*v))).collect();
        rows.push((
            "hypervolume",
            format!(
                "{:.6e} (reference: the worst feasible value of each objective, {})",
                hypervolume.value,
                reference.join(", ")
            ),
        ));
    }
    let mut html = String::from("<dl class=\"summary\">");
    for (name, value) in rows {
        let _ = write!(html, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(&value));
    }
    html.push_str("</dl>");
    html
}

/// The report of a study as one self-contained HTML page (every trial in the table).
pub fn render_page(report: &StudyReport) -> String {
    let title = format!("nasforge study '{}'", report.study);
    html_document(&title, &report_body(report, TablePage::ALL))
}

/// The report's content, from its title to the trial table with the rows of `table`: what a page shows.
pub fn report_body(report: &StudyReport, table: TablePage) -> String {
    let title = format!("nasforge study '{}'", report.study);
    let mut body = format!("<h1>{}</h1>\n", escape(&title));
    if report.is_empty() {
        body.push_str(&note(&format!("Study '{}' has no trials yet: nothing to report.", report.study)));
        body.push_str(&summary_html(report));
        return body;
    }
    body.push_str(&summary_html(report));
    section(&mut body, "history", "Optimisation history", &history_svg(&report.history));
    let pareto = match &report.pareto {
        Some(view) => format!("{}{}", pareto_svg(view), hypervolume_svg(view)),
        None => note("One objective: no Pareto front."),
    };
    section(&mut body, "pareto", "Pareto front and hypervolume", &pareto);
    let curves = match &report.curves {
        Some(curves) => {
            let shown = if curves.curves.len() < curves.trials_with_curves {
                note(&format!(
                    "{} of {} curves drawn, spread over the study.",
                    curves.curves.len(),
                    curves.trials_with_curves
                ))
            } else {
                String::new()
            };
            format!("{shown}{}", curves_svg(curves))
        }
        None => note("No trial reported intermediate results (the evaluator records none)."),
    };
    section(&mut body, "curves", "Learning curves", &curves);
    let choices = match &report.choices {
        Some(usage) => choices_svg(usage),
        None => note("No complete trial yet."),
    };
    section(&mut body, "choices", "Choices of the best trials", &choices);
    let best = match &report.best {
        Some(best) => format!(
            "<p>Trial {}: <code>{}</code></p>{}",
            best.trial.id,
            escape(&best.trial.arch),
            architecture_svg(&best.architecture)
        ),
        None => note("No complete trial yet."),
    };
    section(&mut body, "best", "Best architecture", &best);
    let table = format!(
        "{}{}",
        note("Click a column's header to sort by it."),
        trials_table_html(&report.trials, &report.table_metrics, table)
    );
    section(&mut body, "trials", "Trials", &table);
    body
}
