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
use std::os::unix::fs::DirBuilderExt;
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
    /// Its state directory (created empty, mode 0700).
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
        // Private, as batond advises (it warns about a state directory others can read).
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&paths.state_dir)
            .expect("create baton's state directory");
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
        Baton::spawn_with_env(host, paths, config_toml, extra, &[])
    }

    /// [`spawn_at`](Self::spawn_at) with these environment variables set for batond.
    pub fn spawn_with_env(
        host: &Host,
        paths: BatonPaths,
        config_toml: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Baton {
        let mut cmd = host.command(env!("CARGO_BIN_EXE_batond"));
        cmd.envs(env.iter().copied());
        Baton::spawn_cmd(host, paths, config_toml, extra, cmd)
    }

    /// Like [`Baton::start`], batond started from `program` (e.g. a symlink standing for the
    /// installed binary, which a plain `batonctl upgrade` starts again, whatever it then
    /// points at).
    pub fn start_from(host: &Host, program: &Path, config_toml: &str) -> Baton {
        let cmd = host.command(program.to_str().expect("a UTF-8 path"));
        let mut b = Baton::spawn_cmd(host, Baton::paths(host), config_toml, &[], cmd);
        b.wait_ready(START_TIMEOUT);
        b
    }

    /// Starts `binary --config FILE` (an installed copy of batond, which a test replaces as a
    /// package upgrade does) and waits until its control socket accepts.
    pub fn start_binary(host: &Host, paths: BatonPaths, config_toml: &str, binary: &Path) -> Baton {
        let cmd = host.command(binary.to_str().expect("a UTF-8 path"));
        let mut b = Baton::spawn_cmd(host, paths, config_toml, &[], cmd);
        b.wait_ready(START_TIMEOUT);
        b
    }

    /// Like [`Baton::start`], with batond's `RLIMIT_NOFILE` set to `nofile`, soft and hard
    /// (through `prlimit`, which execs it): a daemon that cannot raise its descriptor limit.
    pub fn start_with_fd_limit(host: &Host, config_toml: &str, nofile: u64) -> Baton {
        let mut cmd = host.command("prlimit");
        cmd.arg(format!("--nofile={nofile}:{nofile}"))
            .arg(env!("CARGO_BIN_EXE_batond"));
        let mut b = Baton::spawn_cmd(host, Baton::paths(host), config_toml, &[], cmd);
        b.wait_ready(START_TIMEOUT);
        b
    }

    /// Writes `config_toml` to `paths.config` and starts `cmd --config FILE EXTRA…`.
    fn spawn_cmd(
        host: &Host,
        paths: BatonPaths,
        config_toml: &str,
        extra: &[&str],
        mut cmd: std::process::Command,
    ) -> Baton {
        fs::write(&paths.config, config_toml).expect("write baton's config");
        // Owner only, as batond requires of a config holding a TCP-MD5 password.
        fs::set_permissions(
            &paths.config,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("make baton's config private");
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

/// What `batonctl upgrade … --json` printed: its steps as they came (one JSON object per line),
/// then its report (the last line).
#[derive(Debug)]
pub struct UpgradeRun {
    /// batonctl exited 0.
    pub ok: bool,
    /// Every step, in order.
    pub events: Vec<Value>,
    /// The report (`Null` if batonctl printed none).
    pub report: Value,
    /// Everything printed, stdout then stderr, for messages.
    pub output: String,
}

impl UpgradeRun {
    /// The steps named `event` (`"progress"`, `"done"`, …).
    pub fn steps(&self, event: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["event"] == event).collect()
    }
}

impl Baton {
    /// Runs `batonctl upgrade ARGS --json` and splits what it printed.
    pub fn upgrade(&self, args: &[&str]) -> UpgradeRun {
        let mut all = vec!["upgrade"];
        all.extend_from_slice(args);
        all.push("--json");
        let out = self.ctl_output(&all);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let mut lines: Vec<Value> = stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("batonctl upgrade: a line is not JSON ({e}): {l}"))
            })
            .collect();
        let report = match lines.last() {
            Some(last) if last.get("event").is_none() => lines.pop().unwrap_or_default(),
            _ => Value::Null,
        };
        UpgradeRun {
            ok: out.status.success(),
            events: lines,
            report,
            output: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
        }
    }
}

/// A second build of batond in `dir`: the same program with bytes appended, so its fingerprint
/// (and the version it reports) differs while it behaves the same.
pub fn second_build(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("batond-next");
    let mut bytes = fs::read(env!("CARGO_BIN_EXE_batond")).expect("read batond");
    bytes.extend_from_slice(b"\nbaton test build 2\n");
    fs::write(&path, bytes).expect("write the second build");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("make it executable");
    path
}

/// A copy of batond at `dir/installed/batond`, as a package would install it.
pub fn installed_copy(dir: &Path) -> PathBuf {
    let installed = dir.join("installed");
    fs::create_dir_all(&installed).expect("create the install directory");
    let path = installed.join("batond");
    fs::copy(env!("CARGO_BIN_EXE_batond"), &path).expect("install batond");
    path
}

/// Puts `new` in place of `installed` the way a package manager does: a rename, so the running
/// process keeps its (now deleted) file and the path names the new one.
pub fn replace_binary(new: &Path, installed: &Path) {
    fs::rename(new, installed).expect("replace the installed binary");
}

/// An executable shell script `name` in `dir` (a stand-in for a broken batond).
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write the script");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("make it executable");
    path
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

/// The `[global]` table of the instance named "baton" on `host`: AS `asn`, the host's IPv4
/// address as router id, listening on its port 179.
pub fn host_global_toml(host: &Host, asn: u32) -> String {
    host_global_toml_at(&Baton::paths(host), asn, host)
}

/// The `[global]` table for an instance at `paths` on `host`: AS `asn`, the host's IPv4
/// address as router id, listening on its port 179.
pub fn host_global_toml_at(paths: &BatonPaths, asn: u32, host: &Host) -> String {
    global_toml(
        paths,
        asn,
        &host.ipv4.to_string(),
        &[format!("{}:179", host.ipv4)],
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

    /// Every WARN and ERROR line of its log so far (tracing's format: the level is the word
    /// after the timestamp).
    pub fn warnings(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| matches!(l.split_whitespace().nth(1), Some("WARN" | "ERROR")))
            .map(String::from)
            .collect()
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
