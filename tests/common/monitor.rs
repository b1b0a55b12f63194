//! Watching a peer's table continuously while something happens elsewhere: every sample that
//! finds a route missing is kept, so a test can assert "no withdrawal was ever seen".

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a monitor runs at most if nobody stops it.
const MAX_RUN: Duration = Duration::from_secs(300);

/// Samples a check until stopped; remembers every failed sample.
pub struct Monitor {
    stop: AtomicBool,
    gaps: Mutex<Vec<(Duration, String)>>,
    samples: Mutex<usize>,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor::new()
    }
}

impl Monitor {
    /// A monitor that has not run yet.
    pub fn new() -> Monitor {
        Monitor {
            stop: AtomicBool::new(false),
            gaps: Mutex::new(Vec::new()),
            samples: Mutex::new(0),
        }
    }

    /// Runs `check` every `period` until [`stop`](Self::stop) (or five minutes): `None` means
    /// all is well, `Some(what)` describes what was missing. Call it from a scoped thread.
    pub fn run(&self, period: Duration, mut check: impl FnMut() -> Option<String>) {
        let start = Instant::now();
        while !self.stop.load(Ordering::SeqCst) && start.elapsed() < MAX_RUN {
            let gap = check();
            *self.samples.lock().unwrap() += 1;
            if let Some(what) = gap {
                self.gaps.lock().unwrap().push((start.elapsed(), what));
            }
            std::thread::sleep(period);
        }
    }

    /// Ends [`run`](Self::run) after its current sample.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Stops the monitor when dropped: hold it in the scope that runs the monitor, so that a
    /// failing assertion there ends the monitor at once instead of after five minutes.
    pub fn stopper(&self) -> Stopper<'_> {
        Stopper(self)
    }

    /// Panics if the monitor saw a gap, or barely ran.
    pub fn assert_no_gap(&self, what: &str) {
        let samples = *self.samples.lock().unwrap();
        assert!(
            samples >= 5,
            "{what}: the monitor took only {samples} samples"
        );
        let gaps = self.gaps.lock().unwrap();
        assert!(
            gaps.is_empty(),
            "{what}: {} of {samples} samples saw routes missing, first: {:?}",
            gaps.len(),
            &gaps[..gaps.len().min(3)]
        );
    }
}

/// Stops a [`Monitor`] on drop (see [`Monitor::stopper`]).
pub struct Stopper<'a>(&'a Monitor);

impl Drop for Stopper<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}
