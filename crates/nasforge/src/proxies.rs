//! `nasforge proxies`: how well zero-cost proxies rank the architectures of a table (Spearman ρ, Kendall τ
//! with its metric) and what each costs per network; the computation is the engine's [`rank_proxies`].

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;
use nasforge_core::space::TaskShape;
use nasforge_engine::config::default_nb201_table;
use nasforge_engine::{ProxyRanking, ProxyRankingRequest, SpaceTask, ZeroCostConfig, rank_proxies, with_space};
use nasforge_eval::Table;
use nasforge_train::zero_cost::Proxy;
use nasforge_train::{Buildable, DeviceChoice, NetworkScale};

use crate::cli::ProxiesArgs;
use crate::report::plain_table;

pub fn run(args: &ProxiesArgs) -> Result<ExitCode> {
    let table = args.table.clone().unwrap_or_else(default_nb201_table);
    let metric = match &args.metric {
        Some(metric) => metric.clone(),
        None => Table::metric_columns(&table)?.remove(0),
    };
    let zero_cost = ZeroCostConfig {
        proxies: Proxy::parse_list(&args.proxies).map_err(anyhow::Error::msg)?,
        dataset: args.dataset.clone(),
        data_dir: args.data_dir.clone(),
        batch_size: args.batch_size,
        scale: NetworkScale { channels: args.channels, cells: args.cells },
        task: TaskShape { classes: args.classes, ..TaskShape::CIFAR10 },
        ..ZeroCostConfig::default()
    };
    let combine = match &args.combine {
        Some(list) => Proxy::parse_list(list).map_err(anyhow::Error::msg)?,
        None => Vec::new(),
    };
    if combine.len() == 1 {
        anyhow::bail!("--combine needs at least two proxies");
    }
    let request = ProxyRankingRequest {
        table,
        metric,
        zero_cost,
        sample: args.sample,
        seed: args.seed,
        combine,
        device: DeviceChoice::Cpu,
    };
    let ranking = with_space(&args.space.default_config(), ProxiesRun { request })?;
    if args.json {
        println!("{}", serde_json::to_string(&ranking)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "table {}  metric {}  networks {}{}",
        ranking.table.display(),
        ranking.metric,
        ranking.networks,
        if ranking.unscorable > 0 {
            format!(" ({} unscorable, ranked last)", ranking.unscorable)
        } else {
            String::new()
        }
    );
    let mut text = plain_table();
    text.set_header(vec!["proxy", "spearman rho", "kendall tau", "ms per network"]);
    for p in &ranking.proxies {
        text.add_row(vec![
            p.name.clone(),
            format!("{:.3}", p.spearman),
            format!("{:.3}", p.kendall),
            format!("{:.2}", p.seconds_per_network * 1000.0),
        ]);
    }
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

struct ProxiesRun {
    request: ProxyRankingRequest,
}

impl SpaceTask for ProxiesRun {
    type Output = Result<ProxyRanking>;

    fn run<S: Buildable>(self, space: S) -> Result<ProxyRanking> {
        let terminal = std::io::stderr().is_terminal();
        let mut progress = |done: usize, total: usize| {
            if terminal && (done == total || done.is_multiple_of(10)) {
                eprint!("\rscored {done}/{total} networks");
                if done == total {
                    eprintln!();
                }
                let _ = std::io::stderr().flush();
            }
        };
        Ok(rank_proxies(&space, &self.request, &mut progress)?)
    }
}
