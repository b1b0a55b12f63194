//! baton itself under test: `batond --config FILE` in a host's namespace, `batonctl` against
//! its control socket.
//!
//! The caller writes the config (the schema belongs to the config module), using
//! [`Baton::paths`] for everything that must live in the test's directory:
//!
//! ```ignore
//! let p = Baton::paths(&host);
//! let baton = Baton::start(&host, &format!(
//!     "state_dir = \"{}\"\ncontrol_socket = \"{}\"\n…",
//!     p.state_dir.display(), p.control_socket.display()));
//! let peers = baton.ctl(&["neighbor"]);
//! ```
//!
//! batond logs with `RUST_LOG=debug` into `baton.log` (appended across restarts). Starting again
//! on the same host reuses the same directory, so the state survives, as it would on a machine.

use std::fs;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use super::netns::Host;
use super::poll;
use super::process::Daemon;

/// How long batond may take to open its control socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a baton instance keeps its files, inside the host's directory.
#[derive(Clone, Debug)]
pub struct BatonPaths {
    /// The instance's directory.
    pub dir: PathBuf,
    /// The config file `start` writes.
    pub config: PathBuf,
    /// Its state directory (created empty).
    pub state_dir: PathBuf,
    /// Its control socket.
    pub control_socket: PathBuf,
    /// Its log (stdout and stderr).
    pub log: PathBuf,
}

/// A batond (supervisor and its speakers) running in a host's namespace.
pub struct Baton {
    host: Host,
    paths: BatonPaths,
    daemon: Daemon,
}

impl Baton {
    /// The paths of the instance named "baton" on `host`, created if needed.
    pub fn paths(host: &Host) -> BatonPaths {
        Baton::paths_named(host, "baton")
    }

    /// The paths of instance `name` on `host` (for two batond in one namespace).
    pub fn paths_named(host: &Host, name: &str) -> BatonPaths {
        let dir = host.dir().join(name);
        let paths = BatonPaths {
            config: dir.join("baton.toml"),
            state_dir: dir.join("state"),
            control_socket: dir.join("control.sock"),
            log: dir.join("baton.log"),
            dir,
        };
        fs::create_dir_all(&paths.state_dir).expect("create baton's state directory");
        paths
    }

    /// Writes `config_toml`, starts batond and waits until its control socket accepts.
    pub fn start(host: &Host, config_toml: &str) -> Baton {
        let mut b = Baton::spawn(host, config_toml);
        b.wait_ready(START_TIMEOUT);
        b
    }

    /// Writes `config_toml` and starts batond without waiting: for tests of failed starts.
    pub fn spawn(host: &Host, config_toml: &str) -> Baton {
        Baton::spawn_at(host, Baton::paths(host), config_toml, &[])
    }

    /// Writes `config_toml` to `paths.config` and starts `batond --config FILE EXTRA…`.
    pub fn spawn_at(host: &Host, paths: BatonPaths, config_toml: &str, extra: &[&str]) -> Baton {
        fs::write(&paths.config, config_toml).expect("write baton's config");
        let mut cmd = host.command(env!("CARGO_BIN_EXE_batond"));
        cmd.arg("--config")
            .arg(&paths.config)
            .args(extra)
            .env("RUST_LOG", "debug");
        let daemon = Daemon::spawn(&format!("batond in {}", host.ns), cmd, &paths.log);
        Baton {
            host: host.clone(),
            paths,
            daemon,
        }
    }

    /// Waits until the control socket accepts a connection (panics if batond exits first).
    pub fn wait_ready(&mut self, deadline: Duration) {
        let label = self.daemon.label().to_string();
        let socket = self.paths.control_socket.clone();
        poll::until(
            deadline,
            &format!("{label} to accept on {}", socket.display()),
            || {
                self.daemon.assert_running("while starting");
                UnixStream::connect(&socket).ok().map(|_| ())
            },
        );
    }

    /// The host it runs on.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.paths.dir
    }

    /// All its paths.
    pub fn paths_of(&self) -> &BatonPaths {
        &self.paths
    }

    /// Runs `batonctl --socket SOCK ARGS` in the namespace, whatever its outcome.
    pub fn ctl_output(&self, args: &[&str]) -> Output {
        self.host
            .command(env!("CARGO_BIN_EXE_batonctl"))
            .arg("--socket")
            .arg(&self.paths.control_socket)
            .args(args)
            .output()
            .expect("run batonctl")
    }

    /// Runs `batonctl --socket SOCK ARGS --json` and parses its answer; panics (with baton's
    /// log tail) if it fails or does not print JSON.
    pub fn ctl(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ctl_output(&all);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            self.dump_logs();
            panic!(
                "batonctl {all:?} failed ({}): {}{stdout}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("batonctl {all:?}: not JSON ({e}): {stdout}"))
    }
}

/// The `[global]` table for an instance at `paths`: listening on port 179 of every address in
/// `listen`. Tests append their own `[[peer]]` and `[[route]]` tables.
pub fn global_toml(paths: &BatonPaths, asn: u32, router_id: &str, listen: &[String]) -> String {
    let listen: Vec<String> = listen.iter().map(|l| format!("{l:?}")).collect();
    format!(
        "[global]\nasn = {asn}\nrouter_id = \"{router_id}\"\nlisten = [{}]\nstate_dir = \"{}\"\ncontrol_socket = \"{}\"\n\n",
        listen.join(", "),
        paths.state_dir.display(),
        paths.control_socket.display()
    )
}

/// The `[global]` table of [`global_toml`] for an instance on `host`: its IPv4 address as
/// router id, listening on port 179 of its IPv4 and IPv6 addresses.
pub fn global_toml_on(paths: &BatonPaths, host: &Host, asn: u32) -> String {
    global_toml(
        paths,
        asn,
        &host.ipv4.to_string(),
        &[format!("{}:179", host.ipv4), format!("[{}]:179", host.ipv6)],
    )
}

/// A `[[peer]]` table: one family, fast reconnects, plus `extra` lines.
pub fn peer_toml(address: std::net::IpAddr, remote_as: u32, family: &str, extra: &str) -> String {
    format!(
        "[[peer]]\naddress = \"{address}\"\nremote_as = {remote_as}\nfamilies = [\"{family}\"]\nconnect_retry = 1\n{extra}\n"
    )
}

impl Baton {
    /// `batonctl neighbor` for one peer.
    pub fn neighbor(&self, address: std::net::IpAddr) -> Value {
        let all = self.ctl(&["neighbor"]);
        all.as_array()
            .expect("neighbor list")
            .iter()
            .find(|n| n["address"] == address.to_string())
            .cloned()
            .unwrap_or_else(|| panic!("no neighbor {address} in {all}"))
    }

    /// Waits until our session with `address` is Established.
    pub fn wait_established(&self, address: std::net::IpAddr, deadline: Duration) {
        poll::until_true(deadline, &format!("baton's session with {address}"), || {
            self.neighbor(address)["state"] == "Established"
        });
    }

    /// Our Adj-RIB-In route for `prefix` from `peer`, if held.
    pub fn adj_in_route(&self, peer: std::net::IpAddr, prefix: &str) -> Option<Value> {
        let rib = self.ctl(&["rib"]);
        rib["adj_rib_in"]
            .as_array()?
            .iter()
            .find(|a| a["peer"] == peer.to_string())?["routes"]
            .as_array()?
            .iter()
            .find(|r| r["prefix"] == prefix)
            .cloned()
    }

    /// Our Loc-RIB best route for `prefix`, if any.
    pub fn best_route(&self, prefix: &str) -> Option<Value> {
        let rib = self.ctl(&["rib"]);
        rib["loc_rib"]
            .as_array()?
            .iter()
            .find(|r| r["prefix"] == prefix && r["best"] == true)
            .cloned()
    }
}

/// The process: `pid()`, `stop()` (SIGTERM and wait), `kill()` (SIGKILL and wait), `log()`,
/// `dump_logs()`.
impl std::ops::Deref for Baton {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.daemon
    }
}

impl std::ops::DerefMut for Baton {
    fn deref_mut(&mut self) -> &mut Daemon {
        &mut self.daemon
    }
}
