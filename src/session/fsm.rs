//! States, events and transitions of the RFC 4271 §8 finite state machine.

use std::time::Duration;

use super::{Negotiated, SessionConfig};
use crate::wire::{DecodeError, Family, Message, Notification, Update};

/// Which side opened the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We connected to the peer.
    Outgoing,
    /// The peer connected to our listener.
    Incoming,
}

/// The timers a session uses. The driver owns the clocks; the FSM only arms and stops them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// ConnectRetryTimer.
    ConnectRetry,
    /// HoldTimer.
    Hold,
    /// KeepaliveTimer.
    Keepalive,
}

/// RFC 4271 §8.1 events, as the driver reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Event 1/4/5: ManualStart (passive per config: ManualStart_with_PassiveTcpEstablishment).
    ManualStart,
    /// Event 2: ManualStop; send this NOTIFICATION (normally Cease) if a connection is up, or
    /// none at all (`None`: close silently, as an upgrade or a crash does).
    ManualStop(Option<Notification>),
    /// Events 16/17: the TCP connection is up, in this direction.
    TcpConnected(Direction),
    /// Event 18: TcpConnectionFails (connect failed, or the connection closed).
    TcpFailed,
    /// Events 19–28: a whole message arrived.
    Message(Message),
    /// Events 21/22/28: a message could not be decoded; send its NOTIFICATION and close.
    DecodeError(DecodeError),
    /// Events 9/10/11: a timer the FSM armed expired.
    TimerExpired(Timer),
}

/// Why a session went down (for logs, metrics and graceful restart decisions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// Stopped by us (ManualStop), with the NOTIFICATION sent if any.
    Stopped(Option<Notification>),
    /// The TCP connection failed or was closed without a NOTIFICATION.
    ConnectionLost,
    /// We sent this NOTIFICATION (protocol error, hold timer expiry, bad OPEN).
    NotificationSent(Notification),
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open a TCP connection to the peer (and report `TcpConnected`/`TcpFailed`).
    Connect,
    /// Send this message.
    Send(Message),
    /// Close the TCP connection (after flushing what was sent).
    Close,
    /// Arm (or re-arm) this timer to fire after the duration.
    StartTimer(Timer, Duration),
    /// Disarm this timer.
    StopTimer(Timer),
    /// The session reached Established.
    Established(Negotiated),
    /// An UPDATE arrived on an Established session.
    Update(Update),
    /// A ROUTE-REFRESH request arrived for this family.
    RouteRefresh(Family),
    /// The session left Established or OpenConfirm/OpenSent and is back in Idle.
    Down(DownReason),
}

/// The six RFC 4271 states; each carries only the data valid in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Refuses everything but a start.
    Idle,
    /// Waiting for an outgoing TCP connection to complete.
    Connect,
    /// Waiting for the peer to connect to us.
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged and accepted, waiting for the first KEEPALIVE.
    OpenConfirm(Negotiated),
    /// Exchanging UPDATEs.
    Established(Negotiated),
}

impl State {
    /// The RFC name of the state, for display.
    pub fn name(&self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm(_) => "OpenConfirm",
            State::Established(_) => "Established",
        }
    }
}

/// One BGP connection's state machine.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
}

impl Session {
    /// A session in Idle.
    pub fn new(config: SessionConfig) -> Session {
        Session {
            config,
            state: State::Idle,
        }
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Feed one event; returns what the driver must do, in order.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        let _ = input;
        todo!("session: handle")
    }
}
