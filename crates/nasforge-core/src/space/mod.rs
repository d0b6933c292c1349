//! Search spaces: which architectures are allowed, and how to sample, vary, encode, print and parse them.
//! Every space offers the same operations, so every strategy runs on every space.

pub mod chain;
mod choices;
mod cost;
pub mod darts;
pub mod mbconv;
pub mod nb201;

use std::fmt::Debug;
use std::hash::Hash;

use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use chain::{ChainArch, ChainLayer, ChainNetwork, ChainSettings, ChainSpace};
pub use cost::NetworkCost;
pub use darts::{DartsArch, DartsCell, DartsNetwork, DartsOp, DartsSettings, DartsSpace};
pub use mbconv::{MbconvArch, MbconvSettings, MbconvSpace};
pub use nb201::{Nb201Arch, Nb201Network, Nb201Op, Nb201Space};

/// Why an architecture could not be read: says where (node, edge, layer, field) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
}

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        ParseError { message: message.into() }
    }
}

/// A search space. `Arch` is one architecture of it; the space value itself holds the space's settings
/// (depth range, channel list, op list…), so two spaces of one kind may differ.
///
/// Every architecture has one uniform serialised form: the space's `NAME`, the printed string
/// (`print`/`parse` round-trip) and a JSON document (`Arch`'s serde form). `canonical` is the
/// deduplication key: two architectures that compute the same function map to the same key.
pub trait SearchSpace: Clone + Send + Sync + 'static {
    type Arch: Clone + PartialEq + Eq + Hash + Debug + Send + Sync + Serialize + DeserializeOwned;

    /// The name used on the command line and in stores (`nb201`, `chain`, `darts`).
    const NAME: &'static str;

    /// A uniformly random architecture.
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Self::Arch;

    /// A random single-step change of `arch` (always different from it when the space allows).
    fn mutate<R: Rng + ?Sized>(&self, arch: &Self::Arch, rng: &mut R) -> Self::Arch;

    /// A child mixing two parents.
    fn crossover<R: Rng + ?Sized>(&self, a: &Self::Arch, b: &Self::Arch, rng: &mut R) -> Self::Arch;

    /// Every architecture one single-step change away, in a fixed order.
    fn neighbours(&self, arch: &Self::Arch) -> Vec<Self::Arch>;

    /// How many choices each categorical decision of the space has, in a fixed order. Every
    /// architecture is a vector of decisions (`to_decisions`); strategies that learn a distribution over
    /// choices (REINFORCE, TPE) and the one-hot encoding work on it.
    fn decision_sizes(&self) -> Vec<usize>;

    /// The decision vector of `arch` (one entry per `decision_sizes` entry).
    fn to_decisions(&self, arch: &Self::Arch) -> Vec<usize>;

    /// The architecture of a decision vector. Any vector with `d[i] < decision_sizes()[i]` gives a
    /// valid architecture (decisions that do not apply are ignored; conflicts are resolved by rule).
    #[allow(clippy::wrong_self_convention)] // the space (`self`) builds the architecture
    fn from_decisions(&self, decisions: &[usize]) -> Self::Arch;

    /// A fixed-length one-hot encoding of the decisions, for predictors.
    fn encode_onehot(&self, arch: &Self::Arch) -> Vec<f64> {
        let sizes = self.decision_sizes();
        let mut encoding = vec![0.0; sizes.iter().sum()];
        let mut offset = 0;
        for (choice, size) in self.to_decisions(arch).into_iter().zip(sizes) {
            encoding[offset + choice] = 1.0;
            offset += size;
        }
        encoding
    }

    /// The BANANAS path encoding for cell spaces; `None` for spaces without one.
    fn encode_path(&self, _arch: &Self::Arch) -> Option<Vec<f64>> {
        None
    }

    /// Parameters and multiply-accumulates of the space's network around `arch` for a task, computed
    /// analytically; `None` for spaces without a cost model.
    fn cost(&self, _arch: &Self::Arch, _task: &TaskShape) -> Option<NetworkCost> {
        None
    }

    /// Reads the space's printed form.
    fn parse(&self, text: &str) -> Result<Self::Arch, ParseError>;

    /// The printed form (`parse(print(a)) == a`).
    fn print(&self, arch: &Self::Arch) -> String;

    /// The deduplication key: equal for architectures that compute the same function.
    fn canonical(&self, arch: &Self::Arch) -> String;

    /// Whether the architecture's cell computes zero whatever its input (an NB201 cell whose every path to
    /// the output is cut by `none`): its network can only learn the class priors, so training it is
    /// wasted. Spaces that cannot tell say `false`.
    fn computes_nothing(&self, _arch: &Self::Arch) -> bool {
        false
    }

    /// Checks that an architecture read from JSON obeys the space's settings.
    fn validate(&self, arch: &Self::Arch) -> Result<(), ParseError>;

    /// Reads the JSON form and validates it.
    #[allow(clippy::wrong_self_convention)] // the space (`self`) reads and validates the architecture
    fn from_json(&self, json: &str) -> Result<Self::Arch, ParseError> {
        let arch: Self::Arch = serde_json::from_str(json)
            .map_err(|e| ParseError::new(format!("{} architecture JSON: {e}", Self::NAME)))?;
        self.validate(&arch)?;
        Ok(arch)
    }

    /// The JSON form.
    fn to_json(&self, arch: &Self::Arch) -> String {
        serde_json::to_string(arch).expect("architectures serialise to JSON")
    }
}

/// The input and output of a classification task: what a network built from an architecture must fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct TaskShape {
    pub channels: usize,
    pub size: usize,
    pub classes: usize,
}

impl TaskShape {
    /// CIFAR-10: 3×32×32 images, 10 classes.
    pub const CIFAR10: TaskShape = TaskShape { channels: 3, size: 32, classes: 10 };
}
