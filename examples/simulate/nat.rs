//! The sending nodes' NATs and what the peers they send to observe.
//!
//! Every peer has an overlay address, [`peer_address`]: what the others
//! send to (for a NATed peer, its NAT's public address). A NATed sending
//! node sits behind its own NAT at a private [`local_address`]; its NAT
//! maps the node's socket either **endpoint-independently** (RFC 4787
//! §4.1: one public port for every destination, as `nft masquerade` does)
//! or **endpoint-dependently** (a new public port for every destination
//! address, as `masquerade fully-random` does). Which one is a pure
//! function of the seed and the peer, like every role in `network`.
//!
//! A hop that receives a request straight from the sending node (every hop
//! in iterative mode, the first in recursive mode) sees it come from what
//! [`Nat::map`] gives for that hop's address; the crate reports that back
//! (`HopReport::observed`) and the node classifies its mapping from
//! several such reports (`SendingNode::observed`, `nat_verdict`).
//! [`NatTally`] follows each node's verdict discovery by discovery.
//!
//! The comparison is RFC 5780 §4.3's mapping test, which needs a STUN
//! server with two IP addresses: test I (a Binding request/response to
//! the primary address) shows the mapped address; test II (to the
//! alternate address, primary port) tells an endpoint-independent mapping
//! (same mapped address as test I) from a dependent one; test III (to the
//! alternate address and port) runs only when test II differed. So a node
//! behind an endpoint-independent NAT needs two pairs, behind a dependent
//! one three, and one pair shows the mapped IP address alone.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use stun_turn_discovery::{Mapping, MappingVerdict, NatStatus, Transport, TransportAddress};

use crate::metrics::ratio;
use crate::network::{mix, MAX_NODES};
use crate::overlay::PeerId;

/// The port every peer and sending node uses for overlay traffic (RFC 6940
/// §11.1's default).
pub(crate) const OVERLAY_PORT: u16 = 6084;

/// Discoveries after which [`NatTally`] keeps the share of nodes whose
/// verdict is known (1 to this many); later ones count in the final share
/// only.
pub(crate) const TRACKED: usize = 6;

/// RFC 5780 §4.3: Binding request/response pairs the mapping test needs
/// behind an endpoint-independent NAT (tests I and II).
pub(crate) const RFC5780_PAIRS_INDEPENDENT: u64 = 2;

/// The same behind an endpoint-dependent NAT (tests I, II and III).
pub(crate) const RFC5780_PAIRS_DEPENDENT: u64 = 3;

/// The same for the mapped IP address alone (test I).
pub(crate) const RFC5780_PAIRS_MAPPED_IP: u64 = 1;

/// The address adversarial hops claim to have seen every request come
/// from: one address for all of them, the worst case (they collude).
pub(crate) const LIE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 1);

/// Peer `p`'s overlay address: `12.0.0.0/8` plus its id (for a NATed peer
/// its NAT's public address). Distinct peers have distinct addresses, so
/// each hop is an observer of its own.
pub(crate) fn peer_address(p: PeerId) -> IpAddr {
    debug_assert!((p as usize) < MAX_NODES);
    IpAddr::V4(Ipv4Addr::from(0x0c00_0000 | (p & 0x00ff_ffff)))
}

/// Where a relaying hop is seen from by the next one (recursive mode after
/// the first hop): its overlay address and port.
pub(crate) fn peer_transport(p: PeerId) -> TransportAddress {
    TransportAddress::new(peer_address(p), OVERLAY_PORT, Transport::Udp)
}

/// Sending node `p`'s address behind its NAT: `10.0.0.0/8` plus its id.
pub(crate) fn local_address(p: PeerId) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (p & 0x00ff_ffff)))
}

/// A uniform draw in `[0, 1)` from the seed and a peer, for the mapping.
fn unit(seed: u64, p: PeerId) -> f64 {
    let h = mix(mix(seed ^ 0x4e41_5421) ^ u64::from(p));
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// One sending node's NAT: its public address, its mapping behaviour and
/// the public ports it gave out so far.
#[derive(Debug, Clone)]
pub(crate) struct Nat {
    public: IpAddr,
    dependent: bool,
    /// The endpoint-independent port, or the first port a dependent NAT
    /// gives out (then the next ones in turn, as many NATs allocate).
    base_port: u16,
    /// Dependent only: the destinations seen, each with its port.
    ports: Vec<(IpAddr, u16)>,
}

impl Nat {
    /// Node `p`'s NAT: endpoint-dependent with probability `dependent`,
    /// from the seed; its public address is `p`'s overlay address.
    pub(crate) fn of(seed: u64, dependent: f64, p: PeerId) -> Self {
        let base = 1024 + (mix(seed ^ mix(u64::from(p) ^ 0x504f_5254)) % 32_768) as u16;
        Self {
            public: peer_address(p),
            dependent: unit(seed, p) < dependent,
            base_port: base,
            ports: Vec::new(),
        }
    }

    /// The mapping behaviour it has.
    pub(crate) fn mapping(&self) -> Mapping {
        if self.dependent {
            Mapping::EndpointDependent
        } else {
            Mapping::EndpointIndependent
        }
    }

    /// The address a request to `destination` leaves the NAT from.
    pub(crate) fn map(&mut self, destination: IpAddr) -> TransportAddress {
        let port = if self.dependent {
            match self.ports.iter().find(|(d, _)| *d == destination) {
                Some(&(_, port)) => port,
                None => {
                    // At most a few hundred destinations per node: the
                    // ports stay below 65536.
                    let port = self.base_port.wrapping_add(self.ports.len() as u16);
                    self.ports.push((destination, port));
                    port
                }
            }
        } else {
            self.base_port
        };
        TransportAddress::new(self.public, port, Transport::Udp)
    }

    /// Whether `verdict` says anything false about this NAT: another
    /// mapped IP address, another mapping, another reflexive address, or
    /// no NAT at all.
    pub(crate) fn contradicts(&self, verdict: &MappingVerdict) -> bool {
        let independent = SocketAddr::new(self.public, self.base_port);
        verdict.mapped_ip.is_some_and(|ip| ip != self.public)
            || (verdict.mapping != Mapping::Unknown && verdict.mapping != self.mapping())
            || verdict
                .reflexive
                .is_some_and(|r| self.dependent || r != independent)
            || matches!(verdict.nat, Some(NatStatus::Public))
    }
}

/// What one node's verdict showed after each of its discoveries (requests
/// that carried its option).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NodeVerdicts {
    /// Discoveries made.
    pub(crate) discoveries: u32,
    /// The discovery after which the mapped IP address was first known.
    pub(crate) ip_at: Option<u32>,
    /// The discovery after which the mapping was first known.
    pub(crate) mapping_at: Option<u32>,
    /// Known after the last discovery.
    pub(crate) ip_known: bool,
    pub(crate) mapping_known: bool,
    /// The mapping known after the last discovery, if any.
    pub(crate) mapping: Option<Mapping>,
    /// Distinct observers after the first discovery.
    pub(crate) first_observers: u8,
    /// Whether the verdict was ever wrong.
    pub(crate) wrong: bool,
    /// Known after discovery k (index k − 1), for k up to [`TRACKED`].
    ip_after: [bool; TRACKED],
    mapping_after: [bool; TRACKED],
}

impl NodeVerdicts {
    /// Records the verdict after the node's next discovery.
    pub(crate) fn after_discovery(&mut self, verdict: &MappingVerdict, nat: &Nat) {
        self.discoveries += 1;
        let k = self.discoveries;
        self.ip_known = verdict.mapped_ip.is_some();
        self.mapping_known = verdict.mapping != Mapping::Unknown;
        self.mapping = self.mapping_known.then_some(verdict.mapping);
        if self.ip_known && self.ip_at.is_none() {
            self.ip_at = Some(k);
        }
        if self.mapping_known && self.mapping_at.is_none() {
            self.mapping_at = Some(k);
        }
        if k == 1 {
            self.first_observers = verdict.current;
        }
        if let Some(i) = (k as usize).checked_sub(1).filter(|&i| i < TRACKED) {
            self.ip_after[i] = self.ip_known;
            self.mapping_after[i] = self.mapping_known;
        }
        self.wrong |= nat.contradicts(verdict);
    }

    /// Known after discovery `k` (1-based): as recorded, or, past the
    /// node's last discovery, as it stayed.
    fn after(&self, k: usize) -> (bool, bool) {
        if k <= self.discoveries as usize {
            (self.ip_after[k - 1], self.mapping_after[k - 1])
        } else {
            (self.ip_known, self.mapping_known)
        }
    }
}

/// The verdicts of a scenario's nodes and what the observed addresses
/// cost: the NAT part of a CSV row.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct NatMeasured {
    /// Share of nodes whose mapped IP address is known after discovery
    /// k, for k = 1..=[`TRACKED`].
    pub(crate) ip_known: [f64; TRACKED],
    /// Share of nodes whose mapping is known after discovery k.
    pub(crate) mapping_known: [f64; TRACKED],
    /// The same after each node's last discovery.
    pub(crate) ip_known_final: f64,
    pub(crate) mapping_known_final: f64,
    /// Mean discoveries a node made.
    pub(crate) discoveries_mean: f64,
    /// Mean discovery after which the mapping was first known, over the
    /// nodes that learned it.
    pub(crate) discoveries_to_mapping_mean: f64,
    /// Mean distinct observers after a node's first discovery.
    pub(crate) first_observers_mean: f64,
    /// Share of nodes whose verdict said something false at some point.
    pub(crate) wrong_share: f64,
    /// Mean bytes the observed addresses added per discovery, each message
    /// counted once (recursive: the option in the request and its copy in
    /// the response; iterative: the extension in each hop's response).
    pub(crate) bytes_mean: f64,
    /// The same counted on every link a message crossed (recursive: the
    /// request from the first hop to the destination, the response all the
    /// way back).
    pub(crate) link_bytes_mean: f64,
    /// Mean RFC 5780 messages (requests and responses) per node that the
    /// verdict it ended with stands in for: 2 per Binding pair of the
    /// tests it would have run (see the module's documentation).
    pub(crate) stun_messages_saved_mean: f64,
}

/// Sums [`NodeVerdicts`] and the bytes of a scenario's discoveries.
#[derive(Debug, Clone, Default)]
pub(crate) struct NatTally {
    nodes: u64,
    ip_after: [u64; TRACKED],
    mapping_after: [u64; TRACKED],
    ip_final: u64,
    mapping_final: u64,
    discoveries: u64,
    to_mapping: u64,
    learned: u64,
    first_observers: u64,
    wrong: u64,
    stun_pairs: u64,
    /// Bytes per message and per link, over all discoveries.
    pub(crate) bytes: u64,
    pub(crate) link_bytes: u64,
}

impl NatTally {
    /// Adds one node's history.
    pub(crate) fn add(&mut self, v: &NodeVerdicts) {
        self.nodes += 1;
        for k in 1..=TRACKED {
            let (ip, mapping) = v.after(k);
            self.ip_after[k - 1] += u64::from(ip);
            self.mapping_after[k - 1] += u64::from(mapping);
        }
        self.ip_final += u64::from(v.ip_known);
        self.mapping_final += u64::from(v.mapping_known);
        self.discoveries += u64::from(v.discoveries);
        if let Some(k) = v.mapping_at {
            self.to_mapping += u64::from(k);
            self.learned += 1;
        }
        self.first_observers += u64::from(v.first_observers);
        self.wrong += u64::from(v.wrong);
        self.stun_pairs += match v.mapping {
            Some(Mapping::EndpointIndependent) => RFC5780_PAIRS_INDEPENDENT,
            Some(_) => RFC5780_PAIRS_DEPENDENT,
            None if v.ip_known => RFC5780_PAIRS_MAPPED_IP,
            None => 0,
        };
    }

    /// The shares and means.
    pub(crate) fn measured(&self) -> NatMeasured {
        let n = self.nodes;
        NatMeasured {
            ip_known: self.ip_after.map(|c| ratio(c, n)),
            mapping_known: self.mapping_after.map(|c| ratio(c, n)),
            ip_known_final: ratio(self.ip_final, n),
            mapping_known_final: ratio(self.mapping_final, n),
            discoveries_mean: ratio(self.discoveries, n),
            discoveries_to_mapping_mean: ratio(self.to_mapping, self.learned),
            first_observers_mean: ratio(self.first_observers, n),
            wrong_share: ratio(self.wrong, n),
            bytes_mean: ratio(self.bytes, self.discoveries),
            link_bytes_mean: ratio(self.link_bytes, self.discoveries),
            stun_messages_saved_mean: ratio(2 * self.stun_pairs, n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use stun_turn_discovery::SendingNode;

    #[test]
    fn independent_one_port_dependent_a_port_per_destination() {
        let (a, b) = (peer_address(1), peer_address(2));
        let mut ei = Nat::of(3, 0.0, 77);
        assert_eq!(ei.mapping(), Mapping::EndpointIndependent);
        assert_eq!(ei.map(a), ei.map(b));
        assert_eq!(ei.map(a).ip(), peer_address(77));
        let mut ed = Nat::of(3, 1.0, 77);
        assert_eq!(ed.mapping(), Mapping::EndpointDependent);
        let (pa, pb) = (ed.map(a), ed.map(b));
        assert_ne!(pa, pb);
        assert_eq!(pa.ip(), pb.ip());
        assert_eq!(ed.map(a), pa);
        // The share follows the flag, from the seed.
        let dependent = (0..10_000)
            .filter(|&p| Nat::of(5, 0.3, p).mapping() == Mapping::EndpointDependent)
            .count();
        assert!((2_800..3_200).contains(&dependent), "{dependent}");
    }

    #[test]
    fn three_observers_classify_each_nat_rightly() {
        let now = Instant::now();
        for share in [0.0, 1.0] {
            let mut nat = Nat::of(9, share, 5);
            let mut node = SendingNode::new(Default::default());
            node.set_local_addresses([local_address(5)], OVERLAY_PORT);
            let mut v = NodeVerdicts::default();
            for hop in [10, 11, 12] {
                let seen = nat.map(peer_address(hop));
                let _ = node.observed(now, peer_address(hop), seen.socket_addr());
                v.after_discovery(&node.nat_verdict(), &nat);
            }
            assert_eq!(v.ip_at, Some(2));
            assert_eq!(v.mapping_at, Some(3));
            assert_eq!(v.mapping, Some(nat.mapping()));
            assert!(!v.wrong);
            let mut tally = NatTally::default();
            tally.add(&v);
            let m = tally.measured();
            assert_eq!(m.ip_known[..3], [0.0, 1.0, 1.0]);
            assert_eq!(m.mapping_known[..4], [0.0, 0.0, 1.0, 1.0]);
            let pairs = if share > 0.5 { 3.0 } else { 2.0 };
            assert_eq!(m.stun_messages_saved_mean, 2.0 * pairs);
        }
    }
}
