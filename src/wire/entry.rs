//! One candidate-set entry on the wire, and RFC 6940's IpAddressPort.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{Buf, BufMut};

use super::field::{addr, entry};
use super::reader;
use super::WireError;
use crate::candidate::{Candidate, PerformanceHints, Role, Services, Transport, TransportAddress};
use crate::node_id::NodeId;
use crate::set::SetEntry;

/// Bytes of `e` after its length byte.
pub(crate) fn body_len(e: &SetEntry) -> usize {
    let c = &e.candidate;
    let mut len = entry::FIXED_LEN + address_len(&c.address);
    if c.priority.is_some() {
        len += entry::PRIORITY_LEN;
    }
    if c.hints != PerformanceHints::default() {
        len += entry::HINTS_LEN;
    }
    if let Some(id) = &c.node_id {
        len += 1 + id.as_bytes().len();
    }
    len
}

/// Bytes of `e` on the wire, length byte included.
pub(crate) fn encoded_len(e: &SetEntry) -> usize {
    1 + body_len(e)
}

fn address_len(a: &TransportAddress) -> usize {
    match a.ip() {
        IpAddr::V4(_) => 2 + usize::from(addr::IPV4_LEN),
        IpAddr::V6(_) => 2 + usize::from(addr::IPV6_LEN),
    }
}

/// Writes `e`; the caller has checked there is room for [`encoded_len`].
pub(crate) fn encode<B: BufMut>(e: &SetEntry, b: &mut B) {
    let c = &e.candidate;
    let hints = c.hints != PerformanceHints::default();
    let mut flags = 0;
    if c.priority.is_some() {
        flags |= entry::FLAG_PRIORITY;
    }
    if hints {
        flags |= entry::FLAG_HINTS;
    }
    if c.node_id.is_some() {
        flags |= entry::FLAG_NODE_ID;
    }
    // At most 5 + 2 + 7 + 33 + 20 = 67 bytes: fits the length byte.
    b.put_u8(body_len(e) as u8);
    b.put_u8(flags);
    b.put_u8(c.services.bits());
    b.put_u8(transport_code(c.address.transport()));
    b.put_u8(match c.role {
        Role::Peer => entry::PEER,
        Role::Client => entry::CLIENT,
    });
    b.put_u8(e.hop);
    if let Some(p) = c.priority {
        b.put_u16(p);
    }
    if hints {
        b.put_u16(c.hints.capacity);
        b.put_u32(c.hints.bandwidth_kbps);
        b.put_u8(c.hints.load_percent);
    }
    if let Some(id) = &c.node_id {
        b.put_u8(id.as_bytes().len() as u8);
        b.put_slice(id.as_bytes());
    }
    encode_address(&c.address, b);
}

/// Writes an RFC 6940 IpAddressPort.
pub(crate) fn encode_address<B: BufMut>(a: &TransportAddress, b: &mut B) {
    match a.ip() {
        IpAddr::V4(v4) => {
            b.put_u8(addr::IPV4);
            b.put_u8(addr::IPV4_LEN);
            b.put_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            b.put_u8(addr::IPV6);
            b.put_u8(addr::IPV6_LEN);
            b.put_slice(&v6.octets());
        }
    }
    b.put_u16(a.port());
}

/// Reads one entry. `Ok(None)`: an address type this crate does not know,
/// skipped whole (its length byte says how far).
pub(crate) fn decode<B: Buf>(b: &mut B, index: u8) -> Result<Option<SetEntry>, WireError> {
    let declared = reader::u8(b, "entry length")?;
    if b.remaining() < usize::from(declared) {
        return Err(WireError::Truncated { what: "entry" });
    }
    let mut body = Buf::take(&mut *b, usize::from(declared));
    let short = |_| WireError::EntryLength { index, declared };
    let flags = reader::u8(&mut body, "entry").map_err(short)?;
    let services = Services::from_bits_truncate(reader::u8(&mut body, "entry").map_err(short)?);
    let transport = reader::u8(&mut body, "entry").map_err(short)?;
    let role = reader::u8(&mut body, "entry").map_err(short)?;
    let hop = reader::u8(&mut body, "entry").map_err(short)?;
    let priority = if flags & entry::FLAG_PRIORITY != 0 {
        Some(reader::u16(&mut body, "entry").map_err(short)?)
    } else {
        None
    };
    let hints = if flags & entry::FLAG_HINTS != 0 {
        PerformanceHints {
            capacity: reader::u16(&mut body, "entry").map_err(short)?,
            bandwidth_kbps: reader::u32(&mut body, "entry").map_err(short)?,
            load_percent: reader::u8(&mut body, "entry").map_err(short)?,
        }
    } else {
        PerformanceHints::default()
    };
    let node_id = if flags & entry::FLAG_NODE_ID != 0 {
        let len = reader::u8(&mut body, "entry").map_err(short)?;
        if usize::from(len) > NodeId::MAX_LEN {
            return Err(WireError::NodeIdTooLong(len));
        }
        let mut id = [0u8; NodeId::MAX_LEN];
        reader::bytes(&mut body, &mut id[..usize::from(len)], "entry").map_err(short)?;
        NodeId::new(&id[..usize::from(len)]).ok()
    } else {
        None
    };
    let Some(ip) = decode_ip(&mut body).map_err(|e| match e {
        WireError::Truncated { .. } => WireError::EntryLength { index, declared },
        other => other,
    })?
    else {
        let rest = body.remaining();
        body.advance(rest);
        return Ok(None);
    };
    let port = reader::u16(&mut body, "entry").map_err(short)?;
    // Fields a later revision appends to an entry are skipped.
    let rest = body.remaining();
    body.advance(rest);
    let transport = transport_of(transport).ok_or(WireError::UnknownTransport(transport))?;
    let role = match role {
        entry::PEER => Role::Peer,
        entry::CLIENT => Role::Client,
        other => return Err(WireError::UnknownRole(other)),
    };
    Ok(Some(SetEntry {
        candidate: Candidate {
            address: TransportAddress::new(ip, port, transport),
            role,
            services,
            priority,
            hints,
            node_id,
        },
        hop,
    }))
}

/// Reads an IpAddressPort's type, length and address; the port is left for
/// the caller (RFC 6940's length counts address and port: 6 for IPv4, 18
/// for IPv6). `Ok(None)`: an unknown type, whose `length` bytes are skipped.
fn decode_ip<B: Buf>(b: &mut B) -> Result<Option<IpAddr>, WireError> {
    let kind = reader::u8(b, "address type")?;
    let len = reader::u8(b, "address length")?;
    match (kind, len) {
        (addr::IPV4, addr::IPV4_LEN) => {
            let mut o = [0u8; 4];
            reader::bytes(b, &mut o, "IPv4 address")?;
            Ok(Some(IpAddr::V4(Ipv4Addr::from(o))))
        }
        (addr::IPV6, addr::IPV6_LEN) => {
            let mut o = [0u8; 16];
            reader::bytes(b, &mut o, "IPv6 address")?;
            Ok(Some(IpAddr::V6(Ipv6Addr::from(o))))
        }
        (addr::IPV4 | addr::IPV6, len) => Err(WireError::BadAddressLength { kind, len }),
        _ => {
            reader::skip(b, usize::from(len), "address")?;
            Ok(None)
        }
    }
}

/// The transport of a transport code, if it is one.
pub(crate) const fn transport_of(code: u8) -> Option<Transport> {
    match code {
        entry::UDP => Some(Transport::Udp),
        entry::TCP => Some(Transport::Tcp),
        entry::TLS => Some(Transport::Tls),
        entry::DTLS => Some(Transport::Dtls),
        _ => None,
    }
}

/// The code of a transport.
pub(crate) const fn transport_code(t: Transport) -> u8 {
    match t {
        Transport::Udp => entry::UDP,
        Transport::Tcp => entry::TCP,
        Transport::Tls => entry::TLS,
        Transport::Dtls => entry::DTLS,
    }
}
