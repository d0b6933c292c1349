//! `nasforge dashboard`: serves the live web UI of a store's studies until interrupted; the work is the
//! server crate's [`serve`].

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use nasforge_server::{DashboardOptions, serve};

use crate::cli::DashboardArgs;

pub fn run(args: &DashboardArgs) -> Result<ExitCode> {
    let options = DashboardOptions { storage: args.storage.storage.clone(), host: args.host, port: args.port };
    serve(&options, |address| {
        // The first line of standard output, for scripts that start the dashboard on port 0.
        println!("dashboard of {} on http://{address}/ (Ctrl-C stops it)", options.storage);
        let _ = std::io::stdout().flush();
    })?;
    Ok(ExitCode::SUCCESS)
}
