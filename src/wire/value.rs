//! The value the option and the answer share: a six-byte header (version,
//! flags, N, filter, hop, K) and K entries.

use bytes::{Buf, BufMut};

use super::field::value as v;
use super::{entry, reader, WireError};
use crate::candidate::Services;
use crate::key::UniquenessKey;
use crate::option::{Filter, IpFamily, RoutingMode};
use crate::set::{CandidateSet, MAX_N};

/// The value's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) mode: RoutingMode,
    pub(crate) key: UniquenessKey,
    pub(crate) n: Option<u8>,
    pub(crate) filter: Filter,
    pub(crate) hop: u8,
    pub(crate) k: u8,
}

/// Bytes of the value holding `set`.
pub(crate) fn encoded_len(set: &CandidateSet) -> usize {
    v::HEADER_LEN + set.iter().map(entry::encoded_len).sum::<usize>()
}

/// Writes the header with `k = set.len()`, then the entries.
pub(crate) fn encode<B: BufMut>(h: &Header, set: &CandidateSet, b: &mut B) {
    b.put_u8(v::CURRENT_VERSION);
    b.put_u8(flags_byte(h.mode, h.key));
    b.put_u8(h.n.unwrap_or(0));
    b.put_u8(filter_byte(h.filter));
    b.put_u8(h.hop);
    b.put_u8(set.len() as u8);
    for e in set {
        entry::encode(e, b);
    }
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
    let mode = if flags & v::FLAG_ITERATIVE != 0 {
        RoutingMode::Iterative
    } else {
        RoutingMode::Recursive
    };
    let key = match (flags & v::KEY_MASK) >> v::KEY_SHIFT {
        v::KEY_IP => UniquenessKey::Ip,
        v::KEY_IP_PORT => UniquenessKey::IpPort,
        v::KEY_PREFIX => UniquenessKey::Prefix,
        other => return Err(WireError::UnknownKey(other)),
    };
    if n > MAX_N {
        return Err(WireError::NAboveCap { n, cap: MAX_N });
    }
    let family = match (filter & v::FAMILY_MASK) >> v::FAMILY_SHIFT {
        v::FAMILY_ANY => None,
        v::FAMILY_V4 => Some(IpFamily::V4),
        v::FAMILY_V6 => Some(IpFamily::V6),
        other => return Err(WireError::UnknownFamily(other)),
    };
    let bound = if n == 0 { MAX_N } else { n };
    if k > bound {
        return Err(WireError::KAboveN { k, n: bound });
    }
    Ok(Header {
        mode,
        key,
        n: (n != 0).then_some(n),
        filter: Filter {
            services: Services::from_bits_truncate(filter & v::FILTER_SERVICES_MASK),
            family,
        },
        hop,
        k,
    })
}

/// Reads a whole value into `set` (emptied first; left empty on error).
/// Allocates only if `set` has no room for the entries the input holds.
pub(crate) fn decode_into<B: Buf>(b: &mut B, set: &mut CandidateSet) -> Result<Header, WireError> {
    set.reset(UniquenessKey::Ip);
    let h = decode_header(b)?;
    set.reset(h.key);
    // Never reserve more than the input could hold.
    let fits = b.remaining() / super::field::entry::MIN_LEN;
    set.reserve_for(h.k.min(fits.min(usize::from(MAX_N)) as u8));
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
    (f.services.bits() & v::FILTER_SERVICES_MASK) | (family << v::FAMILY_SHIFT)
}

pub(crate) use v::{HOP as HOP_OFFSET, K as K_OFFSET};
