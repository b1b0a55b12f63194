//! Keeping the RIB snapshot in the state directory fresh, so a speaker that restarts (crash,
//! kill -9, upgrade) still knows what its peers had sent.
//!
//! The RIB task says whether anything changed since the last snapshot; a changed RIB is saved
//! (off the runtime's threads: it fsyncs). The interval adapts to the save time so a huge,
//! churning table does not spend its life on disk writes.
//!
//! The saver is stopped before the RIB task, and takes the last snapshot itself when asked to
//! (an upgrade or a supervisor gone: the next speaker starts from it), so a stop never races
//! the RIB task's end. A state directory that cannot be written makes saves fail softly: the
//! store logs the change once, and while it lasts the saver only probes the directory (no
//! snapshot is taken for nothing) until it is writable again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::rib_task::RibCmd;
use crate::store::{StateDir, StoreError};

/// The shortest time between two saves.
const MIN_INTERVAL: Duration = Duration::from_secs(2);

/// Why a snapshot was not saved.
#[derive(Debug, thiserror::Error)]
enum SaveError {
    /// The RIB task ended (a bug while the saver runs: it is stopped first).
    #[error("the RIB task is gone")]
    RibGone,
    /// The store refused it (logged by the store when the directory stops being writable).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking save did not complete.
    #[error("the save did not complete: {0}")]
    Join(String),
}

/// The running saver.
pub struct RibSaver {
    /// Fired to stop it; carries whether to take a last snapshot first.
    stop: oneshot::Sender<bool>,
    task: JoinHandle<()>,
}

impl RibSaver {
    /// Save the RIB held by the task behind `rib` into `dir` whenever it changed.
    pub fn start(rib: mpsc::UnboundedSender<RibCmd>, dir: Arc<StateDir>) -> RibSaver {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(rib, dir, stopped));
        RibSaver { stop, task }
    }

    /// Stop saving, after a last snapshot if `last_snapshot` and the RIB changed since the last
    /// one saved (an upgrade waits for this save: at a million learned routes, half a second
    /// for nothing if the file already holds them); returns once the saver has ended, so the
    /// RIB task can be stopped next.
    pub async fn finish(self, last_snapshot: bool) {
        let _ = self.stop.send(last_snapshot);
        if let Err(e) = self.task.await {
            warn!(error = %e, "the RIB snapshot saver failed");
        }
    }
}

async fn run(
    rib: mpsc::UnboundedSender<RibCmd>,
    dir: Arc<StateDir>,
    stop: oneshot::Receiver<bool>,
) {
    let mut since = None;
    let mut interval = MIN_INTERVAL;
    tokio::pin!(stop);
    let last = loop {
        tokio::select! {
            last = &mut stop => break last.unwrap_or(false),
            _ = tokio::time::sleep(interval) => {}
        }
        if dir.not_writable().is_some() && !probe(&dir).await {
            continue;
        }
        let started = Instant::now();
        match save(&rib, &dir, since).await {
            Ok(Some(n)) => {
                since = Some(n);
                interval = MIN_INTERVAL.max(started.elapsed() * 10);
            }
            Ok(None) => {}
            Err(e) => report(&e),
        }
    };
    if last {
        if let Err(e) = save(&rib, &dir, since).await {
            report(&e);
        }
    }
}

/// Whether the directory can be written again (the store logs it when it can).
async fn probe(dir: &Arc<StateDir>) -> bool {
    let dir = dir.clone();
    matches!(
        tokio::task::spawn_blocking(move || dir.probe()).await,
        Ok(Ok(()))
    )
}

fn report(e: &SaveError) {
    match e {
        // Said once by the store when the directory stopped being writable.
        SaveError::Store(StoreError::NotWritable { .. }) => {
            debug!(error = %e, "RIB snapshot not saved")
        }
        e => warn!(error = %e, "cannot save the RIB snapshot"),
    }
}

/// Save the RIB if it changed since change number `since` (`None`: save it anyway); returns
/// the change number saved.
async fn save(
    rib: &mpsc::UnboundedSender<RibCmd>,
    dir: &Arc<StateDir>,
    since: Option<u64>,
) -> Result<Option<u64>, SaveError> {
    let (tx, rx) = oneshot::channel();
    rib.send(RibCmd::Snapshot { since, reply: tx })
        .map_err(|_| SaveError::RibGone)?;
    let Some((n, snapshot)) = rx.await.map_err(|_| SaveError::RibGone)? else {
        return Ok(None);
    };
    let dir = dir.clone();
    let routes = snapshot.route_count();
    let started = Instant::now();
    tokio::task::spawn_blocking(move || dir.save_rib(&snapshot))
        .await
        .map_err(|e| SaveError::Join(e.to_string()))??;
    debug!(
        routes,
        ms = started.elapsed().as_millis() as u64,
        "RIB snapshot saved"
    );
    Ok(Some(n))
}
