//! The `nasforge` binary: parses the command line and hands each command to its module, each a thin layer
//! over the engine library (`nasforge-engine`).

mod cli;
mod compare;
mod cost;
mod dashboard;
mod export;
mod html_report;
mod latency;
mod oneshot;
mod predictors;
mod progress;
mod proxies;
mod report;
mod search;
mod supernet;
mod train;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    end_quietly_when_the_reader_goes_away();
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(cli.log_level.filter())
        .with_target(false)
        .init();
    nasforge_train::reuse_freed_memory();
    let result = match cli.command {
        cli::Command::Search(args) => search::search(&args),
        cli::Command::Study(cli::StudyCommand::Create(args)) => search::create(&args),
        cli::Command::Worker(args) => search::worker(&args),
        cli::Command::Trials(args) => report::trials(&args),
        cli::Command::Best(args) => report::best(&args),
        cli::Command::Pareto(args) => report::pareto(&args),
        cli::Command::Studies(args) => report::studies(&args),
        cli::Command::Report(args) => html_report::run(&args),
        cli::Command::Compare(args) => compare::run(&args),
        cli::Command::Predictors(args) => predictors::run(&args),
        cli::Command::Proxies(args) => proxies::run(&args),
        cli::Command::Train(args) => train::run(&args),
        cli::Command::Export(args) => export::run(&args),
        cli::Command::Cost(args) => cost::run(&args),
        cli::Command::Oneshot(args) => oneshot::run(&args),
        cli::Command::Supernet(args) => supernet::run(&args),
        cli::Command::Dashboard(args) => dashboard::run(&args),
        cli::Command::Latency(cli::LatencyCommand::Build(args)) => latency::build(&args),
        cli::Command::Latency(cli::LatencyCommand::Check(args)) => latency::check(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// As Unix tools do, ends the process when a pipe's reader is gone (`nasforge trials | head -5`) instead of
/// failing to print: Rust ignores SIGPIPE by default, and `println!` would then panic.
fn end_quietly_when_the_reader_goes_away() {
    #[cfg(unix)]
    // SAFETY: restoring a signal's default disposition at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
