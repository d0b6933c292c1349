//! Search strategies. A strategy only proposes (`ask`) and learns (`tell`); the study owns the loop,
//! the budget, storage and the clock. Proposals depend only on the strategy's settings, the history it
//! was told and the random generator the study hands to `ask` (seeded from the study seed and the trial
//! number), so a study rebuilt from its stored history proposes exactly what it would have proposed.

mod bananas;
mod bo;
mod evolution;
mod guided;
mod local;
mod model_based;
mod nsga2;
mod random;
mod reinforce;
mod tpe;
mod warm_start;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::objective::Outcome;
use crate::space::SearchSpace;

pub use bananas::{Bananas, BananasConfig};
pub use bo::{Acquisition, BayesianOptimisation, BoConfig};
pub use evolution::{EvolutionConfig, RegularizedEvolution};
pub use guided::{PredictorConfig, PredictorSearch};
pub use local::{LocalConfig, LocalSearch};
pub use model_based::{Encoding, Liar};
pub use nsga2::{Nsga2, Nsga2Config};
pub use random::RandomSearch;
pub use reinforce::{Controller, Reinforce, ReinforceConfig};
pub use tpe::{Tpe, TpeConfig};
pub use warm_start::WarmStart;

/// Writes `over` onto `base`: tables key by key (recursively), anything else replaced.
fn overlay(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(base), serde_json::Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(slot) => overlay(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The random generator handed to `ask`.
pub type StrategyRng = rand_pcg::Pcg64Mcg;

pub trait Strategy<S: SearchSpace>: Send {
    /// Proposes the next architecture. `pending` lists proposals handed out but not yet told (several
    /// workers); a strategy should avoid proposing them again.
    fn ask(&mut self, rng: &mut StrategyRng, pending: &[S::Arch]) -> S::Arch;

    /// Learns the result of a proposal: its oriented outcome, or `None` when the evaluation failed.
    fn tell(&mut self, arch: &S::Arch, outcome: Option<&Outcome>);
}

/// A strategy and its settings, as written in configuration files and stored with a study
/// (`{"name": "evolution", "population": 20, …}`); `--strategy NAME` picks the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase", deny_unknown_fields)]
pub enum StrategySpec {
    Random,
    Evolution(EvolutionConfig),
    Local(LocalConfig),
    Nsga2(Nsga2Config),
    Tpe(TpeConfig),
    Reinforce(ReinforceConfig),
    Bo(BoConfig),
    Bananas(BananasConfig),
    Predictor(PredictorConfig),
}

impl StrategySpec {
    /// The names accepted by `--strategy`.
    pub const NAMES: &'static [&'static str] =
        &["random", "evolution", "local", "nsga2", "tpe", "reinforce", "bo", "bananas", "predictor"];

    /// The strategy of that name with its default settings.
    pub fn from_name(name: &str) -> Result<StrategySpec, String> {
        Ok(match name {
            "random" => StrategySpec::Random,
            "evolution" => StrategySpec::Evolution(EvolutionConfig::default()),
            "local" => StrategySpec::Local(LocalConfig::default()),
            "nsga2" => StrategySpec::Nsga2(Nsga2Config::default()),
            "tpe" => StrategySpec::Tpe(TpeConfig::default()),
            "reinforce" => StrategySpec::Reinforce(ReinforceConfig::default()),
            "bo" => StrategySpec::Bo(BoConfig::default()),
            "bananas" => StrategySpec::Bananas(BananasConfig::default()),
            "predictor" => StrategySpec::Predictor(PredictorConfig::default()),
            other => {
                return Err(format!("unknown strategy '{other}' (expected one of {})", Self::NAMES.join(", ")));
            }
        })
    }

    /// A strategy from its name and, after a colon, settings that differ from the defaults as
    /// `key=value` pairs separated by `;` (the keys of the TOML `[strategy]` table, dotted for nested
    /// ones; values are JSON, or text): `bo:acquisition=ucb;beta=3`, `bananas:ensemble.members=10`.
    pub fn parse(text: &str) -> Result<StrategySpec, String> {
        let Some((name, settings)) = text.split_once(':') else {
            return Self::from_name(text.trim());
        };
        let mut table = serde_json::Map::new();
        table.insert("name".into(), name.trim().into());
        for pair in settings.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(format!("strategy '{text}': '{pair}' is not key=value"));
            };
            let value = value.trim();
            let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::from(value));
            let mut path: Vec<&str> = key.trim().split('.').collect();
            let last = path.pop().expect("split yields one part at least");
            let mut node = &mut table;
            for part in path {
                let entry = node.entry(part).or_insert_with(|| serde_json::Map::new().into());
                node = entry.as_object_mut().ok_or_else(|| format!("strategy '{text}': '{part}' is not a table"))?;
            }
            node.insert(last.into(), value);
        }
        Self::from_table(table.into()).map_err(|e| format!("strategy '{text}': {e}"))
    }

    /// A strategy from a table of settings (`{"name": "bo", "beta": 3, …}`, a TOML `[strategy]` table):
    /// every setting it leaves out, nested ones included, is the strategy's default.
    pub fn from_table(table: serde_json::Value) -> Result<StrategySpec, String> {
        let name = table.get("name").and_then(serde_json::Value::as_str).ok_or("a strategy needs a name")?;
        let mut settings = serde_json::to_value(Self::from_name(name)?).expect("settings serialise to JSON");
        overlay(&mut settings, table);
        serde_json::from_value(settings).map_err(|e| e.to_string())
    }

    pub fn name(&self) -> &'static str {
        match self {
            StrategySpec::Random => "random",
            StrategySpec::Evolution(_) => "evolution",
            StrategySpec::Local(_) => "local",
            StrategySpec::Nsga2(_) => "nsga2",
            StrategySpec::Tpe(_) => "tpe",
            StrategySpec::Reinforce(_) => "reinforce",
            StrategySpec::Bo(_) => "bo",
            StrategySpec::Bananas(_) => "bananas",
            StrategySpec::Predictor(_) => "predictor",
        }
    }

    /// Whether the strategy handles several objectives (the others need exactly one).
    pub fn is_multi_objective(&self) -> bool {
        matches!(
            self,
            StrategySpec::Random
                | StrategySpec::Nsga2(_)
                | StrategySpec::Tpe(_)
                | StrategySpec::Bo(_)
                | StrategySpec::Bananas(_)
                | StrategySpec::Predictor(_)
        )
    }

    /// Builds the strategy for a space and a number of objectives.
    pub fn build<S: SearchSpace>(&self, space: &S, objectives: usize) -> Result<Box<dyn Strategy<S>>, String> {
        if objectives > 1 && !self.is_multi_objective() {
            let model_based: Vec<&str> = Self::NAMES
                .iter()
                .copied()
                .filter(|&name| !["random", "nsga2"].contains(&name))
                .filter(|name| Self::from_name(name).is_ok_and(|spec| spec.is_multi_objective()))
                .collect();
            return Err(format!(
                "strategy '{}' optimises one objective and this study has {objectives}; use nsga2 or random, or \
                 a model-based strategy that scalarises the objectives ({})",
                self.name(),
                model_based.join(", ")
            ));
        }
        let space = space.clone();
        Ok(match self {
            StrategySpec::Random => Box::new(RandomSearch::new(space)),
            StrategySpec::Evolution(config) => Box::new(RegularizedEvolution::new(space, config.validated()?)),
            StrategySpec::Local(config) => Box::new(LocalSearch::new(space, config.validated()?)),
            StrategySpec::Nsga2(config) => Box::new(Nsga2::new(space, config.validated()?)),
            StrategySpec::Tpe(config) => Box::new(Tpe::new(space, config.validated()?)),
            StrategySpec::Reinforce(config) => Box::new(Reinforce::new(space, config.validated()?)),
            StrategySpec::Bo(config) => Box::new(BayesianOptimisation::new(space, config.validated()?, objectives)),
            StrategySpec::Bananas(config) => Box::new(Bananas::new(space, config.validated()?, objectives)),
            StrategySpec::Predictor(config) => Box::new(PredictorSearch::new(space, config.validated()?, objectives)),
        })
    }
}

/// Picks the index of the best of `size` entries drawn (with replacement) from `0..len`, under `better`.
pub(crate) fn tournament<R: rand::Rng + ?Sized>(
    len: usize,
    size: usize,
    rng: &mut R,
    better: impl Fn(usize, usize) -> bool,
) -> usize {
    use rand::RngExt;
    let mut winner = rng.random_range(0..len);
    for _ in 1..size {
        let challenger = rng.random_range(0..len);
        if better(challenger, winner) {
            winner = challenger;
        }
    }
    winner
}

/// How many candidates a strategy draws, at most, looking for one that was not evaluated yet.
const NOVELTY_ATTEMPTS: usize = 100;

/// The canonical keys of the architectures a strategy was told about, so that it can avoid proposing
/// networks that were evaluated already (the study would answer them from its cache, for free, but a
/// proposal spent on a repeat is a step the search did not take).
#[derive(Debug, Default, Clone)]
pub(crate) struct Seen {
    keys: HashSet<String>,
}

impl Seen {
    pub(crate) fn insert<S: SearchSpace>(&mut self, space: &S, arch: &S::Arch) {
        self.keys.insert(space.canonical(arch));
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// Draws candidates with `draw` until one is neither seen nor pending, up to `NOVELTY_ATTEMPTS`
    /// draws; when none is new (a converged population, an exhausted space) the last draw is returned.
    pub(crate) fn novel<S: SearchSpace>(
        &self,
        space: &S,
        pending: &[S::Arch],
        rng: &mut StrategyRng,
        mut draw: impl FnMut(&mut StrategyRng) -> S::Arch,
    ) -> S::Arch {
        let pending: Vec<String> = pending.iter().map(|a| space.canonical(a)).collect();
        let mut candidate = draw(rng);
        for _ in 1..NOVELTY_ATTEMPTS {
            let key = space.canonical(&candidate);
            if !self.keys.contains(&key) && !pending.contains(&key) {
                break;
            }
            candidate = draw(rng);
        }
        candidate
    }
}
