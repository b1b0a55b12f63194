//! The first exchange on a new channel, on both sides: `Hello` with the listening sockets,
//! answered by `HelloAck` or `Incompatible`. Timeouts are the caller's (wrap the call in
//! `tokio::time::timeout`).

use std::os::fd::{BorrowedFd, OwnedFd};

use tracing::{info, warn};

use super::proto::{hello_range, message_type, negotiate};
use super::{
    Channel, HandoffError, Hello, HelloAck, ListenerInfo, Msg, MIN_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
};

/// What the speaker got from a successful handshake.
#[derive(Debug)]
pub struct Accepted {
    /// The supervisor's `Hello`.
    pub hello: Hello,
    /// The protocol version agreed on.
    pub version: u32,
    /// Each listener with its descriptor (see [`listener_from_fd`](super::listener_from_fd)).
    pub listeners: Vec<(ListenerInfo, OwnedFd)>,
}

/// Supervisor side: sends `hello` with `listener_fds` (one per `hello.listeners`, same order)
/// and waits for the answer. Returns the speaker's `HelloAck` (its `version` is the one
/// agreed), or [`HandoffError::Refused`] if the speaker answered `Incompatible` or an agreed
/// version outside both ranges: do not use that speaker.
pub async fn supervisor_handshake(
    channel: &mut Channel,
    hello: &Hello,
    listener_fds: &[BorrowedFd<'_>],
) -> Result<HelloAck, HandoffError> {
    channel
        .send(&Msg::Hello(hello.clone()), listener_fds)
        .await?;
    match channel.recv().await {
        Ok((Msg::HelloAck(ack), _)) => {
            let low = hello.min_version.max(MIN_PROTOCOL_VERSION);
            let high = hello.version.min(PROTOCOL_VERSION);
            if !(low..=high).contains(&ack.version) {
                return Err(HandoffError::Refused {
                    reason: format!(
                        "speaker {} answered protocol version {}, outside {low}..={high}",
                        ack.speaker_version, ack.version
                    ),
                });
            }
            Ok(ack)
        }
        Ok((
            Msg::Incompatible {
                reason,
                min_version,
                version,
            },
            _,
        )) => Err(HandoffError::Refused {
            reason: format!(
                "incompatible handoff protocol (speaker speaks {min_version}..={version}, \
                 supervisor {}..={}): {reason}",
                hello.min_version, hello.version
            ),
        }),
        Ok((other, _)) => Err(HandoffError::Unexpected {
            expected: "hello_ack",
            got: other.kind().into(),
        }),
        Err(HandoffError::UnknownMessage(kind)) => Err(HandoffError::Refused {
            reason: format!("speaker answered `{kind}`, a message this supervisor does not know"),
        }),
        Err(e) => Err(e),
    }
}

/// Speaker side: waits for the supervisor's `Hello` and answers it. On success, sends
/// `HelloAck { version, speaker_version }` and returns what was received. If there is no
/// common version, or the `Hello` is unusable, sends `Incompatible { reason }` and returns
/// [`HandoffError::Incompatible`]: the speaker must then exit non-zero.
pub async fn speaker_handshake(
    channel: &mut Channel,
    speaker_version: &str,
) -> Result<Accepted, HandoffError> {
    let frame = channel.recv_frame().await?;
    let Some((peer_min, peer_max)) = hello_range(&frame.payload) else {
        let got = message_type(&frame.payload).unwrap_or_else(|| "?".into());
        let reason = format!("expected `hello` with a version range first, got `{got}`");
        return refuse(channel, reason).await;
    };
    let version = match negotiate(peer_min, peer_max) {
        Ok(version) => version,
        Err(reason) => return refuse(channel, reason).await,
    };
    let hello = match Msg::decode(&frame.payload) {
        Ok(Msg::Hello(hello)) => hello,
        Ok(other) => {
            let reason = format!("expected `hello`, got `{}`", other.kind());
            return refuse(channel, reason).await;
        }
        Err(e) => return refuse(channel, format!("unusable hello: {e}")).await,
    };
    if frame.fds.len() != hello.listeners.len() {
        let reason = format!(
            "hello lists {} listeners but {} descriptors came with it",
            hello.listeners.len(),
            frame.fds.len()
        );
        return refuse(channel, reason).await;
    }
    let ack = HelloAck {
        version,
        speaker_version: speaker_version.to_string(),
    };
    channel.send(&Msg::HelloAck(ack), &[]).await?;
    info!(
        generation = hello.generation,
        version, "handoff handshake done"
    );
    let listeners = hello.listeners.iter().cloned().zip(frame.fds).collect();
    Ok(Accepted {
        hello,
        version,
        listeners,
    })
}

/// Answers `Incompatible { reason }` and returns the matching error.
async fn refuse<T>(channel: &mut Channel, reason: String) -> Result<T, HandoffError> {
    warn!(%reason, "refusing the supervisor's hello");
    let msg = Msg::Incompatible {
        reason: reason.clone(),
        min_version: MIN_PROTOCOL_VERSION,
        version: PROTOCOL_VERSION,
    };
    if let Err(e) = channel.send(&msg, &[]).await {
        warn!(error = %e, "could not tell the supervisor");
    }
    Err(HandoffError::Incompatible { reason })
}
