//! The best-path feed: every change of a prefix's best route, published by the RIB task to any
//! number of subscribers (the kernel route installer). The Loc-RIB metrics do not subscribe:
//! they read counts the Loc-RIB keeps and the RIB task publishes, so that a RIB without kernel
//! routes does not record every change (a million originated routes were a batch of 100 MiB).
//!
//! A subscriber first receives the whole current table (as changes from nothing), then every
//! change in the order the RIB made it, in batches (one per RIB command: an UPDATE, a peer
//! going down, a stale purge). Batches are shared (`Arc`), so a batch costs one allocation
//! however many subscribers there are. Each subscriber has its own unbounded queue: a slow one
//! holds memory but never slows the RIB or loses a change, which would leave a kernel table
//! wrong until the next full resync.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::rib::{equal_to_best, BestPathChange, Rib};

/// One batch of best-path changes. An `Arc<Vec<_>>` rather than an `Arc<[_]>`: turning the
/// vector into a slice would copy it, and the first batch of a million originated routes is a
/// hundred MiB.
pub type BestBatch = Arc<Vec<BestPathChange>>;

/// A subscriber's end of the feed.
pub type BestFeedRx = mpsc::UnboundedReceiver<BestBatch>;

/// The RIB task's side: who listens, and what to send them.
#[derive(Debug, Default)]
pub struct BestFeed {
    subscribers: Vec<mpsc::UnboundedSender<BestBatch>>,
}

impl BestFeed {
    /// A new subscriber: it gets the current table at once, then every change. Turns change
    /// tracking on in `rib`.
    pub fn subscribe(&mut self, rib: &mut Rib) -> BestFeedRx {
        // Whatever was tracked before belongs to the older subscribers: send it first.
        self.publish(rib);
        rib.track_best_changes(true);
        let (tx, rx) = mpsc::unbounded_channel();
        let now: Vec<BestPathChange> = rib
            .loc()
            .iter()
            .filter_map(|(prefix, candidates)| {
                candidates.first().map(|best| BestPathChange {
                    prefix,
                    old: None,
                    new: Some(best.clone()),
                    equal: equal_to_best(candidates),
                })
            })
            .collect();
        let _ = tx.send(now.into());
        self.subscribers.push(tx);
        rx
    }

    /// Send the changes `rib` made since the last call to every subscriber; forget those that
    /// are gone, and stop tracking when nobody listens.
    pub fn publish(&mut self, rib: &mut Rib) {
        if self.subscribers.is_empty() {
            return;
        }
        let changes = rib.take_best_changes();
        if !changes.is_empty() {
            let batch: BestBatch = changes.into();
            self.subscribers.retain(|s| s.send(batch.clone()).is_ok());
        } else {
            self.subscribers.retain(|s| !s.is_closed());
        }
        if self.subscribers.is_empty() {
            rib.track_best_changes(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Route;

    fn route(prefix: &str) -> Route {
        Route {
            prefix: prefix.parse().unwrap(),
            next_hop: None,
            communities: vec![],
            large_communities: vec![],
            med: None,
            local_pref: None,
            as_path_prepend: 0,
        }
    }

    fn prefixes(batch: &BestBatch) -> Vec<String> {
        let mut v: Vec<String> = batch.iter().map(|c| c.prefix.to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_late_subscriber_gets_the_table_then_the_changes_and_a_gone_one_stops_tracking() {
        let mut rib = Rib::new(65001);
        let mut feed = BestFeed::default();
        rib.set_originated(vec![route("198.51.100.0/24")]);
        let mut rx = feed.subscribe(&mut rib);
        assert_eq!(prefixes(&rx.try_recv().unwrap()), ["198.51.100.0/24"]);

        rib.set_originated(vec![route("198.51.100.0/24"), route("203.0.113.0/24")]);
        feed.publish(&mut rib);
        let batch = rx.try_recv().unwrap();
        assert_eq!(prefixes(&batch), ["203.0.113.0/24"]);
        assert!(batch[0].old.is_none() && batch[0].new.is_some());

        // Nothing changed: nothing sent.
        feed.publish(&mut rib);
        assert!(rx.try_recv().is_err());

        drop(rx);
        rib.set_originated(vec![]);
        feed.publish(&mut rib);
        rib.set_originated(vec![route("192.0.2.0/24")]);
        assert!(rib.take_best_changes().is_empty(), "tracking stopped");
    }
}
