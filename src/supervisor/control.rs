//! The control socket, owned by the supervisor: `status` and `upgrade` are answered here,
//! everything else is forwarded to the running speaker. An `upgrade` asking for its events
//! gets one line per step while it runs, then the reply.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::Supervisor;
use crate::ctl::{Reply, Request, SpeakerInfoView};

const FORWARD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a request waits for a speaker that is (re)starting.
const SPEAKER_WAIT: Duration = Duration::from_secs(15);

/// The running speaker, waiting a little if one is starting (right after batond started, or
/// after a crash).
async fn wait_for_speaker(sup: &Arc<Supervisor>) -> Option<Arc<super::Generation>> {
    let end = tokio::time::Instant::now() + SPEAKER_WAIT;
    loop {
        if let Some(a) = sup.active() {
            return Some(a);
        }
        if tokio::time::Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Answer requests until the process ends.
pub async fn serve(listener: UnixListener, sup: Arc<Supervisor>) {
    while let Ok((stream, _)) = listener.accept().await {
        let sup = sup.clone();
        tokio::spawn(async move {
            let _ = answer(stream, &sup).await;
        });
    }
}

async fn answer(stream: UnixStream, sup: &Arc<Supervisor>) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut line = String::new();
    BufReader::new(rd).read_line(&mut line).await?;
    let request = serde_json::from_str::<Request>(&line);
    if let Ok(Request::Upgrade {
        binary: None,
        timeout_secs,
        ..
    }) = &request
    {
        sup.reexec_if_new(wr.as_ref().as_raw_fd(), *timeout_secs)
            .await;
    }
    let reply = match request {
        Err(e) => Reply::Error {
            error: format!("bad request: {e}"),
        },
        Ok(Request::Upgrade {
            binary,
            timeout_secs,
            events: true,
        }) => {
            let timeout = Duration::from_secs(timeout_secs);
            let (tx, rx) = mpsc::unbounded_channel();
            let sup = sup.clone();
            let upgrade = tokio::spawn(async move { sup.upgrade(binary, timeout, Some(tx)).await });
            write_lines(&mut wr, rx).await;
            match upgrade.await {
                Ok(Ok(view)) => to_value(serde_json::to_value(view)),
                Ok(Err(error)) => Reply::Error { error },
                Err(e) => Reply::Error {
                    error: format!("the upgrade failed: {e}"),
                },
            }
        }
        Ok(req) => execute(req, sup, wr.as_ref().as_raw_fd()).await,
    };
    write_line(&mut wr, &reply).await?;
    wr.shutdown().await
}

/// After a re-exec: answer the command that a client asked the previous image for, on its
/// connection (inherited as `fd`).
pub async fn answer_on(fd: OwnedFd, reply: Reply) {
    let stream = std::os::unix::net::UnixStream::from(fd);
    let Ok(stream) = stream
        .set_nonblocking(true)
        .and_then(|()| UnixStream::from_std(stream))
    else {
        return;
    };
    let (_, mut wr) = stream.into_split();
    if write_line(&mut wr, &reply).await.is_ok() {
        let _ = wr.shutdown().await;
    }
}

/// Write each event as a line until the sender is gone; a client that went away stops the
/// writing, not what the events report.
async fn write_lines<T: serde::Serialize>(
    wr: &mut OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<T>,
) {
    let mut listening = true;
    while let Some(event) = rx.recv().await {
        if listening {
            listening = write_line(wr, &event).await.is_ok();
        }
    }
}

async fn write_line<T: serde::Serialize>(
    wr: &mut OwnedWriteHalf,
    value: &T,
) -> std::io::Result<()> {
    let mut out = serde_json::to_vec(value).unwrap_or_default();
    out.push(b'\n');
    wr.write_all(&out).await
}

fn to_value(v: Result<serde_json::Value, serde_json::Error>) -> Reply {
    match v {
        Ok(v) => Reply::Ok(v),
        Err(e) => Reply::Error {
            error: e.to_string(),
        },
    }
}

/// `reply_fd`: the connection, which a reload passes on if the supervisor re-executes itself.
async fn execute(req: Request, sup: &Arc<Supervisor>, reply_fd: RawFd) -> Reply {
    match req {
        Request::Status => {
            let mut status = sup.status();
            if let Some(active) = sup.active() {
                let asked = active.request(Request::SpeakerInfo, Duration::from_secs(5));
                if let Ok(Reply::Ok(v)) = asked.await {
                    if let Ok(info) = serde_json::from_value::<SpeakerInfoView>(v) {
                        status.state_problems = info.state_problems;
                        status.state_not_writable = info.state_not_writable;
                    }
                }
            }
            to_value(serde_json::to_value(status))
        }
        Request::Reload { dry_run } => match sup.reload(dry_run, Some(reply_fd)).await {
            Ok(view) => to_value(serde_json::to_value(view)),
            Err(error) => Reply::Error { error },
        },
        Request::Upgrade {
            binary,
            timeout_secs,
            events: _,
        } => match sup
            .upgrade(binary, Duration::from_secs(timeout_secs), None)
            .await
        {
            Ok(view) => to_value(serde_json::to_value(view)),
            Err(error) => Reply::Error { error },
        },
        other => {
            let Some(active) = wait_for_speaker(sup).await else {
                return Reply::Error {
                    error: format!(
                        "no speaker has been running for {} s (crash loop? see batonctl status)",
                        SPEAKER_WAIT.as_secs()
                    ),
                };
            };
            active
                .request(other, FORWARD_TIMEOUT)
                .await
                .unwrap_or_else(|error| Reply::Error { error })
        }
    }
}
