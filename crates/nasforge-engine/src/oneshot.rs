//! One-shot search (`nasforge oneshot`): a supernet trained once, the architecture chosen with the weights it
//! shares instead of a training per candidate, and the chosen cell retrained stand-alone and scored once on
//! the test set, as the main job ends. On NAS-Bench-201 cells: SPOS (`nasforge_train::spos`: uniform paths,
//! then the best of many candidates scored with inherited weights), ENAS (`nasforge_train::enas`: the paths
//! and the candidates drawn from a controller trained between epochs), and DARTS and GDAS
//! (`nasforge_train::differentiable`: α trained with the weights, the cell derived from α).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nasforge_core::SearchSpace;
use nasforge_core::space::{Nb201Arch, Nb201Op, Nb201Space};
use nasforge_train::data::SplitMix64;
use nasforge_train::differentiable::{
    ArchParams, DifferentiableConfig, OpWeights, Relaxation, derive_cell, search_differentiable,
};
use nasforge_train::enas::{EnasConfig, EnasPaths};
use nasforge_train::network::{Nb201Supernet, nb201_network};
use nasforge_train::spos::{PathSampler, Scoring, SposRun, UniformPaths, inherited_score, uniform_path};
use nasforge_train::{DeviceChoice, EpochStats};
use serde_json::{Value, json};

use crate::config::{TrainSettings, TrainingFlags};
use crate::error::{EngineError, Result, invalid};
use crate::final_training::{FinalTraining, FinalTrainingRequest, train_final_architecture};
use crate::oneshot_state::OneShotState;
use crate::registry::SpaceKind;
use crate::supernet::{check_supernet_memory, supernet_data, train_shared_supernet};

/// How the supernet is trained and the architecture chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OneShotMethod {
    /// Single-path one-shot: uniform paths, then `candidates` distinct cells scored with inherited weights.
    Spos { candidates: usize },
    /// ENAS: the supernet trained on paths drawn from a controller that learns between epochs, then
    /// `candidates` distinct cells drawn from the controller and scored with inherited weights.
    Enas { candidates: usize, controller: EnasConfig },
    /// DARTS or GDAS: α trained with the weights (`arch_learning_rate`), the cell derived from α.
    Differentiable(DifferentiableConfig),
}

impl OneShotMethod {
    pub fn name(&self) -> &'static str {
        match self {
            OneShotMethod::Spos { .. } => "spos",
            OneShotMethod::Enas { .. } => "enas",
            OneShotMethod::Differentiable(config) => config.relaxation.name(),
        }
    }
}

/// What `nasforge oneshot` asks for.
#[derive(Debug, Clone)]
pub struct OneShotRequest {
    pub method: OneShotMethod,
    /// The supernet's data and training (dataset, epochs, data fraction, batch, learning rate) and its network
    /// (channels, cells), as the training flags of `search` give them.
    pub training: TrainingFlags,
    /// Validation images the chosen cell (and, for SPOS, each candidate) is scored on with inherited weights
    /// (the first ones of the validation split).
    pub validation_images: usize,
    /// Training images each scored cell's batch-norm statistics are re-estimated on through its own path
    /// (0: each validation batch's own statistics).
    pub recalibration_images: usize,
    /// The stand-alone training of the chosen architecture (the data fraction is 1 unless said otherwise).
    pub final_training: TrainingFlags,
    pub device: DeviceChoice,
    pub seed: u64,
    /// Where the search keeps its state so that the same request continues a killed run: the supernet's
    /// training (with α for DARTS and GDAS) after every epoch, the choice once made, the final training after
    /// every epoch. Removed when the search ends; a directory
    /// holding another request's unfinished search is refused. `None`: nothing is kept.
    pub state: Option<PathBuf>,
}

/// A finished one-shot search.
#[derive(Debug, Clone)]
pub struct OneShotSearch {
    pub method: &'static str,
    /// The chosen architecture's printed form.
    pub arch: String,
    /// Its accuracy on the scoring images with inherited weights.
    pub inherited_accuracy: f64,
    /// Candidates scored (SPOS, ENAS; 0 for a differentiable search).
    pub candidates: usize,
    /// softmax(α) after each epoch (differentiable searches; empty otherwise).
    pub alpha_history: Vec<OpWeights>,
    /// ENAS: the trained controller's distribution over each edge's operations.
    pub policy: Option<OpWeights>,
    pub supernet_steps: usize,
    pub supernet_seconds: f64,
    pub scoring_seconds: f64,
    /// Loading the data, training the supernet (over every run that took part) and scoring: the search,
    /// without the final training.
    pub search_seconds: f64,
    pub final_training: FinalTraining,
}

impl OneShotSearch {
    /// `{"method", "space", "arch", "inherited_accuracy", "candidates", "supernet_steps", "supernet_seconds",
    /// "scoring_seconds", "search_seconds", "test_accuracy", "final": {what `train --json` prints}}`, and for
    /// a differentiable search `"operations"` (the names, in α's column order) and `"alpha_history"`
    /// (softmax(α) after each epoch, `[epoch][edge][operation]`); for ENAS `"operations"` and `"policy"` (the
    /// controller's probabilities, `[edge][operation]`).
    pub fn to_json(&self) -> Value {
        let mut json = json!({
            "method": self.method,
            "space": "nb201",
            "arch": self.arch,
            "inherited_accuracy": self.inherited_accuracy,
            "candidates": self.candidates,
            "supernet_steps": self.supernet_steps,
            "supernet_seconds": self.supernet_seconds,
            "scoring_seconds": self.scoring_seconds,
            "search_seconds": self.search_seconds,
            "test_accuracy": self.final_training.result.test_accuracy,
            "final": self.final_training.to_json(),
        });
        if !self.alpha_history.is_empty() {
            json["operations"] = json!(Nb201Op::ALL.map(Nb201Op::name));
            json["alpha_history"] = json!(self.alpha_history);
        }
        if let Some(policy) = &self.policy {
            json["operations"] = json!(Nb201Op::ALL.map(Nb201Op::name));
            json["policy"] = json!(policy);
        }
        json
    }
}

/// The trained supernet and what the method chose (kept in the state directory of a resumable search).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Choice {
    arch: String,
    inherited_accuracy: f64,
    candidates: usize,
    alpha_history: Vec<OpWeights>,
    policy: Option<OpWeights>,
    steps: usize,
    train_seconds: f64,
    scoring_seconds: f64,
    /// Loading the data for the supernet's training (in the run that finished it).
    loading_seconds: f64,
}

/// Runs the one-shot search `request` describes; `on_epoch` sees the final training's epochs. With
/// `request.state`, the search keeps its state there and continues from what it holds (see [`OneShotRequest`]).
pub fn one_shot_search(
    request: &OneShotRequest,
    on_epoch: &mut dyn FnMut(&EpochStats, usize),
) -> Result<OneShotSearch> {
    let no_candidates = match request.method {
        OneShotMethod::Spos { candidates } | OneShotMethod::Enas { candidates, .. } => candidates == 0,
        OneShotMethod::Differentiable(_) => false,
    };
    if request.validation_images == 0 || no_candidates {
        invalid!("--candidates and --validation-images must be at least 1");
    }
    if let OneShotMethod::Differentiable(search) = request.method
        && !(search.arch_learning_rate.is_finite() && search.arch_learning_rate > 0.0)
    {
        invalid!("--arch-learning-rate must be a positive number, not {}", search.arch_learning_rate);
    }
    let settings = request.training.apply(TrainSettings::default())?;
    let Some(dir) = &request.state else { return search(request, &settings, None, on_epoch) };
    let state = OneShotState::open(dir, &format!("{:#?}", OneShotRequest { state: None, ..request.clone() }))?;
    let result = search(request, &settings, Some(&state), on_epoch);
    match &result {
        Ok(_) => state.finish()?,
        Err(_) => state.forget_if_unstarted(),
    }
    result
}

/// The search, keeping its progress in `state`.
fn search(
    request: &OneShotRequest,
    settings: &TrainSettings,
    state: Option<&OneShotState>,
    on_epoch: &mut dyn FnMut(&EpochStats, usize),
) -> Result<OneShotSearch> {
    let choice = match state.map(OneShotState::choice).transpose()?.flatten() {
        Some(choice) => choice,
        None => {
            let choice = choose(request, settings, state.map(OneShotState::supernet).as_deref())?;
            if let Some(state) = state {
                state.save_choice(&choice)?;
            }
            choice
        }
    };

    let final_request = FinalTrainingRequest {
        arch: choice.arch.clone(),
        space: Some(SpaceKind::Nb201),
        study: None,
        training: TrainingFlags {
            dataset: Some(settings.dataset.clone()),
            data_dir: settings.data_dir.clone(),
            ..request.final_training.clone()
        },
        device: request.device,
        seed: request.seed,
        weights: None,
        checkpoint: state.map(OneShotState::final_training),
    };
    let final_training = train_final_architecture(&final_request, on_epoch)?;
    Ok(OneShotSearch {
        method: request.method.name(),
        arch: choice.arch,
        inherited_accuracy: choice.inherited_accuracy,
        candidates: choice.candidates,
        alpha_history: choice.alpha_history,
        policy: choice.policy,
        supernet_steps: choice.steps,
        supernet_seconds: choice.train_seconds,
        scoring_seconds: choice.scoring_seconds,
        search_seconds: choice.loading_seconds + choice.train_seconds + choice.scoring_seconds,
        final_training,
    })
}

/// Trains the supernet as `request`'s method says (keeping its state in `checkpoint` after every epoch) and
/// chooses the cell.
fn choose(request: &OneShotRequest, settings: &TrainSettings, checkpoint: Option<&Path>) -> Result<Choice> {
    let started = Instant::now();
    let data = supernet_data(settings, request.seed)?;
    let loading_seconds = started.elapsed().as_secs_f64();
    let device = request.device.device().map_err(EngineError::invalid)?;
    let scoring = Scoring {
        validation: &data.validation,
        validation_images: request.validation_images,
        train: &data.train_split,
        recalibration_images: request.recalibration_images,
        batcher: &data.batcher,
    };
    let score = |scorer: &Nb201Supernet, arch: &Nb201Arch| {
        inherited_score(scorer, arch, &scoring, &device).map(|score| score.accuracy).map_err(EngineError::invalid)
    };
    // SPOS and ENAS: the supernet trained on the paths of `paths`, then the best of the cells `draw` gives.
    let train = |paths: &mut dyn PathSampler| {
        let seed = request.seed;
        train_shared_supernet(settings, &data, request.device, seed, paths, checkpoint, &mut |_, _, _| {})
            .map(|(run, _)| run)
    };
    let sampled = |run: SposRun, candidates, draw: &mut dyn FnMut(&mut SplitMix64) -> Nb201Arch, policy| {
        let scoring = Instant::now();
        let scorer = run.supernet.for_scoring();
        let (inherited_accuracy, arch, candidates) =
            best_candidate(candidates, request.seed, draw, |arch| score(&scorer, arch))?;
        Ok::<_, EngineError>(Choice {
            arch,
            inherited_accuracy,
            candidates,
            alpha_history: Vec::new(),
            policy,
            steps: run.steps,
            train_seconds: run.train_seconds,
            scoring_seconds: scoring.elapsed().as_secs_f64(),
            loading_seconds,
        })
    };
    Ok(match request.method {
        OneShotMethod::Spos { candidates } => sampled(train(&mut UniformPaths)?, candidates, &mut uniform_path, None)?,
        OneShotMethod::Enas { candidates, controller } => {
            let epochs = settings.training.epochs;
            let mut paths = EnasPaths::new(controller, epochs, &data.validation, &data.batcher, &device, request.seed)
                .map_err(EngineError::invalid)?;
            let run = train(&mut paths)?;
            let policy = Some(paths.policy());
            sampled(run, candidates, &mut |rng| paths.draw(rng), policy)?
        }
        OneShotMethod::Differentiable(search) => {
            device.seed(request.seed);
            let ad_device = device.clone().autodiff();
            let network = nb201_network(&data.task, &settings.training.scale);
            let every_operation = search.relaxation == Relaxation::Darts;
            check_supernet_memory(&network, settings.training.batch_size, every_operation)?;
            let supernet = Nb201Supernet::new(&network, &ad_device);
            let params = ArchParams::new(&ad_device, &mut SplitMix64::new(request.seed ^ 0xA1FA));
            let run = search_differentiable(
                supernet,
                params,
                &search,
                &data.train,
                &data.validation,
                &data.batcher,
                &settings.training,
                &device,
                request.seed,
                checkpoint,
                &mut |_, _| Ok(()),
            )
            .map_err(|e| EngineError::invalid(format!("{} search: {e}", search.relaxation.name())))?;
            let arch = derive_cell(&run.params.op_weights())
                .map_err(|e| EngineError::invalid(format!("{}: {e}", request.method.name())))?;
            let scoring = Instant::now();
            let inherited_accuracy = score(&run.supernet.for_scoring(), &arch)?;
            Choice {
                arch: Nb201Space.print(&arch),
                inherited_accuracy,
                candidates: 0,
                alpha_history: run.history,
                policy: None,
                steps: run.steps,
                train_seconds: run.train_seconds,
                scoring_seconds: scoring.elapsed().as_secs_f64(),
                loading_seconds,
            }
        }
    })
}

/// The choice of SPOS and ENAS: the best by `score` of `wanted` distinct cells from `draw` (uniform, or the
/// controller's; cells that compute nothing skipped): `(score, printed cell, cells scored)`.
fn best_candidate(
    wanted: usize,
    seed: u64,
    mut draw: impl FnMut(&mut SplitMix64) -> Nb201Arch,
    mut score: impl FnMut(&Nb201Arch) -> Result<f64>,
) -> Result<(f64, String, usize)> {
    let space = Nb201Space;
    let mut rng = SplitMix64::new(seed ^ 0xCA4D);
    let mut seen = HashSet::new();
    let mut best: Option<(f64, String)> = None;
    let mut candidates = 0;
    // The space has 15,625 cells (6,466 distinct), and a trained controller draws few of them: stop drawing
    // when new ones stop coming.
    for _ in 0..wanted.saturating_mul(20) {
        if candidates == wanted {
            break;
        }
        let arch = draw(&mut rng);
        if space.computes_nothing(&arch) || !seen.insert(space.canonical(&arch)) {
            continue;
        }
        candidates += 1;
        let accuracy = score(&arch)?;
        if best.as_ref().is_none_or(|(b, _)| accuracy > *b) {
            best = Some((accuracy, space.print(&arch)));
        }
    }
    let (accuracy, arch) = best.ok_or_else(|| EngineError::invalid("no candidate was scored"))?;
    Ok((accuracy, arch, candidates))
}
