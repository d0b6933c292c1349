//! ENAS (Pham et al. 2018) on the NAS-Bench-201 supernet: a REINFORCE controller (the `reinforce` strategy's
//! policy) draws the path of every training step of the shared weights, and after each epoch learns from the
//! accuracy its own draws reach with those weights on random validation minibatches. The search then scores
//! cells drawn from the trained controller with the weights they inherit, as SPOS scores its uniform draws.

use burn::tensor::{Device, Tensor, TensorData};
use nasforge_core::objective::Outcome;
use nasforge_core::space::nb201::EDGES;
use nasforge_core::space::{Nb201Arch, Nb201Space};
use nasforge_core::strategy::{Reinforce, ReinforceConfig, StrategyRng};
use nasforge_core::study::EvalError;
use nasforge_core::{SearchSpace, Strategy};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::data::{Augmentation, Batcher, Dataset, SplitMix64};
use crate::network::{BatchNormStatistics, Nb201Supernet};
use crate::spos::PathSampler;
use crate::train::score_logits;

/// How the controller learns between epochs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnasConfig {
    /// Controller updates after each epoch: each draws a cell and rewards it with its accuracy on a random
    /// validation minibatch with the shared weights.
    pub controller_steps: usize,
    /// Images of each reward's minibatch, normalised by the minibatch's own batch-norm statistics.
    pub reward_images: usize,
    /// Adam's step size on the controller's logits; `None`: [`EnasConfig::learning_rate`].
    pub learning_rate: Option<f64>,
}

impl Default for EnasConfig {
    /// 100 updates of one 256-image minibatch each (about a second per epoch at the ground truth's scale), the
    /// learning rate scaled to the search.
    fn default() -> Self {
        EnasConfig { controller_steps: 100, reward_images: 256, learning_rate: None }
    }
}

impl EnasConfig {
    /// The controller's learning rate over `epochs` epochs. By default the one at which a choice rewarded
    /// consistently can go from 1 in 5 to about 0.9 (a logit gap of ln 36 ≈ 3.6; Adam moves a logit by about
    /// one learning rate per update) over the second half of the updates, not sooner: a controller that
    /// settles while the shared weights are still young settles on what trains fastest (skip connections),
    /// not on what ends best. The `reinforce` strategy's own default (0.05) is meant for a hundred or so
    /// evaluations of trained networks.
    pub fn learning_rate(&self, epochs: usize) -> f64 {
        self.learning_rate.unwrap_or(3.6 / (0.5 * (epochs.max(1) * self.controller_steps.max(1)) as f64))
    }

    fn controller(&self, epochs: usize) -> ReinforceConfig {
        ReinforceConfig { learning_rate: self.learning_rate(epochs), ..ReinforceConfig::default() }
    }
}

/// What a checkpoint keeps of the controller: its generator and every reward it was told, in order (the
/// controller is rebuilt by telling them again).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ControllerState {
    rng: SplitMix64,
    /// `(printed cell, reward)`.
    rewards: Vec<(String, f64)>,
}

/// ENAS's paths: drawn from a controller that learns from the validation split after each epoch.
pub struct EnasPaths<'a> {
    config: EnasConfig,
    /// The controller's settings (REINFORCE's defaults but the learning rate).
    controller_config: ReinforceConfig,
    controller: Reinforce<Nb201Space>,
    state: ControllerState,
    validation: &'a Dataset,
    batcher: Batcher,
    device: Device,
}

impl<'a> EnasPaths<'a> {
    /// A uniform controller (factorised: one distribution per edge) for a training of `epochs` epochs,
    /// rewarded on `validation`, batched by `batcher` without augmentation, on `device`.
    pub fn new(
        config: EnasConfig,
        epochs: usize,
        validation: &'a Dataset,
        batcher: &Batcher,
        device: &Device,
        seed: u64,
    ) -> Result<Self, String> {
        if config.controller_steps == 0 || config.reward_images == 0 {
            return Err("the controller's steps and reward images must be at least 1".into());
        }
        if validation.is_empty() {
            return Err("ENAS rewards its controller on validation images: the validation split is empty".into());
        }
        let learning_rate = config.learning_rate(epochs);
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return Err(format!("the controller's learning rate must be a positive number, not {learning_rate}"));
        }
        let controller_config = config.controller(epochs);
        Ok(EnasPaths {
            config,
            controller: Reinforce::new(Nb201Space, controller_config.clone()),
            controller_config,
            state: ControllerState { rng: SplitMix64::new(seed ^ 0xE2A5), rewards: Vec::new() },
            validation,
            batcher: Batcher { augmentation: Augmentation::NONE, ..batcher.clone() },
            device: device.clone(),
        })
    }

    /// A cell drawn from the controller as it stands.
    pub fn draw(&self, rng: &mut SplitMix64) -> Nb201Arch {
        draw(&self.controller, rng)
    }

    /// The controller's distribution over the operations of each edge, in [`nasforge_core::space::Nb201Op::ALL`]'s order.
    pub fn policy(&self) -> [[f64; 5]; EDGES] {
        std::array::from_fn(|edge| {
            let p = self.controller.probabilities(edge, &[]);
            std::array::from_fn(|op| p[op])
        })
    }

    /// The rewards told to the controller so far: `(printed cell, validation minibatch accuracy)`.
    pub fn rewards(&self) -> &[(String, f64)] {
        &self.state.rewards
    }

    fn tell(&mut self, arch: &Nb201Arch, reward: f64) {
        self.controller.tell(arch, Some(&Outcome { scores: vec![reward], violation: 0.0 }));
    }

    /// The accuracy of `arch` with `supernet`'s weights on a minibatch drawn from the validation split.
    fn reward(&mut self, supernet: &Nb201Supernet, arch: &Nb201Arch) -> f64 {
        let rng = &mut self.state.rng;
        let indices: Vec<usize> = (0..self.config.reward_images).map(|_| rng.below(self.validation.len())).collect();
        let batch = self.batcher.batch(self.validation, &indices, rng);
        let x = Tensor::<4>::from_data(TensorData::new(batch.images, batch.shape), &self.device);
        let logits = BatchNormStatistics::default().record(|| supernet.forward(arch, x));
        score_logits(logits, &batch.labels).0 as f64 / indices.len() as f64
    }
}

fn draw(controller: &Reinforce<Nb201Space>, rng: &mut SplitMix64) -> Nb201Arch {
    controller.draw(&mut StrategyRng::seed_from_u64(rng.next_u64()))
}

impl PathSampler for EnasPaths<'_> {
    fn path(&mut self, rng: &mut SplitMix64) -> Nb201Arch {
        self.draw(rng)
    }

    fn after_epoch(&mut self, supernet: &Nb201Supernet) -> Result<(), EvalError> {
        let scorer = supernet.for_scoring();
        for _ in 0..self.config.controller_steps {
            let arch = draw(&self.controller, &mut self.state.rng);
            let reward = self.reward(&scorer, &arch);
            self.tell(&arch, reward);
            self.state.rewards.push((Nb201Space.print(&arch), reward));
        }
        Ok(())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::to_value(&self.state).expect("the controller's state is plain data")
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<(), String> {
        let state: ControllerState =
            serde_json::from_value(state).map_err(|e| format!("the checkpoint holds no ENAS controller: {e}"))?;
        self.controller = Reinforce::new(Nb201Space, self.controller_config.clone());
        for (printed, reward) in &state.rewards {
            let arch = Nb201Space.parse(printed).map_err(|e| format!("the checkpoint's controller: {}", e.message))?;
            self.tell(&arch, *reward);
        }
        self.state = state;
        Ok(())
    }
}
