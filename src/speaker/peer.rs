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

use super::conn::{self, ReadEvent, WriteItem};
use super::martian::MartianScreen;
use super::rib_task::{RibCmd, RibOut, RibSink};
use super::status::StatusBoard;
use crate::config::Peer;
use crate::handoff::ProgressKind;
use crate::rib::{PeerRef, PeerSession};
use crate::session::{
    collision, Direction, DownReason, GrHelper, GrInput, GrOutput, GrPolicy, GrSettings, GrTimer,
    Input, Output, Session, SessionConfig, SessionState, State, Timer,
};
use crate::wire::{self, CodecContext, DecodeError, Message, Notification};

/// Delay before a session that went down is started again, doubling up to the maximum while
/// sessions keep failing before Established.
const RESTART_DELAY: Duration = Duration::from_secs(1);
const RESTART_DELAY_MAX: Duration = Duration::from_secs(30);
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
    /// Graceful restart, helper side: what to keep when the peer goes away, and for how long.
    gr: GrHelper,
    gr_timers: Vec<(GrTimer, Instant)>,
    /// Routes with a martian next hop: ignored, counted, logged once per reason.
    martians: MartianScreen,
}

impl PeerTask {
    /// A task for `peer`; returns it and the sender for its events.
    pub fn new(
        peer: Peer,
        local_as: u32,
        router_id: std::net::Ipv4Addr,
        restarting: bool,
        rib: mpsc::UnboundedSender<RibCmd>,
        status: StatusBoard,
    ) -> (PeerTask, mpsc::UnboundedSender<PeerEvent>) {
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
            gr: GrHelper::new(GrPolicy {
                enabled: peer.graceful_restart.enabled,
                restart_time: peer.graceful_restart.restart_time,
                notification: peer.graceful_restart.notification,
                long_lived_stale_time: peer.graceful_restart.long_lived_stale_time,
            }),
            gr_timers: Vec::new(),
            martians: MartianScreen::default(),
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
                debug!(error = %e, "connect failed");
                if let Some(c) = self.conn_mut(id) {
                    c.dialer = None;
                }
                self.feed(id, Input::TcpFailed);
            }
            PeerEvent::Read(id, ReadEvent::Frame(frame)) => {
                let Some(ctx) = self.conn_mut(id).map(|c| c.codec()) else {
                    return;
                };
                let input = match decode_frame(&frame, &ctx) {
                    Ok(msg) => Input::Message(msg),
                    Err(e) => {
                        warn!(error = %e, "malformed message");
                        Input::DecodeError(e)
                    }
                };
                self.feed(id, input);
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

    /// A connection from the peer arrived (RFC 4271 §8.2.1.1 and §6.8).
    fn incoming(&mut self, stream: TcpStream) {
        if let Some(est) = self.established {
            let peer_gr = self.conns.iter().find(|c| c.id == est).is_some_and(|c| {
                matches!(c.session.state(), State::Established(n) if n.peer_graceful_restart.is_some())
            });
            if !peer_gr {
                info!("refusing a second connection: session already Established (RFC 4271 §6.8)");
                return;
            }
            // RFC 4724 §4.2: a GR peer that connects again while we think the session is up
            // has restarted; its OPEN on the new connection will replace the old session.
            info!("new connection while Established from a graceful-restart peer: it restarted");
        }
        // A connection slot without TCP (Connect or Active) takes it; a pending dial is dropped.
        let idle = self
            .conns
            .iter()
            .find(|c| !c.has_tcp() && matches!(c.session.state(), State::Connect | State::Active))
            .map(|c| c.id);
        let id = match idle {
            Some(id) => id,
            None => {
                // Collision (or a restart pending): run a second, passive state machine.
                self.restart_at = None;
                let config = SessionConfig {
                    passive: true,
                    ..self.session_config.clone()
                };
                self.start_session(config)
            }
        };
        if let Some(c) = self.conn_mut(id) {
            if let Some(d) = c.dialer.take() {
                d.abort();
            }
        }
        self.attach(id, stream, Direction::Incoming);
        self.feed(id, Input::TcpConnected(Direction::Incoming));
    }

    fn attach(&mut self, id: u64, stream: TcpStream, direction: Direction) {
        let events = self.events_tx.clone();
        let Some(c) = self.conn_mut(id) else {
            return;
        };
        c.local = stream.local_addr().ok();
        c.direction = Some(direction);
        let (rd, wr) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        c.writer = Some(tx);
        c.writer_task = Some(tokio::spawn(conn::write_frames(wr, rx)));
        c.reader_task = Some(tokio::spawn(conn::read_frames::<PeerEvent>(id, rd, events)));
        c.dialer = None;
    }

    fn conn_mut(&mut self, id: u64) -> Option<&mut Conn> {
        self.conns.iter_mut().find(|c| c.id == id)
    }

    /// Feed one event to connection `id`'s state machine and carry out its outputs.
    fn feed(&mut self, id: u64, input: Input) {
        let Some(c) = self.conn_mut(id) else {
            return;
        };
        let was_open_confirm = matches!(c.session.state(), State::OpenConfirm(_));
        let outputs = c.session.handle(input);
        for out in outputs {
            self.carry_out(id, out);
        }
        let now_open_confirm = self
            .conn_mut(id)
            .is_some_and(|c| matches!(c.session.state(), State::OpenConfirm(_)));
        if now_open_confirm && !was_open_confirm {
            self.resolve_collision(id);
        }
    }

    fn carry_out(&mut self, id: u64, out: Output) {
        let remote = SocketAddr::new(self.peer.address, self.peer.port);
        let local_address = self.peer.local_address;
        let events = self.events_tx.clone();
        let Some(c) = self.conn_mut(id) else {
            return;
        };
        match out {
            Output::Connect => {
                if let Some(d) = c.dialer.take() {
                    d.abort();
                }
                let timeout = c.session.config().connect_retry;
                c.dialer = Some(tokio::spawn(async move {
                    let result = conn::dial(remote, local_address, timeout).await;
                    let _ = events.send(PeerEvent::Dialed(id, result));
                }));
            }
            Output::Send(msg) => {
                let mut buf = BytesMut::new();
                wire::encode(&msg, &c.codec(), &mut buf);
                if let Message::Notification(n) = &msg {
                    // An operator's Cease (a stop, a disabled, removed, reset or changed
                    // peer, a collision resolved, each maybe wrapped in a Hard Reset) is
                    // routine; any other NOTIFICATION reports a problem.
                    let routine = n.code == wire::notif::CEASE
                        && matches!(
                            n.subcode,
                            wire::notif::ADMIN_SHUTDOWN
                                | wire::notif::PEER_DECONFIGURED
                                | wire::notif::ADMIN_RESET
                                | wire::notif::OTHER_CONFIG_CHANGE
                                | wire::notif::COLLISION_RESOLUTION
                                | wire::notif::HARD_RESET
                        );
                    if routine {
                        info!(code = n.code, subcode = n.subcode, "sending NOTIFICATION");
                    } else {
                        warn!(code = n.code, subcode = n.subcode, "sending NOTIFICATION");
                    }
                }
                if let Some(w) = &c.writer {
                    let _ = w.send(WriteItem::Bytes(buf.freeze()));
                }
            }
            Output::Close => c.close(),
            Output::StartTimer(t, d) => c.timers[timer_index(t)] = Some(Instant::now() + d),
            Output::StopTimer(t) => c.timers[timer_index(t)] = None,
            Output::Established(neg) => {
                let local = c.local;
                info!(remote_id = %neg.remote_id, hold_time = neg.hold_time, families = ?neg.families, "session Established");
                self.established = Some(id);
                self.restart_delay = RESTART_DELAY;
                // The Restart bit speaks of this start only; later sessions are ordinary.
                if let Some(gr) = &mut self.session_config.graceful_restart {
                    gr.restarting = false;
                    gr.forwarding.clear();
                }
                let address = self.peer.address;
                self.status.update(address, |s| {
                    s.established_at = Some(std::time::Instant::now());
                    s.end_of_rib_sent_at = None;
                    s.end_of_rib_awaited = neg.families.clone();
                    s.end_of_rib_received_at = None;
                    s.remote_id = Some(neg.remote_id);
                    s.hold_time = Some(neg.hold_time);
                    s.established_count += 1;
                });
                self.status
                    .step(address, &neg.families, ProgressKind::Established);
                self.graceful(GrInput::SessionUp(neg.clone()));
                let (local_v4, local_v6) = local_addresses(local, local_address);
                let session = PeerSession {
                    address,
                    local_as: self.session_config.local_as,
                    remote_as: neg.remote_as,
                    remote_id: neg.remote_id,
                    families: neg.families.clone(),
                    codec: neg.codec,
                    local_v4,
                    local_v6,
                };
                let _ = self.rib.send(RibCmd::PeerUp {
                    session: Box::new(session),
                    session_id: id,
                    out: {
                        let events = self.events_tx.clone();
                        RibSink::new(move |out| {
                            let _ = events.send(PeerEvent::RibOut(out));
                        })
                    },
                });
                // Any other connection lost the race: close it.
                let losers: Vec<u64> = self
                    .conns
                    .iter()
                    .filter(|c| c.id != id)
                    .map(|c| c.id)
                    .collect();
                for loser in losers {
                    self.feed(
                        loser,
                        Input::ManualStop(Some(Notification::new(
                            wire::notif::CEASE,
                            wire::notif::COLLISION_RESOLUTION,
                        ))),
                    );
                    self.conns.retain(|c| c.id != loser);
                }
            }
            Output::Update(mut update) => {
                let remote = match c.session.state() {
                    State::Established(neg) => Some((neg.remote_id, neg.remote_as)),
                    _ => None,
                };
                let (local_v4, local_v6) = local_addresses(c.local, local_address);
                if let Some((router_id, remote_as)) = remote {
                    let peer = PeerRef {
                        address: self.peer.address,
                        router_id,
                        ibgp: remote_as == self.session_config.local_as,
                    };
                    for e in &update.errors.0 {
                        warn!(attribute = e.code, action = ?e.action, reason = %e.reason, "malformed attribute (RFC 7606)");
                    }
                    let local: Vec<IpAddr> = local_v4
                        .map(IpAddr::V4)
                        .into_iter()
                        .chain(local_v6.map(IpAddr::V6))
                        .collect();
                    self.martians
                        .screen(&mut update, &local, &self.status, peer.address);
                    let end_of_rib = update.as_end_of_rib();
                    let _ = self.rib.send(RibCmd::Update(peer, Box::new(update)));
                    if let Some(family) = end_of_rib {
                        self.status.end_of_rib_received(self.peer.address, family);
                        let kind = ProgressKind::EndOfRibReceived;
                        self.status.step(self.peer.address, &[family], kind);
                        self.graceful(GrInput::EndOfRib(family));
                    }
                }
            }
            Output::RouteRefresh(family) => {
                debug!(%family, "ROUTE-REFRESH received");
                let _ = self.rib.send(RibCmd::Refresh(self.peer.address, family));
            }
            Output::Down(reason) => self.down(id, reason),
        }
    }

    fn down(&mut self, id: u64, reason: DownReason) {
        let text = describe(&reason);
        info!(reason = %text, "session down");
        if self.established == Some(id) {
            self.established = None;
            self.graceful(GrInput::SessionDown(reason));
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

    /// Feed the graceful restart helper and carry out what it decides.
    fn graceful(&mut self, input: GrInput) {
        let address = self.peer.address;
        for out in self.gr.handle(input) {
            let cmd = match out {
                GrOutput::PurgeAll => RibCmd::PeerDown(address),
                GrOutput::MarkStale(families) => {
                    info!(
                        ?families,
                        "peer went away: keeping its routes as stale (graceful restart)"
                    );
                    RibCmd::MarkStale(address, families)
                }
                GrOutput::PurgeStale(families) => RibCmd::PurgeStale(address, families),
                GrOutput::LongLivedStale(families) => {
                    info!(
                        ?families,
                        "restart time over: routes become long-lived stale"
                    );
                    RibCmd::LongLivedStale(address, families)
                }
                GrOutput::StartTimer(t, d) => {
                    self.gr_timers.retain(|(x, _)| *x != t);
                    self.gr_timers.push((t, Instant::now() + d));
                    continue;
                }
                GrOutput::StopTimer(t) => {
                    self.gr_timers.retain(|(x, _)| *x != t);
                    continue;
                }
            };
            let _ = self.rib.send(cmd);
        }
        let phase = self.gr.phase().name();
        self.status.update(address, |s| s.graceful_restart = phase);
    }

    /// RFC 4271 §6.8: a connection just reached OpenConfirm; if another one is in OpenConfirm
    /// too, keep the one opened by the side with the higher BGP identifier.
    fn resolve_collision(&mut self, id: u64) {
        let Some(((remote_id, remote_as), dir)) =
            self.conns
                .iter()
                .find(|c| c.id == id)
                .and_then(|c| match c.session.state() {
                    State::OpenConfirm(n) => c.direction.map(|d| ((n.remote_id, n.remote_as), d)),
                    _ => None,
                })
        else {
            return;
        };
        // The peer restarted while we still held its old session (accepted only for GR
        // peers): the old session ends as if its connection had failed, so its routes go stale.
        if let Some(old) = self.established.filter(|old| *old != id) {
            info!("peer restarted: replacing the old session (RFC 4724 §4.2)");
            self.feed(old, Input::TcpFailed);
            return;
        }
        let others: Vec<u64> = self
            .conns
            .iter()
            .filter(|c| c.id != id && matches!(c.session.state(), State::OpenConfirm(_)))
            .map(|c| c.id)
            .collect();
        if others.is_empty() {
            return;
        }
        let keep_outgoing = collision::keep_outgoing_with_as(
            self.session_config.router_id,
            self.session_config.local_as,
            remote_id,
            remote_as,
        );
        let this_wins = (dir == Direction::Outgoing) == keep_outgoing;
        let losers = if this_wins { others } else { vec![id] };
        info!(?losers, keep_outgoing, "connection collision resolved");
        let cease = Notification::new(wire::notif::CEASE, wire::notif::COLLISION_RESOLUTION);
        for loser in losers {
            self.feed(loser, Input::ManualStop(Some(cease.clone())));
            self.conns.retain(|c| c.id != loser);
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

    /// RFC 8538 §4: when both sides sent the N bit, a Cease other than Hard Reset keeps our
    /// routes at the peer as stale; a stop that means "withdraw" goes as a Hard Reset.
    fn hard_reset_if_needed(&self, id: u64, n: &Notification) -> Notification {
        let ours = self
            .session_config
            .graceful_restart
            .as_ref()
            .is_some_and(|g| g.notification);
        let theirs = self.conns.iter().find(|c| c.id == id).is_some_and(|c| {
            matches!(c.session.state(), State::Established(neg) | State::OpenConfirm(neg)
                if neg.peer_graceful_restart.as_ref().is_some_and(|g| g.notification))
        });
        if ours && theirs && n.code == wire::notif::CEASE && !n.is_hard_reset() {
            n.hard_reset()
        } else {
            n.clone()
        }
    }

    fn publish_state(&self) {
        let rank = |s: &State| match s {
            State::Idle => 0,
            State::Connect | State::Active => 1,
            State::OpenSent => 2,
            State::OpenConfirm(_) => 3,
            State::Established(_) => 4,
        };
        let state = self
            .conns
            .iter()
            .map(|c| c.session.state())
            .max_by_key(|s| rank(s))
            .map_or(SessionState::Idle, State::kind);
        self.status.update(self.peer.address, |s| s.state = state);
    }
}

/// Our graceful restart capability for `peer`. After a restart the Restart bit is set and the
/// Forwarding bit too, for every family: what a host speaker forwards is its own services'
/// traffic, which kept flowing while it restarted (and a helper MUST flush a family whose F bit
/// is clear, RFC 4724 §4.2 — exactly the withdrawal we exist to prevent).
fn gr_settings(peer: &Peer, restarting: bool) -> Option<GrSettings> {
    let gr = &peer.graceful_restart;
    gr.enabled.then(|| GrSettings {
        restart_time: gr.restart_time,
        restarting,
        forwarding: if restarting {
            peer.families.clone()
        } else {
            Vec::new()
        },
        notification: gr.notification,
        long_lived_stale_time: gr.long_lived_stale_time,
    })
}

fn local_addresses(
    socket_local: Option<SocketAddr>,
    configured: Option<IpAddr>,
) -> (Option<std::net::Ipv4Addr>, Option<std::net::Ipv6Addr>) {
    let mut v4 = None;
    let mut v6 = None;
    for addr in [configured, socket_local.map(|s| s.ip())]
        .into_iter()
        .flatten()
    {
        match addr {
            IpAddr::V4(a) => v4 = v4.or(Some(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(m) => v4 = v4.or(Some(m)),
                None => v6 = v6.or(Some(a)),
            },
        }
    }
    (v4, v6)
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

fn describe(reason: &DownReason) -> String {
    let n = |n: &Notification| {
        let mut s = format!("{}/{}", n.code, n.subcode);
        if let Some(cause) = n.hard_reset_cause() {
            s.push_str(&format!(
                " (Hard Reset of {}/{})",
                cause.code, cause.subcode
            ));
        }
        if let Some(m) = n.shutdown_message() {
            s.push_str(&format!(" \"{m}\""));
        }
        s
    };
    match reason {
        DownReason::Stopped(None) => "stopped".into(),
        DownReason::Stopped(Some(x)) => format!("stopped, sent NOTIFICATION {}", n(x)),
        DownReason::ConnectionLost => "connection lost".into(),
        DownReason::NotificationSent(x) => format!("sent NOTIFICATION {}", n(x)),
        DownReason::NotificationReceived(x) => format!("received NOTIFICATION {}", n(x)),
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
