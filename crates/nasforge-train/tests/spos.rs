//! The NAS-Bench-201 supernet and single-path one-shot training (SPOS) on a synthetic task: weights really
//! shared between paths, every operation drawn, the supernet learning the task, and inherited scores that
//! tell a path that can learn it from one that cannot.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use nasforge_core::SearchSpace;
use nasforge_core::space::{Nb201Arch, Nb201Network, Nb201Op, Nb201Space};
use nasforge_train::data::{self, SplitMix64, SyntheticConfig};
use nasforge_train::network::Nb201Supernet;
use nasforge_train::spos::{inherited_accuracy, train_supernet, uniform_path};
use nasforge_train::{Augmentation, Batcher, Dataset, OptimizerKind, TrainConfig};

const ALL_CONV: &str =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
const ONE_SKIP: &str =
    "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
/// Every path from the input to the output goes through a zero edge: the cell outputs zeros.
const NOTHING: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|";

fn tiny_network() -> Nb201Network {
    Nb201Network { channels: 4, cells_per_stage: 1, input_channels: 1, input_size: 12, classes: 4 }
}

fn synthetic() -> (Dataset, Dataset) {
    data::synthetic(&SyntheticConfig {
        train: 480,
        test: 160,
        channels: 1,
        size: 12,
        classes: 4,
        noise: 30.0,
        seed: 11,
    })
}

fn batcher(train: &Dataset) -> Batcher {
    Batcher { normalization: train.channel_stats(), augmentation: Augmentation::NONE, resolution: None }
}

fn arch(text: &str) -> Nb201Arch {
    Nb201Space.parse(text).unwrap()
}

#[test]
fn training_one_path_changes_what_another_path_reads() {
    let device = Device::flex().autodiff();
    device.seed(1);
    let mut supernet = Nb201Supernet::new(&tiny_network(), &device);
    let (train, _) = synthetic();
    let batch = batcher(&train).batch(&train, &(0..32).collect::<Vec<_>>(), &mut SplitMix64::new(0));
    let x = Tensor::<4>::from_data(TensorData::new(batch.images, batch.shape), &device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(batch.labels, [32]), &device);
    let (trained, other) = (arch(ALL_CONV), arch(ONE_SKIP));
    let logits = |supernet: &Nb201Supernet| -> Vec<f32> {
        supernet.forward(&other, x.clone()).detach().into_data().try_into_vec::<f32>().unwrap()
    };
    let before = logits(&supernet);
    let loss = CrossEntropyLossConfig::new().init(&device).forward(supernet.forward(&trained, x.clone()), y);
    let grads = GradientsParams::from_grads(loss.backward(), &supernet);
    supernet = SgdConfig::new().init().step(0.5, supernet, grads);
    let after = logits(&supernet);
    let moved = before.iter().zip(&after).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(moved > 1e-3, "a step on one path left the other path's output unchanged (max change {moved})");
}

#[test]
fn uniform_paths_draw_every_operation_on_every_edge() {
    let mut rng = SplitMix64::new(3);
    let mut seen = [[false; 5]; 6];
    for _ in 0..400 {
        for (edge, op) in uniform_path(&mut rng).ops.iter().enumerate() {
            seen[edge][Nb201Op::ALL.iter().position(|o| o == op).unwrap()] = true;
        }
    }
    assert!(seen.iter().flatten().all(|&s| s), "{seen:?}");
}

#[test]
fn a_trained_supernet_scores_a_learning_path_above_one_that_cannot_learn() {
    let device = Device::flex();
    device.seed(2);
    let (train, test) = synthetic();
    let config = TrainConfig {
        epochs: 8,
        batch_size: 32,
        optimizer: OptimizerKind::Sgd { momentum: 0.9, nesterov: true },
        learning_rate: 0.05,
        weight_decay: 1e-4,
        ..TrainConfig::default()
    };
    let supernet = Nb201Supernet::new(&tiny_network(), &device.clone().autodiff());
    let run = train_supernet(supernet, &train, &batcher(&train), &config, &device, 7).unwrap();
    assert_eq!(run.steps, 8 * (480 / 32));
    assert!(run.last_loss < run.first_loss, "the supernet did not learn: {} → {}", run.first_loss, run.last_loss);
    let score = |text: &str| inherited_accuracy(&run.supernet, &arch(text), &test, &batcher(&train), 160, &device);
    let (learning, nothing) = (score(ALL_CONV), score(NOTHING));
    // Four classes: chance is 0.25; a cell that outputs zeros leaves the classifier only its bias.
    assert!(learning >= 0.6, "an all-convolution path inherits {learning}");
    assert!(nothing <= 0.35, "a path that computes nothing inherits {nothing}");
}
