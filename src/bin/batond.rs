//! batond: the BGP speaker daemon. Argument parsing only; the work is in the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// The baton BGP speaker.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Configuration file (TOML). Without it, the embedded default config is used.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the speaker (the default).
    Run,
    /// Validate the configuration and exit: 0 if valid, 1 with file:line: field: reason if not.
    CheckConfig,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = match &cli.config {
        Some(path) => baton::config::load(path),
        None => Ok(baton::config::Config::default_config()),
    };
    match cli.command.unwrap_or(Command::Run) {
        Command::CheckConfig => match config {
            Ok(_) => {
                println!("configuration is valid");
                Ok(())
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        },
        Command::Run => {
            let config = match config {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            };
            init_logging();
            let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
            runtime.block_on(baton::speaker::run(config, None))?;
            Ok(())
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
