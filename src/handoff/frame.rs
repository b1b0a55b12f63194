//! Framing of the handoff byte stream, sans-IO: where one message ends and the next begins, and
//! which received file descriptors belong to which message.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |              payload length (big-endian, ≤ 16 MiB)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   fd count    |  payload (JSON) ...
//! +-+-+-+-+-+-+-+-+
//! ```
//!
//! A frame's descriptors go in the same `sendmsg` as the frame's first byte. A stream socket
//! may glue several sends into one read or split one send over several, but the kernel hands
//! the descriptors over no later than the read that returns that first byte, and in order. So
//! the decoder keeps received descriptors in a FIFO and gives each completed frame the number
//! its header announces: no guessing which read they came with, and a missing descriptor is
//! detected rather than silently shifted onto a later frame.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;

use bytes::{Buf, BytesMut};

use super::{HandoffError, MAX_FDS_PER_FRAME};

/// The largest payload a frame may carry.
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// Bytes before the payload: length (4) and descriptor count (1).
pub const HEADER_LEN: usize = 5;

/// Received descriptors not yet claimed by a complete frame, at most: more means the peer sends
/// descriptors its frames do not announce.
const MAX_QUEUED_FDS: usize = 2 * MAX_FDS_PER_FRAME;

/// One complete frame: the payload and the descriptors that came with it.
#[derive(Debug)]
pub struct Frame {
    /// The JSON payload.
    pub payload: Vec<u8>,
    /// The descriptors, in the order they were attached.
    pub fds: Vec<OwnedFd>,
}

/// Builds the bytes of a frame announcing `fd_count` descriptors.
pub fn encode(payload: &[u8], fd_count: usize) -> Result<Vec<u8>, HandoffError> {
    if payload.len() > MAX_FRAME_LEN {
        return Err(HandoffError::FrameTooLarge {
            len: payload.len(),
            max: MAX_FRAME_LEN,
        });
    }
    if fd_count > MAX_FDS_PER_FRAME {
        return Err(HandoffError::TooManyFds {
            count: fd_count,
            max: MAX_FDS_PER_FRAME,
        });
    }
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    // Both fit: checked against MAX_FRAME_LEN and MAX_FDS_PER_FRAME (253) above.
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.push(fd_count as u8);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Reassembles frames from reads of any size, pairing them with received descriptors.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: BytesMut,
    fds: VecDeque<OwnedFd>,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the bytes and descriptors of one read.
    pub fn push(&mut self, bytes: &[u8], fds: Vec<OwnedFd>) -> Result<(), HandoffError> {
        self.buf.extend_from_slice(bytes);
        self.fds.extend(fds);
        if self.fds.len() > MAX_QUEUED_FDS {
            return Err(HandoffError::TooManyFds {
                count: self.fds.len(),
                max: MAX_QUEUED_FDS,
            });
        }
        Ok(())
    }

    /// The next complete frame, `None` if more bytes are needed. A header announcing too
    /// large a payload is refused before any of it is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, HandoffError> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        let fd_count = usize::from(self.buf[4]);
        if len > MAX_FRAME_LEN {
            return Err(HandoffError::FrameTooLarge {
                len,
                max: MAX_FRAME_LEN,
            });
        }
        if fd_count > MAX_FDS_PER_FRAME {
            return Err(HandoffError::TooManyFds {
                count: fd_count,
                max: MAX_FDS_PER_FRAME,
            });
        }
        if self.buf.len() < HEADER_LEN + len {
            self.buf.reserve(HEADER_LEN + len - self.buf.len());
            return Ok(None);
        }
        if self.fds.len() < fd_count {
            return Err(HandoffError::FdsMissing {
                expected: fd_count,
                received: self.fds.len(),
            });
        }
        self.buf.advance(HEADER_LEN);
        let payload = self.buf.split_to(len).to_vec();
        let fds = self.fds.drain(..fd_count).collect();
        Ok(Some(Frame { payload, fds }))
    }

    /// Bytes of an incomplete frame held (0 between frames).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}
