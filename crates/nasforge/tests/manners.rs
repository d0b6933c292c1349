//! How the binary behaves as a Unix tool, through the real binary: a closed pipe ends it quietly, off a
//! terminal a search logs one line per finished trial, reading never creates a store, a failed start
//! leaves nothing behind, counts must be positive, and listings come as readable tables or exact CSV/TSV.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{fails, json, nasforge, nb201_table, ok};

fn storage(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("studies.db").display())
}

/// A finished 300-trial study on the NB201 table.
fn study(dir: &Path, table: &str) -> String {
    let store = storage(dir);
    let args = ["search", "--table", table, "--metric", "cifar10", "--trials", "300", "--storage", &store];
    ok(dir, &[&args[..], &["--study", "s", "--strategy", "random"]].concat());
    store
}

#[test]
fn a_closed_pipe_ends_listings_quietly() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = study(dir.path(), table.to_str().unwrap());
    for command in ["trials", "pareto", "best"] {
        for format in ["table", "json", "csv"] {
            // The reader takes the first bytes and goes away, as `| head -c 10` does.
            let mut child = Command::new(env!("CARGO_BIN_EXE_nasforge"))
                .args([command, "--storage", &store, "--study", "s", "--format", format])
                .current_dir(dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut first = [0u8; 10];
            child.stdout.take().unwrap().read_exact(&mut first).unwrap();
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{command}: {stderr}");
            assert_ne!(out.status.code(), Some(101), "{command} --format {format} panicked");
        }
    }
}

#[test]
fn off_a_terminal_a_search_logs_each_trial() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = storage(dir.path());
    let args = ["search", "--table", table.to_str().unwrap(), "--metric", "cifar10", "--trials", "5"];
    let out = nasforge(dir.path(), &[&args[..], &["--storage", &store, "--study", "log"]].concat());
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    for id in 0..5 {
        assert!(log.contains(&format!("trial {id} complete cifar10=")), "trial {id} not logged: {log}");
    }
    assert!(log.contains("paid 5/5") && log.contains("best cifar10"), "{log}");
    assert!(!log.contains('\u{1b}'), "terminal colours in a log file: {log}");
    // The level is a flag: warnings only, and the trial lines are gone.
    let more = ["--storage", &store, "--study", "log", "--trials", "8", "--log-level", "warn"];
    let out = nasforge(dir.path(), &[&["search"][..], &more].concat());
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("trial 5"), "{:?}", out);
    // The summary counts this run's trials apart from the study's.
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("paid\t8") && summary.contains("paid_this_run\t3"), "{summary}");
}

#[test]
fn reading_never_creates_a_store_and_a_failed_start_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(dir.path());
    let file = dir.path().join("studies.db");
    for command in
        [&["best", "--storage", &store][..], &["trials", "--storage", &store], &["pareto", "--storage", &store]]
    {
        let error = fails(dir.path(), command);
        assert!(error.contains("no store at"), "{error}");
        assert!(!file.exists(), "{command:?} created the store");
    }
    let error = fails(dir.path(), &["studies", "--storage", &store]);
    assert!(error.contains("no store at"), "{error}");
    // A search whose table is missing fails before its first trial and leaves no store behind, not even
    // the default one in the working directory.
    let missing = dir.path().join("missing.csv");
    fails(dir.path(), &["search", "--table", missing.to_str().unwrap(), "--storage", &store]);
    assert!(!file.exists());
    fails(dir.path(), &["search", "--table", missing.to_str().unwrap()]);
    assert!(!dir.path().join("nasforge.db").exists());
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(entries.is_empty(), "left behind: {entries:?}");
}

#[test]
fn counts_must_be_positive() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value) in [("--trials", "0"), ("--trials", "-5"), ("--workers", "0"), ("--epochs", "-1")] {
        let error = fails(dir.path(), &["search", flag, value]);
        assert!(error.contains(&format!("invalid value '{value}' for '{flag}")), "{flag} {value}: {error}");
        assert!(!error.contains("unexpected argument"), "{error}");
    }
    let config = dir.path().join("zero.toml");
    std::fs::write(&config, "trials = 0\n").unwrap();
    let error = fails(dir.path(), &["search", "--config", config.to_str().unwrap()]);
    assert!(error.contains("trials must be at least 1"), "{error}");
    let error = fails(dir.path(), &["search", "--time-budget", "soon"]);
    assert!(error.contains("time budget 'soon' is not a duration") && !error.contains("expected number"), "{error}");
}

#[test]
fn listings_are_readable_tables_or_exact_machine_formats() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = study(dir.path(), table.to_str().unwrap());
    let exact = json(&ok(dir.path(), &["trials", "--storage", &store, "--study", "s", "--json"]));
    let exact = exact.as_array().unwrap();

    // For people: the useful columns, rounded, no trailing spaces.
    let text = ok(dir.path(), &["trials", "--storage", &store, "--study", "s"]);
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["id", "state", "cifar10", "params", "flops", "cached_from", "arch"]);
    assert!(text.lines().all(|line| line == line.trim_end()), "trailing spaces");
    let first_row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    let accuracy = exact[0]["metrics"]["cifar10"].as_f64().unwrap();
    assert_eq!(first_row[2], format!("{accuracy:.4}"));

    // For programs: every digit, and the columns asked for.
    let csv = ok(dir.path(), &["trials", "--storage", &store, "--study", "s", "--format", "csv"]);
    let mut rows = csv.lines();
    assert_eq!(rows.next().unwrap(), "id,state,cifar10,params,flops,cached_from,arch");
    let first: Vec<&str> = rows.next().unwrap().split(',').collect();
    assert_eq!(first[2].parse::<f64>().unwrap(), accuracy, "CSV values are exact");
    assert_eq!(csv.lines().count(), exact.len() + 1);
    let tsv = ok(
        dir.path(),
        &["trials", "--storage", &store, "--study", "s", "--format", "tsv", "--columns", "id,arch,params"],
    );
    let line: Vec<&str> = tsv.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!(line[..2], [exact[0]["id"].to_string().as_str(), exact[0]["arch"].as_str().unwrap()]);
    assert_eq!(line[2].parse::<f64>().unwrap(), exact[0]["metrics"]["params"].as_f64().unwrap());

    // A column nobody records is refused, naming what there is.
    let error = fails(dir.path(), &["trials", "--storage", &store, "--study", "s", "--columns", "id,acuracy"]);
    assert!(error.contains("no column `acuracy`") && error.contains("cifar10"), "{error}");

    // Studies: a readable creation time and the trial counts.
    let studies = ok(dir.path(), &["studies", "--storage", &store]);
    let row: Vec<&str> = studies.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[0], "s");
    assert!(row[2].ends_with('Z') && row[2].contains('T'), "{studies}");
    assert_eq!(row[4], "300", "{studies}");
}

#[test]
fn an_unreachable_postgresql_server_is_announced_with_its_retry_limit() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: the connection is refused at once, and retried for the limit.
    let out = Command::new(env!("CARGO_BIN_EXE_nasforge"))
        .args(["studies", "--storage", "postgresql://nasforge@127.0.0.1:1/nowhere"])
        .current_dir(dir.path())
        .env("NASFORGE_STORE_RETRY_SECONDS", "2")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PostgreSQL at postgresql://nasforge@127.0.0.1:1/nowhere"), "{stderr}");
    assert!(stderr.contains("retrying for up to 2 s") && stderr.contains("NASFORGE_STORE_RETRY_SECONDS"), "{stderr}");
}
