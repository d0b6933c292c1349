//! Dispatch from a study's space configuration to code generic over the space type.

use nasforge_core::space::Nb201Space;
use nasforge_train::Buildable;

use crate::config::SpaceConfig;

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
    }
}
