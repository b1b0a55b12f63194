//! RFC 7606 outcomes beyond the table in `rfc7606_table.rs`: what a decoded UPDATE holds after
//! an error was tolerated (which occurrence survives, which prefixes remain to be withdrawn, which
//! attribute is gone), and the families the codec does not parse.

use super::{frame, hex, FOUR, TWO};
use crate::wire::attributes::code;
use crate::wire::*;

/// ORIGIN IGP, AS_PATH [4200000001] (4-octet), NEXT_HOP 198.18.0.1.
const ORIGIN: &str = "40 01 01 00";
const AS_PATH: &str = "40 02 06 02 01 fa56ea01";
const NEXT_HOP: &str = "40 03 04 c6120001";
const NLRI: &str = "18 c00002";

/// An UPDATE from hex fields; the two length fields are computed.
pub(super) fn update_bytes(withdrawn: &str, attrs: &str, nlri: &str) -> Vec<u8> {
    let (w, a) = (hex(withdrawn), hex(attrs));
    let mut body = (w.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(&w);
    body.extend_from_slice(&(a.len() as u16).to_be_bytes());
    body.extend_from_slice(&a);
    body.extend_from_slice(&hex(nlri));
    frame(2, &body)
}

#[track_caller]
fn ok(bytes: &[u8], ctx: &CodecContext) -> Update {
    match decode(bytes, ctx) {
        Ok(Message::Update(u)) => u,
        other => panic!("expected an UPDATE, got {other:?}"),
    }
}

/// The (code, action) pairs an UPDATE tolerated.
fn actions(u: &Update) -> Vec<(u8, AttrErrorAction)> {
    u.errors.0.iter().map(|e| (e.code, e.action)).collect()
}

use AttrErrorAction::{Discard, TreatAsWithdraw as Withdraw};

#[test]
fn clean_update_has_no_errors() {
    let u = ok(
        &update_bytes("", &[ORIGIN, AS_PATH, NEXT_HOP].concat(), NLRI),
        &FOUR,
    );
    assert!(u.errors.is_empty());
    assert_eq!(u.nlri.len(), 1);
}

#[test]
fn discarded_aggregation_attributes_are_gone() {
    for bad in ["40 06 01 00", "c0 07 06 fde9 c6120001", "c0 06 00"] {
        let u = ok(
            &update_bytes("", &[ORIGIN, AS_PATH, NEXT_HOP, bad].concat(), NLRI),
            &FOUR,
        );
        assert_eq!(actions(&u).len(), 1, "{bad}");
        let a = u.attributes.unwrap();
        assert!(!a.atomic_aggregate && a.aggregator.is_none(), "{bad}");
    }
    // Under a 2-octet context AGGREGATOR is 6 octets.
    let as_path2 = "40 02 04 02 01 fde9";
    let u = ok(
        &update_bytes(
            "",
            &[ORIGIN, as_path2, NEXT_HOP, "c0 07 06 fde9 c6120001"].concat(),
            NLRI,
        ),
        &TWO,
    );
    assert!(u.errors.is_empty());
    assert_eq!(u.attributes.unwrap().aggregator.unwrap().asn, 65001);
}

#[test]
fn duplicate_attributes_keep_the_first() {
    let u = ok(
        &update_bytes(
            "",
            &[ORIGIN, AS_PATH, NEXT_HOP, "40 01 01 02"].concat(),
            NLRI,
        ),
        &FOUR,
    );
    assert_eq!(actions(&u), vec![(code::ORIGIN, Discard)]);
    assert_eq!(u.attributes.unwrap().origin, Some(Origin::Igp));
    // Unknown ones too.
    let u = ok(&update_bytes("", "c0 63 01 01 c0 63 01 02", ""), &FOUR);
    assert_eq!(actions(&u), vec![(99, Discard)]);
    assert_eq!(u.attributes.unwrap().unknown[0].value, vec![1]);
}

#[test]
fn attribute_overrunning_the_attribute_field_keeps_the_nlri() {
    // RFC 7606 §4: the NLRI is still found from the Total Attribute Length.
    let u = ok(
        &update_bytes(
            "",
            &[ORIGIN, AS_PATH, NEXT_HOP, "c0 08 08 fde90064"].concat(),
            NLRI,
        ),
        &FOUR,
    );
    assert_eq!(actions(&u), vec![(code::COMMUNITIES, Withdraw)]);
    assert_eq!(u.nlri, vec!["192.0.2.0/24".parse().unwrap()]);
}

#[test]
fn as4_attributes_from_a_four_octet_peer_are_gone() {
    // RFC 6793 §4.1: discarded whatever they hold.
    let u = ok(
        &update_bytes(
            "",
            &[ORIGIN, AS_PATH, NEXT_HOP, "c0 11 06 02 01 fa56ea01"].concat(),
            NLRI,
        ),
        &FOUR,
    );
    assert_eq!(actions(&u), vec![(code::AS4_PATH, Discard)]);
    assert_eq!(u.attributes.unwrap().as4_path, None);
}

#[test]
fn unsupported_mp_families_are_discarded() {
    // MP_REACH_NLRI of VPNv4 (SAFI 128): not parsed, discarded.
    let mp = "80 0e 11 0001 80 0c 000000000000000000000000 00";
    let u = ok(
        &update_bytes("", &[ORIGIN, AS_PATH, mp].concat(), ""),
        &FOUR,
    );
    assert_eq!(actions(&u), vec![(code::MP_REACH_NLRI, Discard)]);
    assert!(u.mp_reach.is_none());
    // An MP_UNREACH_NLRI of it that withdraws something: discarded too.
    let u = ok(&update_bytes("", "80 0f 05 0001 80 08 0a", ""), &FOUR);
    assert_eq!(actions(&u), vec![(code::MP_UNREACH_NLRI, Discard)]);
    assert_eq!(u.as_end_of_rib(), None);
}

#[test]
fn update_with_only_discarded_attributes_is_not_end_of_rib() {
    let u = ok(&update_bytes("", "40 06 01 00", ""), &FOUR);
    assert_eq!(u.attributes, None);
    assert_eq!(actions(&u), vec![(code::ATOMIC_AGGREGATE, Discard)]);
    assert_eq!(u.as_end_of_rib(), None);
}

#[test]
fn mp_attribute_with_wrong_flags_is_parsed_and_withdrawn() {
    let mp = "c0 0e 1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001";
    let u = ok(
        &update_bytes("", &[ORIGIN, AS_PATH, mp].concat(), ""),
        &FOUR,
    );
    assert_eq!(actions(&u), vec![(code::MP_REACH_NLRI, Withdraw)]);
    assert_eq!(u.mp_reach.unwrap().nlri.len(), 1);
}
