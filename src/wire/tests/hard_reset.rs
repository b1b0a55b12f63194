//! Cease/Hard Reset (RFC 8538 §3) byte for byte, both ways. The Hard Reset's Data field is the
//! encapsulated NOTIFICATION whole:
//!
//! ```text
//!    +--------+--------+--------
//!    | ErrCode| Subcode| Data
//!    +--------+--------+--------
//! ```
//!
//! and an RFC 9003 shutdown communication inside it is a length octet then that much UTF-8.

use super::{both_ways, encode_vec, frame, hex, FOUR};
use crate::wire::*;

fn decoded(bytes: &[u8]) -> Notification {
    match decode(bytes, &FOUR) {
        Ok(Message::Notification(n)) => n,
        other => panic!("not a NOTIFICATION: {other:?}"),
    }
}

#[test]
fn hard_reset_of_an_administrative_reset_is_code_and_subcode_of_the_cease() {
    let hard = Notification::new(notif::CEASE, notif::ADMIN_RESET).hard_reset();
    // NOTIFICATION: code 6, subcode 9, data = ErrCode 6, Subcode 4, no data.
    both_ways(
        &frame(3, &hex("0609 0604")),
        &Message::Notification(hard.clone()),
        &FOUR,
    );
    assert_eq!(hard.data, [notif::CEASE, notif::ADMIN_RESET]);
}

#[test]
fn hard_reset_of_an_administrative_shutdown_carries_its_message_after_code_and_subcode() {
    let cease = Notification::cease_with_message(notif::ADMIN_SHUTDOWN, "bye");
    let hard = cease.hard_reset();
    // 06 09 | ErrCode 06, Subcode 02 | length 03, "bye".
    let bytes = frame(3, &hex("0609 0602 03 627965"));
    both_ways(&bytes, &Message::Notification(hard.clone()), &FOUR);
    assert_eq!(hard.data, hex("06 02 03 627965"));
    assert_eq!(hard.hard_reset_cause(), Some(cease));
    assert_eq!(hard.shutdown_message().as_deref(), Some("bye"));
}

#[test]
fn hard_reset_encapsulates_any_notification_with_its_data() {
    let hold = Notification {
        code: notif::HOLD_TIMER_EXPIRED,
        subcode: 0,
        data: vec![],
    };
    assert_eq!(hold.hard_reset().data, hex("04 00"));
    let prefixes = Notification {
        code: notif::CEASE,
        subcode: notif::MAX_PREFIXES,
        // RFC 4486 §4: AFI, SAFI, upper bound.
        data: hex("0001 01 000003e8"),
    };
    assert_eq!(
        encode_vec(&Message::Notification(prefixes.hard_reset()), &FOUR),
        frame(3, &hex("0609 0601 0001 01 000003e8"))
    );
}

#[test]
fn a_peers_hard_reset_with_code_subcode_and_shutdown_message_is_read_from_after_the_subcode() {
    // As FRR and gobgpd send it: Cease/Hard Reset of Cease/Administrative Reset "maintenance".
    let n = decoded(&frame(3, &hex("0609 0604 0b 6d61696e74656e616e6365")));
    assert!(n.is_hard_reset());
    let cause = n.hard_reset_cause().unwrap();
    assert_eq!((cause.code, cause.subcode), (6, 4));
    assert_eq!(n.shutdown_message().as_deref(), Some("maintenance"));
}

#[test]
fn a_peers_hard_reset_with_only_code_and_subcode_has_a_cause_and_no_message() {
    let n = decoded(&frame(3, &hex("0609 0602")));
    assert_eq!(
        n.hard_reset_cause(),
        Some(Notification::new(notif::CEASE, notif::ADMIN_SHUTDOWN))
    );
    assert_eq!(n.shutdown_message(), None);
    // A zero-length shutdown communication is no message either (RFC 9003 §2).
    assert_eq!(
        decoded(&frame(3, &hex("0609 0602 00"))).shutdown_message(),
        None
    );
}

#[test]
fn a_peers_hard_reset_with_empty_or_short_data_is_a_bare_hard_reset() {
    for body in ["0609", "0609 06"] {
        let n = decoded(&frame(3, &hex(body)));
        assert!(n.is_hard_reset(), "{body}");
        assert_eq!(n.hard_reset_cause(), None, "{body}");
        assert_eq!(n.shutdown_message(), None, "{body}");
    }
}

#[test]
fn a_truncated_or_invalid_shutdown_message_inside_a_hard_reset_is_not_shown() {
    // Length 5, 3 octets follow.
    assert_eq!(
        decoded(&frame(3, &hex("0609 0602 05 627965"))).shutdown_message(),
        None
    );
    // Not UTF-8.
    assert_eq!(
        decoded(&frame(3, &hex("0609 0602 02 c328"))).shutdown_message(),
        None
    );
    // A cause that carries no shutdown communication (Peer De-configured).
    assert_eq!(
        decoded(&frame(3, &hex("0609 0603 03 627965"))).shutdown_message(),
        None
    );
}

#[test]
fn our_earlier_one_octet_layout_is_not_read_as_a_message() {
    // The layout baton sent before: subcode only, then the message. Its first octet (2) is no
    // error code with a shutdown communication, so nothing is made of the rest.
    let n = decoded(&frame(3, &hex("0609 02 03 627965")));
    assert_eq!(
        n.hard_reset_cause().map(|c| (c.code, c.subcode)),
        Some((2, 3))
    );
    assert_eq!(n.shutdown_message(), None);
}
