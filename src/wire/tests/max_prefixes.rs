//! Cease / Maximum Number of Prefixes Reached (RFC 4486 §4) byte for byte. The Data field is
//! the AFI (2 octets), the SAFI (1 octet) and the prefix upper bound (4 octets):
//!
//! ```text
//!    +--------------------+
//!    | AFI (2 octets)     |
//!    +--------------------+
//!    | SAFI (1 octet)     |
//!    +--------------------+
//!    | Prefix upper bound |
//!    | (4 octets)         |
//!    +--------------------+
//! ```

use super::{both_ways, frame, hex, FOUR};
use crate::wire::*;

#[test]
fn max_prefixes_for_ipv4_unicast_carries_afi_1_safi_1_and_the_bound() {
    let n = Notification::max_prefixes_reached(Family::IPV4_UNICAST, 1000);
    // NOTIFICATION: code 6, subcode 1 | AFI 0001, SAFI 01, upper bound 1000 = 000003e8.
    both_ways(
        &frame(3, &hex("0601 0001 01 000003e8")),
        &Message::Notification(n.clone()),
        &FOUR,
    );
    assert_eq!((n.code, n.subcode), (notif::CEASE, notif::MAX_PREFIXES));
}

#[test]
fn max_prefixes_for_ipv6_unicast_carries_afi_2_and_a_four_octet_bound() {
    let n = Notification::max_prefixes_reached(Family::IPV6_UNICAST, 0x0102_0304);
    both_ways(
        &frame(3, &hex("0601 0002 01 01020304")),
        &Message::Notification(n),
        &FOUR,
    );
}

#[test]
fn max_prefixes_wrapped_in_a_hard_reset_keeps_its_data_after_code_and_subcode() {
    let n = Notification::max_prefixes_reached(Family::IPV4_UNICAST, 3).hard_reset();
    assert_eq!(n.data, hex("06 01 0001 01 00000003"));
}
