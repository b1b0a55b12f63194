//! When to start the speaker again after it died.
//!
//! The first crash is answered at once: peers are holding our routes as stale and every second
//! counts against their restart timer. Crashes in quick succession are a crash loop: each next
//! start waits twice as long (up to a ceiling), so a speaker that dies on start does not spin.
//! A speaker that stayed up long enough resets the count.

use std::time::{Duration, Instant};

/// A speaker that ran this long without dying is considered healthy again.
pub const STABLE_AFTER: Duration = Duration::from_secs(60);
/// First delay once crashes repeat.
pub const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The longest delay between starts.
pub const MAX_DELAY: Duration = Duration::from_secs(30);

/// Crash bookkeeping for the speaker.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    /// Crashes since the daemon started.
    pub total_crashes: u64,
    /// Crashes in a row without a stable run between them.
    pub consecutive: u32,
}

impl Backoff {
    /// The speaker started at `started` died now: how long to wait before the next start.
    pub fn crashed(&mut self, started: Instant, now: Instant) -> Duration {
        self.total_crashes += 1;
        if now.saturating_duration_since(started) >= STABLE_AFTER {
            self.consecutive = 0;
        }
        self.consecutive += 1;
        match self.consecutive {
            1 => Duration::ZERO,
            n => (FIRST_DELAY * 2u32.saturating_pow(n - 2)).min(MAX_DELAY),
        }
    }

    /// True while crashes repeat (for status and sd_notify).
    pub fn looping(&self) -> bool {
        self.consecutive > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_crash_restarts_at_once_then_delays_double_up_to_the_ceiling() {
        let mut b = Backoff::default();
        let t = Instant::now();
        let delays: Vec<Duration> = (0..9).map(|_| b.crashed(t, t)).collect();
        assert_eq!(delays[0], Duration::ZERO);
        assert_eq!(delays[1], FIRST_DELAY);
        assert_eq!(delays[2], FIRST_DELAY * 2);
        assert_eq!(delays[8], MAX_DELAY);
        assert!(b.looping());
        assert_eq!(b.total_crashes, 9);
    }

    #[test]
    fn a_stable_run_resets_the_loop() {
        let mut b = Backoff::default();
        let t = Instant::now();
        b.crashed(t, t);
        b.crashed(t, t);
        assert_eq!(b.crashed(t, t + STABLE_AFTER), Duration::ZERO);
        assert!(!b.looping());
    }
}
