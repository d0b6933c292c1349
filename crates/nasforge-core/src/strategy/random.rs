//! Random search: uniform samples of the space, the baseline every other strategy must beat.

use super::{Strategy, StrategyRng};
use crate::objective::Outcome;
use crate::space::SearchSpace;

pub struct RandomSearch<S> {
    space: S,
}

impl<S: SearchSpace> RandomSearch<S> {
    pub fn new(space: S) -> Self {
        RandomSearch { space }
    }
}

impl<S: SearchSpace> Strategy<S> for RandomSearch<S> {
    fn ask(&mut self, rng: &mut StrategyRng, _pending: &[S::Arch]) -> S::Arch {
        self.space.sample(rng)
    }

    fn tell(&mut self, _arch: &S::Arch, _outcome: Option<&Outcome>) {}
}
