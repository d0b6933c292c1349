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

/// The shared NAS-Bench-201 table. Under CI it must be there; elsewhere a test without it is skipped.
pub fn nb201_table() -> Option<PathBuf> {
    let path = std::env::var_os("NASFORGE_NB201_TABLE").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/benchmarks/nb201/nb201_test_accuracy.csv")
    });
    if path.exists() {
        return Some(path.canonicalize().unwrap());
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the NB201 table is missing at {}",
        path.display()
    );
    eprintln!("skipped: the NB201 table is not at {} (set NASFORGE_NB201_TABLE)", path.display());
    None
}
