//! The example's own datagram framing: a small header, the route a request
//! took, and opaque slots that carry the crate's encodings as they are
//! (the piggyback option and the observed-address option as RELOAD
//! ForwardingOptions; iterative answers, observed addresses of iterative
//! responses and willingness adverts as RELOAD MessageExtensions), then a
//! body of the overlay's own.
//!
//! ```text
//! offset  bytes  field
//!  0      2      magic "SD"
//!  2      1      version (2)
//!  3      1      code: 1 JOIN, 2 UPDATE (maintenance), 3 GET, 4 PUT,
//!                5 FIND (finger lookup, maintenance); bit 7 set: response
//!  4      1      flags: 0x01 iterative (a hop that is not responsible
//!                answers with a redirect), 0x02 final (the receiver is
//!                responsible: answer, do not route)
//!  5      1      TTL
//!  6      8      transaction id
//! 14      8      key: the ring position the request is routed to
//! 22      8      origin: ring id of the peer or node that sent it
//! 30      1      route count R (at most MAX_ROUTE), then R addresses as
//!                RFC 6940 IpAddressPort (type 1|2, length 6|18, ip, port):
//!                in a request the hops so far, in a response the way back
//!  …      2      option length L (0: none), then L bytes: the crate's
//!                ForwardingOption (`wire::encode_option`)
//!  …      2      observed length O (0: none), then O bytes: the crate's
//!                observed-address ForwardingOption
//!                (`wire::encode_observed_option`), put in by the first
//!                hop of a recursive request, copied back by the responder
//!  …      1      extension count E (at most MAX_EXTENSIONS), then E times
//!                a u16 length and the crate's MessageExtension
//!                (`wire::encode_answer` / `wire::encode_observed_extension`
//!                / `wire::encode_advert`)
//!  …      2      body length B, then B bytes (`Body`)
//! ```
//!
//! Nothing may follow the body. Every integer is big-endian. Decoding
//! checks every length before reading and never panics: each fault is a
//! `FrameError`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use stun_turn_discovery::bytes::BytesMut;
use thiserror::Error;

/// The first two bytes of every frame. 0x53 has its top bits 01, so a
/// frame is never taken for a STUN message (top bits 00) on a socket that
/// carries both.
pub(crate) const MAGIC: [u8; 2] = *b"SD";
/// The framing version this example speaks (2: with the observed slot).
pub(crate) const VERSION: u8 = 2;
/// Bytes before the route.
pub(crate) const HEADER_LEN: usize = 31;
/// Longest route a frame may carry (the TTL ends routes earlier).
pub(crate) const MAX_ROUTE: usize = 16;
/// Most extensions a frame may carry.
pub(crate) const MAX_EXTENSIONS: usize = 4;
/// Largest frame sent or accepted.
pub(crate) const MAX_FRAME: usize = 4096;
/// Most peers a `Body::Peers` list holds.
pub(crate) const MAX_PEERS: usize = 16;

/// Frame flags.
pub(crate) mod flags {
    /// Iterative routing: a hop that is not responsible answers at once
    /// with the next hop.
    pub(crate) const ITERATIVE: u8 = 0x01;
    /// The receiver is responsible for the key: answer, do not route.
    pub(crate) const FINAL: u8 = 0x02;
}

/// What a frame asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum Code {
    /// Join the ring (routed to the joiner's id).
    #[default]
    Join = 1,
    /// Routing maintenance between ring neighbours (one hop, not routed).
    Update = 2,
    /// Fetch a value (routed to its key).
    Get = 3,
    /// Store a value (routed to its key).
    Put = 4,
    /// Finger lookup: who is responsible for a key (routed maintenance).
    Find = 5,
}

impl Code {
    fn from_u8(b: u8) -> Result<Self, FrameError> {
        Ok(match b {
            1 => Self::Join,
            2 => Self::Update,
            3 => Self::Get,
            4 => Self::Put,
            5 => Self::Find,
            _ => return Err(FrameError::UnknownCode(b)),
        })
    }
}

/// Every fault the decoder (and the encoder's size checks) refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub(crate) enum FrameError {
    /// Shorter than the fixed header.
    #[error("datagram of {0} bytes is shorter than the {HEADER_LEN}-byte header")]
    Short(usize),
    /// Larger than `MAX_FRAME`.
    #[error("frame of {0} bytes is larger than {MAX_FRAME}")]
    TooLarge(usize),
    /// Not this example's magic.
    #[error("bad magic {0:02x?}")]
    BadMagic([u8; 2]),
    /// Another framing version.
    #[error("unknown framing version {0}")]
    UnknownVersion(u8),
    /// A code other than 1 to 5.
    #[error("unknown message code {0:#04x}")]
    UnknownCode(u8),
    /// The input ends inside a field.
    #[error("input ends inside the {0}")]
    Truncated(&'static str),
    /// Bytes after the body (or after a body's last field).
    #[error("{0} byte(s) after the end of the {1}")]
    TrailingBytes(usize, &'static str),
    /// A route longer than `MAX_ROUTE`.
    #[error("route of {0} hops is longer than {MAX_ROUTE}")]
    RouteTooLong(usize),
    /// More extensions than `MAX_EXTENSIONS`.
    #[error("{0} extensions, more than {MAX_EXTENSIONS}")]
    TooManyExtensions(usize),
    /// More peers than `MAX_PEERS`.
    #[error("{0} peers in a list, more than {MAX_PEERS}")]
    TooManyPeers(usize),
    /// An IpAddressPort of an unknown type or with the wrong length.
    #[error("address type {kind} with length {len}")]
    BadAddress {
        /// Address type.
        kind: u8,
        /// Length found.
        len: u8,
    },
    /// A body whose status byte is unknown.
    #[error("unknown body tag {0}")]
    UnknownBody(u8),
    /// A field longer than its u16 length can say.
    #[error("the {0} is too long for its length field")]
    FieldTooLong(&'static str),
}

/// A ring member: its id and overlay address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PeerRef {
    /// Ring position.
    pub(crate) id: u64,
    /// Overlay (UDP) address.
    pub(crate) addr: SocketAddr,
}

/// One datagram of the overlay.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Frame {
    /// What it asks for.
    pub(crate) code: Code,
    /// A response to a request of `code`.
    pub(crate) response: bool,
    /// `flags::ITERATIVE`, `flags::FINAL`; other bits kept, ignored.
    pub(crate) flags: u8,
    /// Hops left.
    pub(crate) ttl: u8,
    /// Matches a response to its request.
    pub(crate) txid: u64,
    /// Where on the ring it is routed.
    pub(crate) key: u64,
    /// The sender's ring id.
    pub(crate) origin: u64,
    /// The hops so far (request) or the way back (response).
    pub(crate) route: Vec<SocketAddr>,
    /// The crate's ForwardingOption, as received (appended in place).
    pub(crate) option: Option<BytesMut>,
    /// The crate's observed-address ForwardingOption (recursive mode).
    pub(crate) observed: Option<Vec<u8>>,
    /// The crate's MessageExtensions: iterative answers and adverts.
    pub(crate) extensions: Vec<Vec<u8>>,
    /// `Body`, encoded.
    pub(crate) body: Vec<u8>,
}

impl Frame {
    /// A request of `code` to `key`.
    pub(crate) fn request(code: Code, txid: u64, key: u64, origin: u64) -> Self {
        Self {
            code,
            ttl: 32,
            txid,
            key,
            origin,
            ..Self::default()
        }
    }

    /// The response to this request: same code, transaction and key,
    /// flags cleared, the route to go back along, no options (the
    /// responder copies them if asked to).
    pub(crate) fn response(&self, origin: u64, body: &Body) -> Self {
        Self {
            code: self.code,
            response: true,
            flags: 0,
            ttl: 32,
            txid: self.txid,
            key: self.key,
            origin,
            route: self.route.clone(),
            option: None,
            observed: None,
            extensions: Vec::new(),
            body: body.encode(),
        }
    }

    /// The frame's bytes; refuses what the decoder would refuse for size.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, FrameError> {
        if self.route.len() > MAX_ROUTE {
            return Err(FrameError::RouteTooLong(self.route.len()));
        }
        if self.extensions.len() > MAX_EXTENSIONS {
            return Err(FrameError::TooManyExtensions(self.extensions.len()));
        }
        let mut b = Vec::with_capacity(256);
        b.extend_from_slice(&MAGIC);
        b.push(VERSION);
        b.push(self.code as u8 | if self.response { 0x80 } else { 0 });
        b.push(self.flags);
        b.push(self.ttl);
        b.extend_from_slice(&self.txid.to_be_bytes());
        b.extend_from_slice(&self.key.to_be_bytes());
        b.extend_from_slice(&self.origin.to_be_bytes());
        b.push(self.route.len() as u8);
        for addr in &self.route {
            put_addr(&mut b, addr);
        }
        put_field(&mut b, self.option.as_deref().unwrap_or(&[]), "option")?;
        put_field(&mut b, self.observed.as_deref().unwrap_or(&[]), "observed")?;
        b.push(self.extensions.len() as u8);
        for e in &self.extensions {
            put_field(&mut b, e, "extension")?;
        }
        put_field(&mut b, &self.body, "body")?;
        if b.len() > MAX_FRAME {
            return Err(FrameError::TooLarge(b.len()));
        }
        Ok(b)
    }

    /// Reads one frame that fills `bytes` exactly.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        if bytes.len() > MAX_FRAME {
            return Err(FrameError::TooLarge(bytes.len()));
        }
        if bytes.len() < HEADER_LEN {
            return Err(FrameError::Short(bytes.len()));
        }
        let mut r = Reader(bytes);
        let magic = [r.u8("magic")?, r.u8("magic")?];
        if magic != MAGIC {
            return Err(FrameError::BadMagic(magic));
        }
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(FrameError::UnknownVersion(version));
        }
        let code = r.u8("code")?;
        let response = code & 0x80 != 0;
        let code = Code::from_u8(code & 0x7f)?;
        let flags = r.u8("flags")?;
        let ttl = r.u8("TTL")?;
        let txid = r.u64("transaction id")?;
        let key = r.u64("key")?;
        let origin = r.u64("origin")?;
        let count = usize::from(r.u8("route count")?);
        if count > MAX_ROUTE {
            return Err(FrameError::RouteTooLong(count));
        }
        let mut route = Vec::with_capacity(count);
        for _ in 0..count {
            route.push(r.addr()?);
        }
        let option = r.field("option")?;
        let option = (!option.is_empty()).then(|| BytesMut::from(option));
        let observed = r.field("observed")?;
        let observed = (!observed.is_empty()).then(|| observed.to_vec());
        let count = usize::from(r.u8("extension count")?);
        if count > MAX_EXTENSIONS {
            return Err(FrameError::TooManyExtensions(count));
        }
        let mut extensions = Vec::with_capacity(count);
        for _ in 0..count {
            extensions.push(r.field("extension")?.to_vec());
        }
        let body = r.field("body")?.to_vec();
        r.end("frame")?;
        Ok(Self {
            code,
            response,
            flags,
            ttl,
            txid,
            key,
            origin,
            route,
            option,
            observed,
            extensions,
            body,
        })
    }
}

/// What a frame's body says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// Nothing (most requests).
    Empty,
    /// Ring members: the responder first, then its neighbours.
    Peers(Vec<PeerRef>),
    /// A value (PUT request, GET answer).
    Value(Vec<u8>),
    /// GET: no value under the key.
    NotFound,
    /// PUT: stored.
    Stored,
    /// Iterative routing: ask `next`; `last`: it is responsible.
    Redirect {
        /// The next hop.
        next: PeerRef,
        /// Whether the next hop is responsible for the key.
        last: bool,
    },
}

impl Body {
    /// The body's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        match self {
            Self::Empty => b.push(0),
            Self::Peers(list) => {
                b.push(1);
                let list = &list[..list.len().min(MAX_PEERS)];
                b.push(list.len() as u8);
                for p in list {
                    put_peer(&mut b, p);
                }
            }
            Self::Value(v) => {
                b.push(2);
                b.extend_from_slice(v);
            }
            Self::NotFound => b.push(3),
            Self::Stored => b.push(4),
            Self::Redirect { next, last } => {
                b.push(5);
                put_peer(&mut b, next);
                b.push(u8::from(*last));
            }
        }
        b
    }

    /// Reads a body that fills `bytes` exactly.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        let mut r = Reader(bytes);
        let body = match r.u8("body tag")? {
            0 => Self::Empty,
            1 => {
                let count = usize::from(r.u8("peer count")?);
                if count > MAX_PEERS {
                    return Err(FrameError::TooManyPeers(count));
                }
                let mut list = Vec::with_capacity(count);
                for _ in 0..count {
                    list.push(r.peer()?);
                }
                Self::Peers(list)
            }
            2 => {
                let v = r.0.to_vec();
                r.0 = &[];
                Self::Value(v)
            }
            3 => Self::NotFound,
            4 => Self::Stored,
            5 => {
                let next = r.peer()?;
                let last = r.u8("redirect flag")? != 0;
                Self::Redirect { next, last }
            }
            tag => return Err(FrameError::UnknownBody(tag)),
        };
        r.end("body")?;
        Ok(body)
    }
}

fn put_field(b: &mut Vec<u8>, field: &[u8], what: &'static str) -> Result<(), FrameError> {
    let len = u16::try_from(field.len()).map_err(|_| FrameError::FieldTooLong(what))?;
    b.extend_from_slice(&len.to_be_bytes());
    b.extend_from_slice(field);
    Ok(())
}

/// RFC 6940 §6.3.1 IpAddressPort.
fn put_addr(b: &mut Vec<u8>, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => {
            b.extend_from_slice(&[1, 6]);
            b.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            b.extend_from_slice(&[2, 18]);
            b.extend_from_slice(&ip.octets());
        }
    }
    b.extend_from_slice(&addr.port().to_be_bytes());
}

fn put_peer(b: &mut Vec<u8>, p: &PeerRef) {
    b.extend_from_slice(&p.id.to_be_bytes());
    put_addr(b, &p.addr);
}

/// A checked reader: every read looks at the length first.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
        if self.0.len() < n {
            return Err(FrameError::Truncated(what));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, FrameError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, FrameError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, FrameError> {
        let mut a = [0; 8];
        a.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_be_bytes(a))
    }

    fn field(&mut self, what: &'static str) -> Result<&'a [u8], FrameError> {
        let len = usize::from(self.u16(what)?);
        self.take(len, what)
    }

    fn addr(&mut self) -> Result<SocketAddr, FrameError> {
        let kind = self.u8("address type")?;
        let len = self.u8("address length")?;
        let ip = match (kind, len) {
            (1, 6) => {
                let mut a = [0; 4];
                a.copy_from_slice(self.take(4, "IPv4 address")?);
                IpAddr::V4(Ipv4Addr::from(a))
            }
            (2, 18) => {
                let mut a = [0; 16];
                a.copy_from_slice(self.take(16, "IPv6 address")?);
                IpAddr::V6(Ipv6Addr::from(a))
            }
            _ => return Err(FrameError::BadAddress { kind, len }),
        };
        let port = self.u16("port")?;
        Ok(SocketAddr::new(ip, port))
    }

    fn peer(&mut self) -> Result<PeerRef, FrameError> {
        let id = self.u64("peer id")?;
        let addr = self.addr()?;
        Ok(PeerRef { id, addr })
    }

    fn end(&self, what: &'static str) -> Result<(), FrameError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(FrameError::TrailingBytes(n, what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use stun_turn_discovery::rand::{RngExt, SeedableRng};
    use stun_turn_discovery::wire::{self, Direction};
    use stun_turn_discovery::{Filter, PiggybackOption, TransportAddress, UniquenessKey, N};

    fn peer(id: u64, addr: &str) -> PeerRef {
        PeerRef {
            id,
            addr: addr.parse().unwrap(),
        }
    }

    fn full_frame() -> Frame {
        let option =
            PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::IpPort);
        let mut bytes = BytesMut::new();
        wire::encode_option(
            &option,
            Direction::Request,
            &crate::config::WIRE,
            &mut bytes,
        )
        .unwrap();
        let seen = TransportAddress::udp("192.0.2.1:6084".parse().unwrap());
        let mut observed = Vec::new();
        wire::encode_observed_option(
            &seen,
            Direction::Request,
            &crate::config::WIRE,
            &mut observed,
        )
        .unwrap();
        Frame {
            code: Code::Put,
            response: false,
            flags: flags::FINAL,
            ttl: 7,
            txid: 0x0102_0304_0506_0708,
            key: u64::MAX - 3,
            origin: 42,
            route: vec![
                "10.0.0.2:5000".parse().unwrap(),
                "[2001:db8::1]:6084".parse().unwrap(),
            ],
            option: Some(bytes),
            observed: Some(observed),
            extensions: vec![vec![0, 1, 0, 0, 0, 0, 1, 0x11], vec![9; 40]],
            body: Body::Value(b"hello".to_vec()).encode(),
        }
    }

    #[test]
    fn frames_round_trip() {
        let f = full_frame();
        assert_eq!(Frame::decode(&f.encode().unwrap()).unwrap(), f);
        for code in [Code::Join, Code::Update, Code::Get, Code::Put, Code::Find] {
            let mut f = Frame::request(code, 7, 8, 9);
            assert_eq!(Frame::decode(&f.encode().unwrap()).unwrap(), f);
            f.response = true;
            f.body = Body::NotFound.encode();
            assert_eq!(Frame::decode(&f.encode().unwrap()).unwrap(), f);
        }
    }

    #[test]
    fn bodies_round_trip() {
        let bodies = [
            Body::Empty,
            Body::Peers(vec![peer(1, "127.0.0.1:1"), peer(u64::MAX, "[::1]:65535")]),
            Body::Peers(Vec::new()),
            Body::Value(Vec::new()),
            Body::Value(vec![0; 300]),
            Body::NotFound,
            Body::Stored,
            Body::Redirect {
                next: peer(5, "10.1.2.3:4000"),
                last: true,
            },
        ];
        for b in bodies {
            assert_eq!(Body::decode(&b.encode()).unwrap(), b);
        }
    }

    #[test]
    fn every_truncation_is_a_typed_error() {
        let bytes = full_frame().encode().unwrap();
        for len in 0..bytes.len() {
            let e = Frame::decode(&bytes[..len]).unwrap_err();
            assert!(
                matches!(e, FrameError::Short(_) | FrameError::Truncated(_)),
                "{len}: {e}"
            );
        }
        let body = Body::Redirect {
            next: peer(5, "[::1]:4000"),
            last: false,
        }
        .encode();
        for len in 0..body.len() {
            assert!(matches!(
                Body::decode(&body[..len]),
                Err(FrameError::Truncated(_))
            ));
        }
    }

    #[test]
    fn each_fault_has_its_error() {
        let good = full_frame().encode().unwrap();
        let with = |at: usize, v: u8| {
            let mut b = good.clone();
            b[at] = v;
            Frame::decode(&b)
        };
        assert_eq!(with(0, b'X'), Err(FrameError::BadMagic([b'X', b'D'])));
        assert_eq!(with(2, 9), Err(FrameError::UnknownVersion(9)));
        assert_eq!(with(3, 0x86), Err(FrameError::UnknownCode(6)));
        assert_eq!(with(3, 0), Err(FrameError::UnknownCode(0)));
        assert_eq!(with(30, 17), Err(FrameError::RouteTooLong(17)));
        assert_eq!(with(31, 3), Err(FrameError::BadAddress { kind: 3, len: 6 }));
        assert_eq!(with(32, 5), Err(FrameError::BadAddress { kind: 1, len: 5 }));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(
            Frame::decode(&long),
            Err(FrameError::TrailingBytes(1, "frame"))
        );
        assert_eq!(
            Frame::decode(&vec![0; MAX_FRAME + 1]),
            Err(FrameError::TooLarge(MAX_FRAME + 1))
        );
        let mut f = full_frame();
        f.route = vec!["127.0.0.1:1".parse().unwrap(); MAX_ROUTE + 1];
        assert_eq!(f.encode(), Err(FrameError::RouteTooLong(MAX_ROUTE + 1)));
        let mut f = full_frame();
        f.extensions = vec![Vec::new(); MAX_EXTENSIONS + 1];
        assert_eq!(
            f.encode(),
            Err(FrameError::TooManyExtensions(MAX_EXTENSIONS + 1))
        );
        let mut f = full_frame();
        f.body = vec![0; MAX_FRAME];
        assert!(matches!(f.encode(), Err(FrameError::TooLarge(_))));
        let mut f = full_frame();
        f.body = vec![0; 70_000];
        assert_eq!(f.encode(), Err(FrameError::FieldTooLong("body")));
        // The extension count byte, after header, two routes, the option
        // and the observed option.
        let ext_at = HEADER_LEN
            + 8
            + 20
            + 2
            + f.option.as_ref().unwrap().len()
            + 2
            + f.observed.as_ref().unwrap().len();
        assert_eq!(with(ext_at, 200), Err(FrameError::TooManyExtensions(200)));
        assert_eq!(Body::decode(&[9]), Err(FrameError::UnknownBody(9)));
        assert_eq!(Body::decode(&[1, 17]), Err(FrameError::TooManyPeers(17)));
        assert_eq!(
            Body::decode(&[3, 0]),
            Err(FrameError::TrailingBytes(1, "body"))
        );
        assert_eq!(Body::decode(&[]), Err(FrameError::Truncated("body tag")));
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let good = full_frame().encode().unwrap();
        for _ in 0..20_000 {
            let len = rng.random_range(0..200);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let _ = Frame::decode(&bytes);
            let _ = Body::decode(&bytes);
            let mut m = good.clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..m.len());
                m[at] = rng.random();
            }
            if let Ok(f) = Frame::decode(&m) {
                // What decodes encodes back to the same bytes.
                assert_eq!(f.encode().unwrap(), m);
                let _ = Body::decode(&f.body);
            }
        }
    }
}
