//! Reads of the headers in front of a value (a ForwardingOption's, a
//! MessageExtension's) from any [`Buf`], each checking `remaining()` first,
//! so no input can make `bytes` panic. The value itself is read through
//! [`Input`](super::input::Input).

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

/// Rejects input that goes on past the next `len` bytes.
#[inline]
pub(crate) fn end_after<B: Buf>(b: &B, len: usize, what: &'static str) -> Result<(), WireError> {
    match b.remaining().saturating_sub(len) {
        0 => Ok(()),
        count => Err(WireError::TrailingBytes { what, count }),
    }
}
