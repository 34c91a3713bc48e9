//! The piggyback option inside a whole RELOAD message (RFC 6940 §6.3.2):
//! find it in the ForwardingHeader's options list, and patch the lengths
//! that grow when a forwarding peer appends to it in place.

use core::ops::Range;

use super::field::{fwd, reload as r};
use super::{WireConfig, WireError};
use crate::candidate::TransportAddress;

/// Where the piggyback option lies in `message`, one whole RELOAD message
/// (its `length` field equal to `message.len()`): the byte range of the
/// first ForwardingOption of the configured type, or `None` when the
/// message carries none. Checks the RELO token, the message length and that
/// the via list, destination list and every option fit.
///
/// ```
/// use stun_turn_discovery::wire::{self, WireConfig};
/// // A 38-byte ForwardingHeader with an empty via and destination list and
/// // no options: the message carries no piggyback option.
/// let mut msg = vec![0u8; 38];
/// msg[..4].copy_from_slice(&0xd2454c4f_u32.to_be_bytes());
/// msg[16..20].copy_from_slice(&38u32.to_be_bytes());
/// assert_eq!(wire::find_option(&msg, &WireConfig::default())?, None);
/// # Ok::<(), wire::WireError>(())
/// ```
pub fn find_option(message: &[u8], config: &WireConfig) -> Result<Option<Range<usize>>, WireError> {
    find_type(message, config.option_type)
}

/// The observed address a first hop added to `message` (one whole RELOAD
/// message, checked as [`find_option`] does): the first ForwardingOption
/// of type [`WireConfig::observed_option_type`], decoded, or `None` when
/// the message carries none.
pub fn find_observed_option(
    message: &[u8],
    config: &WireConfig,
) -> Result<Option<TransportAddress>, WireError> {
    let Some(range) = find_type(message, config.observed_option_type)? else {
        return Ok(None);
    };
    super::decode_observed_option(&mut &message[range], config).map(Some)
}

/// Whether `message`, checked by [`find_option`] before, carries a
/// ForwardingOption of type `kind`.
pub(crate) fn has_option(message: &[u8], kind: u8) -> bool {
    matches!(find_type(message, kind), Ok(Some(_)))
}

/// Where the first ForwardingOption of type `kind` lies in `message`.
fn find_type(message: &[u8], kind: u8) -> Result<Option<Range<usize>>, WireError> {
    if message.len() < r::HEADER_LEN {
        return Err(WireError::Truncated {
            what: "forwarding header",
        });
    }
    if u32_at(message, r::TOKEN) != r::RELO_TOKEN {
        return Err(WireError::NotReload);
    }
    let declared = u32_at(message, r::LENGTH);
    if declared as usize != message.len() {
        return Err(WireError::MessageLength {
            declared,
            actual: message.len(),
        });
    }
    let via = usize::from(u16_at(message, r::VIA_LIST_LENGTH));
    let dest = usize::from(u16_at(message, r::DESTINATION_LIST_LENGTH));
    let options_len = usize::from(u16_at(message, r::OPTIONS_LENGTH));
    let start = r::HEADER_LEN + via + dest;
    let end = start + options_len;
    if end > message.len() {
        return Err(WireError::Truncated {
            what: "forwarding options",
        });
    }
    let mut at = start;
    let mut found = None;
    while at < end {
        if end - at < fwd::HEADER_LEN {
            return Err(WireError::Truncated {
                what: "forwarding option header",
            });
        }
        let len = usize::from(u16::from_be_bytes([message[at + 2], message[at + 3]]));
        let next = at + fwd::HEADER_LEN + len;
        if next > end {
            return Err(WireError::Truncated {
                what: "forwarding option",
            });
        }
        if found.is_none() && message[at + fwd::TYPE] == kind {
            found = Some(at..next);
        }
        at = next;
    }
    Ok(found)
}

/// Most bytes one hop can add to a message: N::MAX entries of the longest
/// kind, and an observed-address option.
pub(crate) const MAX_GROWTH: usize = 64 * super::field::entry::MAX_LEN
    + super::field::fwd::HEADER_LEN
    + super::field::observed::MAX_VALUE_LEN;

/// Whether the options length and the message length of `message` (one
/// checked by [`find_option`]) can both grow by [`MAX_GROWTH`]; refused with
/// [`WireError::TooLong`] before anything is done if not.
pub(crate) fn check_room(message: &[u8]) -> Result<(), WireError> {
    let options = usize::from(u16_at(message, r::OPTIONS_LENGTH)) + MAX_GROWTH;
    let total = u32_at(message, r::LENGTH) as usize + MAX_GROWTH;
    if u16::try_from(options).is_err() || u32::try_from(total).is_err() {
        return Err(WireError::TooLong {
            what: "RELOAD message",
        });
    }
    Ok(())
}

/// Adds `grown` bytes to the options length and the message length of the
/// RELOAD message in `message` (already grown), after an option in its
/// options list grew by that much; [`check_room`] has made sure both fit.
pub(crate) fn grow_lengths(message: &mut [u8], grown: usize) {
    let options = usize::from(u16_at(message, r::OPTIONS_LENGTH)) + grown;
    let total = u32_at(message, r::LENGTH) as usize + grown;
    let options = u16::try_from(options).unwrap_or(u16::MAX);
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    message[r::OPTIONS_LENGTH].copy_from_slice(&options.to_be_bytes());
    message[r::LENGTH].copy_from_slice(&total.to_be_bytes());
}

fn u16_at(b: &[u8], at: Range<usize>) -> u16 {
    u16::from_be_bytes([b[at.start], b[at.start + 1]])
}

fn u32_at(b: &[u8], at: Range<usize>) -> u32 {
    u32::from_be_bytes([
        b[at.start],
        b[at.start + 1],
        b[at.start + 2],
        b[at.start + 3],
    ])
}
