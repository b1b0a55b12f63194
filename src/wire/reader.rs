//! A bounded reader over a byte slice, and the writer helpers the encoders share.
//!
//! Every read checks the remaining length and returns `None` past the end, so a decoder cannot
//! index out of bounds whatever the input; `sub(len)` carves out a nested structure so a length
//! field can never make a decoder read into its neighbour. On the writing side a length field is
//! written as a placeholder and fixed up once the body is known.

use bytes::{BufMut, BytesMut};

/// Reads big-endian fields from a slice, never past its end.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub(super) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    /// Octets not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// True when everything was read.
    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next octet, without consuming it.
    pub(super) fn peek_u8(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    /// One octet.
    pub(super) fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.buf.split_first()?;
        self.buf = rest;
        Some(b)
    }

    /// A two-octet big-endian integer.
    pub(super) fn u16(&mut self) -> Option<u16> {
        self.array::<2>().map(u16::from_be_bytes)
    }

    /// A three-octet big-endian integer.
    pub(super) fn u24(&mut self) -> Option<u32> {
        let [a, b, c] = self.array::<3>()?;
        Some(u32::from_be_bytes([0, a, b, c]))
    }

    /// A four-octet big-endian integer.
    pub(super) fn u32(&mut self) -> Option<u32> {
        self.array::<4>().map(u32::from_be_bytes)
    }

    /// `N` octets as an array.
    pub(super) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.take(N)?;
        bytes.try_into().ok()
    }

    /// The next `n` octets.
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }

    /// A reader over the next `n` octets, which this reader skips.
    pub(super) fn sub(&mut self, n: usize) -> Option<Reader<'a>> {
        self.take(n).map(Reader::new)
    }

    /// Everything not read yet.
    pub(super) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
}

/// Write a two-octet length placeholder; returns where to fix it up with [`end_len16`].
pub(super) fn begin_len16(out: &mut BytesMut) -> usize {
    let pos = out.len();
    out.put_u16(0);
    pos
}

/// Fix up the placeholder at `pos` with the number of octets written after it (saturating: a
/// longer body is the caller's mistake, and the length then says 65535).
pub(super) fn end_len16(out: &mut BytesMut, pos: usize) {
    let len = out.len() - pos - 2;
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    out[pos..pos + 2].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(r.u8(), Some(1));
        assert_eq!(r.u16(), Some(0x0203));
        assert_eq!(r.u32(), None);
        assert_eq!(r.remaining(), 3);
        assert_eq!(r.u24(), Some(0x040506));
        assert!(r.is_empty());
        assert_eq!(r.u8(), None);
        assert_eq!(r.take(0), Some(&[][..]));
    }

    #[test]
    fn sub_reader_is_bounded() {
        let mut r = Reader::new(&[9, 8, 7, 6]);
        let mut s = r.sub(2).unwrap();
        assert_eq!(s.u16(), Some(0x0908));
        assert_eq!(s.u8(), None);
        assert_eq!(r.rest(), &[7, 6]);
        assert!(r.sub(1).is_none());
    }

    #[test]
    fn length_placeholder_is_fixed_up() {
        let mut out = BytesMut::new();
        let pos = begin_len16(&mut out);
        out.put_slice(&[1, 2, 3]);
        end_len16(&mut out, pos);
        assert_eq!(&out[..], &[0, 3, 1, 2, 3]);
    }
}
