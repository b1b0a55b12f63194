//! The speaker's side of kernel routes: start the installer ([`crate::fib`]) on the best-path
//! feed when `[fib] enabled`, say so at start, and open its deletion gate once every
//! graceful-restart peer has sent End-of-RIB in each of its families, or the longest of their
//! selection deferral times has passed (RFC 4724 §4.1: the same bound the RIB keeps stale
//! routes for). Until then, a route of ours the kernel holds but nobody re-announced yet is
//! left alone: after a crash or an upgrade, the peers are about to send it again.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use super::rib_task::RibCmd;
use crate::config::{Config, Peer};
use crate::fib::installer::{self, FibHandle, Options};
use crate::metrics::Metrics;
use crate::wire::Family;

/// How often the gate asks the RIB which End-of-RIB markers have come.
const GATE_POLL: Duration = Duration::from_millis(250);

/// Start the installer if `[fib] enabled`; `peers` are the enabled peers. `None` when kernel
/// routes are off or the netlink socket cannot be opened (said in the log).
pub(super) async fn start(
    config: &Config,
    peers: &[Peer],
    rib: &mpsc::UnboundedSender<RibCmd>,
    metrics: Arc<Metrics>,
) -> Option<FibHandle> {
    let fib = &config.fib;
    if !fib.enabled {
        info!("kernel routes: not installed ([fib] enabled = false)");
        return None;
    }
    let families: Vec<String> = fib.families.iter().map(|f| f.name()).collect();
    info!(
        table = fib.table,
        protocol = fib.protocol,
        metric = fib.metric,
        reconcile_interval_s = fib.reconcile_interval,
        keep_on_stop = fib.keep_on_stop,
        multipath = fib.multipath,
        ?families,
        excluded_peers = fib.exclude_peers.len(),
        "kernel routes: installing the best learned routes, reconciling every {} s",
        fib.reconcile_interval
    );
    let (tx, rx) = oneshot::channel();
    let _ = rib.send(RibCmd::SubscribeBest(tx));
    let feed = rx.await.ok()?;
    let (open, deletes) = watch::channel(false);
    tokio::spawn(gate(peers.to_vec(), rib.clone(), open));
    let options = Options {
        fib: fib.clone(),
        metrics,
        deletes,
        hold: None,
    };
    match installer::spawn(options, feed) {
        Ok(handle) => Some(handle),
        Err(e) => {
            warn!(error = %e, "kernel routes: cannot open a netlink socket; not installing");
            None
        }
    }
}

/// Open `open` once every graceful-restart peer has sent End-of-RIB for each of its
/// families, or when the longest selection deferral time has passed.
async fn gate(peers: Vec<Peer>, rib: mpsc::UnboundedSender<RibCmd>, open: watch::Sender<bool>) {
    let waiting: Vec<(IpAddr, Vec<Family>)> = peers
        .iter()
        .filter(|p| p.graceful_restart.enabled)
        .map(|p| (p.address, p.session_families()))
        .collect();
    let bound = peers
        .iter()
        .filter(|p| p.graceful_restart.enabled)
        .map(|p| p.graceful_restart.selection_deferral_time)
        .max()
        .unwrap_or(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(bound.into());
    while !waiting.is_empty() {
        let (tx, rx) = oneshot::channel();
        if rib.send(RibCmd::EndOfRibSeen(tx)).is_err() {
            return;
        }
        let Ok(seen) = rx.await else { return };
        if all_seen(&waiting, &seen) {
            info!("kernel routes: End-of-RIB from every graceful-restart peer");
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            info!(
                deferral_s = bound,
                "kernel routes: the selection deferral time passed before every End-of-RIB"
            );
            break;
        }
        tokio::time::sleep(GATE_POLL).await;
    }
    let _ = open.send(true);
}

fn all_seen(waiting: &[(IpAddr, Vec<Family>)], seen: &HashMap<IpAddr, BTreeSet<Family>>) -> bool {
    waiting.iter().all(|(peer, families)| {
        seen.get(peer)
            .is_some_and(|s| families.iter().all(|f| s.contains(f)))
    })
}
