//! One peer's routes in a RIB snapshot, kept compact: grouped by attribute set, then prefixes
//! by family and length, each one its address alone (IPv6 up to /64 by its first half).
//!
//! The RIB task copies what peers sent into a snapshot, and the saver writes the copy while the
//! RIB goes on. With a full table that copy is the speaker's memory growth during a save: as a
//! list of (prefix, shared attributes) it was 32 bytes a route (35 MB for 1.1M routes, about a
//! fifth of a speaker holding them). Grouped by attribute set (a full table has a few thousand
//! sets at most) and, within a set, prefixes by length, an IPv4 route takes 4 bytes and an IPv6
//! one up to /64 8. With the RIB at about 54 bytes a route, 8 bytes an IPv4 route (the packed
//! key) grew the speaker by about 10 % during a save, and so did 18 bytes an IPv6 one once a
//! bounded read window had taken the decode queue out of the speaker's peak.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::SavedRoute;
use crate::rib::{PathAttrs, SharedAttrs};
use crate::wire::Prefix;

/// Addresses of one family's prefixes, by length, in the order lengths first appear.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ByLength<A>(Vec<(u8, Vec<A>)>);

impl<A> Default for ByLength<A> {
    fn default() -> Self {
        ByLength(Vec::new())
    }
}

impl<A: Copy> ByLength<A> {
    fn push(&mut self, len: u8, addr: A) {
        // Routes of one length tend to come together: look at the last list first.
        let i = match self.0.iter().rposition(|(l, _)| *l == len) {
            Some(i) => i,
            None => {
                self.0.push((len, Vec::new()));
                self.0.len() - 1
            }
        };
        self.0[i].1.push(addr);
    }

    fn len(&self) -> usize {
        self.0.iter().map(|(_, a)| a.len()).sum()
    }

    fn iter(&self) -> impl Iterator<Item = (u8, A)> + '_ {
        self.0
            .iter()
            .flat_map(|(len, addrs)| addrs.iter().map(move |a| (*len, *a)))
    }
}

/// Routes sharing one attribute set.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    attrs: SharedAttrs,
    v4: ByLength<u32>,
    /// IPv6 prefixes up to /64 (nearly all of a table), by their first 64 bits.
    v6: ByLength<u64>,
    /// Longer IPv6 prefixes, whole.
    v6_long: Vec<Prefix>,
}

impl Group {
    fn new(attrs: SharedAttrs) -> Self {
        Group {
            attrs,
            v4: ByLength::default(),
            v6: ByLength::default(),
            v6_long: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.v4.len() + self.v6.len() + self.v6_long.len()
    }

    fn push(&mut self, prefix: Prefix) {
        let len = prefix.len();
        match prefix.addr() {
            IpAddr::V4(addr) => self.v4.push(len, u32::from(addr)),
            IpAddr::V6(addr) if len <= 64 => self.v6.push(len, (u128::from(addr) >> 64) as u64),
            IpAddr::V6(_) => self.v6_long.push(prefix),
        }
    }

    /// Its prefixes: IPv4, then IPv6 up to /64, then longer.
    fn prefixes(&self) -> impl Iterator<Item = Prefix> + '_ {
        let v4 = self
            .v4
            .iter()
            .map(|(len, a)| (IpAddr::V4(Ipv4Addr::from(a)), len));
        let v6 =
            (self.v6.iter()).map(|(len, a)| (IpAddr::V6(Ipv6Addr::from(u128::from(a) << 64)), len));
        v4.chain(v6)
            .map(|(addr, len)| Prefix::new_masked(addr, len).expect("a length, as pushed"))
            .chain(self.v6_long.iter().copied())
    }
}

/// A peer's routes, grouped by attribute set in the order the sets first appear, each group's
/// IPv4 prefixes before its IPv6 ones.
#[derive(Debug, Clone, Default)]
pub struct SavedRoutes {
    groups: Vec<Group>,
    /// Group of an attribute set, by pointer (interned sets: the usual case).
    by_ptr: HashMap<usize, usize>,
    /// Group of an attribute set, by value (equal sets in different allocations).
    by_value: HashMap<PathAttrs, usize>,
    /// The set of the route pushed last, by pointer, and its group.
    last: Option<(usize, usize)>,
}

impl PartialEq for SavedRoutes {
    fn eq(&self, other: &Self) -> bool {
        self.groups == other.groups
    }
}

impl Eq for SavedRoutes {}

impl SavedRoutes {
    /// Add a route.
    pub fn push(&mut self, prefix: Prefix, attrs: &SharedAttrs) {
        let ptr = Arc::as_ptr(attrs) as usize;
        if let Some((last, g)) = self.last {
            // A snapshot read back lists a set's routes together: no lookup for those.
            if last == ptr {
                self.groups[g].push(prefix);
                return;
            }
        }
        let g = match self.by_ptr.get(&ptr) {
            Some(&g) => g,
            None => {
                let g = match self.by_value.get(&**attrs) {
                    Some(&g) => g,
                    None => {
                        self.groups.push(Group::new(attrs.clone()));
                        self.by_value
                            .insert((**attrs).clone(), self.groups.len() - 1);
                        self.groups.len() - 1
                    }
                };
                self.by_ptr.insert(ptr, g);
                g
            }
        };
        self.last = Some((ptr, g));
        self.groups[g].push(prefix);
    }

    /// Every route, group by group.
    pub fn iter(&self) -> impl Iterator<Item = SavedRoute> + '_ {
        self.by_attrs().flat_map(|(attrs, prefixes)| {
            prefixes.map(|prefix| SavedRoute {
                prefix,
                attrs: attrs.clone(),
            })
        })
    }

    /// Every attribute set with the prefixes of its routes, in order.
    pub fn by_attrs(
        &self,
    ) -> impl Iterator<Item = (&SharedAttrs, impl Iterator<Item = Prefix> + '_)> {
        self.groups.iter().map(|g| (&g.attrs, g.prefixes()))
    }

    /// The attribute sets, each with its routes' prefixes, in order.
    pub(super) fn groups(&self) -> impl Iterator<Item = (&SharedAttrs, usize)> {
        self.groups.iter().map(|g| (&g.attrs, g.len()))
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.groups.iter().map(Group::len).sum()
    }

    /// True when there is no route.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> FromIterator<(Prefix, &'a SharedAttrs)> for SavedRoutes {
    fn from_iter<I: IntoIterator<Item = (Prefix, &'a SharedAttrs)>>(iter: I) -> Self {
        let mut routes = SavedRoutes::default();
        for (prefix, attrs) in iter {
            routes.push(prefix, attrs);
        }
        routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(med: u32) -> SharedAttrs {
        let mut a = PathAttrs::default();
        a.attrs.med = Some(med);
        Arc::new(a)
    }

    #[test]
    fn routes_come_back_grouped_by_set_and_length_with_their_prefixes_whole() {
        let (one, two, one_again) = (attrs(1), attrs(2), attrs(1));
        let p = |s: &str| -> Prefix { s.parse().unwrap() };
        let routes: SavedRoutes = [
            (p("198.18.0.0/15"), &one),
            (p("2001:db8::/32"), &two),
            (p("0.0.0.0/0"), &one_again),
            (p("198.20.0.0/15"), &one),
            (p("255.255.255.255/32"), &one),
            (p("2001:db8::1/128"), &one),
            (p("2001:db8:ffff:fffe::/64"), &one),
            (p("::/0"), &one),
        ]
        .into_iter()
        .collect();
        assert_eq!(routes.len(), 8);
        // Equal sets in two allocations are one group.
        assert_eq!(routes.groups().count(), 2);
        let back: Vec<(Prefix, Option<u32>)> = routes
            .iter()
            .map(|r| (r.prefix, r.attrs.attrs.med))
            .collect();
        assert_eq!(
            back,
            vec![
                (p("198.18.0.0/15"), Some(1)),
                // IPv4 prefixes by length, lengths in the order they first came.
                (p("198.20.0.0/15"), Some(1)),
                (p("0.0.0.0/0"), Some(1)),
                (p("255.255.255.255/32"), Some(1)),
                // IPv6 up to /64 by length, then the longer ones.
                (p("2001:db8:ffff:fffe::/64"), Some(1)),
                (p("::/0"), Some(1)),
                (p("2001:db8::1/128"), Some(1)),
                (p("2001:db8::/32"), Some(2)),
            ]
        );
        assert!(SavedRoutes::default().is_empty());
    }
}
