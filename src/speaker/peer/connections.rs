//! The connection side of a peer task: taking an incoming connection (or refusing it), attaching
//! a TCP stream to its session, and resolving a collision between two connections to the same
//! peer (RFC 4271 §6.8, decided by the sans-IO [`collision`] rules).

use super::*;

impl PeerTask {
    /// A connection from the peer arrived (RFC 4271 §8.2.1.1 and §6.8).
    pub(super) fn incoming(&mut self, stream: TcpStream) {
        if self.held_down {
            info!("refusing a connection: the session is held down after a max_prefixes Cease");
            return;
        }
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

    pub(super) fn attach(&mut self, id: u64, stream: TcpStream, direction: Direction) {
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

    /// RFC 4271 §6.8: a connection just reached OpenConfirm; if another one is in OpenConfirm
    /// too, keep the one opened by the side with the higher BGP identifier.
    pub(super) fn resolve_collision(&mut self, id: u64) {
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
}
