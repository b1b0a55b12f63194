//! Every malformed UPDATE case RFC 7606 names (with RFC 4271 §6.3, RFC 4760 §7, RFC 6793 §6
//! and RFC 8092 §6 where it defers to them), as one table: the octets, built from the RFC
//! layouts, and the exact outcome: session reset with which NOTIFICATION, treat-as-withdraw, or
//! attribute discard. Attribute cases run twice: with IPv4 NLRI in the UPDATE's own field, and
//! with IPv6 NLRI in MP_REACH_NLRI (placed first, as RFC 7606 §5.1 asks of senders).
//!
//! The tests in `update_errors.rs` check what a decoded UPDATE holds beyond the outcome.

use super::update_errors::update_bytes;
use super::{FOUR, TWO};
use crate::wire::attributes::code;
use crate::wire::*;

use AttrErrorAction::{Discard, TreatAsWithdraw as Withdraw};

/// Where the UPDATE carries its reachable prefixes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fam {
    /// 198.18.1.0/24 in the NLRI field, NEXT_HOP 198.18.0.1.
    V4,
    /// 2001:db8:1::/48 in MP_REACH_NLRI, next hop 2001:db8::1, no NEXT_HOP.
    V6,
}

const ORIGIN: &str = "40 01 01 00";
/// AS_SEQUENCE [4200000001] with 4-octet AS numbers, [65001] with 2-octet ones.
const AS_PATH4: &str = "40 02 06 02 01 fa56ea01";
const AS_PATH2: &str = "40 02 04 02 01 fde9";
const NEXT_HOP: &str = "40 03 04 c6120001";
const NLRI_V4: &str = "18 c61201";
const MP_REACH_V6: &str = "80 0e 1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001";

/// The expected outcome of one row.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// Accepted as is.
    Clean,
    /// Accepted, with these (attribute code, action) entries in `Update::errors`.
    Tolerate(Vec<(u8, AttrErrorAction)>),
    /// Session reset: NOTIFICATION (code, subcode) with this data.
    Reset(u8, u8, Vec<u8>),
}

struct Row {
    case: String,
    fam: Option<Fam>,
    ctx: CodecContext,
    bytes: Vec<u8>,
    expect: Expect,
}

fn withdraw(c: u8) -> Expect {
    Expect::Tolerate(vec![(c, Withdraw)])
}

fn discard(c: u8) -> Expect {
    Expect::Tolerate(vec![(c, Discard)])
}

/// UPDATE Message Error (3) with `subcode` and `data` (hex).
fn reset(subcode: u8, data: &str) -> Expect {
    Expect::Reset(notif::UPDATE, subcode, super::hex(data))
}

/// The family's well-formed UPDATE, minus the attributes whose codes are in `drop`, with
/// `extra` appended to the attributes.
fn update(fam: Fam, ctx: &CodecContext, drop: &[u8], extra: &str) -> Vec<u8> {
    let as_path = if ctx.four_octet_as {
        AS_PATH4
    } else {
        AS_PATH2
    };
    let base: &[(u8, &str)] = match fam {
        Fam::V4 => &[
            (code::ORIGIN, ORIGIN),
            (code::AS_PATH, as_path),
            (code::NEXT_HOP, NEXT_HOP),
        ],
        Fam::V6 => &[
            (code::MP_REACH_NLRI, MP_REACH_V6),
            (code::ORIGIN, ORIGIN),
            (code::AS_PATH, as_path),
        ],
    };
    let mut attrs: String = base
        .iter()
        .filter(|(c, _)| !drop.contains(c))
        .map(|&(_, a)| a)
        .collect();
    attrs.push_str(extra);
    let nlri = if fam == Fam::V4 { NLRI_V4 } else { "" };
    update_bytes("", &attrs, nlri)
}

#[derive(Default)]
struct Table(Vec<Row>);

impl Table {
    /// A row for each family: the family's UPDATE with the attribute of code `replaces` (if
    /// any) taken out and `bad` appended.
    fn attr(&mut self, case: &str, ctx: CodecContext, bad: &str, replaces: &[u8], expect: Expect) {
        for fam in [Fam::V4, Fam::V6] {
            self.fam(case, fam, ctx, replaces, bad, expect.clone());
        }
    }

    fn fam(
        &mut self,
        case: &str,
        fam: Fam,
        ctx: CodecContext,
        drop: &[u8],
        extra: &str,
        expect: Expect,
    ) {
        let bytes = update(fam, &ctx, drop, extra);
        self.0.push(Row {
            case: format!("{case} [{fam:?}]"),
            fam: Some(fam),
            ctx,
            bytes,
            expect,
        });
    }

    /// A row from hand-built fields (withdrawn routes, attributes, NLRI).
    fn raw(&mut self, case: &str, fields: (&str, &str, &str), expect: Expect) {
        self.body(case, update_bytes(fields.0, fields.1, fields.2), expect);
    }

    /// A row from a whole hand-built UPDATE.
    fn body(&mut self, case: &str, bytes: Vec<u8>, expect: Expect) {
        self.0.push(Row {
            case: case.to_string(),
            fam: None,
            ctx: FOUR,
            bytes,
            expect,
        });
    }
}

/// RFC 4271 §6.3 as kept by RFC 7606 §3(a), §3(i), §3(j) and §5.3: the fields that cannot be
/// parsed, so nothing can be withdrawn.
fn framing(t: &mut Table) {
    use notif::{INVALID_NETWORK_FIELD as NETWORK, MALFORMED_ATTRIBUTE_LIST as LIST};
    let frame = |body: &str| super::frame(2, &super::hex(body));
    let attrs = [ORIGIN, AS_PATH4, NEXT_HOP].concat();
    t.body(
        "§3(a) withdrawn routes length overruns the message",
        frame("0005 18c61201 0000"),
        reset(LIST, ""),
    );
    t.body(
        "§3(a) no room left for the total path attribute length",
        frame("0003 18c612"),
        reset(LIST, ""),
    );
    t.body(
        "§3(a) total path attribute length overruns the message",
        frame("0000 0005 40010100"),
        reset(LIST, ""),
    );
    t.raw(
        "§3(i)/§5.3 withdrawn prefix longer than 32 bits",
        ("21 c6120100 00", "", ""),
        reset(NETWORK, ""),
    );
    t.raw(
        "§3(i)/§5.3 withdrawn prefix overruns the field",
        ("20 c61201", "", ""),
        reset(NETWORK, ""),
    );
    t.raw(
        "§5.3 NLRI prefix longer than 32 bits",
        ("", &attrs, "21 c6120100 00"),
        reset(NETWORK, ""),
    );
    t.raw(
        "§5.3 NLRI prefix overruns the field",
        ("", &attrs, "18 c612"),
        reset(NETWORK, ""),
    );
    t.raw(
        "RFC 4271 §6.3 unrecognized well-known attribute",
        ("", "40 63 01 00", ""),
        reset(notif::UNRECOGNIZED_WELL_KNOWN, "40 63 01 00"),
    );
}

/// RFC 7606 §7.11, §3(g), §3(j), §5.3 and RFC 4760 §7: MP_REACH_NLRI / MP_UNREACH_NLRI that
/// cannot be parsed reset the session with Optional Attribute Error and the attribute as data.
fn multiprotocol(t: &mut Table) {
    use notif::{MALFORMED_ATTRIBUTE_LIST as LIST, OPTIONAL_ATTRIBUTE as OPTIONAL};
    let base = [ORIGIN, AS_PATH4].concat();
    #[rustfmt::skip]
    let cases: [(&str, &str); 11] = [
        ("§5.3 MP_REACH IPv6 prefix longer than 128 bits", "80 0e 17 0002 01 10 20010db8000000000000000000000002 00 81 20"),
        ("§5.3 MP_REACH IPv6 prefix overruns the attribute", "80 0e 19 0002 01 10 20010db8000000000000000000000002 00 30 2001db"),
        ("§7.11 MP_REACH IPv6 next hop of 5 octets", "80 0e 0a 0002 01 05 0102030405 00"),
        ("§7.11 MP_REACH IPv6 next hop of 4 octets (an IPv4 address)", "80 0e 10 0002 01 04 c6120001 00 30 20010db80001"),
        ("§7.11 MP_REACH IPv6 next hop of 0 octets", "80 0e 0c 0002 01 00 00 30 20010db80001"),
        ("§7.11 MP_REACH IPv4 next hop of 5 octets", "80 0e 0e 0001 01 05 c612000100 00 18 c61201"),
        ("§7.11 MP_REACH ends before the reserved octet", "80 0e 04 0002 01 00"),
        ("§7.11 MP_REACH shorter than AFI+SAFI", "80 0e 02 0002"),
        ("§7.11 MP_UNREACH shorter than AFI+SAFI", "80 0f 02 0002"),
        ("§5.3 MP_UNREACH IPv6 prefix longer than 128 bits", "80 0f 05 0002 01 81 20"),
        ("§5.3 MP_UNREACH IPv6 prefix overruns the attribute", "80 0f 05 0002 01 30 20"),
    ];
    for (case, mp) in cases {
        t.raw(case, ("", &[&base, mp].concat(), ""), reset(OPTIONAL, mp));
    }
    let unreach = "80 0f 0a 0002 01 30 20010db80002";
    t.raw(
        "§3(g) MP_REACH_NLRI twice",
        ("", &[MP_REACH_V6, &base, MP_REACH_V6].concat(), ""),
        reset(LIST, ""),
    );
    t.raw(
        "§3(g) MP_UNREACH_NLRI twice",
        ("", &[unreach, unreach].concat(), ""),
        reset(LIST, ""),
    );
    t.raw(
        "§3(d), RFC 4760 §4: MP_UNREACH_NLRI alone needs no other attribute",
        ("", unreach, ""),
        Expect::Clean,
    );
    t.raw(
        "§3(d): withdrawn routes alone need no attribute",
        ("18 c61201", "", ""),
        Expect::Clean,
    );
}

/// RFC 7606 §7.1–§7.10, §7.14, RFC 8092 §6: malformed values, each attribute in turn.
fn values(t: &mut Table) {
    use code::*;
    #[rustfmt::skip]
    let rows: &[(&str, &str, u8, Expect)] = &[
        ("§7.1 ORIGIN of length 2", "40 01 02 0000", ORIGIN, withdraw(ORIGIN)),
        ("§7.1 ORIGIN of length 0", "40 01 00", ORIGIN, withdraw(ORIGIN)),
        ("§7.1 ORIGIN undefined value 3", "40 01 01 03", ORIGIN, withdraw(ORIGIN)),
        ("§7.2 AS_PATH segment of length 0", "40 02 02 02 00", AS_PATH, withdraw(AS_PATH)),
        ("§7.2 AS_PATH segment overruns", "40 02 05 02 01 fa56ea", AS_PATH, withdraw(AS_PATH)),
        ("§7.2 AS_PATH single octet left", "40 02 07 02 01 fa56ea01 02", AS_PATH, withdraw(AS_PATH)),
        ("§7.2 AS_PATH segment type 0", "40 02 06 00 01 fa56ea01", AS_PATH, withdraw(AS_PATH)),
        ("§7.2 AS_PATH segment type 5", "40 02 06 05 01 fa56ea01", AS_PATH, withdraw(AS_PATH)),
        ("§7.2 AS_PATH AS_CONFED_SEQUENCE", "40 02 06 03 01 fa56ea01", AS_PATH, withdraw(AS_PATH)),
        ("§7.2 AS_PATH AS_CONFED_SET", "40 02 06 04 01 fa56ea01", AS_PATH, withdraw(AS_PATH)),
        ("§7.3 NEXT_HOP of length 5", "40 03 05 c612000100", NEXT_HOP, withdraw(NEXT_HOP)),
        ("§7.3 NEXT_HOP of length 0", "40 03 00", NEXT_HOP, withdraw(NEXT_HOP)),
        ("§7.4 MULTI_EXIT_DISC of length 3", "80 04 03 000001", 0, withdraw(MED)),
        ("§7.4 MULTI_EXIT_DISC of length 0", "80 04 00", 0, withdraw(MED)),
        ("§7.5 LOCAL_PREF of length 5", "40 05 05 0000000064", 0, withdraw(LOCAL_PREF)),
        ("§7.6 ATOMIC_AGGREGATE of length 1", "40 06 01 00", 0, discard(ATOMIC_AGGREGATE)),
        ("§7.7 AGGREGATOR of length 6 (4-octet AS)", "c0 07 06 fde9 c6120001", 0, discard(AGGREGATOR)),
        ("§7.7 AGGREGATOR of length 9", "c0 07 09 fa56ea01 c6120001 00", 0, discard(AGGREGATOR)),
        ("§7.8 COMMUNITIES of length 0", "c0 08 00", 0, withdraw(COMMUNITIES)),
        ("§7.8 COMMUNITIES of length 5", "c0 08 05 fde90064 00", 0, withdraw(COMMUNITIES)),
        ("§7.9 ORIGINATOR_ID of length 5", "80 09 05 c612000200", 0, withdraw(ORIGINATOR_ID)),
        ("§7.9 ORIGINATOR_ID of length 0", "80 09 00", 0, withdraw(ORIGINATOR_ID)),
        ("§7.10 CLUSTER_LIST of length 0", "80 0a 00", 0, withdraw(CLUSTER_LIST)),
        ("§7.10 CLUSTER_LIST of length 6", "80 0a 06 c6120002 0000", 0, withdraw(CLUSTER_LIST)),
        ("§7.14 EXTENDED_COMMUNITIES of length 7", "c0 10 07 00020000fde900", 0, withdraw(EXTENDED_COMMUNITIES)),
        ("§7.14 EXTENDED_COMMUNITIES of length 0", "c0 10 00", 0, withdraw(EXTENDED_COMMUNITIES)),
        ("RFC 8092 §6 LARGE_COMMUNITY of length 13", "c0 20 0d 00000000000000000000000000", 0, withdraw(LARGE_COMMUNITIES)),
        ("§7.9/§7.10 well-formed ORIGINATOR_ID and CLUSTER_LIST", "80 09 04 c6120002 80 0a 08 c6120002 c6120003", 0, Expect::Clean),
    ];
    for (case, bad, replaces, expect) in rows {
        t.attr(case, FOUR, bad, &[*replaces], expect.clone());
    }
    t.attr(
        "§7.7 AGGREGATOR of length 8 (2-octet AS)",
        TWO,
        "c0 07 08 fa56ea01 c6120001",
        &[],
        discard(code::AGGREGATOR),
    );
    t.attr(
        "§7.2 AS_PATH of odd length (2-octet AS)",
        TWO,
        "40 02 05 02 01 fde9 00",
        &[code::AS_PATH],
        withdraw(code::AS_PATH),
    );
}

/// RFC 7606 §3(c): Optional or Transitive bits in conflict with the attribute's definition.
/// §3(f): a case involving ATOMIC_AGGREGATE or AGGREGATOR is an attribute discard instead.
fn flags(t: &mut Table) {
    use code::*;
    #[rustfmt::skip]
    let rows: &[(&str, &str, u8, Expect)] = &[
        ("§3(c) ORIGIN optional", "c0 01 01 00", ORIGIN, withdraw(ORIGIN)),
        ("§3(c) AS_PATH non-transitive", "80 02 06 02 01 fa56ea01", AS_PATH, withdraw(AS_PATH)),
        ("§3(c) NEXT_HOP optional", "c0 03 04 c6120001", NEXT_HOP, withdraw(NEXT_HOP)),
        ("§3(c) MULTI_EXIT_DISC transitive", "c0 04 04 00000001", 0, withdraw(MED)),
        ("§3(c) MULTI_EXIT_DISC well-known", "40 04 04 00000001", 0, withdraw(MED)),
        ("§3(c) LOCAL_PREF optional", "c0 05 04 00000064", 0, withdraw(LOCAL_PREF)),
        ("§3(c,f) ATOMIC_AGGREGATE optional", "c0 06 00", 0, discard(ATOMIC_AGGREGATE)),
        ("§3(c,f) AGGREGATOR non-transitive", "80 07 08 fa56ea01 c6120001", 0, discard(AGGREGATOR)),
        ("§3(c) COMMUNITIES non-transitive", "80 08 04 fde90064", 0, withdraw(COMMUNITIES)),
        ("§3(c) ORIGINATOR_ID transitive", "c0 09 04 c6120002", 0, withdraw(ORIGINATOR_ID)),
        ("§3(c) CLUSTER_LIST well-known", "40 0a 04 c6120002", 0, withdraw(CLUSTER_LIST)),
        ("§3(c) EXTENDED_COMMUNITIES non-transitive", "80 10 08 00020000fde90064", 0, withdraw(EXTENDED_COMMUNITIES)),
        ("§3(c) LARGE_COMMUNITY non-transitive", "80 20 0c fa56ea01 00000001 00000002", 0, withdraw(LARGE_COMMUNITIES)),
        ("§3(c) Partial and Extended Length bits are no conflict", "50 01 0001 00 e0 08 04 fde90064", ORIGIN, Expect::Clean),
    ];
    for (case, bad, replaces, expect) in rows {
        t.attr(case, FOUR, bad, &[*replaces], expect.clone());
    }
    // The multiprotocol attributes are still parsed: their prefixes are what is withdrawn.
    let mp = MP_REACH_V6.replacen("80", "c0", 1);
    t.raw(
        "§3(c) MP_REACH_NLRI transitive",
        ("", &[&mp, self::ORIGIN, AS_PATH4].concat(), ""),
        withdraw(code::MP_REACH_NLRI),
    );
    t.raw(
        "§3(c) MP_UNREACH_NLRI well-known",
        ("", "40 0f 0a 0002 01 30 20010db80002", ""),
        withdraw(code::MP_UNREACH_NLRI),
    );
}

/// RFC 7606 §3(d), §3(g), §3(h) and §4: missing, repeated and overrunning attributes, and
/// several errors in one UPDATE.
fn list(t: &mut Table) {
    use code::*;
    use Fam::{V4, V6};
    for fam in [V4, V6] {
        t.fam(
            "§3(d) ORIGIN missing",
            fam,
            FOUR,
            &[ORIGIN],
            "",
            withdraw(ORIGIN),
        );
        t.fam(
            "§3(d) AS_PATH missing",
            fam,
            FOUR,
            &[AS_PATH],
            "",
            withdraw(AS_PATH),
        );
    }
    t.fam(
        "§3(d) NEXT_HOP missing",
        V4,
        FOUR,
        &[NEXT_HOP],
        "",
        withdraw(NEXT_HOP),
    );
    t.fam(
        "§3(d) NEXT_HOP not needed for MP_REACH_NLRI alone",
        V6,
        FOUR,
        &[],
        "",
        Expect::Clean,
    );
    t.fam(
        "§3(d) no attributes but NLRI",
        V4,
        FOUR,
        &[ORIGIN, AS_PATH, NEXT_HOP],
        "",
        Expect::Tolerate(vec![
            (ORIGIN, Withdraw),
            (AS_PATH, Withdraw),
            (NEXT_HOP, Withdraw),
        ]),
    );
    #[rustfmt::skip]
    let rows: &[(&str, &str, Expect)] = &[
        ("§3(g) ORIGIN twice: the second is discarded", "40 01 01 02", discard(ORIGIN)),
        ("§3(g) AS_PATH twice", "40 02 06 02 01 fa56ea02", discard(AS_PATH)),
        ("§3(g) unrecognized optional twice", "c0 63 01 01 c0 63 01 02", discard(99)),
        ("§4 last attribute overruns the attribute field", "c0 08 08 fde90064", withdraw(COMMUNITIES)),
        ("§4 two octets left", "c0 08", withdraw(COMMUNITIES)),
        ("§4 one octet left", "c0", withdraw(0)),
        ("§4 three octets left with Extended Length", "d0 08 00", withdraw(COMMUNITIES)),
        (
            "§3(h) a discard and a treat-as-withdraw: both recorded, withdraw wins",
            "40 06 01 00 40 05 05 0000000064",
            Expect::Tolerate(vec![(ATOMIC_AGGREGATE, Discard), (LOCAL_PREF, Withdraw)]),
        ),
    ];
    for (case, extra, expect) in rows {
        t.attr(case, FOUR, extra, &[], expect.clone());
    }
    t.attr(
        "§3(h) a treat-as-withdraw and a repeated MP_UNREACH_NLRI: session reset wins",
        FOUR,
        "40 05 05 0000000064 80 0f 03 000201 80 0f 03 000201",
        &[],
        reset(notif::MALFORMED_ATTRIBUTE_LIST, ""),
    );
    t.attr(
        "§3(h) a treat-as-withdraw and an unparsable MP_UNREACH_NLRI: session reset wins",
        FOUR,
        "40 05 05 0000000064 80 0f 05 0002 01 81 20",
        &[],
        reset(notif::OPTIONAL_ATTRIBUTE, "80 0f 05 0002 01 81 20"),
    );
}

/// RFC 6793 §6 (as RFC 7606 §7 leaves it): AS4_PATH and AS4_AGGREGATOR are discarded when
/// malformed, and always from a 4-octet peer (§4.1: a NEW speaker never sends them to another).
fn as4(t: &mut Table) {
    use code::{AS4_AGGREGATOR, AS4_PATH};
    #[rustfmt::skip]
    let rows: &[(&str, CodecContext, &str)] = &[
        ("RFC 6793 §6 AS4_PATH segment of length 0", TWO, "c0 11 02 02 00"),
        ("RFC 6793 §6 AS4_PATH segment overruns", TWO, "c0 11 03 02 01 00"),
        ("RFC 6793 §6 AS4_PATH AS_CONFED_SEQUENCE", TWO, "c0 11 06 03 01 fa56ea01"),
        ("RFC 6793 §6 AS4_PATH segment type 0", TWO, "c0 11 06 00 01 fa56ea01"),
        ("RFC 6793 §4.1 AS4_PATH from a 4-octet peer", FOUR, "c0 11 06 02 01 fa56ea01"),
    ];
    for (case, ctx, bad) in rows {
        t.attr(case, *ctx, bad, &[], discard(AS4_PATH));
    }
    #[rustfmt::skip]
    let rows: &[(&str, CodecContext, &str)] = &[
        ("RFC 6793 §6 AS4_AGGREGATOR of length 6", TWO, "c0 12 06 5ba0 c6120001"),
        ("RFC 6793 §6 AS4_AGGREGATOR of length 9", TWO, "c0 12 09 fa56ea01 c6120001 00"),
        ("RFC 6793 §4.1 AS4_AGGREGATOR from a 4-octet peer", FOUR, "c0 12 08 fa56ea01 c6120001"),
    ];
    for (case, ctx, bad) in rows {
        t.attr(case, *ctx, bad, &[], discard(AS4_AGGREGATOR));
    }
    t.attr(
        "§3(c) AS4_PATH non-transitive",
        TWO,
        "80 11 06 02 01 fa56ea01",
        &[],
        withdraw(AS4_PATH),
    );
    t.attr(
        "RFC 6793 well-formed AS4_PATH and AS4_AGGREGATOR from a 2-octet peer",
        TWO,
        "c0 11 06 02 01 fa56ea01 c0 12 08 fa56ea01 c6120001",
        &[],
        Expect::Clean,
    );
}

/// True when the family's prefixes survived decoding, so that a treat-as-withdraw has
/// something to withdraw.
fn prefixes_kept(u: &Update, fam: Fam) -> bool {
    match fam {
        Fam::V4 => !u.nlri.is_empty(),
        Fam::V6 => u.mp_reach.as_ref().is_some_and(|m| !m.nlri.is_empty()),
    }
}

#[test]
fn rfc7606_malformed_update_table() {
    let mut t = Table::default();
    framing(&mut t);
    multiprotocol(&mut t);
    values(&mut t);
    flags(&mut t);
    list(&mut t);
    as4(&mut t);
    let mut failures = Vec::new();
    for row in &t.0 {
        let got = match decode(&row.bytes, &row.ctx) {
            Err(e) => Expect::Reset(e.code, e.subcode, e.data),
            Ok(Message::Update(u)) => {
                if let Some(fam) = row.fam {
                    if !prefixes_kept(&u, fam) {
                        failures.push(format!("{}: the prefixes were lost", row.case));
                    }
                }
                if u.errors.is_empty() {
                    Expect::Clean
                } else {
                    Expect::Tolerate(u.errors.0.iter().map(|e| (e.code, e.action)).collect())
                }
            }
            Ok(other) => panic!("{}: decoded as {other:?}", row.case),
        };
        if got != row.expect {
            failures.push(format!(
                "{}: expected {:?}, got {got:?}",
                row.case, row.expect
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n{}",
        failures.len(),
        t.0.len(),
        failures.join("\n")
    );
    eprintln!("RFC 7606 table: {} rows", t.0.len());
    write_fuzz_seeds(&t);
}

/// With `FUZZ_SEEDS` set to a folder (`fuzz/seeds/update`, see `fuzz/make_seeds.py`), each row
/// becomes a seed of the `update` fuzz target: the context octet (0 for 2-octet AS, 1 for
/// 4-octet), then the UPDATE body.
fn write_fuzz_seeds(t: &Table) {
    let Some(dir) = std::env::var_os("FUZZ_SEEDS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (i, row) in t.0.iter().enumerate() {
        let mut seed = vec![u8::from(row.ctx.four_octet_as)];
        seed.extend_from_slice(&row.bytes[super::HEADER_LEN..]);
        std::fs::write(dir.join(format!("rfc7606_{i:03}")), seed).unwrap();
    }
}
