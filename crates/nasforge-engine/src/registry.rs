//! The registry of search spaces and strategies: every name a user may give, and the dispatch from a
//! study's space configuration to code generic over the space type. Adding a space is one entry here.

use nasforge_core::space::{ChainSpace, DartsSpace, MbconvSpace, Nb201Space};
use nasforge_core::{SearchSpace, StrategySpec};
use nasforge_train::Buildable;
use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};

/// The search spaces, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SpaceKind {
    /// NAS-Bench-201's cell (6 edges, 5 operations).
    Nb201,
    /// Layer-wise macro chains.
    Chain,
    /// DARTS normal and reduction cells.
    Darts,
    /// MobileNet-style stages of inverted-residual blocks (ProxylessNAS / once-for-all).
    Mbconv,
}

impl SpaceKind {
    pub const ALL: [SpaceKind; 4] = [SpaceKind::Nb201, SpaceKind::Chain, SpaceKind::Darts, SpaceKind::Mbconv];

    pub fn name(self) -> &'static str {
        match self {
            SpaceKind::Nb201 => Nb201Space::NAME,
            SpaceKind::Chain => ChainSpace::NAME,
            SpaceKind::Darts => DartsSpace::NAME,
            SpaceKind::Mbconv => MbconvSpace::NAME,
        }
    }

    /// The space with its default settings.
    pub fn default_config(self) -> SpaceConfig {
        match self {
            SpaceKind::Nb201 => SpaceConfig::Nb201,
            SpaceKind::Chain => SpaceConfig::Chain(ChainSpace::default()),
            SpaceKind::Darts => SpaceConfig::Darts(DartsSpace::default()),
            SpaceKind::Mbconv => SpaceConfig::Mbconv(MbconvSpace::default()),
        }
    }

    pub fn from_name(name: &str) -> Result<SpaceKind> {
        match Self::ALL.into_iter().find(|kind| kind.name() == name) {
            Some(kind) => Ok(kind),
            None => invalid!("unknown space '{name}' (expected one of {})", names(&Self::ALL.map(Self::name))),
        }
    }
}

/// The search space and its settings, as stored with a study (`[space]` in a file: `name = "chain"`,
/// then the space's settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum SpaceConfig {
    Nb201,
    Chain(ChainSpace),
    Darts(DartsSpace),
    Mbconv(MbconvSpace),
}

impl SpaceConfig {
    pub fn kind(&self) -> SpaceKind {
        match self {
            SpaceConfig::Nb201 => SpaceKind::Nb201,
            SpaceConfig::Chain(_) => SpaceKind::Chain,
            SpaceConfig::Darts(_) => SpaceKind::Darts,
            SpaceConfig::Mbconv(_) => SpaceKind::Mbconv,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// Code that runs on any search space (every space can also be built into a network and trained).
pub trait SpaceTask {
    type Output;
    fn run<S: Buildable>(self, space: S) -> Self::Output;
}

/// Runs `task` on the space `config` describes.
pub fn with_space<T: SpaceTask>(config: &SpaceConfig, task: T) -> T::Output {
    match config {
        SpaceConfig::Nb201 => task.run(Nb201Space),
        SpaceConfig::Chain(space) => task.run(space.clone()),
        SpaceConfig::Darts(space) => task.run(space.clone()),
        SpaceConfig::Mbconv(space) => task.run(space.clone()),
    }
}

/// An architecture in the forms a front end shows: printed, JSON, and one choice per decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchForms {
    pub printed: String,
    pub json: String,
    pub decisions: Vec<usize>,
}

/// The forms of the architecture `text` of the space `config`: its printed form or its JSON form.
pub fn arch_forms(config: &SpaceConfig, text: &str) -> Result<ArchForms> {
    struct Forms<'a>(&'a str);
    impl SpaceTask for Forms<'_> {
        type Output = Result<ArchForms>;
        fn run<S: Buildable>(self, space: S) -> Self::Output {
            let text = self.0.trim();
            let parsed = match text.starts_with(['{', '[']) {
                true => space.from_json(text),
                false => space.parse(text),
            };
            let arch = match parsed {
                Ok(arch) => arch,
                Err(e) => invalid!("not an architecture of the {} space: {} ('{text}')", S::NAME, e.message),
            };
            Ok(ArchForms {
                printed: space.print(&arch),
                json: space.to_json(&arch),
                decisions: space.to_decisions(&arch),
            })
        }
    }
    with_space(config, Forms(text))
}

/// The search strategies, by name (their settings are [`StrategySpec`]'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum StrategyKind {
    /// Uniform random sampling.
    Random,
    /// Regularized (aging) evolution.
    Evolution,
    /// Local search with restarts.
    Local,
    /// NSGA-II (several objectives).
    Nsga2,
    /// Tree-structured Parzen estimator.
    Tpe,
    /// REINFORCE controller.
    Reinforce,
    /// Bayesian optimisation with a Gaussian process.
    Bo,
    /// BANANAS: MLP ensemble on path encodings.
    Bananas,
    /// Predictor-guided search (GP, MLP ensemble or ridge).
    Predictor,
}

impl StrategyKind {
    pub const ALL: [StrategyKind; 9] = [
        StrategyKind::Random,
        StrategyKind::Evolution,
        StrategyKind::Local,
        StrategyKind::Nsga2,
        StrategyKind::Tpe,
        StrategyKind::Reinforce,
        StrategyKind::Bo,
        StrategyKind::Bananas,
        StrategyKind::Predictor,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Random => "random",
            StrategyKind::Evolution => "evolution",
            StrategyKind::Local => "local",
            StrategyKind::Nsga2 => "nsga2",
            StrategyKind::Tpe => "tpe",
            StrategyKind::Reinforce => "reinforce",
            StrategyKind::Bo => "bo",
            StrategyKind::Bananas => "bananas",
            StrategyKind::Predictor => "predictor",
        }
    }

    /// The strategy with its default settings.
    pub fn default_spec(self) -> StrategySpec {
        StrategySpec::from_name(self.name()).expect("every strategy kind names a strategy of the core")
    }

    pub fn from_name(name: &str) -> Result<StrategyKind> {
        match Self::ALL.into_iter().find(|kind| kind.name() == name) {
            Some(kind) => Ok(kind),
            None => invalid!("unknown strategy '{name}' (expected one of {})", names(&Self::ALL.map(Self::name))),
        }
    }
}

fn names(list: &[&str]) -> String {
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_kinds_are_the_core_strategies() {
        let ours: Vec<&str> = StrategyKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(ours, StrategySpec::NAMES);
        for kind in StrategyKind::ALL {
            assert_eq!(kind.default_spec().name(), kind.name());
        }
    }

    #[test]
    fn space_names_round_trip() {
        for kind in SpaceKind::ALL {
            assert_eq!(SpaceKind::from_name(kind.name()).unwrap(), kind);
            assert_eq!(kind.default_config().kind(), kind);
        }
        let e = SpaceKind::from_name("nb101").unwrap_err().to_string();
        assert!(e.contains("unknown space 'nb101'") && e.contains("nb201, chain, darts"), "{e}");
    }
}
