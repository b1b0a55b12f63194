//! A `NOTIFY_SOCKET` the test owns, as systemd would: a unix datagram socket bound in the
//! test's directory, drained all the time by a thread (a full socket would make a blocking
//! sender wait), every datagram kept with the moment it arrived.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest a test may listen.
const LISTEN_BOUND: Duration = Duration::from_secs(600);

/// One datagram: its lines, and when it was read.
#[derive(Clone, Debug)]
pub struct Datagram {
    /// `KEY=value` lines, in the order sent.
    pub lines: Vec<String>,
    /// When the drain thread read it.
    pub at: Instant,
}

impl Datagram {
    /// The value of `KEY=` in this datagram.
    pub fn get(&self, key: &str) -> Option<&str> {
        let prefix = format!("{key}=");
        self.lines.iter().find_map(|l| l.strip_prefix(&prefix))
    }
}

/// The socket and its drain thread; stops the thread on drop.
pub struct NotifySocket {
    path: PathBuf,
    seen: Arc<Mutex<Vec<Datagram>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl NotifySocket {
    /// Binds `dir/notify.sock` and starts draining it.
    pub fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let (seen, stop) = (Arc::default(), Arc::new(AtomicBool::new(false)));
        let thread = {
            let (seen, stop): (Arc<Mutex<Vec<Datagram>>>, _) = (Arc::clone(&seen), stop.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let start = Instant::now();
                while !stop.load(Ordering::SeqCst) && start.elapsed() < LISTEN_BOUND {
                    if let Ok(n) = socket.recv(&mut buf) {
                        let text = String::from_utf8_lossy(&buf[..n]);
                        let lines = text.lines().map(String::from).collect();
                        let at = Instant::now();
                        seen.lock().unwrap().push(Datagram { lines, at });
                    }
                }
            })
        };
        NotifySocket {
            path,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// The path to pass as `NOTIFY_SOCKET`.
    pub fn path(&self) -> &str {
        self.path.to_str().expect("a UTF-8 path")
    }

    /// Every datagram so far.
    pub fn datagrams(&self) -> Vec<Datagram> {
        self.seen.lock().unwrap().clone()
    }

    /// Every `STATUS=` so far.
    pub fn statuses(&self) -> Vec<String> {
        let all = self.datagrams();
        all.iter()
            .filter_map(|d| d.get("STATUS").map(String::from))
            .collect()
    }

    /// Everything received, one line per datagram, for messages.
    pub fn dump(&self) -> String {
        let all = self.datagrams();
        let lines: Vec<String> = all.iter().map(|d| d.lines.join(" | ")).collect();
        lines.join("\n")
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
