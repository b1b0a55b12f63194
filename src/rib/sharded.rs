//! A hash map split by key hash into [`SHARDS`] maps that grow one at a time.
//!
//! A hash table grows by doubling, and while it moves its entries it holds the old and the new
//! bucket arrays at once. For the Loc-RIB's million IPv4 prefixes that moment holds 24 MiB and
//! 48 MiB together, and it was the peak of a speaker receiving a full table: a third above what
//! it holds once the table is in. Split in 64, each part doubles on its own, so the extra at
//! any moment is a 64th of the table. Lookups pay one more hash of the key (a few nanoseconds)
//! to pick the part.

use std::hash::{BuildHasher, Hash};

use foldhash::fast::FixedState;
use foldhash::{HashMap, HashMapExt};

/// How many maps a [`ShardedMap`] is split into.
pub const SHARDS: usize = 64;

/// A map from `K` to `V` made of [`SHARDS`] hash maps.
#[derive(Debug, Clone)]
pub struct ShardedMap<K, V> {
    shards: Box<[HashMap<K, V>]>,
    /// Entries in all shards (asked for on every route received: not a sum of 64).
    len: usize,
    /// Picks a key's shard; a fixed seed, independent of each shard's own hasher.
    pick: FixedState,
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
            len: 0,
            pick: FixedState::with_seed(0x6261_746f_6e00_0001),
        }
    }
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    fn shard(&self, key: &K) -> usize {
        // The top bits: a hash's best mixed.
        (self.pick.hash_one(key) >> (64 - SHARDS.trailing_zeros())) as usize
    }

    /// Make room for `additional` more entries, spread over the shards.
    pub fn reserve(&mut self, additional: usize) {
        let each = additional.div_ceil(SHARDS) + additional.div_ceil(SHARDS * 8);
        for shard in self.shards.iter_mut() {
            shard.reserve(each);
        }
    }

    /// Insert or replace; returns the old value.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let i = self.shard(&key);
        let old = self.shards[i].insert(key, value);
        self.len += usize::from(old.is_none());
        old
    }

    /// Remove; returns the old value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.shard(key);
        let old = self.shards[i].remove(key);
        self.len -= usize::from(old.is_some());
        old
    }

    /// The value for `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.shards[self.shard(key)].get(key)
    }

    /// The value for `key`, mutable.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = self.shard(key);
        self.shards[i].get_mut(key)
    }

    /// The value for `key`, inserting `make()` first if there is none.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = self.shard(&key);
        let len = &mut self.len;
        self.shards[i].entry(key).or_insert_with(|| {
            *len += 1;
            make()
        })
    }

    /// Keep the entries for which `keep` holds (it may change their values too).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        for shard in self.shards.iter_mut() {
            shard.retain(&mut keep);
        }
        self.len = self.shards.iter().map(|s| s.len()).sum();
    }
}

impl<K, V> ShardedMap<K, V> {
    /// Every entry, shard by shard.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(|s| s.iter())
    }

    /// Every entry, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.shards.iter_mut().flat_map(|s| s.iter_mut())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_every_shard_and_come_back() {
        let mut map = ShardedMap::default();
        for k in 0..10_000u64 {
            assert_eq!(map.insert(k << 8 | 32, k), None);
        }
        assert_eq!(map.len(), 10_000);
        assert!(
            map.shards.iter().all(|s| s.len() > 50),
            "no shard left empty"
        );
        assert_eq!(map.get(&(77 << 8 | 32)), Some(&77));
        assert_eq!(map.remove(&(77 << 8 | 32)), Some(77));
        assert_eq!(map.get(&(77 << 8 | 32)), None);
        *map.get_or_insert_with(5, || 0) += 3;
        assert_eq!(map.get(&5), Some(&3));
        assert_eq!(map.len(), 10_000);
        map.retain(|k, _| (k >> 8) % 2 == 0);
        assert_eq!(map.len(), map.iter().count());
        assert_eq!(map.len(), 5_001);
        assert!(!map.is_empty());
    }
}
