//! A stored trial's architecture read back in its study's space, for the views that look inside it (the
//! choices of the good cells, the drawing of the best one).

use nasforge_core::SearchSpace;
use nasforge_core::space::{ChainArch, DartsArch, MbconvArch, Nb201Arch, Nb201Space};
use nasforge_engine::SpaceConfig;

use crate::ReportError;

/// An architecture of one of the spaces.
#[derive(Debug, Clone, PartialEq)]
pub enum Architecture {
    Nb201(Nb201Arch),
    /// Boxed: two cells make it eight times the size of the others.
    Darts(Box<DartsArch>),
    Chain(ChainArch),
    Mbconv(Box<MbconvArch>),
}

impl Architecture {
    /// Reads trial `trial`'s printed architecture in `space`.
    pub fn parse(space: &SpaceConfig, trial: u64, printed: &str) -> Result<Architecture, ReportError> {
        let parsed = match space {
            SpaceConfig::Nb201 => Nb201Space.parse(printed).map(Architecture::Nb201),
            SpaceConfig::Darts(darts) => darts.parse(printed).map(|arch| Architecture::Darts(Box::new(arch))),
            SpaceConfig::Chain(chain) => chain.parse(printed).map(Architecture::Chain),
            SpaceConfig::Mbconv(mbconv) => mbconv.parse(printed).map(|arch| Architecture::Mbconv(Box::new(arch))),
        };
        parsed.map_err(|error| ReportError::Architecture { trial, space: space.name(), message: error.message })
    }
}
