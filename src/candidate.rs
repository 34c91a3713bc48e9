//! A STUN/TURN server candidate: what the draft says each entry of the
//! candidate table holds (§2, §3.3.1), and what travels in a candidate set.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::node_id::NodeId;

/// Transport protocol on which a candidate offers its STUN/TURN service.
///
/// §3.3.1: "transport address: transport address for STUN/TURN service".
/// STUN and TURN run over UDP, TCP, TLS and DTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// DTLS over UDP.
    Dtls,
}

/// A transport address: IP address, port and transport protocol (§3.3.1).
///
/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are stored as the IPv4
/// address they map, so one node never appears under two spellings.
///
/// Ordered by family (IPv4 first), then address, port and transport.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(from = "RawTransportAddress", into = "RawTransportAddress")
)]
pub struct TransportAddress {
    /// Whether the address is IPv6.
    v6: bool,
    /// The address in network order; an IPv4 address in the last four
    /// bytes behind twelve zeros. One layout for both families, so the
    /// uniqueness key (§4.2 step 5) is read without a branch on the family
    /// (a branch the processor mispredicts on a table of both).
    octets: [u8; 16],
    port: u16,
    transport: Transport,
}

impl TransportAddress {
    /// A transport address; an IPv4-mapped IPv6 address becomes IPv4.
    #[inline]
    pub fn new(ip: IpAddr, port: u16, transport: Transport) -> Self {
        let (v6, octets) = match ip.to_canonical() {
            IpAddr::V4(v4) => (false, v4.to_ipv6_compatible().octets()),
            IpAddr::V6(v6) => (true, v6.octets()),
        };
        Self {
            v6,
            octets,
            port,
            transport,
        }
    }

    /// A UDP transport address, the usual one for STUN and TURN.
    pub fn udp(addr: SocketAddr) -> Self {
        Self::new(addr.ip(), addr.port(), Transport::Udp)
    }

    /// The IP address.
    #[inline]
    pub fn ip(&self) -> IpAddr {
        let o = self.octets;
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from(o))
        } else {
            IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]))
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The transport protocol.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// IP address and port as a socket address.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip(), self.port)
    }

    /// Whether the address is IPv6.
    #[inline(always)]
    pub(crate) fn is_v6(&self) -> bool {
        self.v6
    }

    /// The address in network order: an IPv4 address in the last four
    /// bytes behind twelve zeros.
    #[inline(always)]
    pub(crate) fn octets16(&self) -> &[u8; 16] {
        &self.octets
    }

    /// Whether the address is IPv6, and its 128 bits (an IPv4 address's 32
    /// in the low bits), high half first: without a branch on the family.
    #[inline(always)]
    pub(crate) fn bits(&self) -> (bool, u64, u64) {
        let [h0, h1, h2, h3, h4, h5, h6, h7, l0, l1, l2, l3, l4, l5, l6, l7] = self.octets;
        (
            self.v6,
            u64::from_be_bytes([h0, h1, h2, h3, h4, h5, h6, h7]),
            u64::from_be_bytes([l0, l1, l2, l3, l4, l5, l6, l7]),
        )
    }
}

impl fmt::Debug for TransportAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportAddress")
            .field("ip", &self.ip())
            .field("port", &self.port)
            .field("transport", &self.transport)
            .finish()
    }
}

/// The serde form, `{ip, port, transport}`; deserialized through
/// [`TransportAddress::new`], so an IPv4-mapped IPv6 address becomes IPv4
/// here too.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RawTransportAddress {
    ip: IpAddr,
    port: u16,
    transport: Transport,
}

#[cfg(feature = "serde")]
impl From<RawTransportAddress> for TransportAddress {
    fn from(r: RawTransportAddress) -> Self {
        Self::new(r.ip, r.port, r.transport)
    }
}

#[cfg(feature = "serde")]
impl From<TransportAddress> for RawTransportAddress {
    fn from(a: TransportAddress) -> Self {
        Self {
            ip: a.ip(),
            port: a.port,
            transport: a.transport,
        }
    }
}

impl fmt::Display for Transport {
    /// `udp`, `tcp`, `tls` or `dtls`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
            Self::Dtls => "dtls",
        })
    }
}

impl fmt::Display for TransportAddress {
    /// `192.0.2.1:3478/udp`, `[2001:db8::1]:5349/tls`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.socket_addr(), self.transport)
    }
}

/// Role of the candidate in the overlay (§3.3.1: "peers or clients").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Role {
    /// A peer: routes and stores for the overlay.
    Peer,
    /// A client: uses the overlay through a peer.
    Client,
}

/// Services a candidate offers: STUN, TURN, or both (a small bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(from = "u8", into = "u8"))]
pub struct Services(u8);

impl Services {
    /// No service: a node that is not willing to serve (§2: only nodes
    /// "willing to play the STUN/TURN server role" are candidates).
    pub const NONE: Self = Self(0);
    /// STUN binding service.
    pub const STUN: Self = Self(0b01);
    /// TURN relay service.
    pub const TURN: Self = Self(0b10);
    /// Both STUN and TURN.
    pub const BOTH: Self = Self(0b11);

    /// The set from its bits; bits other than STUN and TURN are dropped.
    pub const fn from_bits_truncate(bits: u8) -> Self {
        Self(bits & Self::BOTH.0)
    }

    /// The raw bits (STUN = 1, TURN = 2).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every service of `other` is offered here.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no service is offered.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl From<u8> for Services {
    /// Bits other than STUN and TURN are dropped, as on the wire.
    fn from(bits: u8) -> Self {
        Self::from_bits_truncate(bits)
    }
}

impl From<Services> for u8 {
    fn from(s: Services) -> Self {
        s.bits()
    }
}

impl fmt::Display for Services {
    /// `STUN`, `TURN`, `STUN+TURN` or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self.0 {
            0b01 => "STUN",
            0b10 => "TURN",
            0b11 => "STUN+TURN",
            _ => "none",
        })
    }
}

impl core::ops::BitOr for Services {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// Performance hints (§3.3.1: "Some performance parameters ... CPU
/// processing power, bandwidth, etc."). Units are relative and the host's
/// own; the crate only compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PerformanceHints {
    /// Processing capacity, in the overlay's own units (0 = unknown).
    pub capacity: u16,
    /// Bandwidth offered to relayed traffic, in kbit/s (0 = unknown).
    pub bandwidth_kbps: u32,
    /// Current load in percent of capacity, 0..=100 (values above 100 count
    /// as 100).
    pub load_percent: u8,
}

impl PerformanceHints {
    /// Spare capacity: `capacity × (100 − load) / 100`, the headroom the
    /// by-performance and load-spreading policies rank on.
    pub fn spare_capacity(&self) -> u32 {
        let free = 100 - u32::from(self.load_percent.min(100));
        u32::from(self.capacity) * free / 100
    }

    /// Ranking score for the by-performance policy: spare capacity first,
    /// bandwidth second.
    pub fn score(&self) -> u64 {
        (u64::from(self.spare_capacity()) << 32) | u64::from(self.bandwidth_kbps)
    }
}

/// A STUN/TURN server candidate (§2: "The nodes which are willing to play
/// the STUN/TURN server role"), with the parameters §3.3.1 lists.
///
/// Where it was learned ([`Source`]) and when it was last refreshed are kept
/// by the [`CandidateTable`](crate::CandidateTable) entry that holds it,
/// because they describe this peer's view, not the candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Candidate {
    /// Transport address of the STUN/TURN service.
    pub address: TransportAddress,
    /// Role in the overlay.
    pub role: Role,
    /// Services offered.
    pub services: Services,
    /// Priority (higher is preferred). `None` lets the candidate table use
    /// its default for the candidate's source (§3.3.1 "The peer may
    /// prioritize the resulting server candidates according its source").
    pub priority: Option<u16>,
    /// Performance hints.
    pub hints: PerformanceHints,
    /// The candidate's overlay node id, if known (opaque to this crate).
    pub node_id: Option<NodeId>,
}

impl Candidate {
    /// A peer offering `services` at `address`, with no priority, hints or
    /// node id.
    pub fn peer(address: TransportAddress, services: Services) -> Self {
        Self {
            address,
            role: Role::Peer,
            services,
            priority: None,
            hints: PerformanceHints::default(),
            node_id: None,
        }
    }

    /// A client offering `services` at `address`.
    pub fn client(address: TransportAddress, services: Services) -> Self {
        Self {
            role: Role::Client,
            ..Self::peer(address, services)
        }
    }

    /// This candidate with `priority`.
    #[must_use]
    pub fn with_priority(mut self, priority: u16) -> Self {
        self.priority = Some(priority);
        self
    }

    /// This candidate with performance `hints`.
    #[must_use]
    pub fn with_hints(mut self, hints: PerformanceHints) -> Self {
        self.hints = hints;
        self
    }

    /// This candidate with an overlay `node_id`.
    #[must_use]
    pub fn with_node_id(mut self, node_id: NodeId) -> Self {
        self.node_id = Some(node_id);
        self
    }
}

/// Where a peer learned a candidate (§3.3.1). The draft lists routing
/// state (routing, neighbor and connection tables), the peer itself and
/// its associated clients, and says "the source list is not exhaustive.
/// New sources may be added in the future", hence `#[non_exhaustive]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Source {
    /// The overlay routing table (finger table, k-buckets, ...).
    RoutingTable,
    /// The neighbor table (successors, leaf set, ...).
    NeighborTable,
    /// The connection table (peers with an open connection).
    ConnectionTable,
    /// The local peer itself (§3.3.1 item 2).
    LocalPeer,
    /// A client associated with this peer (§3.3.1 item 3).
    Client,
}

impl Source {
    /// Every source, in declaration order.
    pub const ALL: [Self; 5] = [
        Self::RoutingTable,
        Self::NeighborTable,
        Self::ConnectionTable,
        Self::LocalPeer,
        Self::Client,
    ];

    pub(crate) const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Role {
    /// `peer` or `client`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Peer => "peer",
            Self::Client => "client",
        })
    }
}

impl fmt::Display for Source {
    /// `routing table`, `neighbor table`, `connection table`, `local peer`
    /// or `client`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::RoutingTable => "routing table",
            Self::NeighborTable => "neighbor table",
            Self::ConnectionTable => "connection table",
            Self::LocalPeer => "local peer",
            Self::Client => "client",
        })
    }
}

impl fmt::Display for Candidate {
    /// `192.0.2.1:3478/udp STUN+TURN peer, priority 300`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.address, self.services, self.role)?;
        if let Some(p) = self.priority {
            write!(f, ", priority {p}")?;
        }
        Ok(())
    }
}
