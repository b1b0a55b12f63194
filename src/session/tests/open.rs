//! build_open and check_open: our OPEN, and every RFC 4271 §6.2 rule on the peer's.

use super::*;

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
            long_lived_stale_time: 0,
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
            long_lived_stale_time: 0,
        }),
        ..config()
    });
    let gr = open.capabilities.iter().find_map(|c| match c {
        Capability::GracefulRestart(gr) => Some(gr.restart_time),
        _ => None,
    });
    assert_eq!(gr, Some(4095));
}

/// The LLGR capability of an OPEN, if any.
fn llgr_cap(open: &Open) -> Option<Vec<LlgrFamily>> {
    open.capabilities.iter().find_map(|c| match c {
        Capability::LongLivedGracefulRestart(f) => Some(f.clone()),
        _ => None,
    })
}

#[test]
fn long_lived_capability_follows_the_graceful_restart_one_with_the_same_f_bits() {
    let open = build_open(&SessionConfig {
        graceful_restart: Some(GrSettings {
            restart_time: 120,
            restarting: true,
            forwarding: vec![Family::IPV6_UNICAST],
            notification: true,
            long_lived_stale_time: 3600,
        }),
        ..config()
    });
    let position = |pred: fn(&Capability) -> bool| open.capabilities.iter().position(pred);
    let gr = position(|c| matches!(c, Capability::GracefulRestart(_))).expect("GR capability");
    let llgr = position(|c| matches!(c, Capability::LongLivedGracefulRestart(_)))
        .expect("LLGR capability");
    assert!(gr < llgr);
    assert_eq!(
        llgr_cap(&open),
        Some(vec![
            LlgrFamily {
                family: Family::IPV4_UNICAST,
                forwarding: false,
                stale_time: 3600,
            },
            LlgrFamily {
                family: Family::IPV6_UNICAST,
                forwarding: true,
                stale_time: 3600,
            },
        ])
    );
}

#[test]
fn no_long_lived_capability_with_a_zero_stale_time_or_without_graceful_restart() {
    let gr = GrSettings {
        restart_time: 120,
        notification: true,
        ..GrSettings::default()
    };
    let open = build_open(&SessionConfig {
        graceful_restart: Some(gr),
        ..config()
    });
    assert_eq!(llgr_cap(&open), None);
    assert_eq!(llgr_cap(&build_open(&config())), None);
}

#[test]
fn long_lived_stale_time_is_clamped_to_twenty_four_bits() {
    let open = build_open(&SessionConfig {
        graceful_restart: Some(GrSettings {
            restart_time: 120,
            long_lived_stale_time: u32::MAX,
            ..GrSettings::default()
        }),
        ..config()
    });
    let llgr = llgr_cap(&open).expect("LLGR capability");
    assert!(llgr.iter().all(|f| f.stale_time == 0x00ff_ffff));
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
    assert_eq!(neg.peer_long_lived, None);
}

fn peer_llgr() -> Vec<LlgrFamily> {
    vec![LlgrFamily {
        family: Family::IPV6_UNICAST,
        forwarding: true,
        stale_time: 86_400,
    }]
}

#[test]
fn peer_long_lived_capability_is_recorded_next_to_graceful_restart() {
    let mut open = peer_open();
    open.capabilities
        .push(Capability::GracefulRestart(GracefulRestartCap {
            restart_state: false,
            notification: true,
            restart_time: 0,
            families: vec![],
        }));
    open.capabilities
        .push(Capability::LongLivedGracefulRestart(peer_llgr()));
    let neg = check_open(&config(), &open).unwrap();
    assert_eq!(neg.peer_long_lived, Some(peer_llgr()));
}

#[test]
fn peer_long_lived_capability_without_graceful_restart_is_disregarded() {
    // RFC 9494 §4.5.
    let mut open = peer_open();
    open.capabilities
        .push(Capability::LongLivedGracefulRestart(peer_llgr()));
    let neg = check_open(&config(), &open).unwrap();
    assert_eq!(neg.peer_graceful_restart, None);
    assert_eq!(neg.peer_long_lived, None);
    // Still shown among the peer's capabilities.
    assert!(neg
        .peer_capabilities
        .contains(&Capability::LongLivedGracefulRestart(peer_llgr())));
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
