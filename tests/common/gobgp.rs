//! gobgpd as a test peer: config, start, and typed views of what it holds.
//!
//! Gotchas (gobgpd/gobgp 3.10 from Debian):
//! - Started as `gobgpd -f CONF -p -l info --api-hosts 127.0.0.1:50051 --pprof-disable`: the
//!   API listens on the namespace's own loopback, so every host can use port 50051; pprof's
//!   default port would collide otherwise. `-p` gives plain-text logs.
//! - `gobgp -j neighbor ADDR` is one JSON object; `state.session_state` is a *number*:
//!   1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established. Counters that are
//!   zero are omitted (protobuf), e.g. `afi_safis[i].state.received`.
//! - `gobgp -j neighbor ADDR adj-in [-a ipv6]` (and `adj-out`, `global rib`) print a map from
//!   prefix to a list of paths:
//!   `{"192.0.2.0/24":[{"nlri":{"prefix":"192.0.2.0/24"},"age":…,"best":false,
//!   "attrs":[{"type":1,"value":0},{"type":2,"as_paths":[{"segment_type":2,"num":1,
//!   "asns":[65002]}]},{"type":3,"nexthop":"198.18.0.2"},{"type":4,"metric":50},
//!   {"type":5,"value":120},{"type":8,"communities":[4259905636]},
//!   {"type":32,"value":[{"ASN":65001,"LocalData1":1,"LocalData2":2}]}],
//!   "stale":false,"source-id":"198.18.0.2","neighbor-ip":"198.18.0.2"}]}`.
//!   Communities are plain u32 (65001:100 is 4259905636). IPv6 paths carry their next hop in
//!   the MP_REACH attribute: `{"type":14,"nexthop":"2001:db8::2","afi":2,"safi":1,"value":[…]}`.
//!   `best` is always false in adj-in; locally originated paths have no `neighbor-ip` and next
//!   hop 0.0.0.0 (rewritten to the local address on eBGP).
//! - adj-in of a neighbor that is not Established fails (exit 1) with
//!   `{"error":"neighbor … BGP session is not established"}` — *unless* it holds stale routes
//!   as a graceful-restart helper: then it lists them with `"stale":true`. [`Gobgpd::adj_in`]
//!   returns an empty list for the first case.
//! - After *any* session loss gobgpd stays Idle for a hard-coded 5 s (`holdtimeIdle`), closing
//!   every incoming connection ("Closed an accepted connection" in its log): a peer that
//!   restarts is back in Established 5–6 s after it went away, never sooner — budget
//!   graceful-restart times and deadlines for it (bird2 comes back in 1–2 s). After an
//!   administrative reset it waits `idle-hold-time-after-reset` instead (default 30 s; the config
//!   sets 1 s, with `connect-retry = 2`). `gobgp -j neighbor` echoes 30 for that timer whatever
//!   the config says.
//! - SIGTERM makes gobgpd send Cease to every peer (they withdraw at once); SIGKILL leaves its
//!   graceful-restart helpers holding its routes as stale; `-r` restarts it as a restarting
//!   speaker.

use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use super::netns::Host;
use super::process::Daemon;
use super::{poll, Family};

/// How long gobgpd may take to answer its API after start.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// What a [`Gobgpd`] is started with.
#[derive(Clone, Debug)]
pub struct GobgpConfig {
    /// Local AS (required).
    pub asn: u32,
    /// Router id; the host's IPv4 address when `None`.
    pub router_id: Option<Ipv4Addr>,
    /// TCP port it listens on for BGP; `None` does not listen at all (`port = -1`).
    pub listen_port: Option<u16>,
    /// Port of its gRPC API on the namespace's 127.0.0.1.
    pub api_port: u16,
    /// Its neighbors.
    pub neighbors: Vec<GobgpNeighbor>,
    /// Raw TOML appended to the config (policies, …).
    pub extra_toml: String,
}

impl Default for GobgpConfig {
    fn default() -> Self {
        GobgpConfig {
            asn: 0,
            router_id: None,
            listen_port: Some(179),
            api_port: 50051,
            neighbors: Vec::new(),
            extra_toml: String::new(),
        }
    }
}

impl GobgpConfig {
    /// AS `asn` with one neighbor: `address` in AS `remote_as`, every other setting default.
    pub fn one_neighbor(asn: u32, address: IpAddr, remote_as: u32) -> GobgpConfig {
        GobgpConfig {
            asn,
            neighbors: vec![GobgpNeighbor::new(address, remote_as)],
            ..GobgpConfig::default()
        }
    }

    /// [`one_neighbor`](Self::one_neighbor), as a graceful-restart helper with `restart_time`.
    pub fn one_gr_neighbor(asn: u32, address: IpAddr, remote_as: u32, restart_time: u16) -> Self {
        let mut config = GobgpConfig::one_neighbor(asn, address, remote_as);
        config.neighbors[0].graceful_restart = Some(restart_time);
        config
    }

    /// AS `asn` peering with `other` (AS `other_as`) over its IPv4 and its IPv6 address, as
    /// a graceful-restart helper with `restart_time` when given.
    pub fn both_families(asn: u32, other: &Host, other_as: u32, restart_time: Option<u16>) -> Self {
        let neighbor = |addr: IpAddr| {
            let mut n = GobgpNeighbor::new(addr, other_as);
            n.graceful_restart = restart_time;
            n
        };
        GobgpConfig {
            asn,
            neighbors: vec![neighbor(other.ipv4.into()), neighbor(other.ipv6.into())],
            ..GobgpConfig::default()
        }
    }
}

/// One `[[neighbors]]` of a [`GobgpConfig`].
#[derive(Clone, Debug)]
pub struct GobgpNeighbor {
    /// The neighbor's address; the local address is the host's of the same family.
    pub address: IpAddr,
    /// The neighbor's AS.
    pub remote_as: u32,
    /// The neighbor's port, when not 179.
    pub remote_port: Option<u16>,
    /// Wait for the neighbor to connect; never connect out.
    pub passive: bool,
    /// Graceful restart (helper, and restarting speaker with `-r`) with this restart time in
    /// seconds, for every family.
    pub graceful_restart: Option<u16>,
    /// Long-lived graceful restart with this stale time in seconds, for every family (also
    /// enables graceful restart, with a restart time of 0 if `graceful_restart` is `None`).
    pub long_lived: Option<u32>,
    /// Families; when empty, the unicast family of `address`.
    pub families: Vec<Family>,
    /// Notification graceful restart (RFC 8538 N bit), with `graceful_restart`.
    pub notification: bool,
    /// Hold time in seconds (keepalive a third of it); gobgpd's default 90 when `None`.
    pub hold_time: Option<u16>,
    /// TCP-MD5 password (`auth-password`).
    pub auth_password: Option<String>,
    /// Raw TOML appended inside this neighbor, e.g. `[neighbors.ebgp-multihop.config]…`.
    pub extra_toml: String,
}

impl GobgpNeighbor {
    /// A neighbor with defaults: active, no graceful restart, the family of `address`.
    pub fn new(address: IpAddr, remote_as: u32) -> GobgpNeighbor {
        GobgpNeighbor {
            address,
            remote_as,
            remote_port: None,
            passive: false,
            graceful_restart: None,
            long_lived: None,
            families: Vec::new(),
            notification: false,
            hold_time: None,
            auth_password: None,
            extra_toml: String::new(),
        }
    }

    /// The families it is configured for.
    pub fn families(&self) -> Vec<Family> {
        if self.families.is_empty() {
            vec![Family::of(&self.address.to_string())]
        } else {
            self.families.clone()
        }
    }
}

/// One path held by gobgpd, parsed from its JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GobgpRoute {
    /// The prefix, as gobgp prints it ("192.0.2.0/24", "2001:db8:100::/48").
    pub prefix: String,
    /// NEXT_HOP, or the next hop of MP_REACH_NLRI.
    pub next_hop: IpAddr,
    /// AS numbers of every segment in order (sets flattened).
    pub as_path: Vec<u32>,
    /// ORIGIN: 0 IGP, 1 EGP, 2 incomplete.
    pub origin: Option<u8>,
    /// COMMUNITIES as "A:B".
    pub communities: Vec<String>,
    /// LARGE_COMMUNITY as "A:B:C".
    pub large_communities: Vec<String>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Kept as stale by graceful restart.
    pub stale: bool,
    /// Best path (only meaningful in the global RIB).
    pub best: bool,
    /// The neighbor it came from; `None` for locally originated paths.
    pub neighbor: Option<IpAddr>,
    /// The path's JSON, for anything not parsed above.
    pub raw: Value,
}

/// A gobgpd running in a host's namespace.
pub struct Gobgpd {
    host: Host,
    config: GobgpConfig,
    conf_path: PathBuf,
    daemon: Daemon,
}

impl Gobgpd {
    /// Writes the config into the host's directory, starts gobgpd and waits for its API.
    pub fn start(host: &Host, config: GobgpConfig) -> Gobgpd {
        assert!(config.asn != 0, "GobgpConfig: set asn");
        let conf_path = host.dir().join("gobgpd.toml");
        fs::write(&conf_path, render_config(host, &config)).expect("write gobgpd.toml");
        let daemon = spawn(host, &config, &conf_path, &[]);
        let mut g = Gobgpd {
            host: host.clone(),
            config,
            conf_path,
            daemon,
        };
        g.wait_api();
        g
    }

    /// Starts gobgpd again with the same config after it stopped or was killed; with
    /// `graceful`, as a restarting speaker (`-r`).
    pub fn restart(&mut self, graceful: bool) {
        assert!(
            !self.daemon.is_running(),
            "{}: stop or kill it before restarting",
            self.daemon.label()
        );
        let args: &[&str] = if graceful { &["-r"] } else { &[] };
        self.daemon = spawn(&self.host, &self.config, &self.conf_path, args);
        self.wait_api();
    }

    fn wait_api(&mut self) {
        let label = self.daemon.label().to_string();
        poll::until(START_TIMEOUT, &format!("{label} to answer its API"), || {
            self.daemon.assert_running("while starting");
            self.gobgp(&["neighbor"]).status.success().then_some(())
        });
    }

    /// The host it runs on.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The config it was started with.
    pub fn config(&self) -> &GobgpConfig {
        &self.config
    }

    /// Runs `gobgp -u 127.0.0.1 -p PORT ARGS` in the namespace.
    pub fn gobgp(&self, args: &[&str]) -> Output {
        let port = self.config.api_port.to_string();
        self.host
            .command("gobgp")
            .args(["-u", "127.0.0.1", "-p", &port])
            .args(args)
            .output()
            .expect("run gobgp")
    }

    /// Runs `gobgp ARGS` and returns its stdout; panics (with the log tail) if it fails.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.gobgp(args);
        if !out.status.success() {
            self.dump_logs();
            panic!(
                "gobgp {args:?} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `gobgp -j neighbor ADDR`: `None` if gobgpd has no such neighbor.
    pub fn neighbor_json(&self, addr: IpAddr) -> Option<Value> {
        let out = self.gobgp(&["-j", "neighbor", &addr.to_string()]);
        if !out.status.success() {
            return None;
        }
        Some(serde_json::from_slice(&out.stdout).expect("gobgp neighbor: JSON"))
    }

    /// Session state of a neighbor, lower case: "idle", "connect", "active", "opensent",
    /// "openconfirm", "established"; `None` if there is no such neighbor.
    pub fn neighbor_state(&self, addr: IpAddr) -> Option<String> {
        let v = self.neighbor_json(addr)?;
        let name = match v["state"]["session_state"].as_u64() {
            Some(1) => "idle",
            Some(2) => "connect",
            Some(3) => "active",
            Some(4) => "opensent",
            Some(5) => "openconfirm",
            Some(6) => "established",
            _ => "unknown",
        };
        Some(name.to_string())
    }

    /// Waits until the session with `addr` is Established.
    pub fn wait_established(&self, addr: IpAddr, deadline: Duration) {
        poll::until(
            deadline,
            &format!("gobgpd on {} to be Established with {addr}", self.host.ns),
            || (self.neighbor_state(addr).as_deref() == Some("established")).then_some(()),
        );
    }

    /// How many paths of `family` it has received from `addr` (from its neighbor counters).
    pub fn received_count(&self, addr: IpAddr, family: Family) -> u64 {
        let Some(v) = self.neighbor_json(addr) else {
            return 0;
        };
        let afi = match family {
            Family::Ipv4Unicast => 1,
            Family::Ipv6Unicast => 2,
        };
        v["afi_safis"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["state"]["family"]["afi"].as_u64() == Some(afi))
            .and_then(|a| a["state"]["received"].as_u64())
            .unwrap_or(0)
    }

    /// How many prefixes it holds from `addr` (stale ones included), from `gobgp neighbor ADDR
    /// adj-in summary`: cheap enough to poll with a large table, unlike [`adj_in`](Self::adj_in).
    pub fn adj_in_count(&self, addr: IpAddr, family: Family) -> usize {
        let out = self.gobgp(&[
            "neighbor",
            &addr.to_string(),
            "adj-in",
            "summary",
            "-a",
            family_arg(family),
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.split("Destination:")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// `gobgp -j neighbor ADDR adj-in`: what it holds from `addr` (`{}` if the session is down
    /// and nothing stale is kept).
    pub fn adj_in_json(&self, addr: IpAddr, family: Family) -> Value {
        self.rib_json(&["neighbor", &addr.to_string(), "adj-in"], family)
    }

    /// Paths it holds from `addr`, sorted by prefix.
    pub fn adj_in(&self, addr: IpAddr, family: Family) -> Vec<GobgpRoute> {
        parse_rib(&self.adj_in_json(addr, family))
    }

    /// Paths it sends to `addr`, sorted by prefix.
    pub fn adj_out(&self, addr: IpAddr, family: Family) -> Vec<GobgpRoute> {
        parse_rib(&self.rib_json(&["neighbor", &addr.to_string(), "adj-out"], family))
    }

    /// Its global RIB (every path, `best` marking the selected ones), sorted by prefix.
    pub fn global_rib(&self, family: Family) -> Vec<GobgpRoute> {
        parse_rib(&self.rib_json(&["global", "rib"], family))
    }

    fn rib_json(&self, what: &[&str], family: Family) -> Value {
        let mut args = vec!["-j"];
        args.extend_from_slice(what);
        args.extend_from_slice(&["-a", family_arg(family)]);
        let out = self.gobgp(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            if stdout.contains("is not established") {
                return Value::Object(Default::default());
            }
            self.dump_logs();
            panic!(
                "gobgp {args:?} failed ({}): {}{stdout}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        if stdout.trim().is_empty() || stdout.trim() == "null" {
            return Value::Object(Default::default());
        }
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("gobgp {args:?}: bad JSON ({e}): {stdout}"))
    }

    /// Originates `prefix`: `gobgp global rib add PREFIX ARGS…`, e.g.
    /// `&["community", "65001:100", "med", "50"]` (also `local-pref N`, `large-community A:B:C`,
    /// `aspath "65010 65011"`, `nexthop ADDR`).
    pub fn global_rib_add(&self, prefix: &str, args: &[&str]) {
        let family = family_arg(Family::of(prefix));
        let mut cli = vec!["global", "rib", "-a", family, "add", prefix];
        cli.extend_from_slice(args);
        self.cli(&cli);
    }

    /// Withdraws a prefix it originated.
    pub fn global_rib_del(&self, prefix: &str) {
        let family = family_arg(Family::of(prefix));
        self.cli(&["global", "rib", "-a", family, "del", prefix]);
    }
}

/// `-a` argument of the gobgp CLI.
fn family_arg(family: Family) -> &'static str {
    match family {
        Family::Ipv4Unicast => "ipv4",
        Family::Ipv6Unicast => "ipv6",
    }
}

/// `afi-safi-name` in gobgpd's config.
fn family_name(family: Family) -> &'static str {
    match family {
        Family::Ipv4Unicast => "ipv4-unicast",
        Family::Ipv6Unicast => "ipv6-unicast",
    }
}

fn spawn(host: &Host, config: &GobgpConfig, conf: &std::path::Path, extra: &[&str]) -> Daemon {
    let api = format!("127.0.0.1:{}", config.api_port);
    let mut cmd = host.command("gobgpd");
    cmd.arg("-f")
        .arg(conf)
        .args(["-p", "-l", "info", "--api-hosts", &api, "--pprof-disable"])
        .args(extra);
    Daemon::spawn(
        &format!("gobgpd in {}", host.ns),
        cmd,
        &host.dir().join("gobgpd.log"),
    )
}

/// The gobgpd TOML for `config` on `host`.
pub fn render_config(host: &Host, config: &GobgpConfig) -> String {
    let mut s = String::new();
    let router_id = config.router_id.unwrap_or(host.ipv4);
    let port = config.listen_port.map_or(-1, i32::from);
    let _ = write!(
        s,
        "[global.config]\n  as = {}\n  router-id = \"{router_id}\"\n  port = {port}\n  \
         local-address-list = [\"{}\", \"{}\"]\n",
        config.asn, host.ipv4, host.ipv6
    );
    for n in &config.neighbors {
        let _ = write!(
            s,
            "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    \
             peer-as = {}\n",
            n.address, n.remote_as
        );
        if let Some(p) = &n.auth_password {
            let _ = writeln!(s, "    auth-password = {p:?}");
        }
        let _ = write!(
            s,
            "  [neighbors.transport.config]\n    local-address = \"{}\"\n",
            host.addr_like(n.address)
        );
        if let Some(p) = n.remote_port {
            let _ = writeln!(s, "    remote-port = {p}");
        }
        if n.passive {
            s.push_str("    passive-mode = true\n");
        }

        s.push_str(
            "  [neighbors.timers.config]\n    connect-retry = 2\n    \
             idle-hold-time-after-reset = 1\n",
        );
        if let Some(h) = n.hold_time {
            let _ = write!(
                s,
                "    hold-time = {h}\n    keepalive-interval = {}\n",
                (h / 3).max(1)
            );
        }
        if n.graceful_restart.is_some() || n.long_lived.is_some() {
            let _ = write!(
                s,
                "  [neighbors.graceful-restart.config]\n    enabled = true\n    \
                 restart-time = {}\n",
                n.graceful_restart.unwrap_or(0)
            );
            if n.long_lived.is_some() {
                s.push_str("    long-lived-enabled = true\n");
            }
            if n.notification {
                s.push_str("    notification-enabled = true\n");
            }
        }
        for family in n.families() {
            let _ = write!(
                s,
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      \
                 afi-safi-name = \"{}\"\n",
                family_name(family)
            );
            if n.graceful_restart.is_some() {
                s.push_str(
                    "    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n",
                );
            }
            if let Some(t) = n.long_lived {
                let _ = write!(
                    s,
                    "    [neighbors.afi-safis.long-lived-graceful-restart.config]\n      \
                     enabled = true\n      restart-time = {t}\n"
                );
            }
        }
        if !n.extra_toml.is_empty() {
            s.push_str(&n.extra_toml);
            s.push('\n');
        }
    }
    if !config.extra_toml.is_empty() {
        s.push('\n');
        s.push_str(&config.extra_toml);
        s.push('\n');
    }
    s
}

/// Parses gobgp's `{prefix: [path, …]}` JSON into one [`GobgpRoute`] per path, by prefix.
pub fn parse_rib(v: &Value) -> Vec<GobgpRoute> {
    let mut routes: Vec<GobgpRoute> = v
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(prefix, paths)| {
            paths
                .as_array()
                .into_iter()
                .flatten()
                .map(move |p| parse_path(prefix, p))
        })
        .collect();
    routes.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    routes
}

fn parse_path(prefix: &str, p: &Value) -> GobgpRoute {
    let mut r = GobgpRoute {
        prefix: prefix.to_string(),
        next_hop: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        as_path: Vec::new(),
        origin: None,
        communities: Vec::new(),
        large_communities: Vec::new(),
        med: None,
        local_pref: None,
        stale: p["stale"].as_bool().unwrap_or(false),
        best: p["best"].as_bool().unwrap_or(false),
        neighbor: p["neighbor-ip"].as_str().and_then(|s| s.parse().ok()),
        raw: p.clone(),
    };
    let mut next_hop = None;
    let as_u32 = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    for a in p["attrs"].as_array().into_iter().flatten() {
        match a["type"].as_u64() {
            Some(1) => r.origin = a["value"].as_u64().and_then(|n| u8::try_from(n).ok()),
            Some(2) => {
                for seg in a["as_paths"].as_array().into_iter().flatten() {
                    r.as_path.extend(
                        seg["asns"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(as_u32),
                    );
                }
            }
            Some(3) | Some(14) => next_hop = a["nexthop"].as_str().and_then(|s| s.parse().ok()),
            Some(4) => r.med = as_u32(&a["metric"]),
            Some(5) => r.local_pref = as_u32(&a["value"]),
            Some(8) => {
                r.communities = a["communities"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(as_u32)
                    .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
                    .collect();
            }
            Some(32) => {
                r.large_communities = a["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        // Zero fields are omitted, like every zero in gobgp's JSON.
                        let f = |k: &str| c[k].as_u64().unwrap_or(0);
                        format!("{}:{}:{}", f("ASN"), f("LocalData1"), f("LocalData2"))
                    })
                    .collect();
            }
            _ => {}
        }
    }
    r.next_hop = next_hop.unwrap_or_else(|| panic!("gobgp path without a next hop: {p}"));
    r
}

/// The process: `pid()`, `stop()` (SIGTERM and wait), `kill()` (SIGKILL and wait), `log()`,
/// `dump_logs()`.
impl std::ops::Deref for Gobgpd {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.daemon
    }
}

impl std::ops::DerefMut for Gobgpd {
    fn deref_mut(&mut self) -> &mut Daemon {
        &mut self.daemon
    }
}
