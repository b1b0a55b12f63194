//! The intent's hand-written reader gives what serde gives: for the writer's own shape (read
//! by hand; the round trips are in `intent_json.rs`), for any other JSON serde accepts (handed
//! to serde), and for JSON serde refuses (serde's message, naming what is wrong).

use std::net::Ipv4Addr;

use super::intent_json::{encoded, varied_intent};
use crate::config::Config;
use crate::store::intent_read::{read_intent, read_usual};
use crate::store::json_cursor::{ipv4_prefix, Unusual};
use crate::store::Intent;

fn by_serde(payload: &[u8]) -> Intent {
    serde_json::from_slice(payload).unwrap()
}

/// The writer's payload of [`varied_intent`], as text to edit.
fn varied_text() -> String {
    String::from_utf8(encoded(&varied_intent())).unwrap()
}

/// `text` with the first `from` replaced by `to` (which must be there).
fn edited(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} is not in the payload");
    text.replacen(from, to, 1)
}

/// The first route of [`varied_intent`] that has only a prefix, as the writer writes it.
const PLAIN_ROUTE: &str = r#"{"prefix":"10.0.0.0/8","as_path_prepend":0}"#;

#[test]
fn odd_but_valid_json_is_read_by_serde_to_the_same_intent() {
    let text = varied_text();
    let without_routes = serde_json::to_string(&Intent::new(Config::default_config())).unwrap();
    let cases = [
        (
            "pretty-printed",
            serde_json::to_string_pretty(&by_serde(text.as_bytes())).unwrap(),
        ),
        (
            "an escape in a prefix",
            edited(&text, r#""10.0.0.0/8""#, r#""10.0.0.0\/8""#),
        ),
        (
            "fields in another order",
            edited(
                &text,
                PLAIN_ROUTE,
                r#"{"as_path_prepend":0,"prefix":"10.0.0.0/8"}"#,
            ),
        ),
        (
            "a null med",
            edited(&text, PLAIN_ROUTE, r#"{"prefix":"10.0.0.0/8","med":null}"#),
        ),
        (
            "a space after a comma",
            edited(&text, PLAIN_ROUTE, r#"{"prefix":"10.0.0.0/8", "med":7}"#),
        ),
        (
            "no list of routes",
            edited(&without_routes, r#""api_routes":[],"#, ""),
        ),
    ];
    for (what, payload) in cases {
        assert!(
            read_usual(payload.as_bytes()).is_err(),
            "{what}: read by hand"
        );
        let back = read_intent(payload.as_bytes());
        assert_eq!(back.unwrap(), by_serde(payload.as_bytes()), "{what}");
    }
}

#[test]
fn what_serde_allows_beyond_the_writer_is_read_by_hand_to_the_same_intent() {
    let text = varied_text();
    let cases = [
        (
            "no as_path_prepend",
            edited(&text, PLAIN_ROUTE, r#"{"prefix":"10.0.0.0/8"}"#),
        ),
        (
            "a prefix listed twice: the last wins",
            edited(
                &text,
                PLAIN_ROUTE,
                &format!(r#"{PLAIN_ROUTE},{{"prefix":"10.0.0.0/8","med":5}}"#),
            ),
        ),
        (
            "empty lists of communities",
            edited(
                &text,
                PLAIN_ROUTE,
                r#"{"prefix":"10.0.0.0/8","communities":[],"large_communities":[]}"#,
            ),
        ),
    ];
    for (what, payload) in cases {
        let back = read_usual(payload.as_bytes());
        assert_eq!(back, Ok(by_serde(payload.as_bytes())), "{what}");
    }
}

#[test]
fn where_the_shape_departs_from_the_writers_is_named() {
    let payload = edited(&varied_text(), r#""10.0.0.0/8""#, r#""10.0.0.0\/8""#);
    let at = payload.find(r#"10.0.0.0\/8"#).unwrap();
    let unusual = read_usual(payload.as_bytes()).unwrap_err();
    let expected = "a string of printable ASCII without escapes";
    assert_eq!(unusual, Unusual { at, expected });
    assert_eq!(
        unusual.to_string(),
        format!("at byte {at}: expected {expected}")
    );
}

#[test]
fn a_damaged_list_is_refused_with_serdes_message_naming_what_is_wrong() {
    let text = varied_text();
    let cases = [
        (
            "host bits",
            edited(&text, r#""10.0.0.0/8""#, r#""10.0.0.1/8""#),
            "10.0.0.1/8 has host bits set",
        ),
        (
            "too many prepends",
            edited(&text, r#""as_path_prepend":10"#, r#""as_path_prepend":11"#),
            "11 prepends is too many",
        ),
        (
            "an unknown field",
            edited(&text, PLAIN_ROUTE, r#"{"prefix":"10.0.0.0/8","colour":1}"#),
            "unknown field `colour`",
        ),
        (
            "a number out of range",
            edited(&text, r#""med":1000000"#, r#""med":4294967296"#),
            "4294967296",
        ),
        (
            "a bad community",
            edited(&text, r#""65001:100""#, r#""65001:100000""#),
            "65001:100000",
        ),
        (
            "a truncated list",
            text[..text.find(PLAIN_ROUTE).unwrap() + 20].to_string(),
            "EOF while parsing",
        ),
    ];
    for (what, payload, says) in cases {
        let error = read_intent(payload.as_bytes()).unwrap_err().to_string();
        assert!(error.contains(says), "{what}: {error}");
        assert!(error.contains("line 1 column"), "{what}: {error}");
    }
}

#[test]
fn ipv4_prefixes_read_by_hand_are_those_the_address_parser_reads() {
    let texts = [
        "0.0.0.0/0",
        "10.0.0.0/8",
        "255.255.255.255/32",
        "192.0.2.0/24",
        "1.2.3.4/255",
        "010.0.0.0/8",
        "10.0.0.0/08",
        "10.0.0.0/+8",
        "10.0.0/8",
        "10.0.0.0.0/8",
        "256.0.0.0/8",
        "10.0.0.0/256",
        "10..0.0/8",
        "10.0.0.0/",
        "/8",
        "10.0.0.0",
        "1.2.3.4/99999999999",
        "::/0",
        " 10.0.0.0/8",
    ];
    for text in texts {
        let by_std = text.split_once('/').and_then(|(addr, len)| {
            let canonical = !(len.starts_with('+') || len.len() > 1 && len.starts_with('0'));
            let parsed = (addr.parse::<Ipv4Addr>().ok()?, len.parse::<u8>().ok()?);
            canonical.then_some(parsed)
        });
        let by_hand = ipv4_prefix(text.as_bytes());
        assert!(
            by_hand.is_none() || by_hand == by_std,
            "{text}: {by_hand:?}"
        );
        assert_eq!(by_hand.is_some(), by_std.is_some(), "{text}");
    }
}
