//! The socket of one API connection as hyper sees it: it stamps every read and write for the
//! idle and header timeouts ([`Activity`]), turns hyper's own bodiless error replies into the
//! API's JSON errors, and closes with a short linger so a reply to a client still sending is
//! not lost to a reset.
//!
//! hyper answers a request it cannot parse (a malformed request line, a head over the size
//! limit) before any handler runs, with a status line, `content-length: 0` and no body, and
//! offers no hook to change that. Those replies are recognised on their way out here: a
//! response head with status 400, 414 or 431 and `content-length: 0` is one of them, as every
//! error the API itself returns has a JSON body. It is replaced whole by the same status
//! with an [`ApiError`] body. hyper writes it from an empty buffer (the previous response is
//! flushed before the next head is read), so it always starts a write.
//!
//! A server that closes a socket with unread input makes the kernel send a reset, and a reset
//! can destroy the reply before the client reads it: exactly the case of a head too large or a
//! body refused with 413. So a shutdown sends FIN first and then reads and drops what the client
//! still sends, until it closes, for at most [`LINGER`] and [`LINGER_BYTES`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::super::error::{ApiError, ErrorCode};
use super::Limits;

/// The longest a closing connection reads what the client still sends.
pub(super) const LINGER: Duration = Duration::from_secs(1);
/// The most a closing connection reads and drops.
const LINGER_BYTES: usize = 64 << 20;

/// Why a connection is closed by its watchdog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiry {
    /// A request's line and headers did not arrive within the header timeout.
    Header,
    /// No request under way and nothing received within the idle timeout.
    Idle,
}

/// When a connection last did something, shared by its socket, its requests and its watchdog.
#[derive(Debug)]
pub(super) struct Activity(Mutex<ActivityState>);

#[derive(Debug)]
struct ActivityState {
    /// The last byte read or written, or the connection's start.
    last: Instant,
    /// When the first byte of a request head not yet complete arrived.
    head_since: Option<Instant>,
    /// Requests in the router now.
    busy: usize,
}

impl Activity {
    pub(super) fn new() -> Arc<Activity> {
        Arc::new(Activity(Mutex::new(ActivityState {
            last: Instant::now(),
            head_since: None,
            busy: 0,
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes arrived: outside a request, they begin a head (then `true`).
    fn read(&self) -> bool {
        let mut s = self.state();
        s.last = Instant::now();
        let begins = s.busy == 0 && s.head_since.is_none();
        if begins {
            s.head_since = s.last.into();
        }
        begins
    }

    fn wrote(&self) {
        self.state().last = Instant::now();
    }

    /// A request reached the router; it counts as busy until the guard drops.
    pub(super) fn request(self: &Arc<Self>) -> Busy {
        let mut s = self.state();
        s.busy += 1;
        s.head_since = None;
        Busy(self.clone())
    }

    /// When the connection expires if nothing happens, and why; `None` while a request runs.
    pub(super) fn deadline(&self, limits: &Limits) -> Option<(Instant, Expiry)> {
        let s = self.state();
        match (s.busy, s.head_since) {
            (0, Some(since)) => Some((since + limits.header_timeout, Expiry::Header)),
            (0, None) => Some((s.last + limits.idle_timeout, Expiry::Idle)),
            _ => None,
        }
    }
}

/// A request in the router (see [`Activity::request`]).
pub(super) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.busy -= 1;
        s.last = Instant::now();
    }
}

/// The socket of one API connection: a `TcpStream`, or a TLS stream over one.
pub(super) struct ConnIo<S> {
    stream: S,
    activity: Arc<Activity>,
    limits: Arc<Limits>,
    /// A JSON error being written in place of hyper's bodiless one: the bytes, how many are
    /// written, and the length of hyper's buffer it stands for.
    replacing: Option<(Vec<u8>, usize, usize)>,
    /// Once shut down: until when to read and drop what the client still sends.
    linger: Option<Pin<Box<Sleep>>>,
    drained: usize,
    /// The request line of the latest head: how long it is (so far).
    request_line: Line,
}

/// The request line of the latest head, measured as it arrives: a head too large because of
/// its target is answered 414 rather than 431.
#[derive(Debug, Clone, Copy)]
enum Line {
    Open(usize),
    Done(usize),
}

impl<S: AsyncRead + AsyncWrite + Unpin> ConnIo<S> {
    pub(super) fn new(stream: S, activity: Arc<Activity>, limits: Arc<Limits>) -> ConnIo<S> {
        ConnIo {
            stream,
            activity,
            limits,
            replacing: None,
            linger: None,
            drained: 0,
            request_line: Line::Done(0),
        }
    }

    /// Write the replacement reply; `Ready(Ok(n))` with the length it stands for once done.
    fn poll_replace(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, written, stands_for)) = self.replacing.as_mut() {
            if *written == bytes.len() {
                let n = *stands_for;
                self.replacing = None;
                return Poll::Ready(Ok(n));
            }
            match ready!(Pin::new(&mut self.stream).poll_write(cx, &bytes[*written..]))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                n => {
                    *written += n;
                    self.activity.wrote();
                }
            }
        }
        Poll::Ready(Ok(0))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for ConnIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.stream).poll_read(cx, buf))?;
        let new = &buf.filled()[before..];
        if !new.is_empty() {
            if self.activity.read() {
                self.request_line = Line::Open(0);
            }
            if let Line::Open(n) = self.request_line {
                self.request_line = match new.iter().position(|&b| b == b'\n') {
                    Some(end) => Line::Done(n + end),
                    None => Line::Open(n + new.len()),
                };
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ConnIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_none() {
            let (Line::Open(line) | Line::Done(line)) = this.request_line;
            if let Some(reply) = automatic_error(buf, line, &this.limits) {
                this.replacing = Some((reply, 0, buf.len()));
            }
        }
        if this.replacing.is_some() {
            return this.poll_replace(cx);
        }
        let n = ready!(Pin::new(&mut this.stream).poll_write(cx, buf))?;
        this.activity.wrote();
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    /// FIN, then read and drop until the client closes, [`LINGER`] passes or [`LINGER_BYTES`]
    /// are read.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.linger.is_none() {
            ready!(Pin::new(&mut this.stream).poll_shutdown(cx))?;
            this.linger = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
        let mut scratch = [0u8; 16 << 10];
        loop {
            if this.drained >= LINGER_BYTES {
                return Poll::Ready(Ok(()));
            }
            if let Some(linger) = this.linger.as_mut() {
                if linger.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Ok(()));
                }
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut this.stream).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => this.drained += buf.filled().len(),
                // The client closed, or reset: nothing more to wait for.
                _ => return Poll::Ready(Ok(())),
            }
        }
    }
}

/// hyper's bodiless reply to a request it could not parse, as the API's JSON error (414 for a
/// head too large because its request line of `line` bytes is); `None` for anything else.
fn automatic_error(buf: &[u8], line: usize, limits: &Limits) -> Option<Vec<u8>> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let mut status = StatusCode::from_bytes(rest.get(..3)?).ok()?;
    if status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE && line > limits.max_target {
        status = StatusCode::URI_TOO_LONG;
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = buf[..end + 2].to_ascii_lowercase();
    if !head.windows(21).any(|w| w == b"\r\ncontent-length: 0\r\n") {
        return None;
    }
    let error = match status {
        StatusCode::BAD_REQUEST => ApiError::new(
            status,
            "malformed HTTP request: the request line or a header is not valid HTTP/1.1",
        )
        .with_code(ErrorCode::MalformedRequest),
        StatusCode::URI_TOO_LONG => ApiError::new(
            status,
            format!(
                "the request line is longer than the limit of {} bytes for the target",
                limits.max_target
            ),
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ApiError::new(
            status,
            format!(
                "the request line and headers are larger than the limit of {} bytes, or more \
                 than {} headers",
                limits.max_head,
                super::MAX_HEADERS
            ),
        ),
        _ => return None,
    };
    Some(error.raw_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::new(&super::super::ServeOptions::default(), 1)
    }

    fn body_of(reply: &[u8]) -> serde_json::Value {
        let at = reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        serde_json::from_slice(&reply[at + 4..]).unwrap()
    }

    #[test]
    fn hypers_bodiless_errors_become_json() {
        let limits = limits();
        for (status, code) in [
            ("400 Bad Request", "malformed_request"),
            ("414 URI Too Long", "uri_too_long"),
            ("431 Request Header Fields Too Large", "headers_too_large"),
        ] {
            let head = format!(
                "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n"
            );
            let reply = automatic_error(head.as_bytes(), 20, &limits).expect(status);
            let text = String::from_utf8_lossy(&reply);
            assert!(
                text.starts_with(&format!("HTTP/1.1 {status}\r\n")),
                "{text}"
            );
            assert!(
                text.contains("content-type: application/json\r\n"),
                "{text}"
            );
            assert_eq!(body_of(&reply)["code"], code, "{text}");
        }
    }

    #[test]
    fn a_head_too_large_for_its_request_line_is_414() {
        let limits = limits();
        let head = "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        let reply = automatic_error(head.as_bytes(), 70_000, &limits).unwrap();
        assert!(reply.starts_with(b"HTTP/1.1 414 URI Too Long\r\n"));
        assert_eq!(body_of(&reply)["code"], "uri_too_long");
    }

    #[test]
    fn the_apis_own_replies_pass_untouched() {
        let limits = limits();
        for head in [
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 44\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            "{\"error\": \"HTTP/1.1 400 \"}",
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
        ] {
            assert_eq!(automatic_error(head.as_bytes(), 20, &limits), None, "{head}");
        }
    }
}
