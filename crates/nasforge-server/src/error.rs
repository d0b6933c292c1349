//! Why the dashboard could not start or stopped.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Engine(#[from] nasforge_engine::EngineError),
    #[error(transparent)]
    Report(#[from] nasforge_report::ReportError),
    #[error("cannot listen on {address}: {source}{hint}", hint = bind_hint(source))]
    Bind { address: SocketAddr, source: std::io::Error },
    #[error("starting the server's runtime: {0}")]
    Runtime(std::io::Error),
    #[error("serving: {0}")]
    Serve(std::io::Error),
}

fn bind_hint(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => " (the port is in use, perhaps by another dashboard: choose one with --port)",
        std::io::ErrorKind::PermissionDenied => " (ports below 1024 need privileges: choose one with --port)",
        _ => "",
    }
}
