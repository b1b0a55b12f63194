//! The REST API's request bodies, through the code the handlers run: the strict JSON reader,
//! a new peer, a peer patch, routes to announce and prefixes to withdraw (the first octet picks
//! which). What is accepted, serialized again, is accepted as the same value.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use baton::api::fuzzing::{patch, peer, prefixes, routes, strict_json};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

/// Equal, floating-point numbers within a relative 1e-15: serde_json (without its
/// `float_roundtrip` feature) may read a decimal one unit in the last place off, so `3.55e40`
/// comes back as `3.5499999999999997e40`. No API field takes a float.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || (x - y).abs() <= 1e-15 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            if let Ok(v) = strict_json(body) {
                let again = serde_json::to_vec(&v).unwrap();
                let back = strict_json(&again).expect("written back it parses");
                assert!(same(&back, &v), "{v} came back as {back}");
            }
        }
        1 => {
            if let Ok(p) = peer(body) {
                let again = serde_json::to_vec(&p).unwrap();
                assert_eq!(peer(&again).expect("a peer written back"), p);
            }
        }
        2 => {
            let _ = patch(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)), body);
        }
        3 => {
            if let Ok(r) = routes(body) {
                let again = serde_json::to_vec(&json!({ "routes": r })).unwrap();
                assert_eq!(routes(&again).expect("routes written back"), r);
            }
        }
        _ => {
            if let Ok(p) = prefixes(body) {
                let text: Vec<String> = p.iter().map(ToString::to_string).collect();
                let again = serde_json::to_vec(&json!({ "prefixes": text })).unwrap();
                assert_eq!(prefixes(&again).expect("prefixes written back"), p);
            }
        }
    }
});
