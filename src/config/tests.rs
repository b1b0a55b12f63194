//! Config tests: every key parses; every mistake is reported with its file, line and field.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use super::*;
use crate::wire::{Community, Family, LargeCommunity, Prefix};

pub(crate) mod api;
mod fib;
mod security;

/// Four lines of a valid `[global]` table; case snippets start on line 5.
const GLOBAL: &str = r#"[global]
asn = 65001
router_id = "198.18.0.1"
listen = ["198.18.0.1:179"]
"#;

/// Three lines of a valid peer.
const PEER: &str = r#"[[peer]]
address = "198.18.0.2"
remote_as = 65002
"#;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn parse_ok(text: &str) -> Config {
    match parse(text, "baton.toml") {
        Ok(config) => config,
        Err(e) => panic!("unexpected error: {e}\n--- text ---\n{text}"),
    }
}

#[test]
fn every_key_parses() {
    let text = r#"
[global]
asn = 4200000001
router_id = "198.18.0.1"
listen = ["198.18.0.1:1179", "[2001:db8::1]:179"]
state_dir = "/var/lib/baton"
control_socket = "/run/baton.sock"

[api]
listen = "127.0.0.1:8179"
max_connections = 64
header_timeout = 5
idle_timeout = 30
rate_limit = 50
rate_burst = 100

[fib]
enabled = true
table = 100
protocol = 201
reconcile_interval = 5
metric = 30
keep_on_stop = true
multipath = true
src_v4 = "198.18.0.1"
src_v6 = "2001:db8::1"
families = ["ipv6-unicast"]
exclude_peers = ["198.18.0.9"]

[[peer]]
address = "2001:db8::2"
remote_as = 65002
port = 1179
passive = true
hold_time = 0
connect_retry = 1
families = ["ipv6-unicast", "ipv4-unicast"]
local_address = "2001:db8::1"
description = "a neighbour"

[peer.graceful_restart]
enabled = true
restart_time = 4095
long_lived_stale_time = 16777215
notification = false
selection_deferral_time = 30

[[route]]
prefix = "192.0.2.0/24"
next_hop = "198.18.0.1"
communities = ["65001:100", "no-export", "no-advertise"]
large_communities = ["65001:1:1"]
med = 10
local_pref = 200
as_path_prepend = 10
"#;
    let expected = Config {
        global: Global {
            asn: 4_200_000_001,
            router_id: Ipv4Addr::new(198, 18, 0, 1),
            listen: vec![sock("198.18.0.1:1179"), sock("[2001:db8::1]:179")],
            state_dir: PathBuf::from("/var/lib/baton"),
            control_socket: PathBuf::from("/run/baton.sock"),
            control_socket_mode: SocketMode(0o600),
            control_socket_group: None,
            routes_file: None,
        },
        api: Some(Api {
            listen: Some(sock("127.0.0.1:8179")),
            token_file: None,
            max_connections: 64,
            header_timeout: 5,
            idle_timeout: 30,
            rate_limit: 50,
            rate_burst: 100,
            tls_cert: None,
            tls_key: None,
        }),
        fib: Fib {
            enabled: true,
            table: 100,
            protocol: 201,
            reconcile_interval: 5,
            metric: 30,
            keep_on_stop: true,
            multipath: true,
            src_v4: Some(Ipv4Addr::new(198, 18, 0, 1)),
            src_v6: Some("2001:db8::1".parse().unwrap()),
            families: vec![Family::IPV6_UNICAST],
            exclude_peers: vec![ip("198.18.0.9")],
        },
        peers: vec![Peer {
            address: ip("2001:db8::2"),
            remote_as: 65002,
            port: 1179,
            passive: true,
            hold_time: 0,
            connect_retry: 1,
            families: vec![Family::IPV6_UNICAST, Family::IPV4_UNICAST],
            local_address: Some(ip("2001:db8::1")),
            description: Some("a neighbour".into()),
            graceful_restart: GracefulRestart {
                enabled: true,
                restart_time: 4095,
                long_lived_stale_time: 16_777_215,
                notification: false,
                selection_deferral_time: 30,
            },
            ..Peer::new(ip("2001:db8::2"), 65002)
        }],
        routes: vec![Route {
            prefix: "192.0.2.0/24".parse().unwrap(),
            next_hop: Some(ip("198.18.0.1")),
            communities: vec![
                Community((65001 << 16) | 100),
                Community::NO_EXPORT,
                Community::NO_ADVERTISE,
            ],
            large_communities: vec![LargeCommunity {
                global: 65001,
                local1: 1,
                local2: 1,
            }],
            med: Some(10),
            local_pref: Some(200),
            as_path_prepend: 10,
        }],
    };
    assert_eq!(parse_ok(text), expected);
}

#[test]
fn left_out_keys_take_their_defaults() {
    let text = format!(
        "{GLOBAL}{PEER}\n[[peer]]\naddress = \"2001:db8::3\"\nremote_as = 65003\n\
         [peer.graceful_restart]\nenabled = true\n\n[[route]]\nprefix = \"2001:db8:1::/48\"\n"
    );
    let config = parse_ok(&text);
    assert_eq!(config.global.state_dir, Path::new("./state"));
    assert_eq!(
        config.global.control_socket,
        Path::new("./state/batond.sock")
    );
    assert_eq!(config.api, None);

    let v4 = &config.peers[0];
    assert_eq!(v4, &{
        let mut p = Peer::new(ip("198.18.0.2"), 65002);
        p.families = vec![Family::IPV4_UNICAST];
        p
    });
    assert_eq!(
        (v4.port, v4.passive, v4.hold_time, v4.connect_retry),
        (179, false, 90, 5)
    );
    assert_eq!(v4.graceful_restart, GracefulRestart::default());
    assert!(!v4.graceful_restart.enabled);

    let v6 = &config.peers[1];
    assert_eq!(v6.families, vec![Family::IPV6_UNICAST]);
    // A graceful_restart table with only `enabled` keeps the other defaults.
    assert_eq!(
        v6.graceful_restart,
        GracefulRestart {
            enabled: true,
            restart_time: 120,
            long_lived_stale_time: 0,
            notification: true,
            selection_deferral_time: 360,
        }
    );

    let route = &config.routes[0];
    assert_eq!(route.family(), Family::IPV6_UNICAST);
    assert_eq!(
        (
            route.next_hop,
            route.med,
            route.local_pref,
            route.as_path_prepend
        ),
        (None, None, None, 0)
    );
    assert!(route.communities.is_empty() && route.large_communities.is_empty());
}

#[test]
fn control_socket_defaults_into_the_state_dir() {
    let text = GLOBAL.replace("listen", "state_dir = \"/tmp/b\"\nlisten");
    assert_eq!(
        parse_ok(&text).global.control_socket,
        Path::new("/tmp/b/batond.sock")
    );
}

#[test]
fn empty_listen_and_empty_api_are_allowed() {
    let text = GLOBAL.replace("[\"198.18.0.1:179\"]", "[]") + "[api]\n";
    let config = parse_ok(&text);
    assert!(config.global.listen.is_empty());
    assert_eq!(config.api, Some(Api::default()));
}

#[test]
fn the_api_token_is_read_from_its_file_without_surrounding_whitespace() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    api::write_secret(&file, "  s3cret-token\n");
    let text = format!(
        "{GLOBAL}[api]\ntoken_file = {:?}\n",
        file.display().to_string()
    );
    let api = parse_ok(&text).api.unwrap();
    assert_eq!(api.token_file.as_deref(), Some(file.as_path()));
    assert_eq!(api.read_token(), Ok(Some("s3cret-token".to_string())));
    assert_eq!(Api::default().read_token(), Ok(None));
}

#[test]
fn an_empty_or_unreadable_token_file_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    api::write_secret(&file, " \n");
    let text = format!(
        "{GLOBAL}[api]\nlisten = \"127.0.0.1:8179\"\ntoken_file = {:?}\n",
        file.display().to_string()
    );
    let err = parse(&text, "baton.toml").unwrap_err();
    assert_eq!(err.field(), Some("api.token_file"), "{err}");
    assert_eq!(err.position().map(|p| p.line), Some(7), "{err}");
    assert!(err.to_string().contains("is empty"), "{err}");
    // A directory cannot be read as a file.
    let text = format!(
        "{GLOBAL}[api]\ntoken_file = {:?}\n",
        dir.path().display().to_string()
    );
    let err = parse(&text, "baton.toml").unwrap_err();
    assert_eq!(err.field(), Some("api.token_file"), "{err}");
    assert!(
        err.to_string().contains("cannot read the token file"),
        "{err}"
    );
}

#[test]
fn session_families_default_to_the_address_family() {
    let mut peer = Peer::new(ip("2001:db8::2"), 65002);
    assert_eq!(peer.session_families(), vec![Family::IPV6_UNICAST]);
    peer.families = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
    assert_eq!(peer.session_families(), peer.families);
    assert!(peer.is_internal(65002) && !peer.is_internal(65001));
}

/// One mistake: the text, then where it must be reported and words the message must contain.
struct Case {
    name: &'static str,
    text: String,
    line: usize,
    field: Option<&'static str>,
    needle: &'static str,
}

fn case(
    name: &'static str,
    text: String,
    line: usize,
    field: Option<&'static str>,
    needle: &'static str,
) -> Case {
    Case {
        name,
        text,
        line,
        field,
        needle,
    }
}

fn global_with(key: &str, value: &str) -> String {
    let line = GLOBAL
        .lines()
        .find(|l| l.starts_with(key))
        .expect("key of GLOBAL");
    GLOBAL.replace(line, &format!("{key} = {value}"))
}

// One case per line, so the list reads as a table.
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let gr =
        |line: &str| format!("{GLOBAL}{PEER}[peer.graceful_restart]\nenabled = true\n{line}\n");
    let route = |lines: &str| format!("{GLOBAL}[[route]]\nprefix = \"192.0.2.0/24\"\n{lines}\n");
    let peer_with = |line: &str| format!("{GLOBAL}{PEER}{line}\n");
    vec![
        case("unknown field", format!("{GLOBAL}bogus = 1\n"), 5, Some("global.bogus"), "unknown field, expected one of `asn`"),
        case("unknown table", format!("{GLOBAL}[bogus]\nx = 1\n"), 5, Some("bogus"), "unknown field"),
        case("unknown field in graceful_restart", gr("restart = 1"), 10, Some("peer[0].graceful_restart.restart"), "unknown field"),
        case("wrong type", global_with("asn", "\"65001\""), 2, Some("global.asn"), "invalid type: string \"65001\", expected u32"),
        case("AS 0", global_with("asn", "0"), 2, Some("global.asn"), "AS 0 is not a valid AS number"),
        case("AS too large", global_with("asn", "4294967296"), 2, Some("global.asn"), "4294967296 is out of range 0..=4294967295"),
        case("AS 0 on the second peer", format!("{GLOBAL}{PEER}\n[[peer]]\naddress = \"198.18.0.3\"\nremote_as = 0\n"), 11, Some("peer[1].remote_as"), "AS 0 is not a valid AS number"),
        case("AS_TRANS", peer_with("").replace("65002", "23456"), 7, Some("peer[0].remote_as"), "AS_TRANS"),
        case("router_id 0.0.0.0", global_with("router_id", "\"0.0.0.0\""), 3, Some("global.router_id"), "0.0.0.0 is not a valid BGP identifier"),
        case("router_id IPv6", global_with("router_id", "\"2001:db8::1\""), 3, Some("global.router_id"), "invalid IPv4 address syntax"),
        case("missing listen", GLOBAL.replace("listen = [\"198.18.0.1:179\"]\n", ""), 1, Some("global.listen"), "missing required field"),
        case("duplicate listen", global_with("listen", "[\n  \"198.18.0.1:179\",\n  \"198.18.0.1:179\",\n]"), 6, Some("global.listen[1]"), "198.18.0.1:179 is listed twice (also global.listen[0])"),
        case("control socket mode not octal", global_with("listen", "[]\ncontrol_socket_mode = \"0680\""), 5, Some("global.control_socket_mode"), "not an octal mode"),
        case("control socket mode as a number", global_with("listen", "[]\ncontrol_socket_mode = 660"), 5, Some("global.control_socket_mode"), "octal mode as a string"),
        case("control socket group unknown", global_with("listen", "[]\ncontrol_socket_group = \"no-such-group-here\""), 5, Some("global.control_socket_group"), "no group named"),
        case("empty control_socket", global_with("listen", "[]\ncontrol_socket = \"\""), 5, Some("global.control_socket"), "the path is empty"),
        case("control socket too long", global_with("listen", &format!("[]\nstate_dir = \"/{}\"", "s".repeat(100))), 5, Some("global.state_dir"), "Unix sockets allow at most 107"),
        case("api listen without port", format!("{GLOBAL}[api]\nlisten = \"127.0.0.1\"\n"), 6, Some("api.listen"), "invalid socket address syntax"),
        case("api listen on a BGP address", format!("{GLOBAL}[api]\nlisten = \"198.18.0.1:179\"\n"), 6, Some("api.listen"), "also a BGP listen address (global.listen[0])"),
        case("api token_file missing", format!("{GLOBAL}[api]\ntoken_file = \"/nonexistent/baton-token\"\n"), 6, Some("api.token_file"), "cannot read the token file /nonexistent/baton-token"),
        case("api max_connections 0", format!("{GLOBAL}[api]\nmax_connections = 0\n"), 6, Some("api.max_connections"), "0 is out of range 1..=65536"),
        case("api header_timeout 0", format!("{GLOBAL}[api]\nheader_timeout = 0\n"), 6, Some("api.header_timeout"), "0 is out of range 1..=3600"),
        case("api idle_timeout a day", format!("{GLOBAL}[api]\nlisten = \"127.0.0.1:8179\"\nidle_timeout = 86400\n"), 7, Some("api.idle_timeout"), "86400 is out of range 1..=3600"),
        case("api idle_timeout text", format!("{GLOBAL}[api]\nidle_timeout = \"60s\"\n"), 6, Some("api.idle_timeout"), "expected an integer in 1..=3600"),
        case("api token_file empty path", format!("{GLOBAL}[api]\ntoken_file = \"\"\n"), 6, Some("api.token_file"), "the path is empty"),
        case("missing remote_as", format!("{GLOBAL}[[peer]]\naddress = \"198.18.0.2\"\n"), 5, Some("peer[0].remote_as"), "missing required field"),
        case("peer address multicast", PEER.replace("198.18.0.2", "224.0.0.5") + GLOBAL, 2, Some("peer[0].address"), "not a unicast address"),
        case("duplicate peer", format!("{GLOBAL}{PEER}\n[[peer]]\naddress = \"198.18.0.2\"\nremote_as = 65003\n"), 10, Some("peer[1].address"), "198.18.0.2 is already the address of peer[0]"),
        case("port 0", peer_with("port = 0"), 8, Some("peer[0].port"), "0 is out of range 1..=65535"),
        case("port too large", peer_with("port = 70000"), 8, Some("peer[0].port"), "70000 is out of range 1..=65535"),
        case("hold_time 2", peer_with("hold_time = 2"), 8, Some("peer[0].hold_time"), "hold time 2 is not allowed: it must be 0 or at least 3"),
        case("connect_retry 0", peer_with("connect_retry = 0"), 8, Some("peer[0].connect_retry"), "at least 1 second"),
        case("unknown family", peer_with("families = [\"ipv4-unicast\", \"ipv5-unicast\"]"), 8, Some("peer[0].families[1]"), "unknown address family \"ipv5-unicast\""),
        case("empty families", peer_with("families = []"), 8, Some("peer[0].families"), "the list is empty"),
        case("duplicate family", peer_with("families = [\"ipv4-unicast\", \"ipv4\"]"), 8, Some("peer[0].families[1]"), "ipv4-unicast is listed twice"),
        case("local_address family", peer_with("local_address = \"2001:db8::1\""), 8, Some("peer[0].local_address"), "2001:db8::1 is IPv6 but the peer address 198.18.0.2 is IPv4"),
        case("restart_time 5000", gr("restart_time = 5000"), 10, Some("peer[0].graceful_restart.restart_time"), "at most 4095 seconds"),
        case("long-lived stale time too long", gr("long_lived_stale_time = 16777216"), 10, Some("peer[0].graceful_restart.long_lived_stale_time"), "at most 16777215"),
        case("gr wrong type", gr("notification = \"yes\""), 10, Some("peer[0].graceful_restart.notification"), "expected a boolean"),
        case("host bits", format!("{GLOBAL}[[route]]\nprefix = \"192.0.2.1/24\"\n"), 6, Some("route[0].prefix"), "192.0.2.1/24 has host bits set (did you mean 192.0.2.0/24?)"),
        case("prefix too long", format!("{GLOBAL}[[route]]\nprefix = \"192.0.2.0/33\"\n"), 6, Some("route[0].prefix"), "too long"),
        case("prefix not a string", format!("{GLOBAL}[[route]]\nprefix = 5\n"), 6, Some("route[0].prefix"), "expected a prefix such as"),
        case("missing prefix", format!("{GLOBAL}[[route]]\nmed = 5\n"), 5, Some("route[0].prefix"), "missing required field"),
        case("bad community", route("communities = [\"65001:1\", \"65536:1\"]"), 7, Some("route[0].communities[1]"), "\"65536:1\" is not a community: 65536 is larger than 65535"),
        case("community garbage", route("communities = [\"no-exports\"]"), 7, Some("route[0].communities[0]"), "is not a community"),
        case("bad large community", route("large_communities = [\"65001:1\"]"), 7, Some("route[0].large_communities[0]"), "\"65001:1\" is not a large community"),
        case("next_hop family", route("next_hop = \"2001:db8::1\""), 7, Some("route[0].next_hop"), "next hop 2001:db8::1 is IPv6 but prefix 192.0.2.0/24 is IPv4"),
        case("as_path_prepend 11", route("as_path_prepend = 11"), 7, Some("route[0].as_path_prepend"), "at most 10"),
        case("med negative", route("med = -1"), 7, Some("route[0].med"), "-1 is out of range 0..=4294967295"),
        case("duplicate route", format!("{GLOBAL}[[route]]\nprefix = \"192.0.2.0/24\"\n[[route]]\nprefix = \"192.0.2.0/24\"\n"), 8, Some("route[1].prefix"), "192.0.2.0/24 is already originated by route[0]"),
        case("unknown field in an inline table", peer_with("graceful_restart = { enabled = true, restart = 1 }"), 8, Some("peer[0].graceful_restart.restart"), "unknown field"),
        case("table instead of array of tables", format!("{GLOBAL}[peer]\naddress = \"198.18.0.2\"\nremote_as = 65002\n"), 5, Some("peer"), "expected a sequence"),
        case("syntax: missing bracket", format!("{GLOBAL}[[peer]\naddress = \"198.18.0.2\"\n"), 5, None, "invalid table header"),
        case("syntax: unterminated string", global_with("router_id", "\"198.18.0.1"), 3, None, "invalid basic string"),
        case("syntax: duplicate key", format!("{GLOBAL}asn = 65002\n"), 5, None, "duplicate key `asn`"),
    ]
}

#[test]
fn every_mistake_names_file_line_and_field() {
    let mut cases = cases();
    assert!(cases.len() >= 20);
    cases.extend(fib::cases());
    cases.extend(security::cases());
    for c in cases {
        let err = match parse(&c.text, "config/baton.toml") {
            Ok(config) => panic!("{}: accepted: {config:?}", c.name),
            Err(e) => e,
        };
        let shown = err.to_string();
        assert_eq!(err.file(), "config/baton.toml", "{}: {shown}", c.name);
        assert_eq!(
            err.position().map(|p| p.line),
            Some(c.line),
            "{}: {shown}",
            c.name
        );
        assert_eq!(err.field(), c.field, "{}: {shown}", c.name);
        let prefix = match c.field {
            Some(field) => format!("config/baton.toml:{}:", c.line) + "{col}: " + field + ": ",
            None => format!("config/baton.toml:{}:", c.line) + "{col}: ",
        };
        let col = err.position().unwrap().column;
        assert!(
            shown.starts_with(&prefix.replace("{col}", &col.to_string())),
            "{}: {shown}",
            c.name
        );
        assert!(shown.contains(c.needle), "{}: {shown}", c.name);
        assert!(!shown.contains('\n'), "{}: one line: {shown:?}", c.name);
    }
}

#[test]
fn error_message_is_exact() {
    let text = format!("{GLOBAL}{PEER}\n[[peer]]\naddress = \"198.18.0.3\"\nremote_as = 0\n");
    assert_eq!(
        parse(&text, "config/baton.toml").unwrap_err().to_string(),
        "config/baton.toml:11:13: peer[1].remote_as: AS 0 is not a valid AS number (RFC 7607)"
    );
}

#[test]
fn columns_point_at_the_value() {
    let text = format!(
        "{GLOBAL}[[route]]\nprefix = \"192.0.2.0/24\"\ncommunities = [\"65001:1\", \"65536:1\"]\n"
    );
    let pos = parse(&text, "f").unwrap_err().position().unwrap();
    assert_eq!(
        pos,
        Position {
            line: 7,
            column: 27
        }
    );
    // Columns count characters, not bytes.
    let text = format!("{GLOBAL}[[peer]]\ndescription = \"é\"\naddress = \"198.18.0.2\"\nremote_as = 65002\nhold_time = 1\n");
    let pos = parse(&text, "f").unwrap_err().position().unwrap();
    assert_eq!(
        pos,
        Position {
            line: 9,
            column: 13
        }
    );
}

#[test]
fn missing_global_names_the_table() {
    let err = parse(PEER, "baton.toml").unwrap_err();
    assert_eq!(err.field(), Some("global"), "{err}");
    assert!(
        err.to_string().contains("global: missing required field"),
        "{err}"
    );
}

#[test]
fn shipped_configs_parse() {
    let default = Config::default_config();
    assert_eq!(default.global.asn, 65001);
    assert_eq!(default.global.listen, vec![sock("127.0.0.1:1179")]);
    assert_eq!(
        default.global.control_socket,
        Path::new("./state/batond.sock")
    );
    assert_eq!(
        default.api.as_ref().and_then(|a| a.listen),
        Some(sock("127.0.0.1:8179"))
    );
    let peer = default.peer(ip("127.0.0.2")).expect("the local peer");
    assert!(peer.passive);
    assert_eq!(peer.remote_as, 65002);
    assert_eq!(
        default.routes[0].prefix,
        "192.0.2.0/24".parse::<Prefix>().unwrap()
    );
    assert!(!default.routes[0].communities.is_empty());

    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = load(&manifest.join("config/example.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(example
        .peers
        .iter()
        .any(|p| p.is_internal(example.global.asn)));
    assert!(example
        .peers
        .iter()
        .any(|p| !p.is_internal(example.global.asn)));
    assert!(example.peers.iter().any(|p| p.address.is_ipv6()));
    assert!(example.peers.iter().any(|p| p.graceful_restart.enabled));
    assert!(example
        .routes
        .iter()
        .any(|r| r.family() == Family::IPV6_UNICAST));
}

#[test]
fn serialized_config_parses_back_to_itself() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for config in [
        Config::default_config(),
        load(&manifest.join("config/example.toml")).unwrap(),
    ] {
        let text = toml::to_string(&config).unwrap();
        assert_eq!(parse(&text, "serialized").unwrap(), config, "{text}");
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), config);
    }
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.toml");
    let err = load(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(
        err.to_string()
            .starts_with(&format!("{}: ", path.display())),
        "{err}"
    );

    std::fs::write(&path, global_with("asn", "0")).unwrap();
    let err = load(&path).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2:7: global.asn: ", path.display())),
        "{err}"
    );

    std::fs::write(&path, GLOBAL).unwrap();
    assert_eq!(load(&path).unwrap().global.asn, 65001);
}
