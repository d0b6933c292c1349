//! The dashboard's HTML: the list of studies and a study's page (the report's views, the trial table a page
//! at a time), each with a little script that polls the JSON API and redraws what changed.

use std::fmt::Write;

use nasforge_report::{StudyReport, TablePage, escape, html_document, report_body};
use serde_json::Value;

/// Trial-table rows per page.
pub(crate) const ROWS_PER_PAGE: usize = 100;
/// How often a page asks whether its study changed, in milliseconds.
const POLL_MS: u32 = 1000;

/// A path segment for a study name.
fn encoded(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The studies of the store, refreshed every second.
pub(crate) fn index(location: &str, studies: &[Value]) -> String {
    let mut body = format!(
        "<h1>nasforge dashboard</h1><p class=\"note\">Store {}: {} stud{}. This page follows it live \
         (<span id=\"status\">connected</span>).</p>",
        escape(location),
        studies.len(),
        if studies.len() == 1 { "y" } else { "ies" }
    );
    body.push_str(
        "<table class=\"trials\"><thead><tr><th>study</th><th>space</th><th>trials</th><th>paid</th><th>running</th>\
         <th>best</th></tr></thead><tbody id=\"studies\">",
    );
    for study in studies {
        body.push_str(&study_row(study));
    }
    body.push_str("</tbody></table>");
    let script = format!(
        "<script>\nfunction esc(s) {{ return String(s).replace(/[&<>\"]/g, c => ({{'&':'&amp;','<':'&lt;','>':'&gt;','\"':'&quot;'}})[c]); }}\n\
         async function poll() {{\n  try {{\n    const studies = await (await fetch('/api/studies')).json();\n    \
         document.getElementById('studies').innerHTML = studies.map(s => `<tr><td><a href=\"/study/${{encodeURIComponent(s.name)}}\">${{esc(s.name)}}</a></td>\
         <td>${{esc(s.space)}}</td><td class=\"number\">${{s.trials}}</td><td class=\"number\">${{s.paid}}</td><td class=\"number\">${{s.running}}</td>\
         <td>${{s.best ? esc(s.best.metric + ' ' + s.best.value.toPrecision(6) + ' (trial ' + s.best.trial + ')') : ''}}</td></tr>`).join('');\n    \
         document.getElementById('status').textContent = 'connected';\n  }} catch (e) {{\n    \
         document.getElementById('status').textContent = 'disconnected, retrying';\n  }}\n  setTimeout(poll, {POLL_MS});\n}}\n\
         setTimeout(poll, {POLL_MS});\n</script>"
    );
    body.push_str(&script);
    html_document("nasforge dashboard", &body)
}

fn study_row(study: &Value) -> String {
    let name = study["name"].as_str().unwrap_or_default();
    let best = match &study["best"] {
        Value::Null => String::new(),
        best => format!(
            "{} {:.6} (trial {})",
            best["metric"].as_str().unwrap_or_default(),
            best["value"].as_f64().unwrap_or(f64::NAN),
            best["trial"]
        ),
    };
    format!(
        "<tr><td><a href=\"/study/{}\">{}</a></td><td>{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td>\
         <td class=\"number\">{}</td><td>{}</td></tr>",
        encoded(name),
        escape(name),
        escape(study["space"].as_str().unwrap_or_default()),
        study["trials"],
        study["paid"],
        study["running"],
        escape(&best)
    )
}

/// The rows of trial-table page `page` (from 0).
pub(crate) fn table_page(page: usize) -> TablePage {
    TablePage { offset: page.saturating_mul(ROWS_PER_PAGE), limit: ROWS_PER_PAGE }
}

/// The views of a study (what the live page redraws): the report's sections with the trial table's page
/// `page` and links to its neighbours.
pub(crate) fn study_views(report: &StudyReport, page: usize) -> String {
    let rows = report.trials.len();
    let pages = rows.div_ceil(ROWS_PER_PAGE).max(1);
    let page = page.min(pages - 1);
    let first = page * ROWS_PER_PAGE;
    let mut pager = format!(
        "<p class=\"pager\">Trials {}–{} of {rows}. ",
        if rows == 0 { 0 } else { first + 1 },
        (first + ROWS_PER_PAGE).min(rows)
    );
    if page > 0 {
        let _ = write!(pager, "<a href=\"?page={}\">← previous</a> ", page - 1);
    }
    if page + 1 < pages {
        let _ = write!(pager, "<a href=\"?page={}\">next →</a>", page + 1);
    }
    pager.push_str("</p>");
    format!("{}{pager}", report_body(report, table_page(page)))
}

/// A study's live page.
pub(crate) fn study_page(report: &StudyReport, version: u64, page: usize) -> String {
    let name = &report.study;
    let body = format!(
        "<p><a href=\"/\">← all studies</a></p><p class=\"note\">Live: <span id=\"trial-count\">{trials}</span> \
         trials, refreshed as they arrive (<span id=\"status\">connected</span>).</p>\n<div id=\"views\">{views}</div>\n\
         <script>\nconst study = '/study/{path}';\nlet version = {version};\n\
         async function poll() {{\n  try {{\n    const now = await (await fetch('/api' + study)).json();\n    \
         document.getElementById('trial-count').textContent = now.trials;\n    \
         if (now.version !== version) {{\n      const views = await fetch(study + '/views' + location.search);\n      \
         if (views.ok) {{ document.getElementById('views').innerHTML = await views.text(); version = now.version; }}\n    }}\n    \
         document.getElementById('status').textContent = 'connected';\n  }} catch (e) {{\n    \
         document.getElementById('status').textContent = 'disconnected, retrying';\n  }}\n  setTimeout(poll, {POLL_MS});\n}}\n\
         setTimeout(poll, {POLL_MS});\n</script>",
        trials = report.trials.len(),
        views = study_views(report, page),
        path = encoded(name),
    );
    html_document(&format!("nasforge study '{name}'"), &body)
}

/// A page saying what went wrong.
pub(crate) fn problem(title: &str, message: &str) -> String {
    html_document(
        title,
        &format!("<p><a href=\"/\">← all studies</a></p><h1>{}</h1><p>{}</p>", escape(title), escape(message)),
    )
}
