//! Training throughput of the NAS-Bench-201 supernet on burn's CPU backend (`flex`), the counterpart of
//! `examples/supernet_throughput.py` (PyTorch, the same supernet): SPOS steps (one uniformly drawn path per
//! step, `train_supernet`) or DARTS steps (every operation weighted by softmax(α), a step on the weights with a
//! training batch then one on α with a validation batch, `search_differentiable`), through the library's own
//! training loops on synthetic 1×28×28 images (Fashion-MNIST's shape), 10 classes, SGD with momentum 0.9.
//!
//! ```text
//! cargo run --release -p nasforge-train --example supernet_throughput -- [--method spos|darts] [--channels 8] \
//!     [--cells 1] [--threads 2] [--batch 128] [--steps 40]
//! ```
//! Prints the supernet's trainable parameters and the training images per second over the timed steps (after a
//! warm-up run of 3 steps).

use burn::tensor::Device;
use nasforge_core::space::Nb201Network;
use nasforge_train::data::{SplitMix64, SyntheticConfig, synthetic};
use nasforge_train::differentiable::{ArchParams, DifferentiableConfig, Relaxation, search_differentiable};
use nasforge_train::network::Nb201Supernet;
use nasforge_train::spos::{UniformPaths, train_supernet};
use nasforge_train::{Augmentation, Batcher, OptimizerKind, TrainConfig, trainable_params};

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

/// Trains a fresh supernet for `steps` steps; returns its trainable parameters and the training seconds.
fn run(method: &str, network: &Nb201Network, batch: usize, steps: usize) -> (u64, f64) {
    let device = Device::flex();
    device.seed(0);
    let (train, validation) = synthetic(&SyntheticConfig {
        train: batch * steps,
        test: batch * steps.min(8),
        channels: 1,
        size: 28,
        classes: 10,
        noise: 30.0,
        seed: 1,
    });
    let batcher = Batcher { normalization: train.channel_stats(), augmentation: Augmentation::NONE, resolution: None };
    let config = TrainConfig {
        epochs: 1,
        batch_size: batch,
        optimizer: OptimizerKind::Sgd { momentum: 0.9, nesterov: false },
        learning_rate: 0.01,
        weight_decay: 0.0,
        cosine: false,
        ..TrainConfig::default()
    };
    let ad_device = device.clone().autodiff();
    let supernet = Nb201Supernet::new(network, &ad_device);
    let params = trainable_params(&supernet);
    let seconds = match method {
        "spos" => {
            train_supernet(supernet, &train, &batcher, &config, &device, 0, &mut UniformPaths, None, &mut |_, _| Ok(()))
                .expect("SPOS training")
                .train_seconds
        }
        "darts" => {
            let params = ArchParams::new(&ad_device, &mut SplitMix64::new(0));
            let search = DifferentiableConfig { relaxation: Relaxation::Darts, arch_learning_rate: 3e-4 };
            let run = search_differentiable(
                supernet,
                params,
                &search,
                &train,
                &validation,
                &batcher,
                &config,
                &device,
                0,
                None,
                &mut |_, _| Ok(()),
            );
            run.expect("DARTS search").train_seconds
        }
        other => panic!("--method {other}: expected spos or darts"),
    };
    (params, seconds)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let method = arg(&args, "--method", "spos");
    let channels: usize = arg(&args, "--channels", "8").parse().expect("--channels N");
    let cells: usize = arg(&args, "--cells", "1").parse().expect("--cells N");
    let threads: usize = arg(&args, "--threads", "2").parse().expect("--threads N");
    let batch: usize = arg(&args, "--batch", "128").parse().expect("--batch N");
    let steps: usize = arg(&args, "--steps", "40").parse().expect("--steps N");
    nasforge_train::reuse_freed_memory();
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().expect("the rayon pool");
    let network = Nb201Network { channels, cells_per_stage: cells, input_channels: 1, input_size: 28, classes: 10 };
    run(&method, &network, batch, 3);
    let (params, seconds) = run(&method, &network, batch, steps);
    println!(
        "burn 0.22 flex {method} supernet ({params} parameters): {channels} channels, {cells} cells, batch {batch}, \
         {threads} threads, {steps} steps in {seconds:.2} s: {:.0} images/s",
        (steps * batch) as f64 / seconds
    );
}
