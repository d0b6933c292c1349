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
