//! What the binary's tests share: running `nasforge`, reading its JSON, and the shared NAS-Bench-201 table.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Runs the binary in `dir`, without the environment variables that would stand in for its flags.
pub fn nasforge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasforge"))
        .args(args)
        .current_dir(dir)
        .env_remove("NASFORGE_NB201_TABLE")
        .env_remove("NASFORGE_STORAGE")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// Runs a command that must succeed and returns its standard output.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = nasforge(dir, args);
    assert!(out.status.success(), "nasforge {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail, checks it did not panic, and returns its error output.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = nasforge(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "nasforge {args:?} should have failed");
    assert!(!stderr.contains("panicked"), "nasforge {args:?} panicked: {stderr}");
    stderr
}

pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The trials of a study, as `nasforge trials --json` prints them.
pub fn trials(dir: &Path, store: &str, study: &str) -> Vec<Value> {
    json(&ok(dir, &["trials", "--storage", store, "--study", study, "--json"])).as_array().unwrap().clone()
}

/// The shared NAS-Bench-201 table (`$NASFORGE_NB201_TABLE`, or next to the workspace), or `None` when the
/// test is skipped: see nasforge-testkit (under `CI=true` a missing table fails the test).
pub fn nb201_table() -> Option<PathBuf> {
    nasforge_testkit::require(nasforge_testkit::Nb201Table)
}

/// A new, empty database on the test server for one test (its storage URL), dropped when the test ends.
pub struct TestDatabase {
    server: String,
    name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn new(url: &str, test: &str) -> TestDatabase {
        let server = url.rsplit_once('/').map_or(url, |(base, _)| base).to_string();
        let name = format!("nasforge_{test}_{}", std::process::id());
        let sql = [format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), format!("CREATE DATABASE {name}")];
        assert!(psql(&server, &sql), "creating database {name} failed");
        TestDatabase { url: format!("{server}/{name}"), server, name }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        psql(&self.server, &[format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)]);
    }
}

/// Runs SQL statements (each outside a transaction) in the server's `postgres` database; whether all succeeded.
fn psql(server: &str, statements: &[String]) -> bool {
    let mut command = Command::new("psql");
    command.arg(format!("{server}/postgres")).args(["-v", "ON_ERROR_STOP=1", "-q", "-o", "/dev/null"]);
    for sql in statements {
        command.args(["-c", sql]);
    }
    // Without the notice that a database to drop does not exist.
    command.env("PGOPTIONS", "-c client_min_messages=warning").status().unwrap().success()
}
