//! When to start the speaker again after it died.
//!
//! The first crash is answered at once: peers are holding our routes as stale and every second
//! counts against their restart timer. Crashes in quick succession are a crash loop: each next
//! start waits twice as long (up to a ceiling), so a speaker that dies on start does not spin.
//! A speaker that stayed up long enough resets the count.
//!
//! The ceiling follows from the peers' patience: see [`ceiling`].

use std::time::{Duration, Instant};

/// A speaker that ran this long without dying is considered healthy again.
pub const STABLE_AFTER: Duration = Duration::from_secs(60);
/// First delay once crashes repeat.
pub const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The longest delay between starts, whatever the peers' restart times.
///
/// A delay is dead time against every peer's restart timer: a peer keeps our routes for the
/// Restart Time we advertise (RFC 4724 §4.2) and flushes them if we are not back by then. The
/// restart times seen in the field are 120 s (gobgpd's and bird2's default) down to the 30 to
/// 60 s operators set, so the old 30 s ceiling could by itself outlast a peer's patience. At
/// 5 s the delay stays a small part of even a 30 s restart time, and a speaker that dies on
/// start is still started only every 5 s: a fork, an exec and a state load, which cost little.
pub const MAX_DELAY: Duration = Duration::from_secs(5);
/// The ceiling is never below this, however short a restart time: a speaker that keeps dying
/// is not started more than twice a second.
pub const MIN_CEILING: Duration = FIRST_DELAY;

/// The longest delay between starts when the shortest Restart Time we advertise to any peer
/// is `shortest_restart_time` seconds (`None`: no peer does graceful restart).
///
/// A quarter of it, at most [`MAX_DELAY`] (and at least [`MIN_CEILING`]): the delay and the
/// start after it must both fit in the restart time, and the start (spawn, state load, TCP,
/// OPEN, the table, End-of-RIB) needs most of it on a loaded machine with a large table, so
/// the delay gets at most a quarter and the start keeps three quarters.
pub fn ceiling(shortest_restart_time: Option<u16>) -> Duration {
    match shortest_restart_time {
        Some(secs) => (Duration::from_secs(secs.into()) / 4).clamp(MIN_CEILING, MAX_DELAY),
        None => MAX_DELAY,
    }
}

/// Crash bookkeeping for the speaker.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    /// Crashes since the daemon started.
    pub total_crashes: u64,
    /// Crashes in a row without a stable run between them.
    pub consecutive: u32,
}

impl Backoff {
    /// The speaker started at `started` died at `now`: how long to wait before the next start,
    /// with delays up to `ceiling`.
    pub fn crashed(&mut self, started: Instant, now: Instant, ceiling: Duration) -> Duration {
        self.total_crashes += 1;
        self.consecutive = Self::in_a_row(self.consecutive, started, now);
        Self::delay(self.consecutive, ceiling)
    }

    /// The delay [`crashed`](Self::crashed) would give if the speaker started at `started`
    /// died at `now`, without counting it (for status).
    pub fn delay_if_crashed(&self, started: Instant, now: Instant, ceiling: Duration) -> Duration {
        Self::delay(Self::in_a_row(self.consecutive, started, now), ceiling)
    }

    /// True while crashes repeat (for status and sd_notify).
    pub fn looping(&self) -> bool {
        self.consecutive > 1
    }

    /// The count of crashes in a row once a speaker started at `started` dies at `now`.
    fn in_a_row(before: u32, started: Instant, now: Instant) -> u32 {
        if now.saturating_duration_since(started) >= STABLE_AFTER {
            1
        } else {
            before.saturating_add(1)
        }
    }

    /// The delay after the `n`-th crash in a row: at once, then doubling from [`FIRST_DELAY`].
    fn delay(n: u32, ceiling: Duration) -> Duration {
        match n {
            0 | 1 => Duration::ZERO,
            n => FIRST_DELAY
                .saturating_mul(2u32.saturating_pow(n - 2))
                .min(ceiling),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn schedule(ceiling: Duration, crashes: usize) -> Vec<Duration> {
        let mut b = Backoff::default();
        let t = Instant::now();
        (0..crashes).map(|_| b.crashed(t, t, ceiling)).collect()
    }

    #[test]
    fn first_crash_restarts_at_once_then_delays_double_up_to_the_ceiling() {
        assert_eq!(
            schedule(MAX_DELAY, 8),
            [0, 500, 1000, 2000, 4000, 5000, 5000, 5000].map(ms)
        );
        // Many crashes later: still the ceiling, no overflow.
        assert_eq!(*schedule(MAX_DELAY, 100).last().unwrap(), MAX_DELAY);
        let mut b = Backoff::default();
        let t = Instant::now();
        (0..9).for_each(|_| {
            b.crashed(t, t, MAX_DELAY);
        });
        assert!(b.looping());
        assert_eq!((b.total_crashes, b.consecutive), (9, 9));
    }

    #[test]
    fn the_ceiling_is_a_quarter_of_the_shortest_restart_time_at_most_five_seconds() {
        assert_eq!(ceiling(None), MAX_DELAY);
        assert_eq!(ceiling(Some(120)), MAX_DELAY);
        assert_eq!(ceiling(Some(20)), MAX_DELAY);
        assert_eq!(ceiling(Some(8)), ms(2000));
        assert_eq!(ceiling(Some(6)), ms(1500));
        assert_eq!(ceiling(Some(1)), MIN_CEILING);
        assert_eq!(ceiling(Some(0)), MIN_CEILING);
        // Peers that wait 8 s: the loop never waits more than 2 s.
        assert_eq!(
            schedule(ceiling(Some(8)), 6),
            [0, 500, 1000, 2000, 2000, 2000].map(ms)
        );
        // Every delay leaves three quarters of the restart time for the start.
        for secs in [1u16, 2, 5, 10, 30, 60, 120, 4095] {
            let worst = *schedule(ceiling(Some(secs)), 50).last().unwrap();
            assert!(
                worst <= MAX_DELAY
                    && worst <= (Duration::from_secs(secs.into()) / 4).max(MIN_CEILING),
                "restart time {secs} s: delay {worst:?}"
            );
        }
    }

    #[test]
    fn a_stable_run_resets_the_loop() {
        let mut b = Backoff::default();
        let t = Instant::now();
        b.crashed(t, t, MAX_DELAY);
        b.crashed(t, t, MAX_DELAY);
        assert_eq!(b.delay_if_crashed(t, t, MAX_DELAY), ms(1000));
        assert_eq!(b.delay_if_crashed(t, t + STABLE_AFTER, MAX_DELAY), ms(0));
        assert_eq!(b.crashed(t, t + STABLE_AFTER, MAX_DELAY), Duration::ZERO);
        assert!(!b.looping());
        assert_eq!(b.total_crashes, 3);
    }
}
