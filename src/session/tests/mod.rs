//! One test per transition of the session state table and per OPEN rule; shared fixtures here.

mod collision;
mod connected;
mod connecting;
mod graceful;
mod open;

use std::net::Ipv4Addr;
use std::time::Duration;

use super::collision::{keep_outgoing, keep_outgoing_with_as};
use super::*;
use crate::wire::{
    notif, Afi, Capability, DecodeError, Family, GrFamily, GracefulRestartCap, LlgrFamily, Message,
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
