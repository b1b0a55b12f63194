//! RFC 7606 outcomes: which malformed UPDATEs reset the session, which are treated as withdraw,
//! which lose one attribute.

use super::{frame, hex, FOUR, TWO};
use crate::wire::attributes::code;
use crate::wire::*;

/// ORIGIN IGP, AS_PATH [4200000001] (4-octet), NEXT_HOP 198.18.0.1.
const ORIGIN: &str = "40 01 01 00";
const AS_PATH: &str = "40 02 06 02 01 fa56ea01";
const NEXT_HOP: &str = "40 03 04 c6120001";
const NLRI: &str = "18 c00002";

/// An UPDATE from hex fields; the two length fields are computed.
fn update_bytes(withdrawn: &str, attrs: &str, nlri: &str) -> Vec<u8> {
    let (w, a) = (hex(withdrawn), hex(attrs));
    let mut body = (w.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(&w);
    body.extend_from_slice(&(a.len() as u16).to_be_bytes());
    body.extend_from_slice(&a);
    body.extend_from_slice(&hex(nlri));
    frame(2, &body)
}

/// ORIGIN, AS_PATH, NEXT_HOP, with the one of type `c` (or none) replaced by `bad`, at the end.
fn replacing(bad: &str, c: u8) -> String {
    let mut attrs: Vec<&str> = [
        (code::ORIGIN, ORIGIN),
        (code::AS_PATH, AS_PATH),
        (code::NEXT_HOP, NEXT_HOP),
    ]
    .into_iter()
    .filter(|&(k, _)| k != c)
    .map(|(_, a)| a)
    .collect();
    attrs.push(bad);
    attrs.concat()
}

#[track_caller]
fn ok(bytes: &[u8], ctx: &CodecContext) -> Update {
    match decode(bytes, ctx) {
        Ok(Message::Update(u)) => u,
        other => panic!("expected an UPDATE, got {other:?}"),
    }
}

#[track_caller]
fn reset(bytes: &[u8], ctx: &CodecContext) -> DecodeError {
    match decode(bytes, ctx) {
        Err(e) => e,
        Ok(m) => panic!("expected a session reset, got {m:?}"),
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
fn length_overruns_reset_the_session() {
    // RFC 4271 §6.3: withdrawn routes length or total attribute length too large → 3/1.
    let e = reset(&frame(2, &hex("0005 18c00002 0000")), &FOUR);
    assert_eq!((e.code, e.subcode), (3, 1));
    let e = reset(&frame(2, &hex("0003 18c000")), &FOUR);
    assert_eq!((e.code, e.subcode), (3, 1));
    let e = reset(&frame(2, &hex("0000 0005 40010100")), &FOUR);
    assert_eq!((e.code, e.subcode), (3, 1));
}

#[test]
fn unparsable_nlri_resets_the_session() {
    // RFC 4271 §6.3 / RFC 7606 §5.3: Invalid Network Field.
    let attrs = [ORIGIN, AS_PATH, NEXT_HOP].concat();
    for (withdrawn, nlri) in [
        ("", "21 c0000200 00"),
        ("", "18 c000"),
        ("21 c6120000 00", ""),
        ("20 c61200", ""),
    ] {
        let e = reset(&update_bytes(withdrawn, &attrs, nlri), &FOUR);
        assert_eq!((e.code, e.subcode), (3, 10), "{withdrawn} {nlri}");
    }
}

#[test]
fn malformed_mp_attributes_reset_the_session() {
    let base = [ORIGIN, AS_PATH].concat();
    let cases = [
        // IPv6 prefix longer than 128.
        "80 0e 17 0002 01 10 20010db8000000000000000000000002 00 81 20",
        // Next hop of 5 octets.
        "80 0e 0a 0002 01 05 0102030405 00",
        // Truncated before the reserved octet.
        "80 0e 04 0002 01 00",
        // MP_UNREACH truncated, or with a bad prefix.
        "80 0f 02 0002",
        "80 0f 05 0002 01 30 20",
    ];
    for mp in cases {
        let e = reset(&update_bytes("", &[&base, mp].concat(), ""), &FOUR);
        assert_eq!((e.code, e.subcode), (3, 9), "{mp}");
        // The attribute is the NOTIFICATION data.
        assert_eq!(e.data, hex(mp), "{mp}");
    }
}

#[test]
fn duplicate_mp_attribute_resets_the_session() {
    // RFC 7606 §3(g).
    let mp = "80 0f 03 0002 01";
    let e = reset(&update_bytes("", &[mp, mp].concat(), ""), &FOUR);
    assert_eq!((e.code, e.subcode), (3, 1));
}

#[test]
fn unrecognized_well_known_attribute_resets_the_session() {
    let e = reset(&update_bytes("", "40 63 01 00", ""), &FOUR);
    assert_eq!(
        (e.code, e.subcode, e.data.clone()),
        (3, 2, hex("40 63 01 00"))
    );
}

#[test]
fn malformed_well_known_attributes_are_treated_as_withdraw() {
    let cases = [
        ("40 01 02 0000", code::ORIGIN),
        ("40 01 01 03", code::ORIGIN),
        ("40 02 02 02 00", code::AS_PATH),
        ("40 02 05 02 01 fa56ea", code::AS_PATH),
        ("40 02 07 02 01 fa56ea01 02", code::AS_PATH),
        ("40 02 06 03 01 fa56ea01", code::AS_PATH),
        ("40 02 06 04 01 fa56ea01", code::AS_PATH),
        ("40 02 06 07 01 fa56ea01", code::AS_PATH),
        ("40 03 05 c612000100", code::NEXT_HOP),
        ("80 04 03 000001", code::MED),
        ("40 05 05 0000000001", code::LOCAL_PREF),
        ("c0 08 00", code::COMMUNITIES),
        ("c0 08 05 0000000001", code::COMMUNITIES),
        ("c0 10 07 00000000000000", code::EXTENDED_COMMUNITIES),
        (
            "c0 20 0d 00000000000000000000000000",
            code::LARGE_COMMUNITIES,
        ),
        // RFC 7606 §3(c): Optional/Transitive bits in conflict.
        ("c0 01 01 00", code::ORIGIN),
        ("40 04 04 00000001", code::MED),
        ("80 08 04 00000001", code::COMMUNITIES),
    ];
    for (bad, c) in cases {
        let u = ok(&update_bytes("", &replacing(bad, c), NLRI), &FOUR);
        assert_eq!(actions(&u), vec![(c, Withdraw)], "{bad}");
        assert!(u.errors.treat_as_withdraw());
        // The prefixes are still there, to be withdrawn.
        assert_eq!(u.nlri.len(), 1);
    }
}

#[test]
fn malformed_aggregation_attributes_are_discarded() {
    let cases = [
        ("40 06 01 00", code::ATOMIC_AGGREGATE),
        ("c0 07 06 fde9 c6120001", code::AGGREGATOR),
        ("c0 07 09 fa56ea01 c6120001 00", code::AGGREGATOR),
    ];
    for (bad, c) in cases {
        let u = ok(
            &update_bytes("", &[ORIGIN, AS_PATH, NEXT_HOP, bad].concat(), NLRI),
            &FOUR,
        );
        assert_eq!(actions(&u), vec![(c, Discard)], "{bad}");
        let a = u.attributes.unwrap();
        assert!(!a.atomic_aggregate && a.aggregator.is_none());
    }
    // Under a 2-octet context AGGREGATOR is 6 octets, and 8 is malformed.
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
    let u = ok(
        &update_bytes(
            "",
            &[ORIGIN, as_path2, NEXT_HOP, "c0 07 08 fa56ea01 c6120001"].concat(),
            NLRI,
        ),
        &TWO,
    );
    assert_eq!(actions(&u), vec![(code::AGGREGATOR, Discard)]);
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
fn missing_mandatory_attributes_are_treated_as_withdraw() {
    // RFC 7606 §3(d).
    let u = ok(&update_bytes("", &[ORIGIN, AS_PATH].concat(), NLRI), &FOUR);
    assert_eq!(actions(&u), vec![(code::NEXT_HOP, Withdraw)]);
    let u = ok(&update_bytes("", "", NLRI), &FOUR);
    assert_eq!(
        actions(&u),
        vec![
            (code::ORIGIN, Withdraw),
            (code::AS_PATH, Withdraw),
            (code::NEXT_HOP, Withdraw)
        ]
    );
    // MP_REACH_NLRI needs ORIGIN and AS_PATH, not NEXT_HOP.
    let mp = "80 0e 1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001";
    let u = ok(&update_bytes("", &[AS_PATH, mp].concat(), ""), &FOUR);
    assert_eq!(actions(&u), vec![(code::ORIGIN, Withdraw)]);
    let u = ok(
        &update_bytes("", &[ORIGIN, AS_PATH, mp].concat(), ""),
        &FOUR,
    );
    assert!(u.errors.is_empty());
    // Withdrawals alone need nothing.
    let u = ok(&update_bytes("18 c00002", "", ""), &FOUR);
    assert!(u.errors.is_empty());
    let u = ok(
        &update_bytes("", "80 0f 0a 0002 01 30 20010db80001", ""),
        &FOUR,
    );
    assert!(u.errors.is_empty());
}

#[test]
fn attribute_overrunning_the_attribute_field_is_treated_as_withdraw() {
    // RFC 7606 §4, first case: the last attribute's length exceeds the field; the NLRI is still
    // found from the Total Attribute Length.
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
    // Second case: fewer than three octets left.
    let u = ok(
        &update_bytes("", &[ORIGIN, AS_PATH, NEXT_HOP, "c0 08"].concat(), NLRI),
        &FOUR,
    );
    assert_eq!(actions(&u), vec![(code::COMMUNITIES, Withdraw)]);
    let u = ok(
        &update_bytes("", &[ORIGIN, AS_PATH, NEXT_HOP, "c0"].concat(), NLRI),
        &FOUR,
    );
    assert_eq!(actions(&u), vec![(0, Withdraw)]);
    // Extended length bit with only three octets left.
    let u = ok(
        &update_bytes("", &[ORIGIN, AS_PATH, NEXT_HOP, "d0 08 00"].concat(), NLRI),
        &FOUR,
    );
    assert_eq!(actions(&u), vec![(code::COMMUNITIES, Withdraw)]);
}

#[test]
fn as4_attributes() {
    let as_path2 = "40 02 04 02 01 5ba0";
    // From a 2-octet speaker: a malformed AS4_PATH or AS4_AGGREGATOR is discarded.
    for (bad, c) in [
        ("c0 11 03 02 01 00", code::AS4_PATH),
        ("c0 11 06 03 01 fa56ea01", code::AS4_PATH),
        ("c0 12 06 5ba0 c6120001", code::AS4_AGGREGATOR),
        // Wrong flags are still a flags error (treat-as-withdraw).
    ] {
        let u = ok(
            &update_bytes("", &[ORIGIN, as_path2, NEXT_HOP, bad].concat(), NLRI),
            &TWO,
        );
        assert_eq!(actions(&u), vec![(c, Discard)], "{bad}");
    }
    // From a 4-octet speaker they are discarded whatever they hold (RFC 6793 §4.1).
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
