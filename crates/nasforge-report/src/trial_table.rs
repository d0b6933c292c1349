//! The table of trials: id, state, the study's metrics, parameters, architecture and times, one row per
//! trial, a page at a time; its columns sort when their header is clicked (a little inline script).

use std::fmt::Write;

use nasforge_core::TrialRecord;

use crate::markup::{escape, rounded, utc_time};

/// Which rows to show: `limit` rows from row `offset` (by trial id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TablePage {
    pub offset: usize,
    pub limit: usize,
}

impl TablePage {
    /// Every row.
    pub const ALL: TablePage = TablePage { offset: 0, limit: usize::MAX };
}

/// The columns of the trial table: the study's metrics (objectives, then constraints) and `params` when
/// trials record it.
pub fn metric_columns(study_metrics: &[&str], trials: &[TrialRecord]) -> Vec<String> {
    let mut columns: Vec<String> = study_metrics.iter().map(|m| m.to_string()).collect();
    if !columns.iter().any(|c| c == "params") && trials.iter().any(|t| t.metrics.contains_key("params")) {
        columns.push("params".to_string());
    }
    columns
}

/// A cell that sorts by `key` (a number) and shows `text`.
fn numeric_cell(html: &mut String, key: impl std::fmt::Display, text: &str) {
    let _ = write!(html, "<td class=\"number\" data-sort=\"{key}\">{}</td>", escape(text));
}

/// The page of `trials` as an HTML `<table class="sortable">` with the `metrics` columns.
pub fn trials_table_html(trials: &[TrialRecord], metrics: &[String], page: TablePage) -> String {
    let mut html = String::from("<table class=\"sortable trials\"><thead><tr><th>id</th><th>state</th>");
    for metric in metrics {
        let _ = write!(html, "<th>{}</th>", escape(metric));
    }
    html.push_str(
        "<th>architecture</th><th>started (UTC)</th><th>seconds</th><th>cached from</th></tr></thead><tbody>",
    );
    for trial in trials.iter().skip(page.offset).take(page.limit) {
        let _ = write!(html, "<tr class=\"{state}\">", state = trial.state);
        numeric_cell(&mut html, trial.id, &trial.id.to_string());
        let _ = write!(html, "<td>{}</td>", trial.state);
        for metric in metrics {
            match trial.metrics.get(metric) {
                Some(&value) if value.is_finite() => numeric_cell(&mut html, value, &rounded(value)),
                _ => html.push_str("<td data-sort=\"\"></td>"),
            }
        }
        let _ = write!(html, "<td class=\"arch\">{}</td>", escape(&trial.arch));
        numeric_cell(&mut html, trial.started_at, &utc_time(trial.started_at));
        match trial.finished_at {
            Some(finished) => {
                numeric_cell(&mut html, finished - trial.started_at, &format!("{:.2}", finished - trial.started_at))
            }
            None => html.push_str("<td data-sort=\"\">running</td>"),
        }
        let _ = write!(html, "<td>{}</td></tr>", trial.cached_from.map(|c| c.to_string()).unwrap_or_default());
    }
    html.push_str("</tbody></table>");
    html
}

/// Sorts a `table.sortable` by the clicked column, numerically where cells carry `data-sort`; a second click
/// reverses the order. One listener on the document, so tables redrawn by a live page sort too.
pub const SORT_SCRIPT: &str = r#"document.addEventListener('click', function (event) {
    var th = event.target.closest('table.sortable th');
    if (!th) return;
    var table = th.closest('table'), body = table.tBodies[0], column = th.cellIndex;
    var ascending = th.dataset.order !== 'ascending';
    th.dataset.order = ascending ? 'ascending' : 'descending';
    var key = function (row) {
      var cell = row.cells[column];
      return cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent;
    };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
      var order = (isNaN(nx) || isNaN(ny)) ? String(x).localeCompare(String(y)) : nx - ny;
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
});"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_trials::trial;
    use nasforge_core::TrialState;

    #[test]
    fn one_row_per_trial_of_the_page() {
        let trials: Vec<TrialRecord> =
            (0..5).map(|i| trial(i, TrialState::Complete, &[("acc", 90.5), ("params", 1000.0)], 0.0)).collect();
        let metrics = metric_columns(&["acc"], &trials);
        assert_eq!(metrics, vec!["acc", "params"]);
        let all = trials_table_html(&trials, &metrics, TablePage::ALL);
        assert_eq!(all.matches("<tr class=").count(), 5);
        assert!(all.contains("data-sort=\"90.5\">90.5000</td>") && all.contains("<th>params</th>"));
        let page = trials_table_html(&trials, &metrics, TablePage { offset: 3, limit: 10 });
        assert_eq!(page.matches("<tr class=").count(), 2);
    }
}
