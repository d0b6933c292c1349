//! PostgreSQL storage (`postgresql://user@host:port/db`, no TLS): the same studies, trials, intermediate
//! and final results as SQLite, for workers on many machines.
//!
//! Schema: created and migrated by nasforge itself (see [`schema`]).
//!
//! Concurrency: every decision is one transaction that first locks the study's row (`SELECT … FOR UPDATE`,
//! or the `UPDATE` that takes the next version), so claims, takeovers, results and version numbers of one
//! study are serialised while different studies do not wait for each other. Leases use the server's clock
//! (`clock_timestamp()`), so the workers' clocks need not agree.
//!
//! Connection loss: every operation runs on the storage's connection and, when the connection fails (the
//! server restarts, the network drops) or the server asks for a retry (serialization failure, deadlock),
//! reconnects and runs again with back-off (100 ms doubling to 5 s, for up to a minute by default; see
//! [`PostgresStorage::set_retry_limit`] and `NASFORGE_STORE_RETRY_SECONDS`). Which retries are safe:
//! reads are; `finish` is idempotent (its `WHERE owner = … AND state = 'running'` and, after an
//! uncertain commit, a check that the row already holds this result); `claim_new` after an uncertain
//! commit first looks for the trial it may have recorded (a running paid trial of this owner with this
//! canonical form, or a cache hit of this owner with this canonical form, seed and start time);
//! `claim_abandoned` for a running trial of this owner that this handle does not know; an intermediate
//! result of a trial this handle holds is written at its own step number (`ON CONFLICT DO NOTHING`);
//! lease renewal is idempotent; `create_study` after an uncertain commit accepts the study it finds
//! when its creation time is the one it wrote; `record_final_result` one it finds exactly as written.

mod conn;
pub(crate) mod schema;
mod statements;
#[cfg(test)]
mod tests;
mod trials;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use postgres::{Config, NoTls};

use self::conn::{OpError, PgConn, PgShared, describe, has_code, retrying};
use crate::codec::to_sql_u64;
use crate::error::StoreError;
use crate::rows::{self, Scope, final_result_from_row, study_from_row};
use crate::{FinalResultRecord, StudyRecord};

pub(crate) use self::conn::redact_url;
pub use self::conn::{DEFAULT_RETRY_LIMIT, RETRY_LIMIT_VARIABLE, postgres_retries};
pub use self::trials::PostgresTrialStore;

/// The schema version this build writes and reads (`schema_version` in `nasforge_meta`); older versions
/// are migrated when opened.
pub const POSTGRES_SCHEMA_VERSION: i64 = schema::HISTORY.current();

/// A PostgreSQL nasforge store. Clones share one connection; open another storage for a connection of
/// its own (one per worker thread that should not wait for the others).
#[derive(Debug, Clone)]
pub struct PostgresStorage {
    shared: Arc<PgShared>,
}

impl PostgresStorage {
    /// Connects to `url` (`postgresql://` or `postgres://`, without TLS), creating the schema in a database
    /// without one and migrating an older one. Refuses databases with a newer nasforge schema, or with
    /// tables named like ours but no nasforge schema record. Retries a server that cannot be reached for up
    /// to `retry_limit`.
    pub fn open(url: &str, retry_limit: Duration) -> Result<PostgresStorage, StoreError> {
        let location = redact_url(url);
        let mut config = Config::from_str(url)
            .map_err(|e| StoreError::BadUrl { location: location.clone(), message: describe(&e) })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.keepalives(true).keepalives_idle(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("nasforge");
        }
        let shared = PgShared::new(location, config, retry_limit);
        // The statements of a connection need the schema: create it through a connection of its own.
        retrying(&shared.location, retry_limit, |_| {
            schema::prepare_schema(&shared, &mut shared.config.connect(NoTls)?)
        })
        .map_err(|e| shared.op_error("creating or checking the schema", e))?;
        Ok(PostgresStorage { shared: Arc::new(shared) })
    }

    /// The URL without its password.
    pub fn location(&self) -> &str {
        &self.shared.location
    }

    /// How long operations retry a lost connection (for this storage and its trial stores).
    pub fn set_retry_limit(&self, limit: Duration) {
        self.shared.set_retry_limit(limit);
    }

    /// Creates a study; an error if the name is empty or taken, or the configuration is not JSON.
    pub fn create_study(&self, name: &str, space: &str, config_json: &str) -> Result<StudyRecord, StoreError> {
        let record = rows::new_study(self.location(), name, space, config_json)?;
        self.shared.check_text("the study name", name)?;
        self.shared.check_text("the space name", space)?;
        self.shared.check_text("the study configuration", config_json)?;
        self.shared.run("creating a study", |PgConn { client, st }, retry| {
            match client.execute(&st.create_study, &[&name, &space, &config_json, &record.created_at]) {
                Ok(_) => Ok(record.clone()),
                Err(e) if has_code(&e, "23505") => {
                    // After an uncertain commit, the study found may be the one this call wrote.
                    if retry
                        && let Some(row) = client.query_opt(&st.study, &[&name])?
                        && study_from_row(&row)? == record
                    {
                        return Ok(record.clone());
                    }
                    Err(OpError::Store(rows::study_exists(self.location(), name)))
                }
                Err(e) => Err(e.into()),
            }
        })
    }

    pub fn study(&self, name: &str) -> Result<Option<StudyRecord>, StoreError> {
        if name.contains('\0') {
            return Ok(None);
        }
        self.shared.run("reading a study", |PgConn { client, st }, _| {
            Ok(client.query_opt(&st.study, &[&name])?.map(|r| study_from_row(&r)).transpose()?)
        })
    }

    /// Every study, in creation order.
    pub fn studies(&self) -> Result<Vec<StudyRecord>, StoreError> {
        self.shared.run("listing studies", |PgConn { client, st }, _| {
            Ok(client.query(&st.studies, &[])?.iter().map(study_from_row).collect::<Result<_, _>>()?)
        })
    }

    pub fn update_study_config(&self, name: &str, config_json: &str) -> Result<(), StoreError> {
        rows::check_config(self.location(), name, config_json)?;
        self.shared.check_text("the study configuration", config_json)?;
        let changed = self.shared.run("updating a study's configuration", |PgConn { client, st }, _| {
            Ok(client.execute(&st.update_config, &[&name, &config_json])?)
        })?;
        if changed == 0 {
            return Err(rows::no_study(self.location(), name));
        }
        Ok(())
    }

    /// The id of study `name`, or a `NoStudy` error.
    fn study_id(&self, name: &str) -> Result<i64, StoreError> {
        let id: Option<i64> = if name.contains('\0') {
            None
        } else {
            self.shared.run("finding a study", |PgConn { client, st }, _| {
                Ok(client.query_opt(&st.study_id, &[&name])?.map(|r| r.try_get(0)).transpose()?)
            })?
        };
        id.ok_or_else(|| rows::no_study(self.location(), name))
    }

    /// The trials of study `name`, which must exist.
    pub fn trial_store(&self, name: &str) -> Result<PostgresTrialStore, StoreError> {
        Ok(PostgresTrialStore {
            shared: Arc::clone(&self.shared),
            study_id: self.study_id(name)?,
            scope: Scope { store: self.shared.location.clone(), study: name.to_string() },
            held: HashMap::new(),
        })
    }

    /// Records a result of study `study` obtained after its search (for trial `result.trial_id`, which must
    /// exist); the payload must be JSON.
    pub fn record_final_result(&self, study: &str, result: &FinalResultRecord) -> Result<(), StoreError> {
        rows::check_final_result(self.location(), study, result)?;
        self.shared.check_text("the study name", study)?;
        let trial = to_sql_u64(result.trial_id);
        let params: [&(dyn postgres::types::ToSql + Sync); 4] =
            [&study, &trial, &result.created_at, &result.payload_json];
        self.shared.run("recording a final result", |PgConn { client, st }, retry| {
            // After an uncertain commit, the result may be stored already.
            if retry && client.query_opt(&st.final_result_exists, &params)?.is_some() {
                return Ok(());
            }
            match client.execute(&st.put_final_result, &params) {
                Ok(0) => Err(OpError::Store(rows::no_study(self.location(), study))),
                Ok(_) => Ok(()),
                Err(e) if has_code(&e, "23503") => {
                    let scope = Scope { store: self.shared.location.clone(), study: study.to_string() };
                    Err(OpError::Store(scope.no_trial(result.trial_id)))
                }
                Err(e) => Err(e.into()),
            }
        })
    }

    /// The final results of study `study` (which must exist), in the order they were recorded.
    pub fn final_results(&self, study: &str) -> Result<Vec<FinalResultRecord>, StoreError> {
        self.study_id(study)?;
        self.shared.run("reading final results", |PgConn { client, st }, _| {
            Ok(client
                .query(&st.final_results, &[&study])?
                .iter()
                .map(final_result_from_row)
                .collect::<Result<_, _>>()?)
        })
    }
}
