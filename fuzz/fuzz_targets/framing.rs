//! A byte stream as a session reads it: `frame_len` finds each message, `decode` reads it, and
//! every message that decodes round-trips. Stops where the session would (an error, or a
//! message not complete yet).
#![no_main]

use baton::wire::{check_round_trip, frame_len};
use baton_fuzz::split_context;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((ctx, mut stream)) = split_context(data) else {
        return;
    };
    while let Ok(Some(n)) = frame_len(stream, ctx) {
        assert!(
            n <= stream.len(),
            "frame_len {n} past the {} buffered",
            stream.len()
        );
        if check_round_trip(&stream[..n], ctx).is_err() {
            return;
        }
        stream = &stream[n..];
    }
});
