//! `batonctl upgrade`: replace the speaker with a new binary without a route flap, or change
//! nothing and say why (docs/architecture.md, "The upgrade, step by step"). Driven by the speakers' events (the sequence is documented in
//! [`crate::handoff`]'s protocol module), each wait bounded by a deadline, each step reported
//! as it happens ([`UpgradeEvent`]s for `batonctl`, and the log).
//!
//! 1. Refuse if an upgrade is already running.
//! 2. Note which peers are up (asking the old speaker).
//! 3. Spawn the new speaker, hand it the listeners; it loads and validates everything and says
//!    Ready. If it exits, refuses or misses the deadline, it is killed and the old speaker
//!    never noticed; the reason carries what it said last on stderr.
//! 4. Tell the old one to quiesce. `Quiesced` means its sessions are closed without a
//!    NOTIFICATION (peers enter graceful restart) and its state is saved: the new one may go.
//!    No answer within [`QUIESCE_BOUND`]: it is killed, and its exit awaited.
//! 5. Activate the new one, telling it which peers to expect back: it connects and accepts at
//!    once, with the Restart bit, advertises and sends End-of-RIB, reporting each step.
//! 6. Done when the new speaker says every expected peer is Established and has been sent
//!    End-of-RIB; at the deadline, the reason names the peers still missing.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::time::Instant as Deadline;
use tracing::{info, warn};

use super::generation::{exited, Event, Events};
use super::{notify, Generation, Supervisor};
use crate::ctl::{PeerUpgradeView, UpgradeEvent, UpgradeStep, UpgradeView};
use crate::handoff::{Msg, ProgressKind, UpgradeOutcome};
use crate::session::SessionState;

/// How long the old speaker may take to let go after Quiesce (and to exit after Quiesced)
/// before it is killed.
pub const QUIESCE_BOUND: Duration = Duration::from_secs(5);
/// How long the running speaker may take to say which peers are up.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a killed speaker may take to be reaped.
const KILLED_BOUND: Duration = Duration::from_secs(5);

/// Where the steps of one upgrade go, timed from the command.
struct Steps {
    t0: Instant,
    sink: Option<mpsc::UnboundedSender<UpgradeEvent>>,
}

impl Steps {
    fn ms(&self) -> u64 {
        self.t0.elapsed().as_millis() as u64
    }

    fn emit(&self, step: UpgradeStep) {
        self.emit_at(self.ms(), step);
    }

    /// Emit `step` as having happened at `ms` (a time the report also records, so that both
    /// say the same millisecond).
    fn emit_at(&self, ms: u64, step: UpgradeStep) {
        info!(?step, "upgrade");
        if let Some(sink) = &self.sink {
            let _ = sink.send(UpgradeEvent { ms, step });
        }
    }
}

/// The per-peer rows of the report, from the progress events.
#[derive(Default)]
struct Rows(BTreeMap<IpAddr, PeerUpgradeView>);

impl Rows {
    fn expecting(peers: &[IpAddr]) -> Rows {
        Rows(
            peers
                .iter()
                .map(|p| {
                    let row = PeerUpgradeView {
                        peer: *p,
                        established_ms: None,
                        end_of_rib_ms: None,
                    };
                    (*p, row)
                })
                .collect(),
        )
    }

    /// A step at `ms`: the first Established, the last End-of-RIB sent.
    fn note(&mut self, peer: IpAddr, kind: ProgressKind, ms: u64) {
        let Some(row) = self.0.get_mut(&peer) else {
            return;
        };
        match kind {
            ProgressKind::Established => {
                row.established_ms.get_or_insert(ms);
            }
            ProgressKind::EndOfRibSent => row.end_of_rib_ms = Some(ms),
            ProgressKind::EndOfRibReceived => {}
        }
    }

    /// The peers not sent End-of-RIB, and how far they got.
    fn missing(&self) -> Vec<String> {
        let missing = self.0.values().filter(|r| r.end_of_rib_ms.is_none());
        missing
            .map(|r| match r.established_ms {
                Some(_) => format!("{} (Established, End-of-RIB not sent)", r.peer),
                None => format!("{} (not Established)", r.peer),
            })
            .collect()
    }
}

impl Supervisor {
    /// Run one upgrade, reporting each step on `events` as it happens; `Err` only when it was
    /// refused before starting. systemd sees a reload: `READY=1` comes back once the new
    /// speaker has sent End-of-RIB to every peer that was up, or the old one carries on.
    pub async fn upgrade(
        self: &Arc<Self>,
        binary: Option<PathBuf>,
        timeout: Duration,
        events: Option<mpsc::UnboundedSender<UpgradeEvent>>,
    ) -> Result<UpgradeView, String> {
        let t0 = self.begin_upgrade()?;
        let reload = notify::Reload::begin();
        let view = self.run_upgrade(t0, binary, timeout, events).await;
        self.recount_peers().await;
        reload.finish(&self.status_line());
        Ok(view)
    }

    /// After an upgrade, the peers up as the speaker now running says (for `STATUS=`).
    pub(super) async fn recount_peers(&self) {
        if let Some(gen) = self.active() {
            if let Err(e) = self.count_peers(&gen, ASK_TIMEOUT).await {
                warn!(generation = gen.number, error = %e, "the speaker does not say which peers are up");
            }
        }
    }

    /// Refuse a second upgrade, or one with no speaker to replace; else mark one as running.
    pub(super) fn begin_upgrade(&self) -> Result<Instant, String> {
        let t0 = Instant::now();
        let mut s = self.lock();
        if let Some(since) = s.upgrading {
            return Err(format!(
                "an upgrade is already in progress (started {} s ago): wait for it to finish",
                since.elapsed().as_secs()
            ));
        }
        if s.active.is_none() {
            return Err("no speaker is running (is it restarting after a crash?)".into());
        }
        s.upgrading = Some(t0);
        Ok(t0)
    }

    /// The upgrade [`begin_upgrade`](Self::begin_upgrade) marked as running at `t0`.
    pub(super) async fn run_upgrade(
        self: &Arc<Self>,
        t0: Instant,
        binary: Option<PathBuf>,
        timeout: Duration,
        events: Option<mpsc::UnboundedSender<UpgradeEvent>>,
    ) -> UpgradeView {
        let binary = binary.unwrap_or_else(|| self.exe.clone());
        let steps = Steps { t0, sink: events };
        let view = self.upgrade_steps(binary, timeout, &steps).await;
        if view.ok {
            info!(
                duration_ms = view.duration_ms,
                generation = view.to_generation,
                "upgrade complete"
            );
        } else {
            warn!(reason = ?view.reason, "upgrade failed");
        }
        let outcome = outcome(&view);
        let active = {
            let mut s = self.lock();
            s.upgrading = None;
            s.last_upgrade = Some(view.clone());
            s.upgrades.count(outcome);
            s.active.clone()
        };
        // The speaker running now (the new one, or the old one after a failure) exports it.
        if let Some(gen) = active {
            gen.tell(self.figures());
        }
        view
    }

    async fn upgrade_steps(
        self: &Arc<Self>,
        binary: PathBuf,
        timeout: Duration,
        steps: &Steps,
    ) -> UpgradeView {
        let deadline = Deadline::from_std(steps.t0) + timeout;
        let old = self.active().expect("checked before");
        let mut view = UpgradeView {
            ok: false,
            reason: None,
            binary: binary.display().to_string(),
            from_generation: old.number,
            from_version: Some(old.version.clone()),
            to_generation: old.number,
            to_version: Some(old.version.clone()),
            duration_ms: 0,
            peers: Vec::new(),
        };
        let fail = |mut view: UpgradeView, reason: String| {
            view.reason = Some(reason);
            view.duration_ms = steps.ms();
            view
        };
        let before: Vec<IpAddr> = match old.neighbors(ASK_TIMEOUT).await {
            Ok(n) => n
                .into_iter()
                .filter(|n| n.state == SessionState::Established)
                .map(|n| n.address)
                .collect(),
            Err(e) => {
                // A hung speaker is exactly what an upgrade may be for: expect every
                // configured peer back instead.
                warn!(error = %e, "the running speaker does not answer: expecting every configured peer");
                self.config().peers.iter().map(|p| p.address).collect()
            }
        };

        // The new speaker reads the configuration file as it is now: it may listen elsewhere.
        // Its routes file is checked here while the new speaker reads it (a million lines take
        // each of them about half a second, in parallel rather than one after the other).
        let invalid = |e| format!("the configuration is invalid, nothing was changed: {e}");
        let config = match &self.config_path {
            Some(path) => match crate::config::load_settings(path) {
                Ok(c) => c,
                Err(e) => return fail(view, invalid(e)),
            },
            None => self.config(),
        };
        let routes_checked = tokio::task::spawn_blocking({
            let config = config.clone();
            move || crate::config::check_routes_file(&config)
        });
        let listeners = match self.listeners_for(&config.global.listen) {
            Ok(l) => l,
            Err(e) => return fail(view, format!("cannot listen: {e}; nothing was changed")),
        };

        // Step 3: the new speaker, standing by.
        let untouched =
            |reason: String| format!("{reason}; the running speaker was left untouched");
        let generation = self.next_number();
        let mut spec = self.spec(generation, &binary);
        spec.listeners = listeners.clone();
        let started = |pid| {
            let binary = view.binary.clone();
            steps.emit(UpgradeStep::Started {
                generation,
                pid,
                binary,
            })
        };
        let spawned = Generation::spawn(spec, deadline, self.exits.clone(), started).await;
        let (new, mut new_events) = match spawned {
            Ok(x) => x,
            Err(reason) => return fail(view, untouched(reason)),
        };
        steps.emit(UpgradeStep::Hello {
            generation,
            version: new.version.clone(),
            protocol: new.protocol,
        });
        let ready = new.ready(&mut new_events, deadline).await;
        // A bad routes file is the reason, whether or not the new speaker got as far as Ready.
        if let Ok(Err(e)) = routes_checked.await {
            if ready.is_ok() {
                new.kill();
            }
            return fail(view, untouched(invalid(e)));
        }
        match ready {
            Ok(peers_up) => steps.emit(UpgradeStep::Ready {
                generation,
                peers_up,
            }),
            Err(reason) => return fail(view, untouched(reason)),
        }
        let new = Arc::new(new);

        // Step 4: the old speaker lets go, silently.
        let mut old_events = self.quiesce(&old, steps).await;

        // Step 5: the new one goes live; listeners the new configuration dropped close now.
        new.send(Msg::Activate {
            expect: before.clone(),
        });
        self.lock().active = Some(new.clone());
        self.use_listeners(listeners);
        self.set_config(config);
        view.to_generation = generation;
        view.to_version = Some(new.version.clone());
        steps.emit(UpgradeStep::Activated {
            generation,
            expect: before.clone(),
        });

        // Step 6: every peer that was up, back with our End-of-RIB; the old speaker's exit
        // noted meanwhile (and enforced).
        let mut rows = Rows::expecting(&before);
        let mut old_kill_at = old_events
            .is_some()
            .then(|| Deadline::now() + QUIESCE_BOUND);
        loop {
            tokio::select! {
                e = new_events.recv() => match e {
                    Some(Event::Progress(p)) => {
                        let ms = steps.ms();
                        rows.note(p.peer, p.kind, ms);
                        steps.emit_at(ms, UpgradeStep::Progress { generation, progress: p });
                    }
                    Some(Event::Done { peers_up }) => {
                        steps.emit(UpgradeStep::Done { generation, peers_up });
                        view.ok = true;
                        break;
                    }
                    Some(Event::Exited(how)) => {
                        steps.emit(UpgradeStep::Exited { generation, how: how.clone() });
                        view.reason = Some(format!(
                            "the new speaker exited after it went live ({how}); a new one is being started"
                        ));
                        break;
                    }
                    Some(Event::Ready { .. } | Event::Quiesced) => {}
                    None => {
                        view.reason = Some("the new speaker went away".into());
                        break;
                    }
                },
                Some(e) = next(&mut old_events) => {
                    if let Event::Exited(how) = e {
                        steps.emit(UpgradeStep::Exited { generation: old.number, how });
                        (old_events, old_kill_at) = (None, None);
                    }
                }
                _ = sleep_until(old_kill_at) => {
                    let why = format!("did not exit within {} s of Quiesced", QUIESCE_BOUND.as_secs());
                    old.kill();
                    steps.emit(UpgradeStep::Killed { generation: old.number, why });
                    old_kill_at = None;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    view.reason = Some(format!(
                        "the new speaker runs, but these peers were not back with End-of-RIB within {} s: {}",
                        timeout.as_secs(),
                        rows.missing().join(", ")
                    ));
                    break;
                }
            }
        }
        if let (Some(events), Some(at)) = (old_events, old_kill_at) {
            tokio::spawn(kill_if_lingering(old.clone(), events, at));
        }
        view.peers = rows.0.into_values().collect();
        view.duration_ms = steps.ms();
        view
    }

    /// Step 4: ask `old` to let go and wait for its `Quiesced` (or its exit), killing it if
    /// neither comes in time. Returns its events when it is still to exit.
    async fn quiesce(&self, old: &Arc<Generation>, steps: &Steps) -> Option<Events> {
        let generation = old.number;
        let mut events = old.watch();
        self.lock().retiring.push(generation);
        old.send(Msg::Quiesce);
        steps.emit(UpgradeStep::Quiesce { generation });
        let bound = Deadline::now() + QUIESCE_BOUND;
        loop {
            match tokio::time::timeout_at(bound, events.recv()).await {
                Ok(Some(Event::Quiesced)) => {
                    steps.emit(UpgradeStep::Quiesced { generation });
                    return Some(events);
                }
                Ok(Some(Event::Exited(how))) => {
                    steps.emit(UpgradeStep::Exited { generation, how });
                    return None;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        warn!(
            generation,
            "the old speaker did not let go after quiesce: killing it"
        );
        let why = format!("no Quiesced within {} s", QUIESCE_BOUND.as_secs());
        old.kill();
        steps.emit(UpgradeStep::Killed { generation, why });
        let how = exited(&mut events, KILLED_BOUND).await;
        steps.emit(UpgradeStep::Exited { generation, how });
        None
    }
}

/// How an upgrade ended, for the metrics: the new speaker either never went live (the old one
/// carries on), or went live and finished, or went live and did not.
fn outcome(view: &UpgradeView) -> UpgradeOutcome {
    if view.ok {
        UpgradeOutcome::Completed
    } else if view.to_generation == view.from_generation {
        UpgradeOutcome::Failed
    } else {
        UpgradeOutcome::Incomplete
    }
}

/// The next event of a speaker still watched; never, once it is not.
async fn next(events: &mut Option<Events>) -> Option<Event> {
    match events {
        Some(e) => e.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Deadline>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// After the upgrade: the old speaker quiesced but has not exited yet; kill it at `at` if it
/// still has not.
async fn kill_if_lingering(old: Arc<Generation>, mut events: Events, at: Deadline) {
    let wait = async { while !matches!(events.recv().await, Some(Event::Exited(_)) | None) {} };
    if tokio::time::timeout_at(at, wait).await.is_err() {
        warn!(
            generation = old.number,
            "the old speaker did not exit after Quiesced: killing it"
        );
        old.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgrade_is_failed_until_the_new_speaker_goes_live() {
        let view = |ok, to_generation| UpgradeView {
            ok,
            reason: None,
            binary: "/usr/sbin/batond".into(),
            from_generation: 4,
            from_version: None,
            to_generation,
            to_version: None,
            duration_ms: 0,
            peers: Vec::new(),
        };
        assert_eq!(outcome(&view(true, 5)), UpgradeOutcome::Completed);
        assert_eq!(outcome(&view(false, 4)), UpgradeOutcome::Failed);
        assert_eq!(outcome(&view(false, 5)), UpgradeOutcome::Incomplete);
    }
}
