//! A speaker's standard error, relayed line by line to the supervisor's own (the journal sees
//! the speaker's logs as before), with the last lines kept: when a speaker exits early, what it
//! said last is usually why, and the operator reads it in `batonctl upgrade`'s output instead
//! of digging in the journal.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::task::JoinHandle;

/// Lines kept.
const KEPT_LINES: usize = 3;
/// Characters kept of each line.
const KEPT_CHARS: usize = 300;
/// How long [`LastWords::finish`] waits for the end of the stream after the process exited (a
/// grandchild may hold it open).
const DRAIN_BOUND: Duration = Duration::from_millis(500);

/// The relay of one process's standard error.
#[derive(Debug)]
pub struct LastWords {
    kept: Arc<Mutex<VecDeque<String>>>,
    relay: JoinHandle<()>,
}

impl LastWords {
    /// Starts relaying `stderr` (needs a tokio runtime).
    pub fn relay(stderr: impl AsyncRead + Unpin + Send + 'static) -> LastWords {
        let kept = Arc::new(Mutex::new(VecDeque::new()));
        let relay = tokio::spawn(relay(stderr, kept.clone()));
        LastWords { kept, relay }
    }

    /// Once the process has exited: waits (briefly) for the rest of its output, then returns
    /// its last lines, `a | b | c`, or "" if it said nothing.
    pub async fn finish(&mut self) -> String {
        let _ = tokio::time::timeout(DRAIN_BOUND, &mut self.relay).await;
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter().cloned().collect::<Vec<_>>().join(" | ")
    }
}

impl Drop for LastWords {
    fn drop(&mut self) {
        self.relay.abort();
    }
}

async fn relay(stderr: impl AsyncRead + Unpin, kept: Arc<Mutex<VecDeque<String>>>) {
    let mut reader = BufReader::new(stderr);
    let mut ours = tokio::io::stderr();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let _ = ours.write_all(&line).await;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() == KEPT_LINES {
            kept.pop_front();
        }
        kept.push_back(text.chars().take(KEPT_CHARS).collect());
    }
}

#[cfg(test)]
mod tests {
    use std::process::Stdio;

    use super::*;

    #[tokio::test]
    async fn the_last_lines_are_kept_trimmed_and_joined() {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg("for i in 1 2 3 4; do echo \"line $i  \" >&2; done; echo >&2; exit 3")
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh");
        let mut words = LastWords::relay(child.stderr.take().unwrap());
        let status = child.wait().await.unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!(words.finish().await, "line 2 | line 3 | line 4");
    }
}
