//! Test helpers of the nasforge crates (a dev-dependency, never published): one way for a test to find an
//! outside resource it needs — the NAS-Bench-201 table, Fashion-MNIST, a PostgreSQL server — or to be
//! skipped without it.
//!
//! ```
//! use nasforge_testkit::{Nb201Table, require};
//!
//! # fn uses(_: &std::path::Path) {}
//! # fn a_test() {
//! let Some(table) = require(Nb201Table) else { return };
//! uses(&table);
//! # }
//! ```
//!
//! Without the resource, [`require`] prints `skipped TEST: REASON` with `println!` and returns `None`,
//! and the test returns early and passes. Cargo captures what passing tests print: to see the skips, run
//! `cargo test -- --nocapture` (or `--show-output`). Under `CI=true` a missing resource is a failure
//! instead: [`require`] panics with the reason, so that CI never passes by skipping.

use std::path::{Path, PathBuf};

/// The variable naming the NAS-Bench-201 table (a CSV file); see [`Nb201Table`].
pub const NB201_TABLE_VARIABLE: &str = "NASFORGE_NB201_TABLE";

/// Where [`Nb201Table`] looks when [`NB201_TABLE_VARIABLE`] is unset, relative to the workspace root.
pub const NB201_TABLE_PATH: &str = "../shared/benchmarks/nb201/nb201_test_accuracy.csv";

/// Where the `dataset-fashion-mnist` package installs Fashion-MNIST (nasforge-train's `FASHION_MNIST_DIR`).
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The variable naming the test PostgreSQL server (a URL whose user may create databases). Set by
/// `eval "$(scripts/pg_test_cluster.sh start)"`.
pub const POSTGRES_VARIABLE: &str = "NASFORGE_TEST_POSTGRES";

/// The variable holding a shell command that restarts the test PostgreSQL server (printed by
/// `scripts/pg_test_cluster.sh start` too).
pub const POSTGRES_RESTART_VARIABLE: &str = "NASFORGE_TEST_POSTGRES_RESTART";

/// Something outside the repository that a test needs.
pub trait Resource {
    /// What the test gets: a path, a URL, a command.
    type Found;

    /// The resource, or why it is missing and how to provide it.
    fn find(&self) -> Result<Self::Found, String>;
}

/// The NAS-Bench-201 test-accuracy table: `$NASFORGE_NB201_TABLE`, else [`NB201_TABLE_PATH`] next to the
/// workspace. Gives the file's canonical path.
#[derive(Debug, Clone, Copy)]
pub struct Nb201Table;

impl Resource for Nb201Table {
    type Found = PathBuf;

    fn find(&self) -> Result<PathBuf, String> {
        let path = std::env::var_os(NB201_TABLE_VARIABLE)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join(NB201_TABLE_PATH));
        path.canonicalize()
            .map_err(|e| format!("the NB201 table is not at {} ({e}): set {NB201_TABLE_VARIABLE}", path.display()))
    }
}

/// The NAS-Bench-201 validation table (per-seed validation accuracies, training times): beside the test
/// table ([`Nb201Table`]: the same folder as `$NASFORGE_NB201_TABLE`, else next to the workspace), named
/// `nb201_validation.csv`. Gives the file's canonical path.
#[derive(Debug, Clone, Copy)]
pub struct Nb201ValidationTable;

/// The validation table's file name, in the folder of the test table.
pub const NB201_VALIDATION_FILE: &str = "nb201_validation.csv";

impl Resource for Nb201ValidationTable {
    type Found = PathBuf;

    fn find(&self) -> Result<PathBuf, String> {
        let test_table = Nb201Table.find()?;
        let path = test_table.with_file_name(NB201_VALIDATION_FILE);
        path.canonicalize().map_err(|e| {
            format!("the NB201 validation table is not at {} ({e}): it lies beside the test table", path.display())
        })
    }
}

/// Fashion-MNIST as `apt-get install dataset-fashion-mnist` installs it ([`FASHION_MNIST_DIR`]). Gives the
/// directory.
#[derive(Debug, Clone, Copy)]
pub struct FashionMnist;

impl Resource for FashionMnist {
    type Found = PathBuf;

    fn find(&self) -> Result<PathBuf, String> {
        let dir = Path::new(FASHION_MNIST_DIR);
        if dir.join("train-images-idx3-ubyte.gz").is_file() {
            Ok(dir.to_path_buf())
        } else {
            Err(format!(
                "Fashion-MNIST is not installed in {}: apt-get install -y dataset-fashion-mnist",
                dir.display()
            ))
        }
    }
}

/// The test PostgreSQL server: the URL in `$NASFORGE_TEST_POSTGRES`.
#[derive(Debug, Clone, Copy)]
pub struct Postgres;

impl Resource for Postgres {
    type Found = String;

    fn find(&self) -> Result<String, String> {
        non_empty_variable(POSTGRES_VARIABLE).ok_or_else(|| {
            format!(
                "{POSTGRES_VARIABLE} is not set: start a server with `eval \"$(scripts/pg_test_cluster.sh start)\"`"
            )
        })
    }
}

/// A shell command that restarts the test PostgreSQL server: `$NASFORGE_TEST_POSTGRES_RESTART`.
#[derive(Debug, Clone, Copy)]
pub struct PostgresRestart;

impl Resource for PostgresRestart {
    type Found = String;

    fn find(&self) -> Result<String, String> {
        non_empty_variable(POSTGRES_RESTART_VARIABLE).ok_or_else(|| {
            format!("{POSTGRES_RESTART_VARIABLE} is not set (`scripts/pg_test_cluster.sh start` prints it)")
        })
    }
}

/// The resource a test needs, or `None` (after printing `skipped TEST: REASON` on standard output, shown
/// by `cargo test -- --nocapture`) when it is missing: the test then returns early.
///
/// # Panics
///
/// When the resource is missing and `CI` is `true`: CI must run every test.
pub fn require<R: Resource>(resource: R) -> Option<R::Found> {
    let reason = match resource.find() {
        Ok(found) => return Some(found),
        Err(reason) => reason,
    };
    let test = test_name();
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {reason} (CI=true: this test must run, not be skipped)");
    }
    println!("skipped {test}: {reason}");
    None
}

/// The running test's name: libtest names the thread of each test after it.
fn test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => std::env::args().next().map_or_else(|| "a test".into(), |program| format!("a test of {program}")),
    }
}

/// The workspace's root directory (this crate is `crates/nasforge-testkit` in it).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn non_empty_variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Missing;

    impl Resource for Missing {
        type Found = ();

        fn find(&self) -> Result<(), String> {
            Err("it is never there".into())
        }
    }

    struct Present;

    impl Resource for Present {
        type Found = u8;

        fn find(&self) -> Result<u8, String> {
            Ok(7)
        }
    }

    fn under_ci() -> bool {
        std::env::var("CI").is_ok_and(|v| v == "true")
    }

    #[test]
    fn a_present_resource_is_given() {
        assert_eq!(require(Present), Some(7));
    }

    #[test]
    fn a_missing_resource_skips_or_fails_under_ci() {
        let outcome = std::panic::catch_unwind(|| require(Missing));
        match outcome {
            Ok(found) => {
                assert!(!under_ci());
                assert_eq!(found, None);
            }
            Err(panic) => {
                assert!(under_ci(), "require panicked outside CI");
                let message = panic.downcast_ref::<String>().unwrap();
                assert!(message.contains("a_missing_resource_skips_or_fails_under_ci"), "{message}");
                assert!(message.contains("it is never there") && message.contains("CI=true"), "{message}");
            }
        }
    }

    #[test]
    fn the_test_name_is_the_thread_name() {
        assert!(test_name().ends_with("the_test_name_is_the_thread_name"), "{}", test_name());
    }

    #[test]
    fn the_nb201_table_is_looked_for_next_to_the_workspace() {
        let root = workspace_root().canonicalize().unwrap();
        assert!(root.join("Cargo.toml").is_file() && root.join("crates").is_dir(), "{}", root.display());
        if std::env::var_os(NB201_TABLE_VARIABLE).is_none() {
            let message = Nb201Table.find().err().unwrap_or_default();
            assert!(message.is_empty() || message.contains("nb201_test_accuracy.csv"), "{message}");
        }
    }
}
