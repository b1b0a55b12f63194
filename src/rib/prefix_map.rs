//! A hash map keyed by prefix, with IPv4 prefixes packed into one machine word.
//!
//! A [`Prefix`] is 18 bytes (an `IpAddr` and a length), so a table entry keyed by it takes 24
//! bytes of key after padding, for a full table that is mostly IPv4 /24s and longer. Packed
//! into a `u64` (address and length), an IPv4 key takes 8: at a million prefixes and 2^21
//! buckets, 32 MiB less per table, and hashing and comparing one word instead of 18 bytes.
//! IPv6 prefixes keep the `Prefix` key. Iteration yields prefixes by value, since a packed
//! key has no `Prefix` to borrow. Each family's table is a [`ShardedMap`], which grows a 64th
//! at a time rather than doubling a whole table at once.

use std::net::{IpAddr, Ipv4Addr};

use super::ShardedMap;
use crate::wire::{Family, Prefix};

/// A map from [`Prefix`] to `V`, one table per family.
#[derive(Debug, Clone)]
pub struct PrefixMap<V> {
    v4: ShardedMap<u64, V>,
    v6: ShardedMap<Prefix, V>,
}

impl<V> Default for PrefixMap<V> {
    fn default() -> Self {
        PrefixMap {
            v4: ShardedMap::default(),
            v6: ShardedMap::default(),
        }
    }
}

/// The packed key of an IPv4 prefix: address above, length in the low byte (`None` for an
/// IPv6 prefix). Also how a RIB snapshot keeps its IPv4 routes.
pub fn v4_key(prefix: &Prefix) -> Option<u64> {
    match prefix.addr() {
        IpAddr::V4(a) => Some(u64::from(u32::from(a)) << 8 | u64::from(prefix.len())),
        IpAddr::V6(_) => None,
    }
}

/// The prefix a [`v4_key`] was made from.
pub fn v4_prefix(key: u64) -> Prefix {
    let addr = IpAddr::V4(Ipv4Addr::from((key >> 8) as u32));
    Prefix::new_masked(addr, key as u8).expect("a packed key holds a valid IPv4 prefix")
}

impl<V> PrefixMap<V> {
    /// Make room for `v4` more IPv4 and `v6` more IPv6 prefixes at once, so that a
    /// million-entry table does not hold its old and new bucket arrays together while it
    /// doubles.
    pub fn reserve(&mut self, v4: usize, v6: usize) {
        self.v4.reserve(v4);
        self.v6.reserve(v6);
    }

    /// Insert or replace; returns the old value.
    pub fn insert(&mut self, prefix: Prefix, value: V) -> Option<V> {
        match v4_key(&prefix) {
            Some(k) => self.v4.insert(k, value),
            None => self.v6.insert(prefix, value),
        }
    }

    /// Remove; returns the old value.
    pub fn remove(&mut self, prefix: &Prefix) -> Option<V> {
        match v4_key(prefix) {
            Some(k) => self.v4.remove(&k),
            None => self.v6.remove(prefix),
        }
    }

    /// The value for `prefix`.
    pub fn get(&self, prefix: &Prefix) -> Option<&V> {
        match v4_key(prefix) {
            Some(k) => self.v4.get(&k),
            None => self.v6.get(prefix),
        }
    }

    /// The value for `prefix`, mutable.
    pub fn get_mut(&mut self, prefix: &Prefix) -> Option<&mut V> {
        match v4_key(prefix) {
            Some(k) => self.v4.get_mut(&k),
            None => self.v6.get_mut(prefix),
        }
    }

    /// The value for `prefix`, inserting `make()` first if there is none; true if it did.
    /// One lookup either way (a table arriving is mostly new prefixes).
    pub fn get_or_insert_with(
        &mut self,
        prefix: Prefix,
        make: impl FnOnce() -> V,
    ) -> (&mut V, bool) {
        let mut inserted = false;
        let make = || {
            inserted = true;
            make()
        };
        let value = match v4_key(&prefix) {
            Some(k) => self.v4.get_or_insert_with(k, make),
            None => self.v6.get_or_insert_with(prefix, make),
        };
        (value, inserted)
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, &V)> {
        let v4 = self.v4.iter().map(|(k, v)| (v4_prefix(*k), v));
        v4.chain(self.v6.iter().map(|(p, v)| (*p, v)))
    }

    /// The entries of `family`, in no particular order (the other family's table is not read).
    pub fn iter_family(&self, family: Family) -> Box<dyn Iterator<Item = (Prefix, &V)> + '_> {
        match family {
            Family::IPV4_UNICAST => Box::new(self.v4.iter().map(|(k, v)| (v4_prefix(*k), v))),
            Family::IPV6_UNICAST => Box::new(self.v6.iter().map(|(p, v)| (*p, v))),
            _ => Box::new(std::iter::empty()),
        }
    }

    /// The entries of `family`, values mutable.
    pub fn iter_family_mut(
        &mut self,
        family: Family,
    ) -> Box<dyn Iterator<Item = (Prefix, &mut V)> + '_> {
        match family {
            Family::IPV4_UNICAST => Box::new(self.v4.iter_mut().map(|(k, v)| (v4_prefix(*k), v))),
            Family::IPV6_UNICAST => Box::new(self.v6.iter_mut().map(|(p, v)| (*p, v))),
            _ => Box::new(std::iter::empty()),
        }
    }

    /// Keep the entries of `family` for which `keep` holds (it may change their values too).
    pub fn retain_family(&mut self, family: Family, mut keep: impl FnMut(Prefix, &mut V) -> bool) {
        match family {
            Family::IPV4_UNICAST => self.v4.retain(|k, v| keep(v4_prefix(*k), v)),
            Family::IPV6_UNICAST => self.v6.retain(|p, v| keep(*p, v)),
            _ => {}
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// A set of prefixes that changes only as a whole (the configuration's): sorted vectors, IPv4
/// packed as in [`PrefixMap`], looked up by binary search. A million IPv4 prefixes take 8 MB,
/// where a hash set of `Prefix` took about 40.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixSet {
    v4: Vec<u64>,
    v6: Vec<Prefix>,
}

impl FromIterator<Prefix> for PrefixSet {
    fn from_iter<I: IntoIterator<Item = Prefix>>(iter: I) -> Self {
        let mut set = PrefixSet::default();
        for prefix in iter {
            match v4_key(&prefix) {
                Some(k) => set.v4.push(k),
                None => set.v6.push(prefix),
            }
        }
        set.v4.sort_unstable();
        set.v4.dedup();
        set.v6.sort_unstable();
        set.v6.dedup();
        set.v4.shrink_to_fit();
        set.v6.shrink_to_fit();
        set
    }
}

impl PrefixSet {
    /// True if `prefix` is in the set.
    pub fn contains(&self, prefix: &Prefix) -> bool {
        match v4_key(prefix) {
            Some(k) => self.v4.binary_search(&k).is_ok(),
            None => self.v6.binary_search(prefix).is_ok(),
        }
    }

    /// Number of distinct prefixes.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes_of_both_families_and_every_length_come_back_as_they_went_in() {
        let prefixes = [
            "0.0.0.0/0",
            "255.255.255.255/32",
            "198.18.0.0/15",
            "198.18.0.0/16",
            "198.18.0.1/32",
            "::/0",
            "2001:db8::/32",
            "2001:db8::1/128",
        ]
        .map(p);
        let mut map = PrefixMap::default();
        for (i, prefix) in prefixes.iter().enumerate() {
            assert_eq!(map.insert(*prefix, i), None);
        }
        assert_eq!(map.len(), prefixes.len());
        for (i, prefix) in prefixes.iter().enumerate() {
            assert_eq!(map.get(prefix), Some(&i), "{prefix}");
        }
        let mut back: Vec<(Prefix, usize)> = map.iter().map(|(p, v)| (p, *v)).collect();
        back.sort();
        let mut want: Vec<(Prefix, usize)> = prefixes.iter().copied().zip(0..).collect();
        want.sort();
        assert_eq!(back, want);
        assert_eq!(map.iter_family(Family::IPV6_UNICAST).count(), 3);
        assert_eq!(map.insert(p("198.18.0.0/16"), 9), Some(3));
        assert_eq!(map.remove(&p("198.18.0.0/15")), Some(2));
        assert_eq!(map.get(&p("198.18.0.0/15")), None);
        assert_eq!(map.get(&p("198.18.0.0/16")), Some(&9));
        *map.get_or_insert_with(p("2001:db8:1::/48"), || 0).0 += 5;
        assert_eq!(map.get(&p("2001:db8:1::/48")), Some(&5));
        assert_eq!(map.len(), prefixes.len());
    }

    #[test]
    fn a_set_holds_each_prefix_once_and_finds_it() {
        let set: PrefixSet = [
            "198.18.0.0/16",
            "2001:db8::/32",
            "198.18.0.0/16",
            "198.18.0.0/15",
        ]
        .map(p)
        .into_iter()
        .collect();
        assert_eq!(set.len(), 3);
        for s in ["198.18.0.0/16", "198.18.0.0/15", "2001:db8::/32"] {
            assert!(set.contains(&p(s)), "{s}");
        }
        for s in ["198.18.0.0/17", "198.19.0.0/16", "2001:db8::/33"] {
            assert!(!set.contains(&p(s)), "{s}");
        }
        assert!(PrefixSet::default().is_empty());
    }
}
