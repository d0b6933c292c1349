//! A store written by the previous release (before the engine library) opens and continues: its trials
//! are read back unchanged, and a continued study proposes what an uninterrupted run of the new code does.

mod common;

use std::path::Path;

use common::{nb201_table, ok, trials};
use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/previous_release.db");

fn archs(list: &[Value]) -> Vec<&str> {
    list.iter().map(|t| t["arch"].as_str().unwrap()).collect()
}

#[test]
fn a_store_of_the_previous_release_opens_and_continues() {
    let Some(table) = nb201_table() else { return };
    let table = table.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("previous.db");
    std::fs::copy(FIXTURE, &copy).unwrap();
    let store = format!("sqlite:{}", copy.display());
    let run = |dir: &Path, args: &[&str]| ok(dir, args);

    let before = trials(dir.path(), &store, "evolution");
    assert_eq!(before.len(), 20);
    assert!(before.iter().all(|t| t["state"] == "complete"), "{before:?}");
    let studies = run(dir.path(), &["studies", "--storage", &store]);
    assert!(studies.contains("evolution") && studies.contains("pareto"), "{studies}");

    // Continued with a larger budget (the stored table path is this machine's only by chance: say it).
    run(dir.path(), &["search", "--storage", &store, "--study", "evolution", "--trials", "30", "--table", table]);
    let after = trials(dir.path(), &store, "evolution");
    assert_eq!(after.iter().filter(|t| t["cached_from"].is_null()).count(), 30);
    assert_eq!(&after[..20], &before[..], "the previous release's trials changed");

    // The continuation is what the new code proposes uninterrupted with the same settings.
    let fresh = format!("sqlite:{}", dir.path().join("fresh.db").display());
    let args = ["search", "--space", "nb201", "--strategy", "evolution", "--table", table, "--metric", "cifar10"];
    run(dir.path(), &[&args[..], &["--trials", "30", "--seed", "3", "--storage", &fresh, "--study", "e"]].concat());
    assert_eq!(archs(&trials(dir.path(), &fresh, "e")), archs(&after));

    // The two-objective study continues too, and its front reads back.
    let pareto_before = trials(dir.path(), &store, "pareto");
    run(dir.path(), &["search", "--storage", &store, "--study", "pareto", "--trials", "25", "--table", table]);
    let pareto_after = trials(dir.path(), &store, "pareto");
    assert_eq!(&pareto_after[..pareto_before.len()], &pareto_before[..]);
    let front = common::json(&run(dir.path(), &["pareto", "--storage", &store, "--study", "pareto", "--json"]));
    assert!(!front.as_array().unwrap().is_empty());
}
