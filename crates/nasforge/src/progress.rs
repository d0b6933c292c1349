//! What a running search shows: on a terminal, a live line (trials, best value with its metric, rate in a
//! sensible unit, estimated time left, time budget left); elsewhere (a file, CI, nohup), one log line per
//! finished trial through `tracing`.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use nasforge_core::study::is_paused;
use nasforge_core::{Progress, StudyObserver, TrialRecord};
use nasforge_engine::StudyConfig;

/// The progress of one run, shared by its worker threads.
#[derive(Clone)]
pub struct RunProgress {
    /// The live line, on a terminal only.
    bar: Option<ProgressBar>,
    inner: Arc<Mutex<Shown>>,
}

/// What the display knows of the run.
struct Shown {
    started: Instant,
    /// Paid trials of the study before this run (a continued study).
    paid_before: u64,
    budget: Option<u64>,
    time_budget: Option<Duration>,
    metric: String,
}

impl RunProgress {
    pub fn new(config: &StudyConfig, paid_before: u64) -> Result<RunProgress> {
        let shown = Shown {
            started: Instant::now(),
            paid_before,
            budget: config.budget.trials,
            time_budget: config.budget.time()?,
            metric: config.objectives.objectives[0].metric.clone(),
        };
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = match shown.budget {
                Some(total) => ProgressBar::new(total),
                None => ProgressBar::no_length(),
            };
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} trials  {msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_position(paid_before);
            bar
        });
        Ok(RunProgress { bar, inner: Arc::new(Mutex::new(shown)) })
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl StudyObserver for RunProgress {
    fn trial_finished(&mut self, trial: &TrialRecord, progress: &Progress) {
        let shown = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let elapsed = shown.started.elapsed();
        let this_run = progress.paid.saturating_sub(shown.paid_before);
        let per_second = this_run as f64 / elapsed.as_secs_f64().max(1e-9);
        let best = progress.best.map_or("-".to_string(), |b| format!("{b:.4}"));
        let mut status = format!("best {} {best}  {}", shown.metric, rate(per_second));
        if let Some(budget) = shown.budget
            && per_second > 0.0
        {
            let left = budget.saturating_sub(progress.paid) as f64 / per_second;
            status.push_str(&format!("  about {} left", duration(left)));
        }
        if let Some(limit) = shown.time_budget {
            status.push_str(&format!("  time budget {} left", duration(limit.saturating_sub(elapsed).as_secs_f64())));
        }
        status.push_str(&format!("  cache hits {}  failed {}", progress.cache_hits, progress.failed));
        match &self.bar {
            Some(bar) => {
                bar.set_position(progress.paid);
                bar.set_message(status);
            }
            None => {
                let value = trial.metrics.get(&shown.metric).map_or("-".to_string(), |v| format!("{v:.4}"));
                let of = shown.budget.map_or(String::new(), |b| format!("/{b}"));
                let state = if is_paused(trial) { "paused" } else { trial.state.as_str() };
                tracing::info!(
                    "trial {} {state} {}={value}  paid {}{of}  {status}",
                    trial.id,
                    shown.metric,
                    progress.paid
                );
            }
        }
    }
}

/// A rate of trials in the unit that reads best: trials per second for fast evaluations, seconds or
/// minutes per trial for slow ones.
pub fn rate(per_second: f64) -> String {
    if per_second <= 0.0 {
        "- trials/s".to_string()
    } else if per_second >= 1.0 {
        format!("{per_second:.1} trials/s")
    } else if 1.0 / per_second < 120.0 {
        format!("{:.0} s/trial", 1.0 / per_second)
    } else {
        format!("{:.1} min/trial", 1.0 / per_second / 60.0)
    }
}

/// Seconds as `42s`, `7m05s` or `2h03m`.
pub fn duration(seconds: f64) -> String {
    let seconds = seconds.max(0.0).round() as u64;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3_600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3_600, seconds % 3_600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_in_a_sensible_unit() {
        assert_eq!(rate(350.0), "350.0 trials/s");
        assert_eq!(rate(0.05), "20 s/trial");
        assert_eq!(rate(1.0 / 45.0), "45 s/trial");
        assert_eq!(rate(1.0 / 600.0), "10.0 min/trial");
        assert_eq!(rate(0.0), "- trials/s");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(425.0), "7m05s");
        assert_eq!(duration(7_380.0), "2h03m");
    }
}
