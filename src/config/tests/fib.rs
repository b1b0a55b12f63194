//! `[fib]` tests: defaults, and every refused value named at its line.

use super::*;
use crate::config::fib::{DEFAULT_PROTOCOL, MAIN_TABLE};

#[test]
fn fib_is_off_with_documented_defaults_when_left_out() {
    let config = parse_ok(GLOBAL);
    assert_eq!(config.fib, Fib::default());
    assert!(!config.fib.enabled);
    assert_eq!(config.fib.table, MAIN_TABLE);
    assert_eq!(config.fib.protocol, DEFAULT_PROTOCOL);
    assert_eq!(config.fib.src(Family::IPV4_UNICAST), None);
    // Written back, a default [fib] is left out.
    assert!(!toml::to_string(&config).unwrap().contains("[fib]"));
}

#[test]
fn the_main_table_has_a_name() {
    let config = parse_ok(&format!(
        "{GLOBAL}[fib]\nenabled = true\ntable = \"main\"\n"
    ));
    assert_eq!(config.fib.table, 254);
    let config = parse_ok(&format!("{GLOBAL}[fib]\ntable = 4000000\n"));
    assert_eq!(config.fib.table, 4_000_000);
}

/// The cases of [`super::every_mistake_names_file_line_and_field`] for `[fib]`.
#[rustfmt::skip]
pub(super) fn cases() -> Vec<Case> {
    let fib = |line: &str| format!("{GLOBAL}[fib]\nenabled = true\n{line}\n");
    vec![
        case("fib unknown key", fib("interval = 5"), 7, Some("fib.interval"), "unknown field"),
        case("fib interval 0", fib("reconcile_interval = 0"), 7, Some("fib.reconcile_interval"), "reconcile interval 0 is not allowed: it must be at least 1 second"),
        case("fib interval negative", fib("reconcile_interval = -5"), 7, Some("fib.reconcile_interval"), "reconcile interval -5 is not allowed"),
        case("fib interval absurd", fib("reconcile_interval = 86401"), 7, Some("fib.reconcile_interval"), "at most 86400 seconds"),
        case("fib interval in ms", fib("reconcile_interval = 10000000"), 7, Some("fib.reconcile_interval"), "too long"),
        case("fib interval text", fib("reconcile_interval = \"10s\""), 7, Some("fib.reconcile_interval"), "expected i64"),
        case("fib table 0", fib("table = 0"), 7, Some("fib.table"), "table 0 is not a table"),
        case("fib table local", fib("table = 255"), 7, Some("fib.table"), "kernel's local table"),
        case("fib table negative", fib("table = -1"), 7, Some("fib.table"), "out of range"),
        case("fib table name", fib("table = \"local\""), 7, Some("fib.table"), "unknown table name \"local\""),
        case("fib protocol kernel", fib("protocol = 2"), 7, Some("fib.protocol"), "protocol 2 (kernel) is the kernel's own"),
        case("fib protocol bird", fib("protocol = 12"), 7, Some("fib.protocol"), "protocol 12 is bird's"),
        case("fib protocol FRR", fib("protocol = 186"), 7, Some("fib.protocol"), "bgp (FRR)"),
        case("fib protocol too large", fib("protocol = 256"), 7, Some("fib.protocol"), "256 is out of range 0..=255"),
        case("fib metric negative", fib("metric = -1"), 7, Some("fib.metric"), "-1 is out of range 0..=4294967295"),
        case("fib src_v4 is IPv6", fib("src_v4 = \"2001:db8::1\""), 7, Some("fib.src_v4"), "\"2001:db8::1\" is not an IPv4 address"),
        case("fib src_v6 unspecified", fib("src_v6 = \"::\""), 7, Some("fib.src_v6"), ":: cannot be a preferred source"),
        case("fib families empty", fib("families = []"), 7, Some("fib.families"), "the list is empty"),
        case("fib exclude_peers garbage", fib("exclude_peers = [\"peer1\"]"), 7, Some("fib.exclude_peers[0]"), "invalid IP address syntax"),
        case("fib enabled not a bool", format!("{GLOBAL}[fib]\nenabled = 1\n"), 6, Some("fib.enabled"), "expected a boolean"),
    ]
}
