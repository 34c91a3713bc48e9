//! Whether this node is behind NAT (§3.2.1 assumption 2, §4.1: "Before a
//! joining peer joins the overlay, it MUST learn whether it is a NATed
//! peer").
//!
//! §3.2.1: "If the server-reflexive candidate does not equal to one of its
//! own local interface address, we could conclude that there is at least a
//! NAT between them and the public Internet." Learning the reflexive
//! address (a STUN Binding) is the host's job; this is the comparison.

use core::fmt;
use core::net::{IpAddr, SocketAddr};

/// The node's NAT status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum NatStatus {
    /// The reflexive address is one of the node's own: no NAT on the path.
    Public,
    /// The reflexive address is not the node's own: at least one NAT.
    BehindNat {
        /// The server-reflexive address the STUN server saw.
        reflexive: SocketAddr,
    },
}

impl NatStatus {
    /// Compares the server-reflexive address a STUN server reported for
    /// the socket bound to `local_port` with the node's interface
    /// addresses. Any difference in address or port means a NAT (a
    /// port-translating firewall is a NAT too). IPv4-mapped IPv6 addresses
    /// compare equal to the IPv4 address they map.
    ///
    /// ```
    /// use stun_turn_discovery::NatStatus;
    /// let ifaces = ["10.0.0.2".parse().unwrap()];
    /// let seen = "203.0.113.7:40000".parse().unwrap();
    /// assert!(NatStatus::detect(ifaces, 5000, seen).is_behind_nat());
    /// let ifaces = ["203.0.113.7".parse().unwrap()];
    /// assert_eq!(NatStatus::detect(ifaces, 40000, seen), NatStatus::Public);
    /// ```
    pub fn detect(
        interfaces: impl IntoIterator<Item = IpAddr>,
        local_port: u16,
        reflexive: SocketAddr,
    ) -> Self {
        let seen = reflexive.ip().to_canonical();
        let own = interfaces.into_iter().any(|ip| ip.to_canonical() == seen);
        if own && reflexive.port() == local_port {
            Self::Public
        } else {
            Self::BehindNat { reflexive }
        }
    }

    /// Whether the node is behind NAT.
    pub fn is_behind_nat(&self) -> bool {
        matches!(self, Self::BehindNat { .. })
    }
}

impl fmt::Display for NatStatus {
    /// `public`, or `behind NAT (reflexive 203.0.113.7:40000)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Public => f.write_str("public"),
            Self::BehindNat { reflexive } => write!(f, "behind NAT (reflexive {reflexive})"),
        }
    }
}
