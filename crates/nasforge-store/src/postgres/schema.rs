//! The PostgreSQL schema and its history, created and migrated by nasforge itself under an advisory lock
//! (workers starting together do it once). `nasforge_meta` holds the schema version; newer versions are
//! refused untouched, and so are databases with tables named like ours but no `nasforge_meta`.
//!
//! Version 2 is the first PostgreSQL schema. Version 3: the final results of a study (after its search), and
//! cache hits that record the proposal's own metrics over their source's. A new store is created at version
//! 2 and migrated to the current version like an existing one.

use postgres::Client;

use super::conn::{OpError, PgShared};
use crate::error::StoreError;
use crate::schema::{History, Migration, TABLES, list_names};

/// The key of the advisory lock held while the schema is created or migrated ("NASF").
const SCHEMA_LOCK: i64 = 0x4E41_5346;

/// The schema history of PostgreSQL stores.
pub(crate) const HISTORY: History = History {
    created: 2,
    create: CREATE_V2,
    migrations: &[Migration { to: 3, action: "migrating the store from schema version 2 to 3", sql: MIGRATE_2_TO_3 }],
};

/// `nasforge_claim_new`: claim_new in one call (one round trip, the study's row locked only inside the
/// server): a cache hit when a paid trial with this canonical form is finished, busy when it runs, budget
/// when the study's paid trials reached p_budget, else a new running trial under the lease. Each statement
/// sees what committed before it (READ COMMITTED), so the look-up after the lock sees every earlier claim.
/// A cache hit records `$hit_metrics` (computed by `$merge` into the variables of `$declare`); it returns
/// its source's metrics.
macro_rules! claim_function {
    ($create:literal, $declare:literal, $merge:literal, $hit_metrics:literal) => {
        concat!(
            $create,
            " FUNCTION nasforge_claim_new(
    p_study BIGINT, p_arch TEXT, p_arch_json TEXT, p_canonical TEXT, p_metrics TEXT, p_seed BIGINT, p_error TEXT,
    p_started_at DOUBLE PRECISION, p_finished_at DOUBLE PRECISION, p_owner TEXT, p_lease_seconds DOUBLE PRECISION,
    p_budget BIGINT
) RETURNS TABLE (o_outcome TEXT, o_id BIGINT, o_state TEXT, o_metrics TEXT, o_error TEXT, o_cached_from BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    v_paid BIGINT;
    v_version BIGINT;
    v_id BIGINT;
    v_source RECORD;",
            $declare,
            "
BEGIN
    SELECT s.paid_trials INTO v_paid FROM studies s WHERE s.id = p_study FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'nasforge: no study with id %', p_study;
    END IF;
    -- The first paid trial with the canonical form, through the canonical index (`study + 0`, `id + 0`: no
    -- other index can serve this query, even with statistics that do not know the study yet).
    SELECT t.id, t.state, t.metrics, t.error INTO v_source FROM trials t
    WHERE md5(t.canonical) = md5(p_canonical) AND t.canonical = p_canonical AND t.study + 0 = p_study
      AND t.cached_from IS NULL
    ORDER BY t.id + 0 LIMIT 1;
    IF FOUND THEN
        IF v_source.state = 'running' THEN
            RETURN QUERY SELECT 'busy'::TEXT, NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT;
            RETURN;
        END IF;",
            $merge,
            "
        UPDATE studies s SET version = s.version + 1, trial_count = s.trial_count + 1 WHERE s.id = p_study
        RETURNING s.version, s.trial_count - 1 INTO v_version, v_id;
        INSERT INTO trials (study, id, arch, arch_json, canonical, state, metrics, cached_from, seed, error,
                            started_at, finished_at, attempts, worker, lease_until, version)
        VALUES (p_study, v_id, p_arch, p_arch_json, p_canonical, v_source.state, ",
            $hit_metrics,
            ", v_source.id,
                p_seed, v_source.error, p_started_at, p_started_at, 0, p_owner, NULL, v_version);
        RETURN QUERY SELECT 'hit'::TEXT, v_id, v_source.state, v_source.metrics, v_source.error, v_source.id;
        RETURN;
    END IF;
    IF p_budget IS NOT NULL AND v_paid >= p_budget THEN
        RETURN QUERY SELECT 'budget'::TEXT, NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT;
        RETURN;
    END IF;
    UPDATE studies s
    SET version = s.version + 1, paid_trials = s.paid_trials + 1, trial_count = s.trial_count + 1
    WHERE s.id = p_study
    RETURNING s.version, s.trial_count - 1 INTO v_version, v_id;
    INSERT INTO trials (study, id, arch, arch_json, canonical, state, metrics, cached_from, seed, error,
                        started_at, finished_at, attempts, worker, lease_until, version)
    VALUES (p_study, v_id, p_arch, p_arch_json, p_canonical, 'running', p_metrics, NULL, p_seed, p_error,
            p_started_at, p_finished_at, 1, p_owner, extract(epoch FROM clock_timestamp())::float8 + p_lease_seconds,
            v_version);
    RETURN QUERY SELECT 'claimed'::TEXT, v_id, 'running'::TEXT, p_metrics, p_error, NULL::BIGINT;
END
$$;
"
        )
    };
}

/// Schema version 2, as nasforge wrote it (existing stores hold it: never change it). Its claim function
/// copies the metrics of a cache hit's source wholesale.
const CREATE_V2: &str = concat!(
    "
CREATE TABLE nasforge_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE studies (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name        TEXT             NOT NULL UNIQUE,
    space       TEXT             NOT NULL,
    config_json TEXT             NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    version     BIGINT           NOT NULL DEFAULT 0,
    paid_trials BIGINT           NOT NULL DEFAULT 0,
    trial_count BIGINT           NOT NULL DEFAULT 0
);
CREATE TABLE trials (
    study       BIGINT           NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    id          BIGINT           NOT NULL,
    arch        TEXT             NOT NULL,
    arch_json   TEXT             NOT NULL,
    canonical   TEXT             NOT NULL,
    state       TEXT             NOT NULL CHECK (state IN ('running', 'complete', 'failed', 'pruned')),
    metrics     TEXT             NOT NULL,
    cached_from BIGINT,
    seed        BIGINT           NOT NULL,
    error       TEXT,
    started_at  DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    attempts    INTEGER          NOT NULL,
    worker      TEXT,
    lease_until DOUBLE PRECISION,
    version     BIGINT           NOT NULL,
    PRIMARY KEY (study, id)
);
-- By a hash of the canonical form alone (a B-tree entry may not exceed about 2.7 kB), so that the look-up
-- (`md5(canonical) = … AND study + 0 = …`) cannot be planned through another index, whatever the statistics.
CREATE INDEX trials_by_canonical ON trials (md5(canonical));
CREATE INDEX trials_by_version ON trials (study, version);
CREATE INDEX trials_running ON trials (study, id) WHERE state = 'running';
CREATE TABLE intermediate (
    study   BIGINT  NOT NULL,
    trial   BIGINT  NOT NULL,
    step    INTEGER NOT NULL,
    metrics TEXT    NOT NULL,
    PRIMARY KEY (study, trial, step),
    FOREIGN KEY (study, trial) REFERENCES trials (study, id) ON DELETE CASCADE
);
",
    claim_function!("CREATE", "", "", "v_source.metrics")
);

/// Version 2 → 3: results attached to a study after its search (a final training of a trial's
/// architecture: test accuracy, weights…), as JSON, in the order they were recorded (`id`); and the claim
/// function of version 3, whose cache hits record the proposal's own metrics (its size, known before any
/// evaluation) over their source's. The merge reads both as `json`, not `jsonb`, so that every value keeps
/// the text nasforge wrote (`jsonb` would rewrite numbers). Same signature: workers of version 2 still
/// connected call the new function.
const MIGRATE_2_TO_3: &str = concat!(
    "
CREATE TABLE final_results (
    id           BIGINT           GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    study        BIGINT           NOT NULL,
    trial        BIGINT           NOT NULL,
    created_at   DOUBLE PRECISION NOT NULL,
    payload_json TEXT             NOT NULL,
    FOREIGN KEY (study, trial) REFERENCES trials (study, id) ON DELETE CASCADE
);
CREATE INDEX final_results_by_trial ON final_results (study, trial);
",
    claim_function!(
        "CREATE OR REPLACE",
        "
    v_metrics TEXT;",
        "
        v_metrics := v_source.metrics;
        IF p_metrics <> '{}' THEN
            SELECT COALESCE(json_object_agg(m.key, m.value)::text, '{}') INTO v_metrics FROM (
                SELECT s.key, s.value FROM json_each(v_source.metrics::json) s
                WHERE s.key NOT IN (SELECT o.key FROM json_each(p_metrics::json) o)
                UNION ALL
                SELECT o.key, o.value FROM json_each(p_metrics::json) o
            ) m;
        END IF;",
        "v_metrics"
    )
);

/// Creates the schema in a database without one, or checks an existing one and migrates it to the current
/// version, under an advisory lock, in one transaction.
pub(super) fn prepare_schema(shared: &PgShared, client: &mut Client) -> Result<(), OpError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
    let meta: Option<String> = tx.query_one("SELECT to_regclass('nasforge_meta')::text", &[])?.get(0);
    let steps = if meta.is_some() {
        let row = tx.query_opt("SELECT value FROM nasforge_meta WHERE key = 'schema_version'", &[])?;
        let text: Option<String> = row.map(|r| r.get(0));
        let Some(version) = text.as_deref().and_then(|v| v.trim().parse::<i64>().ok()) else {
            return Err(OpError::Store(StoreError::ForeignDatabase {
                store: shared.location.clone(),
                found: format!("nasforge_meta has no valid schema_version ({text:?})"),
            }));
        };
        let steps = HISTORY.plan(&shared.location, version, "nasforge_meta names")?;
        if steps.is_empty() {
            tx.rollback()?;
            return Ok(());
        }
        steps
    } else {
        let ours: Vec<String> = tx
            .query(
                "SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL",
                &[&TABLES.as_slice()],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !ours.is_empty() {
            return Err(OpError::Store(StoreError::ForeignDatabase {
                store: shared.location.clone(),
                found: format!("it has tables named {} but no nasforge_meta", list_names(&ours)),
            }));
        }
        tx.batch_execute(HISTORY.create)?;
        tx.execute(
            "INSERT INTO nasforge_meta (key, value) VALUES ('schema_version', $1)",
            &[&HISTORY.created.to_string()],
        )?;
        HISTORY.after_creation()
    };
    for step in steps {
        tx.batch_execute(step.sql)?;
        tx.execute("UPDATE nasforge_meta SET value = $1 WHERE key = 'schema_version'", &[&step.to.to_string()])?;
    }
    tx.commit()?;
    Ok(())
}
