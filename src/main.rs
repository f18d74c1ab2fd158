//! `sluice`: parse the command line, load the config, set up logging, start
//! the broker, wait for SIGTERM or Ctrl-C, shut down cleanly.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice::broker::Broker;
use sluice::config::BrokerConfig;
use sluice::huge_alloc::HugeAllocGuard;
use sluice::malloc_tuning;
use sluice::tools::consumer_groups::{self, ConsumerGroupsArgs};
use sluice::tools::{admin_client, configs, leader_election, reassign_partitions, topics};

/// Huge blocks are mapped lazily so a request claiming an absurd array length
/// cannot abort the process (see `huge_alloc`).
#[global_allocator]
static ALLOCATOR: HugeAllocGuard = HugeAllocGuard;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "A Kafka-compatible message broker in ZooKeeper mode"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a broker from a Kafka server.properties file (like kafka-server-start.sh).
    Broker {
        /// Path to server.properties.
        config: PathBuf,
        /// Override a property: --override key=value (repeatable).
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// List, describe, delete consumer groups and reset their offsets
    /// (like kafka-consumer-groups.sh).
    ConsumerGroups(ConsumerGroupsArgs),
    /// Create, list, describe, alter and delete topics (like kafka-topics.sh).
    Topics(topics::TopicsArgs),
    /// Describe and change topic and broker configs (like kafka-configs.sh).
    Configs(configs::ConfigsArgs),
    /// Move partition replicas between brokers (like kafka-reassign-partitions.sh).
    ReassignPartitions(reassign_partitions::ReassignPartitionsArgs),
    /// Elect preferred or unclean leaders (like kafka-leader-election.sh).
    LeaderElection(leader_election::LeaderElectionArgs),
}

fn main() -> ExitCode {
    // Like Kafka's tools: a bad flag prints the reason and exits with 1.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::Broker { config, overrides } => run_broker(config, overrides),
        Command::ConsumerGroups(args) => run_consumer_groups(&args),
        Command::Topics(args) => {
            admin_client::exit_code(topics::run(&args, &mut std::io::stdout().lock()), "topic")
        }
        Command::Configs(args) => {
            admin_client::exit_code(configs::run(&args, &mut std::io::stdout().lock()), "config")
        }
        Command::ReassignPartitions(args) => admin_client::exit_code(
            reassign_partitions::run(&args, &mut std::io::stdout().lock()),
            "reassign-partitions",
        ),
        Command::LeaderElection(args) => admin_client::exit_code(
            leader_election::run(&args, &mut std::io::stdout().lock()),
            "leader-election",
        ),
    }
}

fn run_consumer_groups(args: &ConsumerGroupsArgs) -> ExitCode {
    let outcome = args
        .action()
        .and_then(|action| consumer_groups::run(&args.bootstrap_server, action));
    match outcome {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_broker(path: PathBuf, overrides: Vec<String>) -> ExitCode {
    let config = match BrokerConfig::load(&path, &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sluice: configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Before the runtime's threads exist: they take arenas as they start.
    malloc_tuning::tune();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sluice: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Listen before starting: a SIGTERM that arrives while the broker
        // starts (it is registered, and a supervisor may already stop it)
        // is kept and shuts it down cleanly once started, instead of
        // killing it with the default action.
        let signals = ShutdownSignals::listen();
        let broker = match Broker::start(config).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("start-up failed: {e}");
                eprintln!("sluice: {e}");
                return ExitCode::FAILURE;
            }
        };
        signals.received().await;
        match broker.shutdown().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("shutdown failed: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// SIGTERM and SIGINT, listened for from the moment it is made.
struct ShutdownSignals {
    term: Option<tokio::signal::unix::Signal>,
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    fn listen() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("cannot listen for {name}: {e}");
                None
            }
        };
        ShutdownSignals {
            term: listen(SignalKind::terminate(), "SIGTERM"),
            interrupt: listen(SignalKind::interrupt(), "SIGINT"),
        }
    }

    /// Returns once either has arrived (at once if one already has).
    async fn received(mut self) {
        async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = next(&mut self.term) => tracing::info!("SIGTERM received"),
            _ = next(&mut self.interrupt) => tracing::info!("interrupt received"),
        }
    }
}
