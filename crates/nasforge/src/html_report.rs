//! `nasforge report`: a study as one self-contained HTML file (plots, the choices of its best trials, the
//! drawing of its best architecture, the table of trials); the views are `nasforge-report`'s.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use nasforge_engine::StudyHandle;
use nasforge_report::{ReportOptions, StudyReport, render_page};

use crate::cli::ReportArgs;

pub fn run(args: &ReportArgs) -> Result<ExitCode> {
    let results = StudyHandle::open(&args.storage.storage, &args.study)?.results()?;
    let options = ReportOptions { top_fraction: args.top, ..ReportOptions::default() };
    let report = StudyReport::new(&results, &options).with_context(|| format!("study '{}'", args.study))?;
    write_html(&args.output, &render_page(&report))?;
    if report.is_empty() {
        eprintln!("study '{}' has no trials yet; {} says so", args.study, args.output.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a page, naming the file when it cannot be written.
pub fn write_html(path: &Path, html: &str) -> Result<()> {
    std::fs::write(path, html).with_context(|| format!("writing {}", path.display()))
}
