//! Group commit of the intent: concurrent changes (API, control socket) share one fsync.
//!
//! Every change is fsynced before it is acknowledged, and an fsync costs from half a
//! millisecond to several however small the write; one fsync per request would cap route
//! changes at one per fsync, one at a time or concurrently alike. So requests queue, and one
//! thread (`intent-commit`)
//! takes every request queued at once and, holding the intent's lock:
//!
//! 1. opens a batch ([`IntentKeeper::begin`]) and runs each request's change in arrival order
//!    against the intent in memory, the disk write deferred: a change whose checks fail (a
//!    prefix the configuration owns) is taken back and refused alone, the others go on;
//! 2. keeps the batch on disk ([`IntentKeeper::finish`]): one journal append and one fsync, or
//!    one whole save when one is due (first save, compaction, a peer change in the batch);
//! 3. only then hands the RIB the changes' commands, in the same order (consecutive changes of
//!    different originated prefixes made one, see [`coalesce`]), and answers each request. The
//!    RIB sees changes in the order they were saved, and nothing is acknowledged before the
//!    fsync that keeps it returned.
//!
//! If the disk refuses the batch, every request of it gets the error and the intent in memory
//! takes every change of the batch back (each staged change keeps what it replaced, see
//! `intent/staging.rs`: cheaper than rereading a million routes, and sound when the disk
//! cannot be read either); the journal is cut back to where it was, and the next change saves
//! the intent whole, so what reached the disk before the error is overwritten.
//!
//! While the thread writes, new requests queue: the busier it is, the larger the next batch.
//! A lone request waits for nothing but its own fsync.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, Mutex};

use tokio::sync::{mpsc::UnboundedSender, oneshot};
use tracing::debug;

use super::intent::IntentKeeper;
use super::rib_task::RibCmd;
use crate::api::BackendError;
use crate::wire::Prefix;

/// A change of the intent: run against it, it gives its result and what to tell the RIB.
pub trait Change<T>:
    FnOnce(&mut IntentKeeper) -> Result<(T, Option<RibCmd>), BackendError> + Send + 'static
{
}

impl<T, F> Change<T> for F where
    F: FnOnce(&mut IntentKeeper) -> Result<(T, Option<RibCmd>), BackendError> + Send + 'static
{
}

/// One request with its result type erased: run against the intent, it gives what to do once
/// the batch is on disk, or `None` when it was refused (and answered) at once.
type Job = Box<dyn FnOnce(&mut IntentKeeper) -> Option<Accepted> + Send>;

/// A change made in memory, waiting for its batch to be on disk.
struct Accepted {
    /// What the RIB is told once it is kept.
    cmd: Option<RibCmd>,
    /// Answers the request: `Ok` once kept and handed to the RIB.
    answer: Box<dyn FnOnce(Result<(), BackendError>) + Send>,
}

/// The queue of intent changes and the thread that keeps them, a batch at a time.
pub struct Committer {
    jobs: mpsc::Sender<Job>,
    /// Requests queued so far (tests wait for a batch to pile up).
    #[cfg(test)]
    submitted: std::sync::atomic::AtomicUsize,
}

impl Committer {
    /// Start the thread that keeps the changes of `intent` and tells `rib` of them.
    pub fn start(
        intent: Arc<Mutex<IntentKeeper>>,
        rib: UnboundedSender<RibCmd>,
    ) -> std::io::Result<Committer> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("intent-commit".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut keeper = intent.lock().unwrap_or_else(|e| e.into_inner());
                    let batch: Vec<Job> = std::iter::once(first).chain(rx.try_iter()).collect();
                    commit(&mut keeper, batch, &rib);
                }
            })?;
        Ok(Committer {
            jobs: tx,
            #[cfg(test)]
            submitted: Default::default(),
        })
    }

    /// Queue `change` (run against the intent, it returns its result and what to tell the
    /// RIB); the answer comes once it is on disk and the RIB has its command, or it was refused.
    pub fn submit<T: Send + 'static>(
        &self,
        change: impl Change<T>,
    ) -> oneshot::Receiver<Result<T, BackendError>> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |keeper| match change(keeper) {
            Ok((value, cmd)) => Some(Accepted {
                cmd,
                answer: Box::new(move |result| {
                    let _ = tx.send(result.map(|()| value));
                }),
            }),
            Err(e) => {
                let _ = tx.send(Err(e));
                None
            }
        });
        // If the thread is gone, the job (and its sender) is dropped: the receiver says so.
        let _ = self.jobs.send(job);
        #[cfg(test)]
        self.submitted
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        rx
    }

    /// Queue `change` and wait for its answer (see [`submit`](Self::submit)).
    pub async fn change<T: Send + 'static>(
        &self,
        change: impl Change<T>,
    ) -> Result<T, BackendError> {
        self.submit(change).await.map_err(|_| {
            BackendError::Internal("the change did not complete (the committer stopped)".into())
        })?
    }

    /// Requests queued so far.
    #[cfg(test)]
    pub fn submitted(&self) -> usize {
        self.submitted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Run `batch` against the intent, keep what it changed, tell the RIB and answer.
fn commit(keeper: &mut IntentKeeper, batch: Vec<Job>, rib: &UnboundedSender<RibCmd>) {
    let requests = batch.len();
    keeper.begin();
    let mut accepted = Vec::with_capacity(requests);
    for job in batch {
        let mark = keeper.mark();
        // A change that panics is taken back; its request learns it from its dropped answer.
        match std::panic::catch_unwind(AssertUnwindSafe(|| job(keeper))) {
            Ok(Some(a)) => accepted.push(a),
            Ok(None) | Err(_) => keeper.undo_to(mark),
        }
    }
    let kept = keeper.finish().map_err(BackendError::from);
    debug!(
        requests,
        changes = accepted.len(),
        error = kept.as_ref().err().map(tracing::field::display),
        "intent batch kept"
    );
    let (cmds, answers): (Vec<_>, Vec<_>) = accepted.into_iter().map(|a| (a.cmd, a.answer)).unzip();
    let told = kept.and_then(|()| {
        coalesce(cmds.into_iter().flatten())
            .into_iter()
            .try_for_each(|cmd| rib.send(cmd))
            .map_err(|_| {
                BackendError::Unavailable(
                    "the speaker is stopping (the change is saved and applies at the next start)"
                        .into(),
                )
            })
    });
    for answer in answers {
        answer(told.clone());
    }
}

/// The batch's commands for the RIB, in order, with consecutive changes of originated routes
/// made one where they touch different prefixes: 64 requests of one route each are one
/// command, so the RIB exports them together and each peer gets them packed in a few UPDATEs
/// instead of one UPDATE a request. A change touching a prefix the merged one already holds
/// starts another, since the RIB applies a change's withdrawals before its announcements.
pub(super) fn coalesce(cmds: impl IntoIterator<Item = RibCmd>) -> Vec<RibCmd> {
    let mut out: Vec<RibCmd> = Vec::new();
    // The prefixes the last command of `out` touches, when it is a change of originated routes.
    let mut touched = HashSet::new();
    for cmd in cmds {
        let RibCmd::ChangeOriginated { announce, withdraw } = cmd else {
            touched.clear();
            out.push(cmd);
            continue;
        };
        let prefixes: Vec<Prefix> = announce
            .iter()
            .map(|r| r.prefix)
            .chain(withdraw.iter().copied())
            .collect();
        match out.last_mut() {
            Some(RibCmd::ChangeOriginated {
                announce: into_announce,
                withdraw: into_withdraw,
            }) if !prefixes.iter().any(|p| touched.contains(p)) => {
                into_announce.extend(announce);
                into_withdraw.extend(withdraw);
            }
            _ => {
                touched.clear();
                out.push(RibCmd::ChangeOriginated { announce, withdraw });
            }
        }
        touched.extend(prefixes);
    }
    out
}

#[cfg(test)]
mod tests;
