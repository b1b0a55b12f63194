//! Keeping the RIB snapshot in the state directory fresh, so a speaker that restarts (crash,
//! kill -9, upgrade) still knows what its peers had sent.
//!
//! The RIB task says whether anything changed since the last snapshot; a changed RIB is saved
//! (off the runtime's threads: it fsyncs). The interval adapts to the save time so a huge,
//! churning table does not spend its life on disk writes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use super::rib_task::RibCmd;
use crate::store::StateDir;

/// The shortest time between two saves.
const MIN_INTERVAL: Duration = Duration::from_secs(2);

/// Save the RIB when it changed, until `stop` fires (or its sender is dropped); a save under
/// way when it fires is finished first.
pub async fn run(
    rib: mpsc::UnboundedSender<RibCmd>,
    dir: Arc<StateDir>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut since = None;
    let mut interval = MIN_INTERVAL;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut stop => return,
        }
        let started = Instant::now();
        match save(&rib, &dir, since).await {
            Ok(Some(n)) => {
                since = Some(n);
                interval = MIN_INTERVAL.max(started.elapsed() * 10);
            }
            Ok(None) => {}
            Err(e) => warn!(error = %e, "cannot save the RIB snapshot"),
        }
    }
}

/// Save the RIB if it changed since change number `since` (`None`: save it anyway); returns
/// the change number saved.
pub async fn save(
    rib: &mpsc::UnboundedSender<RibCmd>,
    dir: &Arc<StateDir>,
    since: Option<u64>,
) -> Result<Option<u64>, String> {
    let (tx, rx) = oneshot::channel();
    rib.send(RibCmd::Snapshot { since, reply: tx })
        .map_err(|_| "the RIB task is gone".to_string())?;
    let Some((n, snapshot)) = rx.await.map_err(|_| "the RIB task is gone".to_string())? else {
        return Ok(None);
    };
    let dir = dir.clone();
    let routes = snapshot.route_count();
    let started = Instant::now();
    tokio::task::spawn_blocking(move || dir.save_rib(&snapshot))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    debug!(
        routes,
        ms = started.elapsed().as_millis() as u64,
        "RIB snapshot saved"
    );
    Ok(Some(n))
}
