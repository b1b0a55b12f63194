//! Connection collision resolution (RFC 4271 §6.8, RFC 6286 §2.3).

use super::*;

#[test]
fn collision_keeps_connection_of_higher_id() {
    let low = Ipv4Addr::new(198, 18, 0, 1);
    let high = Ipv4Addr::new(198, 18, 0, 2);
    assert!(keep_outgoing(high, low));
    assert!(!keep_outgoing(low, high));
}

#[test]
fn collision_compares_identifiers_as_unsigned_integers() {
    // 198.19.0.1 > 9.255.255.255 as u32, though "9" > "1" as text.
    assert!(keep_outgoing(
        Ipv4Addr::new(198, 19, 0, 1),
        Ipv4Addr::new(9, 255, 255, 255)
    ));
}

#[test]
fn collision_with_equal_ids_keeps_connection_of_higher_as() {
    assert!(keep_outgoing_with_as(LOCAL_ID, 65002, LOCAL_ID, 65001));
    assert!(!keep_outgoing_with_as(LOCAL_ID, 65001, LOCAL_ID, 65002));
    assert!(keep_outgoing_with_as(REMOTE_ID, 1, LOCAL_ID, 2));
}
