//! One test per transition of the session state table and per OPEN rule.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::collision::{keep_outgoing, keep_outgoing_with_as};
use super::*;
use crate::wire::{
    notif, Afi, Capability, DecodeError, Family, GrFamily, GracefulRestartCap, Message,
    Notification, Open, RouteRefresh, Safi, Update, AS_TRANS,
};

const LOCAL_AS: u32 = 65001;
const REMOTE_AS: u32 = 65002;
const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const REMOTE_ID: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const RETRY: Duration = Duration::from_secs(30);

fn config() -> SessionConfig {
    SessionConfig {
        local_as: LOCAL_AS,
        remote_as: REMOTE_AS,
        router_id: LOCAL_ID,
        hold_time: 90,
        connect_retry: RETRY,
        passive: false,
        families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        graceful_restart: None,
    }
}

fn passive_config() -> SessionConfig {
    SessionConfig {
        passive: true,
        ..config()
    }
}

/// The OPEN a well-behaved peer of `config()` sends.
fn peer_open() -> Open {
    Open {
        version: 4,
        my_as: REMOTE_AS as u16,
        hold_time: 90,
        bgp_id: REMOTE_ID,
        capabilities: vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::FourOctetAs(REMOTE_AS),
            Capability::ExtendedMessage,
        ],
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn notification(code: u8, subcode: u8) -> Notification {
    Notification::new(code, subcode)
}

fn err_code(r: Result<Negotiated, Notification>) -> (u8, u8) {
    let n = r.expect_err("OPEN should be refused");
    (n.code, n.subcode)
}

/// What a connected session emits when it goes down after sending `n`.
fn down_after_sending(n: Notification) -> Vec<Output> {
    vec![
        Output::Send(Message::Notification(n.clone())),
        Output::Close,
        Output::StopTimer(Timer::Hold),
        Output::StopTimer(Timer::Keepalive),
        Output::Down(DownReason::NotificationSent(n)),
    ]
}

/// What a connected session emits when it goes down without sending anything.
fn down_silently(reason: DownReason) -> Vec<Output> {
    vec![
        Output::Close,
        Output::StopTimer(Timer::Hold),
        Output::StopTimer(Timer::Keepalive),
        Output::Down(reason),
    ]
}

fn open_sent_with(config: SessionConfig) -> Session {
    let mut s = Session::new(config);
    s.handle(Input::ManualStart);
    s.handle(Input::TcpConnected(Direction::Outgoing));
    assert_eq!(s.state(), &State::OpenSent);
    s
}

fn open_sent() -> Session {
    open_sent_with(config())
}

fn open_confirm() -> Session {
    let mut s = open_sent();
    s.handle(Input::Message(Message::Open(peer_open())));
    assert_eq!(s.state().name(), "OpenConfirm");
    s
}

fn established() -> Session {
    let mut s = open_confirm();
    s.handle(Input::Message(Message::Keepalive));
    assert_eq!(s.state().name(), "Established");
    s
}

fn negotiated(s: &Session) -> Negotiated {
    match s.state() {
        State::OpenConfirm(n) | State::Established(n) => n.clone(),
        other => panic!("no negotiated state in {}", other.name()),
    }
}

// ---------------------------------------------------------------------------------------------
// build_open

#[test]
fn build_open_advertises_families_route_refresh_four_octet_as_and_extended_message() {
    let open = build_open(&config());
    assert_eq!(open.version, 4);
    assert_eq!(open.my_as, LOCAL_AS as u16);
    assert_eq!(open.hold_time, 90);
    assert_eq!(open.bgp_id, LOCAL_ID);
    assert_eq!(
        open.capabilities,
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::FourOctetAs(LOCAL_AS),
            Capability::ExtendedMessage,
        ]
    );
}

#[test]
fn four_octet_as_uses_as_trans() {
    let open = build_open(&SessionConfig {
        local_as: 4_200_000_001,
        ..config()
    });
    assert_eq!(open.my_as, AS_TRANS);
    assert!(open
        .capabilities
        .contains(&Capability::FourOctetAs(4_200_000_001)));
    assert_eq!(open.asn(), 4_200_000_001);
}

#[test]
fn largest_two_octet_as_is_sent_as_is() {
    let open = build_open(&SessionConfig {
        local_as: 65535,
        ..config()
    });
    assert_eq!(open.my_as, 65535);
}

#[test]
fn graceful_restart_capability_carries_r_n_bits_and_forwarding_per_family() {
    let open = build_open(&SessionConfig {
        graceful_restart: Some(GrSettings {
            restart_time: 120,
            restarting: true,
            forwarding: vec![Family::IPV6_UNICAST],
            notification: true,
        }),
        ..config()
    });
    let gr = open
        .capabilities
        .iter()
        .find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr.clone()),
            _ => None,
        })
        .expect("graceful restart capability");
    assert_eq!(
        gr,
        GracefulRestartCap {
            restart_state: true,
            notification: true,
            restart_time: 120,
            families: vec![
                GrFamily {
                    family: Family::IPV4_UNICAST,
                    forwarding: false
                },
                GrFamily {
                    family: Family::IPV6_UNICAST,
                    forwarding: true
                },
            ],
        }
    );
}

#[test]
fn graceful_restart_time_is_clamped_to_twelve_bits() {
    let open = build_open(&SessionConfig {
        graceful_restart: Some(GrSettings {
            restart_time: 10_000,
            restarting: false,
            forwarding: vec![],
            notification: false,
        }),
        ..config()
    });
    let gr = open.capabilities.iter().find_map(|c| match c {
        Capability::GracefulRestart(gr) => Some(gr.restart_time),
        _ => None,
    });
    assert_eq!(gr, Some(4095));
}

#[test]
fn no_graceful_restart_capability_unless_configured() {
    let open = build_open(&config());
    assert!(!open
        .capabilities
        .iter()
        .any(|c| matches!(c, Capability::GracefulRestart(_))));
}

// ---------------------------------------------------------------------------------------------
// check_open

#[test]
fn valid_open_is_accepted_with_everything_negotiated() {
    let neg = check_open(&config(), &peer_open()).expect("accepted");
    assert_eq!(neg.remote_as, REMOTE_AS);
    assert_eq!(neg.remote_id, REMOTE_ID);
    assert_eq!(neg.hold_time, 90);
    assert_eq!(neg.keepalive, 30);
    assert_eq!(
        neg.families,
        vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
    );
    assert!(neg.codec.four_octet_as);
    assert!(neg.codec.extended_message);
    assert!(neg.route_refresh);
    assert_eq!(neg.peer_graceful_restart, None);
    assert_eq!(neg.peer_capabilities, peer_open().capabilities);
}

#[test]
fn holdtime_negotiation_uses_minimum() {
    let ours_smaller = check_open(
        &config(),
        &Open {
            hold_time: 180,
            ..peer_open()
        },
    )
    .unwrap();
    assert_eq!((ours_smaller.hold_time, ours_smaller.keepalive), (90, 30));

    let theirs_smaller = check_open(
        &config(),
        &Open {
            hold_time: 9,
            ..peer_open()
        },
    )
    .unwrap();
    assert_eq!((theirs_smaller.hold_time, theirs_smaller.keepalive), (9, 3));
}

#[test]
fn hold_time_zero_on_either_side_negotiates_zero() {
    let theirs = check_open(
        &config(),
        &Open {
            hold_time: 0,
            ..peer_open()
        },
    )
    .unwrap();
    assert_eq!((theirs.hold_time, theirs.keepalive), (0, 0));

    let ours = check_open(
        &SessionConfig {
            hold_time: 0,
            ..config()
        },
        &peer_open(),
    )
    .unwrap();
    assert_eq!((ours.hold_time, ours.keepalive), (0, 0));
}

#[test]
fn hold_time_of_two_is_unacceptable() {
    for hold_time in [1, 2] {
        let r = check_open(
            &config(),
            &Open {
                hold_time,
                ..peer_open()
            },
        );
        assert_eq!(
            err_code(r),
            (notif::OPEN, notif::UNACCEPTABLE_HOLD_TIME),
            "hold time {hold_time}"
        );
    }
    let three = check_open(
        &config(),
        &Open {
            hold_time: 3,
            ..peer_open()
        },
    );
    assert_eq!(three.unwrap().keepalive, 1);
}

#[test]
fn open_with_unsupported_version_sends_2_1_with_version_data() {
    let n = check_open(
        &config(),
        &Open {
            version: 5,
            ..peer_open()
        },
    )
    .unwrap_err();
    assert_eq!(
        n,
        Notification {
            code: notif::OPEN,
            subcode: notif::UNSUPPORTED_VERSION,
            data: vec![0, 4],
        }
    );
}

#[test]
fn open_with_wrong_peer_as_sends_2_2() {
    let open = Open {
        my_as: 65003,
        capabilities: vec![Capability::FourOctetAs(65003)],
        ..peer_open()
    };
    assert_eq!(
        err_code(check_open(&config(), &open)),
        (notif::OPEN, notif::BAD_PEER_AS)
    );
}

#[test]
fn four_octet_as_capability_is_the_peer_as() {
    let config = SessionConfig {
        remote_as: 4_200_000_002,
        ..config()
    };
    let open = Open {
        my_as: AS_TRANS,
        capabilities: vec![Capability::FourOctetAs(4_200_000_002)],
        ..peer_open()
    };
    let neg = check_open(&config, &open).expect("accepted");
    assert_eq!(neg.remote_as, 4_200_000_002);
}

#[test]
fn as_trans_without_four_octet_capability_sends_2_2_for_a_four_octet_peer() {
    let config = SessionConfig {
        remote_as: 4_200_000_002,
        ..config()
    };
    let open = Open {
        my_as: AS_TRANS,
        capabilities: vec![Capability::Multiprotocol(Family::IPV4_UNICAST)],
        ..peer_open()
    };
    assert_eq!(
        err_code(check_open(&config, &open)),
        (notif::OPEN, notif::BAD_PEER_AS)
    );
}

#[test]
fn two_octet_peer_without_four_octet_capability_is_accepted() {
    let open = Open {
        capabilities: vec![],
        ..peer_open()
    };
    let neg = check_open(&config(), &open).expect("accepted");
    assert_eq!(neg.remote_as, REMOTE_AS);
    assert!(!neg.codec.four_octet_as);
}

#[test]
fn peer_as_zero_sends_2_2() {
    let config = SessionConfig {
        remote_as: 0,
        ..config()
    };
    let open = Open {
        my_as: 0,
        capabilities: vec![],
        ..peer_open()
    };
    assert_eq!(
        err_code(check_open(&config, &open)),
        (notif::OPEN, notif::BAD_PEER_AS)
    );
}

#[test]
fn bad_bgp_identifier_sends_2_3() {
    for bgp_id in [Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST] {
        let r = check_open(
            &config(),
            &Open {
                bgp_id,
                ..peer_open()
            },
        );
        assert_eq!(err_code(r), (notif::OPEN, notif::BAD_BGP_ID), "{bgp_id}");
    }
}

#[test]
fn ibgp_peer_with_our_identifier_sends_2_3() {
    let config = SessionConfig {
        remote_as: LOCAL_AS,
        ..config()
    };
    let open = Open {
        my_as: LOCAL_AS as u16,
        bgp_id: LOCAL_ID,
        capabilities: vec![Capability::FourOctetAs(LOCAL_AS)],
        ..peer_open()
    };
    assert_eq!(
        err_code(check_open(&config, &open)),
        (notif::OPEN, notif::BAD_BGP_ID)
    );
}

#[test]
fn ebgp_peer_may_share_our_identifier() {
    let open = Open {
        bgp_id: LOCAL_ID,
        ..peer_open()
    };
    assert_eq!(check_open(&config(), &open).unwrap().remote_id, LOCAL_ID);
}

#[test]
fn families_are_the_intersection_of_multiprotocol_capabilities() {
    let vpn = Family {
        afi: Afi::IPV4,
        safi: Safi(128),
    };
    let open = Open {
        capabilities: vec![
            Capability::Multiprotocol(vpn),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
        ],
        ..peer_open()
    };
    assert_eq!(
        check_open(&config(), &open).unwrap().families,
        vec![Family::IPV6_UNICAST]
    );
}

#[test]
fn no_multiprotocol_capability_means_ipv4_unicast() {
    let open = Open {
        capabilities: vec![Capability::FourOctetAs(REMOTE_AS)],
        ..peer_open()
    };
    assert_eq!(
        check_open(&config(), &open).unwrap().families,
        vec![Family::IPV4_UNICAST]
    );
}

#[test]
fn codec_and_route_refresh_need_the_peer_capabilities() {
    let open = Open {
        capabilities: vec![Capability::Multiprotocol(Family::IPV4_UNICAST)],
        ..peer_open()
    };
    let neg = check_open(&config(), &open).unwrap();
    assert!(!neg.codec.four_octet_as);
    assert!(!neg.codec.extended_message);
    assert!(!neg.route_refresh);
}

#[test]
fn peer_graceful_restart_capability_is_recorded() {
    let gr = GracefulRestartCap {
        restart_state: true,
        notification: false,
        restart_time: 90,
        families: vec![GrFamily {
            family: Family::IPV4_UNICAST,
            forwarding: true,
        }],
    };
    let mut open = peer_open();
    open.capabilities
        .push(Capability::GracefulRestart(gr.clone()));
    let neg = check_open(&config(), &open).unwrap();
    assert_eq!(neg.peer_graceful_restart, Some(gr));
}

#[test]
fn unknown_capabilities_are_kept_and_ignored() {
    let mut open = peer_open();
    open.capabilities.push(Capability::Unknown {
        code: 73,
        value: b"host".to_vec(),
    });
    let neg = check_open(&config(), &open).expect("accepted");
    assert_eq!(neg.peer_capabilities.len(), 6);
}

// ---------------------------------------------------------------------------------------------
// Idle, Connect, Active

#[test]
fn manual_start_connects_and_arms_connect_retry() {
    let mut s = Session::new(config());
    let out = s.handle(Input::ManualStart);
    assert_eq!(
        out,
        vec![
            Output::StartTimer(Timer::ConnectRetry, RETRY),
            Output::Connect
        ]
    );
    assert_eq!(s.state(), &State::Connect);
}

#[test]
fn passive_manual_start_waits_in_active() {
    let mut s = Session::new(passive_config());
    assert_eq!(s.handle(Input::ManualStart), vec![]);
    assert_eq!(s.state(), &State::Active);
}

#[test]
fn idle_ignores_everything_but_a_start() {
    let mut s = Session::new(config());
    for input in [
        Input::TcpFailed,
        Input::TimerExpired(Timer::Hold),
        Input::TimerExpired(Timer::ConnectRetry),
        Input::Message(Message::Keepalive),
        Input::ManualStop(None),
    ] {
        assert_eq!(s.handle(input.clone()), vec![], "{input:?}");
        assert_eq!(s.state(), &State::Idle);
    }
}

#[test]
fn idle_refuses_connections() {
    let mut s = Session::new(config());
    assert_eq!(
        s.handle(Input::TcpConnected(Direction::Incoming)),
        vec![Output::Close]
    );
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn tcp_connected_in_connect_sends_open_and_arms_large_hold_timer() {
    let mut s = Session::new(config());
    s.handle(Input::ManualStart);
    let out = s.handle(Input::TcpConnected(Direction::Outgoing));
    assert_eq!(
        out,
        vec![
            Output::StopTimer(Timer::ConnectRetry),
            Output::Send(Message::Open(build_open(&config()))),
            Output::StartTimer(Timer::Hold, secs(240)),
        ]
    );
    assert_eq!(s.state(), &State::OpenSent);
}

#[test]
fn incoming_connection_in_active_sends_open() {
    let mut s = Session::new(passive_config());
    s.handle(Input::ManualStart);
    let out = s.handle(Input::TcpConnected(Direction::Incoming));
    assert!(out.contains(&Output::Send(Message::Open(build_open(&passive_config())))));
    assert!(out.contains(&Output::StartTimer(Timer::Hold, OPEN_HOLD_TIME)));
    assert_eq!(s.state(), &State::OpenSent);
}

#[test]
fn connect_failure_goes_active_and_rearms_connect_retry() {
    let mut s = Session::new(config());
    s.handle(Input::ManualStart);
    assert_eq!(
        s.handle(Input::TcpFailed),
        vec![Output::StartTimer(Timer::ConnectRetry, RETRY)]
    );
    assert_eq!(s.state(), &State::Active);
}

#[test]
fn connect_retry_expiry_in_active_connects_again() {
    let mut s = Session::new(config());
    s.handle(Input::ManualStart);
    s.handle(Input::TcpFailed);
    assert_eq!(
        s.handle(Input::TimerExpired(Timer::ConnectRetry)),
        vec![
            Output::StartTimer(Timer::ConnectRetry, RETRY),
            Output::Connect
        ]
    );
    assert_eq!(s.state(), &State::Connect);
}

#[test]
fn connect_retry_expiry_in_connect_retries_the_connection() {
    let mut s = Session::new(config());
    s.handle(Input::ManualStart);
    assert_eq!(
        s.handle(Input::TimerExpired(Timer::ConnectRetry)),
        vec![
            Output::StartTimer(Timer::ConnectRetry, RETRY),
            Output::Connect
        ]
    );
    assert_eq!(s.state(), &State::Connect);
}

#[test]
fn passive_session_never_connects_out() {
    let mut s = Session::new(passive_config());
    s.handle(Input::ManualStart);
    assert_eq!(s.handle(Input::TimerExpired(Timer::ConnectRetry)), vec![]);
    assert_eq!(s.handle(Input::TcpFailed), vec![]);
    assert_eq!(s.state(), &State::Active);
}

#[test]
fn manual_stop_in_connect_abandons_the_attempt_without_down() {
    let mut s = Session::new(config());
    s.handle(Input::ManualStart);
    let out = s.handle(Input::ManualStop(Some(notification(notif::CEASE, 2))));
    assert_eq!(
        out,
        vec![Output::StopTimer(Timer::ConnectRetry), Output::Close]
    );
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn manual_stop_in_active_returns_to_idle_without_down() {
    let mut s = Session::new(passive_config());
    s.handle(Input::ManualStart);
    assert_eq!(
        s.handle(Input::ManualStop(None)),
        vec![Output::StopTimer(Timer::ConnectRetry)]
    );
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn messages_without_a_connection_are_ignored() {
    let mut s = Session::new(config());
    s.handle(Input::ManualStart);
    assert_eq!(s.handle(Input::Message(Message::Keepalive)), vec![]);
    assert_eq!(s.handle(Input::TimerExpired(Timer::Hold)), vec![]);
    assert_eq!(s.handle(Input::ManualStart), vec![]);
    assert_eq!(s.state(), &State::Connect);
}

// ---------------------------------------------------------------------------------------------
// OpenSent

#[test]
fn valid_open_in_opensent_sends_keepalive_and_arms_negotiated_timers() {
    let mut s = open_sent();
    let out = s.handle(Input::Message(Message::Open(Open {
        hold_time: 30,
        ..peer_open()
    })));
    assert_eq!(
        out,
        vec![
            Output::Send(Message::Keepalive),
            Output::StartTimer(Timer::Hold, secs(30)),
            Output::StartTimer(Timer::Keepalive, secs(10)),
        ]
    );
    let neg = negotiated(&s);
    assert_eq!(s.state(), &State::OpenConfirm(neg.clone()));
    assert_eq!(neg.hold_time, 30);
}

#[test]
fn zero_hold_time_stops_the_open_hold_timer_and_arms_no_keepalive() {
    let mut s = open_sent();
    let out = s.handle(Input::Message(Message::Open(Open {
        hold_time: 0,
        ..peer_open()
    })));
    assert_eq!(
        out,
        vec![
            Output::Send(Message::Keepalive),
            Output::StopTimer(Timer::Hold),
        ]
    );
    // And once established, nothing re-arms them.
    let out = s.handle(Input::Message(Message::Keepalive));
    assert_eq!(out, vec![Output::Established(negotiated(&s))]);
    assert_eq!(s.handle(Input::Message(Message::Keepalive)), vec![]);
    assert_eq!(s.handle(Input::TimerExpired(Timer::Keepalive)), vec![]);
}

#[test]
fn bad_open_in_opensent_sends_notification_and_goes_idle() {
    let mut s = open_sent();
    let out = s.handle(Input::Message(Message::Open(Open {
        my_as: 64999,
        capabilities: vec![],
        ..peer_open()
    })));
    assert_eq!(
        out,
        down_after_sending(notification(notif::OPEN, notif::BAD_PEER_AS))
    );
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn keepalive_in_opensent_is_fsm_error() {
    let mut s = open_sent();
    let out = s.handle(Input::Message(Message::Keepalive));
    assert_eq!(
        out,
        down_after_sending(Notification {
            code: notif::FSM,
            subcode: 1,
            data: vec![4],
        })
    );
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn update_in_opensent_is_fsm_error() {
    let mut s = open_sent();
    let out = s.handle(Input::Message(Message::Update(Update::default())));
    assert_eq!(
        out,
        down_after_sending(Notification {
            code: notif::FSM,
            subcode: 1,
            data: vec![2],
        })
    );
}

#[test]
fn hold_timer_expiry_in_opensent_sends_4_0() {
    let mut s = open_sent();
    let out = s.handle(Input::TimerExpired(Timer::Hold));
    assert_eq!(out, down_after_sending(notification(4, 0)));
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn tcp_failure_in_opensent_is_connection_lost() {
    let mut s = open_sent();
    assert_eq!(
        s.handle(Input::TcpFailed),
        down_silently(DownReason::ConnectionLost)
    );
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn notification_in_opensent_goes_down_without_reply() {
    let mut s = open_sent();
    let n = notification(notif::OPEN, notif::UNSUPPORTED_CAPABILITY);
    assert_eq!(
        s.handle(Input::Message(Message::Notification(n.clone()))),
        down_silently(DownReason::NotificationReceived(n))
    );
}

#[test]
fn second_connection_on_a_connected_session_is_ignored() {
    let mut s = open_sent();
    assert_eq!(s.handle(Input::TcpConnected(Direction::Incoming)), vec![]);
    assert_eq!(s.state(), &State::OpenSent);
}

// ---------------------------------------------------------------------------------------------
// OpenConfirm

#[test]
fn keepalive_in_openconfirm_establishes() {
    let mut s = open_confirm();
    let neg = negotiated(&s);
    let out = s.handle(Input::Message(Message::Keepalive));
    assert_eq!(
        out,
        vec![
            Output::StartTimer(Timer::Hold, secs(90)),
            Output::Established(neg.clone()),
        ]
    );
    assert_eq!(s.state(), &State::Established(neg));
}

#[test]
fn open_in_openconfirm_is_fsm_error() {
    let mut s = open_confirm();
    let out = s.handle(Input::Message(Message::Open(peer_open())));
    assert_eq!(
        out,
        down_after_sending(Notification {
            code: notif::FSM,
            subcode: 2,
            data: vec![1],
        })
    );
}

#[test]
fn update_in_openconfirm_is_fsm_error() {
    let mut s = open_confirm();
    let out = s.handle(Input::Message(Message::Update(Update::default())));
    assert_eq!(
        out,
        down_after_sending(Notification {
            code: notif::FSM,
            subcode: 2,
            data: vec![2],
        })
    );
}

#[test]
fn route_refresh_in_openconfirm_is_fsm_error() {
    let mut s = open_confirm();
    let out = s.handle(Input::Message(Message::RouteRefresh(RouteRefresh {
        family: Family::IPV4_UNICAST,
        subtype: 0,
    })));
    assert_eq!(
        out,
        down_after_sending(Notification {
            code: notif::FSM,
            subcode: 2,
            data: vec![5],
        })
    );
}

#[test]
fn keepalive_timer_in_openconfirm_sends_keepalive() {
    let mut s = open_confirm();
    assert_eq!(
        s.handle(Input::TimerExpired(Timer::Keepalive)),
        vec![
            Output::Send(Message::Keepalive),
            Output::StartTimer(Timer::Keepalive, secs(30)),
        ]
    );
    assert_eq!(s.state().name(), "OpenConfirm");
}

#[test]
fn hold_timer_expiry_in_openconfirm_sends_4_0() {
    let mut s = open_confirm();
    assert_eq!(
        s.handle(Input::TimerExpired(Timer::Hold)),
        down_after_sending(notification(4, 0))
    );
}

#[test]
fn collision_loser_in_openconfirm_is_stopped_with_cease_7() {
    let mut s = open_confirm();
    assert!(!keep_outgoing(LOCAL_ID, negotiated(&s).remote_id));
    let cease = notification(notif::CEASE, notif::COLLISION_RESOLUTION);
    let mut expected = vec![Output::Send(Message::Notification(cease.clone()))];
    expected.extend(down_silently(DownReason::Stopped(Some(cease.clone()))));
    assert_eq!(s.handle(Input::ManualStop(Some(cease))), expected);
    assert_eq!(s.state(), &State::Idle);
}

// ---------------------------------------------------------------------------------------------
// Established

#[test]
fn update_in_established_restarts_hold_timer_and_is_delivered() {
    let mut s = established();
    let update = Update::end_of_rib(Family::IPV6_UNICAST);
    assert_eq!(
        s.handle(Input::Message(Message::Update(update.clone()))),
        vec![
            Output::StartTimer(Timer::Hold, secs(90)),
            Output::Update(update)
        ]
    );
    assert_eq!(s.state().name(), "Established");
}

#[test]
fn keepalive_in_established_restarts_hold_timer() {
    let mut s = established();
    assert_eq!(
        s.handle(Input::Message(Message::Keepalive)),
        vec![Output::StartTimer(Timer::Hold, secs(90))]
    );
}

#[test]
fn keepalive_timer_in_established_sends_keepalive_and_rearms() {
    let mut s = established();
    assert_eq!(
        s.handle(Input::TimerExpired(Timer::Keepalive)),
        vec![
            Output::Send(Message::Keepalive),
            Output::StartTimer(Timer::Keepalive, secs(30)),
        ]
    );
}

#[test]
fn hold_timer_expiry_sends_4_0_and_goes_idle() {
    let mut s = established();
    let out = s.handle(Input::TimerExpired(Timer::Hold));
    assert_eq!(
        out,
        down_after_sending(notification(notif::HOLD_TIMER_EXPIRED, 0))
    );
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn open_in_established_is_fsm_error() {
    let mut s = established();
    let out = s.handle(Input::Message(Message::Open(peer_open())));
    assert_eq!(
        out,
        down_after_sending(Notification {
            code: notif::FSM,
            subcode: 3,
            data: vec![1],
        })
    );
}

#[test]
fn route_refresh_for_a_negotiated_family_is_reported() {
    let mut s = established();
    let out = s.handle(Input::Message(Message::RouteRefresh(RouteRefresh {
        family: Family::IPV6_UNICAST,
        subtype: 0,
    })));
    assert_eq!(
        out,
        vec![
            Output::StartTimer(Timer::Hold, secs(90)),
            Output::RouteRefresh(Family::IPV6_UNICAST),
        ]
    );
}

#[test]
fn route_refresh_for_a_family_not_negotiated_is_ignored() {
    let mut s = established();
    let vpn = Family {
        afi: Afi::IPV4,
        safi: Safi(128),
    };
    let out = s.handle(Input::Message(Message::RouteRefresh(RouteRefresh {
        family: vpn,
        subtype: 0,
    })));
    assert!(!out.iter().any(|o| matches!(o, Output::RouteRefresh(_))));
    assert_eq!(s.state().name(), "Established");
}

#[test]
fn route_refresh_markers_without_enhanced_route_refresh_are_ignored() {
    let mut s = established();
    for subtype in [1, 2, 7] {
        let out = s.handle(Input::Message(Message::RouteRefresh(RouteRefresh {
            family: Family::IPV4_UNICAST,
            subtype,
        })));
        assert!(!out.iter().any(|o| matches!(o, Output::RouteRefresh(_))));
    }
    assert_eq!(s.state().name(), "Established");
}

#[test]
fn notification_received_goes_down_without_reply() {
    let mut s = established();
    let n = Notification::cease_with_message(notif::ADMIN_SHUTDOWN, "maintenance");
    assert_eq!(
        s.handle(Input::Message(Message::Notification(n.clone()))),
        down_silently(DownReason::NotificationReceived(n))
    );
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn tcp_failure_when_established_is_connection_lost() {
    let mut s = established();
    assert_eq!(
        s.handle(Input::TcpFailed),
        down_silently(DownReason::ConnectionLost)
    );
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn decode_error_sends_its_notification() {
    let mut s = established();
    let e = DecodeError {
        code: notif::UPDATE,
        subcode: notif::MALFORMED_ATTRIBUTE_LIST,
        data: vec![],
        reason: "attribute appears twice".into(),
    };
    assert_eq!(
        s.handle(Input::DecodeError(e.clone())),
        down_after_sending(e.notification())
    );
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn manual_stop_with_notification_sends_it() {
    let mut s = established();
    let cease = Notification::cease_with_message(notif::ADMIN_SHUTDOWN, "bye");
    let mut expected = vec![Output::Send(Message::Notification(cease.clone()))];
    expected.extend(down_silently(DownReason::Stopped(Some(cease.clone()))));
    assert_eq!(s.handle(Input::ManualStop(Some(cease))), expected);
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn manual_stop_without_notification_closes_silently() {
    let mut s = established();
    let out = s.handle(Input::ManualStop(None));
    assert_eq!(out, down_silently(DownReason::Stopped(None)));
    assert!(!out.iter().any(|o| matches!(o, Output::Send(_))));
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn stale_connect_retry_expiry_in_established_is_ignored() {
    let mut s = established();
    assert_eq!(s.handle(Input::TimerExpired(Timer::ConnectRetry)), vec![]);
    assert_eq!(s.handle(Input::ManualStart), vec![]);
    assert_eq!(s.state().name(), "Established");
}

#[test]
fn session_stays_idle_after_down_until_started_again() {
    let mut s = established();
    s.handle(Input::TcpFailed);
    assert_eq!(s.handle(Input::TimerExpired(Timer::Hold)), vec![]);
    assert_eq!(s.handle(Input::TimerExpired(Timer::Keepalive)), vec![]);
    assert_eq!(s.handle(Input::Message(Message::Keepalive)), vec![]);
    assert_eq!(s.handle(Input::TcpFailed), vec![]);
    assert_eq!(s.state(), &State::Idle);
    assert!(s.handle(Input::ManualStart).contains(&Output::Connect));
    assert_eq!(s.state(), &State::Connect);
}

#[test]
fn full_session_from_passive_start_to_established() {
    let mut s = Session::new(passive_config());
    s.handle(Input::ManualStart);
    s.handle(Input::TcpConnected(Direction::Incoming));
    s.handle(Input::Message(Message::Open(peer_open())));
    let out = s.handle(Input::Message(Message::Keepalive));
    let neg = negotiated(&s);
    assert!(out.contains(&Output::Established(neg.clone())));
    assert_eq!(
        neg.families,
        vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
    );
}

// ---------------------------------------------------------------------------------------------
// Collision (RFC 4271 §6.8, RFC 6286 §2.3)

#[test]
fn collision_keeps_connection_of_higher_id() {
    let low = Ipv4Addr::new(198, 18, 0, 1);
    let high = Ipv4Addr::new(198, 18, 0, 2);
    assert!(keep_outgoing(high, low));
    assert!(!keep_outgoing(low, high));
}

#[test]
fn collision_compares_identifiers_as_unsigned_integers() {
    // 198.19.0.1 > 9.255.255.255 as u32, though "9" > "1" as text.
    assert!(keep_outgoing(
        Ipv4Addr::new(198, 19, 0, 1),
        Ipv4Addr::new(9, 255, 255, 255)
    ));
}

#[test]
fn collision_with_equal_ids_keeps_connection_of_higher_as() {
    assert!(keep_outgoing_with_as(LOCAL_ID, 65002, LOCAL_ID, 65001));
    assert!(!keep_outgoing_with_as(LOCAL_ID, 65001, LOCAL_ID, 65002));
    assert!(keep_outgoing_with_as(REMOTE_ID, 1, LOCAL_ID, 2));
}
