//! The command-line interface: commands and flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use nasforge_core::scheduler::{SchedulerForm, SchedulerKind};
use nasforge_engine::config::{DEFAULT_STORAGE, DEFAULT_STUDY};
use nasforge_engine::latency::LatencyReward;
use nasforge_engine::{DeviceChoice, EvaluatorKind, SpaceKind, StrategyKind};
use nasforge_train::differentiable::DifferentiableConfig;
use nasforge_train::enas::EnasConfig;
use nasforge_train::latency::LatencyModelKind;

#[derive(Debug, Parser)]
#[command(
    name = "nasforge",
    version,
    about = "Neural architecture search: spaces, strategies, evaluators and persistent studies"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Which log lines are printed on stderr: error, warn, info (off a terminal: one line per finished
    /// trial), debug.
    #[arg(long, global = true, value_enum, env = "NASFORGE_LOG", default_value = "info")]
    pub log_level: LogLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl LogLevel {
    pub fn filter(self) -> tracing::level_filters::LevelFilter {
        match self {
            LogLevel::Error => tracing::level_filters::LevelFilter::ERROR,
            LogLevel::Warn => tracing::level_filters::LevelFilter::WARN,
            LogLevel::Info => tracing::level_filters::LevelFilter::INFO,
            LogLevel::Debug => tracing::level_filters::LevelFilter::DEBUG,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run (or continue) a search study.
    Search(SearchArgs),
    /// Manage studies without running them.
    #[command(subcommand)]
    Study(StudyCommand),
    /// Work on an existing study (any number of workers on any machines share it through its store).
    Worker(WorkerArgs),
    /// List the trials of a study.
    Trials(StudyArgs),
    /// Show the best trial of a study (first objective, constraints respected first).
    Best(StudyArgs),
    /// Show the Pareto front of a study and its hypervolume.
    Pareto(StudyArgs),
    /// List the studies of a store.
    Studies(StorageArgs),
    /// Write a study's report as one self-contained HTML file: plots, choices of the best trials, the best
    /// architecture drawn, the table of trials.
    Report(ReportArgs),
    /// Compare strategies on a benchmark table over many seeds: mean best and regret after N paid queries.
    Compare(CompareArgs),
    /// Evaluate performance predictors on a benchmark table: rank correlation on held-out architectures.
    Predictors(PredictorsArgs),
    /// Evaluate zero-cost proxies on a benchmark table: rank correlation with its metric, time per network.
    Proxies(ProxiesArgs),
    /// Train one architecture from scratch on the whole training set, report its test accuracy, save weights.
    Train(TrainArgs),
    /// Write an architecture and its network as JSON, as a PyTorch source file that builds the network, or as
    /// an ONNX model with fresh or trained weights.
    Export(ExportArgs),
    /// Predict a search's wall time, device-hours, energy and money from a measured rate of trials.
    Cost(CostArgs),
    /// One-shot search: train a supernet once, score candidates with inherited weights, retrain the best
    /// stand-alone and report its test accuracy.
    Oneshot(OneshotArgs),
    /// Train an SPOS supernet once and save it, for searches with --supernet DIR (the supernet evaluator).
    Supernet(SupernetArgs),
    /// Serve a live, read-only web dashboard of a store's studies (the report's views, refreshed as trials
    /// arrive).
    Dashboard(DashboardArgs),
    /// Latency models of a device for hardware-aware search (every space): a look-up table of every
    /// operator, a learned predictor and a FLOPs line, and their accuracy against measured networks.
    #[command(subcommand)]
    Latency(LatencyCommand),
}

#[derive(Debug, Subcommand)]
pub enum LatencyCommand {
    /// Measure every operator of the space alone on the device (FBNet's look-up table), then random networks
    /// end to end (to fit the predictor and the FLOPs line); write the model file.
    Build(LatencyBuildArgs),
    /// Measure random networks end to end and report each model's accuracy: the share within ±10 % and
    /// Kendall's τ.
    Check(LatencyCheckArgs),
}

#[derive(Debug, Clone, Args)]
pub struct LatencyBuildArgs {
    /// The space.
    #[arg(long, value_enum, default_value = "mbconv")]
    pub space: SpaceKind,
    /// A study file whose `[space]` table sets the space and its settings (stages, choices) [default: --space
    /// with its default settings].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where the networks run: cpu, cuda, cuda:N, wgpu.
    #[arg(long, default_value = "cpu", value_parser = DeviceChoice::parse)]
    pub device: DeviceChoice,
    /// The input, CHANNELSxSIZExSIZE (Fashion-MNIST's by default).
    #[arg(long, default_value = "1x28x28", value_parser = parse_input)]
    pub input: (usize, usize),
    /// The classifier's outputs.
    #[arg(long, default_value_t = 10, value_parser = at_least_one())]
    pub classes: usize,
    /// As the search's --channels: nb201's and darts's C, mbconv's stem channels before the width multiplier
    /// [default: the space's].
    #[arg(long, value_parser = at_least_one())]
    pub channels: Option<usize>,
    /// As the search's --cells: nb201's cells per stage, darts's cells [default: the space's].
    #[arg(long, value_parser = at_least_one())]
    pub cells: Option<usize>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 1, value_parser = at_least_one())]
    pub batch: usize,
    /// Threads the networks run on (a single thread measures steadily on a shared machine).
    #[arg(long, default_value_t = 1, value_parser = at_least_one())]
    pub threads: usize,
    /// Timed runs per measurement, after 3 of warm-up; the fastest is kept.
    #[arg(long, default_value_t = 10, value_parser = at_least_one())]
    pub runs: usize,
    /// Sweeps over every operator and network, the fastest kept (interference on a shared machine comes and
    /// goes; it must hit every sweep to count).
    #[arg(long, default_value_t = 3, value_parser = at_least_one())]
    pub passes: usize,
    /// Random networks measured end to end, for the learned predictor and the FLOPs line (0: the table only).
    #[arg(long, default_value_t = 150)]
    pub calibration: usize,
    /// Seed of the calibration networks.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The model file to write.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct LatencyCheckArgs {
    /// The model file `latency build` wrote.
    #[arg(long)]
    pub model: PathBuf,
    /// The space the model was built for.
    #[arg(long, value_enum, default_value = "mbconv")]
    pub space: SpaceKind,
    /// A study file whose `[space]` table sets the space and its settings (stages, choices) [default: --space
    /// with its default settings].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where the networks run (the model's device).
    #[arg(long, default_value = "cpu", value_parser = DeviceChoice::parse)]
    pub device: DeviceChoice,
    /// Random networks measured end to end (none of the model's calibration networks).
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Seed of the networks (use another than the build's).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print `{"samples", "within_10pct", "kendall", "models": […], …}` instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum StudyCommand {
    /// Store a new study's configuration (the flags of `search`) without running it; workers run it.
    Create(SearchArgs),
}

/// A count of at least 1: `0` and negative numbers are refused with the flag's name and the range.
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}

fn parse_scheduler(text: &str) -> Result<SchedulerKind, String> {
    match text {
        "asha" => Ok(SchedulerKind::Asha),
        "hyperband" => Ok(SchedulerKind::Hyperband),
        "curve" => Ok(SchedulerKind::Curve),
        "halving" => Ok(SchedulerKind::Halving),
        other => Err(format!("unknown scheduler '{other}' (schedulers: asha, hyperband, halving, curve)")),
    }
}

fn parse_scheduler_form(text: &str) -> Result<SchedulerForm, String> {
    match text {
        "stopping" => Ok(SchedulerForm::Stopping),
        "promotion" => Ok(SchedulerForm::Promotion),
        other => Err(format!("unknown scheduler form '{other}' (forms: stopping, promotion)")),
    }
}

/// A count of at least 2 (a minibatch the proxies correlate images within).
fn at_least_two() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(2..)
}

#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Where studies are stored: sqlite:PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB.
    #[arg(long, env = "NASFORGE_STORAGE", default_value = DEFAULT_STORAGE)]
    pub storage: String,
}

#[derive(Debug, Clone, Args)]
pub struct StudyArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The study's name.
    #[arg(long, default_value = DEFAULT_STUDY)]
    pub study: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The study's name.
    #[arg(long, default_value = DEFAULT_STUDY)]
    pub study: String,
    /// The HTML file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// The share of complete trials whose choices count as the best trials', in (0, 1].
    #[arg(long, default_value_t = 0.1, value_parser = parse_share)]
    pub top: f64,
}

/// A share in (0, 1].
fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if share > 0.0 && share <= 1.0 => Ok(share),
        _ => Err(format!("'{text}' is not a share in (0, 1] (e.g. 0.1 for the best tenth)")),
    }
}

/// How a listing is printed.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// table: aligned and rounded, for people; json, csv, tsv: exact values, for programs.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Shorthand for --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Comma-separated columns of a table, CSV or TSV: id, state, arch, cached_from, worker, attempts,
    /// error, or any metric [default: id, state, the study's metrics, params, flops, latency_ms,
    /// train_seconds where recorded, cached_from, arch].
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
}

impl OutputArgs {
    pub fn format(&self) -> OutputFormat {
        if self.json { OutputFormat::Json } else { self.format }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
    Tsv,
}

#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// A TOML configuration file; flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where studies are stored: sqlite:PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB [default: sqlite:nasforge.db].
    #[arg(long, env = "NASFORGE_STORAGE")]
    pub storage: Option<String>,
    /// The study's name; running the same command again continues it [default: default].
    #[arg(long)]
    pub study: Option<String>,
    /// Search space [default: nb201].
    #[arg(long, value_enum)]
    pub space: Option<SpaceKind>,
    /// Strategy [default: evolution].
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyKind>,
    /// Evaluator [default: command with --command, zero-cost with --proxy, train with --dataset, else table].
    #[arg(long, value_enum)]
    pub evaluator: Option<EvaluatorKind>,
    /// The training command of the command evaluator, run once per trial (e.g. "python train.py").
    #[arg(long)]
    pub command: Option<String>,
    /// Longest one trial of the command evaluator may run (30s, 20m, 2h).
    #[arg(long)]
    pub trial_timeout: Option<String>,
    /// Benchmark table (CSV with an `arch` column) [default: $NASFORGE_NB201_TABLE or ../shared/benchmarks/nb201/nb201_test_accuracy.csv].
    #[arg(long)]
    pub table: Option<PathBuf>,
    /// Zero-cost proxies of the zero-cost evaluator, comma-separated: synflow, naswot, snip, grad_norm, fisher,
    /// jacob_cov, zico, params, flops (all but synflow, params and flops need --dataset) [default: synflow].
    #[arg(long = "proxy")]
    pub proxies: Option<String>,
    /// Images in the zero-cost proxies' minibatch [default: 64].
    #[arg(long, value_parser = at_least_two())]
    pub proxy_batch_size: Option<usize>,
    /// A supernet saved by `nasforge supernet -o DIR`: the supernet evaluator scores each candidate (nb201)
    /// with the weights it inherits, in milliseconds.
    #[arg(long)]
    pub supernet: Option<PathBuf>,
    /// Validation images the supernet evaluator scores a candidate on [default: 2000].
    #[arg(long, value_parser = at_least_one())]
    pub validation_images: Option<usize>,
    /// Training images a candidate's batch-norm statistics are re-estimated on by the supernet evaluator (0:
    /// each validation batch's own) [default: 512].
    #[arg(long)]
    pub recalibration_images: Option<usize>,
    /// Warm start: evaluate first the best architectures of a seeded pool ranked by these zero-cost proxies
    /// (comma-separated; several: by mean rank), then let the strategy propose. Data-dependent proxies use the
    /// training evaluator's dataset.
    #[arg(long)]
    pub warm_start: Option<String>,
    /// Architectures in the warm start's pool [default: 500].
    #[arg(long, value_parser = at_least_one())]
    pub warm_start_pool: Option<usize>,
    /// How many of the pool's best are evaluated first [default: 10].
    #[arg(long, value_parser = at_least_one())]
    pub warm_start_top: Option<usize>,
    /// Where `latency_ms` comes from: lut (the look-up table's sum), predictor (learned from measured
    /// networks), flops (a line in the FLOPs), all read from --latency-table, known before training; or
    /// measured (the trained network timed) [default: measured]. A candidate over a hard constraint
    /// `latency_ms <= X` is then rejected without training. The mbconv space.
    #[arg(long, value_parser = LatencyModelKind::from_name)]
    pub latency_model: Option<LatencyModelKind>,
    /// The latency model file (`nasforge latency build -o FILE`).
    #[arg(long)]
    pub latency_table: Option<PathBuf>,
    /// MnasNet's soft constraint TARGET_MS[:W] (W default −0.07): records `latency_reward = val_accuracy ×
    /// (latency_ms / TARGET_MS)^W`, to search with --objective latency_reward:max.
    #[arg(long, value_parser = LatencyReward::parse, allow_hyphen_values = true)]
    pub latency_reward: Option<LatencyReward>,
    /// Multi-fidelity scheduler: asha (asynchronous successive halving), hyperband (asynchronous, brackets of
    /// ASHA), halving (synchronous successive halving: pauses trials, train evaluator only) or curve
    /// (learning-curve extrapolation); trials that fall behind stop early as `pruned`. Needs the train or
    /// command evaluator.
    #[arg(long, value_parser = parse_scheduler)]
    pub scheduler: Option<SchedulerKind>,
    /// asha and hyperband: stopping (a trial behind at a rung stops for good) or promotion (every trial
    /// pauses at each rung, keeping a checkpoint, and resumes when promoted; train evaluator only)
    /// [default: stopping].
    #[arg(long, value_parser = parse_scheduler_form)]
    pub scheduler_form: Option<SchedulerForm>,
    /// The scheduler's first rung, in units of --resource [default: 1].
    #[arg(long)]
    pub min_resource: Option<f64>,
    /// The resource of a full evaluation [default: the training evaluator's epochs].
    #[arg(long)]
    pub max_resource: Option<f64>,
    /// The scheduler's reduction factor: a rung keeps the best 1/η of the trials that reached it [default: 3].
    #[arg(long)]
    pub eta: Option<f64>,
    /// `curve`: stop a trial whose predicted chance to beat the best finished trial is below this [default: 0.05].
    #[arg(long)]
    pub stop_probability: Option<f64>,
    /// The intermediate metric counting the resource spent [default: epoch].
    #[arg(long)]
    pub resource: Option<String>,
    /// The metric to maximise (shorthand for --objective METRIC:max) [default: the table's first metric column].
    #[arg(long)]
    pub metric: Option<String>,
    /// An objective, METRIC:max or METRIC:min; repeat for several.
    #[arg(long = "objective")]
    pub objectives: Vec<String>,
    /// A constraint such as "params <= 1e6"; repeat for several.
    #[arg(long = "constraint")]
    pub constraints: Vec<String>,
    /// Paid evaluations in the whole study, at least 1 [default: 100].
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub trials: Option<u64>,
    /// Wall-clock limit of this run (90s, 10m, 2h).
    #[arg(long)]
    pub time_budget: Option<String>,
    /// Seed of the study [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub training: TrainingArgs,
    /// Where the training evaluator trains: cpu, cuda, cuda:N, wgpu.
    #[arg(long, default_value = "cpu", value_parser = DeviceChoice::parse)]
    pub device: DeviceChoice,
    /// Trials evaluated at once by worker threads of this process.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = at_least_one())]
    pub workers: usize,
    /// How long a worker's claim on a trial lasts without a heartbeat (it is renewed while the trial runs);
    /// a trial whose worker died is handed out again after it.
    #[arg(long, default_value = "60s")]
    pub lease: String,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Where the study is stored: sqlite:PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB.
    #[arg(long, env = "NASFORGE_STORAGE")]
    pub storage: String,
    /// The study's name.
    #[arg(long)]
    pub study: String,
    /// This machine's path of the study's benchmark table, when it differs from the stored one.
    #[arg(long)]
    pub table: Option<PathBuf>,
    /// This machine's directory of the study's dataset, when it differs from the stored one.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where the training evaluator trains on this machine: cpu, cuda, cuda:N, wgpu.
    #[arg(long, default_value = "cpu", value_parser = DeviceChoice::parse)]
    pub device: DeviceChoice,
    /// A new budget of paid evaluations for the whole study, at least 1.
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub trials: Option<u64>,
    /// Wall-clock limit of this worker's run (90s, 10m, 2h).
    #[arg(long)]
    pub time_budget: Option<String>,
    /// Worker threads in this process.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = at_least_one())]
    pub workers: usize,
    /// How long a claim on a trial lasts without a heartbeat.
    #[arg(long, default_value = "60s")]
    pub lease: String,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Benchmark table (CSV with an `arch` column) [default: $NASFORGE_NB201_TABLE or ../shared/benchmarks/nb201/nb201_test_accuracy.csv].
    #[arg(long)]
    pub table: Option<PathBuf>,
    /// The space of the table's architectures.
    #[arg(long, value_enum, default_value = "nb201")]
    pub space: SpaceKind,
    /// The metric column, maximised (METRIC:min to minimise) [default: the table's first metric column].
    #[arg(long)]
    pub metric: Option<String>,
    /// Comma-separated strategies, each NAME or NAME:KEY=VALUE;KEY=VALUE with settings of its TOML
    /// [strategy] table (e.g. tpe:constant_liar=false).
    #[arg(long, default_value = "random,evolution,local,nsga2", value_delimiter = ',')]
    pub strategies: Vec<String>,
    /// Comma-separated numbers of paid queries at which to report.
    #[arg(long, default_value = "25,50,100,200", value_delimiter = ',')]
    pub queries: Vec<u64>,
    /// Number of seeds per strategy.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// Simulated asynchronous workers: a proposal is made whenever a worker frees up, while the others'
    /// trials are pending (every evaluation takes the same time without --time-column).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = at_least_one())]
    pub workers: usize,
    /// A table joined on `arch` whose --report-metric scores the cell each search returns (e.g. the test
    /// accuracy table beside a validation table) [default: --table].
    #[arg(long)]
    pub report_table: Option<PathBuf>,
    /// The column regret is measured on, never shown to the strategies [default: --metric's column].
    #[arg(long)]
    pub report_metric: Option<String>,
    /// `seeds`: answer each query with one training seed's values (columns METRIC_seed0, METRIC_seed1, …),
    /// drawn per query; a repeated network keeps its first draw.
    #[arg(long, default_value = "none", value_parser = ["none", "seeds"])]
    pub noise: String,
    /// The column of each evaluation's duration in seconds (e.g. cifar10_train_seconds): workers run in
    /// simulated time, and regret is also reported at --times.
    #[arg(long)]
    pub time_column: Option<String>,
    /// Comma-separated simulated wall-clock times at which to report regret, with --time-column.
    #[arg(long, default_value = "1h,2h,4h,8h,16h,32h,64h,128h", value_delimiter = ',')]
    pub times: Vec<String>,
    /// Re-evaluations at each checkpoint of N queries: the search stops after N − R, its best R cells are
    /// evaluated again with a new seed, and the cell with the best mean of its two values is returned.
    #[arg(long, default_value_t = 0)]
    pub reevaluate: u64,
    /// With --noise seeds, the noise floor's cells: the regret of querying the best this many cells by
    /// the noiseless search metric once each and returning the best draw.
    #[arg(long, default_value_t = 100)]
    pub noise_floor_cells: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write the regret against queries (and simulated time), with 95% confidence bands, as a
    /// self-contained HTML file.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct PredictorsArgs {
    /// Benchmark table (CSV with an `arch` column) [default: $NASFORGE_NB201_TABLE or ../shared/benchmarks/nb201/nb201_test_accuracy.csv].
    #[arg(long)]
    pub table: Option<PathBuf>,
    /// The space of the table's architectures.
    #[arg(long, value_enum, default_value = "nb201")]
    pub space: SpaceKind,
    /// The metric column, maximised (METRIC:min to minimise) [default: the table's first metric column].
    #[arg(long)]
    pub metric: Option<String>,
    /// Comma-separated predictors: gp, mlp, ridge.
    #[arg(long, default_value = "gp,mlp,ridge", value_delimiter = ',')]
    pub models: Vec<String>,
    /// Comma-separated encodings: onehot, path (skipped for spaces without one).
    #[arg(long, default_value = "onehot,path", value_delimiter = ',')]
    pub encodings: Vec<String>,
    /// Comma-separated numbers of training architectures.
    #[arg(long, default_value = "20,50,100,200", value_delimiter = ',')]
    pub train_sizes: Vec<usize>,
    /// Held-out architectures per seed.
    #[arg(long, default_value_t = 500)]
    pub test_size: usize,
    /// Number of random splits averaged.
    #[arg(long, default_value_t = 10)]
    pub seeds: u64,
    /// Fit on the normal quantiles of the training targets' ranks (as the model-based strategies do).
    #[arg(long)]
    pub copula: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProxiesArgs {
    /// The ground truth: a table with an `arch` column [default: $NASFORGE_NB201_TABLE or ../shared/benchmarks/nb201/nb201_test_accuracy.csv].
    #[arg(long)]
    pub table: Option<PathBuf>,
    /// The space of the table's architectures.
    #[arg(long, value_enum, default_value = "nb201")]
    pub space: SpaceKind,
    /// The ground-truth column [default: the table's first metric column].
    #[arg(long)]
    pub metric: Option<String>,
    /// Comma-separated proxies: synflow, naswot, snip, grad_norm, fisher, jacob_cov, zico, params, flops.
    #[arg(long, default_value = "synflow,params,flops")]
    pub proxies: String,
    /// Also rank by the mean rank of these proxies (comma-separated, at least two of --proxies).
    #[arg(long)]
    pub combine: Option<String>,
    /// Score a seeded sample of this many architectures [default: all of the table].
    #[arg(long, value_parser = at_least_one())]
    pub sample: Option<usize>,
    /// Seeds the sample, the networks' initialisation and the minibatch.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The dataset whose training images the data-dependent proxies see [default: none: data-free proxies
    /// only, on networks for 3×32×32 inputs and 10 classes, the NB201 benchmark's CIFAR shape].
    #[arg(long)]
    pub dataset: Option<String>,
    /// Directory of the dataset's files.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Images in the minibatch.
    #[arg(long, default_value_t = 64, value_parser = at_least_two())]
    pub batch_size: usize,
    /// Classes of the data-free networks' output (CIFAR-100: 100); with --dataset, the dataset's.
    #[arg(long, default_value_t = 10, value_parser = at_least_one())]
    pub classes: usize,
    /// Network width (nb201, darts: C; chain: stem channels) [default: the space's; nb201: 16, the benchmark's].
    #[arg(long, value_parser = at_least_one())]
    pub channels: Option<usize>,
    /// Cells (nb201: per stage; darts: in all) [default: the space's; nb201: 5].
    #[arg(long, value_parser = at_least_one())]
    pub cells: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Flags of the training evaluator (`search`, `study create`) and of final training (`train`). The defaults
/// are those of a new search; `train --study` starts from the study's settings instead.
#[derive(Debug, Clone, Args)]
pub struct TrainingArgs {
    /// Dataset: fashion-mnist, mnist, cifar10, cifar100, folder, synthetic [default: fashion-mnist; with
    /// `search`, naming one selects the training evaluator].
    #[arg(long)]
    pub dataset: Option<String>,
    /// Directory of the dataset's files [default for fashion-mnist: /usr/share/datasets/fashion-mnist;
    /// cifar10, cifar100 and folder need it].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Training epochs per network [default: the study's with --study, else 10].
    #[arg(long, allow_negative_numbers = true, value_parser = at_least_one())]
    pub epochs: Option<usize>,
    /// Share of the training data used, in (0, 1] [default: 1 for `train`, else the study's or 1].
    #[arg(long)]
    pub data_fraction: Option<f64>,
    /// Batch size [default: the study's with --study, else 128].
    #[arg(long, allow_negative_numbers = true, value_parser = at_least_one())]
    pub batch_size: Option<usize>,
    /// Peak learning rate [default: the study's with --study, else 0.05, SGD with Nesterov momentum and
    /// a cosine schedule].
    #[arg(long = "lr")]
    pub learning_rate: Option<f64>,
    /// Network width (nb201, darts: C; chain: stem channels) [default: the study's with --study, else the
    /// space's].
    #[arg(long, allow_negative_numbers = true, value_parser = at_least_one())]
    pub channels: Option<usize>,
    /// Cells (nb201: per stage; darts: in all) [default: the study's with --study, else the space's].
    #[arg(long, allow_negative_numbers = true, value_parser = at_least_one())]
    pub cells: Option<usize>,
    /// Input resolution (images resized) [default: the study's with --study, else the dataset's].
    #[arg(long, allow_negative_numbers = true, value_parser = at_least_one())]
    pub resolution: Option<usize>,
    /// Augment training batches (random crop with 4 pixels of padding, horizontal flips).
    #[arg(long)]
    pub augment: bool,
}

#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub chosen: ChosenArchArgs,
    #[command(flatten)]
    pub training: TrainingArgs,
    /// Where to train: cpu, cuda, cuda:N, wgpu.
    #[arg(long, default_value = "cpu", value_parser = DeviceChoice::parse)]
    pub device: DeviceChoice,
    /// Seed of the initial weights and data order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to save the trained weights (burn's record format) [default: nasforge-weights/ARCH-HASH.bpk].
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// The one-shot methods of `nasforge oneshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OneShotMethod {
    /// Single-path one-shot (Guo et al. 2020): the supernet trained on one uniformly drawn path per step,
    /// then --candidates cells scored with the weights they inherit.
    Spos,
    /// ENAS (Pham et al. 2018): the supernet trained on paths drawn from a REINFORCE controller, which learns
    /// after each epoch from --controller-steps cells rewarded with their accuracy on validation minibatches;
    /// then --candidates cells drawn from the controller scored with the weights they inherit.
    Enas,
    /// DARTS, first order (Liu et al. 2019): every operation weighted by softmax(α), α trained on
    /// validation batches; the strongest operation of each edge.
    Darts,
    /// GDAS (Dong & Yang 2019): one operation per edge drawn by Gumbel-softmax (temperature 10 → 0.1), α
    /// trained on validation batches; the strongest operation of each edge.
    Gdas,
}

#[derive(Debug, Clone, Args)]
pub struct OneshotArgs {
    #[arg(long, value_enum, default_value = "spos")]
    pub method: OneShotMethod,
    /// The space (only nb201 has a supernet so far).
    #[arg(long, value_enum, default_value = "nb201")]
    pub space: SpaceKind,
    /// The supernet's data, training and network (--channels, --cells).
    #[command(flatten)]
    pub training: TrainingArgs,
    /// Distinct architectures drawn (spos: uniformly; enas: from the controller) and scored with the weights
    /// they inherit.
    #[arg(long, default_value_t = 200, value_parser = at_least_one())]
    pub candidates: usize,
    /// Controller updates after each supernet epoch (enas).
    #[arg(long, default_value_t = EnasConfig::default().controller_steps, value_parser = at_least_one())]
    pub controller_steps: usize,
    /// Validation images of each controller update's reward minibatch (enas).
    #[arg(long, default_value_t = EnasConfig::default().reward_images, value_parser = at_least_one())]
    pub reward_images: usize,
    /// Adam's learning rate on the controller's logits (enas) [default: 7.2 / (epochs × controller steps),
    /// at which a choice can reach 0.9 over the second half of the search].
    #[arg(long)]
    pub controller_learning_rate: Option<f64>,
    /// Adam's learning rate on the architecture parameters α (darts, gdas; the paper's 3e-4).
    #[arg(long, default_value_t = DifferentiableConfig::PAPER_ARCH_LEARNING_RATE)]
    pub arch_learning_rate: f64,
    /// Validation images each candidate (spos) or the derived cell is scored on with inherited weights.
    #[arg(long, default_value_t = 2000, value_parser = at_least_one())]
    pub validation_images: usize,
    /// Training images each scored cell's batch-norm statistics are re-estimated on through its own path (0:
    /// each validation batch's own statistics).
    #[arg(long, default_value_t = 512)]
    pub recalibration_images: usize,
    /// Epochs of the chosen architecture's stand-alone training (on all training images) [default: 10].
    #[arg(long, value_parser = at_least_one())]
    pub final_epochs: Option<usize>,
    /// Width of the stand-alone network [default: the supernet's].
    #[arg(long, value_parser = at_least_one())]
    pub final_channels: Option<usize>,
    /// Cells per stage of the stand-alone network [default: the supernet's].
    #[arg(long, value_parser = at_least_one())]
    pub final_cells: Option<usize>,
    /// Where to train: cpu, cuda, cuda:N, wgpu.
    #[arg(long, default_value = "cpu", value_parser = DeviceChoice::parse)]
    pub device: DeviceChoice,
    /// Seed of the supernet, the candidates, the validation split and the final training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where the search keeps its state (the supernet's training after every epoch, the choice, the final
    /// training after every epoch), so that the same command continues a killed run; removed when the search
    /// ends. A directory holding another command's unfinished search is refused.
    #[arg(long, default_value = "nasforge-oneshot")]
    pub state: PathBuf,
    /// Keep no state: a killed search starts over.
    #[arg(long, conflicts_with = "state")]
    pub no_state: bool,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SupernetArgs {
    /// The space (only nb201 has a supernet so far).
    #[arg(long, value_enum, default_value = "nb201")]
    pub space: SpaceKind,
    /// The supernet's data, training and network (--channels, --cells).
    #[command(flatten)]
    pub training: TrainingArgs,
    /// The directory to write (supernet.json and weights.bpk); it must not hold a supernet already.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Where to train: cpu, cuda, cuda:N, wgpu.
    #[arg(long, default_value = "cpu", value_parser = DeviceChoice::parse)]
    pub device: DeviceChoice,
    /// Seed of the validation split, the initial weights and the paths.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the saved supernet's description as JSON instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DashboardArgs {
    /// The store whose studies to show (it must exist).
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The port to listen on (0: any free one; the address is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The address to bind. The default serves this machine only; 0.0.0.0 opens the (unauthenticated,
    /// read-only) dashboard to the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
}

/// The formats of `nasforge export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The space, the architecture in every form, the network's input, classes, scale, parameters and FLOPs.
    Json,
    /// A standalone Python file whose `build()` makes the network with PyTorch (same parameter count).
    Pytorch,
    /// An ONNX model (opset 17, batch axis free) with fresh weights or those of --weights; needs -o.
    Onnx,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub chosen: ChosenArchArgs,
    #[arg(long, value_enum, default_value = "json")]
    pub format: ExportFormat,
    /// The input, CHANNELSxSIZExSIZE [default: the study's data, else 3x32x32].
    #[arg(long, value_parser = parse_input)]
    pub input: Option<(usize, usize)>,
    /// The classifier's outputs [default: the study's data, else 10].
    #[arg(long, value_parser = at_least_one())]
    pub classes: Option<usize>,
    /// Network width (nb201, darts: C; chain: stem channels) [default: the study's, else the space's].
    #[arg(long, value_parser = at_least_one())]
    pub channels: Option<usize>,
    /// Cells (nb201: per stage; darts: in all) [default: the study's, else the space's].
    #[arg(long, value_parser = at_least_one())]
    pub cells: Option<usize>,
    /// The weights `nasforge train` saved for this architecture (same input, classes, --channels, --cells),
    /// for --format onnx [default: freshly initialised].
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// With --format onnx, also write burn's logits on a seeded input batch as JSON (`input_shape`, `input`,
    /// `logits`), to check a runtime against.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Where to write [default: standard output].
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// `CxHxW` with H = W, each at least 1: `3x32x32`.
fn parse_input(text: &str) -> Result<(usize, usize), String> {
    let parts: Vec<usize> = text
        .split(['x', 'X', '×'])
        .map(|part| part.trim().parse::<usize>().map_err(|_| format!("'{text}' is not CHANNELSxSIZExSIZE")))
        .collect::<Result<_, _>>()?;
    match parts[..] {
        [channels, height, width] if height == width && channels > 0 && height > 0 => Ok((channels, height)),
        [_, height, width] if height != width => Err(format!("'{text}': only square inputs ({height} ≠ {width})")),
        _ => Err(format!("'{text}' is not CHANNELSxSIZExSIZE with positive numbers (e.g. 3x32x32)")),
    }
}

#[derive(Debug, Clone, Args)]
pub struct CostArgs {
    /// The search, as `search` takes it (its budget: --trials, --time-budget; its --workers and --device).
    #[command(flatten)]
    pub search: SearchArgs,
    /// Calibrate from the stored study's own finished trials instead of timing new ones.
    #[arg(long)]
    pub from_study: bool,
    /// Trials timed here to calibrate, in a throw-away study in memory [default: twice the workers, at least 3].
    #[arg(long, value_parser = at_least_one())]
    pub calibration_trials: Option<usize>,
    /// Price of one device-hour (the machine's, or the GPU's).
    #[arg(long, default_value_t = 0.0)]
    pub price: f64,
    /// Power the device draws while it works, in watts (a measured figure of yours; the default is a
    /// typical desktop CPU package under load, not a measurement).
    #[arg(long, default_value_t = 65.0)]
    pub watts: f64,
}

/// The architecture a command works on: given, or a trial of a study (`train`, `export`).
#[derive(Debug, Clone, Args)]
pub struct ChosenArchArgs {
    /// The architecture: its string, a file holding its string or JSON, or `best` / a trial id of --study.
    #[arg(long)]
    pub arch: String,
    /// The search space of --arch [default: the study's, else nb201].
    #[arg(long, value_enum)]
    pub space: Option<SpaceKind>,
    /// A store whose study gives the architecture (`--arch best` or `--arch ID`) and its settings.
    #[arg(long)]
    pub storage: Option<String>,
    /// The study of --storage.
    #[arg(long)]
    pub study: Option<String>,
}

impl ChosenArchArgs {
    /// The study (storage URL, name) named, if any; `what` says what the command does with its architecture.
    pub fn study(&self, what: &str) -> anyhow::Result<Option<(String, String)>> {
        match (&self.storage, &self.study) {
            (Some(url), Some(name)) => Ok(Some((url.clone(), name.clone()))),
            (None, None) => Ok(None),
            _ => anyhow::bail!("--storage and --study go together (they name the study whose architecture is {what})"),
        }
    }
}
