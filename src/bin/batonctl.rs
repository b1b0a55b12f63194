//! batonctl: the command-line client of batond's control socket. Argument parsing and printing
//! only; requests and tables live in `baton::ctl`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use baton::ctl::{client, render, NeighborView, Request, RibView};
use clap::{Parser, Subcommand};

/// Talk to a running batond.
#[derive(Parser)]
#[command(version, about, long_about = None, after_help = "Examples:\n  batonctl neighbor\n  batonctl --json rib -a ipv6\n  batonctl rib 192.0.2.0/24")]
struct Cli {
    /// The daemon's control socket.
    #[arg(long, short, global = true, default_value = "./state/batond.sock")]
    socket: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long, short, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Peers: state, uptime, prefixes received/accepted/advertised per family.
    #[command(alias = "neighbors")]
    Neighbor,
    /// The Loc-RIB (and, with --json, every Adj-RIB-In).
    Rib {
        /// Address family: ipv4 or ipv6.
        #[arg(short = 'a', long = "address-family")]
        family: Option<String>,
        /// Only this prefix.
        prefix: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let request = match &cli.command {
        Command::Neighbor => Request::Neighbors,
        Command::Rib { family, prefix } => Request::Rib {
            family: family.clone(),
            prefix: prefix.clone(),
        },
    };
    let value = match client::request(&cli.socket, &request, Duration::from_secs(30)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("batonctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    let text = match cli.command {
        Command::Neighbor => {
            serde_json::from_value::<Vec<NeighborView>>(value).map(|v| render::neighbors(&v))
        }
        Command::Rib { .. } => serde_json::from_value::<RibView>(value).map(|v| render::rib(&v)),
    };
    match text {
        Ok(t) => {
            print!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("batonctl: unexpected reply: {e}");
            ExitCode::FAILURE
        }
    }
}
