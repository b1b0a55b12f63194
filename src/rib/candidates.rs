//! The routes of one prefix in the Loc-RIB, best first, in 16 bytes.
//!
//! The Loc-RIB holds an entry for every prefix of a full table, and nearly every prefix has one
//! route. One candidate is held inline (two pointers), more on the heap. The enum takes no
//! space of its own: a candidate's attribute pointer is never null, and `Many` is told apart by
//! a null there. A `SmallVec<[Candidate; 1]>` took 24 bytes (its length), so 8 bytes more per
//! entry of a table of 2^21 buckets.

use super::Candidate;

/// One prefix's candidates; never empty (a prefix without a route has no entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidates {
    /// The only one.
    One(Candidate),
    /// Two or more.
    Many(Box<Vec<Candidate>>),
}

impl Candidates {
    /// All of them, best first once chosen.
    pub fn as_slice(&self) -> &[Candidate] {
        match self {
            Candidates::One(c) => std::slice::from_ref(c),
            Candidates::Many(v) => v,
        }
    }

    /// All of them, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [Candidate] {
        match self {
            Candidates::One(c) => std::slice::from_mut(c),
            Candidates::Many(v) => v,
        }
    }

    /// How many (at least one).
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Never: kept for the `len` convention.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Add one at the end.
    pub fn push(&mut self, candidate: Candidate) {
        match self {
            Candidates::Many(v) => v.push(candidate),
            Candidates::One(_) => {
                let many = Candidates::Many(Box::new(Vec::with_capacity(2)));
                let Candidates::One(first) = std::mem::replace(self, many) else {
                    unreachable!("matched One")
                };
                if let Candidates::Many(v) = self {
                    v.extend([first, candidate]);
                }
            }
        }
    }

    /// Remove the one at `i` and return it, if it is not the only one (`None`: remove the
    /// prefix's entry instead).
    pub fn remove(&mut self, i: usize) -> Option<Candidate> {
        let Candidates::Many(v) = self else {
            return None;
        };
        let removed = v.remove(i);
        if let [last] = v.as_slice() {
            *self = Candidates::One(last.clone());
        }
        Some(removed)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use super::*;
    use crate::rib::{PathAttrs, PeerRef, Source};

    fn from(last: u8) -> Candidate {
        Candidate {
            source: Source::Peer(Arc::new(PeerRef {
                address: IpAddr::from([198, 18, 0, last]),
                router_id: Ipv4Addr::new(198, 18, 0, last),
                ibgp: false,
            })),
            attrs: Arc::new(PathAttrs::default()),
        }
    }

    #[test]
    fn one_candidate_is_inline_and_the_list_is_two_pointers() {
        assert_eq!(std::mem::size_of::<Candidates>(), 16);
        let list = Candidates::One(from(1));
        assert_eq!(list.as_slice(), [from(1)]);
    }

    #[test]
    fn pushing_and_removing_goes_between_one_and_many() {
        let mut list = Candidates::One(from(1));
        list.push(from(2));
        list.push(from(3));
        assert_eq!(list.as_slice(), [from(1), from(2), from(3)]);
        assert_eq!(list.remove(0), Some(from(1)));
        assert_eq!(list.len(), 2);
        assert_eq!(list.remove(1), Some(from(3)));
        assert_eq!(list, Candidates::One(from(2)));
        assert_eq!(
            list.remove(0),
            None,
            "the only one stays: its entry goes instead"
        );
    }
}
