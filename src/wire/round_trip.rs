//! The round-trip property, shared by the fuzz targets (`fuzz/`) and the mutation test
//! (`tests/wire_fuzz.rs`) so that both hold the codec to the same promise: whatever decodes
//! re-encodes, within the size limit, to octets that decode to the same value and re-encode to
//! the same octets. `Update::errors` is left out of the comparison: it records what the first
//! decode tolerated (a repeated attribute, say), which the re-encoding no longer has.

use bytes::BytesMut;

use super::{decode, encode, frame_len, CodecContext, DecodeError, Message, UpdateErrors};

/// Decodes `bytes` under `ctx` and checks the round trip of what decoded.
///
/// # Panics
///
/// When the property fails: that is the finding, with the input in the message.
pub fn check_round_trip(bytes: &[u8], ctx: &CodecContext) -> Result<Message, DecodeError> {
    if let Ok(Some(n)) = frame_len(bytes, ctx) {
        assert!(
            (19..=bytes.len()).contains(&n),
            "frame_len {n} for {bytes:02x?}"
        );
    }
    let msg = decode(bytes, ctx)?;
    let again = encode_vec(&msg, ctx);
    assert!(
        again.len() <= ctx.max_message_len(),
        "re-encoding of {bytes:02x?} under {ctx:?} grew past the limit"
    );
    let back = decode(&again, ctx).unwrap_or_else(|e| {
        panic!("re-encoding of {bytes:02x?} under {ctx:?} does not decode: {e}\n{msg:?}")
    });
    assert_eq!(
        without_errors(back.clone()),
        without_errors(msg.clone()),
        "round trip of {bytes:02x?} under {ctx:?}"
    );
    assert_eq!(
        encode_vec(&back, ctx),
        again,
        "re-encoding of {bytes:02x?} under {ctx:?} is not stable"
    );
    Ok(msg)
}

fn encode_vec(msg: &Message, ctx: &CodecContext) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(msg, ctx, &mut out);
    out.to_vec()
}

fn without_errors(mut msg: Message) -> Message {
    if let Message::Update(u) = &mut msg {
        u.errors = UpdateErrors::default();
    }
    msg
}
