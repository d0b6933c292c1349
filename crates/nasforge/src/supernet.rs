//! `nasforge supernet`: an SPOS supernet trained once and saved through the engine
//! ([`train_saved_supernet`]), for searches with `--supernet DIR`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use nasforge_engine::{SpaceKind, SupernetRequest, train_saved_supernet};

use crate::cli::SupernetArgs;
use crate::search::training_flags;

pub fn run(args: &SupernetArgs) -> Result<ExitCode> {
    if args.space != SpaceKind::Nb201 {
        bail!("--space {}: only nb201 has a supernet so far", args.space.name());
    }
    let request = SupernetRequest {
        training: training_flags(&args.training),
        output: args.output.clone(),
        device: args.device,
        seed: args.seed,
    };
    let mut on_epoch = |epoch: usize, epochs: usize, loss: f64| {
        eprintln!("supernet epoch {epoch}/{epochs}: training loss {loss:.4}");
    };
    let manifest = train_saved_supernet(&request, &mut on_epoch)?;
    if args.json {
        let mut json = serde_json::to_value(&manifest)?;
        json["path"] = serde_json::json!(args.output);
        println!("{json}");
    } else {
        println!("path\t{}", args.output.display());
        println!("dataset\t{}", manifest.dataset);
        println!("channels\t{}", manifest.network.channels);
        println!("cells_per_stage\t{}", manifest.network.cells_per_stage);
        println!("steps\t{}", manifest.steps);
        println!("train_seconds\t{:.1}", manifest.train_seconds);
        println!("loss\t{:.4} -> {:.4}", manifest.first_loss, manifest.last_loss);
        println!("search with\tnasforge search --supernet {} --strategy tpe --trials 500", args.output.display());
    }
    Ok(ExitCode::SUCCESS)
}
