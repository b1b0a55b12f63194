//! Tests of the handoff channel: messages and framing without I/O, then over real socket
//! pairs with real listening sockets, then with a real child process.

mod messages;
mod socket;
mod spawn;

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::PathBuf;

use tokio::net::UnixStream;

use super::frame;
use super::*;
use crate::ctl::{Reply, Request};
use crate::wire::Family;

pub(super) fn pair() -> (Channel, Channel) {
    let (a, b) = UnixStream::pair().expect("socket pair");
    (Channel::new(a), Channel::new(b))
}

pub(super) fn raw_pair() -> (UnixStream, Channel) {
    let (a, b) = UnixStream::pair().expect("socket pair");
    (a, Channel::new(b))
}

pub(super) fn hello(listeners: Vec<ListenerInfo>) -> Hello {
    Hello::new(
        7,
        PathBuf::from("/var/lib/baton"),
        Some(PathBuf::from("/etc/baton.toml")),
        listeners,
    )
}

pub(super) fn every_message() -> Vec<Msg> {
    let peer = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
    let v6: IpAddr = "2001:db8::2".parse().unwrap();
    vec![
        Msg::Hello(hello(vec![])),
        Msg::HelloAck(HelloAck {
            version: 2,
            speaker_version: "0.1.0".into(),
        }),
        Msg::Incompatible {
            reason: "no".into(),
            min_version: 1,
            version: 2,
        },
        Msg::Ready {
            peers_up: vec![peer, v6],
        },
        Msg::Quiesce,
        Msg::Quiesced,
        Msg::Activate { expect: vec![peer] },
        Msg::Progress(Progress {
            peer: v6,
            family: Family::IPV6_UNICAST,
            kind: ProgressKind::EndOfRibSent,
            elapsed_ms: 1204,
        }),
        Msg::Done {
            peers_up: vec![peer],
        },
        Msg::Stop,
        Msg::Figures(Figures {
            restarts: 2,
            upgrades: UpgradeCounts {
                completed: 3,
                failed: 1,
                incomplete: 0,
            },
        }),
        Msg::Request {
            id: 3,
            body: Request::Neighbors,
        },
        Msg::Reply {
            id: 3,
            body: Reply::Ok(serde_json::json!({"ok": true})),
        },
    ]
}

/// A frame written straight to the socket, bypassing `Msg`'s checks.
pub(super) async fn send_raw(stream: &UnixStream, payload: &[u8], fds: &[BorrowedFd<'_>]) {
    let bytes = frame::encode(payload, fds.len()).expect("encode");
    let mut sent = send_with_fds(stream, &bytes, fds).await.expect("send");
    while sent < bytes.len() {
        sent += send_with_fds(stream, &bytes[sent..], &[])
            .await
            .expect("send");
    }
}

/// A pipe whose read end sees end-of-file once every copy of the write end is closed.
pub(super) fn pipe() -> (std::fs::File, OwnedFd) {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
        .expect("pipe");
    (std::fs::File::from(r), w)
}

/// Whether every write end of the pipe is closed (read gives end-of-file, not "would block").
pub(super) fn all_writers_closed(reader: &mut std::fs::File) -> bool {
    let mut buf = [0u8; 8];
    match reader.read(&mut buf) {
        Ok(0) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        other => panic!("unexpected read result {other:?}"),
    }
}
