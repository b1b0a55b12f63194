//! The live status of every peer, shared between peer tasks (writers) and the control socket
//! (reader). A plain mutex: updates happen on state changes only, never per route.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One peer's session status.
#[derive(Debug, Clone)]
pub struct PeerStatus {
    /// FSM state name of the most advanced connection.
    pub state: &'static str,
    /// When the session reached Established.
    pub established_at: Option<Instant>,
    /// When our End-of-RIB markers (after the whole table) were handed to the kernel.
    pub end_of_rib_sent_at: Option<Instant>,
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
            state: "Idle",
            established_at: None,
            end_of_rib_sent_at: None,
            remote_id: None,
            hold_time: None,
            last_error: None,
            established_count: 0,
            graceful_restart: "Idle",
            martian_next_hops: 0,
        }
    }
}

/// Every peer's status, by address.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard(Arc<Mutex<BTreeMap<IpAddr, PeerStatus>>>);

impl StatusBoard {
    /// Change the status of `peer`.
    pub fn update(&self, peer: IpAddr, f: impl FnOnce(&mut PeerStatus)) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(peer).or_default());
    }

    /// Forget `peer` (deleted).
    pub fn remove(&self, peer: IpAddr) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&peer);
    }

    /// A copy of every status.
    pub fn snapshot(&self) -> BTreeMap<IpAddr, PeerStatus> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
