//! Reads that check `remaining()` first, so no input can make `bytes` panic.

use bytes::Buf;

use super::WireError;

#[inline]
pub(crate) fn u8<B: Buf>(b: &mut B, what: &'static str) -> Result<u8, WireError> {
    if b.remaining() < 1 {
        return Err(WireError::Truncated { what });
    }
    Ok(b.get_u8())
}

#[inline]
pub(crate) fn u16<B: Buf>(b: &mut B, what: &'static str) -> Result<u16, WireError> {
    if b.remaining() < 2 {
        return Err(WireError::Truncated { what });
    }
    Ok(b.get_u16())
}

#[inline]
pub(crate) fn u32<B: Buf>(b: &mut B, what: &'static str) -> Result<u32, WireError> {
    if b.remaining() < 4 {
        return Err(WireError::Truncated { what });
    }
    Ok(b.get_u32())
}

#[inline]
pub(crate) fn bytes<B: Buf>(
    b: &mut B,
    out: &mut [u8],
    what: &'static str,
) -> Result<(), WireError> {
    if b.remaining() < out.len() {
        return Err(WireError::Truncated { what });
    }
    b.copy_to_slice(out);
    Ok(())
}

#[inline]
pub(crate) fn skip<B: Buf>(b: &mut B, n: usize, what: &'static str) -> Result<(), WireError> {
    if b.remaining() < n {
        return Err(WireError::Truncated { what });
    }
    b.advance(n);
    Ok(())
}

/// Rejects anything left in `b`.
#[inline]
pub(crate) fn end<B: Buf>(b: &B, what: &'static str) -> Result<(), WireError> {
    match b.remaining() {
        0 => Ok(()),
        count => Err(WireError::TrailingBytes { what, count }),
    }
}

/// Rejects input that goes on past the next `len` bytes.
#[inline]
pub(crate) fn end_after<B: Buf>(b: &B, len: usize, what: &'static str) -> Result<(), WireError> {
    match b.remaining().saturating_sub(len) {
        0 => Ok(()),
        count => Err(WireError::TrailingBytes { what, count }),
    }
}
