//! The running peer tasks, by address: shared by the listeners (which hand each accepted
//! connection to its peer's task), the REST API (which starts and stops peers at run time) and
//! the speaker's shutdown.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tracing::{error, Instrument};

use super::conn::Security;
use super::listeners::Listeners;
use super::peer::{PeerEvent, PeerLinks, PeerTask};
use super::rib_task::RibCmd;
use super::status::StatusBoard;
use crate::config::Peer;
use crate::metrics::Metrics;
use crate::wire::Notification;

/// What every peer task is started with.
struct Shared {
    local_as: u32,
    router_id: Ipv4Addr,
    rib: mpsc::UnboundedSender<RibCmd>,
    status: StatusBoard,
    /// The listening sockets, on which each peer's TCP-MD5 key and GTSM are set.
    listeners: Arc<Listeners>,
    metrics: Arc<Metrics>,
    tasks: Mutex<HashMap<IpAddr, mpsc::UnboundedSender<PeerEvent>>>,
    /// Held across a start or stop, so that changes to one peer happen one at a time.
    changing: tokio::sync::Mutex<()>,
}

/// The running peer tasks. Cloning shares them.
#[derive(Clone)]
pub struct PeerSet(Arc<Shared>);

impl PeerSet {
    /// No peers yet; tasks started later get these parameters.
    pub fn new(
        local_as: u32,
        router_id: Ipv4Addr,
        rib: mpsc::UnboundedSender<RibCmd>,
        status: StatusBoard,
        listeners: Arc<Listeners>,
        metrics: Arc<Metrics>,
    ) -> PeerSet {
        PeerSet(Arc::new(Shared {
            local_as,
            router_id,
            rib,
            status,
            listeners,
            metrics,
            tasks: Mutex::default(),
            changing: tokio::sync::Mutex::const_new(()),
        }))
    }

    fn tasks(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<IpAddr, mpsc::UnboundedSender<PeerEvent>>> {
        self.0.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The task of the peer at `addr`, if one runs.
    pub fn get(&self, addr: IpAddr) -> Option<mpsc::UnboundedSender<PeerEvent>> {
        self.tasks().get(&addr).cloned()
    }

    /// Start a task for `peer` (replacing nothing: the caller stops the old one first).
    /// `restarting` sets the graceful restart Restart bit: only for the peers of a speaker
    /// that starts after a crash or an upgrade.
    pub fn start(&self, peer: Peer, restarting: bool) {
        let s = &self.0;
        s.status.update(peer.address, |st| st.last_error = None);
        // Read again at each start: a password file may have changed since the load.
        let md5 = peer.md5_password().unwrap_or_else(|e| {
            error!(peer = %peer.address, error = %e, "no TCP-MD5 key: the session cannot come up with a peer that expects one");
            None
        });
        s.listeners
            .peer_started(peer.address, md5.as_ref(), peer.ttl_security);
        let security = Security {
            md5,
            ttl_hops: peer.ttl_security,
        };
        let (task, tx) = PeerTask::new(
            peer.clone(),
            security,
            s.local_as,
            s.router_id,
            restarting,
            PeerLinks {
                rib: s.rib.clone(),
                status: s.status.clone(),
                counters: s.metrics.peer_counters(peer.address),
            },
        );
        let span = tracing::info_span!("peer", peer = %peer.address);
        tokio::spawn(task.run().instrument(span));
        self.tasks().insert(peer.address, tx);
    }

    /// Stop the task of `addr` (if any), sending `notification`, wait for it to end, and have
    /// the RIB forget the peer's routes. Returns whether a task was running.
    pub async fn stop(&self, addr: IpAddr, notification: Option<Notification>) -> bool {
        let Some(tx) = self.tasks().remove(&addr) else {
            return false;
        };
        let (done_tx, done_rx) = oneshot::channel();
        if tx.send(PeerEvent::Stop(notification, done_tx)).is_ok() {
            let _ = done_rx.await;
        }
        let _ = self.0.rib.send(RibCmd::PeerDown(addr));
        self.0.listeners.peer_stopped(addr);
        true
    }

    /// Whether a connection accepted from `addr` may go to its peer (GTSM, see
    /// [`Listeners::admit`]).
    pub fn admit(&self, addr: IpAddr, stream: &tokio::net::TcpStream) -> bool {
        self.0.listeners.admit(addr, stream)
    }

    /// The speaker stops accepting: let go of the listening sockets (their keys stay, for the
    /// next speaker).
    pub fn forget_listeners(&self) {
        self.0.listeners.forget();
    }

    /// Take the lock that orders changes to peers (start, stop, replace).
    pub async fn changing(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.changing.lock().await
    }

    /// Stop every task, sending each `notification`, and wait for them all to end. The RIB is
    /// left as it is (the speaker is ending).
    pub async fn stop_all(&self, notification: Option<Notification>) {
        let tasks: Vec<_> = self.tasks().drain().collect();
        let mut waits = Vec::new();
        for (_, tx) in tasks {
            let (done_tx, done_rx) = oneshot::channel();
            if tx
                .send(PeerEvent::Stop(notification.clone(), done_tx))
                .is_ok()
            {
                waits.push(done_rx);
            }
        }
        for w in waits {
            let _ = w.await;
        }
    }
}
