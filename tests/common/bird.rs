//! bird2 as a test peer: config, start, and typed views of its tables.
//!
//! Gotchas (bird 2.0.12 from Debian):
//! - Started as `bird -f -c CONF -s SOCK` (foreground, its own control socket in the test's
//!   directory). `birdc -s SOCK …` needs no namespace: the socket is a file. Every birdc answer
//!   starts with a line `BIRD 2.0.12 ready.`.
//! - The config sets `router id` (there is no interface to guess it from early), `strict bind
//!   yes` (or it listens on every address), fast timers (`connect delay time 1; connect retry
//!   time 2; error wait time 1, 10;`) and `debug { states, events }` so that its log shows
//!   session and graceful-restart transitions without a line per route. No `protocol kernel`:
//!   nothing touches a routing table.
//! - A protocol name unknown to birdc is a *syntax error* (names are config symbols), exit 1.
//! - `show protocols all NAME` has a line `  BGP state:          Established` (also `Active`,
//!   `Connect`, `Idle`, `Down`…) and "Neighbor graceful restart active" while it keeps a
//!   restarting peer's routes. 2.0.12 does not mark stale routes in `show route`.
//! - `show route all table master4` prints, per network, a first line
//!   `192.0.2.0/24         unicast [gobgp 12:05:56.148] * (100) [AS65001?]` (`*` = primary),
//!   further routes for the same network on lines that start with spaces
//!   (`                     unreachable [s2 12:09:56.842] (200)`), and attributes on lines
//!   that start with a tab: `\tvia 198.18.0.1 on eth0`, `\tBGP.as_path: 65001 65010`
//!   (sets as `{65010 65011}`), `\tBGP.next_hop: 2001:db8::1 fe80::1` (global then link-local),
//!   `\tBGP.med: 50`, `\tBGP.local_pref: 100`, `\tBGP.community: (65001,100) (65001,200)`,
//!   `\tBGP.large_community: (65001, 1, 2)`.
//! - `show route count table master4` answers `3 of 3 routes for 3 networks in table master4`.
//! - SIGTERM: bird shuts its sessions down with a Cease. SIGKILL: peers with graceful restart
//!   keep its routes; `bird -R` restarts it as a restarting speaker.

use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use super::netns::Host;
use super::process::Daemon;
use super::{poll, tool};

/// How long bird may take to answer on its control socket after start.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// What a [`Bird`] is started with.
#[derive(Clone, Debug, Default)]
pub struct BirdConfig {
    /// Router id; the host's IPv4 address when `None`.
    pub router_id: Option<Ipv4Addr>,
    /// Local AS (required).
    pub asn: u32,
    /// Its BGP sessions.
    pub protocols: Vec<BirdPeer>,
    /// Routes it originates (exported to every BGP session, since they export all). Each entry
    /// is a prefix, optionally followed by the rest of a bird `route` statement: "198.19.1.0/24"
    /// becomes `route 198.19.1.0/24 blackhole;`, and
    /// "198.19.1.0/24 blackhole { bgp_community.add((65002,5)); }" is used as is.
    pub static_routes: Vec<String>,
    /// Raw config appended to bird.conf (filters, more protocols, …).
    pub extra_config: String,
}

/// One `protocol bgp` of a [`BirdConfig`].
#[derive(Clone, Debug)]
pub struct BirdPeer {
    /// Protocol name (a bird symbol: letters, digits, '_').
    pub name: String,
    /// The neighbor's address.
    pub neighbor: IpAddr,
    /// The neighbor's AS.
    pub remote_as: u32,
    /// Local address; the host's of the neighbor's family when `None`.
    pub local_addr: Option<IpAddr>,
    /// Port it listens on for this session, when not 179.
    pub local_port: Option<u16>,
    /// The neighbor's port, when not 179.
    pub remote_port: Option<u16>,
    /// Wait for the neighbor to connect; never connect out.
    pub passive: bool,
    /// Graceful restart with this restart time in seconds.
    pub graceful_restart: Option<u16>,
    /// Long-lived graceful restart with this stale time in seconds.
    pub long_lived: Option<u32>,
    /// An `ipv4 { import all; export all; }` channel.
    pub ipv4: bool,
    /// An `ipv6 { import all; export all; }` channel.
    pub ipv6: bool,
    /// Hold time in seconds (bird's default 240 when `None`).
    pub hold_time: Option<u16>,
    /// Raw statements added inside the protocol block.
    pub extra_config: String,
}

impl BirdPeer {
    /// A session with defaults: active, no graceful restart, the channel of the neighbor's
    /// address family.
    pub fn new(name: &str, neighbor: IpAddr, remote_as: u32) -> BirdPeer {
        BirdPeer {
            name: name.to_string(),
            neighbor,
            remote_as,
            local_addr: None,
            local_port: None,
            remote_port: None,
            passive: false,
            graceful_restart: None,
            long_lived: None,
            ipv4: neighbor.is_ipv4(),
            ipv6: neighbor.is_ipv6(),
            hold_time: None,
            extra_config: String::new(),
        }
    }
}

/// One route of a bird table, parsed from `show route all`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BirdRoute {
    /// The network ("192.0.2.0/24").
    pub prefix: String,
    /// BGP.next_hop (the global address when a link-local one follows), else the gateway of
    /// the `via` line; `None` for blackhole and unreachable routes.
    pub next_hop: Option<IpAddr>,
    /// BGP.as_path, sets flattened.
    pub as_path: Vec<u32>,
    /// BGP.community.
    pub communities: Vec<(u32, u32)>,
    /// BGP.large_community.
    pub large_communities: Vec<(u32, u32, u32)>,
    /// BGP.med.
    pub med: Option<u32>,
    /// BGP.local_pref.
    pub local_pref: Option<u32>,
    /// The protocol it came from (a BGP session's name, or a static protocol's).
    pub from_protocol: String,
    /// Route type from the first line: "unicast", "blackhole", "unreachable", …
    pub kind: String,
    /// Whether it is the selected route for its network (`*`).
    pub primary: bool,
}

/// A bird running in a host's namespace.
pub struct Bird {
    host: Host,
    config: BirdConfig,
    conf_path: PathBuf,
    socket: PathBuf,
    daemon: Daemon,
}

impl Bird {
    /// Writes bird.conf into the host's directory, starts bird and waits until it answers.
    pub fn start(host: &Host, config: BirdConfig) -> Bird {
        assert!(config.asn != 0, "BirdConfig: set asn");
        let conf_path = host.dir().join("bird.conf");
        let socket = host.dir().join("bird.ctl");
        fs::write(&conf_path, render_config(host, &config)).expect("write bird.conf");
        let daemon = spawn(host, &conf_path, &socket, &[]);
        let mut b = Bird {
            host: host.clone(),
            config,
            conf_path,
            socket,
            daemon,
        };
        b.wait_ready();
        b
    }

    /// Starts bird again with the same config after it stopped or was killed; with `graceful`,
    /// as a restarting speaker (`-R`).
    pub fn restart(&mut self, graceful: bool) {
        assert!(
            !self.daemon.is_running(),
            "{}: stop or kill it before restarting",
            self.daemon.label()
        );
        let args: &[&str] = if graceful { &["-R"] } else { &[] };
        self.daemon = spawn(&self.host, &self.conf_path, &self.socket, args);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let label = self.daemon.label().to_string();
        poll::until(START_TIMEOUT, &format!("{label} to answer birdc"), || {
            self.daemon.assert_running("while starting");
            self.birdc(&["show", "status"])
                .status
                .success()
                .then_some(())
        });
    }

    /// The host it runs on.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The config it was started with.
    pub fn config(&self) -> &BirdConfig {
        &self.config
    }

    /// Runs `birdc -s SOCK ARGS`.
    pub fn birdc(&self, args: &[&str]) -> Output {
        Command::new(tool("birdc"))
            .arg("-s")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run birdc")
    }

    /// Runs `birdc ARGS` and returns its answer; panics (with the log tail) if it fails.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.birdc(args);
        if !out.status.success() {
            self.dump_logs();
            panic!(
                "birdc {args:?} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The BGP state of protocol `name` ("Established", "Active", "Connect", "Idle", "Down"…),
    /// or its bird state ("up", "start", "down") for a protocol that is not BGP.
    pub fn protocol_state(&self, name: &str) -> String {
        let text = self.cli(&["show", "protocols", "all", name]);
        parse_protocol_state(&text, name)
            .unwrap_or_else(|| panic!("birdc show protocols all {name}: no state in {text}"))
    }

    /// The full `show protocols all NAME` answer (graceful-restart state, timers, counters).
    pub fn protocol_info(&self, name: &str) -> String {
        self.cli(&["show", "protocols", "all", name])
    }

    /// Waits until protocol `name` is Established.
    pub fn wait_established(&self, name: &str, deadline: Duration) {
        poll::until(
            deadline,
            &format!(
                "bird on {}: protocol {name} to be Established",
                self.host.ns
            ),
            || (self.protocol_state(name) == "Established").then_some(()),
        );
    }

    /// Every route of `table` ("master4" or "master6"), in bird's order (by network).
    pub fn routes(&self, table: &str) -> Vec<BirdRoute> {
        parse_routes(&self.cli(&["show", "route", "all", "table", table]))
    }

    /// Routes of `table` learned from protocol `protocol`.
    pub fn routes_from(&self, table: &str, protocol: &str) -> Vec<BirdRoute> {
        let text = self.cli(&["show", "route", "all", "table", table, "protocol", protocol]);
        parse_routes(&text)
    }

    /// How many routes `table` holds (cheap: no route is printed).
    pub fn route_count(&self, table: &str) -> usize {
        let text = self.cli(&["show", "route", "count", "table", table]);
        text.lines()
            .find(|l| l.contains(" routes for "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("birdc show route count: unexpected answer {text}"))
    }
}

fn spawn(host: &Host, conf: &std::path::Path, socket: &std::path::Path, extra: &[&str]) -> Daemon {
    let mut cmd = host.command("bird");
    cmd.arg("-f")
        .arg("-c")
        .arg(conf)
        .arg("-s")
        .arg(socket)
        .args(extra);
    Daemon::spawn(
        &format!("bird in {}", host.ns),
        cmd,
        &host.dir().join("bird.log"),
    )
}

/// The bird.conf for `config` on `host`.
pub fn render_config(host: &Host, config: &BirdConfig) -> String {
    let mut s = String::new();
    let router_id = config.router_id.unwrap_or(host.ipv4);
    let _ = write!(
        s,
        "log stderr all;\nrouter id {router_id};\n\nprotocol device {{\n}}\n"
    );
    let (v6, v4): (Vec<&String>, Vec<&String>) = config
        .static_routes
        .iter()
        .partition(|r| r.split_whitespace().next().unwrap_or("").contains(':'));
    for (name, channel, routes) in [("static4", "ipv4", v4), ("static6", "ipv6", v6)] {
        if routes.is_empty() {
            continue;
        }
        let _ = write!(s, "\nprotocol static {name} {{\n  {channel};\n");
        for r in routes {
            let r = r.trim().trim_end_matches(';');
            if r.contains(char::is_whitespace) {
                let _ = writeln!(s, "  route {r};");
            } else {
                let _ = writeln!(s, "  route {r} blackhole;");
            }
        }
        s.push_str("}\n");
    }
    for p in &config.protocols {
        let local = p.local_addr.unwrap_or_else(|| host.addr_like(p.neighbor));
        let local_port = p
            .local_port
            .map(|n| format!(" port {n}"))
            .unwrap_or_default();
        let remote_port = p
            .remote_port
            .map(|n| format!(" port {n}"))
            .unwrap_or_default();
        let _ = write!(
            s,
            "\nprotocol bgp {} {{\n  local {local}{local_port} as {};\n  \
             neighbor {}{remote_port} as {};\n  strict bind yes;\n  \
             connect delay time 1;\n  connect retry time 2;\n  error wait time 1, 10;\n  \
             debug {{ states, events }};\n",
            p.name, config.asn, p.neighbor, p.remote_as
        );
        if p.passive {
            s.push_str("  passive on;\n");
        }
        if let Some(h) = p.hold_time {
            let _ = writeln!(s, "  hold time {h};");
        }
        if let Some(t) = p.graceful_restart {
            let _ = write!(s, "  graceful restart on;\n  graceful restart time {t};\n");
        }
        if let Some(t) = p.long_lived {
            let _ = write!(
                s,
                "  long lived graceful restart on;\n  long lived stale time {t};\n"
            );
        }
        for (on, channel) in [(p.ipv4, "ipv4"), (p.ipv6, "ipv6")] {
            if on {
                let _ = writeln!(s, "  {channel} {{ import all; export all; }};");
            }
        }
        if !p.extra_config.is_empty() {
            let _ = writeln!(s, "  {}", p.extra_config);
        }
        s.push_str("}\n");
    }
    if !config.extra_config.is_empty() {
        s.push('\n');
        s.push_str(&config.extra_config);
        s.push('\n');
    }
    s
}

/// The state in a `show protocols all NAME` answer: its "BGP state:" line, else the State
/// column of its row.
pub fn parse_protocol_state(text: &str, name: &str) -> Option<String> {
    if let Some(line) = text
        .lines()
        .find(|l| l.trim_start().starts_with("BGP state:"))
    {
        let state = line.trim_start().trim_start_matches("BGP state:").trim();
        return Some(state.to_string());
    }
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&name))
        .and_then(|cols| cols.get(3).map(|s| s.to_string()))
}

/// Parses a `show route all` answer (see the module doc for its shape).
pub fn parse_routes(text: &str) -> Vec<BirdRoute> {
    let mut routes: Vec<BirdRoute> = Vec::new();
    let mut network = String::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("BIRD ") || line.starts_with("Table ") {
            continue;
        }
        if let Some(attr) = line.strip_prefix('\t') {
            if let Some(r) = routes.last_mut() {
                parse_attribute(r, attr.trim());
            }
            continue;
        }
        // A route's first line: "NET  TYPE [PROTO TIME] * (PREF) …", or for a further route of
        // the same network "      TYPE [PROTO TIME] (PREF) …".
        let rest = if line.starts_with(' ') {
            line.trim_start()
        } else {
            let (net, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            network = net.to_string();
            rest.trim_start()
        };
        let kind = rest.split_whitespace().next().unwrap_or("").to_string();
        let from_protocol = rest
            .split_once('[')
            .and_then(|(_, r)| r.split_whitespace().next())
            .unwrap_or("")
            .trim_end_matches(']')
            .to_string();
        let primary = rest
            .split_once(']')
            .is_some_and(|(_, r)| r.trim_start().starts_with('*'));
        routes.push(BirdRoute {
            prefix: network.clone(),
            next_hop: None,
            as_path: Vec::new(),
            communities: Vec::new(),
            large_communities: Vec::new(),
            med: None,
            local_pref: None,
            from_protocol,
            kind,
            primary,
        });
    }
    routes
}

fn parse_attribute(r: &mut BirdRoute, attr: &str) {
    let number = |v: &str| v.trim().parse::<u32>().ok();
    if let Some(v) = attr.strip_prefix("via ") {
        // The gateway; BGP.next_hop, when present, takes precedence.
        if r.next_hop.is_none() {
            r.next_hop = v.split_whitespace().next().and_then(|a| a.parse().ok());
        }
    } else if let Some(v) = attr.strip_prefix("BGP.next_hop:") {
        r.next_hop = v.split_whitespace().next().and_then(|a| a.parse().ok());
    } else if let Some(v) = attr.strip_prefix("BGP.as_path:") {
        r.as_path = v
            .split(|c: char| c.is_whitespace() || c == '{' || c == '}')
            .filter_map(|n| n.parse().ok())
            .collect();
    } else if let Some(v) = attr.strip_prefix("BGP.med:") {
        r.med = number(v);
    } else if let Some(v) = attr.strip_prefix("BGP.local_pref:") {
        r.local_pref = number(v);
    } else if let Some(v) = attr.strip_prefix("BGP.community:") {
        r.communities = tuples(v)
            .into_iter()
            .filter_map(|t| match t[..] {
                [a, b] => Some((a, b)),
                _ => None,
            })
            .collect();
    } else if let Some(v) = attr.strip_prefix("BGP.large_community:") {
        r.large_communities = tuples(v)
            .into_iter()
            .filter_map(|t| match t[..] {
                [a, b, c] => Some((a, b, c)),
                _ => None,
            })
            .collect();
    }
}

/// "(1,2) (3, 4)" → [[1, 2], [3, 4]].
fn tuples(text: &str) -> Vec<Vec<u32>> {
    text.split(')')
        .filter_map(|t| t.split_once('(').map(|(_, inner)| inner))
        .map(|inner| {
            inner
                .split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .collect()
}

/// The process: `pid()`, `stop()` (SIGTERM and wait), `kill()` (SIGKILL and wait), `log()`,
/// `dump_logs()`.
impl std::ops::Deref for Bird {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.daemon
    }
}

impl std::ops::DerefMut for Bird {
    fn deref_mut(&mut self) -> &mut Daemon {
        &mut self.daemon
    }
}
