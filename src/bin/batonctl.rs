//! batonctl: the command-line client of batond's control socket. Argument parsing and printing
//! only; requests and tables live in `baton::ctl`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use baton::ctl::{
    client, render, NeighborView, ReloadView, Request, RibView, StatusView, UpgradeView,
};
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
    /// Originate or withdraw routes at run time (kept across restarts and upgrades).
    Route {
        #[command(subcommand)]
        action: RouteAction,
    },
    /// Print a shell completion script (bash, zsh, fish, …) to standard output.
    #[command(
        after_help = "Example:\n  batonctl completions bash > /etc/bash_completion.d/batonctl"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Read the configuration file again and apply the difference: peers added, removed or
    /// changed (reset only when needed), routes advertised, withdrawn or updated; a new AS,
    /// router id or listen address restarts the speaker gracefully.
    #[command(
        after_help = "Examples:\n  batonctl reload --dry-run    print the plan, change nothing\n  batonctl reload"
    )]
    Reload {
        /// Print the plan only.
        #[arg(long)]
        dry_run: bool,
    },
    /// The daemon: supervisor and speaker pids, generation, version, crashes, last upgrade.
    Status,
    /// Replace the speaker without a route flap: start the new binary, hand it the listening
    /// sockets, let the old one go silently, wait for every peer to be back with End-of-RIB.
    Upgrade {
        /// The new binary (default: the path batond was started from, i.e. what a package
        /// upgrade installed).
        #[arg(long)]
        binary: Option<PathBuf>,
        /// Seconds allowed for the new speaker to be ready and every peer to be back.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
}

#[derive(Subcommand)]
enum RouteAction {
    /// `route add PREFIX [nexthop X] [community A:B,…] [large-community A:B:C,…] [med N]
    /// [local-pref N] [prepend N]`
    #[command(
        after_help = "Example:\n  batonctl route add 192.0.2.0/24 community 65001:100 med 10"
    )]
    Add {
        /// The prefix, e.g. 192.0.2.0/24.
        prefix: String,
        /// Attributes as keyword value pairs.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        attributes: Vec<String>,
    },
    /// `route del PREFIX…`: stop originating run-time routes.
    Del {
        /// The prefixes.
        #[arg(required = true)]
        prefixes: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(shell, &mut cmd, "batonctl", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let request = match &cli.command {
        Command::Neighbor => Request::Neighbors,
        Command::Rib { family, prefix } => Request::Rib {
            family: family.clone(),
            prefix: prefix.clone(),
        },
        Command::Route {
            action: RouteAction::Add { prefix, attributes },
        } => match baton::ctl::route_args::parse(prefix, attributes) {
            Ok(route) => Request::RouteAdd {
                routes: vec![route],
            },
            Err(e) => {
                eprintln!("batonctl: {e}");
                return ExitCode::from(2);
            }
        },
        Command::Route {
            action: RouteAction::Del { prefixes },
        } => Request::RouteDel {
            prefixes: prefixes.clone(),
        },
        Command::Status => Request::Status,
        Command::Reload { dry_run } => Request::Reload { dry_run: *dry_run },
        Command::Completions { .. } => unreachable!("answered above"),
        Command::Upgrade { binary, timeout } => Request::Upgrade {
            binary: binary.clone(),
            timeout_secs: *timeout,
        },
    };
    let wait = match &cli.command {
        Command::Upgrade { timeout, .. } => Duration::from_secs(timeout + 30),
        // A reload may restart the speaker (60 s, like an upgrade).
        Command::Reload { .. } => Duration::from_secs(120),
        _ => Duration::from_secs(30),
    };
    let value = match client::request(&cli.socket, &request, wait) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("batonctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    // An upgrade that did not bring every peer back is a failure, whatever the format.
    let failed = match cli.command {
        Command::Upgrade { .. } => value["ok"] != true,
        // A reload that needed a speaker restart which failed was not applied.
        Command::Reload { dry_run: false } => value["applied"] != true,
        _ => false,
    };
    let code = if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return code;
    }
    let text = match cli.command {
        Command::Neighbor => {
            serde_json::from_value::<Vec<NeighborView>>(value).map(|v| render::neighbors(&v))
        }
        Command::Rib { .. } => serde_json::from_value::<RibView>(value).map(|v| render::rib(&v)),
        Command::Status => serde_json::from_value::<StatusView>(value).map(|v| render::status(&v)),
        Command::Route { .. } | Command::Completions { .. } => Ok(format!("{value}\n")),
        Command::Upgrade { .. } => {
            serde_json::from_value::<UpgradeView>(value).map(|v| render::upgrade(&v))
        }
        Command::Reload { .. } => {
            serde_json::from_value::<ReloadView>(value).map(|v| render::reload(&v))
        }
    };
    match text {
        Ok(t) => {
            print!("{t}");
            code
        }
        Err(e) => {
            eprintln!("batonctl: unexpected reply: {e}");
            ExitCode::FAILURE
        }
    }
}
