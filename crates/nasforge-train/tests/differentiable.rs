//! Differentiable search (DARTS, GDAS) on a tiny NAS-Bench-201 supernet and a synthetic task: DARTS's α
//! descends the mixture's validation loss, GDAS's moves to the operation whose weights have learnt the task,
//! α is recorded every epoch, the derived cell is the strongest operation of each edge, refused when it
//! computes nothing, and a search killed after an epoch and resumed from its checkpoint ends as an
//! uninterrupted one.

use std::path::Path;
use std::sync::Mutex;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use nasforge_core::SearchSpace;
use nasforge_core::space::nb201::EDGES;
use nasforge_core::space::{Nb201Network, Nb201Op, Nb201Space};
use nasforge_core::study::EvalError;
use nasforge_train::data::{self, SplitMix64, SyntheticConfig};
use nasforge_train::differentiable::{
    ArchParams, DifferentiableConfig, OpWeights, Relaxation, derive_cell, search_differentiable,
};
use nasforge_train::network::{BatchNormStatistics, CellTerms, EdgeTerm, Nb201Supernet};
use nasforge_train::{Augmentation, Batcher, Dataset, TrainConfig};

const ALL_CONV: &str =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
const CONV_3X3: usize = 3;

/// The tiny supernet of these tests: 4 channels, one cell per stage, 1×12×12 inputs, 4 classes.
const TINY_NETWORK: Nb201Network =
    Nb201Network { channels: 4, cells_per_stage: 1, input_channels: 1, input_size: 12, classes: 4 };

/// A synthetic four-class task of `train` training and `validation` validation images.
fn synthetic_task(train: usize, validation: usize) -> (Dataset, Dataset) {
    data::synthetic(&SyntheticConfig {
        train,
        test: validation,
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

/// The device's random draws are global: tests that seed it take turns, so that each run is the same.
static SEEDED_DEVICE: Mutex<()> = Mutex::new(());

/// What a search after training the 3x3 path gives.
struct Searched {
    /// softmax(α) after each epoch.
    history: Vec<OpWeights>,
    /// The mean validation loss of the DARTS mixture with the supernet's weights, at the initial α and at
    /// the last.
    mixture_loss_before: f64,
    mixture_loss_after: f64,
}

/// The mean loss on `data` of the supernet whose every edge outputs the `weights`-weighted sum of its
/// operations (the DARTS mixture).
fn mixture_loss(supernet: &Nb201Supernet, weights: &OpWeights, data: &Dataset, batcher: &Batcher) -> f64 {
    let device = Device::flex().autodiff();
    let terms: CellTerms = std::array::from_fn(|edge| {
        Nb201Op::ALL
            .iter()
            .zip(weights[edge])
            .map(|(&op, w)| EdgeTerm { op, weight: Some(Tensor::<1>::from_data([w as f32], &device)) })
            .collect()
    });
    let indices: Vec<usize> = (0..data.len()).collect();
    let batch = batcher.batch(data, &indices, &mut SplitMix64::new(0));
    let x = Tensor::<4>::from_data(TensorData::new(batch.images, batch.shape), &device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(batch.labels, [data.len()]), &device);
    let loss = CrossEntropyLossConfig::new().init(&device).forward(supernet.forward_terms(&terms, x), y);
    f64::from(loss.into_scalar::<f32>())
}

/// A tiny supernet whose 3x3 convolutions have learnt the synthetic task (the all-3x3 path trained alone;
/// every other operation keeps its initial weights), then searched by `relaxation` with the weights held
/// (learning rate 0) and a larger α step than the paper's 3e-4, so that 90 steps show where α goes.
fn search_after_training_the_3x3_path(relaxation: Relaxation) -> Searched {
    let _turn = SEEDED_DEVICE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex();
    device.seed(5);
    let (train, validation) = synthetic_task(480, 240);
    let network = TINY_NETWORK;
    let ad_device = device.clone().autodiff();
    let batcher = batcher(&train);
    let mut supernet = Nb201Supernet::new(&network, &ad_device);
    let path = Nb201Space.parse(ALL_CONV).unwrap();
    let mut optim = SgdConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad_device);
    let mut rng = SplitMix64::new(0);
    for _ in 0..5 {
        for chunk in (0..train.len()).collect::<Vec<_>>().chunks(32) {
            let batch = batcher.batch(&train, chunk, &mut rng);
            let n = batch.labels.len();
            let x = Tensor::<4>::from_data(TensorData::new(batch.images, batch.shape), &ad_device);
            let y = Tensor::<1, Int>::from_data(TensorData::new(batch.labels, [n]), &ad_device);
            let loss = loss_fn.forward(supernet.forward(&path, x), y);
            let grads = GradientsParams::from_grads(loss.backward(), &supernet);
            supernet = optim.step(0.1, supernet, grads);
        }
    }
    let params = ArchParams::new(&ad_device, &mut SplitMix64::new(1));
    let before = params.op_weights();
    let config = TrainConfig { epochs: 6, batch_size: 32, learning_rate: 0.0, ..TrainConfig::default() };
    let search = DifferentiableConfig { relaxation, arch_learning_rate: 0.05 };
    let run = search_differentiable(
        supernet,
        params,
        &search,
        &train,
        &validation,
        &batcher,
        &config,
        &device,
        3,
        None,
        &mut |_, _| Ok(()),
    )
    .unwrap();
    assert_eq!(run.steps, 6 * (480 / 32));
    let after = run.params.op_weights();
    assert_eq!(run.history.last(), Some(&after), "the last epoch's α is the search's");
    Searched {
        mixture_loss_before: mixture_loss(&run.supernet, &before, &validation, &batcher),
        mixture_loss_after: mixture_loss(&run.supernet, &after, &validation, &batcher),
        history: run.history,
    }
}

/// softmax(α) after the last epoch, checked: recorded every epoch, rows summing to one.
fn last_weights(relaxation: Relaxation, searched: &Searched) -> OpWeights {
    assert_eq!(searched.history.len(), 6, "{}: α is recorded after every epoch", relaxation.name());
    let last = *searched.history.last().unwrap();
    for row in &last {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5, "softmax rows sum to 1: {row:?}");
    }
    last
}

#[test]
fn darts_moves_alpha_to_a_mixture_that_lowers_the_validation_loss() {
    let searched = search_after_training_the_3x3_path(Relaxation::Darts);
    let last = last_weights(Relaxation::Darts, &searched);
    // α starts within 1e-3 of uniform; DARTS descends the mixture's validation loss with the weights held.
    // (Which operation wins depends on the supernet's initial weights: the trained 3x3 convolution on some
    // draws, the parameter-free pooling on others.)
    let (before, after) = (searched.mixture_loss_before, searched.mixture_loss_after);
    assert!(after < 0.9 * before, "the mixture's validation loss went from {before:.4} to {after:.4}: {last:?}");
    let moved = last.iter().flatten().map(|w| (w - 0.2).abs()).fold(0.0, f64::max);
    assert!(moved > 0.2, "α hardly moved (largest change of a weight {moved:.3}): {last:?}");
}

#[test]
fn gdas_moves_alpha_to_the_operation_that_learnt_the_task() {
    let searched = search_after_training_the_3x3_path(Relaxation::GDAS);
    let last = last_weights(Relaxation::GDAS, &searched);
    // GDAS's straight-through gradient reaches α only through the drawn operation's scale, which batch norm
    // downstream mostly cancels: the clear signal is on the edge from the cell's input straight to its output
    // (edge 3), where the trained convolution carries the features the rest of the network learnt on.
    // (Held on each of nine initialisations of the supernet tried: 0.38 to 0.99.)
    assert!(last[3][CONV_3X3] > 0.3, "edge 3 (input → output): {:?}", last[3]);
    assert_eq!(derive_cell(&last).unwrap().ops[3], Nb201Op::NorConv3x3);
}

#[test]
fn a_derived_cell_that_computes_nothing_is_refused_with_its_name() {
    let mut weights: OpWeights = [[0.1, 0.1, 0.1, 0.6, 0.1]; EDGES];
    for row in &mut weights[3..] {
        *row = [0.6, 0.1, 0.1, 0.1, 0.1];
    }
    let error = derive_cell(&weights).unwrap_err().to_string();
    assert!(error.contains("|none~0|none~1|none~2|") && error.contains("no path"), "{error}");
    weights[5] = [0.1, 0.1, 0.1, 0.6, 0.1];
    let arch = derive_cell(&weights).unwrap();
    assert_eq!(
        Nb201Space.print(&arch),
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|"
    );
}

#[test]
fn alpha_weights_are_the_softmax_of_each_edge() {
    let device = Device::flex();
    let mut values = vec![0.0f32; EDGES * 5];
    values[3] = (4.0f32).ln(); // edge 0: exp = [1, 1, 1, 4, 1] → the 3x3 convolution weighs 0.5
    let weights = ArchParams::from_values(&values, &device).op_weights();
    assert!((weights[0][3] - 0.5).abs() < 1e-6 && (weights[0][0] - 0.125).abs() < 1e-6, "{:?}", weights[0]);
    assert!(weights[1].iter().all(|w| (w - 0.2).abs() < 1e-6), "{:?}", weights[1]);
}

/// A search of `relaxation` for 4 epochs, in one go and killed after epoch 2 then resumed from its
/// checkpoint: the same α after every epoch, losses and weights.
fn resumed_search_equals_an_uninterrupted_one(relaxation: Relaxation) {
    let _turn = SEEDED_DEVICE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex();
    let (train, validation) = synthetic_task(192, 96);
    let network = TINY_NETWORK;
    let batcher = batcher(&train);
    let config = TrainConfig { epochs: 4, batch_size: 32, ..TrainConfig::default() };
    let search = DifferentiableConfig { relaxation, arch_learning_rate: 0.05 };
    let run = |checkpoint: Option<&Path>, stop_after: usize| {
        device.seed(5);
        let ad_device = device.clone().autodiff();
        let supernet = Nb201Supernet::new(&network, &ad_device);
        let params = ArchParams::new(&ad_device, &mut SplitMix64::new(1));
        let mut on_epoch = |epoch: usize, loss: f64| match epoch == stop_after {
            true => Err(EvalError::Fatal(format!("killed after epoch {epoch} (loss {loss})"))),
            false => Ok(()),
        };
        search_differentiable(
            supernet,
            params,
            &search,
            &train,
            &validation,
            &batcher,
            &config,
            &device,
            3,
            checkpoint,
            &mut on_epoch,
        )
    };
    let whole = run(None, 0).unwrap();
    let dir = std::env::temp_dir().join(format!("nasforge-{}-resumed-{}", relaxation.name(), std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let killed = run(Some(&dir), 2).unwrap_err();
    assert!(killed.to_string().contains("killed after epoch 2"), "{killed}");
    let resumed = run(Some(&dir), 0).unwrap();
    assert_eq!(resumed.history, whole.history, "{}: α after each epoch", relaxation.name());
    assert_eq!(
        (resumed.steps, resumed.first_loss, resumed.last_loss),
        (whole.steps, whole.first_loss, whole.last_loss)
    );
    let weights = |run: &nasforge_train::differentiable::DifferentiableRun| -> Vec<f32> {
        let x = Tensor::<4>::ones([2, 1, 12, 12], &device);
        let scorer = run.supernet.for_scoring();
        let terms: CellTerms = std::array::from_fn(|_| vec![EdgeTerm { op: Nb201Op::NorConv3x3, weight: None }]);
        // Each batch's own batch-norm statistics: the running ones mix every path trained.
        BatchNormStatistics::default()
            .record(|| scorer.forward_terms(&terms, x))
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    assert_eq!(weights(&resumed), weights(&whole), "{}: the supernet's weights", relaxation.name());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_resumed_darts_search_equals_an_uninterrupted_one() {
    resumed_search_equals_an_uninterrupted_one(Relaxation::Darts);
}

#[test]
fn a_resumed_gdas_search_equals_an_uninterrupted_one() {
    resumed_search_equals_an_uninterrupted_one(Relaxation::GDAS);
}
