//! TCP for one BGP connection: dialing, and the reader and writer tasks that turn the byte
//! stream into frames and back.
//!
//! The reader only splits frames; decoding happens in the peer task, which knows the codec
//! context negotiated by the OPENs (the first UPDATE may follow the OPEN in the same segment, so
//! a reader that decoded on its own could use a stale context).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};

use crate::wire::{frame_len, CodecContext, DecodeError};

/// What a connection's reader reports to its peer task.
#[derive(Debug)]
pub enum ReadEvent {
    /// One whole message, header included.
    Frame(Bytes),
    /// The byte stream is not BGP (bad marker or length).
    Malformed(DecodeError),
    /// The connection closed or failed.
    Closed,
}

/// Open a TCP connection to `remote`, from `local` if given, within `timeout`.
pub async fn dial(
    remote: SocketAddr,
    local: Option<IpAddr>,
    timeout: Duration,
) -> std::io::Result<TcpStream> {
    let socket = if remote.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(local) = local {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    let stream = tokio::time::timeout(timeout, socket.connect(remote))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Read frames until the connection ends; each goes to `tx` tagged with `id`.
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
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        loop {
            match frame_len(&buf, &ctx) {
                Ok(Some(len)) => {
                    let frame = buf.split_to(len).freeze();
                    if tx.send(T::from((id, ReadEvent::Frame(frame)))).is_err() {
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
