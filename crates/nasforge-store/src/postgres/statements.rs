//! The PostgreSQL statements (`$N` parameters; `$1` is the study's id in those of a study), prepared on
//! every connection when it is opened.

use postgres::{Client, Statement};

use crate::rows::{FINAL_RESULT_COLUMNS, STUDY_COLUMNS, TRIAL_COLUMNS};

/// The server's clock, in Unix seconds: leases use it, so the workers' clocks need not agree.
pub(super) const NOW: &str = "extract(epoch FROM clock_timestamp())::float8";

/// The learning curve of trial `t`, as a text array in step order.
const STEPS: &str =
    "ARRAY(SELECT i.metrics FROM intermediate i WHERE i.study = t.study AND i.trial = t.id ORDER BY i.step)";

/// The statements of one connection, prepared when it is opened.
macro_rules! statements {
    ($($name:ident = $sql:expr;)*) => {
        pub(super) struct Statements { $(pub(super) $name: Statement,)* }

        impl Statements {
            pub(super) fn prepare(client: &mut Client) -> Result<Statements, postgres::Error> {
                Ok(Statements { $($name: client.prepare(&$sql)?,)* })
            }
        }
    };
}

statements! {
    claim_new = "SELECT o_outcome, o_id, o_state, o_metrics, o_error, o_cached_from FROM nasforge_claim_new(\
        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    lock_study = "SELECT paid_trials FROM studies WHERE id = $1 FOR UPDATE";
    bump_version = "UPDATE studies SET version = version + 1 WHERE id = $1 RETURNING version";
    mine_claimed = format!("SELECT {TRIAL_COLUMNS} FROM trials \
        WHERE study + 0 = $1 AND md5(canonical) = md5($2) AND canonical = $2 AND worker = $3 \
        AND ((cached_from IS NULL AND state = 'running') OR (cached_from IS NOT NULL AND seed = $4 AND started_at = $5))");
    put_step = "INSERT INTO intermediate (study, trial, step, metrics) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
    // One statement each (so one round trip, atomic): the step, then the study's next version for the trial,
    // only when the step was stored.
    append_step = "WITH step AS (\
            INSERT INTO intermediate (study, trial, step, metrics) \
            SELECT $1::bigint, $2::bigint, COALESCE(MAX(step) + 1, 0), $3::text FROM intermediate \
            WHERE study = $1::bigint AND trial = $2::bigint RETURNING 1), \
        bumped AS (UPDATE studies SET version = version + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM step) \
            RETURNING version) \
        UPDATE trials SET version = (SELECT b.version FROM bumped b) \
        WHERE study = $1 AND id = $2 AND EXISTS (SELECT 1 FROM bumped)";
    append_owned_step = "WITH step AS (\
            INSERT INTO intermediate (study, trial, step, metrics) \
            SELECT $1::bigint, $2::bigint, $3::integer, $4::text WHERE EXISTS (SELECT 1 FROM trials \
                WHERE study = $1::bigint AND id = $2::bigint AND worker = $5::text AND state = 'running') \
            ON CONFLICT DO NOTHING RETURNING 1), \
        bumped AS (UPDATE studies SET version = version + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM step) \
            RETURNING version) \
        UPDATE trials SET version = (SELECT b.version FROM bumped b) \
        WHERE study = $1 AND id = $2 AND EXISTS (SELECT 1 FROM bumped)";
    // One statement: the study's next version, only while the lease holds the running trial, then the result.
    // (Should the lease be lost between the two, a version number is skipped: harmless.)
    finish = "WITH bumped AS (UPDATE studies SET version = version + 1 WHERE id = $1 AND EXISTS \
            (SELECT 1 FROM trials WHERE study = $1 AND id = $2 AND worker = $3 AND state = 'running') \
            RETURNING version) \
        UPDATE trials SET state = $4, metrics = $5, error = $6, finished_at = $7, attempts = $8, worker = $3, \
            lease_until = NULL, version = (SELECT b.version FROM bumped b) \
        WHERE study = $1 AND id = $2 AND worker = $3 AND state = 'running' AND EXISTS (SELECT 1 FROM bumped)";
    finished_as = "SELECT 1 FROM trials WHERE study = $1 AND id = $2 AND worker = $3 AND state = $4 \
        AND finished_at IS NOT DISTINCT FROM $5";
    running = format!("SELECT id, worker, lease_until, {NOW} FROM trials \
        WHERE study = $1 AND state = 'running' ORDER BY id");
    running_for_update = format!("SELECT id, worker, lease_until, {NOW} FROM trials \
        WHERE study = $1 AND state = 'running' ORDER BY id FOR UPDATE SKIP LOCKED");
    mine_running = "SELECT id FROM trials WHERE study = $1 AND worker = $2 AND state = 'running' ORDER BY id";
    take_over = format!("UPDATE trials SET worker = $3, lease_until = {NOW} + $4, attempts = attempts + 1, version = $5 \
        WHERE study = $1 AND id = $2 AND state = 'running'");
    clear_steps = "DELETE FROM intermediate WHERE study = $1 AND trial = $2";
    // A paused trial (checked by the caller in the same transaction) running again under a new lease.
    resume_paused = format!("UPDATE trials SET state = 'running', worker = $3, lease_until = {NOW} + $4, \
        version = $5 WHERE study = $1 AND id = $2 AND state = 'pruned'");
    trial_with_steps = format!("SELECT {TRIAL_COLUMNS}, {STEPS} FROM trials t WHERE study = $1 AND id = $2");
    trial = format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study = $1 AND id = $2");
    trial_exists = "SELECT 1 FROM trials WHERE study = $1 AND id = $2";
    // Trials with their learning curves in one statement: one snapshot, one round trip.
    all_trials = format!("SELECT {TRIAL_COLUMNS}, {STEPS} FROM trials t WHERE study = $1 ORDER BY id");
    changed_trials = format!("SELECT {TRIAL_COLUMNS}, {STEPS} FROM trials t WHERE study = $1 AND version > $2 \
        ORDER BY version");
    create_study = "INSERT INTO studies (name, space, config_json, created_at) VALUES ($1, $2, $3, $4)";
    study = format!("SELECT {STUDY_COLUMNS} FROM studies WHERE name = $1");
    studies = format!("SELECT {STUDY_COLUMNS} FROM studies ORDER BY id");
    study_id = "SELECT id FROM studies WHERE name = $1";
    update_config = "UPDATE studies SET config_json = $2 WHERE name = $1";
    // A final result of the study named $1 (no row when there is no such study).
    put_final_result = "INSERT INTO final_results (study, trial, created_at, payload_json) \
        SELECT id, $2, $3, $4 FROM studies WHERE name = $1";
    // A final result exactly as written (after an uncertain commit).
    final_result_exists = "SELECT 1 FROM final_results f JOIN studies s ON s.id = f.study \
        WHERE s.name = $1 AND f.trial = $2 AND f.created_at = $3 AND f.payload_json = $4";
    final_results = format!("SELECT {FINAL_RESULT_COLUMNS} FROM final_results f JOIN studies s ON s.id = f.study \
        WHERE s.name = $1 ORDER BY f.id");
}

/// Renews a lease ($4 seconds from now by the server's clock) while it holds the running trial.
pub(super) fn renew_sql() -> String {
    format!(
        "UPDATE trials SET lease_until = {NOW} + $4 WHERE study = $1 AND id = $2 AND worker = $3 AND state = 'running'"
    )
}
