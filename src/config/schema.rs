//! The configuration schema: the typed structs an operator's TOML file becomes.
//!
//! Every key and default of the file format is declared here, once. Checks on a single value
//! (AS 0, a hold time of 2, host bits in a prefix) run while the value is deserialized, so the
//! TOML parser can say where the value is; see [`super::value`]. Checks that relate several
//! values (duplicate peers, a next hop of the wrong family) run afterwards, in
//! [`super::validate`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::fib::Fib;
use super::security::{self, MaxPrefixes, MaxPrefixesAction, Password};
use super::socket::{SocketGroup, SocketMode};
use super::value;
use crate::wire::{Community, Family, LargeCommunity, Prefix};

/// A whole baton configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[global]`: who we are and where we listen.
    pub global: Global,
    /// `[api]`: the REST API; absent means no API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<Api>,
    /// `[fib]`: installing learned routes into the kernel; absent means off.
    #[serde(default, skip_serializing_if = "Fib::is_default")]
    pub fib: Fib,
    /// `[[peer]]`: the BGP neighbours, in file order.
    #[serde(default, rename = "peer", skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<Peer>,
    /// `[[route]]`: the routes we originate, in file order.
    #[serde(default, rename = "route", skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
}

/// `[global]`: the local speaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Global {
    /// Our AS number (4-octet allowed; 0 and AS_TRANS refused).
    #[serde(deserialize_with = "value::asn")]
    pub asn: u32,
    /// Our BGP identifier (0.0.0.0 refused).
    #[serde(deserialize_with = "value::router_id")]
    pub router_id: Ipv4Addr,
    /// Addresses to accept BGP connections on; empty means no listener.
    pub listen: Vec<SocketAddr>,
    /// Where the daemon keeps its state (relative paths are relative to the working directory).
    #[serde(default = "default_state_dir", deserialize_with = "value::path")]
    pub state_dir: PathBuf,
    /// The control socket `batonctl` talks to; defaults to `<state_dir>/batond.sock`.
    #[serde(default, deserialize_with = "value::path")]
    pub control_socket: PathBuf,
    /// The control socket's mode, an octal string (`"0660"`); owner read and write required.
    #[serde(default, with = "value::text")]
    pub control_socket_mode: SocketMode,
    /// The control socket's group (a name or a gid); `None` leaves the supervisor's group.
    #[serde(
        default,
        with = "value::optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub control_socket_group: Option<SocketGroup>,
    /// A file of routes to originate, one per line (`PREFIX [nexthop X] [community A:B,…] [med
    /// N] …`, the words of `batonctl route add`), added to the `[[route]]` tables: for large
    /// route sets, which it reads far faster and in far less memory than TOML. Relative paths
    /// are relative to the working directory. See [`super::routes_file`].
    #[serde(
        default,
        deserialize_with = "value::optional_path",
        skip_serializing_if = "Option::is_none"
    )]
    pub routes_file: Option<PathBuf>,
}

/// `[api]`: the REST API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// Address the API listens on; `None` disables it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// A file holding the bearer token every request must carry (`Authorization: Bearer
    /// <token>`); `None` means no token is needed, which only a loopback `listen` allows.
    /// Relative paths are relative to the working directory. The file must be accessible to
    /// its owner only; it is read when the configuration is loaded and at each speaker start.
    #[serde(
        default,
        deserialize_with = "value::optional_path",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_file: Option<PathBuf>,
    /// The most connections the API serves at once; one more is answered 503
    /// (`too_many_connections`) and closed. Also held below what the process's file
    /// descriptor limit leaves after a reserve for BGP.
    #[serde(
        default = "default_max_connections",
        deserialize_with = "value::max_connections"
    )]
    pub max_connections: u32,
    /// Seconds a client has to send a request's line and headers once it has begun.
    #[serde(
        default = "default_header_timeout",
        deserialize_with = "value::api_timeout"
    )]
    pub header_timeout: u32,
    /// Seconds a connection may stay open with no request under way before it is closed.
    #[serde(
        default = "default_idle_timeout",
        deserialize_with = "value::api_timeout"
    )]
    pub idle_timeout: u32,
    /// Requests per second each client address may make, on average; 0 (the default) means
    /// no limit. Beyond it, requests are answered 429 (`rate_limited`) with `Retry-After`.
    #[serde(default, deserialize_with = "value::rate_limit")]
    pub rate_limit: u32,
    /// How many requests a client may make at once before [`rate_limit`](Self::rate_limit)
    /// applies (the token bucket's size); 0 (the default) means twice `rate_limit`.
    #[serde(default, deserialize_with = "value::rate_limit")]
    pub rate_burst: u32,
    /// A PEM file with the API's certificate (and its chain); with
    /// [`tls_key`](Self::tls_key), the API speaks HTTPS only.
    #[serde(
        default,
        deserialize_with = "value::optional_path",
        skip_serializing_if = "Option::is_none"
    )]
    pub tls_cert: Option<PathBuf>,
    /// A PEM file with the private key of [`tls_cert`](Self::tls_cert).
    #[serde(
        default,
        deserialize_with = "value::optional_path",
        skip_serializing_if = "Option::is_none"
    )]
    pub tls_key: Option<PathBuf>,
}

impl Default for Api {
    fn default() -> Self {
        Api {
            listen: None,
            token_file: None,
            max_connections: Api::DEFAULT_MAX_CONNECTIONS,
            header_timeout: Api::DEFAULT_HEADER_TIMEOUT,
            idle_timeout: Api::DEFAULT_IDLE_TIMEOUT,
            rate_limit: 0,
            rate_burst: 0,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl Api {
    /// `max_connections` when not given.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 256;
    /// `header_timeout` when not given, in seconds.
    pub const DEFAULT_HEADER_TIMEOUT: u32 = 10;
    /// `idle_timeout` when not given, in seconds.
    pub const DEFAULT_IDLE_TIMEOUT: u32 = 60;
    /// The largest `max_connections`.
    pub const MAX_CONNECTIONS: u32 = value::API_MAX_CONNECTIONS;
    /// The longest `header_timeout` or `idle_timeout`, in seconds: one hour.
    pub const MAX_TIMEOUT: u32 = value::API_MAX_TIMEOUT;
}

/// `[[peer]]`: one BGP neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// The neighbour's address; one peer per address.
    #[serde(deserialize_with = "value::peer_address")]
    pub address: IpAddr,
    /// The neighbour's AS number (0 and AS_TRANS refused).
    #[serde(deserialize_with = "value::asn")]
    pub remote_as: u32,
    /// TCP port to connect to (default 179).
    #[serde(default = "default_port", deserialize_with = "value::port")]
    pub port: u16,
    /// Never connect out; only accept the neighbour's connection (default false).
    #[serde(default)]
    pub passive: bool,
    /// Hold time we offer, in seconds: 0 or at least 3 (RFC 4271 §4.2; default 90).
    #[serde(default = "default_hold_time", deserialize_with = "value::hold_time")]
    pub hold_time: u16,
    /// Seconds between connection attempts (default 5).
    #[serde(
        default = "default_connect_retry",
        deserialize_with = "value::connect_retry"
    )]
    pub connect_retry: u16,
    /// Address families to negotiate; defaults to the family of `address`.
    #[serde(
        default,
        deserialize_with = "value::families",
        serialize_with = "value::text_list::serialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub families: Vec<Family>,
    /// Source address for outgoing connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_address: Option<IpAddr>,
    /// Free text for operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `[peer.graceful_restart]`: graceful restart (RFC 4724) and long-lived GR (RFC 9494).
    #[serde(default)]
    pub graceful_restart: GracefulRestart,
    /// TCP-MD5 password (RFC 2385). Never written out: not in logs, status, the API or a
    /// saved peer. A config file holding one must be readable by its owner only.
    #[serde(default, deserialize_with = "security::password", skip_serializing)]
    pub password: Option<Password>,
    /// A file holding the TCP-MD5 password (readable by its owner only), read at load.
    #[serde(
        default,
        deserialize_with = "value::optional_path",
        skip_serializing_if = "Option::is_none"
    )]
    pub password_file: Option<PathBuf>,
    /// GTSM (RFC 5082): hops to the peer (`true` is 1); 0 is off. We send with TTL 255 and
    /// accept only packets with a TTL of at least 256 - hops.
    #[serde(
        default,
        with = "security::ttl_security",
        skip_serializing_if = "is_zero"
    )]
    pub ttl_security: u8,
    /// The most prefixes the peer may announce, for every family or by family.
    #[serde(
        default,
        deserialize_with = "security::max_prefixes",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_prefixes: Option<MaxPrefixes>,
    /// Percent of `max_prefixes` at which a warning is logged, once per crossing (default 75).
    #[serde(
        default = "security::default_warning",
        deserialize_with = "security::percent",
        skip_serializing_if = "security::is_default_warning"
    )]
    pub max_prefixes_warning: u8,
    /// What going over `max_prefixes` does: `cease` (default) or `warn`.
    #[serde(default, skip_serializing_if = "MaxPrefixesAction::is_default")]
    pub max_prefixes_action: MaxPrefixesAction,
    /// After a `max_prefixes` Cease, connect again after this many seconds; `None` keeps the
    /// session down until the operator resets it.
    #[serde(
        default,
        deserialize_with = "security::restart_after",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_prefixes_restart_after: Option<u32>,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

/// `[peer.graceful_restart]`: graceful restart settings for one neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GracefulRestart {
    /// Advertise the Graceful Restart capability (default false).
    pub enabled: bool,
    /// Restart Time we advertise, in seconds (12 bits: at most 4095; default 120).
    #[serde(deserialize_with = "value::restart_time")]
    pub restart_time: u16,
    /// Long-lived stale time in seconds (24 bits: at most 16777215); 0 means no LLGR.
    #[serde(deserialize_with = "value::long_lived_stale_time")]
    pub long_lived_stale_time: u32,
    /// Set the N bit: graceful restart also after a NOTIFICATION (RFC 8538; default true).
    pub notification: bool,
    /// Seconds to wait for End-of-RIB from peers before best-path selection (default 360).
    pub selection_deferral_time: u16,
}

impl Default for GracefulRestart {
    fn default() -> Self {
        GracefulRestart {
            enabled: false,
            restart_time: 120,
            long_lived_stale_time: 0,
            notification: true,
            selection_deferral_time: 360,
        }
    }
}

/// `[[route]]`: one route we originate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The prefix (host bits refused).
    #[serde(with = "value::text")]
    pub prefix: Prefix,
    /// Next hop, of the prefix's family; `None` means our own session address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<IpAddr>,
    /// Standard communities (`"65001:100"`, `"no-export"`).
    #[serde(
        default,
        with = "value::text_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub communities: Vec<Community>,
    /// Large communities (`"65001:1:1"`).
    #[serde(
        default,
        with = "value::text_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub large_communities: Vec<LargeCommunity>,
    /// MULTI_EXIT_DISC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
    /// LOCAL_PREF (sent to iBGP peers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
    /// Extra copies of our AS prepended to the path sent to eBGP peers (at most 10; default 0).
    #[serde(default, deserialize_with = "value::as_path_prepend")]
    pub as_path_prepend: u8,
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("./state")
}

fn default_max_connections() -> u32 {
    Api::DEFAULT_MAX_CONNECTIONS
}

fn default_header_timeout() -> u32 {
    Api::DEFAULT_HEADER_TIMEOUT
}

fn default_idle_timeout() -> u32 {
    Api::DEFAULT_IDLE_TIMEOUT
}

fn default_port() -> u16 {
    179
}

fn default_hold_time() -> u16 {
    90
}

fn default_connect_retry() -> u16 {
    5
}

/// The file name of the control socket inside the state directory, by default.
pub const CONTROL_SOCKET_NAME: &str = "batond.sock";

/// The shipped default configuration: runs without root and without setup.
const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

impl Config {
    /// This configuration with no routes (what the supervisor keeps: see
    /// [`super::load_settings`]).
    pub fn without_routes(mut self) -> Config {
        self.routes = Vec::new();
        self
    }

    /// This configuration without its routes, and the routes.
    pub fn split_routes(mut self) -> (Config, Vec<Route>) {
        let routes = std::mem::take(&mut self.routes);
        (self, routes)
    }

    /// The shipped `config/default.toml`, parsed.
    pub fn default_config() -> Config {
        match super::parse(DEFAULT_TOML, "config/default.toml") {
            Ok(config) => config,
            // A unit test parses the embedded file, so this cannot happen in a released build.
            Err(e) => panic!("the embedded default configuration is invalid: {e}"),
        }
    }

    /// The peer configured for `address`, if any.
    pub fn peer(&self, address: IpAddr) -> Option<&Peer> {
        self.peers.iter().find(|p| p.address == address)
    }
}

impl Peer {
    /// A peer with every optional key at its default, as if written with only
    /// `address` and `remote_as`.
    pub fn new(address: IpAddr, remote_as: u32) -> Peer {
        Peer {
            address,
            remote_as,
            port: default_port(),
            passive: false,
            hold_time: default_hold_time(),
            connect_retry: default_connect_retry(),
            families: Vec::new(),
            local_address: None,
            description: None,
            graceful_restart: GracefulRestart::default(),
            password: None,
            password_file: None,
            ttl_security: 0,
            max_prefixes: None,
            max_prefixes_warning: security::DEFAULT_MAX_PREFIXES_WARNING,
            max_prefixes_action: MaxPrefixesAction::default(),
            max_prefixes_restart_after: None,
        }
    }

    /// The TCP-MD5 password: `password`, or the content of `password_file` (read now, and
    /// refused if group or others can read it). `Ok(None)` when neither is set.
    pub fn md5_password(&self) -> Result<Option<Password>, String> {
        match (&self.password, &self.password_file) {
            (Some(p), _) => Ok(Some(p.clone())),
            (None, Some(path)) => security::read_password_file(path).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The families to offer in the OPEN: `families`, or the family of `address` if empty.
    pub fn session_families(&self) -> Vec<Family> {
        if !self.families.is_empty() {
            return self.families.clone();
        }
        match self.address {
            IpAddr::V4(_) => vec![Family::IPV4_UNICAST],
            IpAddr::V6(_) => vec![Family::IPV6_UNICAST],
        }
    }

    /// True if this neighbour is in our AS (an iBGP session).
    pub fn is_internal(&self, local_as: u32) -> bool {
        self.remote_as == local_as
    }
}

impl Route {
    /// A route of `prefix` with every attribute at its default, as a `[[route]]` table with
    /// only `prefix`.
    pub fn new(prefix: Prefix) -> Route {
        Route {
            prefix,
            next_hop: None,
            communities: Vec::new(),
            large_communities: Vec::new(),
            med: None,
            local_pref: None,
            as_path_prepend: 0,
        }
    }

    /// The address family of the route.
    pub fn family(&self) -> Family {
        self.prefix.family()
    }
}
