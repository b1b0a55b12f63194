//! The control socket, owned by the supervisor: `status` and `upgrade` are answered here,
//! everything else is forwarded to the running speaker.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

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
    let reply = match serde_json::from_str::<Request>(&line) {
        Err(e) => serde_json::to_value(Reply::Error {
            error: format!("bad request: {e}"),
        }),
        Ok(req) => serde_json::to_value(execute(req, sup).await),
    }
    .unwrap_or_default();
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    wr.write_all(&out).await?;
    wr.shutdown().await
}

async fn execute(req: Request, sup: &Arc<Supervisor>) -> Reply {
    let to_value = |v: Result<serde_json::Value, serde_json::Error>| match v {
        Ok(v) => Reply::Ok(v),
        Err(e) => Reply::Error {
            error: e.to_string(),
        },
    };
    match req {
        Request::Status => {
            let mut status = sup.status();
            if let Some(active) = sup.active() {
                let body = serde_json::to_value(Request::SpeakerInfo).unwrap_or_default();
                if let Ok(v) = active.request(body, Duration::from_secs(5)).await {
                    if let Ok(info) = serde_json::from_value::<SpeakerInfoView>(v) {
                        status.state_problems = info.state_problems;
                        status.state_not_writable = info.state_not_writable;
                    }
                }
            }
            to_value(serde_json::to_value(status))
        }
        Request::Reload { dry_run } => match sup.reload(dry_run).await {
            Ok(view) => to_value(serde_json::to_value(view)),
            Err(error) => Reply::Error { error },
        },
        Request::Upgrade {
            binary,
            timeout_secs,
        } => match sup.upgrade(binary, Duration::from_secs(timeout_secs)).await {
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
            let body = match serde_json::to_value(&other) {
                Ok(b) => b,
                Err(e) => {
                    return Reply::Error {
                        error: e.to_string(),
                    }
                }
            };
            match active.request(body, FORWARD_TIMEOUT).await {
                Ok(v) => serde_json::from_value(v).unwrap_or_else(|e| Reply::Error {
                    error: format!("bad answer from the speaker: {e}"),
                }),
                Err(error) => Reply::Error { error },
            }
        }
    }
}
