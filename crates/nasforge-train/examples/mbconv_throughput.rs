//! Training throughput of an mbconv network on burn's CPU backend (`flex`), the counterpart of
//! `examples/mbconv_throughput.py` (PyTorch, the same network from `nasforge.torch`).
//!
//! ```text
//! cargo run --release -p nasforge-train --example mbconv_throughput -- [--arch ARCH] [--threads 2] [--batch 64] [--steps 20]
//! ```
//! Random 1×28×28 batches (Fashion-MNIST's shape), 10 classes, SGD with momentum 0.9, cross-entropy. Prints the
//! trainable parameters and images per second over the timed steps (after warm-up).

use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use nasforge_core::SearchSpace;
use nasforge_core::space::{MbconvSpace, TaskShape};
use nasforge_train::{Buildable, Network, NetworkScale};

/// Every kernel, expansion, squeeze-and-excitation and activation at full width and resolution.
const DEFAULT_ARCH: &str = "w1-r1:k3e3-relu,k5e6-se-hswish/k7e4-relu,k3e6-se-relu,k5e3-hswish/k3e4-relu,k7e6-se-hswish/k5e4-se-relu,k3e3-hswish";

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = arg(&args, "--arch", DEFAULT_ARCH);
    let threads: usize = arg(&args, "--threads", "2").parse().expect("--threads N");
    let batch: usize = arg(&args, "--batch", "64").parse().expect("--batch N");
    let steps: usize = arg(&args, "--steps", "20").parse().expect("--steps N");
    let warmup: usize = arg(&args, "--warmup", "3").parse().expect("--warmup N");
    nasforge_train::reuse_freed_memory();
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().expect("the rayon pool");
    let space = MbconvSpace::default();
    let arch = space.parse(&text).unwrap_or_else(|e| panic!("--arch: {}", e.message));
    let task = TaskShape { channels: 1, size: 28, classes: 10 };
    let device = Device::flex().autodiff();
    device.seed(0);
    let mut model = space.build(&arch, &task, &NetworkScale::default(), &device);
    let params = model.params();
    let mut optim =
        SgdConfig::new().with_momentum(Some(MomentumConfig::new().with_momentum(0.9).with_dampening(0.0))).init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let x = Tensor::<4>::random([batch, 1, 28, 28], Distribution::Normal(0.0, 1.0), &device);
    let labels: Vec<i64> = (0..batch as i64).map(|i| (i * 7) % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &device);
    let mut step = |model: Network| {
        let loss = loss_fn.forward(model.forward(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = optim.step(0.01, model, grads);
        let _ = loss.into_scalar::<f32>();
        model
    };
    for _ in 0..warmup {
        model = step(model);
    }
    let started = Instant::now();
    for _ in 0..steps {
        model = step(model);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "burn 0.22 flex mbconv ({params} parameters): batch {batch}, {threads} threads, {steps} steps in {seconds:.2} s: {:.0} images/s",
        (steps * batch) as f64 / seconds
    );
}
