//! The live status of every peer, shared between peer tasks (writers) and the control socket
//! (reader). A plain mutex: updates happen on state changes only, never per route. Under a
//! supervisor, the steps of each session (Established, End-of-RIB sent and received) are also
//! reported as they happen, for the supervisor's progress events.
//!
//! The RIB's per-peer prefix counters are published here too, by the RIB task itself (at most
//! every [`COUNTERS_EVERY`] while it is busy, and whenever it goes idle): a status read must
//! never queue behind a full table being ingested or sent, so it reads this copy instead of
//! asking the RIB task.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;

use crate::ctl::FamilyCountersView;
use crate::handoff::ProgressKind;
use crate::session::SessionState;
use crate::wire::Family;

/// One peer's session status.
#[derive(Debug, Clone)]
pub struct PeerStatus {
    /// FSM state of the most advanced connection.
    pub state: SessionState,
    /// When the session reached Established.
    pub established_at: Option<Instant>,
    /// When our End-of-RIB markers (after the whole table) were handed to the kernel.
    pub end_of_rib_sent_at: Option<Instant>,
    /// Families negotiated on the session whose End-of-RIB the peer has not sent yet.
    pub end_of_rib_awaited: Vec<Family>,
    /// When the peer's End-of-RIB had arrived for every negotiated family.
    pub end_of_rib_received_at: Option<Instant>,
    /// The peer's BGP identifier, once known.
    pub remote_id: Option<Ipv4Addr>,
    /// The hold time negotiated for the session, while Established.
    pub hold_time: Option<u16>,
    /// Why the last session ended.
    pub last_error: Option<String>,
    /// Times the session reached Established.
    pub established_count: u64,
    /// Graceful restart helper phase (`Idle`, `PeerRestarting`, …).
    pub graceful_restart: &'static str,
    /// Routes ignored (treated as withdrawn) for a martian next hop, since the speaker started.
    pub martian_next_hops: u64,
}

impl Default for PeerStatus {
    fn default() -> Self {
        PeerStatus {
            state: SessionState::Idle,
            established_at: None,
            end_of_rib_sent_at: None,
            end_of_rib_awaited: Vec::new(),
            end_of_rib_received_at: None,
            remote_id: None,
            hold_time: None,
            last_error: None,
            established_count: 0,
            graceful_restart: "Idle",
            martian_next_hops: 0,
        }
    }
}

/// A step of one peer's session, in the families it concerns, when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStep {
    /// The peer.
    pub peer: IpAddr,
    /// Established: the negotiated families; End-of-RIB: the families it was for.
    pub families: Vec<Family>,
    /// What happened.
    pub kind: ProgressKind,
    /// When.
    pub at: Instant,
}

/// The RIB's counters as it last published them.
#[derive(Debug, Clone, Default)]
pub struct RibCounters {
    /// Each peer's prefix counters per family.
    pub peers: BTreeMap<IpAddr, Vec<FamilyCountersView>>,
    /// Prefixes in the Loc-RIB, per family.
    pub loc: crate::rib::FamilyCounts,
    /// Best-path changes since the speaker started.
    pub best_changes: u64,
}

/// How stale the published RIB counters may get while the RIB task is busy.
pub const COUNTERS_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// Every peer's status, by address.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard {
    peers: Arc<Mutex<BTreeMap<IpAddr, PeerStatus>>>,
    steps: Option<mpsc::UnboundedSender<SessionStep>>,
    counters: Arc<Mutex<Arc<RibCounters>>>,
}

impl StatusBoard {
    /// A board that also reports each session step on `steps`.
    pub fn reporting(steps: mpsc::UnboundedSender<SessionStep>) -> Self {
        StatusBoard {
            peers: Arc::default(),
            steps: Some(steps),
            counters: Arc::default(),
        }
    }

    /// Change the status of `peer`.
    pub fn update(&self, peer: IpAddr, f: impl FnOnce(&mut PeerStatus)) {
        let mut map = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(peer).or_default());
    }

    /// Report a step of `peer`'s session in `families`, now.
    pub fn step(&self, peer: IpAddr, families: &[Family], kind: ProgressKind) {
        if let Some(steps) = &self.steps {
            let _ = steps.send(SessionStep {
                peer,
                families: families.to_vec(),
                kind,
                at: Instant::now(),
            });
        }
    }

    /// The peer's End-of-RIB for `family` arrived: the last awaited one completes the set.
    pub fn end_of_rib_received(&self, peer: IpAddr, family: Family) {
        self.update(peer, |s| {
            s.end_of_rib_awaited.retain(|f| *f != family);
            if s.end_of_rib_awaited.is_empty() && s.end_of_rib_received_at.is_none() {
                s.end_of_rib_received_at = Some(Instant::now());
            }
        });
    }

    /// Forget `peer` (deleted).
    pub fn remove(&self, peer: IpAddr) {
        self.peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&peer);
    }

    /// A copy of every status.
    pub fn snapshot(&self) -> BTreeMap<IpAddr, PeerStatus> {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Publish the RIB's counters (the RIB task does, see the module doc).
    pub fn set_rib_counters(&self, counters: RibCounters) {
        *self.counters.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(counters);
    }

    /// The RIB's counters as last published: never waits for the RIB.
    pub fn rib_counters(&self) -> Arc<RibCounters> {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
