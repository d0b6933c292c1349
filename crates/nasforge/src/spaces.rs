//! Dispatch from a study's space configuration to code generic over the space type.

use nasforge_core::SearchSpace;
use nasforge_core::space::Nb201Space;

use crate::config::SpaceConfig;

/// Code that runs on any search space.
pub trait SpaceTask {
    type Output;
    fn run<S: SearchSpace>(self, space: S) -> Self::Output;
}

/// Runs `task` on the space `config` describes.
pub fn with_space<T: SpaceTask>(config: &SpaceConfig, task: T) -> T::Output {
    match config {
        SpaceConfig::Nb201 => task.run(Nb201Space),
        SpaceConfig::Chain(space) => task.run(space.clone()),
        SpaceConfig::Darts(space) => task.run(space.clone()),
    }
}
