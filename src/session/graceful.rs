//! Graceful restart for one peer, helper side (RFC 4724 §4.2, RFC 8538, RFC 9494), sans-IO.
//!
//! When a peer's session ends, its routes are either forgotten (plain BGP) or kept as *stale*
//! while the peer restarts: for its restart time, then for its long-lived stale time with the
//! LLGR_STALE community attached, then until it sends End-of-RIB on the new session.
//! [`GrHelper::handle`] takes what happened ([`GrInput`]: session up or down, End-of-RIB, a timer)
//! and returns what the RIB and the driver must do ([`GrOutput`]: mark, purge or demote stale
//! routes, arm or stop a timer). Like [`Session`](super::Session) it never touches a clock, so
//! every rule is a plain unit test.
//!
//! One `GrHelper` lives as long as the peer is configured, across its sessions.
//!
//! # Choices the RFCs leave to us
//!
//! - **Restart time 0 and no LLGR**: [`GrOutput::PurgeAll`] at once, never a mark followed by a
//!   purge.
//! - **Long-lived stale time**: RFC 9494 §4.2 runs the peer's advertised value and lets a local
//!   setting reduce it; we use the smaller of the peer's and ours ([`GrPolicy`]).
//! - **Waiting for End-of-RIB**: RFC 4724 §4.2 "MAY" bound it; we wait [`STALE_ROUTES_TIME`]
//!   (360 s, the default selection deferral time and FRR's stalepath-time) and then purge what is
//!   still stale.
//! - **Long-lived stale timer across a reconnection**: it is not stopped when the peer is back.
//!   RFC 9494 §4.2 says the timer is not updated "until the peer has established and
//!   synchronized a new session", and that if it "expires during synchronization with the peer,
//!   any stale routes that the peer has not refreshed are removed". So it runs until the
//!   family's End-of-RIB.
//! - **Several long-lived stale times on one timer**: the deadlines live on a private clock
//!   started when the timer is first armed; the timer is re-armed for the next deadline. The one
//!   case where the helper cannot know the time (a family entering the long-lived phase while a
//!   timer from a previous restart still runs) counts that family's time from the running
//!   timer's expiry: its routes are kept a little longer than asked, never shorter.
//! - **A family the new session does not negotiate** cannot get an End-of-RIB: its stale routes
//!   are purged when the session comes up, as for a family missing from the GR capability.

use std::time::Duration;

use super::{DownReason, Negotiated};
use crate::wire::{Family, GracefulRestartCap, LlgrFamily};

/// How long stale routes wait for End-of-RIB once the peer is back (RFC 4724 §4.2 "MAY"
/// bound), then are purged.
pub const STALE_ROUTES_TIME: Duration = Duration::from_secs(360);

/// What we advertise to the peer (from `[peer.graceful_restart]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrPolicy {
    /// We send the Graceful Restart capability: without it we never keep a peer's routes.
    pub enabled: bool,
    /// Restart time we advertise, seconds (how long the peer keeps *our* routes).
    pub restart_time: u16,
    /// We send the N bit (RFC 8538).
    pub notification: bool,
    /// Long-lived stale time we advertise, seconds (RFC 9494); 0: no LLGR. Also the most we
    /// keep a peer's routes in the long-lived phase.
    pub long_lived_stale_time: u32,
}

/// The helper's timers. The driver owns the clocks; the helper only arms and stops them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrTimer {
    /// The peer's restart time: how long it may take to come back.
    Restart,
    /// The next long-lived stale time deadline (RFC 9494).
    LongLivedStale,
    /// How long stale routes wait for End-of-RIB once the peer is back.
    Stale,
}

/// What happened to the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrInput {
    /// A session reached Established; the peer's capabilities are inside.
    SessionUp(Negotiated),
    /// The Established session ended, for this reason.
    SessionDown(DownReason),
    /// End-of-RIB received from the peer for this family.
    EndOfRib(Family),
    /// A timer the helper armed expired.
    TimerExpired(GrTimer),
}

/// What the RIB and the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrOutput {
    /// Forget every route the peer sent: no graceful restart this time.
    PurgeAll,
    /// Keep the peer's routes of these families, marked stale; purge its routes of any other
    /// family.
    MarkStale(Vec<Family>),
    /// Delete the peer's routes of these families that are still marked stale.
    PurgeStale(Vec<Family>),
    /// RFC 9494 §4.2: attach LLGR_STALE to the peer's stale routes of these families, and delete
    /// those carrying NO_LLGR.
    LongLivedStale(Vec<Family>),
    /// Arm (or re-arm) this timer to fire after the duration.
    StartTimer(GrTimer, Duration),
    /// Disarm this timer.
    StopTimer(GrTimer),
}

/// Where the peer is in a graceful restart, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrPhase {
    /// No stale routes.
    Idle,
    /// The peer is down and its restart time runs; `families` hold stale routes, `long_lived`
    /// of them already carry LLGR_STALE.
    PeerRestarting {
        /// Families with stale routes.
        families: Vec<Family>,
        /// Of those, the ones in the long-lived phase.
        long_lived: Vec<Family>,
        /// The restart time the peer advertised, seconds.
        restart_time: u16,
    },
    /// The peer is down, its restart time is over: `families` are kept as long-lived stale.
    LongLivedStale {
        /// Families with long-lived stale routes.
        families: Vec<Family>,
    },
    /// The peer is back; `families` keep stale routes until their End-of-RIB.
    AwaitingEndOfRib {
        /// Families with stale routes.
        families: Vec<Family>,
        /// Of those, the ones in the long-lived phase.
        long_lived: Vec<Family>,
    },
}

impl GrPhase {
    /// The phase's name, for display.
    pub fn name(&self) -> &'static str {
        match self {
            GrPhase::Idle => "Idle",
            GrPhase::PeerRestarting { .. } => "PeerRestarting",
            GrPhase::LongLivedStale { .. } => "LongLivedStale",
            GrPhase::AwaitingEndOfRib { .. } => "AwaitingEndOfRib",
        }
    }
}

/// What the peer advertised on its last Established session: the next down is judged by it.
#[derive(Debug, Clone)]
struct PeerCaps {
    families: Vec<Family>,
    graceful_restart: Option<GracefulRestartCap>,
    long_lived: Vec<LlgrFamily>,
}

/// Long-lived stale deadlines of several families, served by one timer.
///
/// Times are on a private clock whose zero is the moment the timer was first armed.
#[derive(Debug, Clone)]
struct LongLivedClock {
    deadlines: Vec<(Family, Duration)>,
    /// When the armed timer fires.
    fires_at: Duration,
    /// When the current down happened, if this clock was started by it.
    down_at: Option<Duration>,
}

impl LongLivedClock {
    fn families(&self) -> Vec<Family> {
        self.deadlines.iter().map(|(f, _)| *f).collect()
    }

    fn contains(&self, family: Family) -> bool {
        self.deadlines.iter().any(|(f, _)| *f == family)
    }

    fn next(&self) -> Option<Duration> {
        self.deadlines.iter().map(|(_, at)| *at).min()
    }
}

/// Graceful restart state for one peer, across its sessions.
///
/// The outputs of one [`GrHelper::handle`] call must be carried out in order: a consecutive
/// restart yields `PurgeStale` (what is left of the previous restart) before `MarkStale` (the
/// routes of the session that just ended).
#[derive(Debug)]
pub struct GrHelper {
    policy: GrPolicy,
    /// The peer's capabilities from its last Established session.
    peer: Option<PeerCaps>,
    /// A session is Established.
    up: bool,
    /// Families whose routes are (partly) stale, in the session's family order.
    stale: Vec<Family>,
    /// Families waiting for the restart timer (the timer runs iff this is not empty).
    restarting: Vec<Family>,
    /// The peer's restart time for the current restart.
    restart_time: u16,
    /// Long-lived stale time of each family for the current restart, where LLGR applies.
    long_lived_times: Vec<(Family, Duration)>,
    /// The long-lived stale timer (runs iff `Some`); its families carry LLGR_STALE.
    long_lived: Option<LongLivedClock>,
    /// The stale timer runs.
    stale_timer: bool,
    /// RFC 9494 §4.2: families whose long-lived stale time expired while the peer was back but
    /// before their End-of-RIB. "If the session subsequently resets prior to becoming
    /// synchronized, any remaining routes (for the AFI/SAFI whose LLST timer expired) MUST be
    /// removed immediately."
    unsynchronized: Vec<Family>,
}

impl GrHelper {
    /// A helper for a peer with no session yet.
    pub fn new(policy: GrPolicy) -> Self {
        GrHelper {
            policy,
            peer: None,
            up: false,
            stale: Vec::new(),
            restarting: Vec::new(),
            restart_time: 0,
            long_lived_times: Vec::new(),
            long_lived: None,
            stale_timer: false,
            unsynchronized: Vec::new(),
        }
    }

    /// What we advertise.
    pub fn policy(&self) -> &GrPolicy {
        &self.policy
    }

    /// Families whose routes from the peer are (partly) stale.
    pub fn stale_families(&self) -> &[Family] {
        &self.stale
    }

    /// Where the peer is in a graceful restart.
    pub fn phase(&self) -> GrPhase {
        if self.stale.is_empty() {
            return GrPhase::Idle;
        }
        let families = self.stale.clone();
        let long_lived = self.long_lived_families();
        if self.up {
            GrPhase::AwaitingEndOfRib {
                families,
                long_lived,
            }
        } else if !self.restarting.is_empty() {
            GrPhase::PeerRestarting {
                families,
                long_lived,
                restart_time: self.restart_time,
            }
        } else {
            GrPhase::LongLivedStale { families }
        }
    }

    /// Feed one event; returns what to do, in order. Events that find nothing to act on (a
    /// timer that raced with its own stop, End-of-RIB for a family with no stale routes) return
    /// nothing.
    pub fn handle(&mut self, input: GrInput) -> Vec<GrOutput> {
        let mut out = Vec::new();
        match input {
            GrInput::SessionUp(neg) => self.session_up(&neg, &mut out),
            GrInput::SessionDown(reason) => self.session_down(&reason, &mut out),
            GrInput::EndOfRib(family) => self.end_of_rib(family, &mut out),
            GrInput::TimerExpired(GrTimer::Restart) => self.restart_expired(&mut out),
            GrInput::TimerExpired(GrTimer::LongLivedStale) => self.long_lived_expired(&mut out),
            GrInput::TimerExpired(GrTimer::Stale) => self.stale_expired(&mut out),
        }
        out
    }

    /// The peer is back (RFC 4724 §4.2, RFC 9494 §4.2): stale routes of families it cannot
    /// refresh go now, the others wait for End-of-RIB.
    fn session_up(&mut self, neg: &Negotiated, out: &mut Vec<GrOutput>) {
        self.up = true;
        self.peer = Some(PeerCaps {
            families: neg.families.clone(),
            graceful_restart: neg.peer_graceful_restart.clone(),
            long_lived: neg.peer_long_lived.clone().unwrap_or_default(),
        });
        if self.stale.is_empty() {
            return;
        }
        let restarting = std::mem::take(&mut self.restarting);
        if !restarting.is_empty() {
            out.push(GrOutput::StopTimer(GrTimer::Restart));
        }
        // RFC 4724 §4.2: "if the "Forwarding State" bit for a specific address family is not
        // set in the newly received Graceful Restart Capability, or if a specific address
        // family is not included [in it], or if the Graceful Restart Capability is not
        // received in the re-established session at all, then the Receiving Speaker MUST
        // immediately remove all the stale routes from the peer that it is retaining for that
        // address family." RFC 9494 §4.2 says the same of the LLGR capability once the
        // long-lived phase has begun.
        let gr = neg.peer_graceful_restart.as_ref();
        let gr_forwarding = |f: Family| {
            gr.is_some_and(|g| g.families.iter().any(|x| x.family == f && x.forwarding))
        };
        let llgr = neg.peer_long_lived.as_deref().unwrap_or(&[]);
        let llgr_forwarding = |f: Family| llgr.iter().any(|x| x.family == f && x.forwarding);
        let gone: Vec<Family> = self
            .stale
            .iter()
            .copied()
            .filter(|&f| {
                let long_lived = self.long_lived.as_ref().is_some_and(|c| c.contains(f));
                let keep = gr.is_some()
                    && neg.families.contains(&f)
                    && (!long_lived || llgr_forwarding(f))
                    && ((long_lived && !restarting.contains(&f)) || gr_forwarding(f));
                !keep
            })
            .collect();
        self.purge_stale(gone, out);
        if !self.stale.is_empty() {
            tracing::info!(families = ?self.stale, "peer back, stale routes wait for End-of-RIB");
            out.push(GrOutput::StartTimer(GrTimer::Stale, STALE_ROUTES_TIME));
            self.stale_timer = true;
        }
    }

    /// The Established session ended: keep the routes as stale, or forget them.
    fn session_down(&mut self, reason: &DownReason, out: &mut Vec<GrOutput>) {
        self.up = false;
        if std::mem::take(&mut self.stale_timer) {
            out.push(GrOutput::StopTimer(GrTimer::Stale));
        }
        // Only after a missed SessionUp: a second down while the restart timer runs.
        if !std::mem::take(&mut self.restarting).is_empty() {
            out.push(GrOutput::StopTimer(GrTimer::Restart));
        }
        let unsynchronized = std::mem::take(&mut self.unsynchronized);
        let Some(peer) = self.peer.clone() else {
            tracing::info!(?reason, "no session seen, routes purged");
            self.purge_all(out);
            return;
        };
        let Some(gr) = self.retaining_cap(&peer, reason) else {
            tracing::info!(?reason, "no graceful restart, routes purged");
            self.purge_all(out);
            return;
        };

        // RFC 4724 §4.2: retain "the routes received from the peer for all the address
        // families that were previously received in the Graceful Restart Capability".
        let candidates = peer
            .families
            .iter()
            .copied()
            .filter(|f| !unsynchronized.contains(f));
        let restarting: Vec<Family> = candidates
            .clone()
            .filter(|&f| gr.restart_time > 0 && gr.families.iter().any(|g| g.family == f))
            .collect();
        let long_lived_times: Vec<(Family, Duration)> = candidates
            .filter_map(|f| self.long_lived_time(&peer, f).map(|d| (f, d)))
            .collect();
        // RFC 9494 §4.2: "If the Graceful Restart Capability that was received does not list
        // all AFIs/SAFIs supported by the session, then the GR Restart Time shall be deemed
        // zero for those AFIs/SAFIs that are not listed": they go long-lived straight away,
        // as every family does when the restart time is 0.
        let at_once: Vec<Family> = long_lived_times
            .iter()
            .map(|(f, _)| *f)
            .filter(|f| !restarting.contains(f))
            .collect();
        let retained: Vec<Family> = peer
            .families
            .iter()
            .copied()
            .filter(|f| restarting.contains(f) || at_once.contains(f))
            .collect();
        if retained.is_empty() {
            tracing::info!(
                ?reason,
                "peer keeps no family across a restart, routes purged"
            );
            self.purge_all(out);
            return;
        }

        // RFC 4724 §4.2: "To deal with possible consecutive restarts, a route (from the peer)
        // previously marked as stale MUST be deleted." RFC 9494 §4.2 makes an exception for
        // routes in the long-lived phase: "in the case of consecutive restarts, the previously
        // marked stale routes MUST NOT be deleted before the timer for the Long-Lived Stale
        // Time expires", and the running timer "MUST NOT be updated".
        let previous: Vec<Family> = self
            .stale
            .iter()
            .copied()
            .filter(|&f| !self.long_lived.as_ref().is_some_and(|c| c.contains(f)))
            .collect();
        if !previous.is_empty() {
            out.push(GrOutput::PurgeStale(previous));
        }
        tracing::info!(?reason, families = ?retained, restart_time = gr.restart_time, "peer restarting, routes kept as stale");
        out.push(GrOutput::MarkStale(retained.clone()));
        self.stale = retained;
        self.restart_time = gr.restart_time;
        self.long_lived_times = long_lived_times;
        if let Some(clock) = &mut self.long_lived {
            // MarkStale purged the families not retained; the others keep their deadlines.
            clock.deadlines.retain(|(f, _)| self.stale.contains(f));
            clock.down_at = None;
            if clock.deadlines.is_empty() {
                self.long_lived = None;
                out.push(GrOutput::StopTimer(GrTimer::LongLivedStale));
            }
        }
        if !restarting.is_empty() {
            out.push(GrOutput::StartTimer(
                GrTimer::Restart,
                secs(u32::from(gr.restart_time)),
            ));
            self.restarting = restarting;
        }
        if !at_once.is_empty() {
            let started_now = self.long_lived.is_none();
            self.enter_long_lived(at_once, None, out);
            if started_now {
                if let Some(clock) = &mut self.long_lived {
                    clock.down_at = Some(Duration::ZERO);
                }
            }
        }
    }

    /// RFC 4724 §4.2: "Once the End-of-RIB marker for an address family is received from the
    /// peer, it MUST immediately remove any routes from the peer that are still marked as
    /// stale for that address family."
    fn end_of_rib(&mut self, family: Family, out: &mut Vec<GrOutput>) {
        self.unsynchronized.retain(|&f| f != family);
        if !self.up || !self.stale.contains(&family) {
            return;
        }
        tracing::info!(%family, "End-of-RIB, stale routes purged");
        self.purge_stale(vec![family], out);
    }

    /// The peer did not come back within its restart time (RFC 4724 §4.2): its stale routes go,
    /// except where long-lived GR applies (RFC 9494 §4.2).
    fn restart_expired(&mut self, out: &mut Vec<GrOutput>) {
        let restarting = std::mem::take(&mut self.restarting);
        if restarting.is_empty() {
            return;
        }
        let (long_lived, purged): (Vec<Family>, Vec<Family>) = restarting
            .into_iter()
            .partition(|f| self.long_lived_times.iter().any(|(g, _)| g == f));
        tracing::info!(purged = ?purged, long_lived = ?long_lived, "restart time over");
        self.purge_stale(purged, out);
        if !long_lived.is_empty() {
            let now = self
                .long_lived
                .as_ref()
                .and_then(|c| c.down_at)
                .map(|d| d + secs(u32::from(self.restart_time)));
            self.enter_long_lived(long_lived, now, out);
        }
    }

    /// RFC 9494 §4.2: "If the timer for the Long-Lived Stale Time for a given AFI/SAFI expires
    /// before the session is re-established, the helper MUST delete all stale routes of that
    /// AFI/SAFI from the neighbor that it is retaining."
    fn long_lived_expired(&mut self, out: &mut Vec<GrOutput>) {
        let Some(clock) = &mut self.long_lived else {
            return;
        };
        let now = clock.fires_at;
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut clock.deadlines)
            .into_iter()
            .partition(|(_, at)| *at <= now);
        clock.deadlines = rest;
        let rearm = clock.next();
        match rearm {
            Some(next) => clock.fires_at = next,
            None => self.long_lived = None,
        }
        let due: Vec<Family> = due
            .into_iter()
            .map(|(f, _)| f)
            .filter(|f| self.stale.contains(f))
            .collect();
        if self.up {
            self.unsynchronized.extend(&due);
        }
        if !due.is_empty() {
            tracing::info!(families = ?due, "long-lived stale time over");
        }
        self.purge_stale(due, out);
        if let (Some(next), Some(_)) = (rearm, &self.long_lived) {
            out.push(GrOutput::StartTimer(GrTimer::LongLivedStale, next - now));
        }
    }

    /// The peer is back but sent no End-of-RIB in time: what is still stale goes.
    fn stale_expired(&mut self, out: &mut Vec<GrOutput>) {
        if !std::mem::take(&mut self.stale_timer) {
            return;
        }
        tracing::info!(families = ?self.stale, "no End-of-RIB in time, stale routes purged");
        self.purge_stale(self.stale.clone(), out);
    }

    /// The peer's GR capability if this down keeps its routes.
    fn retaining_cap<'a>(
        &self,
        peer: &'a PeerCaps,
        reason: &DownReason,
    ) -> Option<&'a GracefulRestartCap> {
        let gr = peer.graceful_restart.as_ref()?;
        let retains = self.policy.enabled
            && match reason {
                DownReason::ConnectionLost => true,
                // RFC 8538 §3: with the N bit sent by both sides, a NOTIFICATION is handled as a
                // TCP failure, except Hard Reset, which §4 reserves for a full reset.
                DownReason::NotificationSent(n) | DownReason::NotificationReceived(n) => {
                    self.policy.notification && gr.notification && !n.is_hard_reset()
                }
                // Our own decision to stop or deconfigure the peer.
                DownReason::Stopped(_) => false,
            };
        retains.then_some(gr)
    }

    /// The long-lived stale time of `family` for a restart of `peer`, if LLGR applies: both
    /// sides advertised a non-zero time for it; the smaller one counts (RFC 9494 §4.2: the
    /// peer's value "MAY be reduced by local configuration").
    fn long_lived_time(&self, peer: &PeerCaps, family: Family) -> Option<Duration> {
        let ours = self.policy.long_lived_stale_time;
        let theirs = peer
            .long_lived
            .iter()
            .find(|f| f.family == family)?
            .stale_time;
        (ours > 0 && theirs > 0).then(|| secs(ours.min(theirs)))
    }

    /// Start the long-lived phase for `families` (RFC 9494 §4.2): LLGR_STALE on their stale
    /// routes, and a deadline for each one that has none yet. `now` is the time on the running
    /// clock, when known.
    fn enter_long_lived(
        &mut self,
        families: Vec<Family>,
        now: Option<Duration>,
        out: &mut Vec<GrOutput>,
    ) {
        let times: Vec<(Family, Duration)> = families
            .iter()
            .filter_map(|f| self.long_lived_times.iter().find(|(g, _)| g == f).copied())
            .collect();
        out.push(GrOutput::LongLivedStale(families));
        match &mut self.long_lived {
            None => {
                let Some(first) = times.iter().map(|(_, d)| *d).min() else {
                    return;
                };
                out.push(GrOutput::StartTimer(GrTimer::LongLivedStale, first));
                self.long_lived = Some(LongLivedClock {
                    deadlines: times,
                    fires_at: first,
                    down_at: None,
                });
            }
            Some(clock) => {
                // Unknown time: count from the running timer's expiry (late, never early).
                let now = now.unwrap_or(clock.fires_at);
                for (f, d) in times {
                    if !clock.contains(f) {
                        clock.deadlines.push((f, now + d));
                    }
                }
                if let Some(next) = clock.next().filter(|&n| n < clock.fires_at) {
                    out.push(GrOutput::StartTimer(GrTimer::LongLivedStale, next - now));
                    clock.fires_at = next;
                }
            }
        }
    }

    /// Tell the RIB to delete the stale routes of `families` and forget them here.
    fn purge_stale(&mut self, families: Vec<Family>, out: &mut Vec<GrOutput>) {
        if families.is_empty() {
            return;
        }
        self.stale.retain(|f| !families.contains(f));
        out.push(GrOutput::PurgeStale(families));
        self.settle(out);
    }

    /// Forget every route of the peer and every timer.
    fn purge_all(&mut self, out: &mut Vec<GrOutput>) {
        out.push(GrOutput::PurgeAll);
        self.stale.clear();
        self.settle(out);
    }

    /// Drop what refers to families no longer stale, and stop the timers left with nothing to
    /// do.
    fn settle(&mut self, out: &mut Vec<GrOutput>) {
        let stale = &self.stale;
        if !self.restarting.is_empty() {
            self.restarting.retain(|f| stale.contains(f));
            if self.restarting.is_empty() {
                out.push(GrOutput::StopTimer(GrTimer::Restart));
            }
        }
        if let Some(clock) = &mut self.long_lived {
            clock.deadlines.retain(|(f, _)| stale.contains(f));
            if clock.deadlines.is_empty() {
                self.long_lived = None;
                out.push(GrOutput::StopTimer(GrTimer::LongLivedStale));
            }
        }
        if self.stale.is_empty() {
            if std::mem::take(&mut self.stale_timer) {
                out.push(GrOutput::StopTimer(GrTimer::Stale));
            }
            self.long_lived_times.clear();
            tracing::debug!("graceful restart over");
        }
    }

    fn long_lived_families(&self) -> Vec<Family> {
        self.long_lived
            .as_ref()
            .map(LongLivedClock::families)
            .unwrap_or_default()
    }
}

/// Whole seconds as a timer duration.
fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}
