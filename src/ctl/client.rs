//! The blocking client `batonctl` uses.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::{Reply, Request};

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
}

/// Send one request and wait (at most `timeout`) for the reply.
pub fn request(
    socket: &Path,
    req: &Request,
    timeout: Duration,
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
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    match serde_json::from_str(&reply)? {
        Reply::Error { error } => Err(ClientError::Refused(error)),
        Reply::Ok(v) => Ok(v),
    }
}
