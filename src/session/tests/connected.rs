//! OpenSent, OpenConfirm and Established: OPEN handling, timers, errors and going down.

use super::*;

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
