//! A RELOAD-compatible wire format (RFC 6940), byte by byte in WIRE.md.
//!
//! The draft leaves the encoding to the peer protocol (§4.1 step 1: "How
//! the joining peer express his demand is not determined at present").
//! RELOAD is the standardized P2PSIP peer protocol, so:
//!
//! - the **request option** is a RELOAD ForwardingOption (§6.3.2.3:
//!   `type u8, flags u8, length u16, value`) with RESPONSE_COPY set, so the
//!   recursive-mode set comes back in the response even through a
//!   responder that does not understand it; the copy in the response has
//!   its flags cleared;
//! - the **iterative-mode answer** is a RELOAD MessageExtension (§6.3.3:
//!   `type u16, critical u8, length u32, value`), not critical, so the
//!   answering peer's signature covers it.
//!
//! Both code points are configuration ([`WireConfig`]), defaulting to the
//! experimental `exp-forward` = 1 and `exp-ext` = 1 (RFC 6940 §14.12,
//! §14.14), which "MUST NOT be used for operational deployments".
//!
//! Decoding takes each piece of a value (the header, the known list, an
//! entry) whole after one length check and reads the fields inside it at
//! fixed offsets; it never panics, and allocates at most what the input's
//! length justifies; decoding into a caller's option or set with room for
//! the entries does not allocate.
//!
//! ```
//! use stun_turn_discovery::wire::{self, Direction, WireConfig};
//! use stun_turn_discovery::{Filter, PiggybackOption, UniquenessKey, N};
//!
//! let option = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
//! let mut buf = Vec::new();
//! wire::encode_option(&option, Direction::Request, &WireConfig::default(), &mut buf)?;
//! // type 1, RESPONSE_COPY, length 6; version 1, recursive + key IP, N 10,
//! // any filter, hop 1, K 0.
//! assert_eq!(buf, [0x01, 0x04, 0x00, 0x06, 0x01, 0x00, 0x0a, 0x00, 0x01, 0x00]);
//! let decoded = wire::decode_option(&mut &buf[..], &WireConfig::default())?;
//! assert_eq!(decoded, option);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod advert;
mod entry;
mod error;
mod field;
mod input;
mod observed;
mod reader;
mod reload;
mod value;
mod view;

use bytes::{Buf, BufMut, BytesMut};

pub use advert::{advert_len, decode_advert, encode_advert};
pub use error::WireError;
pub use field::fwd_flags;
pub use observed::{
    decode_observed_extension, decode_observed_option, encode_observed_extension,
    encode_observed_option, observed_extension_len, observed_option_len,
};
pub(crate) use reload::{check_room, grow_lengths, has_option};
pub use reload::{find_observed_option, find_option};
pub use view::OptionView;

use crate::candidate::Candidate;
use crate::filter::Filter;
use crate::known::KnownKeys;
use crate::n::N;
use crate::option::{PiggybackOption, RoutingMode};
use crate::set::{CandidateSet, SetEntry};
use field::{ext, fwd};
use value::Header;

/// Code points of the option and the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WireConfig {
    /// ForwardingOptionType of the request option. Default 1, `exp-forward`.
    pub option_type: u8,
    /// MessageExtensionType of the iterative answer. Default 1, `exp-ext`.
    pub extension_type: u16,
    /// ForwardingOptionType of the observed address a first hop adds in
    /// recursive mode. Default 3, unassigned in RFC 6940's registry (2 is
    /// RFC 7263's `extensive_routing_mode`).
    pub observed_option_type: u8,
    /// MessageExtensionType of the observed address a hop adds to its
    /// iterative-mode response. Default 4, unassigned in RFC 6940's
    /// registry (2 and 3 are taken by SIP tuning data and RFC 7851's
    /// `Diagnostic_Ping`).
    pub observed_extension_type: u16,
}

impl WireConfig {
    /// The defaults, for `const` configurations
    /// (`WireConfig { option_type: 200, ..WireConfig::DEFAULT }`).
    pub const DEFAULT: Self = Self {
        option_type: 1,
        extension_type: 1,
        observed_option_type: 3,
        observed_extension_type: 4,
    };
}

impl Default for WireConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which way the option travels; sets its ForwardingOption flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// In a request: RESPONSE_COPY set in recursive mode, where the set
    /// must come back in the response; no flag in iterative mode, where
    /// the answer comes back in its own extension and a copy of the option
    /// would only add bytes to every response.
    Request,
    /// Copied into a response: flags cleared (RFC 6940 §6.3.2.3: the flags
    /// "MUST NOT be set in a response").
    Response,
}

/// What an iterative-mode answer says besides its set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnswerInfo {
    /// Hop position of the answering peer.
    pub hop: u8,
    /// The N it worked to.
    pub n: N,
}

/// Bytes [`encode_option`] writes for `option`.
pub fn option_len(option: &PiggybackOption) -> usize {
    fwd::HEADER_LEN + value::encoded_len(option.set(), option.known())
}

/// Bytes [`encode_answer`] writes for `answer`.
pub fn answer_len(answer: &CandidateSet) -> usize {
    ext::HEADER_LEN + value::encoded_len(answer, &KnownKeys::new())
}

/// Writes `option` as a ForwardingOption.
pub fn encode_option<B: BufMut>(
    option: &PiggybackOption,
    direction: Direction,
    config: &WireConfig,
    buf: &mut B,
) -> Result<(), WireError> {
    let needed = option_len(option);
    room(buf, needed)?;
    let flags = match direction {
        Direction::Request if option.mode() == RoutingMode::Recursive => fwd_flags::RESPONSE_COPY,
        Direction::Request => 0,
        Direction::Response => 0,
    };
    // At most 6 + 129 + 64 × 68 bytes: fits u16.
    let [len_hi, len_lo] = ((needed - fwd::HEADER_LEN) as u16).to_be_bytes();
    buf.put_slice(&[config.option_type, flags, len_hi, len_lo]);
    let header = Header {
        mode: option.mode(),
        key: option.key(),
        n: option.n(),
        filter: option.filter(),
        hop: option.hop(),
        k: 0,
        known: false,
    };
    value::encode(&header, option.set(), option.known(), buf);
    Ok(())
}

/// Reads one ForwardingOption that fills `buf` exactly.
pub fn decode_option<B: Buf>(
    buf: &mut B,
    config: &WireConfig,
) -> Result<PiggybackOption, WireError> {
    let mut set = CandidateSet::default();
    let mut known = KnownKeys::new();
    let header = decode_option_header(buf, config, &mut set, &mut known)?;
    Ok(
        PiggybackOption::from_parts(header.mode, header.n, header.filter, header.hop, set)?
            .with_known(known),
    )
}

/// [`decode_option`] into `option`, reusing its set's allocation: no heap
/// allocation when that set has room for the entries.
///
/// On error, whatever it is, `option` keeps the mode, N, filter, hop,
/// known list and uniqueness key it had and its set is left empty: no entry
/// of an earlier option survives next to a refused one.
pub fn decode_option_into<B: Buf>(
    buf: &mut B,
    config: &WireConfig,
    option: &mut PiggybackOption,
) -> Result<(), WireError> {
    let key = option.key();
    let mut known = KnownKeys::new();
    option.set_mut().clear();
    let result = decode_option_header(buf, config, option.set_mut(), &mut known)
        .and_then(|h| Ok(option.set_header(h.mode, h.n, h.filter, h.hop)?));
    match result {
        Ok(()) => *option.known_mut() = known,
        Err(_) => option.set_mut().reset(key),
    }
    result
}

fn decode_option_header<B: Buf>(
    buf: &mut B,
    config: &WireConfig,
    set: &mut CandidateSet,
    known: &mut KnownKeys,
) -> Result<Header, WireError> {
    let len = option_value_len(buf, config)?;
    decode_value(buf, len, set, known)
}

/// [`value::decode_into`] over the `len` bytes at the front of `buf` (the
/// caller has checked they are there), read in place when they lie in one
/// chunk; `buf` is left past them whatever the outcome.
fn decode_value<B: Buf>(
    buf: &mut B,
    len: usize,
    set: &mut CandidateSet,
    known: &mut KnownKeys,
) -> Result<Header, WireError> {
    match buf.chunk().get(..len) {
        Some(bytes) => {
            let result = value::decode_slice(bytes, set, known);
            buf.advance(len);
            result
        }
        None => {
            let mut input = input::Copied::new(buf, len);
            let result = value::decode_into(&mut input, set, known);
            input.skip_rest();
            result
        }
    }
}

/// Reads a ForwardingOption's `type, flags, length` and checks that exactly
/// `length` bytes follow; returns `length`.
pub(crate) fn option_value_len<B: Buf>(
    buf: &mut B,
    config: &WireConfig,
) -> Result<usize, WireError> {
    let kind = reader::u8(buf, "option type")?;
    if kind != config.option_type {
        return Err(WireError::WrongType {
            expected: config.option_type.into(),
            found: kind.into(),
        });
    }
    let _flags = reader::u8(buf, "option flags")?;
    let len = usize::from(reader::u16(buf, "option length")?);
    if buf.remaining() < len {
        return Err(WireError::Truncated {
            what: "option value",
        });
    }
    reader::end_after(buf, len, "option")?;
    Ok(len)
}

/// Writes an iterative-mode `answer` as a non-critical MessageExtension.
pub fn encode_answer<B: BufMut>(
    answer: &CandidateSet,
    info: AnswerInfo,
    config: &WireConfig,
    buf: &mut B,
) -> Result<(), WireError> {
    // An answer holds at most the N its peer worked to, as decoders check.
    if answer.len() > info.n.len() {
        return Err(WireError::KAboveN {
            k: answer.len() as u8,
            n: info.n,
        });
    }
    let needed = answer_len(answer);
    room(buf, needed)?;
    buf.put_u16(config.extension_type);
    buf.put_u8(0);
    buf.put_u32((needed - ext::HEADER_LEN) as u32);
    let header = Header {
        mode: RoutingMode::Iterative,
        key: answer.key(),
        n: Some(info.n),
        filter: Filter::ANY,
        hop: info.hop,
        k: 0,
        known: false,
    };
    value::encode(&header, answer, &KnownKeys::new(), buf);
    Ok(())
}

/// Reads one iterative-mode answer that fills `buf` exactly.
pub fn decode_answer<B: Buf>(
    buf: &mut B,
    config: &WireConfig,
) -> Result<(AnswerInfo, CandidateSet), WireError> {
    let mut set = CandidateSet::default();
    let info = decode_answer_into(buf, config, &mut set)?;
    Ok((info, set))
}

/// [`decode_answer`] into `set`; no heap allocation when `set` has room
/// for the entries. The set is emptied first, and on error, whatever it
/// is, left empty.
pub fn decode_answer_into<B: Buf>(
    buf: &mut B,
    config: &WireConfig,
    set: &mut CandidateSet,
) -> Result<AnswerInfo, WireError> {
    set.clear();
    let result = decode_answer_value(buf, config, set);
    if result.is_err() {
        set.clear();
    }
    result
}

fn decode_answer_value<B: Buf>(
    buf: &mut B,
    config: &WireConfig,
    set: &mut CandidateSet,
) -> Result<AnswerInfo, WireError> {
    let kind = reader::u16(buf, "extension type")?;
    if kind != config.extension_type {
        return Err(WireError::WrongType {
            expected: config.extension_type,
            found: kind,
        });
    }
    let _critical = reader::u8(buf, "extension critical flag")?;
    let len = reader::u32(buf, "extension length")? as usize;
    if buf.remaining() < len {
        return Err(WireError::Truncated {
            what: "extension value",
        });
    }
    reader::end_after(buf, len, "extension")?;
    // An answer carries no known list; one that does is read and dropped.
    let h = decode_value(buf, len, set, &mut KnownKeys::new())?;
    if h.mode != RoutingMode::Iterative {
        return Err(WireError::WrongMode {
            expected: "iterative answer",
        });
    }
    Ok(AnswerInfo {
        hop: h.hop,
        n: h.n.unwrap_or(N::MAX),
    })
}

/// The entries laid out back to back in `bytes` (checked before: a
/// malformed entry ends the walk), skipping those of an address type this
/// crate does not know.
pub(crate) fn entries_in(mut bytes: &[u8]) -> impl Iterator<Item = SetEntry> + '_ {
    core::iter::from_fn(move || loop {
        if bytes.is_empty() {
            return None;
        }
        match entry::decode(&mut bytes, 0) {
            Ok(Some(e)) => return Some(e),
            Ok(None) => continue,
            Err(_) => return None,
        }
    })
}

/// Lays the table's `candidate` out as an entry with `priority` at `hop`
/// at `at` in `buf` (what an intermediate peer adds in place), growing
/// `buf` with zeroed room first when less than the entry lies behind `at`;
/// returns where the entry ends. Bytes of `buf` past that are room for the
/// next entries, which the caller cuts off when it is done.
#[inline]
pub(crate) fn put_table_entry(
    buf: &mut BytesMut,
    at: usize,
    candidate: &Candidate,
    priority: u16,
    hop: u8,
) -> usize {
    entry::put_parts_at(buf, at, candidate, Some(priority), hop)
}

fn room<B: BufMut>(buf: &B, needed: usize) -> Result<(), WireError> {
    let available = buf.remaining_mut();
    if available < needed {
        return Err(WireError::BufferTooSmall { needed, available });
    }
    Ok(())
}
