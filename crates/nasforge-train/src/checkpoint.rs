//! A training run's state on disk — the network's weights, the optimiser's state and the run's own
//! progress (epochs done, data order, generator) — so that a run killed or paused after an epoch resumes
//! exactly where it was. Used by the supernet trainings and by a trial the scheduler pauses at a rung.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::Serialize;
use serde::de::DeserializeOwned;

const PROGRESS_FILE: &str = "progress.json";
const WEIGHTS_FILE: &str = "weights.bpk";
const OPTIMIZER_FILE: &str = "optimizer.bpk";
const SECOND_OPTIMIZER_FILE: &str = "optimizer-2.bpk";

/// The optimiser state a training saves: one optimiser, or two (a differentiable search's, of the weights
/// and of α).
pub trait Optimizers: Sized {
    fn save_into(&self, dir: &Path) -> Result<(), String>;
    fn load_from(self, dir: &Path) -> Result<Self, String>;
}

fn save_optimizer(optim: &ModuleOptimizer, path: &Path) -> Result<(), String> {
    optim.save(path).map_err(|e| format!("saving a training's state to {}: {e:?}", path.display()))
}

fn load_optimizer(optim: ModuleOptimizer, path: &Path) -> Result<ModuleOptimizer, String> {
    optim.load(path).map_err(|e| format!("{}: {e:?}", path.display()))
}

impl Optimizers for ModuleOptimizer {
    fn save_into(&self, dir: &Path) -> Result<(), String> {
        save_optimizer(self, &dir.join(OPTIMIZER_FILE))
    }

    fn load_from(self, dir: &Path) -> Result<Self, String> {
        load_optimizer(self, &dir.join(OPTIMIZER_FILE))
    }
}

impl Optimizers for (ModuleOptimizer, ModuleOptimizer) {
    fn save_into(&self, dir: &Path) -> Result<(), String> {
        save_optimizer(&self.0, &dir.join(OPTIMIZER_FILE))?;
        save_optimizer(&self.1, &dir.join(SECOND_OPTIMIZER_FILE))
    }

    fn load_from(self, dir: &Path) -> Result<Self, String> {
        Ok((
            load_optimizer(self.0, &dir.join(OPTIMIZER_FILE))?,
            load_optimizer(self.1, &dir.join(SECOND_OPTIMIZER_FILE))?,
        ))
    }
}

/// Writes the state into `dir/next`, complete (progress last), then puts it in place of `dir/last`: a run
/// killed at any moment leaves one complete state to resume from.
pub fn save<M: Module, O: Optimizers, P: Serialize>(
    dir: &Path,
    model: &M,
    optim: &O,
    progress: &P,
) -> Result<(), String> {
    let (next, last) = (dir.join("next"), dir.join("last"));
    let fail = |what: &Path, e: &dyn std::fmt::Display| format!("saving a training's state to {}: {e}", what.display());
    let _ = std::fs::remove_dir_all(&next);
    std::fs::create_dir_all(&next).map_err(|e| fail(&next, &e))?;
    let weights = next.join(WEIGHTS_FILE);
    model.clone().save_file(&weights).map_err(|e| fail(&weights, &format!("{e:?}")))?;
    optim.save_into(&next)?;
    let path = next.join(PROGRESS_FILE);
    std::fs::write(&path, serde_json::to_string(progress).expect("progress serialises"))
        .map_err(|e| fail(&path, &e))?;
    let _ = std::fs::remove_dir_all(&last);
    std::fs::rename(&next, &last).map_err(|e| fail(&last, &e))
}

/// The directory of the complete state saved in `dir`: `last`, or a complete `next` when a run was killed
/// while putting it in place.
fn saved_state(dir: &Path) -> Option<std::path::PathBuf> {
    ["last", "next"].map(|name| dir.join(name)).into_iter().find(|d| d.join(PROGRESS_FILE).is_file())
}

/// The progress saved in `dir`, without the weights; `None` when there is none.
pub fn progress<P: DeserializeOwned>(dir: &Path) -> Result<Option<P>, String> {
    let Some(state) = saved_state(dir) else { return Ok(None) };
    let path = state.join(PROGRESS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map(Some).map_err(|e| format!("{}: {e}", path.display()))
}

/// The state saved in `dir`, loaded into `model` and `optim`; `None` (and both as given) when there is none.
pub fn load<M: Module, O: Optimizers, P: DeserializeOwned>(
    dir: &Path,
    model: M,
    optim: O,
) -> Result<(Option<P>, M, O), String> {
    let Some(progress) = progress(dir)? else { return Ok((None, model, optim)) };
    let state = saved_state(dir).expect("a state with progress");
    let weights = state.join(WEIGHTS_FILE);
    let model = model.try_load_file(&weights).map_err(|e| format!("{}: {e:?}", weights.display()))?;
    let optim = optim.load_from(&state)?;
    Ok((Some(progress), model, optim))
}
