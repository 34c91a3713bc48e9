//! Where a candidate-set value or an advertisement is read from: a byte
//! slice, read in place, or any [`Buf`] whose bytes are not in one chunk,
//! copied piece by piece into a stack buffer.
//!
//! The decoders take pieces whole (the six-byte header, the known list, an
//! entry's length byte, then the entry's declared bytes), so each piece
//! costs one length check and the fields inside it are read at fixed
//! offsets of a slice.

use bytes::Buf;

/// The longest piece a decoder asks for: an entry's body (its length is a
/// `u8`). The header (6 bytes) and the known list (1 + 2 × 64) are shorter.
pub(crate) const PIECE_MAX: usize = 255;

/// Bytes of one value, taken piece by piece.
pub(crate) trait Input {
    /// Bytes not taken yet.
    fn left(&self) -> usize;

    /// The next `n` bytes, taken; `None` when fewer than `n` are left
    /// (nothing is taken then).
    fn take_bytes(&mut self, n: usize) -> Option<&[u8]>;

    /// The next byte, taken.
    #[inline]
    fn take_u8(&mut self) -> Option<u8> {
        self.take_bytes(1).and_then(|b| b.first().copied())
    }
}

impl Input for &[u8] {
    #[inline]
    fn left(&self) -> usize {
        self.len()
    }

    #[inline]
    fn take_bytes(&mut self, n: usize) -> Option<&[u8]> {
        let (piece, rest) = self.split_at_checked(n)?;
        *self = rest;
        Some(piece)
    }
}

/// The next `len` bytes of a [`Buf`] that holds them in more than one
/// chunk, each piece copied into a stack buffer: no allocation.
pub(crate) struct Copied<'a, B> {
    buf: &'a mut B,
    left: usize,
    scratch: [u8; PIECE_MAX],
}

impl<'a, B: Buf> Copied<'a, B> {
    /// The next `len` bytes of `buf` (fewer if `buf` holds fewer).
    pub(crate) fn new(buf: &'a mut B, len: usize) -> Self {
        let left = len.min(buf.remaining());
        Self {
            buf,
            left,
            scratch: [0; PIECE_MAX],
        }
    }

    /// Skips what was not taken, so `buf` is past the whole value.
    pub(crate) fn skip_rest(self) {
        self.buf.advance(self.left);
    }
}

impl<B: Buf> Input for Copied<'_, B> {
    fn left(&self) -> usize {
        self.left
    }

    fn take_bytes(&mut self, n: usize) -> Option<&[u8]> {
        debug_assert!(n <= PIECE_MAX, "no piece is longer than {PIECE_MAX}");
        if n > self.left || n > PIECE_MAX {
            return None;
        }
        let piece = &mut self.scratch[..n];
        self.buf.copy_to_slice(piece);
        self.left -= n;
        Some(piece)
    }
}

/// The `N` bytes at `at` in `bytes`, if it holds them.
#[inline]
pub(crate) fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_gives_pieces_in_order_and_refuses_a_long_one_whole() {
        let bytes = [1, 2, 3, 4, 5];
        let mut input = &bytes[..];
        assert_eq!(input.take_bytes(2), Some(&[1, 2][..]));
        assert_eq!(input.take_bytes(4), None);
        assert_eq!(input.left(), 3);
        assert_eq!(input.take_u8(), Some(3));
        assert_eq!(input.take_bytes(2), Some(&[4, 5][..]));
        assert_eq!(input.take_u8(), None);
    }

    #[test]
    fn a_chained_buf_gives_the_same_pieces_and_is_left_past_the_value() {
        let (a, b) = ([1u8, 2, 3][..].to_vec(), [4u8, 5, 6, 7][..].to_vec());
        let mut buf = Buf::chain(&a[..], &b[..]);
        let mut input = Copied::new(&mut buf, 6);
        assert_eq!(input.take_bytes(2), Some(&[1, 2][..]));
        assert_eq!(input.take_bytes(2), Some(&[3, 4][..]));
        assert_eq!(input.take_bytes(3), None);
        assert_eq!(input.left(), 2);
        assert_eq!(input.take_u8(), Some(5));
        input.skip_rest();
        assert_eq!(buf.remaining(), 1);
    }

    #[test]
    fn array_reads_inside_the_slice_only() {
        let bytes = [1, 2, 3];
        assert_eq!(array::<2>(&bytes, 1), Some([2, 3]));
        assert_eq!(array::<2>(&bytes, 2), None);
        assert_eq!(array::<1>(&bytes, usize::MAX), None);
    }
}
