//! What both backends share about leases: whether a lease owner's process is gone, when a running trial
//! counts as abandoned, and the background thread that renews a lease while a trial is evaluated. The host
//! identity and the clock are nasforge-core's ([`this_host`], `now_seconds`).

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use nasforge_core::study::{LeaseKeeper, this_host};

/// `host:pid:thread` → (host, pid). `None` when the owner is not in that form.
pub(crate) fn parse_owner(owner: &str) -> Option<(&str, u32)> {
    let mut parts = owner.rsplitn(3, ':');
    let _thread = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    Some((host, pid))
}

/// Whether process `pid` of this machine is gone (a zombie counts as gone). `false` when this cannot be told
/// (no `/proc`).
fn process_is_gone(pid: u32) -> bool {
    if pid == std::process::id() || !Path::new("/proc/self/stat").exists() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the command name, which is in parentheses and may hold any
        // character: look after the last ')'.
        Ok(stat) => {
            stat.rsplit_once(')').is_some_and(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X')))
        }
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Whether `owner` (`host:pid:thread`) names a process of this host that no longer exists, so its running
/// trial may be taken over at once instead of when its lease runs out.
///
/// `localhost_is_unique`: whether the fallback host name `localhost` (written when `$HOSTNAME` is unset)
/// may be trusted to mean this machine. True for an SQLite file (one machine); false for a server shared by
/// machines, where every machine without `$HOSTNAME` writes `localhost` and one machine's pids mean nothing
/// on another.
pub(crate) fn owner_is_gone(owner: &str, localhost_is_unique: bool) -> bool {
    let Some((host, pid)) = parse_owner(owner) else { return false };
    let here = this_host();
    if host != here || (here == "localhost" && !localhost_is_unique) {
        return false;
    }
    process_is_gone(pid)
}

/// Whether a running trial with this owner and lease end may be taken over at `now` (seconds, the clock
/// that wrote `lease_until`): its lease ran out, its owner's process on this host is gone (see
/// [`owner_is_gone`]), or it has neither owner nor lease (written by SQLite schema version 1, whose single
/// writer is gone).
pub(crate) fn is_abandoned(
    worker: Option<&str>,
    lease_until: Option<f64>,
    now: f64,
    localhost_is_unique: bool,
) -> bool {
    match (worker, lease_until) {
        (Some(worker), Some(until)) => until < now || owner_is_gone(worker, localhost_is_unique),
        _ => true,
    }
}

/// What one renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Renewal {
    /// The lease was extended.
    Renewed,
    /// The trial is no longer running under this lease (finished, or taken over): stop renewing.
    Lost,
    /// The store could not be reached: try again at the next tick.
    Failed,
}

/// How often a lease of `duration` is renewed: a third of it, so two renewals may fail before it runs
/// out (at least every 10 ms, at most every minute).
pub(crate) fn renew_interval(duration: Duration) -> Duration {
    (duration / 3).clamp(Duration::from_millis(10), Duration::from_secs(60))
}

/// Renews a lease on a background thread every [`renew_interval`] until it is dropped (which stops and
/// joins the thread) or the lease is lost.
pub(crate) struct Keeper {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Keeper {
    pub(crate) fn spawn(
        name: String,
        interval: Duration,
        mut renew: impl FnMut() -> Renewal + Send + 'static,
    ) -> std::io::Result<Keeper> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {
                        if renew() == Renewal::Lost {
                            return;
                        }
                    }
                    // Dropped (or, never, a message): stop.
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        })?;
        Ok(Keeper { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl LeaseKeeper for Keeper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_parse() {
        assert_eq!(parse_owner("node-1:1234:0"), Some(("node-1", 1234)));
        assert_eq!(parse_owner("a:b:1234:7"), Some(("a:b", 1234)));
        assert_eq!(parse_owner("node:x:0"), None);
        assert_eq!(parse_owner("1234:0"), None);
        assert_eq!(parse_owner(""), None);
    }

    #[test]
    fn gone_processes() {
        let here = this_host();
        let me = std::process::id();
        assert!(!owner_is_gone(&format!("{here}:{me}:3"), true));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        if Path::new("/proc/self/stat").exists() {
            assert!(owner_is_gone(&format!("{here}:{pid}:0"), true));
            assert_eq!(owner_is_gone(&format!("{here}:{pid}:0"), false), here != "localhost");
        }
        assert!(!owner_is_gone(&format!("{here}-elsewhere:{pid}:0"), true));
        assert!(!owner_is_gone("garbage", true));
    }

    #[test]
    fn keeper_renews_until_dropped() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::time::Instant;
        let count = Arc::new(AtomicU32::new(0));
        let seen = Arc::clone(&count);
        let keeper = Keeper::spawn("t".into(), Duration::from_millis(10), move || {
            seen.fetch_add(1, Ordering::SeqCst);
            Renewal::Renewed
        })
        .unwrap();
        // A loaded machine may run the thread late: wait for three renewals, up to a deadline.
        let deadline = Instant::now() + Duration::from_secs(20);
        while count.load(Ordering::SeqCst) < 3 {
            assert!(Instant::now() < deadline, "the keeper renewed {} times in 20 s", count.load(Ordering::SeqCst));
            std::thread::sleep(Duration::from_millis(5));
        }
        // Dropping joins the thread: nothing renews afterwards.
        drop(keeper);
        let after = count.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(count.load(Ordering::SeqCst), after, "renewals went on after the drop");
    }

    #[test]
    fn abandoned_trials() {
        let here = this_host();
        let me = format!("{here}:{}:0", std::process::id());
        assert!(!is_abandoned(Some(&me), Some(100.0), 99.0, true));
        assert!(is_abandoned(Some(&me), Some(100.0), 100.5, true));
        assert!(is_abandoned(None, None, 0.0, false), "a version 1 trial without an owner");
        assert!(is_abandoned(Some(&me), None, 0.0, false));
    }
}
