//! The blocking client `batonctl` uses.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::{Line, Reply, Request, UpgradeEvent};

/// Why a control request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be reached.
    #[error("cannot connect to {path}: {source} (is batond running?)")]
    Connect {
        /// The socket path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The exchange failed half way.
    #[error("control socket: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon's answer was not understood.
    #[error("control socket: bad reply: {0}")]
    Decode(#[from] serde_json::Error),
    /// The daemon refused the request.
    #[error("{0}")]
    Refused(String),
    /// The daemon closed the connection without a reply.
    #[error("control socket: closed before the reply (batond stopped?)")]
    NoReply,
}

/// Send one request and wait (at most `timeout`) for the reply.
pub fn request(
    socket: &Path,
    req: &Request,
    timeout: Duration,
) -> Result<serde_json::Value, ClientError> {
    request_with_events(socket, req, timeout, |_| {})
}

/// Send one request and wait (at most `timeout` between two lines) for the reply, handing
/// each event line that comes first (an upgrade's steps) to `on_event`: parsed, or as it came
/// when this build does not know it.
pub fn request_with_events(
    socket: &Path,
    req: &Request,
    timeout: Duration,
    mut on_event: impl FnMut(Result<UpgradeEvent, serde_json::Value>),
) -> Result<serde_json::Value, ClientError> {
    let mut stream = UnixStream::connect(socket).map_err(|source| ClientError::Connect {
        path: socket.display().to_string(),
        source,
    })?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut line = serde_json::to_vec(req)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut lines = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Err(ClientError::NoReply);
        }
        match Line::parse(&line)? {
            Line::Event(event) => on_event(Ok(event)),
            Line::Unknown(value) => on_event(Err(value)),
            Line::Reply(Reply::Error { error }) => return Err(ClientError::Refused(error)),
            Line::Reply(Reply::Ok(v)) => return Ok(v),
        }
    }
}
