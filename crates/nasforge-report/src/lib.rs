//! Views of a study for people: a self-contained HTML report (inline SVG plots, no network needed to open
//! it) and the strategy comparison's regret plot. Built from the engine's typed results; no I/O here.
//!
//! [`StudyReport::new`] computes every view once from a study's [`nasforge_engine::StudyResults`]
//! (downsampled to [`ReportOptions::max_points`]); [`render_page`] assembles the whole file. A live front end
//! (the dashboard) renders the sections it wants from the same view model, each an HTML fragment:
//! [`summary_html`], [`history_svg`], [`pareto_svg`], [`hypervolume_svg`], [`curves_svg`], [`choices_svg`],
//! [`architecture_svg`] and [`trials_table_html`] (a page of rows at a time), inside [`html_document`].
//!
//! ```no_run
//! use nasforge_engine::StudyHandle;
//! use nasforge_report::{ReportOptions, StudyReport, render_page};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let results = StudyHandle::open("sqlite:nasforge.db", "demo")?.results()?;
//! let report = StudyReport::new(&results, &ReportOptions::default())?;
//! std::fs::write("report.html", render_page(&report))?;
//! # Ok(())
//! # }
//! ```

mod architecture;
mod chart;
mod choices;
mod compare;
mod curves;
mod downsample;
mod drawing;
mod error;
mod history;
mod markup;
mod page;
mod pareto;
mod study_report;
#[cfg(test)]
mod test_trials;
mod trial_table;

pub use architecture::Architecture;
pub use choices::{ChoiceGroup, ChoiceUsage, choices_svg};
pub use compare::{regret_over_time_svg, regret_svg, render_compare_page};
pub use curves::{Curve, LearningCurves, curves_svg};
pub use downsample::min_max_downsample;
pub use drawing::architecture_svg;
pub use error::ReportError;
pub use history::{History, HistorySeries, history_svg};
pub use markup::{escape, rounded};
pub use page::{html_document, render_page, report_body, summary_html};
pub use pareto::{HypervolumePoint, ParetoPair, ParetoView, hypervolume_svg, pareto_svg};
pub use study_report::{BestTrial, ReportOptions, StudyReport};
pub use trial_table::{TablePage, trials_table_html};
