//! The trials of one study in a PostgreSQL store: claims, takeovers, results and learning curves, each
//! retried safely after a lost connection, and the lease keeper's renewals.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use nasforge_core::study::{Claim, Lease, is_paused};
use nasforge_core::{Metrics, TrialRecord, TrialState};
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use super::conn::{OpError, PgConn, PgShared, has_code, is_connection_error};
use super::statements::renew_sql;
use crate::codec::{encode_metrics, from_sql_u64, to_sql_u64};
use crate::error::StoreError;
use crate::lease::{Keeper, Renewal, is_abandoned, renew_interval};
use crate::rows::{
    self, HitSource, Scope, TRIAL_COLUMN_COUNT, cache_hit_record, claim_of, claimed_record, trial_from_row,
};

/// A trial this handle claimed and has not finished.
#[derive(Debug)]
pub(super) struct Held {
    owner: String,
    /// The step of its next intermediate result.
    pub(super) next_step: i32,
}

/// The trials of one study in a PostgreSQL store. It shares the storage's connection (a lease keeper opens
/// its own).
#[derive(Debug)]
pub struct PostgresTrialStore {
    pub(super) shared: Arc<PgShared>,
    pub(super) study_id: i64,
    pub(super) scope: Scope,
    pub(super) held: HashMap<u64, Held>,
}

crate::trial_store_through_inherent_methods!(PostgresTrialStore);

impl PostgresTrialStore {
    pub fn study_name(&self) -> &str {
        &self.scope.study
    }

    /// Trials (all, or changed after a version, by version) with versions and intermediate results, from
    /// one snapshot.
    fn read(&self, after: Option<u64>) -> Result<Vec<(u64, TrialRecord)>, StoreError> {
        let study = self.study_id;
        self.shared.run("reading trials", |PgConn { client, st }, _| {
            let rows = match after {
                None => client.query(&st.all_trials, &[&study])?,
                Some(after) => client.query(&st.changed_trials, &[&study, &to_sql_u64(after)])?,
            };
            let mut trials = Vec::with_capacity(rows.len());
            for row in &rows {
                let (version, mut trial) = trial_from_row(&self.scope, row)?;
                let steps: Vec<String> = row.try_get(TRIAL_COLUMN_COUNT)?;
                for text in steps {
                    rows::push_step(&self.scope, &mut trial, &text)?;
                }
                trials.push((version, trial));
            }
            Ok(trials)
        })
    }

    /// One call of `nasforge_claim_new` (see the schema): a cache hit when a paid trial with the same
    /// canonical form is finished, busy when it runs, budget reached when the study's paid trials reached
    /// `budget`, else a new running trial under `lease`. After an uncertain commit, first looks for the
    /// trial an earlier attempt may have recorded.
    fn claim(&mut self, trial: &TrialRecord, budget: Option<u64>, lease: &Lease) -> Result<Claim, StoreError> {
        for (what, text) in [("the architecture", &trial.arch), ("the architecture's JSON", &trial.arch_json)] {
            self.shared.check_text(what, text)?;
        }
        self.shared.check_text("the canonical form", &trial.canonical)?;
        let steps: Vec<String> = trial.intermediate.iter().map(encode_metrics).collect();
        let study = self.study_id;
        let lease_seconds = lease.duration.as_secs_f64();
        let budget = budget.map(|b| i64::try_from(b).unwrap_or(i64::MAX));
        let claim = self.shared.run("claiming a trial", |PgConn { client, st }, retry| {
            if retry {
                // An earlier attempt may have committed this claim before the connection broke.
                let params: [&(dyn ToSql + Sync); 5] =
                    [&study, &trial.canonical, &lease.owner, &to_sql_u64(trial.seed), &trial.started_at];
                let rows = client.query(&st.mine_claimed, &params)?;
                if let Some(row) = rows.iter().max_by_key(|r| r.get::<_, i64>(0)) {
                    let (_, mut record) = trial_from_row(&self.scope, row)?;
                    record.intermediate = trial.intermediate.clone();
                    return Ok(claim_of(record));
                }
            }
            let metrics = encode_metrics(&trial.metrics);
            let params: [&(dyn ToSql + Sync); 12] = [
                &study,
                &trial.arch,
                &trial.arch_json,
                &trial.canonical,
                &metrics,
                &to_sql_u64(trial.seed),
                &trial.error,
                &trial.started_at,
                &trial.finished_at,
                &lease.owner,
                &lease_seconds,
                &budget,
            ];
            let row = if steps.is_empty() {
                client.query_one(&st.claim_new, &params)?
            } else {
                // Steps given with the proposal (rare) are written in the claim's transaction.
                let mut tx = client.transaction()?;
                let row = tx.query_one(&st.claim_new, &params)?;
                if let Some(id) = row.try_get::<_, Option<i64>>(1)? {
                    for (step, metrics) in steps.iter().enumerate() {
                        tx.execute(&st.put_step, &[&study, &id, &(step as i32), metrics])?;
                    }
                }
                tx.commit()?;
                row
            };
            let outcome: String = row.try_get(0)?;
            let record = match outcome.as_str() {
                "busy" => return Ok(Claim::Busy),
                "budget" => return Ok(Claim::BudgetReached),
                "claimed" => claimed_record(trial, lease),
                "hit" => {
                    let source = HitSource {
                        id: row.try_get(5)?,
                        state: row.try_get(2)?,
                        metrics: row.try_get(3)?,
                        error: row.try_get(4)?,
                    };
                    cache_hit_record(&self.scope, trial, lease, source)?
                }
                other => {
                    return Err(OpError::Store(
                        self.scope.corrupt(-1, format!("nasforge_claim_new answered '{other}'")),
                    ));
                }
            };
            Ok(claim_of(TrialRecord { id: from_sql_u64(row.try_get(1)?), ..record }))
        })?;
        if let Claim::Claimed(record) = &claim {
            let held = Held { owner: lease.owner.clone(), next_step: record.intermediate.len() as i32 };
            // A claim found again after an uncertain commit keeps the steps counted so far.
            self.held.entry(record.id).or_insert(held);
        }
        if let Claim::Claimed(record) | Claim::CacheHit(record) = &claim {
            self.refresh_statistics(record.id);
        }
        Ok(claim)
    }

    /// Analyzes the tables when the study reaches 1024, 2048, 4096… trials: a study that grows fast would
    /// otherwise be planned with statistics that do not know it (autovacuum analyzes later), and the
    /// planner may then walk a whole study for one look-up. Best effort: failures are ignored.
    fn refresh_statistics(&self, id: u64) {
        if id < 1023 || !(id + 1).is_power_of_two() {
            return;
        }
        if let Ok(mut slot) = self.shared.conn.lock()
            && let Some(conn) = slot.as_mut()
        {
            let _ = conn.client.batch_execute("ANALYZE trials, intermediate");
        }
    }

    /// Takes over the running trial with the lowest id whose lease ran out by the server's clock, that has no
    /// owner, or whose owner's process on this host is gone (only when `$HOSTNAME` names this host: several
    /// machines may all call themselves `localhost`).
    fn take_over(&mut self, lease: &Lease) -> Result<Option<TrialRecord>, StoreError> {
        let study = self.study_id;
        let lease_seconds = lease.duration.as_secs_f64();
        let held = &self.held;
        let first_abandoned = |rows: &[Row]| -> Result<Option<i64>, OpError> {
            for row in rows {
                let (worker, until, now): (Option<String>, Option<f64>, f64) =
                    (row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
                if is_abandoned(worker.as_deref(), until, now, false) {
                    return Ok(Some(row.try_get(0)?));
                }
            }
            Ok(None)
        };
        let taken = self.shared.run("taking over an abandoned trial", |PgConn { client, st }, retry| {
            if retry {
                // An earlier attempt may have taken a trial over before the connection broke.
                for row in client.query(&st.mine_running, &[&study, &lease.owner])? {
                    let id: i64 = row.try_get(0)?;
                    if !held.contains_key(&from_sql_u64(id)) {
                        let row = client.query_one(&st.trial, &[&study, &id])?;
                        return Ok(Some(trial_from_row(&self.scope, &row)?.1));
                    }
                }
            }
            // Usually nothing is abandoned: look without locking first.
            if first_abandoned(&client.query(&st.running, &[&study])?)?.is_none() {
                return Ok(None);
            }
            let mut tx = client.transaction()?;
            tx.query_one(&st.lock_study, &[&study])?;
            // Trials whose lease is being renewed right now are skipped: they are not abandoned.
            let Some(id) = first_abandoned(&tx.query(&st.running_for_update, &[&study])?)? else {
                tx.rollback()?;
                return Ok(None);
            };
            let version: i64 = tx.query_one(&st.bump_version, &[&study])?.get(0);
            tx.execute(&st.take_over, &[&study, &id, &lease.owner, &lease_seconds, &version])?;
            tx.execute(&st.clear_steps, &[&study, &id])?;
            let row = tx.query_one(&st.trial, &[&study, &id])?;
            let (_, record) = trial_from_row(&self.scope, &row)?;
            tx.commit()?;
            Ok(Some(record))
        })?;
        if let Some(record) = &taken {
            self.held.insert(record.id, Held { owner: lease.owner.clone(), next_step: 0 });
        }
        Ok(taken)
    }

    /// Takes paused trial `id` back as running under `lease`, with its learning curve, if it is still
    /// paused (one transaction, the study's row locked); after an uncertain commit, a trial already running
    /// under this lease counts as resumed.
    fn resume(&mut self, id: u64, lease: &Lease) -> Result<Option<TrialRecord>, StoreError> {
        let study = self.study_id;
        let sql_id = to_sql_u64(id);
        let lease_seconds = lease.duration.as_secs_f64();
        let with_steps = |row: &Row| -> Result<TrialRecord, OpError> {
            let (_, mut trial) = trial_from_row(&self.scope, row)?;
            let steps: Vec<String> = row.try_get(TRIAL_COLUMN_COUNT)?;
            for text in steps {
                rows::push_step(&self.scope, &mut trial, &text)?;
            }
            Ok(trial)
        };
        let resumed = self.shared.run("resuming a paused trial", |PgConn { client, st }, retry| {
            let mut tx = client.transaction()?;
            tx.query_one(&st.lock_study, &[&study])?;
            let Some(row) = tx.query_opt(&st.trial_with_steps, &[&study, &sql_id])? else {
                return Err(OpError::Store(self.scope.no_trial(id)));
            };
            let trial = with_steps(&row)?;
            let mine = trial.state == TrialState::Running && trial.worker.as_deref() == Some(lease.owner.as_str());
            if retry && mine {
                return Ok(Some(trial));
            }
            if !is_paused(&trial) {
                return Ok(None);
            }
            let version: i64 = tx.query_one(&st.bump_version, &[&study])?.get(0);
            tx.execute(&st.resume_paused, &[&study, &sql_id, &lease.owner, &lease_seconds, &version])?;
            let resumed = with_steps(&tx.query_one(&st.trial_with_steps, &[&study, &sql_id])?)?;
            tx.commit()?;
            Ok(Some(resumed))
        })?;
        if let Some(record) = &resumed {
            let next_step = record.intermediate.len() as i32;
            self.held.insert(id, Held { owner: lease.owner.clone(), next_step });
        }
        Ok(resumed)
    }

    /// Records state, metrics, error, finish time, attempts and the worker, only while `lease` holds the
    /// running trial; after an uncertain commit, a row that already holds this result counts as recorded.
    fn finish_trial(&mut self, trial: &TrialRecord, lease: &Lease) -> Result<bool, StoreError> {
        self.held.remove(&trial.id);
        let study = self.study_id;
        let id = to_sql_u64(trial.id);
        let metrics = encode_metrics(&trial.metrics);
        let attempts = trial.attempts as i32;
        if let Some(error) = &trial.error {
            self.shared.check_text("the error message", error)?;
        }
        self.shared.run("recording a result", |PgConn { client, st }, retry| {
            let params: [&(dyn ToSql + Sync); 8] = [
                &study,
                &id,
                &lease.owner,
                &trial.state.as_str(),
                &metrics,
                &trial.error,
                &trial.finished_at,
                &attempts,
            ];
            if client.execute(&st.finish, &params)? == 1 {
                return Ok(true);
            }
            // After an uncertain commit the row may hold this very result already.
            if retry
                && trial.state != TrialState::Running
                && client
                    .query_opt(
                        &st.finished_as,
                        &[&study, &id, &lease.owner, &trial.state.as_str(), &trial.finished_at],
                    )?
                    .is_some()
            {
                return Ok(true);
            }
            if client.query_opt(&st.trial_exists, &[&study, &id])?.is_none() {
                return Err(OpError::Store(self.scope.no_trial(trial.id)));
            }
            Ok(false)
        })
    }

    /// Adds one step after the trial's last intermediate result. For a trial this handle claimed, at its own
    /// step number (a retry after an uncertain commit does not add it twice) and only while its lease holds.
    fn append(&mut self, id: u64, metrics: &Metrics) -> Result<(), StoreError> {
        let study = self.study_id;
        let sql_id = to_sql_u64(id);
        let text = encode_metrics(metrics);
        let held = self.held.get(&id);
        self.shared.run("appending an intermediate result", |PgConn { client, st }, _| {
            let appended = match held {
                Some(held) => {
                    client.execute(&st.append_owned_step, &[&study, &sql_id, &held.next_step, &text, &held.owner])
                }
                None => client.execute(&st.append_step, &[&study, &sql_id, &text]),
            };
            match appended {
                Ok(0) => {
                    // The lease was lost (or this step was stored by an attempt that seemed to fail).
                    if client.query_opt(&st.trial_exists, &[&study, &sql_id])?.is_none() {
                        return Err(OpError::Store(self.scope.no_trial(id)));
                    }
                    Ok(())
                }
                Ok(_) => Ok(()),
                Err(e) if has_code(&e, "23503") => Err(OpError::Store(self.scope.no_trial(id))),
                Err(e) => Err(e.into()),
            }
        })?;
        if let Some(held) = self.held.get_mut(&id) {
            held.next_step += 1;
        }
        Ok(())
    }

    /// Renews the lease every third of its duration (by the server's clock), through a connection of its
    /// own, until dropped or until the trial no longer runs under this lease.
    fn keeper(&self, id: u64, lease: &Lease) -> Result<Keeper, StoreError> {
        let interval = renew_interval(lease.duration);
        let mut config = self.shared.config.clone();
        // A renewal must not hang for long on a server that is away: the next tick tries again.
        config.connect_timeout(interval.clamp(Duration::from_millis(100), Duration::from_secs(5)));
        let (study, id, owner, seconds) =
            (self.study_id, to_sql_u64(id), lease.owner.clone(), lease.duration.as_secs_f64());
        let mut own: Option<(Client, Statement)> = None;
        let renew = move || {
            if own.as_ref().is_none_or(|(client, _)| client.is_closed()) {
                own = config.connect(NoTls).ok().and_then(|mut client| {
                    let statement = client.prepare(&renew_sql()).ok()?;
                    Some((client, statement))
                });
            }
            let Some((client, statement)) = own.as_mut() else { return Renewal::Failed };
            match client.execute(&*statement, &[&study, &id, &owner, &seconds]) {
                Ok(0) => Renewal::Lost,
                Ok(_) => Renewal::Renewed,
                Err(e) => {
                    if is_connection_error(&e) {
                        own = None;
                    }
                    Renewal::Failed
                }
            }
        };
        Keeper::spawn(format!("nasforge-lease-{id}"), interval, renew)
            .map_err(|source| StoreError::Thread { store: self.scope.store.clone(), source })
    }
}
