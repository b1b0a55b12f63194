//! UPDATE bodies: withdrawn routes, path attributes (RFC 7606 error handling), IPv4 NLRI and
//! MP_REACH_NLRI / MP_UNREACH_NLRI, under each codec context; round-trip what decodes.
#![no_main]

use baton::wire::{check_round_trip, Message};
use baton_fuzz::{frame, split_context};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((ctx, body)) = split_context(data) else {
        return;
    };
    if let Ok(Message::Update(u)) = check_round_trip(&frame(2, body), ctx) {
        let _ = u.as_end_of_rib();
        let _ = u.errors.treat_as_withdraw();
    }
});
