//! Interned path attribute sets: what many routes share.

use foldhash::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use crate::wire::Attributes;

/// The attributes of a route as the RIB keeps them: the path attributes plus the next hop,
/// whichever attribute carried it (NEXT_HOP for IPv4, MP_REACH_NLRI for IPv6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PathAttrs {
    /// Path attributes; `attrs.next_hop` is left as received (IPv4 only).
    pub attrs: Attributes,
    /// The next hop of the route, of the route's family; `None` for an originated route that
    /// names none (next-hop self is decided per session on export).
    pub next_hop: Option<IpAddr>,
}

/// A shared, immutable attribute set.
pub type SharedAttrs = Arc<PathAttrs>;

/// Keeps one `Arc` per distinct attribute set so equal sets share memory and compare by pointer.
#[derive(Debug, Default)]
pub struct Interner {
    set: HashSet<SharedAttrs>,
    gc_at: usize,
}

impl Interner {
    /// The shared copy of `attrs`, creating it on first sight.
    pub fn intern(&mut self, attrs: PathAttrs) -> SharedAttrs {
        if let Some(existing) = self.set.get(&attrs) {
            return existing.clone();
        }
        if self.set.len() >= self.gc_at.max(1024) {
            self.gc();
        }
        let shared = Arc::new(attrs);
        self.set.insert(shared.clone());
        shared
    }

    /// Drop the sets no route refers to any more.
    pub fn gc(&mut self) {
        self.set.retain(|a| Arc::strong_count(a) > 1);
        self.gc_at = self.set.len() * 2;
    }

    /// How many distinct sets are held.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when no set is held.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}
