//! batonctl: the command-line client of batond's control socket. Argument parsing and printing
//! only; requests, the words of `route add` and `neighbor add`, and the tables live in
//! `baton::ctl`.
//!
//! Exit status: 0 done, 1 the daemon refused or could not be reached, 2 the command line is
//! wrong (clap's own code for usage errors).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use baton::ctl::{client, neighbor_args, render, route_args, Request, UpgradeEvent};
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};

/// Talk to a running batond.
#[derive(Parser)]
#[command(name = "batonctl", version = baton::build_version!(), about, long_about = None, after_help = "Examples:
  batonctl neighbor
  batonctl neighbor 198.18.0.2
  batonctl neighbor 198.18.0.2 adj-in -a ipv4
  batonctl neighbor add 198.18.0.9 as 65009
  batonctl --json rib -a ipv6
  batonctl route add 192.0.2.0/24 community 65001:100

Exit status: 0 done, 1 refused by batond or batond unreachable, 2 bad command line.")]
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
    /// Peers: the list, one in detail, its routes in and out; add, del, enable, disable, reset.
    #[command(
        alias = "neighbors",
        after_help = "Examples:
  batonctl neighbor                          every neighbor: state, uptime, routes
  batonctl neighbor 198.18.0.2               one in detail
  batonctl neighbor 198.18.0.2 adj-in        the routes it sent us
  batonctl neighbor 198.18.0.2 adj-out -a ipv6
  batonctl neighbor add 198.18.0.9 as 65009 passive
  batonctl neighbor reset 198.18.0.2 --soft"
    )]
    Neighbor(NeighborArgs),
    /// The Loc-RIB (and, with --json, every Adj-RIB-In).
    #[command(
        after_help = "Examples:\n  batonctl rib\n  batonctl rib 198.19.0.0/24\n  batonctl --json rib -a ipv6"
    )]
    Rib(RibFilter),
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
    #[command(after_help = "Examples:\n  batonctl status\n  batonctl --json status")]
    Status,
    /// The speaker's Prometheus metrics, in the text exposition format (as served on the REST
    /// API's /metrics).
    #[command(
        after_help = "Examples:\n  batonctl metrics\n  batonctl metrics | grep baton_peer_session_state"
    )]
    Metrics,
    /// The kernel routes: what baton installs, what the kernel holds under baton's protocol
    /// in its table, and where they differ (missing, unexpected, differing).
    #[command(after_help = "Examples:\n  batonctl fib\n  batonctl --json fib")]
    Fib,
    /// Replace the speaker without a route flap: start the new binary, hand it the listening
    /// sockets, let the old one go silently, wait for every peer to be back with End-of-RIB.
    /// Each step is printed as it happens (with --json: one JSON object per line, the report
    /// last).
    #[command(
        after_help = "Examples:\n  batonctl upgrade\n  batonctl upgrade --binary /usr/sbin/batond.new --timeout 120\n  batonctl upgrade --rolling /run/a/batond.sock /run/b/batond.sock --settle 30\n  batonctl upgrade --rolling ssh://ops@edge1 ssh://ops@edge2:2222/run/baton/batond.sock --dry-run\n\nExits 1 if not every peer came back (with --rolling: if a target was not upgraded)."
    )]
    Upgrade {
        /// The new binary (default: the path batond was started from, i.e. what a package
        /// upgrade installed). With --rolling, for every target.
        #[arg(long)]
        binary: Option<PathBuf>,
        /// Seconds allowed for the new speaker to be ready and every peer to be back.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        #[command(flatten)]
        rolling: RollingArgs,
    },
}

/// `upgrade --rolling TARGET…`: one instance after the other.
#[derive(Args)]
struct RollingArgs {
    /// Upgrade these instances one after the other, each healthy and settled before the
    /// next: control socket paths or ssh://[user@]host[:port][/socket] (runs batonctl there
    /// through ssh, BatchMode=yes). --socket is ignored.
    #[arg(long, num_args = 1.., value_name = "TARGET")]
    rolling: Vec<String>,
    /// Seconds each peer of an upgraded target may take to be Established with End-of-RIB
    /// sent and received; past it the target failed.
    #[arg(long, default_value_t = 120, requires = "rolling")]
    peer_timeout: u64,
    /// Seconds to wait after a target is healthy before the next.
    #[arg(long, default_value_t = 10, requires = "rolling")]
    settle: u64,
    /// Targets upgrading at once.
    #[arg(long, default_value_t = 1, requires = "rolling", value_parser = clap::value_parser!(u64).range(1..))]
    max_unavailable: u64,
    /// Print the plan (targets in order, the command each gets); change nothing.
    #[arg(long, requires = "rolling")]
    dry_run: bool,
    /// Go on with the next targets after a failure (default: stop at the first).
    #[arg(long, requires = "rolling")]
    continue_on_error: bool,
    /// The batonctl to run on ssh:// targets.
    #[arg(long, default_value = "batonctl", requires = "rolling")]
    remote_batonctl: String,
    /// An option for ssh (`ssh -o OPTION`), e.g. IdentityFile=/etc/baton/id_ed25519;
    /// repeatable.
    #[arg(long, value_name = "OPTION", requires = "rolling")]
    ssh_option: Vec<String>,
}

/// `neighbor [ADDR [adj-in|adj-out …]]` or `neighbor add|del|enable|disable|reset ADDR …`.
#[derive(Args)]
struct NeighborArgs {
    /// Show this neighbor in detail (with adj-in or adj-out: its routes).
    address: Option<IpAddr>,
    #[command(subcommand)]
    action: Option<NeighborAction>,
}

#[derive(Subcommand)]
enum NeighborAction {
    /// The routes the neighbor sent us (its Adj-RIB-In).
    ///
    /// `neighbor ADDR adj-in [PREFIX] [-a ipv4|ipv6]`
    #[command(
        after_help = "Examples:\n  batonctl neighbor 198.18.0.2 adj-in\n  batonctl neighbor 198.18.0.2 adj-in 198.18.100.0/24\n  batonctl neighbor 2001:db8::2 adj-in -a ipv6"
    )]
    AdjIn(RibFilter),
    /// The routes we send the neighbor (its Adj-RIB-Out).
    ///
    /// `neighbor ADDR adj-out [PREFIX] [-a ipv4|ipv6]`
    #[command(
        after_help = "Examples:\n  batonctl neighbor 198.18.0.2 adj-out\n  batonctl --json neighbor 198.18.0.2 adj-out -a ipv4"
    )]
    AdjOut(RibFilter),
    /// Add a neighbor at run time (kept across restarts and upgrades).
    ///
    /// `neighbor add ADDR as N [port P] [passive] [hold-time S] [connect-retry S]
    /// [local-address X] [family ipv4|ipv6,…] [description TEXT]`, checked like a `[[peer]]`
    /// table of the configuration.
    #[command(
        after_help = "Examples:\n  batonctl neighbor add 198.18.0.9 as 65009\n  batonctl neighbor add 2001:db8::9 as 65009 passive hold-time 30 family ipv6,ipv4\n  batonctl neighbor add 198.18.0.9 as 65009 local-address 198.18.0.1 description \"transit B\""
    )]
    Add {
        /// The neighbor's address.
        address: String,
        /// Settings as keyword value pairs (`passive` alone).
        settings: Vec<String>,
    },
    /// Delete a neighbor added at run time (Cease / Peer De-configured).
    ///
    /// `neighbor del ADDR`. Neighbors of the configuration file are deleted there (then
    /// `batonctl reload`).
    #[command(after_help = "Example:\n  batonctl neighbor del 198.18.0.9")]
    Del {
        /// The neighbor's address.
        address: IpAddr,
    },
    /// Start a disabled neighbor's session again.
    ///
    /// `neighbor enable ADDR`
    #[command(after_help = "Example:\n  batonctl neighbor enable 198.18.0.2")]
    Enable {
        /// The neighbor's address.
        address: IpAddr,
    },
    /// Close a neighbor's session and keep it down, across restarts too, until enabled.
    ///
    /// `neighbor disable ADDR`: Cease / Administrative Shutdown.
    #[command(after_help = "Example:\n  batonctl neighbor disable 198.18.0.2")]
    Disable {
        /// The neighbor's address.
        address: IpAddr,
    },
    /// Reset a neighbor's session: hard (a new session) or soft (ROUTE-REFRESH).
    ///
    /// `neighbor reset ADDR [--soft]`: close the session with Cease / Administrative Reset and
    /// start a new one; with --soft, keep it, ask the neighbor for its routes again
    /// (ROUTE-REFRESH) and send ours again.
    #[command(
        after_help = "Examples:\n  batonctl neighbor reset 198.18.0.2\n  batonctl neighbor reset 198.18.0.2 --soft"
    )]
    Reset {
        /// The neighbor's address.
        address: IpAddr,
        /// Soft reset: ROUTE-REFRESH, and our routes sent again; the session stays up.
        #[arg(long)]
        soft: bool,
    },
}

/// `[PREFIX] [-a ipv4|ipv6]`.
#[derive(Args)]
struct RibFilter {
    /// Address family: ipv4 or ipv6.
    #[arg(short = 'a', long = "address-family")]
    family: Option<String>,
    /// Only this prefix.
    prefix: Option<String>,
}

#[derive(Subcommand)]
enum RouteAction {
    /// Originate a route (kept across restarts and upgrades).
    ///
    /// `route add PREFIX [nexthop X] [community A:B,…] [large-community A:B:C,…] [med N]
    /// [local-pref N] [prepend N]`
    #[command(
        after_help = "Example:\n  batonctl route add 192.0.2.0/24 community 65001:100 med 10"
    )]
    Add {
        /// The prefix, e.g. 192.0.2.0/24.
        prefix: String,
        /// Attributes as keyword value pairs.
        attributes: Vec<String>,
    },
    /// Stop originating routes added at run time.
    ///
    /// `route del PREFIX…`
    #[command(after_help = "Example:\n  batonctl route del 192.0.2.0/24 198.51.100.0/24")]
    Del {
        /// The prefixes.
        #[arg(required = true)]
        prefixes: Vec<String>,
    },
}

/// A command line that clap took but that asks for nothing sensible: the subcommand to show
/// the usage of, and what is wrong.
type Usage = (&'static [&'static str], String);

/// The request a command line asks for.
fn request(command: Command) -> Result<Request, Usage> {
    Ok(match command {
        Command::Neighbor(n) => neighbor_request(n)?,
        Command::Rib(RibFilter { family, prefix }) => Request::Rib { family, prefix },
        Command::Route {
            action: RouteAction::Add { prefix, attributes },
        } => Request::RouteAdd {
            routes: vec![
                route_args::parse(&prefix, &attributes).map_err(|e| (&["route", "add"][..], e))?
            ],
        },
        Command::Route {
            action: RouteAction::Del { prefixes },
        } => Request::RouteDel { prefixes },
        Command::Status => Request::Status,
        Command::Metrics => Request::Metrics,
        Command::Fib => Request::Fib,
        Command::Reload { dry_run } => Request::Reload { dry_run },
        Command::Upgrade {
            binary, timeout, ..
        } => Request::Upgrade {
            binary,
            timeout_secs: timeout,
            events: true,
        },
        Command::Completions { .. } => unreachable!("answered without the daemon"),
    })
}

fn neighbor_request(n: NeighborArgs) -> Result<Request, Usage> {
    use NeighborAction as A;
    let usage = |message: &str| (&["neighbor"][..], message.to_string());
    Ok(match (n.address, n.action) {
        (None, None) => Request::Neighbors,
        (Some(address), None) => Request::Neighbor { address },
        (Some(address), Some(A::AdjIn(RibFilter { family, prefix }))) => Request::AdjIn {
            address,
            family,
            prefix,
        },
        (Some(address), Some(A::AdjOut(RibFilter { family, prefix }))) => Request::AdjOut {
            address,
            family,
            prefix,
        },
        (None, Some(A::AdjIn(_) | A::AdjOut(_))) => {
            return Err(usage(
                "adj-in and adj-out need the neighbor: neighbor ADDR adj-in",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(usage(
                "the address goes after the verb: neighbor add|del|enable|disable|reset ADDR",
            ))
        }
        (None, Some(A::Add { address, settings })) => Request::NeighborAdd {
            peer: Box::new(
                neighbor_args::parse(&address, &settings)
                    .map_err(|e| (&["neighbor", "add"][..], e))?,
            ),
        },
        (None, Some(A::Del { address })) => Request::NeighborDel { address },
        (None, Some(A::Enable { address })) => Request::NeighborEnable { address },
        (None, Some(A::Disable { address })) => Request::NeighborDisable { address },
        (None, Some(A::Reset { address, soft })) => Request::NeighborReset { address, soft },
    })
}

/// Say what is wrong with the command line, with the usage of subcommand `path`, and exit 2,
/// as clap does for the errors it finds itself.
fn usage_error(path: &[&str], message: String) -> ! {
    let mut cli = Cli::command();
    cli.build();
    let mut cmd = &mut cli;
    for name in path {
        cmd = cmd
            .find_subcommand_mut(name)
            .expect("a subcommand of batonctl");
    }
    cmd.error(ErrorKind::ValueValidation, message).exit()
}

/// One step of an upgrade, printed as it arrives.
fn print_event(event: Result<UpgradeEvent, serde_json::Value>, json: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(render::event_output(&event, json).as_bytes());
    let _ = out.flush();
}

fn main() -> ExitCode {
    baton::version::set_build(baton::build_version!());
    let page = baton::manual::Extras {
        summary: "control batond, the baton BGP speaker",
        files: baton::manual::PACKAGED_FILES,
        see_also: &["batond(8)", "systemctl(1)"],
    };
    match baton::manual::generate_if_asked(Cli::command, &page) {
        Some(Ok(())) => return ExitCode::SUCCESS,
        Some(Err(e)) => {
            eprintln!("batonctl: {e}");
            return ExitCode::FAILURE;
        }
        None => {}
    }
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        baton::manual::write_completions(shell, Cli::command(), &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    if let Command::Upgrade {
        binary,
        timeout,
        rolling,
    } = &cli.command
    {
        if !rolling.rolling.is_empty() {
            return rolling_upgrade(binary.clone(), *timeout, rolling, cli.json);
        }
    }
    let wait = match &cli.command {
        Command::Upgrade { timeout, .. } => Duration::from_secs(timeout + 30),
        // A reload may restart the speaker (60 s, like an upgrade).
        Command::Reload { .. } => Duration::from_secs(120),
        _ => Duration::from_secs(30),
    };
    let request = match request(cli.command) {
        Ok(r) => r,
        Err((path, message)) => usage_error(path, message),
    };
    let json = cli.json;
    let value =
        match client::request_with_events(&cli.socket, &request, wait, |e| print_event(e, json)) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("batonctl: {e}");
                return ExitCode::FAILURE;
            }
        };
    // An upgrade that did not bring every peer back, or a reload whose speaker restart failed
    // (so it was not applied), is a failure, whatever the format.
    let failed = match &request {
        Request::Upgrade { .. } => value["ok"] != true,
        Request::Reload { dry_run: false } => value["applied"] != true,
        _ => false,
    };
    match render::output(&request, value, json) {
        Ok(text) => {
            print!("{text}");
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("batonctl: unexpected reply: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `upgrade --rolling TARGET…`: the plan with --dry-run, else the roll and its report.
fn rolling_upgrade(
    binary: Option<PathBuf>,
    timeout: u64,
    args: &RollingArgs,
    json: bool,
) -> ExitCode {
    use baton::ctl::rolling::{self, driver, Target};
    use std::io::Write;
    let targets: Vec<Target> = match args.rolling.iter().map(|t| Target::parse(t)).collect() {
        Ok(t) => t,
        Err(e) => usage_error(&["upgrade"], e.to_string()),
    };
    let options = rolling::Options {
        binary,
        timeout_secs: timeout,
        peer_timeout_secs: args.peer_timeout,
        settle_secs: args.settle,
        max_unavailable: usize::try_from(args.max_unavailable).unwrap_or(usize::MAX),
        continue_on_error: args.continue_on_error,
        remote_batonctl: args.remote_batonctl.clone(),
        ssh_options: args.ssh_option.clone(),
    };
    if args.dry_run {
        print!("{}", rolling::plan(&targets, &options));
        return ExitCode::SUCCESS;
    }
    let report = driver::run(&targets, &options, json, |line| {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    });
    if json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        print!("{}", rolling::render(&report));
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
