//! The comparison at the heart of reconciliation: what baton wants in the kernel against what
//! a dump of the kernel table found, as the writes that would make them agree. Pure: no I/O,
//! tested on values.
//!
//! Three rules keep it from doing harm:
//! - only routes marked with our protocol, in our table, are ever ours to replace or delete;
//! - a prefix written since the dump was taken is left alone (the dump is older than the
//!   write, and the write was right);
//! - the plan is checked again against the wanted table at the moment of writing
//!   ([`Plan::still_wanted`]): a route withdrawn while the plan waited is not resurrected.

use std::collections::{HashMap, HashSet};

use super::want::{Wanted, WantedTable};
use super::KernelRoute;
use crate::wire::Prefix;

/// A route found in the kernel table by a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The route.
    pub route: KernelRoute,
    /// The rtnetlink protocol number it carries.
    pub protocol: u8,
}

/// Whose routes a dump may touch: ours are those in `table` marked `protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// Our table.
    pub table: u32,
    /// Our protocol number.
    pub protocol: u8,
}

impl Owner {
    /// True if `found` is one of our routes.
    pub fn owns(&self, found: &Found) -> bool {
        found.route.table == self.table && found.protocol == self.protocol
    }
}

/// A wanted route to write, and our route it takes the kernel slot of, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// What to install.
    pub wanted: Wanted,
    /// Our route in the same kernel slot (table, destination, metric), to replace atomically
    /// (`NLM_F_REPLACE`) rather than delete and add: the destination never goes missing.
    pub replaces: Option<KernelRoute>,
}

/// The writes that make the kernel hold what is wanted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Wanted routes the kernel lacks.
    pub install: Vec<Install>,
    /// Our routes that are not wanted (empty while deletions are held back).
    pub remove: Vec<KernelRoute>,
}

/// True if the kernel files `a` and `b` in the same slot: `NLM_F_REPLACE` of one replaces
/// the other.
pub fn same_slot(a: &KernelRoute, b: &KernelRoute) -> bool {
    a.table == b.table && a.prefix == b.prefix && a.metric == b.metric
}

/// Compare `wanted` with the routes a dump `found`. Prefixes in `touched` were written after
/// the dump started and are skipped. Unwanted routes of ours are listed for removal only if
/// `delete` (after a restart, not before the peers had their say).
pub fn diff(
    wanted: &WantedTable,
    found: &[Found],
    owner: Owner,
    touched: &HashSet<Prefix>,
    delete: bool,
) -> Plan {
    let mut ours: HashMap<Prefix, Vec<&KernelRoute>> = HashMap::new();
    for f in found.iter().filter(|f| owner.owns(f)) {
        ours.entry(f.route.prefix).or_default().push(&f.route);
    }
    let mut plan = Plan::default();
    let mut replaced = HashSet::new();
    for w in wanted.iter().filter(|w| !touched.contains(&w.route.prefix)) {
        let present = ours.get(&w.route.prefix).map_or(&[][..], |v| v.as_slice());
        if present.contains(&&w.route) {
            continue;
        }
        let replaces = present.iter().find(|r| same_slot(r, &w.route)).copied();
        if let Some(r) = replaces {
            replaced.insert(r.clone());
        }
        plan.install.push(Install {
            wanted: w.clone(),
            replaces: replaces.cloned(),
        });
    }
    if delete {
        plan.remove = ours
            .into_iter()
            .filter(|(prefix, _)| !touched.contains(prefix))
            .flat_map(|(_, routes)| routes)
            .filter(|r| !wanted.wants(r) && !replaced.contains(*r))
            .cloned()
            .collect();
    }
    plan.install
        .sort_by(|a, b| a.wanted.route.cmp(&b.wanted.route));
    plan.remove.sort();
    plan
}

impl Plan {
    /// The plan as it still holds now: installs of routes still wanted exactly so, removals of
    /// routes still unwanted, nothing for a prefix in `touched` (written since the plan was
    /// made). Called at the moment of writing.
    pub fn still_wanted(self, wanted: &WantedTable, touched: &HashSet<Prefix>) -> Plan {
        let fresh = |p: &Prefix| !touched.contains(p);
        Plan {
            install: self
                .install
                .into_iter()
                .filter(|i| fresh(&i.wanted.route.prefix) && wanted.wants(&i.wanted.route))
                .collect(),
            remove: self
                .remove
                .into_iter()
                .filter(|r| fresh(&r.prefix) && !wanted.wants(r))
                .collect(),
        }
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.install.is_empty() && self.remove.is_empty()
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
