//! ROUTE-REFRESH bodies (RFC 2918, RFC 7313 subtypes): decode and round-trip.
#![no_main]

use baton::wire::check_round_trip;
use baton_fuzz::{frame, CONTEXTS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = check_round_trip(&frame(5, data), &CONTEXTS[1]);
});
