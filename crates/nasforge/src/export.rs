//! `nasforge export`: an architecture and the network around it, as JSON, a PyTorch source file or an ONNX
//! model; the work is the engine's [`export_architecture`].

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
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
    let onnx = args.format == ExportFormat::Onnx;
    if !onnx && (args.weights.is_some() || args.reference.is_some()) {
        bail!("--weights and --reference go with --format onnx (the JSON and PyTorch exports carry no weights)");
    }
    if onnx && args.output.is_none() {
        bail!("--format onnx writes a binary model: give the file with -o FILE");
    }
    let exported = export_architecture(&request)?;
    let (bytes, reference) = match args.format {
        ExportFormat::Json => (format!("{}\n", serde_json::to_string_pretty(&exported.to_json())?).into_bytes(), None),
        ExportFormat::Pytorch => (exported.pytorch_source().into_bytes(), None),
        ExportFormat::Onnx => {
            let model = exported.onnx(args.weights.as_deref())?;
            (model.model, Some(model.reference))
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    if let (Some(path), Some(reference)) = (&args.reference, reference) {
        let text = serde_json::to_string(&reference)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
