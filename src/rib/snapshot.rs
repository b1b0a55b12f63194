//! The RIB to and from disk: what a restarted speaker still knows.
//!
//! A speaker that restarts (crash, kill, upgrade) loads the last snapshot and takes every route
//! its peers had sent as stale: still usable, still in the Loc-RIB, until that peer's
//! End-of-RIB on the new session (or the selection deferral time) says what is still valid
//! (RFC 4724 §4.1: the restarting speaker defers its route selection). Adj-RIB-Out is saved too,
//! for inspection and for the FIB work to come.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{InRoute, PeerRef, Rib};
use crate::store::{RibSnapshot, SavedRoute};

impl Rib {
    /// Everything each peer sent us and everything we sent it (attribute sets shared, not
    /// copied).
    pub fn snapshot(&self) -> RibSnapshot {
        let mut adj_in = BTreeMap::new();
        for (peer, table) in self.adj_ins() {
            let routes: Vec<SavedRoute> = table
                .iter()
                .map(|(prefix, r)| SavedRoute {
                    prefix: *prefix,
                    attrs: r.attrs.clone(),
                })
                .collect();
            adj_in.insert(*peer, routes);
        }
        let mut adj_out = BTreeMap::new();
        for peer in self.out_peers().collect::<Vec<IpAddr>>() {
            if let Some(table) = self.adj_out(&peer) {
                let routes: Vec<SavedRoute> = table
                    .iter()
                    .map(|(prefix, attrs)| SavedRoute {
                        prefix: *prefix,
                        attrs: attrs.clone(),
                    })
                    .collect();
                adj_out.insert(peer, routes);
            }
        }
        RibSnapshot {
            adj_out,
            adj_in,
            kernel_routes: Vec::new(),
        }
    }

    /// Take the routes peers had sent the previous speaker, as stale. Returns how many.
    pub fn restore(&mut self, snapshot: &RibSnapshot) -> usize {
        let mut n = 0;
        for (peer, routes) in &snapshot.adj_in {
            for r in routes {
                let attrs = self.intern((*r.attrs).clone());
                let accepted = !attrs
                    .attrs
                    .as_path
                    .as_ref()
                    .is_some_and(|p| p.contains(self.local_as()));
                self.insert_learned(
                    PeerRef::of(*peer),
                    r.prefix,
                    InRoute {
                        attrs,
                        accepted,
                        stale: true,
                    },
                );
                n += 1;
            }
        }
        n
    }
}
