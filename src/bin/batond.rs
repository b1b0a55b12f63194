//! batond: the BGP speaker daemon. Argument parsing only; the work is in the library.
//!
//! `batond [--config FILE]` runs the supervisor, which starts `batond speaker` processes and
//! hands them the listening sockets. `batond speaker` without `--handoff-fd` runs one
//! standalone speaker process (no supervisor: for development).

use std::path::PathBuf;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};

/// The baton BGP speaker.
#[derive(Parser)]
#[command(name = "batond", version = baton::build_version!(), about, long_about = None)]
struct Cli {
    /// Configuration file (TOML). Without it, the embedded default config is used.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// Say whether this build can take over a running supervisor's state of this version
    /// (asked by the running supervisor before it re-executes itself from this binary).
    #[arg(long, hide = true, value_name = "VERSION")]
    reexec_check: Option<u32>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the supervisor and its speaker (the default).
    Run,
    /// Run a speaker process (started by the supervisor with --handoff-fd).
    Speaker {
        /// The handoff channel inherited from the supervisor.
        #[arg(long)]
        handoff_fd: Option<i32>,
    },
    /// Validate the configuration and exit: 0 if valid, 1 with file:line: field: reason if not.
    CheckConfig,
}

fn load(path: &Option<PathBuf>) -> baton::config::Config {
    or_exit(path.as_deref().map(baton::config::load))
}

/// What the supervisor holds: the configuration without its routes, which are checked here
/// (exit 1 with file:line: field: reason) but read by each speaker.
fn load_settings(path: &Option<PathBuf>) -> baton::config::Config {
    or_exit(path.as_deref().map(|path| {
        baton::config::load_settings(path)
            .and_then(|c| baton::config::check_routes_file(&c).map(|()| c))
    }))
}

/// The configuration loaded (the embedded default without a file), or exit 1 saying why.
fn or_exit(
    loaded: Option<Result<baton::config::Config, baton::config::ConfigError>>,
) -> baton::config::Config {
    loaded
        .unwrap_or_else(|| Ok(baton::config::Config::default_config()))
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1);
        })
}

fn main() -> anyhow::Result<()> {
    baton::version::set_build(baton::build_version!());
    let page = baton::manual::Extras {
        summary: "the baton BGP speaker daemon (supervisor and speaker)",
        files: baton::manual::PACKAGED_FILES,
        see_also: &["batonctl(8)", "systemctl(1)", "systemd.service(5)"],
    };
    if let Some(generated) = baton::manual::generate_if_asked(Cli::command, &page) {
        return Ok(generated?);
    }
    let cli = Cli::parse();
    if let Some(version) = cli.reexec_check {
        let answer = baton::supervisor::reexec_check(version);
        println!("{}", answer.as_ref().unwrap_or_else(|no| no));
        std::process::exit(if answer.is_ok() { 0 } else { 1 });
    }
    match cli.command.unwrap_or(Command::Run) {
        Command::CheckConfig => {
            load(&cli.config);
            println!("configuration is valid");
            Ok(())
        }
        Command::Run => {
            let config = load_settings(&cli.config);
            init_logging();
            baton::fds::raise_limit();
            let config_path = cli.config.map(std::path::absolute).transpose()?;
            // One thread: the supervisor re-executes itself from the thread that started its
            // speakers, which the kernel counts as their parent (PR_SET_PDEATHSIG).
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            runtime.block_on(baton::supervisor::run(config_path, config))?;
            Ok(())
        }
        Command::Speaker { handoff_fd: None } => {
            let config = load(&cli.config);
            init_logging();
            baton::fds::raise_limit();
            let config_path = cli.config.map(std::path::absolute).transpose()?;
            runtime()?.block_on(baton::speaker::run(config, config_path, None))?;
            Ok(())
        }
        Command::Speaker {
            handoff_fd: Some(fd),
        } => {
            // A speaker must not outlive its supervisor holding sockets unnoticed: die with it
            // (silently, so peers keep our routes while the supervisor is restarted).
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .context("PR_SET_PDEATHSIG")?;
            if nix::unistd::getppid() == nix::unistd::Pid::from_raw(1) {
                anyhow::bail!("the supervisor is already gone");
            }
            init_logging();
            baton::fds::raise_limit();
            runtime()?.block_on(baton::speaker::supervised::run(fd))?;
            Ok(())
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("starting the runtime")
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
