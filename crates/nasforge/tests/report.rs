//! `nasforge report` and `nasforge compare --html` through the binary: one self-contained HTML file with a
//! plot for each section, a row per trial and the best architecture drawn; the empty study; the refusals.

mod common;

use std::path::Path;

use common::{fails, nasforge, nb201_table, ok, trials};

/// Searches `trials` NB201 cells of the table in a new study (`extra` flags added).
fn table_search(dir: &Path, store: &str, study: &str, table: &Path, trials: &str, extra: &[&str]) {
    let mut args =
        vec!["search", "--storage", store, "--study", study, "--table", table.to_str().unwrap(), "--trials", trials];
    args.extend(extra);
    ok(dir, &args);
}

fn report(dir: &Path, store: &str, study: &str) -> String {
    let file = dir.join(format!("{study}.html"));
    ok(dir, &["report", "--storage", store, "--study", study, "-o", file.to_str().unwrap()]);
    std::fs::read_to_string(file).unwrap()
}

/// The part of the page between a section's opening tag and the next section.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<section id=\"{id}\">")).unwrap_or_else(|| panic!("no section {id}"));
    let end = html[start..].find("</section>").map_or(html.len(), |e| start + e);
    &html[start..end]
}

/// Opens without a network: nothing is fetched from anywhere.
fn assert_self_contained(html: &str) {
    for outside in ["http://", "https://", "src=", "<link", "@import"] {
        assert!(!html.contains(outside), "the page refers to something outside it: {outside}");
    }
}

#[test]
fn a_studys_report_has_every_section_a_row_per_trial_and_its_best_cell_drawn() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    table_search(dir.path(), &store, "one", &table, "30", &[]);
    let html = report(dir.path(), &store, "one");
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_self_contained(&html);
    assert_eq!(section(&html, "history").matches("<svg").count(), 2, "by trial and over time");
    assert!(section(&html, "pareto").contains("One objective"));
    assert!(section(&html, "choices").contains("<svg") && section(&html, "choices").contains("nor_conv_3x3"));
    assert!(section(&html, "curves").contains("No trial reported intermediate results"));
    let stored = trials(dir.path(), &store, "one");
    assert_eq!(section(&html, "trials").matches("<tr class=").count(), stored.len());
    let best = common::json(&ok(dir.path(), &["best", "--storage", &store, "--study", "one", "--json"]));
    let drawing = section(&html, "best");
    assert!(drawing.contains("<svg") && drawing.contains(&format!("Trial {}", best["id"])));
    // The cell's six operations label its six edges.
    let arch = best["arch"].as_str().unwrap();
    for op in arch.split('|').filter(|p| p.contains('~')).map(|p| p.split('~').next().unwrap()) {
        assert!(drawing.contains(&format!(">{op}</text>")), "{op} is not drawn in {drawing}");
    }
}

#[test]
fn a_study_with_two_objectives_shows_its_front_and_hypervolume() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let objectives = ["--strategy", "nsga2", "--objective", "cifar10:max", "--objective", "params:min"];
    table_search(dir.path(), &store, "two", &table, "30", &objectives);
    let html = report(dir.path(), &store, "two");
    assert_self_contained(&html);
    let pareto = section(&html, "pareto");
    assert_eq!(pareto.matches("<svg").count(), 2, "the front of the pair, the hypervolume over time");
    assert!(pareto.contains("params:min against cifar10:max") && pareto.contains("hypervolume"));
    assert!(html.contains("<dt>hypervolume</dt>"));
}

#[test]
fn an_empty_study_is_reported_as_such() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let table = table.to_str().unwrap();
    ok(dir.path(), &["study", "create", "--storage", &store, "--study", "empty", "--table", table, "--trials", "5"]);
    let html = report(dir.path(), &store, "empty");
    assert!(html.contains("has no trials yet"), "{html}");
    assert!(!html.contains("<section"));
}

#[test]
fn bad_inputs_are_refused_and_touch_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let out = out.to_str().unwrap();
    // No store: named, and not created.
    let missing = format!("sqlite:{}", dir.path().join("none.db").display());
    let e = fails(dir.path(), &["report", "--storage", &missing, "--study", "x", "-o", out]);
    assert!(e.contains("none.db"), "{e}");
    assert!(!dir.path().join("none.db").exists() && !dir.path().join("r.html").exists());

    let Some(table) = nb201_table() else { return };
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    table_search(dir.path(), &store, "one", &table, "3", &[]);
    let e = fails(dir.path(), &["report", "--storage", &store, "--study", "nope", "-o", out]);
    assert!(e.contains("no study 'nope'") && e.contains("one"), "{e}");
    assert!(!dir.path().join("r.html").exists());
    let unwritable = dir.path().join("no-such-dir").join("r.html");
    let e = fails(dir.path(), &["report", "--storage", &store, "--study", "one", "-o", unwritable.to_str().unwrap()]);
    assert!(e.contains("writing") && e.contains("no-such-dir"), "{e}");
    assert!(!dir.path().join("no-such-dir").exists());
    let status = nasforge(dir.path(), &["report", "--storage", &store, "--study", "one", "-o", out, "--top", "0"]);
    assert!(!status.status.success());
}

#[test]
fn compare_writes_regret_against_queries_with_bands() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compare.html");
    let table = table.to_str().unwrap();
    let args =
        ["compare", "--table", table, "--strategies", "random,evolution", "--queries", "5,10,20", "--seeds", "4"];
    let mut with_html = args.to_vec();
    with_html.extend(["--html", file.to_str().unwrap()]);
    ok(dir.path(), &with_html);
    let html = std::fs::read_to_string(&file).unwrap();
    assert_self_contained(&html);
    assert_eq!(html.matches("<svg").count(), 1);
    assert_eq!(html.matches("class=\"band\"").count(), 2, "one CI95 band per strategy");
    assert!(html.contains(">random</text>") && html.contains(">evolution</text>"));
    let mut bad = args.to_vec();
    bad.extend(["--html", "no-such-dir/compare.html"]);
    let e = fails(dir.path(), &bad);
    assert!(e.contains("no-such-dir"), "{e}");
}

#[test]
fn a_trained_studys_report_draws_its_learning_curves_with_the_pruned_ones_marked() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let training = ["--dataset", "synthetic", "--channels", "4", "--cells", "1", "--epochs", "4"];
    let asha = ["--scheduler", "asha", "--eta", "2", "--strategy", "random", "--trials", "8", "--seed", "4"];
    ok(dir.path(), &[&["search", "--storage", &store, "--study", "asha"][..], &training, &asha].concat());
    let stored = trials(dir.path(), &store, "asha");
    assert!(stored.iter().any(|t| t["state"] == "pruned"), "with η = 2 some trials stop at a rung");
    let html = report(dir.path(), &store, "asha");
    let curves = section(&html, "curves");
    assert!(curves.contains("<svg") && curves.contains("learning curves (val_accuracy)"), "{curves}");
    // The legend names both kinds, and pruned curves are dashed.
    assert!(curves.contains(">complete</text>") && curves.contains(">pruned</text>"), "{curves}");
    assert!(curves.contains("stroke-dasharray"), "no dashed (pruned) curve in {curves}");
}
