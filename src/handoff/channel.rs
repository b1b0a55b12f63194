//! The handoff channel: typed messages with attached descriptors over one unix stream socket,
//! whole or split in a sending and a receiving half (the supervisor sends requests while it
//! waits for replies).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;

use tokio::net::UnixStream;

use super::fdpass::{recv_with_fds, send_with_fds, MAX_FDS_PER_FRAME};
use super::frame::{self, Decoder, Frame};
use super::{HandoffError, Msg};

/// Bytes read per `recvmsg`.
const READ_CHUNK: usize = 64 * 1024;

/// Both directions of the handoff channel.
#[derive(Debug)]
pub struct Channel {
    tx: SendHalf,
    rx: RecvHalf,
}

impl Channel {
    /// Wraps a connected unix stream socket (one end of a socket pair).
    pub fn new(stream: UnixStream) -> Self {
        let stream = Arc::new(stream);
        Channel {
            tx: SendHalf {
                stream: stream.clone(),
                pending: None,
            },
            rx: RecvHalf {
                stream,
                decoder: Decoder::new(),
                scratch: vec![0; READ_CHUNK].into_boxed_slice(),
                poisoned: false,
            },
        }
    }

    /// Sends `msg` with `fds` attached; see [`SendHalf::send`].
    pub async fn send(&mut self, msg: &Msg, fds: &[BorrowedFd<'_>]) -> Result<(), HandoffError> {
        self.tx.send(msg, fds).await
    }

    /// Receives the next message and its descriptors; see [`RecvHalf::recv`].
    pub async fn recv(&mut self) -> Result<(Msg, Vec<OwnedFd>), HandoffError> {
        self.rx.recv().await
    }

    /// Receives the next frame undecoded (the handshake reads the version before the rest).
    pub(crate) async fn recv_frame(&mut self) -> Result<Frame, HandoffError> {
        self.rx.recv_frame().await
    }

    /// The socket's descriptor (the supervisor passes it on when it re-executes itself).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&*self.tx.stream)
    }

    /// Splits into halves usable from two tasks at once.
    pub fn into_split(self) -> (SendHalf, RecvHalf) {
        (self.tx, self.rx)
    }
}

/// The sending half of a [`Channel`].
#[derive(Debug)]
pub struct SendHalf {
    stream: Arc<UnixStream>,
    /// The rest of a frame whose first bytes (and descriptors) went out before the sending
    /// future was dropped; finished before anything else is sent.
    pending: Option<(Vec<u8>, usize)>,
}

impl SendHalf {
    /// Sends `msg` with `fds` attached (in the same `sendmsg` as the frame's first byte).
    /// `fds` must number exactly [`Msg::fd_count`]: the listeners of a `Hello`, none otherwise.
    ///
    /// Cancel-safe in the sense that the stream never gets a torn frame: if the future is
    /// dropped after the first bytes went out, the rest is sent before the next message.
    pub async fn send(&mut self, msg: &Msg, fds: &[BorrowedFd<'_>]) -> Result<(), HandoffError> {
        if fds.len() != msg.fd_count() {
            return Err(HandoffError::WrongFdCount {
                kind: msg.kind(),
                expected: msg.fd_count(),
                received: fds.len(),
            });
        }
        let bytes = frame::encode(&msg.encode()?, fds.len())?;
        self.flush().await?;
        let sent = send_with_fds(&self.stream, &bytes, fds)
            .await
            .map_err(map_send_error)?;
        if sent == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero).into());
        }
        self.pending = Some((bytes, sent));
        self.flush().await
    }

    /// Finishes sending a frame left incomplete by a dropped [`send`](Self::send).
    pub async fn flush(&mut self) -> Result<(), HandoffError> {
        while let Some((bytes, sent)) = &mut self.pending {
            if *sent == bytes.len() {
                self.pending = None;
                break;
            }
            let n = send_with_fds(&self.stream, &bytes[*sent..], &[])
                .await
                .map_err(map_send_error)?;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::WriteZero).into());
            }
            *sent += n;
        }
        Ok(())
    }
}

/// A peer that went away is [`HandoffError::Closed`], not an obscure errno.
fn map_send_error(e: io::Error) -> HandoffError {
    match e.kind() {
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => HandoffError::Closed,
        _ => HandoffError::Io(e),
    }
}

/// The receiving half of a [`Channel`].
#[derive(Debug)]
pub struct RecvHalf {
    stream: Arc<UnixStream>,
    decoder: Decoder,
    scratch: Box<[u8]>,
    poisoned: bool,
}

impl RecvHalf {
    /// Receives the next message and the descriptors that came with it (owned,
    /// close-on-exec). Errors: [`HandoffError::Closed`] when the peer closed the channel
    /// between messages; a message error ([`HandoffError::UnknownMessage`],
    /// [`HandoffError::Malformed`], [`HandoffError::WrongFdCount`]) consumes the bad frame
    /// (closing its descriptors) and leaves the channel usable; a framing error poisons it.
    ///
    /// Cancel-safe: dropping the future loses nothing; the next call goes on where it stopped.
    pub async fn recv(&mut self) -> Result<(Msg, Vec<OwnedFd>), HandoffError> {
        let frame = self.recv_frame().await?;
        let msg = Msg::decode(&frame.payload)?;
        if frame.fds.len() != msg.fd_count() {
            return Err(HandoffError::WrongFdCount {
                kind: msg.kind(),
                expected: msg.fd_count(),
                received: frame.fds.len(),
            });
        }
        Ok((msg, frame.fds))
    }

    /// Receives the next frame undecoded.
    pub(crate) async fn recv_frame(&mut self) -> Result<Frame, HandoffError> {
        if self.poisoned {
            return Err(HandoffError::Poisoned);
        }
        let result = self.next_frame().await;
        if let Err(e) = &result {
            self.poisoned = e.is_framing();
        }
        result
    }

    async fn next_frame(&mut self) -> Result<Frame, HandoffError> {
        // Each turn either returns a frame or an error, or reads at least one byte; a frame is
        // at most MAX_FRAME_LEN bytes, so the loop ends.
        loop {
            if let Some(frame) = self.decoder.next_frame()? {
                return Ok(frame);
            }
            let (n, fds) =
                recv_with_fds(&self.stream, &mut self.scratch, MAX_FDS_PER_FRAME).await?;
            if n == 0 {
                return match self.decoder.buffered() {
                    0 => Err(HandoffError::Closed),
                    buffered => Err(HandoffError::UnexpectedEof { buffered }),
                };
            }
            self.decoder.push(&self.scratch[..n], fds)?;
        }
    }
}
