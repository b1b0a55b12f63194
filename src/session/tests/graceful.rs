//! GrHelper: every graceful restart rule of the helper side (RFC 4724 §4.2, RFC 8538, RFC 9494),
//! then a few runs against tokio's paused clock to prove the timer durations.

use std::collections::HashMap;
use std::pin::Pin;

use tokio::time::{Instant, Sleep};

use super::*;
use GrOutput::{LongLivedStale, MarkStale, PurgeAll, PurgeStale, StartTimer, StopTimer};

const V4: Family = Family::IPV4_UNICAST;
const V6: Family = Family::IPV6_UNICAST;
const BOTH: [Family; 2] = [V4, V6];

/// What we advertise: GR with the N bit, no LLGR.
fn policy() -> GrPolicy {
    GrPolicy {
        enabled: true,
        restart_time: 120,
        notification: true,
        long_lived_stale_time: 0,
    }
}

/// What we advertise: GR with the N bit, and LLGR with this stale time.
fn llgr_policy(stale_time: u32) -> GrPolicy {
    GrPolicy {
        long_lived_stale_time: stale_time,
        ..policy()
    }
}

/// A GR capability with the N bit, listing `families` (family, F bit).
fn gr(restart_time: u16, families: &[(Family, bool)]) -> GracefulRestartCap {
    GracefulRestartCap {
        restart_state: false,
        notification: true,
        restart_time,
        families: families
            .iter()
            .map(|&(family, forwarding)| GrFamily { family, forwarding })
            .collect(),
    }
}

/// A GR capability listing both families with the F bit.
fn gr_both(restart_time: u16) -> GracefulRestartCap {
    gr(restart_time, &[(V4, true), (V6, true)])
}

/// LLGR capability families: (family, F bit, stale time).
fn llgr(families: &[(Family, bool, u32)]) -> Capability {
    Capability::LongLivedGracefulRestart(
        families
            .iter()
            .map(|&(family, forwarding, stale_time)| LlgrFamily {
                family,
                forwarding,
                stale_time,
            })
            .collect(),
    )
}

/// The session the peer brings up, negotiated by check_open from an OPEN with these extra
/// capabilities (both families are negotiated).
fn up_with(extra: Vec<Capability>) -> GrInput {
    let mut open = peer_open();
    open.capabilities.extend(extra);
    GrInput::SessionUp(check_open(&config(), &open).expect("OPEN accepted"))
}

/// The peer comes up with this GR capability and no LLGR.
fn up(gr: GracefulRestartCap) -> GrInput {
    up_with(vec![Capability::GracefulRestart(gr)])
}

fn lost() -> GrInput {
    GrInput::SessionDown(DownReason::ConnectionLost)
}

fn expire(timer: GrTimer) -> GrInput {
    GrInput::TimerExpired(timer)
}

fn eor(family: Family) -> GrInput {
    GrInput::EndOfRib(family)
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// A helper whose peer (GR both families, restart time 90) just lost its session.
fn restarting() -> GrHelper {
    let mut h = GrHelper::new(policy());
    assert_eq!(h.handle(up(gr_both(90))), vec![]);
    h.handle(lost());
    h
}

/// A helper whose peer (LLGR 7200 s on both families, ours 3600) is in the long-lived phase.
fn long_lived() -> GrHelper {
    let mut h = GrHelper::new(llgr_policy(3600));
    h.handle(up_with(vec![
        Capability::GracefulRestart(gr_both(90)),
        llgr(&[(V4, true, 7200), (V6, true, 7200)]),
    ]));
    h.handle(lost());
    h.handle(expire(GrTimer::Restart));
    assert_eq!(h.phase().name(), "LongLivedStale");
    h
}

// ---------------------------------------------------------------------------------------------
// The session goes down: keep or purge

#[test]
fn connection_lost_keeps_every_family_the_peer_listed_and_starts_its_restart_time() {
    let mut h = GrHelper::new(policy());
    h.handle(up(gr_both(90)));
    assert_eq!(
        h.handle(lost()),
        vec![
            MarkStale(BOTH.to_vec()),
            StartTimer(GrTimer::Restart, s(90))
        ]
    );
    assert_eq!(h.stale_families(), &BOTH);
    assert_eq!(
        h.phase(),
        GrPhase::PeerRestarting {
            families: BOTH.to_vec(),
            long_lived: vec![],
            restart_time: 90
        }
    );
}

#[test]
fn only_families_in_the_peer_capability_are_kept_stale_the_others_purged() {
    let mut h = GrHelper::new(policy());
    h.handle(up(gr(90, &[(V4, true)])));
    // MarkStale purges the routes of every family it does not name: here IPv6.
    assert_eq!(
        h.handle(lost()),
        vec![MarkStale(vec![V4]), StartTimer(GrTimer::Restart, s(90))]
    );
    assert_eq!(h.stale_families(), &[V4]);
}

#[test]
fn families_the_session_did_not_negotiate_are_not_kept() {
    let mut h = GrHelper::new(policy());
    let mut open = peer_open();
    open.capabilities
        .retain(|c| *c != Capability::Multiprotocol(V6));
    open.capabilities
        .push(Capability::GracefulRestart(gr_both(90)));
    h.handle(GrInput::SessionUp(check_open(&config(), &open).unwrap()));
    assert_eq!(h.handle(lost())[0], MarkStale(vec![V4]));
}

#[test]
fn without_graceful_restart_on_our_side_everything_is_purged() {
    let mut h = GrHelper::new(GrPolicy {
        enabled: false,
        ..policy()
    });
    h.handle(up(gr_both(90)));
    assert_eq!(h.handle(lost()), vec![PurgeAll]);
    assert_eq!(h.phase(), GrPhase::Idle);
}

#[test]
fn peer_without_graceful_restart_capability_gets_everything_purged() {
    let mut h = GrHelper::new(policy());
    h.handle(up_with(vec![]));
    assert_eq!(h.handle(lost()), vec![PurgeAll]);
}

#[test]
fn a_down_before_any_session_purges_everything() {
    let mut h = GrHelper::new(policy());
    assert_eq!(h.handle(lost()), vec![PurgeAll]);
}

#[test]
fn notification_is_graceful_when_both_sides_sent_the_n_bit() {
    // RFC 8538 §3: hold timer expiry (we send) and an administrative Cease (we receive).
    let reasons = [
        DownReason::NotificationSent(notification(notif::HOLD_TIMER_EXPIRED, 0)),
        DownReason::NotificationReceived(notification(notif::CEASE, notif::ADMIN_SHUTDOWN)),
    ];
    for reason in reasons {
        let mut h = GrHelper::new(policy());
        h.handle(up(gr_both(90)));
        assert_eq!(
            h.handle(GrInput::SessionDown(reason.clone())),
            vec![
                MarkStale(BOTH.to_vec()),
                StartTimer(GrTimer::Restart, s(90))
            ],
            "{reason:?}"
        );
    }
}

#[test]
fn notification_purges_when_only_one_side_sent_the_n_bit() {
    let reason = || GrInput::SessionDown(DownReason::NotificationSent(notification(notif::FSM, 3)));
    // Only we did.
    let mut h = GrHelper::new(policy());
    h.handle(up(GracefulRestartCap {
        notification: false,
        ..gr_both(90)
    }));
    assert_eq!(h.handle(reason()), vec![PurgeAll]);
    // Only the peer did.
    let mut h = GrHelper::new(GrPolicy {
        notification: false,
        ..policy()
    });
    h.handle(up(gr_both(90)));
    assert_eq!(h.handle(reason()), vec![PurgeAll]);
    // Without a NOTIFICATION the N bit does not matter.
    let mut h = GrHelper::new(GrPolicy {
        notification: false,
        ..policy()
    });
    h.handle(up(gr_both(90)));
    assert_eq!(h.handle(lost())[0], MarkStale(BOTH.to_vec()));
}

#[test]
fn hard_reset_is_never_graceful() {
    // RFC 8538 §4, whichever side sends it, even with the N bit on both sides.
    let hard_reset = notification(notif::CEASE, notif::HARD_RESET);
    for reason in [
        DownReason::NotificationSent(hard_reset.clone()),
        DownReason::NotificationReceived(hard_reset.clone()),
    ] {
        let mut h = GrHelper::new(policy());
        h.handle(up(gr_both(90)));
        assert_eq!(h.handle(GrInput::SessionDown(reason)), vec![PurgeAll]);
    }
}

#[test]
fn hard_reset_while_stale_routes_wait_purges_them_and_stops_the_timers() {
    let mut h = long_lived();
    h.handle(up_with(vec![
        Capability::GracefulRestart(gr_both(90)),
        llgr(&[(V4, true, 7200), (V6, true, 7200)]),
    ]));
    let hard_reset = notification(notif::CEASE, notif::HARD_RESET);
    assert_eq!(
        h.handle(GrInput::SessionDown(DownReason::NotificationReceived(
            hard_reset
        ))),
        vec![
            StopTimer(GrTimer::Stale),
            PurgeAll,
            StopTimer(GrTimer::LongLivedStale)
        ]
    );
    assert_eq!(h.phase(), GrPhase::Idle);
}

#[test]
fn our_deliberate_stop_purges_everything() {
    for stop in [
        DownReason::Stopped(Some(notification(notif::CEASE, notif::ADMIN_SHUTDOWN))),
        DownReason::Stopped(None),
    ] {
        let mut h = GrHelper::new(policy());
        h.handle(up(gr_both(90)));
        assert_eq!(h.handle(GrInput::SessionDown(stop)), vec![PurgeAll]);
    }
}

#[test]
fn restart_time_zero_without_long_lived_purges_everything_at_once() {
    let mut h = GrHelper::new(policy());
    h.handle(up(gr_both(0)));
    assert_eq!(h.handle(lost()), vec![PurgeAll]);
    assert_eq!(h.phase(), GrPhase::Idle);
}

// ---------------------------------------------------------------------------------------------
// The peer stays away

#[test]
fn restart_timer_expiry_purges_the_stale_routes() {
    let mut h = restarting();
    assert_eq!(
        h.handle(expire(GrTimer::Restart)),
        vec![PurgeStale(BOTH.to_vec())]
    );
    assert_eq!(h.phase(), GrPhase::Idle);
    assert!(h.stale_families().is_empty());
}

#[test]
fn long_lived_phase_follows_the_restart_time_capped_by_our_stale_time() {
    let mut h = GrHelper::new(llgr_policy(3600));
    h.handle(up_with(vec![
        Capability::GracefulRestart(gr_both(90)),
        llgr(&[(V4, true, 7200), (V6, true, 7200)]),
    ]));
    assert_eq!(
        h.handle(lost()),
        vec![
            MarkStale(BOTH.to_vec()),
            StartTimer(GrTimer::Restart, s(90))
        ]
    );
    assert_eq!(
        h.handle(expire(GrTimer::Restart)),
        vec![
            LongLivedStale(BOTH.to_vec()),
            StartTimer(GrTimer::LongLivedStale, s(3600))
        ]
    );
    assert_eq!(
        h.phase(),
        GrPhase::LongLivedStale {
            families: BOTH.to_vec()
        }
    );
    assert_eq!(
        h.handle(expire(GrTimer::LongLivedStale)),
        vec![PurgeStale(BOTH.to_vec())]
    );
    assert_eq!(h.phase(), GrPhase::Idle);
}

#[test]
fn peer_long_lived_stale_time_counts_when_shorter_than_ours() {
    let mut h = GrHelper::new(llgr_policy(3600));
    h.handle(up_with(vec![
        Capability::GracefulRestart(gr_both(90)),
        llgr(&[(V4, true, 600), (V6, true, 600)]),
    ]));
    h.handle(lost());
    assert_eq!(
        h.handle(expire(GrTimer::Restart))[1],
        StartTimer(GrTimer::LongLivedStale, s(600))
    );
}

#[test]
fn families_without_a_long_lived_stale_time_are_purged_when_the_restart_time_ends() {
    let mut h = GrHelper::new(llgr_policy(3600));
    h.handle(up_with(vec![
        Capability::GracefulRestart(gr_both(90)),
        llgr(&[(V4, true, 0), (V6, true, 600)]),
    ]));
    h.handle(lost());
    assert_eq!(
        h.handle(expire(GrTimer::Restart)),
        vec![
            PurgeStale(vec![V4]),
            LongLivedStale(vec![V6]),
            StartTimer(GrTimer::LongLivedStale, s(600))
        ]
    );
    assert_eq!(h.stale_families(), &[V6]);
}

#[test]
fn no_long_lived_phase_unless_we_advertised_it() {
    let mut h = GrHelper::new(policy());
    h.handle(up_with(vec![
        Capability::GracefulRestart(gr_both(90)),
        llgr(&[(V4, true, 600), (V6, true, 600)]),
    ]));
    h.handle(lost());
    assert_eq!(
        h.handle(expire(GrTimer::Restart)),
        vec![PurgeStale(BOTH.to_vec())]
    );
}

#[test]
fn no_llgr_routes_are_the_ribs_business_the_helper_only_says_long_lived_stale() {
    // RFC 9494 §4.2: routes carrying NO_LLGR "MUST NOT be retained". The helper knows families,
    // not routes: entering the long-lived phase is one LongLivedStale per batch, and the RIB
    // deletes what carries NO_LLGR while attaching LLGR_STALE to the rest. Nothing is purged
    // for a family entering that phase.
    let mut h = GrHelper::new(llgr_policy(3600));
    h.handle(up_with(vec![
        Capability::GracefulRestart(gr_both(90)),
        llgr(&[(V4, true, 600), (V6, true, 600)]),
    ]));
    h.handle(lost());
    let out = h.handle(expire(GrTimer::Restart));
    assert_eq!(out[0], LongLivedStale(BOTH.to_vec()));
    assert!(!out.iter().any(|o| matches!(o, PurgeStale(_) | PurgeAll)));
}

#[test]
fn restart_time_zero_with_long_lived_goes_straight_to_the_long_lived_phase() {
    let mut h = GrHelper::new(llgr_policy(3600));
    h.handle(up_with(vec![
        Capability::GracefulRestart(gr_both(0)),
        llgr(&[(V4, true, 7200), (V6, true, 7200)]),
    ]));
    assert_eq!(
        h.handle(lost()),
        vec![
            MarkStale(BOTH.to_vec()),
            LongLivedStale(BOTH.to_vec()),
            StartTimer(GrTimer::LongLivedStale, s(3600))
        ]
    );
    assert_eq!(h.phase().name(), "LongLivedStale");
    // No restart timer runs, so a stray expiry does nothing.
    assert_eq!(h.handle(expire(GrTimer::Restart)), vec![]);
}

#[test]
fn a_family_missing_from_the_gr_capability_goes_long_lived_at_once() {
    // RFC 9494 §4.2: its restart time is deemed zero. IPv6 starts its 3600 s at the down, IPv4
    // after its 90 s restart time: one timer serves both deadlines (3600, then 3690).
    let mut h = GrHelper::new(llgr_policy(3600));
    h.handle(up_with(vec![
        Capability::GracefulRestart(gr(90, &[(V4, true)])),
        llgr(&[(V4, true, 3600), (V6, true, 3600)]),
    ]));
    assert_eq!(
        h.handle(lost()),
        vec![
            MarkStale(BOTH.to_vec()),
            StartTimer(GrTimer::Restart, s(90)),
            LongLivedStale(vec![V6]),
            StartTimer(GrTimer::LongLivedStale, s(3600))
        ]
    );
    assert_eq!(
        h.phase(),
        GrPhase::PeerRestarting {
            families: BOTH.to_vec(),
            long_lived: vec![V6],
            restart_time: 90
        }
    );
    assert_eq!(
        h.handle(expire(GrTimer::Restart)),
        vec![LongLivedStale(vec![V4])]
    );
    assert_eq!(
        h.handle(expire(GrTimer::LongLivedStale)),
        vec![
            PurgeStale(vec![V6]),
            StartTimer(GrTimer::LongLivedStale, s(90))
        ]
    );
    assert_eq!(
        h.handle(expire(GrTimer::LongLivedStale)),
        vec![PurgeStale(vec![V4])]
    );
    assert_eq!(h.phase(), GrPhase::Idle);
}

#[test]
fn long_lived_stale_times_run_per_family_on_one_timer() {
    let mut h = GrHelper::new(llgr_policy(3600));
    h.handle(up_with(vec![
        Capability::GracefulRestart(gr_both(90)),
        llgr(&[(V4, true, 600), (V6, true, 1500)]),
    ]));
    h.handle(lost());
    assert_eq!(
        h.handle(expire(GrTimer::Restart)),
        vec![
            LongLivedStale(BOTH.to_vec()),
            StartTimer(GrTimer::LongLivedStale, s(600))
        ]
    );
    assert_eq!(
        h.handle(expire(GrTimer::LongLivedStale)),
        vec![
            PurgeStale(vec![V4]),
            StartTimer(GrTimer::LongLivedStale, s(900))
        ]
    );
    assert_eq!(
        h.handle(expire(GrTimer::LongLivedStale)),
        vec![PurgeStale(vec![V6])]
    );
}

// ---------------------------------------------------------------------------------------------
// The peer comes back

#[test]
fn reconnect_with_the_forwarding_bit_clear_purges_that_family_at_once() {
    let mut h = restarting();
    assert_eq!(
        h.handle(up(gr(90, &[(V4, true), (V6, false)]))),
        vec![
            StopTimer(GrTimer::Restart),
            PurgeStale(vec![V6]),
            StartTimer(GrTimer::Stale, STALE_ROUTES_TIME)
        ]
    );
    assert_eq!(
        h.phase(),
        GrPhase::AwaitingEndOfRib {
            families: vec![V4],
            long_lived: vec![]
        }
    );
}

#[test]
fn reconnect_without_graceful_restart_capability_purges_all_stale_routes() {
    let mut h = restarting();
    assert_eq!(
        h.handle(up_with(vec![])),
        vec![StopTimer(GrTimer::Restart), PurgeStale(BOTH.to_vec())]
    );
    assert_eq!(h.phase(), GrPhase::Idle);
    // The next down finds a peer without GR.
    assert_eq!(h.handle(lost()), vec![PurgeAll]);
}

#[test]
fn reconnect_with_a_family_missing_from_the_capability_purges_that_family() {
    let mut h = restarting();
    assert_eq!(
        h.handle(up(gr(90, &[(V6, true)]))),
        vec![
            StopTimer(GrTimer::Restart),
            PurgeStale(vec![V4]),
            StartTimer(GrTimer::Stale, STALE_ROUTES_TIME)
        ]
    );
    assert_eq!(h.stale_families(), &[V6]);
}

#[test]
fn end_of_rib_purges_stale_routes_family_by_family() {
    let mut h = restarting();
    h.handle(up(gr_both(90)));
    assert_eq!(h.handle(eor(V4)), vec![PurgeStale(vec![V4])]);
    assert_eq!(h.stale_families(), &[V6]);
    assert_eq!(
        h.handle(eor(V6)),
        vec![PurgeStale(vec![V6]), StopTimer(GrTimer::Stale)]
    );
    assert_eq!(h.phase(), GrPhase::Idle);
}

#[test]
fn end_of_rib_before_any_route_just_purges_that_family() {
    // The peer has nothing to send for IPv6 and says so at once: every IPv6 route goes.
    let mut h = restarting();
    h.handle(up(gr_both(90)));
    assert_eq!(h.handle(eor(V6)), vec![PurgeStale(vec![V6])]);
    assert_eq!(h.stale_families(), &[V4]);
}

#[test]
fn end_of_rib_with_nothing_stale_does_nothing() {
    let mut h = GrHelper::new(policy());
    h.handle(up(gr_both(90)));
    assert_eq!(h.handle(eor(V4)), vec![]);
    // Nor twice for the same family.
    let mut h = restarting();
    h.handle(up(gr_both(90)));
    h.handle(eor(V4));
    assert_eq!(h.handle(eor(V4)), vec![]);
}

#[test]
fn stale_routes_wait_for_end_of_rib_at_most_the_stale_time() {
    assert_eq!(STALE_ROUTES_TIME, s(360));
    let mut h = restarting();
    assert_eq!(
        h.handle(up(gr_both(90))).last(),
        Some(&StartTimer(GrTimer::Stale, s(360)))
    );
    h.handle(eor(V4));
    assert_eq!(h.handle(expire(GrTimer::Stale)), vec![PurgeStale(vec![V6])]);
    assert_eq!(h.phase(), GrPhase::Idle);
}

#[test]
fn reconnect_in_the_long_lived_phase_checks_the_long_lived_capability() {
    // RFC 9494 §4.2: F bit clear in the new LLGR capability for IPv6 (even though the GR
    // capability has it set): purged. IPv4's timer keeps running until its End-of-RIB.
    let mut h = long_lived();
    assert_eq!(
        h.handle(up_with(vec![
            Capability::GracefulRestart(gr_both(90)),
            llgr(&[(V4, true, 7200), (V6, false, 7200)]),
        ])),
        vec![
            PurgeStale(vec![V6]),
            StartTimer(GrTimer::Stale, STALE_ROUTES_TIME)
        ]
    );
    assert_eq!(
        h.phase(),
        GrPhase::AwaitingEndOfRib {
            families: vec![V4],
            long_lived: vec![V4]
        }
    );
    assert_eq!(
        h.handle(eor(V4)),
        vec![
            PurgeStale(vec![V4]),
            StopTimer(GrTimer::LongLivedStale),
            StopTimer(GrTimer::Stale)
        ]
    );
}

#[test]
fn reconnect_in_the_long_lived_phase_without_llgr_capability_purges_everything_stale() {
    let mut h = long_lived();
    assert_eq!(
        h.handle(up(gr_both(90))),
        vec![
            PurgeStale(BOTH.to_vec()),
            StopTimer(GrTimer::LongLivedStale)
        ]
    );
    assert_eq!(h.phase(), GrPhase::Idle);
}

#[test]
fn long_lived_time_ending_before_end_of_rib_purges_and_a_reset_then_keeps_nothing_of_it() {
    // RFC 9494 §4.2: the timer runs through resynchronisation; once it expired, a reset before
    // End-of-RIB removes that family's remaining routes at once.
    let caps = || {
        vec![
            Capability::GracefulRestart(gr_both(90)),
            llgr(&[(V4, true, 600)]),
        ]
    };
    let mut h = GrHelper::new(llgr_policy(3600));
    h.handle(up_with(caps()));
    h.handle(lost());
    h.handle(expire(GrTimer::Restart)); // IPv6 purged, IPv4 long-lived
    h.handle(up_with(caps()));
    assert_eq!(
        h.handle(expire(GrTimer::LongLivedStale)),
        vec![PurgeStale(vec![V4]), StopTimer(GrTimer::Stale)]
    );
    assert_eq!(
        h.handle(lost()),
        vec![MarkStale(vec![V6]), StartTimer(GrTimer::Restart, s(90))]
    );
    // Once synchronised (End-of-RIB), the family is kept again at the next reset.
    let mut h = GrHelper::new(llgr_policy(3600));
    h.handle(up_with(caps()));
    h.handle(lost());
    h.handle(expire(GrTimer::Restart));
    h.handle(up_with(caps()));
    h.handle(expire(GrTimer::LongLivedStale));
    assert_eq!(h.handle(eor(V4)), vec![]);
    assert_eq!(h.handle(lost())[0], MarkStale(BOTH.to_vec()));
}

// ---------------------------------------------------------------------------------------------
// The peer restarts again before it is done

#[test]
fn peer_restarting_twice_deletes_routes_still_stale_from_the_first_restart() {
    // RFC 4724 §4.2: "To deal with possible consecutive restarts, a route (from the peer)
    // previously marked as stale MUST be deleted." IPv6 never got its End-of-RIB: what is still
    // stale from the first restart goes, and the routes of the second session are marked.
    let mut h = restarting();
    h.handle(up(gr_both(90)));
    h.handle(eor(V4));
    assert_eq!(
        h.handle(lost()),
        vec![
            StopTimer(GrTimer::Stale),
            PurgeStale(vec![V6]),
            MarkStale(BOTH.to_vec()),
            StartTimer(GrTimer::Restart, s(90))
        ]
    );
    assert_eq!(h.phase().name(), "PeerRestarting");
}

#[test]
fn peer_restarting_twice_keeps_long_lived_stale_routes_and_their_timer() {
    // RFC 9494 §4.2: in the long-lived phase, consecutive restarts delete nothing before the
    // long-lived stale time expires, and its timer "MUST NOT be updated".
    let caps = || {
        vec![
            Capability::GracefulRestart(gr_both(90)),
            llgr(&[(V4, true, 7200), (V6, true, 7200)]),
        ]
    };
    let mut h = long_lived();
    h.handle(up_with(caps()));
    assert_eq!(
        h.handle(lost()),
        vec![
            StopTimer(GrTimer::Stale),
            MarkStale(BOTH.to_vec()),
            StartTimer(GrTimer::Restart, s(90))
        ]
    );
    // The new stale routes join the long-lived phase; the running timer is left alone.
    assert_eq!(
        h.handle(expire(GrTimer::Restart)),
        vec![LongLivedStale(BOTH.to_vec())]
    );
    assert_eq!(
        h.handle(expire(GrTimer::LongLivedStale)),
        vec![PurgeStale(BOTH.to_vec())]
    );
}

// ---------------------------------------------------------------------------------------------
// Timer races: an expiry the driver had already queued when the helper stopped the timer

#[test]
fn restart_timer_firing_after_the_peer_came_back_does_nothing() {
    let mut h = restarting();
    h.handle(up(gr_both(90)));
    assert_eq!(h.handle(expire(GrTimer::Restart)), vec![]);
    assert_eq!(h.stale_families(), &BOTH);
}

#[test]
fn end_of_rib_and_restart_expiry_in_either_order_purge_once() {
    // End-of-RIB first; the late restart expiry finds nothing.
    let mut h = restarting();
    h.handle(up(gr_both(90)));
    assert_eq!(h.handle(eor(V4)), vec![PurgeStale(vec![V4])]);
    assert_eq!(h.handle(expire(GrTimer::Restart)), vec![]);
    assert_eq!(
        h.handle(eor(V6)),
        vec![PurgeStale(vec![V6]), StopTimer(GrTimer::Stale)]
    );
    // Restart expiry first; the End-of-RIB of the new session finds nothing.
    let mut h = restarting();
    assert_eq!(
        h.handle(expire(GrTimer::Restart)),
        vec![PurgeStale(BOTH.to_vec())]
    );
    assert_eq!(h.handle(up(gr_both(90))), vec![]);
    assert_eq!(h.handle(eor(V4)), vec![]);
    assert_eq!(h.phase(), GrPhase::Idle);
}

#[test]
fn stale_timer_firing_after_everything_was_cleared_does_nothing() {
    let mut h = restarting();
    h.handle(up(gr_both(90)));
    h.handle(eor(V4));
    h.handle(eor(V6));
    assert_eq!(h.handle(expire(GrTimer::Stale)), vec![]);
    // Nor after it fired once already.
    let mut h = restarting();
    h.handle(up(gr_both(90)));
    h.handle(expire(GrTimer::Stale));
    assert_eq!(h.handle(expire(GrTimer::Stale)), vec![]);
}

#[test]
fn long_lived_timer_firing_after_end_of_rib_does_nothing() {
    let caps = || {
        vec![
            Capability::GracefulRestart(gr_both(90)),
            llgr(&[(V4, true, 7200), (V6, true, 7200)]),
        ]
    };
    let mut h = long_lived();
    h.handle(up_with(caps()));
    h.handle(eor(V4));
    h.handle(eor(V6));
    assert_eq!(h.handle(expire(GrTimer::LongLivedStale)), vec![]);
    assert_eq!(h.phase(), GrPhase::Idle);
}

#[test]
fn every_timer_of_an_idle_helper_does_nothing() {
    let mut h = GrHelper::new(llgr_policy(3600));
    h.handle(up(gr_both(90)));
    for timer in [GrTimer::Restart, GrTimer::LongLivedStale, GrTimer::Stale] {
        assert_eq!(h.handle(expire(timer)), vec![]);
    }
    assert_eq!(h.phase(), GrPhase::Idle);
}

#[test]
fn phase_names_follow_a_whole_restart() {
    let mut h = GrHelper::new(policy());
    assert_eq!(h.phase().name(), "Idle");
    h.handle(up(gr_both(90)));
    h.handle(lost());
    assert_eq!(h.phase().name(), "PeerRestarting");
    h.handle(up(gr_both(90)));
    assert_eq!(h.phase().name(), "AwaitingEndOfRib");
    h.handle(eor(V4));
    h.handle(eor(V6));
    assert_eq!(h.phase().name(), "Idle");
}

// ---------------------------------------------------------------------------------------------
// Against tokio's paused clock: the durations are right

/// Runs a helper on tokio's clock: each StartTimer becomes a `tokio::time::sleep`, each
/// StopTimer drops it, and [`Clocked::advance`] moves the paused clock with
/// `tokio::time::advance`, firing the sleeps that come due, in deadline order.
struct Clocked {
    helper: GrHelper,
    start: Instant,
    timers: HashMap<GrTimer, Pin<Box<Sleep>>>,
    /// Every output that is not about timers, with when it was emitted (since `start`).
    log: Vec<(Duration, GrOutput)>,
}

impl Clocked {
    fn new(policy: GrPolicy) -> Clocked {
        Clocked {
            helper: GrHelper::new(policy),
            start: Instant::now(),
            timers: HashMap::new(),
            log: Vec::new(),
        }
    }

    fn feed(&mut self, input: GrInput) {
        let at = Instant::now() - self.start;
        for output in self.helper.handle(input) {
            match output {
                StartTimer(timer, d) => {
                    self.timers.insert(timer, Box::pin(tokio::time::sleep(d)));
                }
                StopTimer(timer) => {
                    self.timers.remove(&timer);
                }
                other => self.log.push((at, other)),
            }
        }
    }

    async fn advance(&mut self, by: Duration) {
        let target = Instant::now() + by;
        // Each round fires one sleep, and a firing arms at most one more: bounded.
        for _ in 0..16 {
            let due = self
                .timers
                .iter()
                .map(|(timer, sleep)| (*timer, sleep.deadline()))
                .filter(|(_, at)| *at <= target)
                .min_by_key(|(_, at)| *at);
            let Some((timer, at)) = due else {
                break;
            };
            tokio::time::advance(at.saturating_duration_since(Instant::now())).await;
            let sleep = self.timers.remove(&timer).expect("armed");
            // Due now: completes without moving the clock.
            sleep.await;
            self.feed(GrInput::TimerExpired(timer));
        }
        tokio::time::advance(target.saturating_duration_since(Instant::now())).await;
    }

    /// When (since start) the stale routes of `family` were purged, if they were.
    fn purged(&self, family: Family) -> Option<Duration> {
        self.log.iter().find_map(|(at, o)| match o {
            PurgeStale(f) if f.contains(&family) => Some(*at),
            _ => None,
        })
    }
}

#[tokio::test(start_paused = true)]
async fn paused_clock_restart_time_of_thirty_seconds_purges_at_thirty_not_before() {
    let mut c = Clocked::new(policy());
    c.feed(up(gr_both(30)));
    c.feed(lost());
    c.advance(s(29)).await;
    assert_eq!(c.purged(V4), None, "still within the restart time at 29 s");
    assert_eq!(c.helper.phase().name(), "PeerRestarting");
    c.advance(s(1)).await;
    assert_eq!(c.purged(V4), Some(s(30)));
    assert_eq!(c.purged(V6), Some(s(30)));
    assert_eq!(c.helper.phase(), GrPhase::Idle);
}

#[tokio::test(start_paused = true)]
async fn paused_clock_long_lived_stale_time_runs_after_the_restart_time() {
    let mut c = Clocked::new(llgr_policy(300));
    c.feed(up_with(vec![
        Capability::GracefulRestart(gr_both(30)),
        llgr(&[(V4, true, 600), (V6, true, 600)]),
    ]));
    c.feed(lost());
    c.advance(s(30)).await;
    assert_eq!(c.log.last(), Some(&(s(30), LongLivedStale(BOTH.to_vec()))));
    // Our 300 s, not the peer's 600 s, counted from the end of the restart time.
    c.advance(s(299)).await;
    assert_eq!(c.purged(V4), None, "still long-lived stale at 329 s");
    c.advance(s(1)).await;
    assert_eq!(c.purged(V4), Some(s(330)));
}

#[tokio::test(start_paused = true)]
async fn paused_clock_long_lived_deadlines_per_family() {
    // IPv6 is not in the GR capability: long-lived from the down, 100 s. IPv4: 30 s restart
    // time, then 100 s.
    let mut c = Clocked::new(llgr_policy(3600));
    c.feed(up_with(vec![
        Capability::GracefulRestart(gr(30, &[(V4, true)])),
        llgr(&[(V4, true, 100), (V6, true, 100)]),
    ]));
    c.feed(lost());
    c.advance(s(200)).await;
    assert_eq!(c.purged(V6), Some(s(100)));
    assert_eq!(c.purged(V4), Some(s(130)));
}

#[tokio::test(start_paused = true)]
async fn paused_clock_stale_routes_wait_six_minutes_for_end_of_rib() {
    let mut c = Clocked::new(policy());
    c.feed(up(gr_both(30)));
    c.feed(lost());
    c.advance(s(10)).await;
    c.feed(up(gr_both(30)));
    c.feed(eor(V4));
    c.advance(s(359)).await;
    assert_eq!(c.purged(V4), Some(s(10)));
    assert_eq!(c.purged(V6), None, "still waiting for End-of-RIB");
    c.advance(s(1)).await;
    assert_eq!(c.purged(V6), Some(s(370)));
    // The stopped restart timer never fired.
    assert!(c.timers.is_empty());
}
