//! Throw-away network topologies: one [`Lab`] per test, torn down even when the test panics.
//!
//! A lab is a bridge in a namespace of its own, and one namespace per [`Host`], each joined to
//! the bridge by a veth pair:
//!
//! ```text
//!   bt-<pid>-<n>-a            bt-<pid>-<n>            bt-<pid>-<n>-b
//!   eth0 198.18.0.1/24 ── v1 ┐                   ┌ v2 ── eth0 198.18.0.2/24
//!        2001:db8::1/64      └──── br0 (bridge) ─┘            2001:db8::2/64
//! ```
//!
//! Nothing lives in the root namespace, so labs of parallel tests (threads of one test binary,
//! or several test binaries at once) never see each other, and every lab reuses the same
//! addresses. Namespace names carry the test process's pid and a per-process counter, which is
//! also how [`Lab::new`] recognises namespaces left behind by a killed run (its pid is dead) and
//! deletes them.
//!
//! Gotchas found on the way:
//! - Interface names are limited to 15 bytes, namespace names are not. The veth ends are named
//!   inside their namespaces (`eth0` in a host, `v<N>` in the bridge namespace), so they never
//!   collide across labs.
//! - IPv6 addresses are added with `nodad`, and the link-local address is set by hand
//!   (`fe80::<N>`, `addrgenmode none`): otherwise addresses stay "tentative" for a second or two
//!   after the link comes up and daemons binding to them fail or pick no link-local next hop.
//! - `ip netns exec NS prog` execs `prog` (no fork), so a child's pid is the daemon itself and
//!   signals reach it. `ip netns pids NS` lists every process whose network namespace is NS
//!   (zombies excluded), which is how the teardown finds what to kill.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{check_output, poll, tool};

/// Prefix of every namespace this harness creates.
const NS_PREFIX: &str = "bt-";
/// Where `ip netns` keeps its named namespaces.
const NETNS_DIR: &str = "/run/netns";
/// A file in a lab's directory kept with `BATON_KEEP_LOGS=1`: the sweep leaves it alone.
const KEEP_MARKER: &str = "KEPT";
/// Numbers the labs of this process, so that parallel tests get distinct namespaces.
static LAB_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One test's network: a bridge namespace and the hosts attached to it.
///
/// Dropping the lab kills every process left in its namespaces (SIGKILL) and deletes them, and
/// removes its temporary directory unless `BATON_KEEP_LOGS=1` is set.
pub struct Lab {
    /// `bt-<pid>-<n>`: the bridge namespace's name and the prefix of every host's.
    id: String,
    /// Hosts created so far, in order (their index + 1 is their address suffix).
    hosts: Mutex<Vec<Host>>,
    /// The lab's temporary directory (configs, logs, sockets), `None` once kept.
    tmp: Option<tempfile::TempDir>,
    /// Path of the temporary directory.
    dir: PathBuf,
}

/// A network namespace of a [`Lab`], with one interface `eth0` on the lab's bridge.
#[derive(Clone, Debug)]
pub struct Host {
    /// The name given to [`Lab::host`].
    pub name: String,
    /// The namespace's name, e.g. `bt-4242-0-gobgp`.
    pub ns: String,
    /// Its address in 198.18.0.0/24.
    pub ipv4: Ipv4Addr,
    /// Its address in 2001:db8::/64.
    pub ipv6: Ipv6Addr,
    /// Its link-local address, `fe80::<N>`.
    pub link_local: Ipv6Addr,
    /// The interface on the bridge, inside the namespace.
    pub ifname: String,
    /// A directory of its own for configs, logs and sockets.
    dir: PathBuf,
}

impl Lab {
    /// Creates an empty lab: a namespace with a bridge `br0`.
    ///
    /// Deletes namespaces left behind by test processes that no longer exist first.
    pub fn new() -> Lab {
        assert!(
            is_root(),
            "network-namespace tests need root (ip netns add); run them as root, e.g. with bin/test"
        );
        sweep_stale_namespaces();
        let n = LAB_COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = format!("{NS_PREFIX}{}-{n}", std::process::id());
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{id}-"))
            .tempdir()
            .expect("create the lab's temporary directory");
        let dir = tmp.path().to_path_buf();
        let lab = Lab {
            id,
            hosts: Mutex::new(Vec::new()),
            tmp: Some(tmp),
            dir,
        };
        ip(&["netns", "add", &lab.id]);
        ip(&["-n", &lab.id, "link", "set", "lo", "up"]);
        ip(&["-n", &lab.id, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &lab.id, "link", "set", "br0", "up"]);
        lab
    }

    /// The bridge namespace's name, also the prefix of every host namespace's name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The lab's temporary directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Names of every namespace of this lab: the hosts', then the bridge's.
    pub fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self.hosts().iter().map(|h| h.ns.clone()).collect();
        names.push(self.id.clone());
        names
    }

    /// The hosts created so far, in order.
    pub fn hosts(&self) -> Vec<Host> {
        self.hosts.lock().unwrap().clone()
    }

    /// Creates a host: a namespace `bt-<pid>-<n>-<name>` with `lo` up and `eth0` on the bridge,
    /// addressed 198.18.0.N/24 and 2001:db8::N/64 where N counts hosts from 1 in the order they
    /// are created. Returns once the addresses are usable.
    pub fn host(&self, name: &str) -> Host {
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "host name {name:?}: use letters, digits, '-' and '_'"
        );
        let mut hosts = self.hosts.lock().unwrap();
        assert!(
            hosts.iter().all(|h| h.name != name),
            "lab already has a host named {name:?}"
        );
        let index = hosts.len() + 1;
        assert!(index < 255, "a lab holds at most 254 hosts");
        let n = u8::try_from(index).expect("index < 255");
        let host = Host {
            name: name.to_string(),
            ns: format!("{}-{name}", self.id),
            ipv4: Ipv4Addr::new(198, 18, 0, n),
            ipv6: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n.into()),
            link_local: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n.into()),
            ifname: "eth0".to_string(),
            dir: self.dir.join(name),
        };
        fs::create_dir_all(&host.dir).expect("create the host's directory");
        // Registered before it exists, so that a failure half-way is still cleaned up.
        hosts.push(host.clone());
        drop(hosts);

        let (br, ns) = (self.id.as_str(), host.ns.as_str());
        let port = format!("v{index}");
        ip(&["netns", "add", ns]);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
        ip(&[
            "-n", br, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ]);
        ip(&["-n", br, "link", "set", &port, "master", "br0", "up"]);
        ip(&["-n", ns, "link", "set", "eth0", "addrgenmode", "none"]);
        let v4 = format!("{}/24", host.ipv4);
        let v6 = format!("{}/64", host.ipv6);
        let ll = format!("{}/64", host.link_local);
        ip(&["-n", ns, "addr", "add", &v4, "dev", "eth0"]);
        for addr in [&v6, &ll] {
            ip(&["-n", ns, "addr", "add", addr, "dev", "eth0", "nodad"]);
        }
        ip(&["-n", ns, "link", "set", "eth0", "up"]);
        poll::until_true(
            Duration::from_secs(5),
            &format!("{ns}: eth0 up with no tentative address"),
            || {
                let link =
                    check_output(Command::new(tool("ip")).args(["-n", ns, "link", "show", "eth0"]));
                let tentative = check_output(Command::new(tool("ip")).args([
                    "-n",
                    ns,
                    "-6",
                    "addr",
                    "show",
                    "dev",
                    "eth0",
                    "tentative",
                ]));
                link.contains("LOWER_UP") && tentative.trim().is_empty()
            },
        );
        host
    }
}

impl Default for Lab {
    fn default() -> Self {
        Lab::new()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Hosts first: deleting a host's namespace also removes its veth from the bridge.
        for ns in self.namespaces() {
            delete_namespace(&ns);
        }
        let keep = std::env::var("BATON_KEEP_LOGS").is_ok_and(|v| v == "1");
        if let Some(tmp) = self.tmp.take() {
            if keep {
                let _ = fs::write(tmp.path().join(KEEP_MARKER), "BATON_KEEP_LOGS=1\n");
                eprintln!(
                    "BATON_KEEP_LOGS=1: lab {} kept in {}",
                    self.id,
                    tmp.keep().display()
                );
            }
        }
    }
}

impl Host {
    /// Its address of the same family as `other`: to pick a local address for a neighbor.
    pub fn addr_like(&self, other: IpAddr) -> IpAddr {
        match other {
            IpAddr::V4(_) => IpAddr::V4(self.ipv4),
            IpAddr::V6(_) => IpAddr::V6(self.ipv6),
        }
    }

    /// The host's own directory (inside the lab's temporary directory).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A command running `program` inside the namespace (`ip netns exec NS program`).
    ///
    /// `program` is looked up in `PATH` and the sbin directories first, since `ip` execs it
    /// directly and `/usr/sbin` is often missing from a non-login `PATH`.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(tool("ip"));
        cmd.args(["netns", "exec", &self.ns]).arg(tool(program));
        cmd
    }

    /// Starts `program args` inside the namespace with stdin, stdout and stderr on /dev/null.
    /// The child's pid is the program's own.
    ///
    /// The child enters the namespace a moment after this returns (`ip` runs `setns` first):
    /// poll [`Host::pids`] rather than expect it there at once.
    pub fn spawn(&self, program: &str, args: &[&str]) -> Child {
        self.command(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: spawn {program}: {e}", self.ns))
    }

    /// Runs `program args` inside the namespace to completion and returns its stdout; panics
    /// with its stderr if it fails.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        check_output(self.command(program).args(args))
    }

    /// Pids of every live process in the namespace.
    pub fn pids(&self) -> Vec<u32> {
        namespace_pids(&self.ns)
    }
}

/// Whether this process runs as root (`/proc/self` belongs to the effective uid).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Runs `ip ARGS`, panicking with its stderr on failure.
fn ip(args: &[&str]) -> String {
    check_output(Command::new(tool("ip")).args(args))
}

/// Pids of the processes in namespace `ns` (empty if it does not exist).
fn namespace_pids(ns: &str) -> Vec<u32> {
    let out = Command::new(tool("ip"))
        .args(["netns", "pids", ns])
        .stderr(Stdio::null())
        .output();
    match out {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Kills every process in `ns` and deletes it. Never panics: it runs from `Drop`.
pub fn delete_namespace(ns: &str) {
    // Bounded: a process forking as fast as we kill would otherwise keep us here.
    for _ in 0..20 {
        let pids = namespace_pids(ns);
        if pids.is_empty() {
            break;
        }
        for pid in &pids {
            if let Ok(pid) = i32::try_from(*pid) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        let gone = poll::within(Duration::from_secs(2), || {
            namespace_pids(ns).is_empty().then_some(())
        });
        if gone.is_some() {
            break;
        }
    }
    let out = Command::new(tool("ip")).args(["netns", "del", ns]).output();
    if let Ok(out) = out {
        if !out.status.success() && Path::new(NETNS_DIR).join(ns).exists() {
            eprintln!(
                "warning: ip netns del {ns}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
}

/// Deletes the `bt-<pid>-…` namespaces whose test process is gone (a killed test run), and
/// their temporary directories unless they were kept on purpose (`BATON_KEEP_LOGS=1`).
pub fn sweep_stale_namespaces() {
    let is_stale = |name: &str| {
        namespace_owner(name).is_some_and(|pid| {
            pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
        })
    };
    for name in existing_namespaces() {
        if is_stale(&name) {
            delete_namespace(&name);
        }
    }
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_stale(&name) && !entry.path().join(KEEP_MARKER).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The pid in a harness namespace's name `bt-<pid>-…`, if it is one.
pub fn namespace_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(NS_PREFIX)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Names of the namespaces that exist now.
pub fn existing_namespaces() -> Vec<String> {
    let Ok(entries) = fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}
