//! Where a one-shot search keeps its state between runs, so that the same command continues a killed run: the
//! request it belongs to, the supernet training's checkpoint, the choice once made, the final training's
//! checkpoint. Removed when the search ends.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{EngineError, Result, invalid};

/// The request the state belongs to, as written by the run that started it.
const REQUEST_FILE: &str = "request.txt";
const CHOICE_FILE: &str = "choice.json";

/// A one-shot search's state directory.
pub(crate) struct OneShotState {
    dir: PathBuf,
}

impl OneShotState {
    /// Opens `dir` for the request described by `request` (creating it), or refuses it when it holds the
    /// unfinished search of another request.
    pub(crate) fn open(dir: &Path, request: &str) -> Result<OneShotState> {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::invalid(format!("creating {}: {e}", dir.display())))?;
        let path = dir.join(REQUEST_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) if text != request => invalid!(
                "{} holds an unfinished one-shot search of another request ({}); run that one again to finish \
                 it, give this one another --state directory, or remove {} to start over",
                dir.display(),
                path.display(),
                dir.display()
            ),
            Ok(_) => {}
            Err(_) => std::fs::write(&path, request)
                .map_err(|e| EngineError::invalid(format!("writing {}: {e}", path.display())))?,
        }
        Ok(OneShotState { dir: dir.to_path_buf() })
    }

    /// The supernet training's checkpoint directory.
    pub(crate) fn supernet(&self) -> PathBuf {
        self.dir.join("supernet")
    }

    /// The final training's checkpoint directory.
    pub(crate) fn final_training(&self) -> PathBuf {
        self.dir.join("final")
    }

    /// The choice a previous run made, if it got that far.
    pub(crate) fn choice<C: DeserializeOwned>(&self) -> Result<Option<C>> {
        let path = self.dir.join(CHOICE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| EngineError::invalid(format!("{}: {e} (remove it to choose again)", path.display()))),
            Err(_) => Ok(None),
        }
    }

    /// Keeps the choice (written whole: a temporary file renamed over it).
    pub(crate) fn save_choice<C: Serialize>(&self, choice: &C) -> Result<()> {
        let path = self.dir.join(CHOICE_FILE);
        let partial = path.with_extension("json.partial");
        let text = serde_json::to_string(choice).expect("a choice serialises");
        std::fs::write(&partial, text)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|e| EngineError::invalid(format!("writing {}: {e}", path.display())))
    }

    /// Removes the directory when a failed run left nothing in it to continue from (a mistake in the request
    /// found before the first epoch ended), so that a corrected request is not refused as another one.
    pub(crate) fn forget_if_unstarted(self) {
        remove_if_it_holds_only(&self.dir, REQUEST_FILE);
    }

    /// Removes the state: the search is over.
    pub(crate) fn finish(self) -> Result<()> {
        std::fs::remove_dir_all(&self.dir)
            .map_err(|e| EngineError::invalid(format!("removing {}: {e}", self.dir.display())))
    }
}

/// Removes `dir` when it holds nothing but the file `name` (what a training writes before it starts: the
/// request it was given); returns whether it did.
pub(crate) fn remove_if_it_holds_only(dir: &Path, name: &str) -> bool {
    let only = std::fs::read_dir(dir).into_iter().flatten().flatten().all(|entry| entry.file_name() == name);
    only && std::fs::remove_dir_all(dir).is_ok()
}
