//! The value the option and the answer share: a six-byte header (version,
//! flags, N, filter, hop, K), the known list if the flags say so, and K
//! entries.

use bytes::{Buf, BufMut};

use super::field::value as v;
use super::{entry, reader, WireError};
use crate::candidate::Services;
use crate::filter::{Filter, IpFamily};
use crate::key::UniquenessKey;
use crate::known::KnownKeys;
use crate::n::N;
use crate::option::RoutingMode;
use crate::set::CandidateSet;

/// The value's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) mode: RoutingMode,
    pub(crate) key: UniquenessKey,
    pub(crate) n: Option<N>,
    pub(crate) filter: Filter,
    pub(crate) hop: u8,
    pub(crate) k: u8,
    /// A known list follows the header.
    pub(crate) known: bool,
}

/// Bytes of the known list, count byte included; 0 when it is empty.
pub(crate) fn known_len(known: &KnownKeys) -> usize {
    if known.is_empty() {
        0
    } else {
        1 + 2 * known.len()
    }
}

/// Bytes of the value holding `set` and `known`.
pub(crate) fn encoded_len(set: &CandidateSet, known: &KnownKeys) -> usize {
    v::HEADER_LEN + known_len(known) + set.iter().map(entry::encoded_len).sum::<usize>()
}

/// Writes the header with `k = set.len()`, the known list if not empty,
/// then the entries.
pub(crate) fn encode<B: BufMut>(h: &Header, set: &CandidateSet, known: &KnownKeys, b: &mut B) {
    b.put_u8(v::CURRENT_VERSION);
    let known_flag = if known.is_empty() { 0 } else { v::FLAG_KNOWN };
    b.put_u8(flags_byte(h.mode, h.key) | known_flag);
    b.put_u8(h.n.map_or(0, N::get));
    b.put_u8(filter_byte(h.filter));
    b.put_u8(h.hop);
    b.put_u8(set.len() as u8);
    if !known.is_empty() {
        // At most KnownKeys::MAX = 64.
        b.put_u8(known.len() as u8);
        for fp in known.fingerprints() {
            b.put_u16(*fp);
        }
    }
    for e in set {
        entry::encode(e, b);
    }
}

/// Reads the known list the header announces into `known` (emptied
/// first); nothing when the header announces none.
pub(crate) fn decode_known<B: Buf>(
    b: &mut B,
    h: &Header,
    known: &mut KnownKeys,
) -> Result<(), WireError> {
    known.clear();
    if !h.known {
        return Ok(());
    }
    let count = usize::from(reader::u8(b, "known count")?);
    if count > KnownKeys::MAX {
        return Err(WireError::TooLong { what: "known list" });
    }
    for _ in 0..count {
        known.push(reader::u16(b, "known list")?);
    }
    Ok(())
}

/// Reads and checks the header.
pub(crate) fn decode_header<B: Buf>(b: &mut B) -> Result<Header, WireError> {
    let version = reader::u8(b, "version")?;
    if version != v::CURRENT_VERSION {
        return Err(WireError::UnknownVersion(version));
    }
    let flags = reader::u8(b, "flags")?;
    let n = reader::u8(b, "N")?;
    let filter = reader::u8(b, "filter")?;
    let hop = reader::u8(b, "hop")?;
    let k = reader::u8(b, "K")?;
    let mode = mode_of(flags);
    let key = key_of(flags)?;
    // N = 0: not set (§4.2 step 2 lets the sending node leave it out).
    let n = match n {
        0 => None,
        n => Some(N::new(n)?),
    };
    let filter = filter_of(filter)?;
    let bound = n.unwrap_or(N::MAX);
    if k > bound.get() {
        return Err(WireError::KAboveN { k, n: bound });
    }
    Ok(Header {
        mode,
        key,
        n,
        filter,
        hop,
        k,
        known: flags & v::FLAG_KNOWN != 0,
    })
}

/// Reads a whole value into `set` and `known` (both emptied first; the set
/// left empty on error). Allocates only if `set` has no room for the
/// entries the input holds.
pub(crate) fn decode_into<B: Buf>(
    b: &mut B,
    set: &mut CandidateSet,
    known: &mut KnownKeys,
) -> Result<Header, WireError> {
    set.reset(UniquenessKey::Ip);
    let h = decode_header(b)?;
    decode_known(b, &h, known)?;
    set.reset(h.key);
    // Never reserve more than the input could hold.
    let fits = b.remaining() / super::field::entry::MIN_LEN;
    set.reserve_for(usize::from(h.k).min(fits));
    let result = decode_entries(b, &h, set);
    if result.is_err() {
        set.clear();
    }
    result.map(|()| h)
}

fn decode_entries<B: Buf>(b: &mut B, h: &Header, set: &mut CandidateSet) -> Result<(), WireError> {
    for index in 0..h.k {
        if !b.has_remaining() {
            return Err(WireError::KMismatch {
                k: h.k,
                found: index,
            });
        }
        if let Some(e) = entry::decode(b, index)? {
            set.try_push(e)
                .map_err(|_| WireError::DuplicateKey { index })?;
        }
    }
    reader::end(b, "entries")
}

/// The routing mode in a flags byte.
pub(crate) fn mode_of(flags: u8) -> RoutingMode {
    if flags & v::FLAG_ITERATIVE != 0 {
        RoutingMode::Iterative
    } else {
        RoutingMode::Recursive
    }
}

/// The uniqueness key in a flags byte.
pub(crate) fn key_of(flags: u8) -> Result<UniquenessKey, WireError> {
    match (flags & v::KEY_MASK) >> v::KEY_SHIFT {
        v::KEY_IP => Ok(UniquenessKey::Ip),
        v::KEY_IP_PORT => Ok(UniquenessKey::IpPort),
        v::KEY_PREFIX => Ok(UniquenessKey::Prefix),
        other => Err(WireError::UnknownKey(other)),
    }
}

/// The filter in a filter byte.
pub(crate) fn filter_of(filter: u8) -> Result<Filter, WireError> {
    let family = match (filter & v::FAMILY_MASK) >> v::FAMILY_SHIFT {
        v::FAMILY_ANY => None,
        v::FAMILY_V4 => Some(IpFamily::V4),
        v::FAMILY_V6 => Some(IpFamily::V6),
        other => return Err(WireError::UnknownFamily(other)),
    };
    let transport = match (filter & v::TRANSPORT_MASK) >> v::TRANSPORT_SHIFT {
        0 => None,
        code => Some(entry::transport_of(code).ok_or(WireError::UnknownTransport(code))?),
    };
    Ok(Filter {
        services: Services::from_bits_truncate(filter & v::FILTER_SERVICES_MASK),
        family,
        transport,
    })
}

fn flags_byte(mode: RoutingMode, key: UniquenessKey) -> u8 {
    let mode = match mode {
        RoutingMode::Recursive => 0,
        RoutingMode::Iterative => v::FLAG_ITERATIVE,
    };
    let key = match key {
        UniquenessKey::Ip => v::KEY_IP,
        UniquenessKey::IpPort => v::KEY_IP_PORT,
        UniquenessKey::Prefix => v::KEY_PREFIX,
    };
    mode | (key << v::KEY_SHIFT)
}

fn filter_byte(f: Filter) -> u8 {
    let family = match f.family {
        None => v::FAMILY_ANY,
        Some(IpFamily::V4) => v::FAMILY_V4,
        Some(IpFamily::V6) => v::FAMILY_V6,
    };
    let transport = f.transport.map_or(0, entry::transport_code);
    (f.services.bits() & v::FILTER_SERVICES_MASK)
        | (family << v::FAMILY_SHIFT)
        | (transport << v::TRANSPORT_SHIFT)
}
