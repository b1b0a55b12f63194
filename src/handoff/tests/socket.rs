//! The channel over real socket pairs: descriptors, handshakes, errors, split halves.

use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::{all_writers_closed, every_message, hello, pair, pipe, raw_pair, send_raw};
use crate::handoff::frame::{self, HEADER_LEN};
use crate::handoff::*;

#[tokio::test]
async fn messages_round_trip_over_a_socket_pair() {
    let (mut a, mut b) = pair();
    for msg in every_message() {
        a.send(&msg, &[]).await.unwrap();
        let (got, fds) = b.recv().await.unwrap();
        assert_eq!(got, msg);
        assert!(fds.is_empty());
    }
    drop(a);
    assert!(matches!(b.recv().await, Err(HandoffError::Closed)));
}

#[tokio::test]
async fn passed_listener_accepts_connections() {
    let (mut supervisor, mut speaker) = pair();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (info, fd) = listener_to_send(&std_listener, ListenerKind::Bgp).unwrap();
    let addr = info.addr;
    let hello = hello(vec![info]);
    let fds = [fd];
    let (ack, accepted) = tokio::join!(
        supervisor_handshake(&mut supervisor, &hello, &fds),
        speaker_handshake(&mut speaker, "test-speaker"),
    );
    let ack = ack.unwrap();
    let accepted = accepted.unwrap();
    assert_eq!(
        ack,
        HelloAck {
            version: PROTOCOL_VERSION,
            speaker_version: "test-speaker".into()
        }
    );
    assert_eq!(accepted.hello, hello);
    assert_eq!(accepted.version, PROTOCOL_VERSION);
    let (info, fd) = accepted.listeners.into_iter().next().unwrap();
    assert_eq!(info.addr, addr);
    assert_ne!(
        fd.as_raw_fd(),
        std_listener.as_raw_fd(),
        "a new descriptor, same socket"
    );
    let flags = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
    assert_ne!(
        flags & libc::FD_CLOEXEC,
        0,
        "received with MSG_CMSG_CLOEXEC"
    );

    let listener = listener_from_fd(fd).unwrap();
    assert_eq!(listener.local_addr().unwrap(), addr);
    let (client, accepted) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    let mut client = client.unwrap();
    let (mut server, peer) = accepted.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    client.write_all(b"OPEN").await.unwrap();
    let mut buf = [0u8; 4];
    server.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"OPEN");
}

#[tokio::test]
async fn non_listening_descriptors_are_refused_as_listeners() {
    let bound = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    bound
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let err = listener_from_fd(OwnedFd::from(bound)).unwrap_err();
    assert!(err.to_string().contains("not listening"), "{err}");
    let (_r, w) = pipe();
    assert!(matches!(
        listener_from_fd(w),
        Err(HandoffError::NotAListener(_))
    ));
}

#[tokio::test]
async fn speaker_answers_an_unknown_version_with_incompatible() {
    let (mut supervisor, mut speaker) = pair();
    let mut future = hello(vec![]);
    future.version = 9;
    future.min_version = 7;
    let (refused, incompatible) = tokio::join!(
        supervisor_handshake(&mut supervisor, &future, &[]),
        speaker_handshake(&mut speaker, "old-speaker"),
    );
    let incompatible = incompatible.unwrap_err();
    assert!(
        matches!(&incompatible, HandoffError::Incompatible { .. }),
        "{incompatible}"
    );
    let refused = refused.unwrap_err();
    let text = refused.to_string();
    assert!(matches!(refused, HandoffError::Refused { .. }), "{text}");
    assert!(text.contains("7..=9") && text.contains("1..=3"), "{text}");
}

#[tokio::test]
async fn speaker_refuses_a_hello_it_cannot_read_even_from_a_far_newer_supervisor() {
    let (raw, mut speaker) = raw_pair();
    send_raw(
        &raw,
        br#"{"type":"hello","version":40,"min_version":30,"totally":"different"}"#,
        &[],
    )
    .await;
    let err = speaker_handshake(&mut speaker, "s").await.unwrap_err();
    assert!(matches!(err, HandoffError::Incompatible { .. }), "{err}");
    let mut supervisor = Channel::new(raw);
    let (msg, _) = supervisor.recv().await.unwrap();
    let Msg::Incompatible { reason, .. } = msg else {
        panic!("{msg:?}")
    };
    assert!(reason.contains("30..=40"), "{reason}");
}

#[tokio::test]
async fn speaker_is_still_started_by_a_version_1_supervisor() {
    let (mut supervisor, mut speaker) = pair();
    let mut old = hello(vec![]);
    (old.min_version, old.version) = (1, 1);
    let (ack, accepted) = tokio::join!(
        supervisor_handshake(&mut supervisor, &old, &[]),
        speaker_handshake(&mut speaker, "new-speaker"),
    );
    assert_eq!(ack.unwrap().version, 1);
    assert_eq!(accepted.unwrap().version, 1);
}

#[tokio::test]
async fn supervisor_refuses_a_speaker_without_events_with_both_ranges_named() {
    // A build that speaks only version 1 answers this supervisor's hello as its negotiation
    // says: no version in common.
    let (mut supervisor, mut speaker) = pair();
    let hello = hello(vec![]);
    let old_speaker = async {
        let (msg, _) = speaker.recv().await.unwrap();
        let Msg::Hello(h) = msg else {
            panic!("{msg:?}")
        };
        let msg = Msg::Incompatible {
            reason: format!(
                "no common handoff protocol version: the supervisor speaks {}..={}, this speaker 1..=1",
                h.min_version, h.version
            ),
            min_version: 1,
            version: 1,
        };
        speaker.send(&msg, &[]).await.unwrap();
    };
    let (refused, ()) = tokio::join!(
        supervisor_handshake(&mut supervisor, &hello, &[]),
        old_speaker
    );
    let text = refused.unwrap_err().to_string();
    assert!(
        text.contains("speaker speaks 1..=1") && text.contains("supervisor 2..=3"),
        "{text}"
    );

    // One that ignores the range and answers version 1 anyway is refused too.
    let (mut supervisor, mut speaker) = pair();
    let rogue = async {
        speaker.recv().await.unwrap();
        let ack = HelloAck {
            version: 1,
            speaker_version: "0.0.9".into(),
        };
        speaker.send(&Msg::HelloAck(ack), &[]).await.unwrap();
    };
    let (refused, ()) = tokio::join!(supervisor_handshake(&mut supervisor, &hello, &[]), rogue);
    let text = refused.unwrap_err().to_string();
    assert!(
        text.contains("0.0.9") && text.contains("outside 2..=3"),
        "{text}"
    );
}

#[tokio::test]
async fn supervisor_refuses_an_out_of_range_ack() {
    let (mut supervisor, mut speaker) = pair();
    let hello = hello(vec![]);
    let speaker_side = async {
        let (msg, _) = speaker.recv().await.unwrap();
        assert_eq!(msg.kind(), "hello");
        let ack = HelloAck {
            version: 5,
            speaker_version: "rogue".into(),
        };
        speaker.send(&Msg::HelloAck(ack), &[]).await.unwrap();
    };
    let (refused, ()) = tokio::join!(
        supervisor_handshake(&mut supervisor, &hello, &[]),
        speaker_side
    );
    let err = refused.unwrap_err();
    assert!(matches!(err, HandoffError::Refused { .. }) && err.to_string().contains("rogue"));
}

#[tokio::test]
async fn truncated_control_data_is_detected_and_what_arrived_is_closed() {
    let (a, b) = UnixStream::pair().unwrap();
    let (mut reader, w) = pipe();
    let copies: Vec<OwnedFd> = (0..3).map(|_| w.try_clone().unwrap()).collect();
    let borrowed: Vec<_> = copies.iter().map(AsFd::as_fd).collect();
    assert_eq!(send_with_fds(&a, b"x", &borrowed).await.unwrap(), 1);
    drop(borrowed);
    drop(copies);
    drop(w);
    assert!(
        !all_writers_closed(&mut reader),
        "the three copies are in flight"
    );
    let mut buf = [0u8; 16];
    let err = recv_with_fds(&b, &mut buf, 1).await.unwrap_err();
    let HandoffError::FdsTruncated { closed } = err else {
        panic!("{err}")
    };
    assert!((1..3).contains(&closed), "{closed} arrived");
    assert!(
        all_writers_closed(&mut reader),
        "descriptors that arrived were closed"
    );
}

#[tokio::test]
async fn frames_arriving_in_pieces_keep_their_descriptors() {
    let (raw, mut rx) = raw_pair();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (info, fd) = listener_to_send(&std_listener, ListenerKind::Api).unwrap();
    let first = frame::encode(&Msg::Quiesce.encode().unwrap(), 0).unwrap();
    let second =
        frame::encode(&Msg::Hello(hello(vec![info.clone()])).encode().unwrap(), 1).unwrap();
    let third = frame::encode(&Msg::Stop.encode().unwrap(), 0).unwrap();
    let writer = async {
        // Tail of the first frame glued to the head of the second, which carries the fd.
        let cut = first.len() - 2;
        send_with_fds(&raw, &first[..cut], &[]).await.unwrap();
        tokio::task::yield_now().await;
        let mut glued = first[cut..].to_vec();
        glued.extend_from_slice(&second[..HEADER_LEN + 1]);
        send_with_fds(&raw, &glued, &[fd]).await.unwrap();
        tokio::task::yield_now().await;
        for piece in second[HEADER_LEN + 1..].chunks(7) {
            send_with_fds(&raw, piece, &[]).await.unwrap();
            tokio::task::yield_now().await;
        }
        send_with_fds(&raw, &third, &[]).await.unwrap();
    };
    let reader = async {
        let mut got = Vec::new();
        for _ in 0..3 {
            let (msg, fds) = rx.recv().await.unwrap();
            got.push((msg, fds.len()));
        }
        got
    };
    let ((), got) = tokio::join!(writer, reader);
    assert_eq!(got[0], (Msg::Quiesce, 0));
    assert_eq!(got[1], (Msg::Hello(hello(vec![info])), 1));
    assert_eq!(got[2], (Msg::Stop, 0));
}

#[tokio::test]
async fn a_large_frame_crosses_many_reads_with_its_descriptor() {
    let (mut supervisor, mut speaker) = pair();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (info, fd) = listener_to_send(&std_listener, ListenerKind::Bgp).unwrap();
    let mut big = hello(vec![info]);
    big.state_dir = PathBuf::from("d".repeat(3 * 1024 * 1024));
    let msg = Msg::Hello(big.clone());
    let fds = [fd];
    let (sent, received) = tokio::join!(supervisor.send(&msg, &fds), speaker.recv());
    sent.unwrap();
    let (msg, fds) = received.unwrap();
    assert_eq!(msg, Msg::Hello(big));
    assert_eq!(fds.len(), 1);
    listener_from_fd(fds.into_iter().next().unwrap()).unwrap();
}

#[tokio::test]
async fn oversized_frames_are_refused_on_both_sides() {
    let (mut a, mut b) = pair();
    let body = crate::ctl::Request::RouteDel {
        prefixes: vec!["x".repeat(MAX_FRAME_LEN)],
    };
    let err = a
        .send(&Msg::Request { id: 1, body }, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, HandoffError::FrameTooLarge { .. }), "{err}");
    // Nothing was sent: the channel still works.
    a.send(&Msg::Stop, &[]).await.unwrap();
    assert_eq!(b.recv().await.unwrap().0, Msg::Stop);

    let (raw, mut rx) = raw_pair();
    let mut header = ((MAX_FRAME_LEN + 1) as u32).to_be_bytes().to_vec();
    header.push(0);
    send_with_fds(&raw, &header, &[]).await.unwrap();
    let err = rx.recv().await.unwrap_err();
    assert!(matches!(err, HandoffError::FrameTooLarge { .. }), "{err}");
    assert!(matches!(rx.recv().await, Err(HandoffError::Poisoned)));
}

#[tokio::test]
async fn unknown_and_misfit_messages_are_errors_and_the_channel_goes_on() {
    let (raw, mut rx) = raw_pair();
    let (mut reader, w) = pipe();
    send_raw(
        &raw,
        br#"{"type":"transfer_session","peer":"198.18.0.2"}"#,
        &[w.as_fd()],
    )
    .await;
    send_raw(&raw, br#"{"type":"quiesce"}"#, &[w.as_fd()]).await;
    send_raw(&raw, br#"{"type":"stop"}"#, &[]).await;
    drop(w);
    let err = rx.recv().await.unwrap_err();
    assert!(
        matches!(&err, HandoffError::UnknownMessage(t) if t == "transfer_session"),
        "{err}"
    );
    let err = rx.recv().await.unwrap_err();
    assert!(
        matches!(
            err,
            HandoffError::WrongFdCount {
                kind: "quiesce",
                expected: 0,
                received: 1
            }
        ),
        "{err}"
    );
    assert_eq!(rx.recv().await.unwrap().0, Msg::Stop);
    assert!(
        all_writers_closed(&mut reader),
        "descriptors of refused frames were closed"
    );
}

#[tokio::test]
async fn sending_checks_the_descriptor_count() {
    let (mut a, _b) = pair();
    let (_r, w) = pipe();
    let err = a.send(&Msg::Quiesce, &[w.as_fd()]).await.unwrap_err();
    assert!(
        matches!(
            err,
            HandoffError::WrongFdCount {
                kind: "quiesce",
                ..
            }
        ),
        "{err}"
    );
    let addr: SocketAddr = "198.18.0.1:179".parse().unwrap();
    let two = Msg::Hello(hello(vec![
        ListenerInfo {
            addr,
            kind: ListenerKind::Bgp
        };
        2
    ]));
    assert!(matches!(
        a.send(&two, &[w.as_fd()]).await,
        Err(HandoffError::WrongFdCount { .. })
    ));
}

#[tokio::test]
async fn split_halves_work_from_two_tasks() {
    let (supervisor, mut speaker) = pair();
    let (mut tx, mut rx) = supervisor.into_split();
    let replies = tokio::spawn(async move {
        let mut ids = Vec::new();
        for _ in 0..3 {
            match rx.recv().await.unwrap().0 {
                Msg::Reply { id, .. } => ids.push(id),
                other => panic!("{other:?}"),
            }
        }
        ids
    });
    for id in 0..3 {
        tx.send(
            &Msg::Request {
                id,
                body: crate::ctl::Request::Status,
            },
            &[],
        )
        .await
        .unwrap();
    }
    for _ in 0..3 {
        let Msg::Request { id, body } = speaker.recv().await.unwrap().0 else {
            panic!()
        };
        let body = crate::ctl::Reply::Ok(serde_json::to_value(body).unwrap());
        speaker.send(&Msg::Reply { id, body }, &[]).await.unwrap();
    }
    assert_eq!(replies.await.unwrap(), vec![0, 1, 2]);
}
