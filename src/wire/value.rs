//! The value the option and the answer share: a six-byte header (version,
//! flags, N, filter, hop, K), the known list if the flags say so, and K
//! entries.

use bytes::BufMut;

use super::field::value as v;
use super::input::Input;
use super::{entry, WireError};
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
    let known_flag = if known.is_empty() { 0 } else { v::FLAG_KNOWN };
    b.put_slice(&[
        v::CURRENT_VERSION,
        flags_byte(h.mode, h.key) | known_flag,
        h.n.map_or(0, N::get),
        filter_byte(h.filter),
        h.hop,
        // At most N::MAX = 64.
        set.len() as u8,
    ]);
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
pub(crate) fn decode_known<I: Input>(
    input: &mut I,
    h: &Header,
    known: &mut KnownKeys,
) -> Result<(), WireError> {
    known.clear();
    for fp in take_known(input, h)?.chunks_exact(2) {
        known.push(u16::from_be_bytes([fp[0], fp[1]]));
    }
    Ok(())
}

/// Checks the known list [`decode_known`] would read, without keeping it.
pub(crate) fn skip_known<I: Input>(input: &mut I, h: &Header) -> Result<(), WireError> {
    take_known(input, h).map(|_| ())
}

/// Takes the known list's fingerprints (two bytes each) after checking its
/// count; none when the header announces no list.
fn take_known<'a, I: Input>(input: &'a mut I, h: &Header) -> Result<&'a [u8], WireError> {
    if !h.known {
        return Ok(&[]);
    }
    let count = usize::from(input.take_u8().ok_or(WireError::Truncated {
        what: "known count",
    })?);
    if count > KnownKeys::MAX {
        return Err(WireError::TooLong { what: "known list" });
    }
    input
        .take_bytes(2 * count)
        .ok_or(WireError::Truncated { what: "known list" })
}

/// Reads and checks the header.
pub(crate) fn decode_header<I: Input>(input: &mut I) -> Result<Header, WireError> {
    let Some(&[version, flags, n, filter, hop, k]) = input
        .take_bytes(v::HEADER_LEN)
        .and_then(|b| b.first_chunk::<{ v::HEADER_LEN }>())
    else {
        return Err(short_header(input));
    };
    if version != v::CURRENT_VERSION {
        return Err(WireError::UnknownVersion(version));
    }
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

/// The error for a value shorter than its header: a wrong version if the
/// version byte is there, else the first field missing.
#[cold]
fn short_header<I: Input>(input: &mut I) -> WireError {
    const FIELDS: [&str; v::HEADER_LEN] = ["version", "flags", "N", "filter", "hop", "K"];
    let got = input.take_bytes(input.left()).unwrap_or_default();
    match got.first() {
        Some(&version) if version != v::CURRENT_VERSION => WireError::UnknownVersion(version),
        _ => WireError::Truncated {
            what: FIELDS.get(got.len()).copied().unwrap_or("K"),
        },
    }
}

/// [`decode_into`] over a value that lies whole in `bytes`.
pub(crate) fn decode_slice(
    mut bytes: &[u8],
    set: &mut CandidateSet,
    known: &mut KnownKeys,
) -> Result<Header, WireError> {
    decode_into(&mut bytes, set, known)
}

/// Reads a whole value into `set` and `known` (both emptied first; the set
/// left empty on error). Allocates only if `set` has no room for the
/// entries the input holds.
#[inline]
pub(crate) fn decode_into<I: Input>(
    input: &mut I,
    set: &mut CandidateSet,
    known: &mut KnownKeys,
) -> Result<Header, WireError> {
    set.reset(UniquenessKey::Ip);
    let h = decode_header(input)?;
    decode_known(input, &h, known)?;
    set.reset(h.key);
    // Never reserve more than the input could hold.
    let fits = input.left() / super::field::entry::MIN_LEN;
    set.reserve_for(usize::from(h.k).min(fits));
    let result = decode_entries(input, &h, set);
    if result.is_err() {
        set.clear();
    }
    result.map(|()| h)
}

#[inline]
fn decode_entries<I: Input>(
    input: &mut I,
    h: &Header,
    set: &mut CandidateSet,
) -> Result<(), WireError> {
    for index in 0..h.k {
        if input.left() == 0 {
            return Err(WireError::KMismatch {
                k: h.k,
                found: index,
            });
        }
        entry::decode_into(input, index, set)?;
    }
    end(input, "entries")
}

/// Rejects anything left in `input`.
#[inline]
pub(crate) fn end<I: Input>(input: &I, what: &'static str) -> Result<(), WireError> {
    match input.left() {
        0 => Ok(()),
        count => Err(WireError::TrailingBytes { what, count }),
    }
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

#[cfg(test)]
mod tests {
    use bytes::Buf;

    use super::super::{decode_option, encode_option, Direction, WireConfig};
    use crate::candidate::{Candidate, Services, TransportAddress};
    use crate::filter::Filter;
    use crate::key::UniquenessKey;
    use crate::n::N;
    use crate::option::{PiggybackOption, RoutingMode};
    use crate::set::{CandidateSet, SetEntry};

    #[test]
    fn input_split_anywhere_decodes_as_the_slice_does() {
        let entries = ["45.0.0.1:3478", "[2001:db8::9]:5349", "46.0.0.1:1"].map(|a| SetEntry {
            candidate: Candidate::peer(TransportAddress::udp(a.parse().unwrap()), Services::BOTH)
                .with_priority(9),
            hop: 1,
        });
        let set = CandidateSet::from_entries(UniquenessKey::Ip, entries).unwrap();
        let option = PiggybackOption::from_parts(
            RoutingMode::Recursive,
            Some(N::DEFAULT),
            Filter::ANY,
            2,
            set,
        )
        .unwrap();
        let cfg = WireConfig::default();
        let mut bytes = Vec::new();
        encode_option(&option, Direction::Request, &cfg, &mut bytes).unwrap();
        // Whole, cut short and with a byte spoiled: each split of each input
        // gives what the slice gives, and leaves nothing of a whole option.
        let mut spoiled = bytes.clone();
        spoiled[12] = 9;
        for input in [&bytes[..], &bytes[..bytes.len() - 3], &spoiled[..]] {
            let whole = decode_option(&mut &input[..], &cfg);
            for cut in 0..=input.len() {
                let mut chained = Buf::chain(&input[..cut], &input[cut..]);
                assert_eq!(decode_option(&mut chained, &cfg), whole, "cut at {cut}");
                if whole.is_ok() {
                    assert_eq!(chained.remaining(), 0);
                }
            }
        }
        assert_eq!(decode_option(&mut &bytes[..], &cfg).unwrap(), option);
    }
}
