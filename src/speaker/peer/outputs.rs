//! Carrying out what a session asks (its [`Output`]s): dial, write, arm a timer, close, and the
//! export path — telling the RIB a session is up (with the addresses it was reached on) and
//! handing it every UPDATE received, after the martian next hop screen.

use super::*;

impl PeerTask {
    pub(super) fn carry_out(&mut self, id: u64, out: Output, credit: &mut ReadCredit) {
        let remote = SocketAddr::new(self.peer.address, self.peer.port);
        let local_address = self.peer.local_address;
        let events = self.events_tx.clone();
        let security = self.security.clone();
        if let Output::Send(msg) = &out {
            if self.conn_mut(id).is_some_and(|c| c.writer.is_some()) {
                self.count_sent(msg);
            }
        }
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
                    let result = conn::dial(remote, local_address, timeout, &security).await;
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
                self.resyncing = false;
                self.hinted = false;
                if let Some(limit) = &mut self.prefix_limit {
                    limit.reset();
                }
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
                    if self.over_prefix_limit(id, &update) {
                        return;
                    }
                    let end_of_rib = update.as_end_of_rib();
                    let credit = std::mem::replace(credit, ReadCredit::none());
                    let _ = self
                        .rib
                        .send(RibCmd::Update(peer, Box::new(update), credit));
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
}

pub(super) fn local_addresses(
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
