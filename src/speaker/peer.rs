//! One task per configured peer: it owns the peer's TCP connections (normally one; two during a
//! connection collision), feeds their events to the sans-IO [`Session`]s, carries out what the
//! sessions ask (dial, send, arm timers, close) and tells the RIB when the session goes up or
//! down.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::conn::{self, ReadCredit, ReadEvent, Security, WriteItem};
use super::martian::MartianScreen;
use super::prefix_limit::PrefixLimit;
use super::rib_task::{RibCmd, RibOut, RibSink};
use super::status::StatusBoard;
use crate::config::Peer;
use crate::handoff::ProgressKind;
use crate::metrics::PeerCounters;
use crate::rib::{PeerRef, PeerSession};
use crate::session::{
    collision, Direction, DownReason, GrHelper, GrInput, GrOutput, GrPolicy, GrSettings, GrTimer,
    Input, Output, Session, SessionConfig, SessionState, State, Timer,
};
use crate::wire::{self, CodecContext, DecodeError, Message, Notification};

mod connections;
mod counting;
mod graceful;
mod limits;
mod outputs;
mod report;

use graceful::gr_settings;
use report::describe;

/// Delay before a session that went down is started again, doubling up to the maximum while
/// sessions keep failing before Established.
const RESTART_DELAY: Duration = Duration::from_secs(1);
const RESTART_DELAY_MAX: Duration = Duration::from_secs(30);
/// After our own restart, until the first Established: the delay stays at this, no doubling.
/// A peer that holds our routes as stale often refuses connections for a few seconds after it
/// saw us go (gobgpd for 5 s); doubling would have us try at 1, 3 and 7 s and waste about 2 s
/// of every upgrade, while the peer's restart timer runs. A handful of refused SYNs a second,
/// for a bounded time, costs the peer nothing.
const RESYNC_DELAY: Duration = Duration::from_millis(500);
/// Before the first outgoing connection, wait this long for the peer to connect to us: a
/// restarted speaker finds its peers' connections queued on the listener, and dialing at the
/// same moment makes a collision that some helpers (bird2) take for a second restart, flushing
/// the stale routes they were keeping for us.
const FIRST_CONNECT_DELAY: Duration = Duration::from_secs(1);
/// How long a stop waits for NOTIFICATIONs to be written.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Events a peer task reacts to.
#[derive(Debug)]
pub enum PeerEvent {
    /// The listener accepted a connection from this peer's address.
    Incoming(TcpStream),
    /// A connection's reader produced something.
    Read(u64, ReadEvent),
    /// An outgoing connection attempt finished.
    Dialed(u64, std::io::Result<TcpStream>),
    /// UPDATEs from the RIB for one session.
    RibOut(RibOut),
    /// Stop every connection, sending this NOTIFICATION (or none), then end the task.
    Stop(Option<Notification>, oneshot::Sender<()>),
    /// Soft reset, inbound (RFC 2918): ask the peer for its routes again, in every negotiated
    /// family, if it supports ROUTE-REFRESH. Answers with the negotiated families and whether
    /// they were asked for, or `None` when no session is Established.
    AskRefresh(oneshot::Sender<Option<(Vec<wire::Family>, bool)>>),
    /// New settings that need no session reset (description, port, connect-retry interval:
    /// see [`crate::config::plan`]); they take effect at the next connection.
    Settings(Box<Peer>),
}

impl From<(u64, ReadEvent)> for PeerEvent {
    fn from((id, ev): (u64, ReadEvent)) -> Self {
        PeerEvent::Read(id, ev)
    }
}

/// One TCP connection (or a pending attempt) and its state machine.
struct Conn {
    id: u64,
    session: Session,
    writer: Option<mpsc::UnboundedSender<WriteItem>>,
    writer_task: Option<JoinHandle<()>>,
    reader_task: Option<JoinHandle<()>>,
    dialer: Option<JoinHandle<()>>,
    timers: [Option<Instant>; 3],
    local: Option<SocketAddr>,
    direction: Option<Direction>,
}

fn timer_index(t: Timer) -> usize {
    match t {
        Timer::ConnectRetry => 0,
        Timer::Hold => 1,
        Timer::Keepalive => 2,
    }
}

const TIMERS: [Timer; 3] = [Timer::ConnectRetry, Timer::Hold, Timer::Keepalive];

impl Conn {
    fn codec(&self) -> CodecContext {
        match self.session.state() {
            State::OpenConfirm(n) | State::Established(n) => n.codec,
            _ => CodecContext::default(),
        }
    }

    fn has_tcp(&self) -> bool {
        self.writer.is_some()
    }

    fn close(&mut self) {
        self.writer = None;
        if let Some(r) = self.reader_task.take() {
            r.abort();
        }
        if let Some(d) = self.dialer.take() {
            d.abort();
        }
        self.timers = [None; 3];
    }
}

/// Everything a peer task needs.
pub struct PeerTask {
    peer: Peer,
    session_config: SessionConfig,
    events_tx: mpsc::UnboundedSender<PeerEvent>,
    events: mpsc::UnboundedReceiver<PeerEvent>,
    rib: mpsc::UnboundedSender<RibCmd>,
    status: StatusBoard,
    conns: Vec<Conn>,
    next_id: u64,
    established: Option<u64>,
    restart_at: Option<Instant>,
    restart_delay: Duration,
    /// This speaker restarted (the peer may hold our routes as stale) and the session has not
    /// been Established since: retry at [`RESYNC_DELAY`] without backing off.
    resyncing: bool,
    /// Graceful restart, helper side: what to keep when the peer goes away, and for how long.
    gr: GrHelper,
    gr_timers: Vec<(GrTimer, Instant)>,
    /// Routes with a martian next hop: ignored, counted, logged once per reason.
    martians: MartianScreen,
    /// TCP-MD5 key and GTSM hops of every connection.
    security: Security,
    /// Whether the security hint was logged since the last Established session.
    hinted: bool,
    /// `max_prefixes`, counted for the current session.
    prefix_limit: Option<PrefixLimit>,
    /// Down after a `max_prefixes` Cease: no new session, no connection accepted, until
    /// `max_prefixes_restart_after` (if set) or an operator's reset.
    held_down: bool,
    /// Messages and flaps, for the metrics.
    counters: PeerCounters,
}

/// What a peer task reports to: the RIB, the status board and its metrics.
pub struct PeerLinks {
    /// The RIB task.
    pub rib: mpsc::UnboundedSender<RibCmd>,
    /// Live session status.
    pub status: StatusBoard,
    /// This peer's message and flap counters.
    pub counters: PeerCounters,
}

impl PeerTask {
    /// A task for `peer`; returns it and the sender for its events.
    pub fn new(
        peer: Peer,
        security: Security,
        local_as: u32,
        router_id: std::net::Ipv4Addr,
        restarting: bool,
        links: PeerLinks,
    ) -> (PeerTask, mpsc::UnboundedSender<PeerEvent>) {
        let PeerLinks {
            rib,
            status,
            counters,
        } = links;
        let (events_tx, events) = mpsc::unbounded_channel();
        let session_config = SessionConfig {
            local_as,
            remote_as: peer.remote_as,
            router_id,
            hold_time: peer.hold_time,
            connect_retry: Duration::from_secs(peer.connect_retry.max(1) as u64),
            passive: peer.passive,
            families: peer.families.clone(),
            graceful_restart: gr_settings(&peer, restarting),
        };
        let task = PeerTask {
            session_config,
            events_tx: events_tx.clone(),
            events,
            rib,
            status,
            conns: Vec::new(),
            next_id: 1,
            established: None,
            restart_at: None,
            restart_delay: RESTART_DELAY,
            resyncing: restarting,
            gr: GrHelper::new(GrPolicy {
                enabled: peer.graceful_restart.enabled,
                restart_time: peer.graceful_restart.restart_time,
                notification: peer.graceful_restart.notification,
                long_lived_stale_time: peer.graceful_restart.long_lived_stale_time,
            }),
            gr_timers: Vec::new(),
            martians: MartianScreen::default(),
            security,
            hinted: false,
            prefix_limit: PrefixLimit::of(&peer),
            held_down: false,
            counters,
            peer,
        };
        (task, events_tx)
    }

    /// Run until stopped.
    pub async fn run(mut self) {
        if self.session_config.passive {
            self.start_session(self.session_config.clone());
        } else {
            self.restart_at = Some(Instant::now() + FIRST_CONNECT_DELAY);
        }
        self.publish_state();
        loop {
            let deadline = self.next_deadline();
            let event = tokio::select! {
                ev = self.events.recv() => ev,
                _ = sleep_until_opt(deadline) => {
                    self.fire_timers();
                    continue;
                }
            };
            match event {
                None => return,
                Some(PeerEvent::Stop(notification, done)) => {
                    self.stop(notification).await;
                    let _ = done.send(());
                    return;
                }
                Some(ev) => self.handle(ev),
            }
            self.publish_state();
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.conns
            .iter()
            .flat_map(|c| c.timers.iter().flatten().copied())
            .chain(self.restart_at)
            .chain(self.gr_timers.iter().map(|(_, at)| *at))
            .min()
    }

    fn start_session(&mut self, config: SessionConfig) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.conns.push(Conn {
            id,
            session: Session::new(config),
            writer: None,
            writer_task: None,
            reader_task: None,
            dialer: None,
            timers: [None; 3],
            local: None,
            direction: None,
        });
        self.feed(id, Input::ManualStart);
        id
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        if self.restart_at.is_some_and(|t| t <= now) {
            self.restart_at = None;
            if self.held_down {
                info!("max_prefixes_restart_after passed: connecting again");
                self.held_down = false;
            }
            if self.conns.is_empty() {
                self.start_session(self.session_config.clone());
            }
        }
        let mut due = Vec::new();
        for c in &mut self.conns {
            for t in TIMERS {
                let slot = &mut c.timers[timer_index(t)];
                if slot.is_some_and(|at| at <= now) {
                    *slot = None;
                    due.push((c.id, t));
                }
            }
        }
        for (id, t) in due {
            self.feed(id, Input::TimerExpired(t));
        }
        let (gr_due, gr_later): (Vec<_>, Vec<_>) =
            self.gr_timers.drain(..).partition(|(_, at)| *at <= now);
        self.gr_timers = gr_later;
        for (t, _) in gr_due {
            self.graceful(GrInput::TimerExpired(t));
        }
        self.publish_state();
    }

    fn handle(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Incoming(stream) => self.incoming(stream),
            PeerEvent::Settings(peer) => {
                self.session_config.connect_retry =
                    Duration::from_secs(peer.connect_retry.max(1) as u64);
                self.peer = *peer;
            }
            PeerEvent::Dialed(id, Ok(stream)) => {
                let pending = self
                    .conn_mut(id)
                    .is_some_and(|c| !c.has_tcp() && matches!(c.session.state(), State::Connect));
                if pending {
                    self.attach(id, stream, Direction::Outgoing);
                    self.feed(id, Input::TcpConnected(Direction::Outgoing));
                }
            }
            PeerEvent::Dialed(id, Err(e)) => {
                if let Some(c) = self.conn_mut(id) {
                    c.dialer = None;
                }
                self.feed(id, Input::TcpFailed);
                self.connect_failed(&e);
            }
            PeerEvent::Read(id, ReadEvent::Frame(frame, credit)) => {
                let Some(ctx) = self.conn_mut(id).map(|c| c.codec()) else {
                    return;
                };
                let input = match decode_frame(&frame, &ctx) {
                    Ok(msg) => {
                        self.count_received(&msg);
                        Input::Message(msg)
                    }
                    Err(e) => {
                        warn!(error = %e, "malformed message");
                        Input::DecodeError(e)
                    }
                };
                self.feed_read(id, input, credit);
            }
            PeerEvent::Read(id, ReadEvent::Malformed(e)) => {
                warn!(error = %e, "malformed stream");
                self.feed(id, Input::DecodeError(e));
            }
            PeerEvent::Read(id, ReadEvent::Closed) => self.feed(id, Input::TcpFailed),
            PeerEvent::RibOut(RibOut {
                session_id,
                bytes,
                end_of_rib,
            }) => {
                if self.established != Some(session_id) {
                    return;
                }
                let Some(w) = self.conn_mut(session_id).and_then(|c| c.writer.clone()) else {
                    return;
                };
                self.count_updates_written(&bytes);
                let _ = w.send(WriteItem::Bytes(bytes));
                if !end_of_rib.is_empty() {
                    let (tx, rx) = oneshot::channel();
                    let _ = w.send(WriteItem::Mark(tx));
                    let (status, address) = (self.status.clone(), self.peer.address);
                    tokio::spawn(async move {
                        if rx.await.is_ok() {
                            info!(peer = %address, "End-of-RIB sent");
                            status.update(address, |s| {
                                s.end_of_rib_sent_at = Some(std::time::Instant::now())
                            });
                            status.step(address, &end_of_rib, ProgressKind::EndOfRibSent);
                        }
                    });
                }
            }
            PeerEvent::AskRefresh(reply) => {
                let _ = reply.send(self.ask_refresh());
            }
            PeerEvent::Stop(..) => unreachable!("handled in run"),
        }
    }

    /// Send the Established peer a ROUTE-REFRESH for each negotiated family (if it said it
    /// takes them): see [`PeerEvent::AskRefresh`].
    fn ask_refresh(&mut self) -> Option<(Vec<wire::Family>, bool)> {
        let id = self.established?;
        let c = self.conns.iter().find(|c| c.id == id)?;
        let State::Established(neg) = c.session.state() else {
            return None;
        };
        let families = neg.families.clone();
        let writer = c.writer.clone().filter(|_| neg.route_refresh);
        let Some(writer) = writer else {
            return Some((families, false));
        };
        let mut buf = BytesMut::new();
        for family in &families {
            let rr = wire::RouteRefresh {
                family: *family,
                subtype: 0,
            };
            wire::encode(&Message::RouteRefresh(rr), &c.codec(), &mut buf);
        }
        info!(
            ?families,
            "asking the peer for its routes again (ROUTE-REFRESH)"
        );
        let asked = writer.send(WriteItem::Bytes(buf.freeze())).is_ok();
        Some((families, asked))
    }

    fn conn_mut(&mut self, id: u64) -> Option<&mut Conn> {
        self.conns.iter_mut().find(|c| c.id == id)
    }

    /// Feed one event to connection `id`'s state machine and carry out its outputs.
    fn feed(&mut self, id: u64, input: Input) {
        self.feed_read(id, input, ReadCredit::none());
    }

    /// Feed a message read from the connection: the UPDATE it yields (if any) takes `credit`,
    /// its share of the read window, to the RIB; otherwise the share is given back here.
    fn feed_read(&mut self, id: u64, input: Input, mut credit: ReadCredit) {
        let Some(c) = self.conn_mut(id) else {
            return;
        };
        let was_open_confirm = matches!(c.session.state(), State::OpenConfirm(_));
        let outputs = c.session.handle(input);
        for out in outputs {
            self.carry_out(id, out, &mut credit);
        }
        let now_open_confirm = self
            .conn_mut(id)
            .is_some_and(|c| matches!(c.session.state(), State::OpenConfirm(_)));
        if now_open_confirm && !was_open_confirm {
            self.resolve_collision(id);
        }
    }

    fn down(&mut self, id: u64, reason: DownReason) {
        let text = describe(&reason);
        info!(reason = %text, "session down");
        if self.established == Some(id) {
            self.counters.flaps.inc();
            self.established = None;
            self.graceful(GrInput::SessionDown(reason));
        } else if self.resyncing {
            self.restart_delay = RESYNC_DELAY;
        } else {
            self.restart_delay = (self.restart_delay * 2).min(RESTART_DELAY_MAX);
        }
        let address = self.peer.address;
        self.status.update(address, |s| {
            s.established_at = None;
            s.end_of_rib_sent_at = None;
            s.end_of_rib_received_at = None;
            s.hold_time = None;
            s.last_error = Some(text);
        });
        if let Some(c) = self.conn_mut(id) {
            c.close();
        }
        self.conns.retain(|c| c.id != id);
        if self.conns.is_empty() {
            self.restart_at = Some(Instant::now() + self.restart_delay);
        }
    }

    async fn stop(&mut self, notification: Option<Notification>) {
        let ids: Vec<u64> = self.conns.iter().map(|c| c.id).collect();
        for id in ids {
            let n = notification
                .as_ref()
                .map(|n| self.hard_reset_if_needed(id, n));
            self.feed(id, Input::ManualStop(n));
        }
        let writers: Vec<JoinHandle<()>> = self
            .conns
            .iter_mut()
            .filter_map(|c| {
                c.close();
                c.writer_task.take()
            })
            .collect();
        for w in writers {
            let _ = tokio::time::timeout(FLUSH_TIMEOUT, w).await;
        }
        self.conns.clear();
        self.publish_state();
    }
}

fn decode_frame(frame: &[u8], ctx: &CodecContext) -> Result<Message, DecodeError> {
    if frame.len() > ctx.max_message_len() {
        // RFC 4271 §6.1 / RFC 8654 §4: longer than negotiated.
        let len = (frame.len() as u16).to_be_bytes().to_vec();
        return Err(DecodeError {
            code: wire::notif::MESSAGE_HEADER,
            subcode: wire::notif::BAD_MESSAGE_LENGTH,
            data: len,
            reason: format!(
                "message of {} octets without extended messages",
                frame.len()
            ),
        });
    }
    wire::decode(frame, ctx)
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
