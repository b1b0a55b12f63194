//! Messages, version negotiation and framing, without I/O.

use std::net::SocketAddr;

use super::{every_message, hello, pipe};
use crate::handoff::fdpass::{control_space, rights_in_control_buffer};
use crate::handoff::frame::{self, Decoder};
use crate::handoff::*;

#[test]
fn every_message_round_trips_with_its_wire_type() {
    for msg in every_message() {
        let bytes = msg.encode().unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["type"], msg.kind(), "{msg:?}");
        assert!(Msg::TYPES.contains(&msg.kind()));
        assert_eq!(Msg::decode(&bytes).unwrap(), msg);
    }
    assert_eq!(Msg::TYPES.len(), every_message().len());
}

#[test]
fn hello_wire_form_is_stable() {
    let addr: SocketAddr = "198.18.0.1:179".parse().unwrap();
    let msg = Msg::Hello(hello(vec![ListenerInfo {
        addr,
        kind: ListenerKind::Bgp,
    }]));
    let value: serde_json::Value = serde_json::from_slice(&msg.encode().unwrap()).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "type": "hello", "version": 3, "min_version": 2, "generation": 7,
            "state_dir": "/var/lib/baton", "config_path": "/etc/baton.toml",
            "listeners": [{"addr": "198.18.0.1:179", "kind": "bgp"}],
            "figures": {"restarts": 0, "upgrades": {"completed": 0, "failed": 0, "incomplete": 0}},
        })
    );
}

#[test]
fn figures_are_zeros_when_missing_and_later_fields_are_ignored() {
    // A Hello from a supervisor of version 2 has no figures.
    let old = br#"{"type":"hello","version":2,"min_version":2,"generation":4,
        "state_dir":"/var/lib/baton","config_path":null,"listeners":[]}"#;
    let Msg::Hello(hello) = Msg::decode(old).unwrap() else {
        panic!("a hello")
    };
    assert_eq!(hello.figures, Figures::default());
    // A newer supervisor's figures, with a count this build does not know and one missing.
    let newer = br#"{"type":"figures","restarts":5,"reloads":9,"upgrades":{"completed":2,"rolled_back":1}}"#;
    assert_eq!(
        Msg::decode(newer).unwrap(),
        Msg::Figures(Figures {
            restarts: 5,
            upgrades: UpgradeCounts {
                completed: 2,
                failed: 0,
                incomplete: 0,
            },
        })
    );
}

#[test]
fn unknown_fields_and_listener_kinds_from_a_newer_peer_are_tolerated() {
    let json = br#"{"type":"hello","version":2,"min_version":1,"generation":1,
        "state_dir":"/s","config_path":null,"listeners":[{"addr":"198.18.0.1:179","kind":"grpc"}],
        "new_field":[1,2]}"#;
    let Msg::Hello(h) = Msg::decode(json).unwrap() else {
        panic!("not a hello")
    };
    assert_eq!(h.listeners[0].kind, ListenerKind::Other);
    assert_eq!(h.version, 2);
}

#[test]
fn unknown_message_type_is_named_in_the_error() {
    let err = Msg::decode(br#"{"type":"teleport","to":"mars"}"#).unwrap_err();
    assert!(
        matches!(&err, HandoffError::UnknownMessage(t) if t == "teleport"),
        "{err}"
    );
    assert!(err.to_string().contains("teleport"));
    let err =
        Msg::decode(br#"{"type":"progress","peer":"not an address","event":"x"}"#).unwrap_err();
    assert!(
        matches!(&err, HandoffError::Malformed { kind, .. } if kind == "progress"),
        "{err}"
    );
    let err = Msg::decode(b"[1,2,3]").unwrap_err();
    assert!(
        matches!(&err, HandoffError::Malformed { kind, .. } if kind == "?"),
        "{err}"
    );
}

#[test]
fn upgrade_messages_wire_form_is_stable() {
    let wire = |m: Msg| serde_json::to_value(m).unwrap();
    let peer: std::net::IpAddr = "198.18.0.2".parse().unwrap();
    assert_eq!(
        wire(Msg::Progress(Progress {
            peer,
            family: crate::wire::Family::IPV4_UNICAST,
            kind: ProgressKind::Established,
            elapsed_ms: 12,
        })),
        serde_json::json!({"type": "progress", "peer": "198.18.0.2", "family": "ipv4-unicast",
            "kind": "established", "elapsed_ms": 12})
    );
    assert_eq!(
        wire(Msg::Activate { expect: vec![peer] }),
        serde_json::json!({"type": "activate", "expect": ["198.18.0.2"]})
    );
    assert_eq!(
        wire(Msg::Done { peers_up: vec![] }),
        serde_json::json!({"type": "done", "peers_up": []})
    );
    // As version 1 wrote them: a control request and its answer, as batonctl sent them.
    assert_eq!(
        wire(Msg::Request {
            id: 4,
            body: crate::ctl::Request::Neighbors
        }),
        serde_json::json!({"type": "request", "id": 4, "body": {"cmd": "neighbors"}})
    );
    assert_eq!(
        wire(Msg::Reply {
            id: 4,
            body: crate::ctl::Reply::Error { error: "no".into() }
        }),
        serde_json::json!({"type": "reply", "id": 4, "body": {"error": "no"}})
    );
    for kind in ["established", "end-of-rib-sent", "end-of-rib-received"] {
        let json = format!(
            r#"{{"type":"progress","peer":"2001:db8::2","family":"ipv6-unicast","kind":"{kind}","elapsed_ms":0}}"#
        );
        assert!(Msg::decode(json.as_bytes()).is_ok(), "{kind}");
    }
}

#[test]
fn an_older_supervisors_activate_expects_nothing() {
    assert_eq!(
        Msg::decode(br#"{"type":"activate"}"#).unwrap(),
        Msg::Activate { expect: vec![] }
    );
}

#[test]
fn a_request_this_build_cannot_read_is_answerable_by_its_id() {
    let err = Msg::decode(br#"{"type":"request","id":9,"body":{"cmd":"teleport"}}"#).unwrap_err();
    assert!(
        matches!(&err, HandoffError::BadRequest { id: 9, reason } if reason.contains("teleport")),
        "{err}"
    );
    assert!(!err.is_framing());
    let err = Msg::decode(br#"{"type":"request","body":{"cmd":"status"}}"#).unwrap_err();
    assert!(
        matches!(&err, HandoffError::Malformed { kind, .. } if kind == "request"),
        "{err}"
    );
}

#[test]
fn negotiation_picks_the_highest_common_version() {
    assert_eq!(
        negotiate(1, 1),
        Ok(1),
        "an older supervisor still starts us"
    );
    assert_eq!(negotiate(1, 5), Ok(PROTOCOL_VERSION));
    assert_eq!(negotiate(SUPERVISOR_MIN_VERSION, PROTOCOL_VERSION), Ok(3));
    assert_eq!(negotiate(2, 2), Ok(2), "a supervisor without figures");
    let reason = negotiate(7, 9).unwrap_err();
    assert!(
        reason.contains("7..=9") && reason.contains("1..=3"),
        "{reason}"
    );
    assert!(negotiate(0, 0).is_err());
    assert!(negotiate(3, 2).is_err());
}

#[test]
fn decoder_reassembles_frames_fed_one_byte_at_a_time() {
    let (_r, w) = pipe();
    let first = frame::encode(br#"{"type":"quiesce"}"#, 0).unwrap();
    let second = frame::encode(br#"{"type":"stop"}"#, 1).unwrap();
    let mut stream = first.clone();
    stream.extend_from_slice(&second);
    let mut decoder = Decoder::new();
    let mut frames = Vec::new();
    for (i, byte) in stream.iter().enumerate() {
        // The descriptor of the second frame arrives with its first byte.
        let fds = if i == first.len() {
            vec![w.try_clone().unwrap()]
        } else {
            vec![]
        };
        decoder.push(std::slice::from_ref(byte), fds).unwrap();
        while let Some(frame) = decoder.next_frame().unwrap() {
            frames.push((i, frame));
        }
    }
    assert_eq!(frames.len(), 2);
    assert_eq!(
        frames[0].0,
        first.len() - 1,
        "first frame complete with its last byte"
    );
    assert_eq!(frames[0].1.payload, br#"{"type":"quiesce"}"#);
    assert!(frames[0].1.fds.is_empty());
    assert_eq!(frames[1].1.payload, br#"{"type":"stop"}"#);
    assert_eq!(frames[1].1.fds.len(), 1);
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn decoder_gives_early_descriptors_to_the_frame_that_announced_them() {
    // The kernel may glue the tail of a frame without descriptors to the head of one with.
    let (_r, w) = pipe();
    let mut bytes = frame::encode(b"{}", 0).unwrap();
    bytes.extend(frame::encode(b"[]", 1).unwrap());
    let mut decoder = Decoder::new();
    decoder.push(&bytes, vec![w]).unwrap();
    let a = decoder.next_frame().unwrap().unwrap();
    let b = decoder.next_frame().unwrap().unwrap();
    assert_eq!((a.payload.as_slice(), a.fds.len()), (&b"{}"[..], 0));
    assert_eq!((b.payload.as_slice(), b.fds.len()), (&b"[]"[..], 1));
}

#[test]
fn decoder_refuses_oversized_frames_and_missing_descriptors() {
    let mut decoder = Decoder::new();
    let len = (MAX_FRAME_LEN as u32 + 1).to_be_bytes();
    decoder
        .push(&[len[0], len[1], len[2], len[3], 0], vec![])
        .unwrap();
    let err = decoder.next_frame().unwrap_err();
    assert!(matches!(err, HandoffError::FrameTooLarge { len, .. } if len == MAX_FRAME_LEN + 1));

    let mut decoder = Decoder::new();
    decoder
        .push(&frame::encode(b"{}", 2).unwrap(), vec![])
        .unwrap();
    let err = decoder.next_frame().unwrap_err();
    assert!(
        matches!(
            err,
            HandoffError::FdsMissing {
                expected: 2,
                received: 0
            }
        ),
        "{err}"
    );

    assert!(matches!(
        frame::encode(&vec![b' '; MAX_FRAME_LEN + 1], 0),
        Err(HandoffError::FrameTooLarge { .. })
    ));
    assert!(matches!(
        frame::encode(b"{}", 254),
        Err(HandoffError::TooManyFds { count: 254, .. })
    ));
}

#[test]
fn control_space_matches_cmsg_space_and_parses_rights() {
    use nix::sys::socket::cmsg_space;
    assert_eq!(control_space(1), cmsg_space::<[i32; 1]>());
    assert_eq!(control_space(2), cmsg_space::<[i32; 2]>());
    assert_eq!(control_space(3), cmsg_space::<[i32; 3]>());
    assert_eq!(control_space(253), cmsg_space::<[i32; 253]>());
    // A control buffer as the kernel writes it: header, two ints, zeroed rest.
    let mut buf = vec![0u8; control_space(4)];
    let word = std::mem::size_of::<usize>();
    let len = control_space(0) + 2 * 4;
    buf[..word].copy_from_slice(&len.to_ne_bytes());
    buf[word..word + 4].copy_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
    buf[word + 4..word + 8].copy_from_slice(&libc::SCM_RIGHTS.to_ne_bytes());
    buf[control_space(0)..control_space(0) + 4].copy_from_slice(&41i32.to_ne_bytes());
    buf[control_space(0) + 4..control_space(0) + 8].copy_from_slice(&42i32.to_ne_bytes());
    assert_eq!(rights_in_control_buffer(&buf), vec![41, 42]);
    assert_eq!(rights_in_control_buffer(&[0u8; 64]), Vec::<i32>::new());
}
