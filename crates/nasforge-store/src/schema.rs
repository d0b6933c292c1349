//! What both backends share about schemas: a schema history (the schema a new store starts from, and the
//! migrations after it, one version each), which sorts a store's version into current, older (the
//! migrations it needs), newer (refused untouched) or unknown (a foreign database); the names of nasforge's
//! tables; and how a foreign database's tables are described.
//!
//! Each backend has its own history and version number (`sqlite::schema`, `postgres::schema`): a migration
//! that only one backend needs never makes the other's stores look newer or foreign.

use crate::error::StoreError;

/// One step of a schema history: from version `to - 1` to `to`.
#[derive(Debug)]
pub(crate) struct Migration {
    pub(crate) to: i64,
    /// What the step does, for errors ("migrating the store from schema version 1 to 2").
    pub(crate) action: &'static str,
    pub(crate) sql: &'static str,
}

/// The schema versions of one backend.
#[derive(Debug)]
pub(crate) struct History {
    /// The version `create` makes.
    pub(crate) created: i64,
    /// The schema a new store starts from; the migrations after `created` then run on it, so that a new
    /// store and a migrated one are the same.
    pub(crate) create: &'static str,
    /// In order, each one version after the one before; the first may start before `created` (stores of
    /// versions older than any new store).
    pub(crate) migrations: &'static [Migration],
}

impl History {
    /// The version this build writes.
    pub(crate) const fn current(&self) -> i64 {
        match self.migrations.last() {
            Some(last) => last.to,
            None => self.created,
        }
    }

    /// The oldest version this build migrates.
    const fn oldest(&self) -> i64 {
        match self.migrations.first() {
            Some(first) if first.to - 1 < self.created => first.to - 1,
            _ => self.created,
        }
    }

    /// The migrations after version `version`, in order (none for the current version).
    fn after(&self, version: i64) -> &'static [Migration] {
        let migrations: &'static [Migration] = self.migrations;
        let start = migrations.iter().position(|m| m.to > version).unwrap_or(migrations.len());
        &migrations[start..]
    }

    /// The migrations a new store runs after `create`.
    pub(crate) fn after_creation(&self) -> &'static [Migration] {
        self.after(self.created)
    }

    /// The migrations a store of schema version `found` needs (none when it is current). Newer versions
    /// are refused; versions this build never knew make the database foreign, `marker` saying what holds the
    /// version ("nasforge_meta names").
    pub(crate) fn plan(&self, store: &str, found: i64, marker: &str) -> Result<&'static [Migration], StoreError> {
        let current = self.current();
        if found > current {
            return Err(StoreError::NewerSchema { store: store.to_string(), found, supported: current });
        }
        if found < self.oldest() {
            return Err(StoreError::ForeignDatabase {
                store: store.to_string(),
                found: format!("{marker} unknown schema version {found}"),
            });
        }
        Ok(self.after(found))
    }
}

/// The tables of a nasforge store (what a database without the store's marker must not have).
pub(crate) const TABLES: [&str; 4] = ["studies", "trials", "intermediate", "final_results"];

/// The first six of `names`, then how many more: "a, b, c and 4 more".
pub(crate) fn list_names(names: &[String]) -> String {
    const SHOWN: usize = 6;
    let shown = names.iter().take(SHOWN).map(String::as_str).collect::<Vec<_>>().join(", ");
    match names.len().saturating_sub(SHOWN) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [Migration; 2] =
        [Migration { to: 2, action: "one to two", sql: "" }, Migration { to: 3, action: "two to three", sql: "" }];

    #[test]
    fn plans() {
        let history = History { created: 2, create: "", migrations: &STEPS };
        assert_eq!(history.current(), 3);
        let tos = |steps: &[Migration]| steps.iter().map(|m| m.to).collect::<Vec<_>>();
        assert_eq!(tos(history.plan("s", 1, "m").unwrap()), [2, 3]);
        assert_eq!(tos(history.plan("s", 2, "m").unwrap()), [3]);
        assert!(history.plan("s", 3, "m").unwrap().is_empty());
        assert_eq!(tos(history.after_creation()), [3]);
        let e = history.plan("s", 4, "m").unwrap_err();
        assert!(matches!(e, StoreError::NewerSchema { found: 4, supported: 3, .. }), "{e:?}");
        let e = history.plan("s", 0, "the marker names").unwrap_err();
        assert!(e.to_string().contains("the marker names unknown schema version 0"), "{e}");
        let only = History { created: 2, create: "", migrations: &[] };
        assert_eq!((only.current(), only.plan("s", 2, "m").unwrap().len()), (2, 0));
        assert!(only.plan("s", 1, "m").is_err());
    }

    #[test]
    fn names_are_listed() {
        let names: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();
        assert_eq!(list_names(&names[..2]), "t0, t1");
        assert_eq!(list_names(&names), "t0, t1, t2, t3, t4, t5 and 2 more");
    }
}
