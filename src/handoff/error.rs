//! What can go wrong on the handoff channel, as one error type for the transport, the framing
//! and the protocol, so the supervisor can say precisely why a speaker was refused.

use std::io;

/// An error on the supervisor ↔ speaker channel.
///
/// After a *framing* error ([`FrameTooLarge`](Self::FrameTooLarge),
/// [`FdsTruncated`](Self::FdsTruncated), [`FdsMissing`](Self::FdsMissing),
/// [`TooManyFds`](Self::TooManyFds) on receive, [`UnexpectedEof`](Self::UnexpectedEof)) the byte
/// stream can no longer be trusted and every later receive returns [`Poisoned`](Self::Poisoned).
/// After a *message* error ([`UnknownMessage`](Self::UnknownMessage),
/// [`BadRequest`](Self::BadRequest), [`Malformed`](Self::Malformed),
/// [`WrongFdCount`](Self::WrongFdCount)) the frame was consumed
/// whole and the channel stays usable.
#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    /// An operating-system error on the socket.
    #[error("handoff channel: {0}")]
    Io(#[from] io::Error),
    /// The peer closed the channel between two frames (it exited or dropped its end).
    #[error("the other end closed the handoff channel")]
    Closed,
    /// The peer closed the channel in the middle of a frame.
    #[error("the other end closed the handoff channel in the middle of a frame ({buffered} bytes buffered)")]
    UnexpectedEof {
        /// Bytes of the incomplete frame received so far.
        buffered: usize,
    },
    /// A frame longer than [`MAX_FRAME_LEN`](super::MAX_FRAME_LEN).
    #[error("handoff frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The announced or attempted payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More file descriptors in one frame than one `sendmsg` can carry.
    #[error("{count} file descriptors in one handoff frame; at most {max}")]
    TooManyFds {
        /// How many were attached or announced.
        count: usize,
        /// The limit ([`MAX_FDS_PER_FRAME`](super::MAX_FDS_PER_FRAME)).
        max: usize,
    },
    /// The kernel set `MSG_CTRUNC`: the control buffer was too small and file descriptors were
    /// lost. Those that did arrive have been closed.
    #[error("control message truncated (MSG_CTRUNC): file descriptors were lost; {closed} that arrived were closed")]
    FdsTruncated {
        /// How many descriptors arrived (and were closed).
        closed: usize,
    },
    /// A frame announced file descriptors that never arrived with it.
    #[error("handoff frame announced {expected} file descriptors but only {received} arrived")]
    FdsMissing {
        /// Announced in the frame header.
        expected: usize,
        /// Available when the frame was complete.
        received: usize,
    },
    /// A message of a type this build does not know, e.g. from a newer peer.
    #[error("unknown handoff message type `{0}` (sent by a newer version?)")]
    UnknownMessage(String),
    /// A `request` whose body this build cannot read (a command from a newer supervisor?);
    /// answer it as an error so the requester does not wait.
    #[error("unreadable handoff request {id}: {reason}")]
    BadRequest {
        /// The request's id, for the answer.
        id: u64,
        /// What the decoder said.
        reason: String,
    },
    /// A frame whose JSON is not a valid message.
    #[error("malformed handoff message `{kind}`: {reason}")]
    Malformed {
        /// The message type, or `?` if there was none.
        kind: String,
        /// What the decoder said.
        reason: String,
    },
    /// A message carried a different number of file descriptors than its type requires.
    #[error("handoff message `{kind}` carries {received} file descriptors; it needs {expected}")]
    WrongFdCount {
        /// The message type.
        kind: &'static str,
        /// What the message requires.
        expected: usize,
        /// What was attached or received.
        received: usize,
    },
    /// An earlier framing error made the byte stream unusable.
    #[error("handoff channel unusable after an earlier framing error")]
    Poisoned,
    /// A message arrived that has no place at this point of the protocol.
    #[error("unexpected handoff message `{got}` while waiting for {expected}")]
    Unexpected {
        /// What the protocol expected.
        expected: &'static str,
        /// The message type that arrived.
        got: String,
    },
    /// Speaker side: the supervisor speaks no protocol version this build speaks. The speaker
    /// has already answered `Incompatible` and must exit non-zero.
    #[error("incompatible handoff protocol: {reason}")]
    Incompatible {
        /// Versions on both sides and what is wrong.
        reason: String,
    },
    /// Supervisor side: the speaker refused the handoff or answered with an unusable version.
    /// The supervisor must not use this speaker.
    #[error("speaker refused: {reason}")]
    Refused {
        /// Versions on both sides and what is wrong.
        reason: String,
    },
    /// The file descriptor given as `--handoff-fd` is unusable.
    #[error("bad handoff fd {fd}: {reason}")]
    BadHandoffFd {
        /// The number given.
        fd: i32,
        /// Why it cannot be used.
        reason: String,
    },
    /// A received file descriptor is not a listening TCP socket.
    #[error("received descriptor is not a listening TCP socket: {0}")]
    NotAListener(String),
}

impl HandoffError {
    /// Whether this error leaves the byte stream unusable (see the type's documentation).
    pub fn is_framing(&self) -> bool {
        matches!(
            self,
            Self::FrameTooLarge { .. }
                | Self::TooManyFds { .. }
                | Self::FdsTruncated { .. }
                | Self::FdsMissing { .. }
                | Self::UnexpectedEof { .. }
                | Self::Poisoned
        )
    }
}
