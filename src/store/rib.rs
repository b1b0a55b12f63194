//! The RIB to and from its snapshot: what a restarted speaker still knows.
//!
//! A speaker that restarts (crash, kill, upgrade) loads the last snapshot and takes every route
//! its peers had sent as stale ([`Rib::restore_stale`]). Adj-RIB-Out is not saved: the next
//! speaker recomputes it from the intent (see [`RibSnapshot`]). The conversion lives here rather than in
//! `rib/` so that the RIB knows nothing of how it is kept on disk.

use std::collections::BTreeMap;

use super::RibSnapshot;
use crate::rib::Rib;

impl RibSnapshot {
    /// Everything each peer sent us (attribute sets shared with the RIB, not copied).
    pub fn of(rib: &Rib) -> RibSnapshot {
        let mut adj_in = BTreeMap::new();
        for (peer, table) in rib.adj_ins() {
            let routes = table.iter().map(|(prefix, r)| (prefix, r.attrs)).collect();
            adj_in.insert(*peer, routes);
        }
        RibSnapshot {
            adj_in,
            kernel_routes: Vec::new(),
        }
    }

    /// Give the routes peers had sent the previous speaker to `rib`, as stale. Returns how many.
    pub fn restore_into(&self, rib: &mut Rib) -> usize {
        let mut n = 0;
        let mut prefixes = Vec::new();
        for (peer, routes) in &self.adj_in {
            for (attrs, group) in routes.by_attrs() {
                prefixes.clear();
                prefixes.extend(group);
                rib.restore_stale_many(*peer, &prefixes, (**attrs).clone());
                n += prefixes.len();
            }
        }
        n
    }
}
