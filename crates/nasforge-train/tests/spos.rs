//! The NAS-Bench-201 supernet, single-path one-shot training (SPOS) and ENAS on a synthetic task: weights
//! really shared between paths, every operation drawn, the supernet learning the task, inherited scores that
//! tell a path that can learn it from one that cannot, batch-norm recalibration, a saved supernet that scores
//! as the one in memory and refuses what it is not, an ENAS controller that learns which cells do well with
//! the shared weights, and resumed trainings equal to uninterrupted ones.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use nasforge_core::SearchSpace;
use nasforge_core::space::{Nb201Arch, Nb201Network, Nb201Op, Nb201Space};
use nasforge_core::study::EvalError;
use nasforge_train::data::SplitMix64;
use nasforge_train::enas::{EnasConfig, EnasPaths};
use nasforge_train::network::{BatchNormStatistics, Nb201Supernet};
use nasforge_train::saved_supernet::{FORMAT, MANIFEST_FILE, SavedSupernet, SupernetManifest};
use nasforge_train::spos::{
    InheritedScore, PathSampler, Scoring, UniformPaths, inherited_score, train_supernet, uniform_path,
};
use nasforge_train::{Augmentation, Batcher, Dataset, OptimizerKind, TrainConfig};

const ALL_CONV: &str =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
const ONE_SKIP: &str =
    "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
/// Every path from the input to the output goes through a zero edge: the cell outputs zeros.
const NOTHING: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|";

/// Tests that seed the device's generator take turns: another test's seed would change their initialisation.
static SEEDED_DEVICE: Mutex<()> = Mutex::new(());

fn tiny_network() -> Nb201Network {
    Nb201Network { channels: 4, cells_per_stage: 1, input_channels: 1, input_size: 12, classes: 4 }
}

fn synthetic() -> (Dataset, Dataset) {
    let source = common::synthetic();
    (source.train, source.test)
}

fn batcher(train: &Dataset) -> Batcher {
    Batcher { normalization: train.channel_stats(), augmentation: Augmentation::NONE, resolution: None }
}

fn arch(text: &str) -> Nb201Arch {
    Nb201Space.parse(text).unwrap()
}

#[test]
fn training_one_path_changes_what_another_path_reads() {
    let _turn = SEEDED_DEVICE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
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

fn config() -> TrainConfig {
    TrainConfig {
        epochs: 8,
        batch_size: 32,
        optimizer: OptimizerKind::Sgd { momentum: 0.9, nesterov: true },
        learning_rate: 0.05,
        weight_decay: 1e-4,
        ..TrainConfig::default()
    }
}

/// A supernet trained by SPOS on the synthetic task (device seed 2, path seed 7).
fn trained_supernet(device: &Device) -> Nb201Supernet {
    let _turn = SEEDED_DEVICE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(2);
    let (train, _) = synthetic();
    let supernet = Nb201Supernet::new(&tiny_network(), &device.clone().autodiff());
    let run = train_supernet(
        supernet,
        &train,
        &batcher(&train),
        &config(),
        device,
        7,
        &mut UniformPaths,
        None,
        &mut |_, _| Ok(()),
    )
    .unwrap();
    assert_eq!(run.steps, 8 * (480 / 32));
    assert!(run.last_loss < run.first_loss, "the supernet did not learn: {} → {}", run.first_loss, run.last_loss);
    run.supernet
}

fn score(supernet: &Nb201Supernet, text: &str, recalibration_images: usize) -> InheritedScore {
    let (train, test) = synthetic();
    let batcher = batcher(&train);
    let scoring =
        Scoring { validation: &test, validation_images: 160, train: &train, recalibration_images, batcher: &batcher };
    inherited_score(&supernet.for_scoring(), &arch(text), &scoring, &Device::flex()).unwrap()
}

#[test]
fn a_trained_supernet_scores_a_learning_path_above_one_that_cannot_learn() {
    let supernet = trained_supernet(&Device::flex());
    for recalibration_images in [0, 256] {
        let (learning, nothing) =
            (score(&supernet, ALL_CONV, recalibration_images), score(&supernet, NOTHING, recalibration_images));
        // Four classes: chance is 0.25; a cell that outputs zeros leaves the classifier only its bias.
        assert!(learning.accuracy >= 0.6, "an all-convolution path inherits {learning:?} ({recalibration_images})");
        assert!(nothing.accuracy <= 0.35, "a path that computes nothing inherits {nothing:?} ({recalibration_images})");
    }
}

#[test]
fn recalibration_re_estimates_each_layer_of_the_path_on_training_images() {
    let supernet = trained_supernet(&Device::flex()).for_scoring();
    let (train, _) = synthetic();
    let batch = batcher(&train).batch(&train, &(0..64).collect::<Vec<_>>(), &mut SplitMix64::new(0));
    let x = Tensor::<4>::from_data(TensorData::new(batch.images, batch.shape), &Device::flex());
    let statistics_of = |text: &str| {
        let mut statistics = BatchNormStatistics::default();
        statistics.record(|| supernet.forward(&arch(text), x.clone()));
        statistics
    };
    let (all_conv, one_skip) = (statistics_of(ALL_CONV), statistics_of(ONE_SKIP));
    // Stem, six 3x3 convolutions per cell in three cells, two per reduction, the last norm: 1 + 18 + 4 + 1.
    assert_eq!(all_conv.layers(), 24);
    assert_eq!(one_skip.layers(), 21, "a skip edge has no batch norm, one per cell");
    // The stem sees the same input on both paths; the next layer already sees what the path made of it.
    assert_eq!(all_conv.mean(0), one_skip.mean(0));
    assert_ne!(all_conv.mean(all_conv.layers() - 1), one_skip.mean(one_skip.layers() - 1));
    // Statistics re-estimated from what the supernet kept mixed over all paths: they differ from the running
    // ones, and scoring with them differs from scoring with each validation batch's own.
    assert!(all_conv.variance(0).iter().all(|v| v.is_finite() && *v > 0.0));
    let (recalibrated, per_batch) = (score(&supernet, ALL_CONV, 256), score(&supernet, ALL_CONV, 0));
    assert_ne!(recalibrated.loss, per_batch.loss);
    // Another path's statistics cannot score this one.
    assert!(one_skip.apply(|| supernet.forward(&arch(ALL_CONV), x.clone())).is_err());
}

#[test]
fn a_resumed_supernet_training_equals_an_uninterrupted_one() {
    resumed_equals_uninterrupted("resumed", &mut || UniformPaths);
}

/// ENAS on the synthetic task over `epochs` epochs: 30 controller updates after each, rewarded on 64 of
/// `validation`'s images.
fn enas_paths<'a>(validation: &'a Dataset, train: &Dataset, epochs: usize) -> EnasPaths<'a> {
    let config = EnasConfig { controller_steps: 30, reward_images: 64, learning_rate: None };
    EnasPaths::new(config, epochs, validation, &batcher(train), &Device::flex(), 4).unwrap()
}

#[test]
fn a_resumed_enas_training_equals_an_uninterrupted_one() {
    let (train, test) = synthetic();
    let controller = resumed_equals_uninterrupted("resumed-enas", &mut || enas_paths(&test, &train, 4));
    assert_eq!(controller["rewards"].as_array().map(Vec::len), Some(4 * 30), "{controller}");
}

#[test]
fn the_enas_controller_learns_to_draw_cells_that_do_well_with_the_shared_weights() {
    let _turn = SEEDED_DEVICE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex();
    device.seed(2);
    let (train, test) = synthetic();
    let epochs = config().epochs;
    let mut paths = enas_paths(&test, &train, epochs);
    let supernet = Nb201Supernet::new(&tiny_network(), &device.clone().autodiff());
    let run =
        train_supernet(supernet, &train, &batcher(&train), &config(), &device, 7, &mut paths, None, &mut |_, _| Ok(()))
            .unwrap();
    assert_eq!(paths.rewards().len(), epochs * 30);
    // Cells drawn from the trained controller against cells drawn uniformly, all scored with the trained
    // supernet on the same images.
    let mean_accuracy = |draw: &mut dyn FnMut(&mut SplitMix64) -> Nb201Arch| {
        let mut rng = SplitMix64::new(9);
        let scores: Vec<f64> =
            (0..40).map(|_| score(&run.supernet, &Nb201Space.print(&draw(&mut rng)), 0).accuracy).collect();
        scores.iter().sum::<f64>() / scores.len() as f64
    };
    let (controller, uniform) = (mean_accuracy(&mut |rng| paths.draw(rng)), mean_accuracy(&mut uniform_path));
    eprintln!("controller {controller:.3}, uniform {uniform:.3}, policy {:?}", paths.policy());
    assert!(controller > uniform + 0.05, "the controller's cells score {controller:.3}, uniform ones {uniform:.3}");
    // Its distribution moved away from uniform.
    let largest = paths.policy().iter().flatten().copied().fold(0.0, f64::max);
    assert!(largest > 0.3, "the controller's most likely operation has {largest:.3} (uniform: 0.2)");
}

/// Trains a supernet for 4 epochs in one go, then again killed after epoch 2 and resumed from its
/// checkpoint, each time with a fresh sampler from `paths`; both end with the same losses, weights and sampler
/// state (returned).
fn resumed_equals_uninterrupted<P: PathSampler>(name: &str, paths: &mut dyn FnMut() -> P) -> serde_json::Value {
    let _turn = SEEDED_DEVICE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex();
    let (train, test) = synthetic();
    let config = TrainConfig { epochs: 4, ..config() };
    let fresh = || {
        device.seed(5);
        Nb201Supernet::new(&tiny_network(), &device.clone().autodiff())
    };
    let mut train_with = |checkpoint: Option<&Path>, stop_after: usize| {
        let mut on_epoch = |epoch: usize, loss: f64| match epoch == stop_after {
            true => Err(EvalError::Fatal(format!("killed after epoch {epoch} (loss {loss})"))),
            false => Ok(()),
        };
        let mut sampler = paths();
        train_supernet(fresh(), &train, &batcher(&train), &config, &device, 3, &mut sampler, checkpoint, &mut on_epoch)
            .map(|run| (run, sampler.state()))
    };
    let (whole, whole_sampler) = train_with(None, 0).unwrap();

    let dir = scratch_dir(name);
    let killed = train_with(Some(&dir), 2).unwrap_err();
    assert!(killed.to_string().contains("killed after epoch 2"), "{killed}");
    let (resumed, resumed_sampler) = train_with(Some(&dir), 0).unwrap();
    assert_eq!(
        (resumed.steps, resumed.first_loss, resumed.last_loss),
        (whole.steps, whole.first_loss, whole.last_loss)
    );
    assert_eq!(resumed_sampler, whole_sampler, "the path sampler ended in another state");
    let batch = batcher(&train).batch(&test, &(0..32).collect::<Vec<_>>(), &mut SplitMix64::new(0));
    let x = Tensor::<4>::from_data(TensorData::new(batch.images, batch.shape), &Device::flex());
    let logits = |supernet: &Nb201Supernet| -> Vec<f32> {
        let scorer = supernet.for_scoring();
        BatchNormStatistics::default()
            .record(|| scorer.forward(&arch(ONE_SKIP), x.clone()))
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    assert_eq!(logits(&resumed.supernet), logits(&whole.supernet));
    std::fs::remove_dir_all(&dir).unwrap();
    whole_sampler
}

fn manifest() -> SupernetManifest {
    SupernetManifest {
        format: FORMAT,
        space: "nb201".into(),
        network: tiny_network(),
        dataset: "synthetic".into(),
        validation_fraction: 0.1,
        seed: 7,
        training: config(),
        steps: 120,
        train_seconds: 1.0,
        first_loss: 1.4,
        last_loss: 0.5,
    }
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasforge-spos-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_saved_supernet_scores_as_the_one_in_memory() {
    let device = Device::flex();
    let supernet = trained_supernet(&device);
    let dir = scratch_dir("saved");
    let saved = SavedSupernet { manifest: manifest(), supernet: supernet.clone() };
    saved.save(&dir).unwrap();
    let loaded = SavedSupernet::load(&dir, &device).unwrap();
    assert_eq!(loaded.manifest, manifest());
    for text in [ALL_CONV, ONE_SKIP] {
        assert_eq!(score(&loaded.supernet, text, 256), score(&supernet, text, 256));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_supernet_directory_of_another_space_format_or_shape_is_refused_by_name() {
    let device = Device::flex();
    let dir = scratch_dir("refused");
    let missing = SavedSupernet::load(&dir, &device).unwrap_err();
    assert!(missing.contains(MANIFEST_FILE) && missing.contains("nasforge supernet"), "{missing}");

    let save = |manifest: SupernetManifest| {
        let supernet = Nb201Supernet::new(&tiny_network(), &device);
        SavedSupernet { manifest, supernet }.save(&dir).unwrap();
        SavedSupernet::load(&dir, &device).unwrap_err()
    };
    let other_space = save(SupernetManifest { space: "darts".into(), ..manifest() });
    assert!(other_space.contains("space `darts`"), "{other_space}");
    let other_format = save(SupernetManifest { format: FORMAT + 1, ..manifest() });
    assert!(other_format.contains(&format!("format {}", FORMAT + 1)), "{other_format}");

    // Weights of a wider network than the description says.
    let wider = Nb201Network { channels: 8, ..tiny_network() };
    SavedSupernet { manifest: manifest(), supernet: Nb201Supernet::new(&wider, &device) }.save(&dir).unwrap();
    let misfit = SavedSupernet::load(&dir, &device).unwrap_err();
    assert!(misfit.contains("weights.bpk"), "{misfit}");

    // Data of another shape than the supernet was built for.
    let wrong_input = SupernetManifest { network: Nb201Network { input_size: 16, ..tiny_network() }, ..manifest() };
    let mismatch = wrong_input.data(None).unwrap_err();
    assert!(mismatch.contains("1x16x16") && mismatch.contains("the data found is"), "{mismatch}");

    std::fs::write(dir.join(MANIFEST_FILE), "{\"format\": 1,\n \"space\": }").unwrap();
    let garbled = SavedSupernet::load(&dir, &device).unwrap_err();
    assert!(garbled.contains("line 2"), "{garbled}");
    std::fs::remove_dir_all(&dir).unwrap();
}
