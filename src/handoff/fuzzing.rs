//! Entry points for the fuzz targets (`fuzz/`): the frame decoder is private to the handoff, and
//! a target must drive it exactly as the channel does, one read at a time.

use super::frame::{self, Decoder};
use super::HandoffError;

/// Feeds `stream` to a frame decoder in reads of `chunk` octets (at least 1), with no
/// descriptors, taking every frame each read completes, as the channel does. The payloads of
/// the frames completed, and the error that stopped the decoder, if any.
pub fn decode_stream(stream: &[u8], chunk: usize) -> (Vec<Vec<u8>>, Option<HandoffError>) {
    let mut decoder = Decoder::new();
    let mut payloads = Vec::new();
    for read in stream.chunks(chunk.max(1)) {
        if let Err(e) = decoder.push(read, Vec::new()) {
            return (payloads, Some(e));
        }
        loop {
            match decoder.next_frame() {
                Ok(Some(f)) => payloads.push(f.payload),
                Ok(None) => break,
                Err(e) => return (payloads, Some(e)),
            }
        }
    }
    (payloads, None)
}

/// The octets of a frame carrying `payload` and no descriptor.
pub fn encode_frame(payload: &[u8]) -> Result<Vec<u8>, HandoffError> {
    frame::encode(payload, 0)
}
