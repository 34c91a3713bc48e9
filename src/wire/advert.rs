//! The willingness advertisement on the wire: a RELOAD MessageExtension
//! (RFC 6940 §6.3.3) inside the advertiser's JoinReq/JoinAns, UpdateReq or
//! AttachReq/AttachAns, so the advertiser's signature covers it. Its value
//! starts with a format byte that tells it apart from a candidate-set value
//! (which starts with its version, 1), so both may share one extension code
//! point; then flags, a count and the servers in the candidate-set entry
//! layout with hop 0. WIRE.md has the layout byte by byte.

use bytes::{Buf, BufMut};

use super::field::{advert as a, ext};
use super::input::{Copied, Input};
use super::{entry, reader, value, WireConfig, WireError};
use crate::advert::Advertisement;
use crate::set::SetEntry;

/// Bytes [`encode_advert`] writes for `advert`.
pub fn advert_len(advert: &Advertisement) -> usize {
    ext::HEADER_LEN
        + a::HEADER_LEN
        + advert
            .servers()
            .iter()
            .map(|c| entry::encoded_len(&as_entry(c)))
            .sum::<usize>()
}

/// Writes `advert` as a non-critical MessageExtension of
/// [`WireConfig::extension_type`].
///
/// ```
/// use stun_turn_discovery::wire::{self, WireConfig};
/// use stun_turn_discovery::{Advertisement, Candidate, Services, TransportAddress};
/// let server = Candidate::peer(TransportAddress::udp("192.0.2.1:3478".parse().unwrap()), Services::BOTH);
/// let advert = Advertisement::new([server])?;
/// let mut buf = Vec::new();
/// wire::encode_advert(&advert, &WireConfig::default(), &mut buf)?;
/// assert_eq!(buf.len(), wire::advert_len(&advert));
/// assert_eq!(wire::decode_advert(&mut &buf[..], &WireConfig::default())?, advert);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_advert<B: BufMut>(
    advert: &Advertisement,
    config: &WireConfig,
    buf: &mut B,
) -> Result<(), WireError> {
    let needed = advert_len(advert);
    super::room(buf, needed)?;
    buf.put_u16(config.extension_type);
    buf.put_u8(0);
    buf.put_u32((needed - ext::HEADER_LEN) as u32);
    buf.put_u8(a::FORMAT);
    buf.put_u8(0);
    // At most MAX_SERVERS = 8.
    buf.put_u8(advert.servers().len() as u8);
    for c in advert.servers() {
        entry::encode(&as_entry(c), buf);
    }
    Ok(())
}

/// Reads one advertisement that fills `buf` exactly. Servers of an address
/// type this crate does not know are skipped; a server offering no service,
/// a repeated address or more than
/// [`Advertisement::MAX_SERVERS`] servers are refused
/// ([`WireError::Advert`]).
pub fn decode_advert<B: Buf>(buf: &mut B, config: &WireConfig) -> Result<Advertisement, WireError> {
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
    match buf.chunk().get(..len) {
        Some(mut bytes) => {
            let result = decode_value(&mut bytes);
            buf.advance(len);
            result
        }
        None => {
            let mut input = Copied::new(buf, len);
            let result = decode_value(&mut input);
            input.skip_rest();
            result
        }
    }
}

/// Reads an advertisement's value: format, flags, count and the servers.
fn decode_value<I: Input>(input: &mut I) -> Result<Advertisement, WireError> {
    let format = input.take_u8().ok_or(WireError::Truncated {
        what: "advertisement format",
    })?;
    if format != a::FORMAT {
        return Err(WireError::UnknownVersion(format));
    }
    let _flags = input.take_u8().ok_or(WireError::Truncated {
        what: "advertisement flags",
    })?;
    let count = input.take_u8().ok_or(WireError::Truncated {
        what: "advertisement count",
    })?;
    if usize::from(count) > Advertisement::MAX_SERVERS {
        return Err(crate::advert::AdvertError::TooMany {
            count: usize::from(count),
        }
        .into());
    }
    let mut servers = [None; Advertisement::MAX_SERVERS];
    for (index, slot) in servers.iter_mut().take(usize::from(count)).enumerate() {
        if input.left() == 0 {
            return Err(WireError::KMismatch {
                k: count,
                found: index as u8,
            });
        }
        *slot = entry::decode(input, index as u8)?.map(|e| e.candidate);
    }
    value::end(input, "advertisement")?;
    Ok(Advertisement::new(servers.into_iter().flatten())?)
}

/// A server as a set entry with hop 0: the layout the two share.
fn as_entry(c: &crate::candidate::Candidate) -> SetEntry {
    SetEntry {
        candidate: *c,
        hop: 0,
    }
}
