//! Waiting for something to become true, with a deadline: the only way tests wait.
//!
//! Tests never sleep to synchronise. They poll a condition with a short backoff (10 ms growing
//! to 200 ms: fast when things are quick, gentle on daemons whose queries are expensive — gobgpd
//! walks its whole table for a route count) and fail loudly, naming what they waited for and for
//! how long, when the deadline passes.

use std::thread;
use std::time::{Duration, Instant};

/// First pause between two polls.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// Longest pause between two polls.
const MAX_PAUSE: Duration = Duration::from_millis(200);

/// Polls `f` until it returns `Some`, and returns that value.
///
/// Panics with `what` and the elapsed time if `deadline` passes first. `f` is always called at
/// least once, and once more right at the deadline, so a condition that became true while we
/// slept is not reported as a timeout.
pub fn until<T>(deadline: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    match within(deadline, &mut f) {
        Some(v) => v,
        None => panic!(
            "timed out waiting for {what}: still not true after {:.2?} (deadline {deadline:?})",
            start.elapsed()
        ),
    }
}

/// Like [`until`] for a plain condition.
pub fn until_true(deadline: Duration, what: &str, mut f: impl FnMut() -> bool) {
    until(deadline, what, || f().then_some(()))
}

/// Polls `f` until it returns `Some` or `deadline` passes; `None` on timeout (no panic).
pub fn within<T>(deadline: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        let elapsed = start.elapsed();
        if elapsed >= deadline {
            return None;
        }
        thread::sleep(pause.min(deadline - elapsed));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Checks that `f` stays true for the whole of `period`, polling it as [`until`] does.
///
/// Panics with `what` and the time at which it first turned false. This is the one place a test
/// waits for a fixed time: to show that something (a withdrawal, a session reset) does *not*
/// happen.
pub fn always(period: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        if !f() {
            panic!("{what}: no longer true after {:?}", start.elapsed());
        }
        let elapsed = start.elapsed();
        if elapsed >= period {
            return;
        }
        thread::sleep(pause.min(period - elapsed));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}
