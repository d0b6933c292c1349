//! A training paused at a rung (the scheduler's promotion form) and resumed from its checkpoint, after its
//! worker died, equals one that was never paused. Its own test binary: burn's generator is global to the
//! process, and another test initialising networks at the same time would change this one's weights.

mod common;

use common::{Curve, quick_config, synthetic};
use nasforge_core::SearchSpace;
use nasforge_core::space::Nb201Space;
use nasforge_core::study::{EvalError, EvalRequest, Evaluator, Reporter};
use nasforge_core::trial::Metrics;
use nasforge_train::{TrainConfig, TrainEvaluator};

/// Pauses the training at `epoch` (as the scheduler's promotion form does), else collects the curve.
struct PauseAt {
    epoch: f64,
    reported: Vec<Metrics>,
    restored: Vec<Metrics>,
}

impl Reporter for PauseAt {
    fn report(&mut self, metrics: &Metrics) -> Result<(), EvalError> {
        self.reported.push(metrics.clone());
        match metrics["epoch"] == self.epoch {
            true => Err(EvalError::Paused { reason: "paused".into(), at: self.epoch }),
            false => Ok(()),
        }
    }

    fn restore(&mut self, metrics: &Metrics) -> Result<(), EvalError> {
        self.restored.push(metrics.clone());
        Ok(())
    }
}

#[test]
fn a_training_paused_at_a_rung_resumes_from_its_checkpoint_as_if_never_paused() {
    // One thread: parallel reductions would sum in an order that depends on the machine's load.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(paused_and_resumed_equals_uninterrupted);
}

fn paused_and_resumed_equals_uninterrupted() {
    let source = synthetic();
    let evaluator = TrainEvaluator::new(&source.train, 0.25, 1, TrainConfig { epochs: 4, ..quick_config() });
    let space = Nb201Space;
    let text = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|";
    let arch = space.parse(text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("trial-0");
    let request = |checkpoint, reported| EvalRequest {
        space: &space,
        arch: &arch,
        printed: text,
        trial_id: 0,
        seed: 9,
        checkpoint,
        reported,
    };
    let mut whole_curve = Curve::default();
    let whole = evaluator.evaluate(&request(None, 0), &mut whole_curve).unwrap();

    let mut first = PauseAt { epoch: 2.0, reported: Vec::new(), restored: Vec::new() };
    let paused = evaluator.evaluate(&request(Some(checkpoint.as_path()), 0), &mut first);
    assert_eq!(paused, Err(EvalError::Paused { reason: "paused".into(), at: 2.0 }));
    assert_eq!(first.reported.len(), 2);
    assert!(checkpoint.join("last").join("weights.bpk").is_file());

    // Its worker died after the pause: the store lost the first two epochs, which the checkpoint puts back.
    let mut second = PauseAt { epoch: f64::NAN, reported: Vec::new(), restored: Vec::new() };
    let resumed = evaluator.evaluate(&request(Some(checkpoint.as_path()), 0), &mut second).unwrap();
    assert_eq!(second.restored, first.reported);
    let epochs: Vec<f64> = second.reported.iter().map(|m| m["epoch"]).collect();
    assert_eq!(epochs, [3.0, 4.0], "resumed after epoch 2, not restarted");
    let curve: Vec<Metrics> = second.restored.iter().chain(&second.reported).cloned().collect();
    let accuracy = |curve: &[Metrics]| curve.iter().map(|m| m["val_accuracy"]).collect::<Vec<f64>>();
    assert_eq!(accuracy(&curve), accuracy(&whole_curve.0), "the same curve as without the pause");
    assert_eq!(resumed["val_accuracy"], whole["val_accuracy"]);
    assert!(!checkpoint.exists(), "the checkpoint is removed when the training ends");
}
