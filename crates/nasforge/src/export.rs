//! `nasforge export`: an architecture and the network around it, as JSON or as a PyTorch source file; the
//! work is the engine's [`export_architecture`].

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use nasforge_engine::{ExportRequest, NetworkScale, export_architecture};

use crate::cli::{ExportArgs, ExportFormat};

pub fn run(args: &ExportArgs) -> Result<ExitCode> {
    let request = ExportRequest {
        arch: args.chosen.arch.clone(),
        space: args.chosen.space,
        study: args.chosen.study("exported")?,
        input: args.input,
        classes: args.classes,
        scale: NetworkScale { channels: args.channels, cells: args.cells },
    };
    let exported = export_architecture(&request)?;
    let text = match args.format {
        ExportFormat::Json => format!("{}\n", serde_json::to_string_pretty(&exported.to_json())?),
        ExportFormat::Pytorch => exported.pytorch_source(),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
