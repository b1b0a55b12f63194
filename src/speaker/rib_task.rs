//! The task that owns the [`Rib`]: peers send it what they learn and when they go up or down;
//! it sends each Established peer the UPDATEs to write, tagged with the session they are for.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::best_feed::{BestFeed, BestFeedRx};
use super::conn::ReadCredit;
use super::status::{RibCounters, StatusBoard, COUNTERS_EVERY};
use crate::config::Route;
use crate::ctl::{AdjInView, FamilyCountersView, RibView, RouteView};
use crate::rib::{PeerRef, PeerSession, Rib, RouteRuns};
use crate::store::RibSnapshot;
use crate::wire::{Family, Prefix, Update};

/// UPDATEs the RIB computed for one session, ready to write.
#[derive(Debug)]
pub struct RibOut {
    /// The connection they were computed for; dropped if that session is gone.
    pub session_id: u64,
    /// Encoded messages.
    pub bytes: Bytes,
    /// They end with our End-of-RIB markers for these families: record when they are
    /// written.
    pub end_of_rib: Vec<Family>,
}

/// Where the RIB task hands a session's UPDATEs: the peer task's queue, seen through a
/// closure so that the RIB task knows nothing of peer tasks.
pub struct RibSink(Box<dyn Fn(RibOut) + Send>);

impl RibSink {
    /// A sink that calls `f` with every batch.
    pub fn new(f: impl Fn(RibOut) + Send + 'static) -> Self {
        RibSink(Box::new(f))
    }

    fn send(&self, out: RibOut) {
        (self.0)(out)
    }
}

impl std::fmt::Debug for RibSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RibSink")
    }
}

/// A request to the RIB task.
#[derive(Debug)]
pub enum RibCmd {
    /// A session is Established; write its initial table through `out`, tagged `session_id`.
    PeerUp {
        /// The session (boxed: it is large and this message is rare).
        session: Box<PeerSession>,
        /// Its connection id within the peer task.
        session_id: u64,
        /// Where the peer task takes UPDATEs to write.
        out: RibSink,
    },
    /// The session of this peer ended; forget everything it sent.
    PeerDown(IpAddr),
    /// The session ended gracefully: keep these families' routes as stale, forget the rest.
    MarkStale(IpAddr, Vec<Family>),
    /// Delete the routes of these families still stale.
    PurgeStale(IpAddr, Vec<Family>),
    /// The restart time passed: stale routes of these families become long-lived stale.
    LongLivedStale(IpAddr, Vec<Family>),
    /// An UPDATE from a peer, with its share of the read window: dropped once applied, which
    /// lets the connection's reader read on.
    Update(PeerRef, Box<Update>, ReadCredit),
    /// The peer asked for a ROUTE-REFRESH.
    Refresh(IpAddr, Family),
    /// Replace the originated routes (config load or reload).
    SetOriginated(RouteRuns),
    /// Change some originated routes (an API announce or withdraw): only these prefixes are
    /// looked at.
    ChangeOriginated {
        /// Routes added or replaced.
        announce: Vec<Route>,
        /// Prefixes no longer originated.
        withdraw: Vec<Prefix>,
    },
    /// The RIB for the state directory, if it changed since change number `since` (`None`:
    /// whatever it is), with its current change number.
    Snapshot {
        /// The change number of the last snapshot taken.
        since: Option<u64>,
        /// Where to answer.
        reply: oneshot::Sender<Option<(u64, RibSnapshot)>>,
    },
    /// Take the routes peers had sent the previous speaker, as stale (after a restart).
    Restore(Box<RibSnapshot>),
    /// The RIB contents for display.
    Dump {
        /// Only this family.
        family: Option<Family>,
        /// Only this prefix.
        prefix: Option<Prefix>,
        /// Where to answer.
        reply: oneshot::Sender<RibView>,
    },
    /// Subscribe to the best-path feed: the current table, then every change.
    SubscribeBest(oneshot::Sender<BestFeedRx>),
    /// The families each peer has sent End-of-RIB for since this speaker started.
    EndOfRibSeen(oneshot::Sender<HashMap<IpAddr, BTreeSet<Family>>>),
    /// What we advertise to one peer (its Adj-RIB-Out), sorted by prefix; each route's
    /// `source` is where the best path came from (`local` or a peer address).
    DumpAdjOut {
        /// The peer.
        peer: IpAddr,
        /// Only this prefix.
        prefix: Option<Prefix>,
        /// Where to answer.
        reply: oneshot::Sender<Vec<RouteView>>,
    },
}

/// Whether `cmd` can change what a [`RibSnapshot`] holds (the routes peers sent): the saver
/// writes only a snapshot that changed, so an API announcement or a new session does not
/// rewrite a million learned routes. Exhaustive, so a new command has to be classified.
fn changes_snapshot(cmd: &RibCmd) -> bool {
    match cmd {
        RibCmd::PeerDown(_)
        | RibCmd::MarkStale(..)
        | RibCmd::PurgeStale(..)
        | RibCmd::LongLivedStale(..)
        | RibCmd::Update(..)
        | RibCmd::Restore(_) => true,
        RibCmd::PeerUp { .. }
        | RibCmd::Refresh(..)
        | RibCmd::SetOriginated(_)
        | RibCmd::ChangeOriginated { .. }
        | RibCmd::Snapshot { .. }
        | RibCmd::Dump { .. }
        | RibCmd::SubscribeBest(_)
        | RibCmd::EndOfRibSeen(_)
        | RibCmd::DumpAdjOut { .. } => false,
    }
}

/// Run the RIB until every sender is gone, publishing its counters on `board`.
pub async fn run(local_as: u32, mut rx: mpsc::UnboundedReceiver<RibCmd>, board: StatusBoard) {
    let mut rib = Rib::new(local_as);
    let mut outs: HashMap<IpAddr, (u64, RibSink)> = HashMap::new();
    // Counts changes, so the state saver only writes a RIB that changed.
    let mut changes: u64 = 0;
    let mut feed = BestFeed::default();
    let mut end_of_rib_seen: HashMap<IpAddr, BTreeSet<Family>> = HashMap::new();
    let (mut published, mut published_at) = (None, Instant::now());
    board.set_rib_counters(counters(&rib));
    while let Some(cmd) = rx.recv().await {
        if changes_snapshot(&cmd) {
            changes += 1;
        }
        match cmd {
            RibCmd::Snapshot { since, reply } => {
                let fresh = (since != Some(changes)).then(|| (changes, RibSnapshot::of(&rib)));
                let _ = reply.send(fresh);
            }
            RibCmd::Restore(snapshot) => {
                let n = snapshot.restore_into(&mut rib);
                tracing::info!(
                    routes = n,
                    "restored the routes peers had sent, as stale until their End-of-RIB"
                );
            }
            RibCmd::PeerUp {
                session,
                session_id,
                out,
            } => {
                let (addr, end_of_rib) = (session.address, session.families.clone());
                let bytes = rib.peer_up(*session);
                out.send(RibOut {
                    session_id,
                    bytes: bytes.freeze(),
                    end_of_rib,
                });
                outs.insert(addr, (session_id, out));
            }
            RibCmd::PeerDown(addr) => {
                outs.remove(&addr);
                rib.peer_down(addr);
            }
            RibCmd::MarkStale(addr, families) => {
                outs.remove(&addr);
                let kept = rib.mark_stale(addr, &families);
                tracing::info!(peer = %addr, kept, "routes kept as stale");
            }
            RibCmd::PurgeStale(addr, families) => {
                let purged = rib.purge_stale(addr, &families);
                tracing::info!(peer = %addr, ?families, purged, "stale routes purged");
            }
            RibCmd::LongLivedStale(addr, families) => {
                let (kept, deleted) = rib.long_lived_stale(addr, &families);
                tracing::info!(peer = %addr, kept, deleted, "routes now long-lived stale");
            }
            RibCmd::Update(peer, update, credit) => {
                let outcome = rib.apply_update(peer, *update);
                drop(credit);
                if let Some(family) = outcome.end_of_rib {
                    // Whatever is still stale from this peer in this family (kept through its
                    // restart, or restored through ours) was not re-announced: it is gone.
                    let purged = rib.purge_stale(peer.address, &[family]);
                    tracing::info!(peer = %peer.address, %family, purged, "End-of-RIB received");
                    end_of_rib_seen
                        .entry(peer.address)
                        .or_default()
                        .insert(family);
                }
            }
            RibCmd::Refresh(addr, family) => {
                let bytes = rib.refresh(addr, family);
                if let Some((session_id, out)) = outs.get(&addr) {
                    out.send(RibOut {
                        session_id: *session_id,
                        bytes: bytes.freeze(),
                        end_of_rib: Vec::new(),
                    });
                }
            }
            cmd @ (RibCmd::SetOriginated(_) | RibCmd::ChangeOriginated { .. }) => {
                let writes = match cmd {
                    RibCmd::SetOriginated(routes) => rib.set_originated_runs(&routes),
                    RibCmd::ChangeOriginated { announce, withdraw } => {
                        rib.change_originated(announce, &withdraw)
                    }
                    _ => unreachable!("matched above"),
                };
                for (addr, bytes) in writes {
                    if let Some((session_id, out)) = outs.get(&addr) {
                        out.send(RibOut {
                            session_id: *session_id,
                            bytes: Bytes::from(bytes),
                            end_of_rib: Vec::new(),
                        });
                    }
                }
            }
            RibCmd::Dump {
                family,
                prefix,
                reply,
            } => {
                let _ = reply.send(dump(&rib, family, prefix));
            }
            RibCmd::DumpAdjOut {
                peer,
                prefix,
                reply,
            } => {
                let _ = reply.send(dump_adj_out(&rib, peer, prefix));
            }
            RibCmd::SubscribeBest(reply) => {
                let _ = reply.send(feed.subscribe(&mut rib));
            }
            RibCmd::EndOfRibSeen(reply) => {
                let _ = reply.send(end_of_rib_seen.clone());
            }
        }
        feed.publish(&mut rib);
        if published != Some(changes) && (rx.is_empty() || published_at.elapsed() >= COUNTERS_EVERY)
        {
            board.set_rib_counters(counters(&rib));
            (published, published_at) = (Some(changes), Instant::now());
        }
    }
}

fn counters(rib: &Rib) -> RibCounters {
    RibCounters {
        peers: peer_counters(rib),
        loc: rib.loc().counts(),
        best_changes: rib.loc().best_changes(),
    }
}

fn peer_counters(rib: &Rib) -> std::collections::BTreeMap<IpAddr, Vec<FamilyCountersView>> {
    let peers: BTreeSet<IpAddr> = rib
        .adj_ins()
        .map(|(a, _)| *a)
        .chain(rib.out_peers())
        .collect();
    peers
        .into_iter()
        .map(|addr| {
            let views = [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
                .into_iter()
                .map(|family| {
                    let (received, accepted) = rib.adj_in(&addr).map_or((0, 0), |a| {
                        (a.received().get(family), a.accepted().get(family))
                    });
                    let advertised = rib.advertised_counts(&addr).map_or(0, |c| c.get(family));
                    FamilyCountersView {
                        family: family.name(),
                        received,
                        accepted,
                        advertised,
                    }
                })
                .collect();
            (addr, views)
        })
        .collect()
}

fn dump(rib: &Rib, family: Option<Family>, only: Option<Prefix>) -> RibView {
    let wanted =
        |p: &Prefix| family.is_none_or(|f| p.family() == f) && only.is_none_or(|o| o == *p);
    let mut loc_rib = Vec::new();
    for (prefix, candidates) in rib.loc().iter().filter(|(p, _)| wanted(p)) {
        let prefix = &prefix;
        for (i, c) in candidates.iter().enumerate() {
            let source = match &c.source {
                crate::rib::Source::Local => "local".to_string(),
                crate::rib::Source::Peer(p) => p.address.to_string(),
            };
            let mut view = RouteView::new(prefix, source, &c.attrs);
            view.best = Some(i == 0);
            if let crate::rib::Source::Peer(p) = &c.source {
                view.stale = rib
                    .adj_in(&p.address)
                    .and_then(|a| a.get(prefix))
                    .is_some_and(|r| r.stale);
            }
            loc_rib.push((*prefix, view));
        }
    }
    loc_rib.sort_by_key(|a| a.0);
    let mut adj_rib_in: Vec<AdjInView> = rib
        .adj_ins()
        .map(|(peer, adj)| {
            let mut routes: Vec<(Prefix, RouteView)> = adj
                .iter()
                .filter(|(p, _)| wanted(p))
                .map(|(p, r)| {
                    let mut view = RouteView::new(&p, peer.to_string(), r.attrs);
                    view.accepted = Some(r.accepted);
                    view.stale = r.stale;
                    (p, view)
                })
                .collect();
            routes.sort_by_key(|a| a.0);
            AdjInView {
                peer: *peer,
                routes: routes.into_iter().map(|(_, v)| v).collect(),
            }
        })
        .collect();
    adj_rib_in.sort_by_key(|a| a.peer);
    RibView {
        loc_rib: loc_rib.into_iter().map(|(_, v)| v).collect(),
        adj_rib_in,
    }
}

fn dump_adj_out(rib: &Rib, peer: IpAddr, only: Option<Prefix>) -> Vec<RouteView> {
    rib.advertised(&peer, only)
        .iter()
        .map(|(prefix, attrs)| {
            let source = match rib.loc().best(prefix).map(|c| &c.source) {
                Some(crate::rib::Source::Peer(p)) => p.address.to_string(),
                _ => "local".to_string(),
            };
            RouteView::new(prefix, source, attrs)
        })
        .collect()
}
