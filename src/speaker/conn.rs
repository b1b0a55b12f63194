//! TCP for one BGP connection: dialing (with the session security options), and the reader and writer tasks that turn the byte
//! stream into frames and back.
//!
//! The reader only splits frames; decoding happens in the peer task, which knows the codec
//! context negotiated by the OPENs (the first UPDATE may follow the OPEN in the same segment, so
//! a reader that decoded on its own could use a stale context).
//!
//! The reader reads ahead of the RIB by at most a [`READ_WINDOW`] of bytes: each frame carries
//! a [`ReadCredit`] that goes with its UPDATE to the RIB task and is given back when the RIB
//! has applied it. A peer that sends a full table faster than the RIB applies it is held back
//! by TCP flow control, not by a growing queue of decoded UPDATEs in our memory.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::config::Password;
use crate::sockopt;
use crate::wire::{frame_len, CodecContext, DecodeError};

/// Bytes of frames one connection's reader may have handed on that the RIB has not applied
/// yet. A decoded prefix takes about four times its wire size, so this bounds the backlog
/// between a session and the RIB to about a megabyte, and it is still 64 full-size UPDATEs
/// ahead: enough for the RIB never to wait for the reader.
pub const READ_WINDOW: usize = 256 * 1024;

/// A frame's share of its connection's read window: the reader reads on while the shares
/// handed out stay within [`READ_WINDOW`]; dropping a share gives it back. The UPDATE a frame
/// decodes to carries its share to the RIB task, which drops it once the UPDATE is applied.
#[derive(Debug)]
pub struct ReadCredit {
    _share: Option<OwnedSemaphorePermit>,
}

impl ReadCredit {
    /// A share of no window (a message that did not come through a reader).
    pub fn none() -> Self {
        ReadCredit { _share: None }
    }
}

/// What a connection's reader reports to its peer task.
#[derive(Debug)]
pub enum ReadEvent {
    /// One whole message, header included, with its share of the read window.
    Frame(Bytes, ReadCredit),
    /// The byte stream is not BGP (bad marker or length).
    Malformed(DecodeError),
    /// The connection closed or failed.
    Closed,
}

/// The session security of one peer's connections: its TCP-MD5 key (RFC 2385) and GTSM hops
/// (RFC 5082; 0 is off).
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// The TCP-MD5 password.
    pub md5: Option<Password>,
    /// GTSM: hops to the peer, 0 for off.
    pub ttl_hops: u8,
}

impl Security {
    /// Before connecting to `remote`: sign with the key, send with TTL 255 and drop what
    /// arrives from further than the hops allow (the SYN-ACK included).
    fn before_connect(&self, fd: BorrowedFd<'_>, remote: IpAddr) -> std::io::Result<()> {
        if let Some(key) = &self.md5 {
            sockopt::set_md5_key(fd, remote, Some(key.as_bytes()))?;
        }
        self.ttl(fd, remote.is_ipv6())
    }

    fn ttl(&self, fd: BorrowedFd<'_>, v6: bool) -> std::io::Result<()> {
        if self.ttl_hops > 0 {
            sockopt::set_gtsm_ttl(fd, v6)?;
            sockopt::set_min_ttl(fd, v6, self.ttl_hops)?;
        }
        Ok(())
    }

    /// Why a session with these settings may fail to come up without a word from the peer.
    pub fn hint(&self) -> Option<String> {
        let md5 = self.md5.as_ref().map(|_| {
            "TCP-MD5 is configured for this peer: check the password on both sides".to_string()
        });
        let gtsm = (self.ttl_hops > 0).then(|| {
            format!(
                "TTL security (GTSM) is on for this peer: it must be at most {} hop(s) away \
                 and send with TTL 255",
                self.ttl_hops
            )
        });
        match (md5, gtsm) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        }
    }
}

/// Open a TCP connection to `remote`, from `local` if given, within `timeout`, with the
/// session security options set before the SYN goes out.
pub async fn dial(
    remote: SocketAddr,
    local: Option<IpAddr>,
    timeout: Duration,
    security: &Security,
) -> std::io::Result<TcpStream> {
    let socket = if remote.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    security.before_connect(socket.as_fd(), remote.ip())?;
    if let Some(local) = local {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    let stream = tokio::time::timeout(timeout, socket.connect(remote))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Read frames until the connection ends; each goes to `tx` tagged with `id`, and reading
/// waits while the frames handed on hold the whole [`READ_WINDOW`].
pub async fn read_frames<T: From<(u64, ReadEvent)>>(
    id: u64,
    mut rd: OwnedReadHalf,
    tx: mpsc::UnboundedSender<T>,
) {
    // Frame with the largest size any context allows; the peer task checks the negotiated limit.
    let ctx = CodecContext {
        four_octet_as: true,
        extended_message: true,
    };
    let window = Arc::new(Semaphore::new(READ_WINDOW));
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        loop {
            match frame_len(&buf, &ctx) {
                Ok(Some(len)) => {
                    // A frame is at most 65,535 bytes, well within the window.
                    let Ok(share) = window.clone().acquire_many_owned(len as u32).await else {
                        return;
                    };
                    let frame = buf.split_to(len).freeze();
                    let credit = ReadCredit {
                        _share: Some(share),
                    };
                    let event = ReadEvent::Frame(frame, credit);
                    if tx.send(T::from((id, event))).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(T::from((id, ReadEvent::Malformed(e))));
                    return;
                }
            }
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(T::from((id, ReadEvent::Closed)));
                return;
            }
            Ok(_) => {}
        }
    }
}

/// What a connection's writer takes, in order.
#[derive(Debug)]
pub enum WriteItem {
    /// Encoded messages.
    Bytes(Bytes),
    /// Say when everything before this has been handed to the kernel.
    Mark(oneshot::Sender<()>),
}

/// Write every item from `rx` in order; when all senders are gone, flush and shut the write
/// side down so the peer sees a clean FIN after our last message.
pub async fn write_frames(mut wr: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<WriteItem>) {
    while let Some(item) = rx.recv().await {
        match item {
            WriteItem::Bytes(bytes) => {
                if wr.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            WriteItem::Mark(done) => {
                let _ = done.send(());
            }
        }
    }
    let _ = wr.flush().await;
    let _ = wr.shutdown().await;
}

#[cfg(test)]
mod tests;
