//! NOTIFICATION bodies, including Cease/Hard Reset (RFC 8538) and the shutdown communication
//! (RFC 9003) it may carry: decode, read the cause and the message, round-trip, and check that
//! wrapping in a Hard Reset and unwrapping gives the NOTIFICATION back.
#![no_main]

use baton::wire::{check_round_trip, encode, Message};
use baton_fuzz::{frame, CONTEXTS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = &CONTEXTS[1];
    let Ok(Message::Notification(n)) = check_round_trip(&frame(3, data), ctx) else {
        return;
    };
    let _ = n.shutdown_message();
    if let Some(cause) = n.hard_reset_cause() {
        assert_eq!(cause.hard_reset(), n, "Hard Reset cause does not wrap back");
    }
    let wrapped = n.hard_reset();
    assert_eq!(wrapped.hard_reset_cause().as_ref(), Some(&n));
    let mut out = bytes::BytesMut::new();
    encode(&Message::Notification(wrapped), ctx, &mut out);
    if out.len() <= ctx.max_message_len() {
        let _ = check_round_trip(&out, ctx);
    }
});
