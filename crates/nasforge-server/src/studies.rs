//! The studies of the store the dashboard shows, each followed through the store's change log, with its
//! report view model cached until the study changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use nasforge_engine::{StudyFollower, StudyResults, list_studies};
use nasforge_report::{ReportOptions, StudyReport};
use serde_json::{Value, json};

use crate::error::ServerError;

/// The store and the studies followed so far.
pub(crate) struct Studies {
    url: String,
    followed: Mutex<HashMap<String, Arc<Mutex<Followed>>>>,
}

struct Followed {
    follower: StudyFollower,
    /// The summary and the report, each with the version it was made from (both read every trial).
    summary: Option<(u64, Value)>,
    report: Option<(u64, Arc<StudyReport>)>,
}

impl Followed {
    fn summary(&mut self) -> Value {
        let version = self.follower.version();
        match &self.summary {
            Some((made_at, summary)) if *made_at == version => summary.clone(),
            _ => {
                let summary = summary(self.follower.results(), version);
                self.summary = Some((version, summary.clone()));
                summary
            }
        }
    }
}

/// A study's report as of a change version.
pub(crate) struct VersionedReport {
    pub(crate) version: u64,
    pub(crate) report: Arc<StudyReport>,
}

impl Studies {
    /// The store at `url`, which must exist.
    pub(crate) fn open(url: &str) -> Result<Arc<Studies>, ServerError> {
        list_studies(url)?;
        Ok(Arc::new(Studies { url: url.to_string(), followed: Mutex::new(HashMap::new()) }))
    }

    pub(crate) fn location(&self) -> &str {
        &self.url
    }

    /// The follower of study `name`, brought up to date; `None` when the store has no such study.
    fn follow(&self, name: &str) -> Result<Option<Arc<Mutex<Followed>>>, ServerError> {
        let existing = self.followed.lock().unwrap_or_else(PoisonError::into_inner).get(name).cloned();
        let followed = match existing {
            Some(followed) => followed,
            None => {
                if !list_studies(&self.url)?.iter().any(|study| study.name == name) {
                    return Ok(None);
                }
                let followed = Arc::new(Mutex::new(Followed {
                    follower: StudyFollower::new(&self.url, name)?,
                    summary: None,
                    report: None,
                }));
                let mut all = self.followed.lock().unwrap_or_else(PoisonError::into_inner);
                all.entry(name.to_string()).or_insert(followed).clone()
            }
        };
        followed.lock().unwrap_or_else(PoisonError::into_inner).follower.refresh()?;
        Ok(Some(followed))
    }

    /// A summary of every study of the store, in creation order.
    pub(crate) fn summaries(&self) -> Result<Vec<Value>, ServerError> {
        let mut summaries = Vec::new();
        for study in list_studies(&self.url)? {
            if let Some(followed) = self.follow(&study.name)? {
                summaries.push(followed.lock().unwrap_or_else(PoisonError::into_inner).summary());
            }
        }
        Ok(summaries)
    }

    /// The summary of study `name`; `None` when there is no such study.
    pub(crate) fn summary(&self, name: &str) -> Result<Option<Value>, ServerError> {
        Ok(self.follow(name)?.map(|followed| followed.lock().unwrap_or_else(PoisonError::into_inner).summary()))
    }

    /// The report of study `name` as it is now; `None` when there is no such study.
    pub(crate) fn report(&self, name: &str) -> Result<Option<VersionedReport>, ServerError> {
        let Some(followed) = self.follow(name)? else { return Ok(None) };
        let mut followed = followed.lock().unwrap_or_else(PoisonError::into_inner);
        let version = followed.follower.version();
        let report = match &followed.report {
            Some((made_at, report)) if *made_at == version => report.clone(),
            _ => {
                let report = Arc::new(StudyReport::new(followed.follower.results(), &ReportOptions::default())?);
                followed.report = Some((version, report.clone()));
                report
            }
        };
        Ok(Some(VersionedReport { version, report }))
    }
}

/// `{"name", "space", "version", "trials", "paid", "running", "failed", "cache_hits", "best": {"metric",
/// "value", "trial"} | null}`.
fn summary(results: &StudyResults, version: u64) -> Value {
    let counts = results.counts();
    let metric = &results.objectives().objectives[0].metric;
    let best = results.best().and_then(|trial| {
        trial.metrics.get(metric).map(|value| json!({"metric": metric, "value": value, "trial": trial.id}))
    });
    json!({
        "name": results.name,
        "space": results.config.space.name(),
        "version": version,
        "trials": results.trials.len(),
        "paid": counts.paid,
        "running": counts.running,
        "failed": counts.failed,
        "cache_hits": counts.cache_hits,
        "best": best,
    })
}
