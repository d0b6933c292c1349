//! Leases: a worker's claim on a trial for a while, who this host is, and the clock every store and
//! study reads, each defined once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A worker's claim on a trial: who holds it, and for how long without a renewal.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    /// The worker, `host:pid:thread`: a store may treat a trial whose owner's process is gone from this
    /// host as abandoned at once.
    pub owner: String,
    pub duration: Duration,
}

impl Lease {
    /// A lease for the calling process and thread on this host.
    pub fn for_this_process(thread: usize, duration: Duration) -> Lease {
        Lease { owner: format!("{}:{}:{thread}", this_host(), std::process::id()), duration }
    }
}

/// The host part of the lease owners this process writes: `$HOSTNAME`, or `localhost` when it is unset or
/// empty.
pub fn this_host() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into())
}

/// Seconds since the Unix epoch, from this machine's clock.
pub fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Keeps a lease alive while it exists (a store renews it in the background); dropping it stops.
pub trait LeaseKeeper: Send {}

impl LeaseKeeper for () {}
