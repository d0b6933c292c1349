//! What the training tests share: a small synthetic task, a quick training recipe, a reporter that keeps
//! the learning curve. Each test binary uses some of them.
#![allow(dead_code)]

use nasforge_core::study::{EvalError, Reporter};
use nasforge_core::trial::Metrics;
use nasforge_train::data::{self, SyntheticConfig};
use nasforge_train::{DataSource, NetworkScale, OptimizerKind, TrainConfig};

/// Collects the learning curve.
#[derive(Default)]
pub struct Curve(pub Vec<Metrics>);

impl Reporter for Curve {
    fn report(&mut self, metrics: &Metrics) -> Result<(), EvalError> {
        self.0.push(metrics.clone());
        Ok(())
    }
}

pub fn synthetic() -> DataSource {
    let (train, test) = data::synthetic(&SyntheticConfig {
        train: 480,
        test: 160,
        channels: 1,
        size: 12,
        classes: 4,
        noise: 30.0,
        seed: 11,
    });
    DataSource { train, test }
}

pub fn quick_config() -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: 32,
        optimizer: OptimizerKind::Sgd { momentum: 0.9, nesterov: true },
        learning_rate: 0.05,
        weight_decay: 1e-4,
        latency_runs: 3,
        scale: NetworkScale { channels: Some(8), cells: Some(1) },
        ..TrainConfig::default()
    }
}
