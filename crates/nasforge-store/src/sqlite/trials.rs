//! The trials of one study in an SQLite store: claims, takeovers, results and learning curves, each one
//! transaction, and the lease keeper's renewals.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use nasforge_core::study::{Claim, Lease, is_paused, now_seconds};
use nasforge_core::{Metrics, TrialRecord, TrialState};
use rusqlite::{Connection, params};

use super::open::reopen;
use super::sql::*;
use super::{Shared, has_extended_code};
use crate::codec::{encode_metrics, from_sql_u64, to_sql_u64};
use crate::error::StoreError;
use crate::lease::{Keeper, Renewal, is_abandoned, renew_interval};
use crate::rows::{self, HitSource, Scope, cache_hit_record, claim_of, claimed_record, trial_from_row};

/// The trials of one study in an SQLite store. It shares the storage's connection (a lease keeper opens its
/// own); every write is one committed transaction.
#[derive(Debug)]
pub struct SqliteTrialStore {
    pub(super) shared: Arc<Shared>,
    pub(super) study_id: i64,
    pub(super) scope: Scope,
    /// Trials this handle claimed and has not finished, with the lease owner: intermediate results for them
    /// are only stored while that lease holds.
    pub(super) held: HashMap<u64, String>,
}

crate::trial_store_through_inherent_methods!(SqliteTrialStore);

/// Lease end of a lease starting now.
fn lease_end(lease_duration: Duration) -> f64 {
    now_seconds() + lease_duration.as_secs_f64()
}

impl SqliteTrialStore {
    pub fn study_name(&self) -> &str {
        &self.scope.study
    }

    /// Trials of the study (all, or those changed after a version, by version) with their versions and
    /// intermediate results in step order, read from one snapshot.
    fn read(&self, after: Option<u64>) -> Result<Vec<(u64, TrialRecord)>, StoreError> {
        let conn = self.shared.conn()?;
        self.shared.in_transaction(&conn, "BEGIN", |conn| {
            let (trials_sql, steps_sql) = select_trials(after.is_some());
            let after = after.map(to_sql_u64);
            let action = "reading trials";
            let mut trials = Vec::new();
            let mut statement = conn.prepare_cached(&trials_sql).map_err(self.shared.err(action))?;
            let mut rows = statement.query(params![self.study_id, after]).map_err(self.shared.err(action))?;
            while let Some(row) = rows.next().map_err(self.shared.err(action))? {
                trials.push(trial_from_row(&self.scope, row).map_err(self.shared.row_err(action))?);
            }
            drop(rows);
            drop(statement);

            let index: HashMap<u64, usize> = trials.iter().enumerate().map(|(i, (_, t))| (t.id, i)).collect();
            let action = "reading intermediate results";
            let mut statement = conn.prepare_cached(steps_sql).map_err(self.shared.err(action))?;
            let mut rows = statement.query(params![self.study_id, after]).map_err(self.shared.err(action))?;
            while let Some(row) = rows.next().map_err(self.shared.err(action))? {
                let (trial, text): (i64, String) =
                    (|| Ok((row.get(0)?, row.get(1)?)))().map_err(self.shared.err(action))?;
                // The foreign key keeps steps of missing trials out; skip any that a hand edit left.
                if let Some(&i) = index.get(&from_sql_u64(trial)) {
                    rows::push_step(&self.scope, &mut trials[i].1, &text)?;
                }
            }
            Ok(trials)
        })
    }

    /// One trial (intermediate results not read).
    fn read_one(&self, conn: &Connection, id: i64) -> Result<TrialRecord, StoreError> {
        let action = "reading a trial";
        let mut statement = conn.prepare_cached(&select_trial()).map_err(self.shared.err(action))?;
        let mut rows = statement.query(params![self.study_id, id]).map_err(self.shared.err(action))?;
        match rows.next().map_err(self.shared.err(action))? {
            Some(row) => Ok(trial_from_row(&self.scope, row).map_err(self.shared.row_err(action))?.1),
            None => Err(self.scope.no_trial(from_sql_u64(id))),
        }
    }

    /// One `BEGIN IMMEDIATE` transaction: a cache hit when a paid trial with the same canonical form is
    /// finished, busy when it runs, budget reached when the study's paid trials reached `budget`, else a
    /// new running trial under `lease`.
    fn claim(&mut self, trial: &TrialRecord, budget: Option<u64>, lease: &Lease) -> Result<Claim, StoreError> {
        let steps: Vec<String> = trial.intermediate.iter().map(encode_metrics).collect();
        let conn = self.shared.conn()?;
        let claim = self.shared.in_transaction(&conn, "BEGIN IMMEDIATE", |conn| {
            let same: Vec<HitSource> = conn
                .prepare_cached(SELECT_PAID_BY_CANONICAL)
                .and_then(|mut s| {
                    s.query_map(params![self.study_id, trial.canonical], |r| {
                        Ok(HitSource { id: r.get(0)?, state: r.get(1)?, metrics: r.get(2)?, error: r.get(3)? })
                    })?
                    .collect()
                })
                .map_err(self.shared.err("looking for the same architecture"))?;
            // The first one.
            let record = match same.into_iter().min_by_key(|source| source.id) {
                Some(source) if source.state == TrialState::Running.as_str() => return Ok(Claim::Busy),
                Some(source) => cache_hit_record(&self.scope, trial, lease, source)?,
                None => {
                    if let Some(budget) = budget {
                        let paid: i64 = conn
                            .prepare_cached(SELECT_PAID_COUNT)
                            .and_then(|mut s| s.query_row([self.study_id], |r| r.get(0)))
                            .map_err(self.shared.err("counting paid trials"))?;
                        if from_sql_u64(paid) >= budget {
                            return Ok(Claim::BudgetReached);
                        }
                    }
                    claimed_record(trial, lease)
                }
            };
            if record.is_paid() {
                conn.prepare_cached(COUNT_PAID)
                    .and_then(|mut s| s.execute([self.study_id]))
                    .map_err(self.shared.err("counting paid trials"))?;
            }
            let lease_until = (record.state == TrialState::Running).then(|| lease_end(lease.duration));
            let id: i64 = conn
                .prepare_cached(INSERT_TRIAL)
                .and_then(|mut s| {
                    s.query_row(
                        params![
                            self.study_id,
                            record.arch,
                            record.arch_json,
                            record.canonical,
                            record.state.as_str(),
                            encode_metrics(&record.metrics),
                            record.cached_from.map(to_sql_u64),
                            to_sql_u64(record.seed),
                            record.error,
                            record.started_at,
                            record.finished_at,
                            record.attempts,
                            record.worker,
                            lease_until,
                        ],
                        |r| r.get(0),
                    )
                })
                .map_err(self.shared.err("inserting a trial"))?;
            if !steps.is_empty() {
                let mut statement =
                    conn.prepare_cached(PUT_STEP).map_err(self.shared.err("writing intermediate results"))?;
                for (step, metrics) in steps.iter().enumerate() {
                    statement
                        .execute(params![self.study_id, id, step as i64, metrics])
                        .map_err(self.shared.err("writing intermediate results"))?;
                }
            }
            Ok(claim_of(TrialRecord { id: from_sql_u64(id), ..record }))
        })?;
        if let Claim::Claimed(record) = &claim {
            self.held.insert(record.id, lease.owner.clone());
        }
        Ok(claim)
    }

    /// Takes over the running trial with the lowest id whose lease ran out, whose owner's process on this
    /// host is gone, or that has no owner (written by schema version 1).
    fn take_over(&mut self, lease: &Lease) -> Result<Option<TrialRecord>, StoreError> {
        let conn = self.shared.conn()?;
        let find = |conn: &Connection| -> Result<Option<i64>, StoreError> {
            let now = now_seconds();
            let action = "reading running trials";
            let mut statement = conn.prepare_cached(SELECT_RUNNING).map_err(self.shared.err(action))?;
            let mut rows = statement.query([self.study_id]).map_err(self.shared.err(action))?;
            while let Some(row) = rows.next().map_err(self.shared.err(action))? {
                let (id, worker, until): (i64, Option<String>, Option<f64>) =
                    (|| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))().map_err(self.shared.err(action))?;
                // One machine: `localhost` (no $HOSTNAME) is this machine.
                if is_abandoned(worker.as_deref(), until, now, true) {
                    return Ok(Some(id));
                }
            }
            Ok(None)
        };
        // Usually nothing is abandoned: look without the write lock first.
        if find(&conn)?.is_none() {
            return Ok(None);
        }
        let taken = self.shared.in_transaction(&conn, "BEGIN IMMEDIATE", |conn| {
            let Some(id) = find(conn)? else { return Ok(None) };
            conn.prepare_cached(TAKE_OVER)
                .and_then(|mut s| s.execute(params![self.study_id, id, lease.owner, lease_end(lease.duration)]))
                .map_err(self.shared.err("taking over a trial"))?;
            conn.prepare_cached(CLEAR_STEPS)
                .and_then(|mut s| s.execute(params![self.study_id, id]))
                .map_err(self.shared.err("clearing intermediate results"))?;
            self.read_one(conn, id).map(Some)
        })?;
        if let Some(record) = &taken {
            self.held.insert(record.id, lease.owner.clone());
        }
        Ok(taken)
    }

    /// Takes paused trial `id` back as running under `lease`, with its learning curve, if it is still
    /// paused (one `BEGIN IMMEDIATE` transaction).
    fn resume(&mut self, id: u64, lease: &Lease) -> Result<Option<TrialRecord>, StoreError> {
        let sql_id = to_sql_u64(id);
        let conn = self.shared.conn()?;
        let resumed = self.shared.in_transaction(&conn, "BEGIN IMMEDIATE", |conn| {
            if !is_paused(&self.read_one(conn, sql_id)?) {
                return Ok(None);
            }
            conn.prepare_cached(RESUME_PAUSED)
                .and_then(|mut s| s.execute(params![self.study_id, sql_id, lease.owner, lease_end(lease.duration)]))
                .map_err(self.shared.err("resuming a paused trial"))?;
            let mut record = self.read_one(conn, sql_id)?;
            let action = "reading intermediate results";
            let mut statement = conn.prepare_cached(SELECT_STEPS).map_err(self.shared.err(action))?;
            let steps: Vec<String> = statement
                .query_map(params![self.study_id, sql_id], |row| row.get(0))
                .and_then(|rows| rows.collect())
                .map_err(self.shared.err(action))?;
            for text in steps {
                rows::push_step(&self.scope, &mut record, &text)?;
            }
            Ok(Some(record))
        })?;
        if resumed.is_some() {
            self.held.insert(id, lease.owner.clone());
        }
        Ok(resumed)
    }

    /// Records state, metrics, error, finish time, attempts and the worker, only while `lease` holds the
    /// running trial. The stored intermediate results are those appended.
    fn finish_trial(&mut self, trial: &TrialRecord, lease: &Lease) -> Result<bool, StoreError> {
        self.held.remove(&trial.id);
        let metrics = encode_metrics(&trial.metrics);
        let id = to_sql_u64(trial.id);
        let conn = self.shared.conn()?;
        let changed = conn
            .prepare_cached(FINISH_TRIAL)
            .and_then(|mut s| {
                s.execute(params![
                    self.study_id,
                    id,
                    lease.owner,
                    trial.state.as_str(),
                    metrics,
                    trial.error,
                    trial.finished_at,
                    trial.attempts,
                ])
            })
            .map_err(self.shared.err("recording a result"))?;
        if changed == 0 {
            self.require_trial(&conn, trial.id)?;
        }
        Ok(changed == 1)
    }

    fn require_trial(&self, conn: &Connection, id: u64) -> Result<(), StoreError> {
        let exists = conn
            .prepare_cached(TRIAL_EXISTS)
            .and_then(|mut s| s.exists(params![self.study_id, to_sql_u64(id)]))
            .map_err(self.shared.err("reading a trial"))?;
        if exists { Ok(()) } else { Err(self.scope.no_trial(id)) }
    }

    /// Adds one step after the trial's last intermediate result. For a trial this handle claimed, only while
    /// its lease holds (a late worker's steps are dropped without an error).
    fn append(&mut self, id: u64, metrics: &Metrics) -> Result<(), StoreError> {
        let text = encode_metrics(metrics);
        let sql_id = to_sql_u64(id);
        let owner = self.held.get(&id);
        let conn = self.shared.conn()?;
        self.shared.in_transaction(&conn, "BEGIN IMMEDIATE", |conn| {
            let appended = match owner {
                Some(owner) => conn
                    .prepare_cached(APPEND_OWNED_STEP)
                    .and_then(|mut s| s.execute(params![self.study_id, sql_id, text, owner])),
                None => {
                    conn.prepare_cached(APPEND_STEP).and_then(|mut s| s.execute(params![self.study_id, sql_id, text]))
                }
            };
            let appended = match appended {
                Ok(n) => n,
                Err(e) if has_extended_code(&e, rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
                    return Err(self.scope.no_trial(id));
                }
                Err(e) => return Err(self.shared.err("appending an intermediate result")(e)),
            };
            if appended == 0 {
                // The lease was lost: the new holder's learning curve is not mixed with this one.
                return self.require_trial(conn, id);
            }
            conn.prepare_cached(TOUCH_TRIAL)
                .and_then(|mut s| s.execute(params![self.study_id, sql_id]))
                .map_err(self.shared.err("appending an intermediate result"))
                .map(|_| ())
        })
    }

    /// Renews the lease every third of its duration, through a connection of its own, until dropped or
    /// until the trial no longer runs under this lease.
    fn keeper(&self, id: u64, lease: &Lease) -> Result<Keeper, StoreError> {
        let shared = Arc::clone(&self.shared);
        let (study, id, owner, duration) = (self.study_id, to_sql_u64(id), lease.owner.clone(), lease.duration);
        // Its own connection (opened at the first renewal, so short trials never open one): renewals do not
        // wait for this handle's connection. An in-memory store has only the one connection.
        let mut own: Option<Connection> = None;
        let renew = move || {
            let renewed = if shared.in_memory() {
                match shared.conn() {
                    Ok(conn) => renew_on(&conn, study, id, &owner, duration),
                    Err(_) => return Renewal::Failed,
                }
            } else {
                if own.is_none() {
                    own = reopen(&shared.path).ok();
                }
                match &own {
                    Some(conn) => renew_on(conn, study, id, &owner, duration),
                    None => return Renewal::Failed,
                }
            };
            match renewed {
                Ok(0) => Renewal::Lost,
                Ok(_) => Renewal::Renewed,
                Err(_) => Renewal::Failed,
            }
        };
        Keeper::spawn(format!("nasforge-lease-{id}"), renew_interval(duration), renew)
            .map_err(|source| StoreError::Thread { store: self.scope.store.clone(), source })
    }
}

fn renew_on(conn: &Connection, study: i64, id: i64, owner: &str, duration: Duration) -> rusqlite::Result<usize> {
    conn.prepare_cached(RENEW_LEASE).and_then(|mut s| s.execute(params![study, id, owner, lease_end(duration)]))
}
