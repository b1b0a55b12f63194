//! What batonctl prints for every command, human and `--json`, from fixed, realistic replies:
//! `tests/snapshots/render/<command>.txt` and `.json`. The replies go through
//! `baton::ctl::render::output`, the function batonctl prints with, so a change to a table or a
//! view shows up here as a diff to review. `BATON_UPDATE_SNAPSHOTS=1` rewrites the files.
//!
//! A new command's snapshot is one line in [`cases`]: its name, the request, a reply.
//! `ctl_live.rs` checks the same commands against a running daemon.

mod common;

use std::net::IpAddr;

use baton::config::{GracefulRestart, Peer, Plan};
use baton::ctl::{
    render, AdjInView, FamilyCountersView, FibDifferView, FibRouteView, FibView, NeighborChange,
    NeighborChangeView, NeighborDetailView, NeighborView, PeerUpgradeView, ReloadView, Request,
    RibView, RouteAddView, RouteDelView, RouteView, StatusView, UpgradeView,
};
use baton::session::SessionState;
use common::snapshot::Snapshots;
use serde::Serialize;
use serde_json::Value;

/// Every command: the snapshot's name, what batonctl sends, what the daemon answers.
fn cases() -> Vec<(&'static str, Request, Value)> {
    let peer = ip("198.18.0.2");
    let added = ip("198.18.0.9");
    let changed = |change| {
        json(NeighborChangeView {
            address: peer,
            change,
        })
    };
    vec![
        ("neighbor-list", Request::Neighbors, json(neighbors())),
        (
            "neighbor",
            Request::Neighbor { address: peer },
            json(detail()),
        ),
        (
            "neighbor-disabled",
            Request::Neighbor { address: added },
            json(disabled()),
        ),
        ("adj-in", adj_in(None), json(adj_in_routes())),
        (
            "adj-in-prefix",
            adj_in(Some("198.19.10.0/24")),
            json(vec![adj_in_routes().remove(0)]),
        ),
        ("adj-out", adj_out(), json(adj_out_routes())),
        (
            "rib",
            Request::Rib {
                family: None,
                prefix: None,
            },
            json(rib()),
        ),
        (
            "route-add",
            route_add(),
            json(RouteAddView { announced: 1 }),
        ),
        (
            "route-del",
            route_del(),
            json(RouteDelView { withdrawn: 2 }),
        ),
        ("neighbor-add", neighbor_add(), json(added_view())),
        (
            "neighbor-del",
            Request::NeighborDel { address: peer },
            changed(NeighborChange::Deleted),
        ),
        (
            "neighbor-enable",
            Request::NeighborEnable { address: peer },
            changed(NeighborChange::Enabled),
        ),
        (
            "neighbor-disable",
            Request::NeighborDisable { address: peer },
            changed(NeighborChange::Disabled),
        ),
        (
            "neighbor-reset",
            reset(false),
            changed(NeighborChange::Reset),
        ),
        (
            "neighbor-reset-soft",
            reset(true),
            changed(NeighborChange::SoftReset),
        ),
        ("fib", Request::Fib, json(fib())),
        ("status", Request::Status, json(status())),
        ("status-crash-loop", Request::Status, json(crash_loop())),
        (
            "status-state-not-writable",
            Request::Status,
            json(state_not_writable()),
        ),
        ("upgrade", upgrade_request(), json(upgrade())),
        ("upgrade-failed", upgrade_request(), json(upgrade_failed())),
        ("reload", Request::Reload { dry_run: true }, json(reload())),
        (
            "reload-restart",
            Request::Reload { dry_run: false },
            json(reload_restart()),
        ),
        (
            "reload-nothing",
            Request::Reload { dry_run: false },
            json(reload_nothing()),
        ),
    ]
}

#[test]
fn every_command_prints_what_its_snapshots_say() {
    let mut snapshots = Snapshots::new("render");
    for (name, request, reply) in cases() {
        for (json, ext) in [(false, "txt"), (true, "json")] {
            let text = render::output(&request, reply.clone(), json)
                .unwrap_or_else(|e| panic!("{name}: the reply is not the view asked for: {e}"));
            snapshots.check(&format!("{name}.{ext}"), &text);
        }
    }
    upgrade_steps(&mut snapshots);
    snapshots.finish();
}

/// `batonctl upgrade` prints each step as it arrives, before the report: the steps of the
/// upgrade of [`upgrade()`], human and as JSON lines (`upgrade-events`).
fn upgrade_steps(snapshots: &mut Snapshots) {
    use baton::ctl::{UpgradeEvent, UpgradeStep as S};
    use baton::handoff::{Progress, ProgressKind as K};
    use baton::wire::Family;
    let (v4, v6) = (ip("198.18.0.2"), ip("2001:db8::3"));
    let progress = |peer, family, kind, elapsed_ms| S::Progress {
        generation: 2,
        progress: Progress {
            peer,
            family,
            kind,
            elapsed_ms,
        },
    };
    let steps = vec![
        (
            3,
            S::Started {
                generation: 2,
                pid: 4242,
                binary: "/usr/sbin/batond".into(),
            },
        ),
        (
            21,
            S::Hello {
                generation: 2,
                version: "0.1.0+5a6b7c8d".into(),
                protocol: 2,
            },
        ),
        (
            180,
            S::Ready {
                generation: 2,
                peers_up: vec![],
            },
        ),
        (180, S::Quiesce { generation: 1 }),
        (236, S::Quiesced { generation: 1 }),
        (
            236,
            S::Activated {
                generation: 2,
                expect: vec![v4, v6],
            },
        ),
        (
            241,
            S::Exited {
                generation: 1,
                how: "exit status: 0".into(),
            },
        ),
        (
            1190,
            progress(v6, Family::IPV6_UNICAST, K::Established, 954),
        ),
        (
            1204,
            progress(v4, Family::IPV4_UNICAST, K::Established, 968),
        ),
        (
            1270,
            progress(v6, Family::IPV6_UNICAST, K::EndOfRibReceived, 1034),
        ),
        (
            1311,
            progress(v4, Family::IPV4_UNICAST, K::EndOfRibSent, 1075),
        ),
        (
            1375,
            progress(v6, Family::IPV6_UNICAST, K::EndOfRibSent, 1139),
        ),
        (
            1375,
            S::Done {
                generation: 2,
                peers_up: vec![v4, v6],
            },
        ),
    ];
    for (as_json, ext) in [(false, "txt"), (true, "json")] {
        let mut text: String = steps
            .iter()
            .map(|(ms, step)| {
                let event = UpgradeEvent {
                    ms: *ms,
                    step: step.clone(),
                };
                render::event_output(&Ok(event), as_json)
            })
            .collect();
        text += &render::output(&upgrade_request(), json(upgrade()), as_json).unwrap();
        snapshots.check(&format!("upgrade-events.{ext}"), &text);
    }
    let unknown = Err(serde_json::json!({"ms": 5, "event": "teleport"}));
    assert_eq!(render::event_output(&unknown, false), "");
    assert_eq!(
        render::event_output(&unknown, true),
        "{\"event\":\"teleport\",\"ms\":5}\n"
    );
}

#[test]
fn every_request_survives_the_socket() {
    for (name, request, _) in cases() {
        let line = serde_json::to_string(&request).unwrap();
        let back: Request = serde_json::from_str(&line).unwrap();
        assert_eq!(back, request, "{name}: {line}");
    }
}

fn json(view: impl Serialize) -> Value {
    serde_json::to_value(view).expect("views serialize")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn adj_in(prefix: Option<&str>) -> Request {
    Request::AdjIn {
        address: ip("198.18.0.2"),
        family: Some("ipv4".into()),
        prefix: prefix.map(str::to_string),
    }
}

fn adj_out() -> Request {
    Request::AdjOut {
        address: ip("198.18.0.2"),
        family: None,
        prefix: None,
    }
}

fn route_add() -> Request {
    let route = baton::ctl::route_args::parse(
        "198.19.1.0/24",
        &[
            "community".into(),
            "65001:7".into(),
            "med".into(),
            "10".into(),
        ],
    )
    .unwrap();
    Request::RouteAdd {
        routes: vec![route],
    }
}

fn route_del() -> Request {
    Request::RouteDel {
        prefixes: vec!["198.19.1.0/24".into(), "198.19.2.0/24".into()],
    }
}

fn neighbor_add() -> Request {
    let words = "as 65009 passive description lab"
        .split(' ')
        .map(String::from);
    Request::NeighborAdd {
        peer: Box::new(
            baton::ctl::neighbor_args::parse("198.18.0.9", &words.collect::<Vec<_>>()).unwrap(),
        ),
    }
}

fn reset(soft: bool) -> Request {
    Request::NeighborReset {
        address: ip("198.18.0.2"),
        soft,
    }
}

fn upgrade_request() -> Request {
    Request::Upgrade {
        binary: None,
        timeout_secs: 60,
        events: true,
    }
}

fn counters(
    family: &str,
    received: usize,
    accepted: usize,
    advertised: usize,
) -> FamilyCountersView {
    FamilyCountersView {
        family: family.into(),
        received,
        accepted,
        advertised,
    }
}

/// The gobgpd peer, up for 3 h 25 min 7 s.
fn gobgp_peer() -> NeighborView {
    NeighborView {
        address: ip("198.18.0.2"),
        remote_as: 65002,
        description: Some("gobgpd in the lab".into()),
        state: SessionState::Established,
        uptime_secs: Some(3 * 3600 + 25 * 60 + 7),
        end_of_rib_sent_ms: Some(12),
        end_of_rib_received_ms: Some(20),
        remote_id: Some("198.18.0.2".into()),
        last_error: Some("peer sent Cease / Administrative Reset".into()),
        established_count: 2,
        martian_next_hops: 3,
        graceful_restart: "Idle".into(),
        families: vec![counters("ipv4-unicast", 3, 2, 2)],
    }
}

fn neighbors() -> Vec<NeighborView> {
    let bird = NeighborView {
        address: ip("2001:db8::3"),
        remote_as: 65003,
        description: None,
        state: SessionState::Established,
        uptime_secs: Some(59),
        end_of_rib_sent_ms: Some(4),
        end_of_rib_received_ms: Some(20),
        remote_id: Some("198.18.0.3".into()),
        last_error: None,
        established_count: 1,
        martian_next_hops: 0,
        graceful_restart: "Idle".into(),
        families: vec![
            counters("ipv4-unicast", 0, 0, 2),
            counters("ipv6-unicast", 1, 1, 1),
        ],
    };
    vec![gobgp_peer(), bird, added_view()]
}

fn detail() -> NeighborDetailView {
    let mut config = Peer::new(ip("198.18.0.2"), 65002);
    config.hold_time = 180;
    config.description = Some("gobgpd in the lab".into());
    config.families = vec!["ipv4-unicast".parse().unwrap()];
    config.graceful_restart = GracefulRestart {
        enabled: true,
        ..GracefulRestart::default()
    };
    NeighborDetailView {
        status: gobgp_peer(),
        source: "config".into(),
        enabled: true,
        negotiated_hold_time: Some(90),
        config,
    }
}

/// The neighbor `neighbor add` added, then disabled.
fn disabled() -> NeighborDetailView {
    let mut status = added_view();
    status.last_error = Some("administratively disabled".into());
    let mut config = Peer::new(ip("198.18.0.9"), 65009);
    config.passive = true;
    config.description = Some("lab".into());
    config.local_address = Some(ip("198.18.0.1"));
    config.families = vec!["ipv4-unicast".parse().unwrap()];
    NeighborDetailView {
        status,
        source: "api".into(),
        enabled: false,
        negotiated_hold_time: None,
        config,
    }
}

fn added_view() -> NeighborView {
    NeighborView {
        address: ip("198.18.0.9"),
        remote_as: 65009,
        description: Some("lab".into()),
        state: SessionState::Idle,
        uptime_secs: None,
        end_of_rib_sent_ms: None,
        end_of_rib_received_ms: None,
        remote_id: None,
        last_error: None,
        established_count: 0,
        martian_next_hops: 0,
        graceful_restart: "Idle".into(),
        families: vec![counters("ipv4-unicast", 0, 0, 0)],
    }
}

#[allow(clippy::too_many_arguments)] // One route, every attribute spelled out.
fn route(
    prefix: &str,
    source: &str,
    next_hop: Option<&str>,
    as_path: &[u32],
    as_path_text: &str,
    med: Option<u32>,
    communities: &[&str],
    large: &[&str],
) -> RouteView {
    RouteView {
        prefix: prefix.into(),
        source: source.into(),
        next_hop: next_hop.map(str::to_string),
        origin: Some("igp".into()),
        as_path: as_path.to_vec(),
        as_path_text: as_path_text.into(),
        med,
        local_pref: None,
        communities: communities.iter().map(|c| c.to_string()).collect(),
        large_communities: large.iter().map(|c| c.to_string()).collect(),
        best: None,
        stale: false,
        accepted: None,
    }
}

/// What gobgpd sent: a plain route, one through an AS_SET, one our acceptance refused (our own
/// AS in its path), kept stale after a graceful restart of the peer.
fn adj_in_routes() -> Vec<RouteView> {
    let g = "198.18.0.2";
    let mut plain = route(
        "198.19.10.0/24",
        g,
        Some(g),
        &[65002],
        "65002",
        Some(50),
        &["65002:100"],
        &[],
    );
    plain.accepted = Some(true);
    let mut set = route(
        "198.19.11.0/24",
        g,
        Some(g),
        &[65002, 65010, 65020, 65021],
        "65002 65010 {65020 65021}",
        None,
        &[],
        &["65002:1:1"],
    );
    set.accepted = Some(true);
    set.stale = true;
    let mut looped = route(
        "198.19.12.0/24",
        g,
        Some(g),
        &[65002, 65001],
        "65002 65001",
        None,
        &[],
        &[],
    );
    looped.accepted = Some(false);
    vec![plain, set, looped]
}

/// What we send gobgpd: a route of the configuration file, one added at run time, one learned
/// from bird.
fn adj_out_routes() -> Vec<RouteView> {
    let mut api = route(
        "198.19.1.0/24",
        "api",
        Some("198.18.0.1"),
        &[65001],
        "65001",
        Some(10),
        &["65001:7"],
        &[],
    );
    api.origin = Some("incomplete".into());
    vec![
        api,
        route(
            "198.19.3.0/24",
            "198.18.0.3",
            Some("198.18.0.1"),
            &[65001, 65003],
            "65001 65003",
            None,
            &[],
            &[],
        ),
        route(
            "198.19.255.0/24",
            "config",
            Some("198.18.0.1"),
            &[65001],
            "65001",
            None,
            &["65001:100", "no-export"],
            &[],
        ),
    ]
}

fn rib() -> RibView {
    let mut ours = route(
        "198.19.255.0/24",
        "local",
        None,
        &[],
        "",
        None,
        &["65001:100"],
        &[],
    );
    ours.best = Some(true);
    let mut learned = adj_in_routes();
    learned.truncate(2);
    let mut loc_rib: Vec<RouteView> = learned
        .iter()
        .cloned()
        .map(|mut r| {
            r.accepted = None;
            r.best = Some(true);
            r
        })
        .collect();
    let mut backup = route(
        "198.19.10.0/24",
        "198.18.0.3",
        Some("198.18.0.3"),
        &[65003, 65002],
        "65003 65002",
        None,
        &[],
        &[],
    );
    backup.best = Some(false);
    loc_rib.insert(1, backup);
    loc_rib.push(ours);
    RibView {
        loc_rib,
        adj_rib_in: vec![AdjInView {
            peer: ip("198.18.0.2"),
            routes: learned,
        }],
    }
}

fn status() -> StatusView {
    StatusView {
        supervisor_pid: 4242,
        supervisor_version: "0.1.0+1f2e3d4c".into(),
        uptime_secs: 2 * 86400 + 3600 + 61,
        speaker_pid: Some(4317),
        generation: 2,
        version: Some("0.1.0+5a6b7c8d".into()),
        binary: Some("/usr/sbin/batond".into()),
        speaker_uptime_secs: Some(600),
        crashes: 0,
        crash_loop: false,
        consecutive_crashes: 0,
        next_restart_delay_ms: 0,
        restart_in_ms: None,
        upgrading: false,
        last_upgrade: Some(upgrade()),
        state_problems: Vec::new(),
        state_not_writable: None,
    }
}

fn crash_loop() -> StatusView {
    StatusView {
        speaker_pid: None,
        generation: 7,
        version: None,
        binary: None,
        speaker_uptime_secs: None,
        crashes: 5,
        crash_loop: true,
        consecutive_crashes: 4,
        next_restart_delay_ms: 4000,
        restart_in_ms: Some(1730),
        last_upgrade: None,
        state_problems: vec!["intent.state: bad checksum; used intent.state.prev".into()],
        ..status()
    }
}

fn state_not_writable() -> StatusView {
    StatusView {
        generation: 3,
        crashes: 1,
        consecutive_crashes: 1,
        next_restart_delay_ms: 500,
        state_not_writable: Some("/var/lib/baton: Read-only file system (os error 30)".into()),
        ..status()
    }
}

fn upgrade() -> UpgradeView {
    UpgradeView {
        ok: true,
        reason: None,
        binary: "/usr/sbin/batond".into(),
        from_generation: 1,
        from_version: Some("0.1.0+1f2e3d4c".into()),
        to_generation: 2,
        to_version: Some("0.1.0+5a6b7c8d".into()),
        duration_ms: 1375,
        peers: vec![
            PeerUpgradeView {
                peer: ip("198.18.0.2"),
                established_ms: Some(1204),
                end_of_rib_ms: Some(1311),
            },
            PeerUpgradeView {
                peer: ip("2001:db8::3"),
                established_ms: Some(1190),
                end_of_rib_ms: Some(1375),
            },
        ],
    }
}

fn upgrade_failed() -> UpgradeView {
    UpgradeView {
        ok: false,
        reason: Some("198.18.0.2 not back within 60 s: rolled back to generation 1".into()),
        to_generation: 1,
        to_version: Some("0.1.0+1f2e3d4c".into()),
        duration_ms: 60002,
        peers: vec![PeerUpgradeView {
            peer: ip("198.18.0.2"),
            established_ms: None,
            end_of_rib_ms: None,
        }],
        ..upgrade()
    }
}

fn reload() -> ReloadView {
    use baton::config::plan::{PeerAction, PeerPlan, RoutePlan};
    ReloadView {
        file: "/etc/baton/baton.toml".into(),
        dry_run: true,
        applied: false,
        plan: Plan {
            peers: vec![PeerPlan {
                address: ip("198.18.0.2"),
                action: PeerAction::Update,
                changes: vec!["hold_time".into()],
                session_reset: true,
            }],
            peers_unchanged: 1,
            advertise: vec!["198.19.4.0/24".into()],
            update: vec![RoutePlan {
                prefix: "198.19.255.0/24".into(),
                changes: vec!["communities".into()],
            }],
            routes_unchanged: 1,
            ..Plan::default()
        },
        restart: None,
        supervisor_not_replaced: None,
    }
}

/// A reload that removed a peer and changed the router id: the speaker restarted gracefully.
fn reload_restart() -> ReloadView {
    use baton::config::plan::{PeerAction, PeerPlan};
    ReloadView {
        dry_run: false,
        applied: true,
        plan: Plan {
            restart_speaker: vec!["global.router_id".into()],
            peers: vec![PeerPlan {
                address: ip("198.18.0.3"),
                action: PeerAction::Remove,
                changes: Vec::new(),
                session_reset: true,
            }],
            peers_unchanged: 1,
            withdraw: (0..12).map(|i| format!("198.19.{i}.0/24")).collect(),
            ..Plan::default()
        },
        restart: Some(upgrade()),
        ..reload()
    }
}

fn reload_nothing() -> ReloadView {
    ReloadView {
        dry_run: false,
        applied: true,
        plan: Plan {
            peers_unchanged: 2,
            routes_unchanged: 3,
            ..Plan::default()
        },
        ..reload()
    }
}

/// A kernel table with one route of each state: ok (multipath), missing, unexpected, differing.
fn fib() -> FibView {
    let r = |prefix: &str, via: &[&str], peer: Option<&str>| FibRouteView {
        prefix: prefix.into(),
        via: via.iter().map(|g| ip(g)).collect(),
        src: None,
        metric: 20,
        peer: peer.map(ip),
    };
    let ok = r(
        "198.18.100.0/24",
        &["198.18.0.2", "198.18.0.3"],
        Some("198.18.0.2"),
    );
    let missing = r("198.18.101.0/24", &["198.18.0.2"], Some("198.18.0.2"));
    let differing = r("198.18.102.0/24", &["198.18.0.3"], Some("198.18.0.3"));
    let held = r("198.18.102.0/24", &["198.18.0.2"], None);
    let unexpected = r("198.18.103.0/24", &["198.18.0.2"], None);
    FibView {
        table: 254,
        protocol: 200,
        wanted: vec![ok.clone(), missing.clone(), differing.clone()],
        kernel: vec![
            FibRouteView { peer: None, ..ok },
            held.clone(),
            unexpected.clone(),
        ],
        missing: vec![missing],
        unexpected: vec![unexpected],
        differing: vec![FibDifferView {
            wanted: differing,
            kernel: vec![held],
        }],
    }
}
