//! One candidate-set entry on the wire, and RFC 6940's IpAddressPort.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};

use super::field::{addr, entry};
use super::input::{array, Input};
use super::WireError;
use crate::candidate::{Candidate, PerformanceHints, Role, Services, Transport, TransportAddress};
use crate::node_id::NodeId;
use crate::set::{CandidateSet, SetEntry};

/// Bytes of `e` after its length byte.
pub(crate) fn body_len(e: &SetEntry) -> usize {
    parts_body_len(&e.candidate, e.candidate.priority)
}

/// Bytes after its length byte of the entry of `c` with `priority` in
/// place of its own.
#[inline]
fn parts_body_len(c: &Candidate, priority: Option<u16>) -> usize {
    let mut len = entry::FIXED_LEN + address_len(&c.address);
    if priority.is_some() {
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
    if a.is_v6() {
        2 + usize::from(addr::IPV6_LEN)
    } else {
        2 + usize::from(addr::IPV4_LEN)
    }
}

/// Writes `e` in one `put_slice`; the caller has checked there is room for
/// [`encoded_len`].
#[inline]
pub(crate) fn encode<B: BufMut>(e: &SetEntry, b: &mut B) {
    encode_parts(&e.candidate, e.candidate.priority, e.hop, b);
}

/// [`encode`] of `c` with `priority` in place of its own, at `hop`: what an
/// intermediate peer appends from its table, with no entry built first.
#[inline]
pub(crate) fn encode_parts<B: BufMut>(c: &Candidate, priority: Option<u16>, hop: u8, b: &mut B) {
    let mut bytes = [0; entry::MAX_LEN];
    let mut out = Writer {
        bytes: &mut bytes,
        len: 0,
    };
    write(c, priority, hop, &mut out);
    let len = out.len;
    b.put_slice(bytes.get(..len).unwrap_or_default());
}

/// [`encode_parts`] laid out in `buf` itself at `at`, so no copy follows.
/// (A copy of an entry laid out on the stack reads back with wide loads
/// what narrow stores have just written, which the processor cannot
/// forward: a stall the append's profile showed on every entry.) The
/// entry's length is worked out first; when fewer bytes lie behind `at`,
/// `buf` grows with zeroed room, [`ROOM`] bytes at a time where its
/// capacity allows (so one zeroing serves several entries, and `buf`
/// never grows past its capacity for room it may not need). Returns where
/// the entry ends; the caller cuts `buf` off there when done.
#[inline]
pub(crate) fn put_parts_at(
    buf: &mut BytesMut,
    at: usize,
    c: &Candidate,
    priority: Option<u16>,
    hop: u8,
) -> usize {
    let len = 1 + parts_body_len(c, priority);
    let end = at + len;
    if buf.len() < end {
        let spare = buf.capacity().saturating_sub(at);
        // ROOM is 0 under `ablate-room`.
        #[allow(clippy::unnecessary_min_or_max)]
        let room = ROOM.min(spare);
        buf.resize(at + len.max(room), 0);
    }
    let mut out = Writer {
        bytes: &mut buf[at..end],
        len: 0,
    };
    write(c, priority, hop, &mut out);
    debug_assert_eq!(out.len, len);
    end
}

/// Zeroed room [`put_parts_at`] adds at a time: four IPv4 entries with
/// priority and hints. BENCHMARKS.md has the ablation row that keeps it;
/// the `ablate-room` feature (benchmarks only) makes it one entry's.
const ROOM: usize = if cfg!(feature = "ablate-room") { 0 } else { 96 };

/// Lays the entry out in `out`, length byte first.
#[inline]
fn write(c: &Candidate, priority: Option<u16>, hop: u8, out: &mut Writer<'_>) {
    let hints = c.hints != PerformanceHints::default();
    let mut flags = 0;
    if priority.is_some() {
        flags |= entry::FLAG_PRIORITY;
    }
    if hints {
        flags |= entry::FLAG_HINTS;
    }
    if c.node_id.is_some() {
        flags |= entry::FLAG_NODE_ID;
    }
    let role = match c.role {
        Role::Peer => entry::PEER,
        Role::Client => entry::CLIENT,
    };
    // The length byte is written last, once the body is laid out.
    out.put([
        0,
        flags,
        c.services.bits(),
        transport_code(c.address.transport()),
        role,
        hop,
    ]);
    if let Some(p) = priority {
        out.put(p.to_be_bytes());
    }
    if hints {
        out.put(c.hints.capacity.to_be_bytes());
        out.put(c.hints.bandwidth_kbps.to_be_bytes());
        out.put([c.hints.load_percent]);
    }
    if let Some(id) = &c.node_id {
        out.put([id.as_bytes().len() as u8]);
        out.put_slice(id.as_bytes());
    }
    let o = c.address.octets16();
    if c.address.is_v6() {
        out.put([addr::IPV6, addr::IPV6_LEN]);
        out.put(*o);
    } else {
        out.put([addr::IPV4, addr::IPV4_LEN, o[12], o[13], o[14], o[15]]);
    }
    out.put(c.address.port().to_be_bytes());
    // At most 5 + 2 + 7 + 33 + 20 = 67 bytes after it: fits the byte.
    out.bytes[0] = (out.len - 1) as u8;
}

/// An entry being laid out in `bytes`.
struct Writer<'a> {
    bytes: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    /// Appends a fixed-size field.
    #[inline(always)]
    fn put<const N: usize>(&mut self, field: [u8; N]) {
        self.put_slice(&field);
    }

    /// Appends `field`; an entry never outgrows its room (at most
    /// [`entry::MAX_LEN`]), and a field that would is dropped rather than
    /// written past the end.
    #[inline(always)]
    fn put_slice(&mut self, field: &[u8]) {
        let end = self.len + field.len();
        if let Some(dst) = self.bytes.get_mut(self.len..end) {
            dst.copy_from_slice(field);
            self.len = end;
        }
    }
}

/// Reads one entry: its length byte, then that many bytes. `Ok(None)`: an
/// address type this crate does not know, skipped whole.
#[inline]
pub(crate) fn decode<I: Input>(input: &mut I, index: u8) -> Result<Option<SetEntry>, WireError> {
    let (declared, body) = take_entry(input)?;
    Ok(parse(body, index, declared)?.map(Fields::into_entry))
}

/// Reads one entry into `set`, as [`decode`] does; an entry whose key the
/// set holds already is refused with [`WireError::DuplicateKey`].
#[inline]
pub(crate) fn decode_into<I: Input>(
    input: &mut I,
    index: u8,
    set: &mut CandidateSet,
) -> Result<(), WireError> {
    let (declared, body) = take_entry(input)?;
    let Some(fields) = parse(body, index, declared)? else {
        return Ok(());
    };
    // The key comes from the fields read, before the entry is built.
    let key = set.key().of_ip(fields.ip.to_canonical(), fields.port);
    if set.try_push_keyed(key, || fields.into_entry()) {
        Ok(())
    } else {
        Err(WireError::DuplicateKey { index })
    }
}

/// An entry's length byte and the bytes it declares.
#[inline(always)]
fn take_entry<I: Input>(input: &mut I) -> Result<(u8, &[u8]), WireError> {
    let declared = input.take_u8().ok_or(WireError::Truncated {
        what: "entry length",
    })?;
    let body = input
        .take_bytes(usize::from(declared))
        .ok_or(WireError::Truncated { what: "entry" })?;
    Ok((declared, body))
}

/// One entry's fields, read and checked.
struct Fields {
    ip: IpAddr,
    port: u16,
    transport: Transport,
    role: Role,
    services: Services,
    priority: Option<u16>,
    hints: PerformanceHints,
    node_id: Option<NodeId>,
    hop: u8,
}

impl Fields {
    /// The entry.
    #[inline(always)]
    fn into_entry(self) -> SetEntry {
        SetEntry {
            candidate: Candidate {
                address: TransportAddress::new(self.ip, self.port, self.transport),
                role: self.role,
                services: self.services,
                priority: self.priority,
                hints: self.hints,
                node_id: self.node_id,
            },
            hop: self.hop,
        }
    }
}

/// Reads the fields of one entry's `body`, the `declared` bytes after its
/// length byte, at fixed offsets (each optional field moves the ones after
/// it). Fields a later revision appends after the address are skipped.
/// `Ok(None)`: an address type this crate does not know.
#[inline(always)]
fn parse(body: &[u8], index: u8, declared: u8) -> Result<Option<Fields>, WireError> {
    let short = WireError::EntryLength { index, declared };
    let Some(&[flags, services, transport, role, hop]) = body.first_chunk::<{ entry::FIXED_LEN }>()
    else {
        return Err(short);
    };
    let mut at = entry::FIXED_LEN;
    let priority = if flags & entry::FLAG_PRIORITY != 0 {
        let p = array::<{ entry::PRIORITY_LEN }>(body, at).ok_or(short)?;
        at += entry::PRIORITY_LEN;
        Some(u16::from_be_bytes(p))
    } else {
        None
    };
    let hints = if flags & entry::FLAG_HINTS != 0 {
        let [c0, c1, b0, b1, b2, b3, load] =
            array::<{ entry::HINTS_LEN }>(body, at).ok_or(short)?;
        at += entry::HINTS_LEN;
        PerformanceHints {
            capacity: u16::from_be_bytes([c0, c1]),
            bandwidth_kbps: u32::from_be_bytes([b0, b1, b2, b3]),
            load_percent: load,
        }
    } else {
        PerformanceHints::default()
    };
    let node_id = if flags & entry::FLAG_NODE_ID != 0 {
        let len = *body.get(at).ok_or(short)?;
        if usize::from(len) > NodeId::MAX_LEN {
            return Err(WireError::NodeIdTooLong(len));
        }
        let id = body.get(at + 1..at + 1 + usize::from(len)).ok_or(short)?;
        at += 1 + usize::from(len);
        NodeId::new(id).ok()
    } else {
        None
    };
    let Some((ip, port)) = parse_address(body, at, short)? else {
        return Ok(None);
    };
    let transport = transport_of(transport).ok_or(WireError::UnknownTransport(transport))?;
    let role = match role {
        entry::PEER => Role::Peer,
        entry::CLIENT => Role::Client,
        other => return Err(WireError::UnknownRole(other)),
    };
    Ok(Some(Fields {
        ip,
        port,
        transport,
        role,
        services: Services::from_bits_truncate(services),
        priority,
        hints,
        node_id,
        hop,
    }))
}

/// Reads the IpAddressPort at `at` in `body`: type, length, then address
/// and port (RFC 6940's length counts both: 6 for IPv4, 18 for IPv6).
/// `Ok(None)`: an unknown type, whose `length` bytes are skipped. `short`
/// when `body` ends inside it.
#[inline(always)]
fn parse_address(
    body: &[u8],
    at: usize,
    short: WireError,
) -> Result<Option<(IpAddr, u16)>, WireError> {
    let [kind, len] = array::<2>(body, at).ok_or(short)?;
    let at = at + 2;
    match (kind, len) {
        (addr::IPV4, addr::IPV4_LEN) => {
            let ip = array::<4>(body, at).ok_or(short)?;
            let port = array::<2>(body, at + 4).ok_or(short)?;
            let ip = Ipv4Addr::from(u32::from_be_bytes(ip));
            Ok(Some((ip.into(), u16::from_be_bytes(port))))
        }
        (addr::IPV6, addr::IPV6_LEN) => {
            let ip = array::<16>(body, at).ok_or(short)?;
            let port = array::<2>(body, at + 16).ok_or(short)?;
            let ip = Ipv6Addr::from(u128::from_be_bytes(ip));
            Ok(Some((ip.into(), u16::from_be_bytes(port))))
        }
        (addr::IPV4 | addr::IPV6, len) => Err(WireError::BadAddressLength { kind, len }),
        _ if body.len().saturating_sub(at) >= usize::from(len) => Ok(None),
        _ => Err(short),
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
