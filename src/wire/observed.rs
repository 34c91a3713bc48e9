//! The observed address: the transport address a peer saw a request come
//! from, sent back to the sending node so it learns its reflexive address
//! and its NAT's mapping behaviour without a STUN exchange (what §3.2.1 and
//! §4.1 leave to one; see [`ObservedAddresses`](crate::node::ObservedAddresses)).
//!
//! It travels in structures of its own, so a peer that does not know it
//! skips it as RFC 6940 has it for any option or extension it does not
//! understand, and every encoding without it decodes as before:
//!
//! - in **recursive mode**, the first hop (the one that received the
//!   request from the sending node) adds a ForwardingOption of type
//!   [`WireConfig::observed_option_type`] with RESPONSE_COPY set, so the
//!   responder copies it into the response (§6.3.2.3);
//! - in **iterative mode**, every hop answers directly, and puts a
//!   MessageExtension of type [`WireConfig::observed_extension_type`]
//!   (not critical) in its response next to its answer.
//!
//! The value, 10 bytes for IPv4 and 22 for IPv6: a format byte `0x21`
//! (high nibble 2: observed address; low nibble: version 1), the transport
//! code of an entry (1 UDP, 2 TCP, 3 TLS, 4 DTLS), and the address as a
//! RELOAD IpAddressPort (RFC 6940 §6.3.1). WIRE.md has the layout and
//! annotated vectors.
//!
//! ```
//! use stun_turn_discovery::wire::{self, Direction, WireConfig};
//! use stun_turn_discovery::TransportAddress;
//! let seen = TransportAddress::udp("203.0.113.7:40001".parse().unwrap());
//! let mut buf = Vec::new();
//! wire::encode_observed_option(&seen, Direction::Request, &WireConfig::default(), &mut buf)?;
//! assert_eq!(buf.len(), wire::observed_option_len(&seen));
//! assert_eq!(wire::decode_observed_option(&mut &buf[..], &WireConfig::default())?, seen);
//! # Ok::<(), stun_turn_discovery::wire::WireError>(())
//! ```

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{Buf, BufMut};

use super::entry::{transport_code, transport_of};
use super::field::{addr, ext, fwd, fwd_flags, observed};
use super::{room, Direction, WireConfig, WireError};
use crate::candidate::TransportAddress;

/// Bytes of the value for `address`.
fn value_len(address: &TransportAddress) -> usize {
    observed::HEADER_LEN
        + 2
        + match address.ip() {
            IpAddr::V4(_) => usize::from(addr::IPV4_LEN),
            IpAddr::V6(_) => usize::from(addr::IPV6_LEN),
        }
}

/// Bytes [`encode_observed_option`] writes for `address`: 14 for IPv4, 26
/// for IPv6.
pub fn observed_option_len(address: &TransportAddress) -> usize {
    fwd::HEADER_LEN + value_len(address)
}

/// Bytes [`encode_observed_extension`] writes for `address`: 17 for IPv4,
/// 29 for IPv6.
pub fn observed_extension_len(address: &TransportAddress) -> usize {
    ext::HEADER_LEN + value_len(address)
}

/// Writes `address` as the recursive-mode ForwardingOption: RESPONSE_COPY
/// in a request, no flag in a response. Nothing is written if `buf` has no
/// room ([`WireError::BufferTooSmall`]).
pub fn encode_observed_option<B: BufMut>(
    address: &TransportAddress,
    direction: Direction,
    config: &WireConfig,
    buf: &mut B,
) -> Result<(), WireError> {
    room(buf, observed_option_len(address))?;
    buf.put_u8(config.observed_option_type);
    buf.put_u8(match direction {
        Direction::Request => fwd_flags::RESPONSE_COPY,
        Direction::Response => 0,
    });
    buf.put_u16(value_len(address) as u16);
    encode_value(address, buf);
    Ok(())
}

/// Reads the recursive-mode ForwardingOption written by
/// [`encode_observed_option`]; `buf` holds it and nothing after it.
pub fn decode_observed_option<B: Buf>(
    buf: &mut B,
    config: &WireConfig,
) -> Result<TransportAddress, WireError> {
    let mut header = [0u8; fwd::HEADER_LEN];
    read(buf, &mut header, "option header")?;
    if header[fwd::TYPE] != config.observed_option_type {
        return Err(WireError::WrongType {
            expected: config.observed_option_type.into(),
            found: header[fwd::TYPE].into(),
        });
    }
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    decode_value(buf, len)
}

/// Writes `address` as the iterative-mode MessageExtension (not critical).
/// Nothing is written if `buf` has no room.
pub fn encode_observed_extension<B: BufMut>(
    address: &TransportAddress,
    config: &WireConfig,
    buf: &mut B,
) -> Result<(), WireError> {
    room(buf, observed_extension_len(address))?;
    buf.put_u16(config.observed_extension_type);
    buf.put_u8(0);
    buf.put_u32(value_len(address) as u32);
    encode_value(address, buf);
    Ok(())
}

/// Reads the iterative-mode MessageExtension written by
/// [`encode_observed_extension`]; `buf` holds it and nothing after it.
pub fn decode_observed_extension<B: Buf>(
    buf: &mut B,
    config: &WireConfig,
) -> Result<TransportAddress, WireError> {
    let mut header = [0u8; ext::HEADER_LEN];
    read(buf, &mut header, "extension header")?;
    let kind = u16::from_be_bytes([header[0], header[1]]);
    if kind != config.observed_extension_type {
        return Err(WireError::WrongType {
            expected: config.observed_extension_type,
            found: kind,
        });
    }
    let len = u32::from_be_bytes([header[3], header[4], header[5], header[6]]) as usize;
    decode_value(buf, len)
}

/// Writes the value (the caller checked the room).
pub(crate) fn encode_value<B: BufMut>(address: &TransportAddress, buf: &mut B) {
    buf.put_u8(observed::FORMAT);
    buf.put_u8(transport_code(address.transport()));
    match address.ip() {
        IpAddr::V4(v4) => {
            buf.put_u8(addr::IPV4);
            buf.put_u8(addr::IPV4_LEN);
            buf.put_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            buf.put_u8(addr::IPV6);
            buf.put_u8(addr::IPV6_LEN);
            buf.put_slice(&v6.octets());
        }
    }
    buf.put_u16(address.port());
}

/// Reads a value of `len` bytes, which must be all that is left in `buf`.
fn decode_value<B: Buf>(buf: &mut B, len: usize) -> Result<TransportAddress, WireError> {
    if buf.remaining() < len {
        return Err(WireError::Truncated {
            what: "observed address",
        });
    }
    if buf.remaining() > len {
        return Err(WireError::TrailingBytes {
            what: "observed address",
            count: buf.remaining() - len,
        });
    }
    let mut value = [0u8; observed::MAX_VALUE_LEN];
    let Some(value) = value.get_mut(..len) else {
        return Err(WireError::TooLong {
            what: "observed address",
        });
    };
    buf.copy_to_slice(value);
    parse_value(value)
}

/// Parses a whole value.
pub(crate) fn parse_value(v: &[u8]) -> Result<TransportAddress, WireError> {
    let truncated = WireError::Truncated {
        what: "observed address",
    };
    let [format, transport, kind, alen, rest @ ..] = v else {
        return Err(truncated);
    };
    if *format != observed::FORMAT {
        return Err(WireError::UnknownVersion(*format));
    }
    let transport = transport_of(*transport).ok_or(WireError::UnknownTransport(*transport))?;
    let ip_len = match (*kind, *alen) {
        (addr::IPV4, addr::IPV4_LEN) => 4,
        (addr::IPV6, addr::IPV6_LEN) => 16,
        (addr::IPV4 | addr::IPV6, len) => {
            return Err(WireError::BadAddressLength { kind: *kind, len })
        }
        (other, _) => return Err(WireError::UnknownAddressType(other)),
    };
    if rest.len() < ip_len + 2 {
        return Err(truncated);
    }
    if rest.len() > ip_len + 2 {
        return Err(WireError::TrailingBytes {
            what: "observed address",
            count: rest.len() - ip_len - 2,
        });
    }
    let ip = if ip_len == 4 {
        IpAddr::V4(Ipv4Addr::new(rest[0], rest[1], rest[2], rest[3]))
    } else {
        let mut o = [0u8; 16];
        o.copy_from_slice(&rest[..16]);
        IpAddr::V6(Ipv6Addr::from(o))
    };
    let port = u16::from_be_bytes([rest[ip_len], rest[ip_len + 1]]);
    Ok(TransportAddress::new(ip, port, transport))
}

/// Reads exactly `out.len()` bytes.
fn read<B: Buf>(buf: &mut B, out: &mut [u8], what: &'static str) -> Result<(), WireError> {
    if buf.remaining() < out.len() {
        return Err(WireError::Truncated { what });
    }
    buf.copy_to_slice(out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidate::Transport;

    #[test]
    fn round_trips_and_sizes() {
        let config = WireConfig::default();
        for (a, t) in [
            ("203.0.113.7:40001", Transport::Udp),
            ("[2001:db8::7]:5061", Transport::Tls),
        ] {
            let address = TransportAddress::new(
                a.parse::<core::net::SocketAddr>().unwrap().ip(),
                a.parse::<core::net::SocketAddr>().unwrap().port(),
                t,
            );
            let mut o = Vec::new();
            encode_observed_option(&address, Direction::Request, &config, &mut o).unwrap();
            assert_eq!(o.len(), observed_option_len(&address));
            assert_eq!(o[1], fwd_flags::RESPONSE_COPY);
            assert_eq!(decode_observed_option(&mut &o[..], &config), Ok(address));
            let mut e = Vec::new();
            encode_observed_extension(&address, &config, &mut e).unwrap();
            assert_eq!(e.len(), observed_extension_len(&address));
            assert_eq!(decode_observed_extension(&mut &e[..], &config), Ok(address));
            // Every truncation is an error, never a panic.
            for cut in 0..o.len() {
                assert!(decode_observed_option(&mut &o[..cut], &config).is_err());
            }
            for cut in 0..e.len() {
                assert!(decode_observed_extension(&mut &e[..cut], &config).is_err());
            }
        }
        let v4 = TransportAddress::udp("192.0.2.1:1".parse().unwrap());
        let v6 = TransportAddress::udp("[2001:db8::1]:1".parse().unwrap());
        assert_eq!(
            (observed_option_len(&v4), observed_option_len(&v6)),
            (14, 26)
        );
        assert_eq!(
            (observed_extension_len(&v4), observed_extension_len(&v6)),
            (17, 29)
        );
    }

    #[test]
    fn an_ipv4_mapped_address_reads_as_ipv4() {
        let mut v = vec![0x21, 1, 2, 18];
        v.extend([0; 10]);
        v.extend([0xff, 0xff, 192, 0, 2, 1]);
        v.extend(40_001u16.to_be_bytes());
        let a = parse_value(&v).unwrap();
        assert_eq!(a.socket_addr(), "192.0.2.1:40001".parse().unwrap());
    }

    #[test]
    fn malformed_values_are_typed_errors() {
        let ok = [0x21, 1, 1, 6, 192, 0, 2, 1, 0x9c, 0x41];
        assert!(parse_value(&ok).is_ok());
        let mut v = ok;
        v[0] = 0x01;
        assert_eq!(parse_value(&v), Err(WireError::UnknownVersion(0x01)));
        let mut v = ok;
        v[1] = 9;
        assert_eq!(parse_value(&v), Err(WireError::UnknownTransport(9)));
        let mut v = ok;
        v[2] = 7;
        assert_eq!(parse_value(&v), Err(WireError::UnknownAddressType(7)));
        let mut v = ok;
        v[3] = 18;
        assert_eq!(
            parse_value(&v),
            Err(WireError::BadAddressLength { kind: 1, len: 18 })
        );
        let mut long = ok.to_vec();
        long.push(0);
        assert!(matches!(
            parse_value(&long),
            Err(WireError::TrailingBytes { count: 1, .. })
        ));
        let config = WireConfig::default();
        let mut o = Vec::new();
        encode_observed_option(
            &TransportAddress::udp("192.0.2.1:1".parse().unwrap()),
            Direction::Response,
            &config,
            &mut o,
        )
        .unwrap();
        assert_eq!(o[1], 0);
        o.push(0);
        assert!(matches!(
            decode_observed_option(&mut &o[..], &config),
            Err(WireError::TrailingBytes { .. })
        ));
        assert!(matches!(
            decode_observed_option(
                &mut &o[..],
                &WireConfig {
                    observed_option_type: 9,
                    ..config
                }
            ),
            Err(WireError::WrongType { .. })
        ));
    }
}
