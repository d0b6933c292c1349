//! The architecture a command names (`nasforge train --arch`, `nasforge export --arch`): `best` or a trial
//! id of a study, or an architecture's printed or JSON form, given or in a file; with its space.

use std::path::Path;

use crate::error::{EngineError, Result, invalid};
use crate::registry::{SpaceConfig, SpaceKind};
use crate::results::StudyResults;

/// An architecture as a command named it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChosenArch {
    pub space: SpaceConfig,
    /// The printed or JSON form.
    pub arch: String,
    /// The study's trial it came from.
    pub trial_id: Option<u64>,
}

/// The architecture `arch` names: with `study`, `best` or a trial id of it (in its space; `space`, when
/// given, must be the study's); without, its printed or JSON form, or a file holding one, in `space`
/// [default: nb201].
pub(crate) fn choose_arch(study: Option<&StudyResults>, space: Option<SpaceKind>, arch: &str) -> Result<ChosenArch> {
    let space = match (space, study) {
        (Some(kind), Some(study)) if kind != study.config.space.kind() => {
            invalid!(
                "--space {} differs from the space of study '{}' ({})",
                kind.name(),
                study.name,
                study.config.space.name()
            )
        }
        (_, Some(study)) => study.config.space.clone(),
        (Some(kind), None) => kind.default_config(),
        (None, None) => SpaceConfig::Nb201,
    };
    let (arch, trial_id) = match study {
        Some(study) => {
            let trial = if arch == "best" {
                study
                    .best()
                    .ok_or_else(|| EngineError::invalid(format!("study '{}' has no complete trial yet", study.name)))?
            } else if let Ok(id) = arch.parse::<u64>() {
                study
                    .trial(id)
                    .ok_or_else(|| EngineError::invalid(format!("study '{}' has no trial {id}", study.name)))?
            } else {
                invalid!("with --study, --arch is `best` or a trial id (not '{arch}')");
            };
            (trial.arch.clone(), Some(trial.id))
        }
        None if arch == "best" || arch.parse::<u64>().is_ok() => {
            invalid!("--arch {arch} names a trial: add --storage and --study")
        }
        None => (arch_text(arch)?, None),
    };
    Ok(ChosenArch { space, arch, trial_id })
}

/// `text` itself, or the contents of the file it names.
fn arch_text(text: &str) -> Result<String> {
    let path = Path::new(text);
    if path.is_file() {
        let contents = std::fs::read_to_string(path)
            .map_err(|e| EngineError::File { path: path.to_path_buf(), message: format!("cannot read: {e}") })?;
        return Ok(contents.trim().to_string());
    }
    Ok(text.to_string())
}
