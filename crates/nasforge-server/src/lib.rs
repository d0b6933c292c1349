//! The nasforge dashboard: a live, read-only web UI over every study of a store (SQLite or PostgreSQL),
//! showing the report's views (`nasforge-report`) and refreshing them as trials arrive. axum on tokio; the
//! store is read on blocking threads, and each study is followed through the store's change log
//! ([`nasforge_engine::StudyFollower`]), so a refresh reads only what changed.
//!
//! ```no_run
//! use nasforge_server::{DashboardOptions, serve};
//!
//! # fn main() -> Result<(), nasforge_server::ServerError> {
//! let options = DashboardOptions { storage: "sqlite:nasforge.db".into(), ..DashboardOptions::default() };
//! serve(&options, |address| println!("dashboard on http://{address}/"))
//! # }
//! ```

mod error;
mod pages;
mod routes;
mod studies;

pub use error::ServerError;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Where the dashboard listens and what it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardOptions {
    /// The store's URL (it must exist: the dashboard never creates one).
    pub storage: String,
    /// The address to bind: loopback unless asked otherwise.
    pub host: IpAddr,
    /// The port (0: any free one).
    pub port: u16,
}

impl Default for DashboardOptions {
    fn default() -> Self {
        DashboardOptions { storage: String::new(), host: IpAddr::V4(Ipv4Addr::LOCALHOST), port: 8080 }
    }
}

/// Serves the dashboard until Ctrl-C or SIGTERM. `ready` hears the bound address once the server listens.
pub fn serve(options: &DashboardOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), ServerError> {
    let studies = studies::Studies::open(&options.storage)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(ServerError::Runtime)?;
    runtime.block_on(async {
        let address = SocketAddr::new(options.host, options.port);
        let listener =
            tokio::net::TcpListener::bind(address).await.map_err(|source| ServerError::Bind { address, source })?;
        let bound = listener.local_addr().map_err(|source| ServerError::Bind { address, source })?;
        ready(bound);
        axum::serve(listener, routes::router(studies))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(ServerError::Serve)
    })
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return std::future::pending::<()>().await,
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
