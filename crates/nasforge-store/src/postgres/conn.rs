//! The connection of a PostgreSQL storage: opened when first needed, its statements prepared; every
//! operation runs on it and, after a transient error, on a new one (see [`retrying`]); errors carry the
//! server's message and the URL without its password.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use postgres::{Client, Config, NoTls};

use super::statements::Statements;
use crate::error::StoreError;
use crate::rows::RowError;

/// How long operations retry a lost connection by default.
pub const DEFAULT_RETRY_LIMIT: Duration = Duration::from_secs(60);

/// The environment variable that overrides [`DEFAULT_RETRY_LIMIT`] (seconds) for storages opened with
/// [`crate::Storage::open`].
pub const RETRY_LIMIT_VARIABLE: &str = "NASFORGE_STORE_RETRY_SECONDS";

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// A connection with its prepared statements.
pub(super) struct PgConn {
    pub(super) client: Client,
    pub(super) st: Statements,
}

/// What went wrong inside one attempt of an operation: a PostgreSQL error (perhaps worth a retry) or a
/// final answer.
pub(super) enum OpError {
    Pg(postgres::Error),
    Store(StoreError),
}

impl From<postgres::Error> for OpError {
    fn from(e: postgres::Error) -> Self {
        OpError::Pg(e)
    }
}

impl From<StoreError> for OpError {
    fn from(e: StoreError) -> Self {
        OpError::Store(e)
    }
}

impl From<RowError<postgres::Error>> for OpError {
    fn from(e: RowError<postgres::Error>) -> Self {
        match e {
            RowError::Driver(e) => OpError::Pg(e),
            RowError::Store(e) => OpError::Store(e),
        }
    }
}

/// Whether the connection itself failed (it is dropped and opened again).
pub(super) fn is_connection_error(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let code = code.code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    if e.as_db_error().is_some() {
        return false;
    }
    // I/O errors (also while connecting) and timeouts; the error kinds are private, so look at the cause.
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    format!("{e:?}").contains("kind: Timeout")
}

/// Whether running the operation again may succeed: a lost connection, a server starting or shutting down,
/// too many connections, a serialization failure or a deadlock.
pub(super) fn is_transient(e: &postgres::Error) -> bool {
    is_connection_error(e) || e.code().is_some_and(|code| matches!(code.code(), "40001" | "40P01" | "53300"))
}

/// Whether `e` is the server's error with this SQLSTATE.
pub(super) fn has_code(e: &postgres::Error, code: &str) -> bool {
    e.code().is_some_and(|c| c.code() == code)
}

/// The server's message of an error with its SQLSTATE and detail, or the driver's error with its cause.
pub(super) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!("; {detail}"));
            }
            text
        }
        None => {
            let mut text = e.to_string();
            if let Some(source) = std::error::Error::source(e) {
                text.push_str(&format!(": {source}"));
            }
            text
        }
    }
}

/// `url` without its password (in the user information or a `password=` parameter), for messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "postgresql://…".into() };
    let (main, query) = match rest.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (rest, None),
    };
    // The user information ends at the last '@' (a password may hold '/' or '@').
    let (user_info, host_and_path) = match main.rsplit_once('@') {
        Some((user_info, rest)) => (Some(user_info), rest),
        None => (None, main),
    };
    let mut out = format!("{scheme}://");
    if let Some(user_info) = user_info {
        match user_info.split_once(':') {
            Some((user, _password)) => out.push_str(&format!("{user}:***@")),
            None => out.push_str(&format!("{user_info}@")),
        }
    }
    out.push_str(host_and_path);
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// How many times operations of this process were run again after a transient PostgreSQL error.
static RETRIES: AtomicU64 = AtomicU64::new(0);

/// How many times PostgreSQL operations of this process were run again after a transient error (a lost
/// connection, a server starting up, a serialization failure): for progress lines and tests.
pub fn postgres_retries() -> u64 {
    RETRIES.load(Ordering::Relaxed)
}

/// Runs `attempt` until it succeeds, fails for good, or transient failures (see [`is_transient`]) went on
/// for `limit`, waiting 100 ms, 200 ms, … (at most 5 s) between attempts. The argument of `attempt` says
/// whether an earlier attempt failed (and may have committed). The first retry is logged (a warning naming
/// `location`, the error and the limit), so a user waiting on an unreachable server knows why.
pub(super) fn retrying<T>(
    location: &str,
    limit: Duration,
    mut attempt: impl FnMut(bool) -> Result<T, OpError>,
) -> Result<T, OpError> {
    let started = Instant::now();
    let mut delay = FIRST_DELAY;
    let mut retry = false;
    loop {
        match attempt(retry) {
            Err(OpError::Pg(e)) if is_transient(&e) && started.elapsed() + delay <= limit => {
                if !retry {
                    tracing::warn!(
                        "PostgreSQL at {location}: {}; retrying for up to {:.0} s (${RETRY_LIMIT_VARIABLE} sets the limit)",
                        describe(&e),
                        limit.as_secs_f64()
                    );
                }
                RETRIES.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(delay);
                delay = (delay * 2).min(MAX_DELAY);
                retry = true;
            }
            outcome => return outcome,
        }
    }
}

/// The connection, settings and location of a PostgreSQL storage, shared by its trial stores.
pub(super) struct PgShared {
    pub(super) location: String,
    pub(super) config: Config,
    pub(super) conn: Mutex<Option<PgConn>>,
    retry_limit_ms: AtomicU64,
    /// Tests: run every operation as if an earlier attempt had failed at its commit.
    #[cfg(test)]
    pub(super) pretend_retry: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for PgShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgShared").field("location", &self.location).finish_non_exhaustive()
    }
}

impl PgShared {
    pub(super) fn new(location: String, config: Config, retry_limit: Duration) -> PgShared {
        PgShared {
            location,
            config,
            conn: Mutex::new(None),
            retry_limit_ms: AtomicU64::new(retry_limit.as_millis() as u64),
            #[cfg(test)]
            pretend_retry: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(super) fn error(&self, action: &'static str, e: postgres::Error) -> StoreError {
        StoreError::Postgres { store: self.location.clone(), action, message: describe(&e), error: e }
    }

    /// The final error of an operation.
    pub(super) fn op_error(&self, action: &'static str, e: OpError) -> StoreError {
        match e {
            OpError::Pg(e) => self.error(action, e),
            OpError::Store(e) => e,
        }
    }

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        let st = Statements::prepare(&mut client)?;
        Ok(PgConn { client, st })
    }

    pub(super) fn retry_limit(&self) -> Duration {
        Duration::from_millis(self.retry_limit_ms.load(Ordering::Relaxed))
    }

    pub(super) fn set_retry_limit(&self, limit: Duration) {
        self.retry_limit_ms.store(limit.as_millis() as u64, Ordering::Relaxed);
    }

    /// Runs `op` on the connection (opening it when needed); on a transient error, drops a failed
    /// connection, waits and runs `op` again (its second argument then says that an earlier attempt may
    /// have committed), for up to the retry limit.
    pub(super) fn run<T>(
        &self,
        action: &'static str,
        mut op: impl FnMut(&mut PgConn, bool) -> Result<T, OpError>,
    ) -> Result<T, StoreError> {
        let outcome = retrying(&self.location, self.retry_limit(), |retry| {
            let mut slot = self.conn.lock().map_err(|_| StoreError::Poisoned { store: self.location.clone() })?;
            if slot.as_ref().is_some_and(|c| c.client.is_closed()) {
                *slot = None;
            }
            let conn = match slot.as_mut() {
                Some(conn) => conn,
                None => slot.insert(self.connect()?),
            };
            #[cfg(test)]
            let retry = retry || self.pretend_retry.load(Ordering::Relaxed);
            let outcome = op(conn, retry);
            if let Err(OpError::Pg(e)) = &outcome
                && is_connection_error(e)
            {
                *slot = None;
            }
            outcome
        });
        outcome.map_err(|e| self.op_error(action, e))
    }

    /// An error for text PostgreSQL cannot hold (a NUL character).
    pub(super) fn check_text(&self, what: &'static str, text: &str) -> Result<(), StoreError> {
        if text.contains('\0') { Err(StoreError::NulInText { store: self.location.clone(), what }) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h"), "postgres://h");
        assert_eq!(
            redact_url("postgresql://h/db?user=u&password=secret&sslmode=disable"),
            "postgresql://h/db?user=u&password=***&sslmode=disable"
        );
        assert_eq!(redact_url("postgresql://u:p@ss@h/db"), "postgresql://u:***@h/db");
        assert_eq!(redact_url("postgresql://u:a/b@h/db"), "postgresql://u:***@h/db");
    }

    #[test]
    fn errors_without_a_server_are_transient() {
        // Nothing listens on port 1.
        let Err(e) = Config::from_str("postgresql://u@127.0.0.1:1/db").unwrap().connect(NoTls) else {
            panic!("connected")
        };
        assert!(is_transient(&e), "{e:?}");
    }
}
