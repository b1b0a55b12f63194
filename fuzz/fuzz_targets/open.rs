//! OPEN bodies with their optional parameters and capabilities (RFC 4271 §4.2, RFC 5492,
//! RFC 9072 extended parameters): decode, and round-trip what decodes.
#![no_main]

use baton::wire::{check_round_trip, Message};
use baton_fuzz::{frame, split_context};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((ctx, body)) = split_context(data) else {
        return;
    };
    if let Ok(Message::Open(open)) = check_round_trip(&frame(1, body), ctx) {
        let _ = open.asn();
    }
});
