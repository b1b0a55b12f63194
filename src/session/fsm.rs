//! States, events and transitions of the RFC 4271 §8 finite state machine.

use std::time::Duration;

use super::{build_open, check_open, Negotiated, SessionConfig, SessionState};
use crate::wire::{msg_type, notif, DecodeError, Family, Message, Notification, Update};

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
// The size follows `Message` (an UPDATE is large); an `Input` is built once per event and
// moved straight into `handle`, so boxing would cost an allocation per message for nothing.
#[allow(clippy::large_enum_variant)]
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
    /// Close the TCP connection (after flushing what was sent), or abandon the connection
    /// attempt in flight (ManualStop in Connect).
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
    /// The state's name, without its data.
    pub fn kind(&self) -> SessionState {
        match self {
            State::Idle => SessionState::Idle,
            State::Connect => SessionState::Connect,
            State::Active => SessionState::Active,
            State::OpenSent => SessionState::OpenSent,
            State::OpenConfirm(_) => SessionState::OpenConfirm,
            State::Established(_) => SessionState::Established,
        }
    }

    /// The RFC name of the state, for display.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// How long to wait for the peer's OPEN once ours is sent: the "large value" RFC 4271 §8.2.2
/// suggests (4 minutes), replaced by the negotiated hold time once the OPEN arrives.
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

/// One BGP connection's state machine.
///
/// Feed it [`Input`]s with [`Session::handle`] and carry out the [`Output`]s in order. Two rules
/// the driver can rely on:
///
/// - every [`Output::Down`] is preceded, in the same batch, by an [`Output::Close`] (and by the
///   NOTIFICATION to send, if any), and leaves the session in [`State::Idle`];
/// - in Idle the session stays put until a new [`Input::ManualStart`]: restarts (and their
///   back-off) are the driver's decision.
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
    ///
    /// Events that make no sense in the current state and involve no connection (a stale timer,
    /// a second ManualStart, anything in Idle) are ignored and return nothing.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        match self.state {
            State::Idle => self.idle(input, &mut out),
            State::Connect | State::Active => self.connecting(input, &mut out),
            State::OpenSent | State::OpenConfirm(_) | State::Established(_) => {
                self.connected(input, &mut out)
            }
        }
        out
    }

    /// Idle: only a start does anything (RFC 4271 §8.2.2, Idle state).
    fn idle(&mut self, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::ManualStart if self.config.passive => {
                // ManualStart_with_PassiveTcpEstablishment: wait for the peer. No
                // ConnectRetryTimer: a passive session never connects out, so it has nothing
                // to retry.
                self.state_change(State::Active);
            }
            Input::ManualStart => {
                out.push(Output::StartTimer(
                    Timer::ConnectRetry,
                    self.config.connect_retry,
                ));
                out.push(Output::Connect);
                self.state_change(State::Connect);
            }
            // "The BGP FSM refuses all incoming BGP connections" while Idle.
            Input::TcpConnected(_) => out.push(Output::Close),
            other => ignored(&self.state, &other),
        }
    }

    /// Connect and Active: no connection yet (RFC 4271 §8.2.2, Connect and Active states).
    fn connecting(&mut self, input: Input, out: &mut Vec<Output>) {
        let connect = self.state == State::Connect;
        match input {
            Input::TcpConnected(direction) => {
                tracing::debug!(?direction, "connection up, sending OPEN");
                out.push(Output::StopTimer(Timer::ConnectRetry));
                out.push(Output::Send(Message::Open(build_open(&self.config))));
                out.push(Output::StartTimer(Timer::Hold, OPEN_HOLD_TIME));
                self.state_change(State::OpenSent);
            }
            Input::TcpFailed if connect => {
                // Wait for the peer to connect, or for the ConnectRetryTimer to try again.
                out.push(Output::StartTimer(
                    Timer::ConnectRetry,
                    self.config.connect_retry,
                ));
                self.state_change(State::Active);
            }
            Input::TimerExpired(Timer::ConnectRetry) if !self.config.passive => {
                out.push(Output::StartTimer(
                    Timer::ConnectRetry,
                    self.config.connect_retry,
                ));
                out.push(Output::Connect);
                if !connect {
                    self.state_change(State::Connect);
                }
            }
            Input::ManualStop(_) => {
                out.push(Output::StopTimer(Timer::ConnectRetry));
                if connect {
                    // Abandon the connection attempt in flight.
                    out.push(Output::Close);
                }
                self.state_change(State::Idle);
            }
            other => ignored(&self.state, &other),
        }
    }

    /// OpenSent, OpenConfirm and Established: a connection is up.
    fn connected(&mut self, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Message(msg) => self.message(msg, out),
            Input::TimerExpired(Timer::Hold) => {
                // RFC 4271 §8.2.2 Event 10 in OpenSent, OpenConfirm and Established.
                let n = Notification::new(notif::HOLD_TIMER_EXPIRED, 0);
                self.down_with(n, out);
            }
            Input::TimerExpired(Timer::Keepalive) => {
                if let State::OpenConfirm(neg) | State::Established(neg) = &self.state {
                    if neg.hold_time > 0 {
                        out.push(Output::Send(Message::Keepalive));
                        out.push(Output::StartTimer(Timer::Keepalive, secs(neg.keepalive)));
                    }
                }
            }
            Input::TcpFailed => self.down(None, DownReason::ConnectionLost, out),
            // RFC 4271 §6: a message that fails to decode is answered with its NOTIFICATION.
            Input::DecodeError(e) => {
                tracing::info!(error = %e, "message could not be decoded");
                self.down_with(e.notification(), out);
            }
            Input::ManualStop(n) => self.down(n.clone(), DownReason::Stopped(n), out),
            // A second connection is a collision, which the driver resolves across two
            // sessions; one Session never drives two connections.
            other @ (Input::TcpConnected(_)
            | Input::ManualStart
            | Input::TimerExpired(Timer::ConnectRetry)) => ignored(&self.state, &other),
        }
    }

    /// A whole message on an open connection.
    fn message(&mut self, msg: Message, out: &mut Vec<Output>) {
        // A NOTIFICATION ends the session in every connected state, with nothing sent back
        // (RFC 4271 §6.4).
        if let Message::Notification(n) = msg {
            self.down(None, DownReason::NotificationReceived(n), out);
            return;
        }
        match (&self.state, msg) {
            (State::OpenSent, Message::Open(open)) => match check_open(&self.config, &open) {
                Ok(neg) => {
                    tracing::debug!(
                        remote_as = neg.remote_as,
                        remote_id = %neg.remote_id,
                        hold_time = neg.hold_time,
                        "OPEN accepted"
                    );
                    out.push(Output::Send(Message::Keepalive));
                    if neg.hold_time > 0 {
                        out.push(Output::StartTimer(Timer::Hold, secs(neg.hold_time)));
                        out.push(Output::StartTimer(Timer::Keepalive, secs(neg.keepalive)));
                    } else {
                        // Hold time 0: no hold and no keepalive timers (RFC 4271 §4.4), so the
                        // OPEN-wait hold timer goes too.
                        out.push(Output::StopTimer(Timer::Hold));
                    }
                    self.state_change(State::OpenConfirm(neg));
                }
                Err(n) => {
                    tracing::info!(code = n.code, subcode = n.subcode, "OPEN refused");
                    self.down_with(n, out);
                }
            },
            (State::OpenConfirm(neg), Message::Keepalive) => {
                let neg = neg.clone();
                restart_hold(&neg, out);
                out.push(Output::Established(neg.clone()));
                self.state_change(State::Established(neg));
            }
            (State::Established(neg), Message::Keepalive) => restart_hold(neg, out),
            (State::Established(neg), Message::Update(update)) => {
                restart_hold(neg, out);
                out.push(Output::Update(update));
            }
            (State::Established(neg), Message::RouteRefresh(rr)) => {
                // Any message shows the peer alive; RFC 4271 only names KEEPALIVE and UPDATE,
                // but a ROUTE-REFRESH is no less proof.
                restart_hold(neg, out);
                if rr.subtype != 0 {
                    // BoRR/EoRR (RFC 7313) without the capability we never advertise, or an
                    // unknown subtype: RFC 7313 §5 says ignore.
                    tracing::debug!(family = %rr.family, subtype = rr.subtype, "ROUTE-REFRESH subtype ignored");
                } else if neg.families.contains(&rr.family) {
                    out.push(Output::RouteRefresh(rr.family));
                } else {
                    // RFC 2918 §4: a family not advertised at session establishment is ignored.
                    tracing::info!(family = %rr.family, "ROUTE-REFRESH for a family not negotiated, ignored");
                }
            }
            (state, msg) => {
                // RFC 6608 §3: the subcode names the state; the data is the message type.
                let subcode = match state {
                    State::OpenSent => 1,
                    State::OpenConfirm(_) => 2,
                    _ => 3,
                };
                let n = Notification {
                    code: notif::FSM,
                    subcode,
                    data: vec![message_type(&msg)],
                };
                tracing::info!(msg_type = message_type(&msg), "unexpected message");
                self.down_with(n, out);
            }
        }
    }

    /// Send `n`, close, and go down because of it.
    fn down_with(&mut self, n: Notification, out: &mut Vec<Output>) {
        self.down(Some(n.clone()), DownReason::NotificationSent(n), out);
    }

    /// Leave a connected state for Idle: send `send` if any, close, stop the timers, report.
    fn down(&mut self, send: Option<Notification>, reason: DownReason, out: &mut Vec<Output>) {
        if let Some(n) = send {
            out.push(Output::Send(Message::Notification(n)));
        }
        out.push(Output::Close);
        out.push(Output::StopTimer(Timer::Hold));
        out.push(Output::StopTimer(Timer::Keepalive));
        tracing::info!(reason = ?reason, "session down");
        out.push(Output::Down(reason));
        self.state_change(State::Idle);
    }

    /// Every transition goes through here, so each one is logged once, the same way.
    fn state_change(&mut self, new: State) {
        let from = self.state.name();
        let to = new.name();
        if from != to {
            tracing::info!(from, to, "state change");
        }
        self.state = new;
    }
}

/// Re-arm the hold timer on a sign of life, unless the hold time is 0.
fn restart_hold(neg: &Negotiated, out: &mut Vec<Output>) {
    if neg.hold_time > 0 {
        out.push(Output::StartTimer(Timer::Hold, secs(neg.hold_time)));
    }
}

/// Whole seconds as a timer duration.
fn secs(s: u16) -> Duration {
    Duration::from_secs(u64::from(s))
}

/// The message type code, for the data of an FSM error NOTIFICATION.
fn message_type(msg: &Message) -> u8 {
    match msg {
        Message::Open(_) => msg_type::OPEN,
        Message::Update(_) => msg_type::UPDATE,
        Message::Notification(_) => msg_type::NOTIFICATION,
        Message::Keepalive => msg_type::KEEPALIVE,
        Message::RouteRefresh(_) => msg_type::ROUTE_REFRESH,
    }
}

/// Log an event that does nothing in this state.
fn ignored(state: &State, input: &Input) {
    let event = match input {
        Input::ManualStart => "ManualStart",
        Input::ManualStop(_) => "ManualStop",
        Input::TcpConnected(_) => "TcpConnected",
        Input::TcpFailed => "TcpFailed",
        Input::Message(_) => "Message",
        Input::DecodeError(_) => "DecodeError",
        Input::TimerExpired(Timer::ConnectRetry) => "ConnectRetryTimerExpires",
        Input::TimerExpired(Timer::Hold) => "HoldTimerExpires",
        Input::TimerExpired(Timer::Keepalive) => "KeepaliveTimerExpires",
    };
    tracing::debug!(state = state.name(), event, "event ignored in this state");
}
