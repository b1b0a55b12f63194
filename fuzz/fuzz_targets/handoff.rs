//! The handoff stream between supervisor and speaker: frames reassembled from reads of the
//! size the first octet picks, each payload decoded as a handoff message; a message that
//! decodes encodes back to one equal to it, and a payload framed again comes out whole.
#![no_main]

use baton::handoff::fuzzing::{decode_stream, encode_frame};
use baton::handoff::Msg;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let (payloads, _) = decode_stream(stream, usize::from(chunk));
    for payload in payloads {
        if let Ok(msg) = Msg::decode(&payload) {
            let again = msg.encode().expect("a decoded message encodes");
            assert_eq!(Msg::decode(&again).expect("its encoding decodes"), msg);
        }
        let framed = encode_frame(&payload).expect("a received payload fits a frame");
        let (back, error) = decode_stream(&framed, 3);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(back, vec![payload]);
    }
});
