//! A byte view of one encoded ForwardingOption (RFC 6940 §6.3.2.3) that
//! holds the piggyback option: field accessors and setters over the bytes,
//! so a forwarding peer reads and patches the option where it lies instead
//! of decoding and re-encoding it. The byte positions live in `field`.

use super::field::{fwd, value as v};
use super::{entry, value, WireConfig, WireError};
use crate::filter::Filter;
use crate::key::UniquenessKey;
use crate::known::KnownKeys;
use crate::n::N;
use crate::option::{OptionError, RoutingMode};
use crate::set::SetEntry;

/// A checked view of an encoded option: `buffer` holds exactly one
/// ForwardingOption of the configured type whose value is a well-formed
/// piggyback option (version, codes, N, K ≤ N, K entries, nothing after
/// them, no entries in an iterative option). Uniqueness of the entries is
/// a property of a set, checked when they go into one.
///
/// ```
/// use stun_turn_discovery::wire::{self, Direction, OptionView, WireConfig};
/// use stun_turn_discovery::{Filter, PiggybackOption, RoutingMode, UniquenessKey, N};
///
/// let option = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
/// let mut buf = Vec::new();
/// wire::encode_option(&option, Direction::Request, &WireConfig::default(), &mut buf)?;
///
/// let mut view = OptionView::new_checked(&mut buf[..], &WireConfig::default())?;
/// assert_eq!((view.mode(), view.n(), view.hop(), view.k()), (RoutingMode::Recursive, Some(N::DEFAULT), 1, 0));
/// // The responder copies the option into its response with the flags cleared.
/// view.set_flags(0);
/// assert_eq!(buf[1], 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionView<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> OptionView<T> {
    /// Checks `buffer` and wraps it; every error of
    /// [`decode_option`](super::decode_option) except a duplicate key.
    pub fn new_checked(buffer: T, config: &WireConfig) -> Result<Self, WireError> {
        check(buffer.as_ref(), config, |_, _, _| {})?;
        Ok(Self { buffer })
    }

    /// [`new_checked`](Self::new_checked), calling `each` with the option's
    /// uniqueness key and every entry of a known address type as the check
    /// reads it: one pass where a caller needs the entries too.
    pub(crate) fn new_checked_each(
        buffer: T,
        config: &WireConfig,
        each: impl FnMut(UniquenessKey, u8, &SetEntry),
    ) -> Result<Self, WireError> {
        check(buffer.as_ref(), config, each)?;
        Ok(Self { buffer })
    }

    /// Wraps a buffer the crate has checked already.
    pub(crate) fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn value_byte(&self, at: usize) -> u8 {
        self.bytes()[fwd::HEADER_LEN + at]
    }

    /// The ForwardingOptionType.
    pub fn option_type(&self) -> u8 {
        self.bytes()[fwd::TYPE]
    }

    /// The ForwardingOption flags ([`fwd_flags`](super::fwd_flags)).
    pub fn flags(&self) -> u8 {
        self.bytes()[fwd::FLAGS]
    }

    /// The ForwardingOption's length field: bytes of the value.
    pub fn length(&self) -> u16 {
        let b = self.bytes();
        u16::from_be_bytes([b[fwd::LENGTH.start], b[fwd::LENGTH.start + 1]])
    }

    /// The routing mode.
    pub fn mode(&self) -> RoutingMode {
        value::mode_of(self.value_byte(v::FLAGS))
    }

    /// The uniqueness key.
    pub fn key(&self) -> UniquenessKey {
        // Checked at construction: the code is one of the three known.
        value::key_of(self.value_byte(v::FLAGS)).unwrap_or_default()
    }

    /// N, if the sending node set it.
    pub fn n(&self) -> Option<N> {
        N::new(self.value_byte(v::N)).ok()
    }

    /// The filter.
    pub fn filter(&self) -> Filter {
        value::filter_of(self.value_byte(v::FILTER)).unwrap_or_default()
    }

    /// Hop position of the next intermediate peer.
    pub fn hop(&self) -> u8 {
        self.value_byte(v::HOP)
    }

    /// K, the number of entries.
    pub fn k(&self) -> u8 {
        self.value_byte(v::K)
    }

    /// What the sending node holds already ([`KnownKeys`]).
    pub fn known(&self) -> KnownKeys {
        let mut known = KnownKeys::new();
        if self.value_byte(v::FLAGS) & v::FLAG_KNOWN != 0 {
            let list = &self.bytes()[fwd::HEADER_LEN + v::HEADER_LEN..self.entries_start()];
            for fp in list[1..].chunks_exact(2) {
                known.push(u16::from_be_bytes([fp[0], fp[1]]));
            }
        }
        known
    }

    /// Where the entries start: after the header and the known list.
    fn entries_start(&self) -> usize {
        let header = fwd::HEADER_LEN + v::HEADER_LEN;
        if self.value_byte(v::FLAGS) & v::FLAG_KNOWN != 0 {
            header + 1 + 2 * usize::from(self.bytes()[header])
        } else {
            header
        }
    }

    /// Whether a known list follows the header.
    pub(crate) fn has_known(&self) -> bool {
        self.value_byte(v::FLAGS) & v::FLAG_KNOWN != 0
    }

    /// Where the entries start, in bytes from the start of the option.
    pub(crate) fn entries_offset(&self) -> usize {
        self.entries_start()
    }

    /// The entries, in order; entries of an address type this crate does
    /// not know are skipped.
    pub fn entries(&self) -> impl Iterator<Item = SetEntry> + '_ {
        super::entries_in(&self.bytes()[self.entries_start()..])
    }

    /// The whole option's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes()
    }

    /// The buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> OptionView<T> {
    fn value_byte_mut(&mut self, at: usize) -> &mut u8 {
        &mut self.buffer.as_mut()[fwd::HEADER_LEN + at]
    }

    /// Sets the ForwardingOption flags; a responder copying the option into
    /// a response sets 0 (RFC 6940 §6.3.2.3: the flags "MUST NOT be set in
    /// a response").
    pub fn set_flags(&mut self, flags: u8) {
        self.buffer.as_mut()[fwd::FLAGS] = flags;
    }

    /// Sets the hop position of the next intermediate peer.
    pub fn set_hop(&mut self, hop: u8) {
        *self.value_byte_mut(v::HOP) = hop;
    }

    /// Sets K after entries were appended.
    pub(crate) fn set_k(&mut self, k: u8) {
        *self.value_byte_mut(v::K) = k;
    }

    /// Sets the length field to the bytes after the header, after entries
    /// were appended.
    pub(crate) fn fit_length(&mut self) {
        let bytes = self.buffer.as_mut();
        // At most 6 + 64 × 68 bytes of value: fits u16.
        let len = (bytes.len() - fwd::HEADER_LEN) as u16;
        bytes[fwd::LENGTH].copy_from_slice(&len.to_be_bytes());
    }
}

/// The checks of [`OptionView::new_checked`].
fn check(
    bytes: &[u8],
    config: &WireConfig,
    mut each: impl FnMut(UniquenessKey, u8, &SetEntry),
) -> Result<(), WireError> {
    let mut rd = bytes;
    let len = super::option_value_len(&mut rd, config)?;
    debug_assert_eq!(len, rd.len());
    let h = value::decode_header(&mut rd)?;
    value::skip_known(&mut rd, &h)?;
    for index in 0..h.k {
        if rd.is_empty() {
            return Err(WireError::KMismatch {
                k: h.k,
                found: index,
            });
        }
        if let Some(e) = entry::decode(&mut rd, index)? {
            each(h.key, index, &e);
        }
    }
    value::end(&rd, "entries")?;
    if h.mode == RoutingMode::Iterative && h.k > 0 {
        return Err(OptionError::IterativeWithSet {
            k: usize::from(h.k),
        }
        .into());
    }
    Ok(())
}
