//! Idle, Connect and Active: starting, connecting, retrying and stopping.

use super::*;

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
