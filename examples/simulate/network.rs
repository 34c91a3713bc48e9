//! The simulated peers: who is willing to serve (§3.3.1 item 1), who is
//! dead (churn) or adversarial, where each willing peer's STUN/TURN server
//! listens, and each peer's candidate table, built lazily from its routing
//! state (§3.3.1) the first time a route touches it.
//!
//! Every role is a pure function of the seed and the [`PeerId`], so every
//! scenario of a run (and every thread count) sees the same peers; a peer
//! willing at f = 2 % is willing at f = 10 % too, so an f sweep adds
//! servers without reshuffling them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use stun_turn_discovery::{
    Candidate, CandidateTable, IntermediatePeer, PeerConfig, Services, Source, Transport,
    TransportAddress,
};

use crate::memory::HeapMark;
use crate::overlay::{Overlay, PeerId, StateKind};

/// Most peers the address plan holds: a willing peer's server address is
/// `11.0.0.0/8` plus its [`PeerId`].
pub(crate) const MAX_NODES: usize = 1 << 24;

/// The port every simulated STUN/TURN server listens on (RFC 8489's
/// default).
const SERVER_PORT: u16 = 3478;

/// Bogus candidates in an adversary's table: enough to fill any N (at most
/// 64, §4.2 step 2 as the crate bounds it).
pub(crate) const BOGUS_PER_ADVERSARY: u16 = 64;

/// SplitMix64's finaliser: a bijection of `u64` with good avalanche.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in `[0, 1)` from the seed, a salt and a peer.
fn unit(seed: u64, salt: u64, peer: PeerId) -> f64 {
    let h = mix(mix(seed ^ salt) ^ u64::from(peer));
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Who does what, from the seed and each peer's id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roles {
    seed: u64,
    willing: f64,
    churn: f64,
    adversaries: f64,
}

impl Roles {
    /// Each peer willing with probability `willing`, dead with probability
    /// `churn`, adversarial with probability `adversaries`, independently.
    pub(crate) fn new(seed: u64, willing: f64, churn: f64, adversaries: f64) -> Self {
        Self {
            seed,
            willing,
            churn,
            adversaries,
        }
    }

    /// Willing to be a STUN/TURN server (§3.3.1 item 1): it has a public
    /// server address and appears as a candidate in its neighbours' tables.
    pub(crate) fn is_willing(&self, p: PeerId) -> bool {
        unit(self.seed, 0x5749_4c4c, p) < self.willing
    }

    /// Dead (churn): it neither routes nor serves, while its entry still
    /// sits in the routing state, and so the candidate tables, of others.
    pub(crate) fn is_dead(&self, p: PeerId) -> bool {
        unit(self.seed, 0x4445_4144, p) < self.churn
    }

    /// Adversarial: its candidate table holds bogus addresses only, and it
    /// fills every set it sees with them, up to the whole of N.
    pub(crate) fn is_adversary(&self, p: PeerId) -> bool {
        unit(self.seed, 0x4144_5645, p) < self.adversaries
    }

    /// A NATed peer that may send requests: not willing (so it has no
    /// public address, §3.2.1), alive and honest.
    pub(crate) fn is_sender(&self, p: PeerId) -> bool {
        !self.is_willing(p) && !self.is_dead(p) && !self.is_adversary(p)
    }

    /// Whether a candidate handed out at `address` answers: a live willing
    /// peer's server does; a dead peer's and a bogus one do not.
    pub(crate) fn works(&self, address: &TransportAddress) -> bool {
        server_peer(address).is_some_and(|p| !self.is_dead(p))
    }
}

/// The STUN/TURN server address of willing peer `p`: `11.0.0.0/8` plus its
/// id, port 3478, UDP. It is not the peer's overlay address (the overlay
/// routes by [`PeerId`]), and it is public, so the crate's default address
/// policy (public Internet only) accepts it everywhere.
pub(crate) fn server_address(p: PeerId) -> TransportAddress {
    debug_assert!((p as usize) < MAX_NODES);
    let ip = Ipv4Addr::from(0x0b00_0000 | (p & 0x00ff_ffff));
    TransportAddress::new(IpAddr::V4(ip), SERVER_PORT, Transport::Udp)
}

/// The willing peer whose server is at `address`, if any.
pub(crate) fn server_peer(address: &TransportAddress) -> Option<PeerId> {
    match address.ip() {
        IpAddr::V4(v4) if v4.octets()[0] == 11 => Some(u32::from(v4) & 0x00ff_ffff),
        _ => None,
    }
}

/// Bogus candidate `i` of adversary `p`: an IPv6 address in `2a0d:bad::/32`
/// (global unicast, so no address policy refuses it) that nobody serves
/// on.
fn bogus_address(p: PeerId, i: u16) -> TransportAddress {
    let ip = Ipv6Addr::new(0x2a0d, 0x0bad, (p >> 16) as u16, p as u16, i, 0, 0, 1);
    TransportAddress::new(IpAddr::V6(ip), SERVER_PORT, Transport::Udp)
}

/// Whether `address` is one of the adversaries' bogus candidates.
pub(crate) fn is_bogus(address: &TransportAddress) -> bool {
    matches!(address.ip(), IpAddr::V6(v6) if v6.segments()[..2] == [0x2a0d, 0x0bad])
}

/// A hasher for [`PeerId`] keys: one multiplication, and the same on every
/// run (so nothing depends on a random hash seed).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map keyed by [`PeerId`] with [`IdHasher`].
pub(crate) type IdMap<V> = HashMap<PeerId, V, BuildHasherDefault<IdHasher>>;

/// What building the touched peers cost and held.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BuildStats {
    /// Intermediate peers built.
    pub(crate) peers: u64,
    /// Honest peers built (their tables come from their routing state).
    pub(crate) honest: u64,
    /// Sum over honest built peers of their routing-state size (distinct
    /// peers in routing table and neighbour set).
    pub(crate) state_entries: u64,
    /// The part of it in the routing table proper.
    pub(crate) routing_entries: u64,
    /// Sum over honest built peers of their candidate-table size.
    pub(crate) table_entries: u64,
    /// Heap bytes the built peers hold (their candidate tables).
    pub(crate) heap_bytes: i64,
    /// Heap allocations made while building them.
    pub(crate) allocations: u64,
}

/// Marks a peer not built yet in [`Network`]'s index.
const UNBUILT: u32 = u32::MAX;

/// The peers of one scenario, built on first touch: a dense index by
/// [`PeerId`] (4 bytes per overlay peer) into the built peers, kept in the
/// order they were built. A `Vec` grows by `realloc`, which for large
/// blocks remaps pages instead of copying, so growing it has no transient
/// double footprint (a hash map's rehash has).
pub(crate) struct Network<'o> {
    overlay: &'o dyn Overlay,
    roles: Roles,
    honest: PeerConfig,
    adversary: PeerConfig,
    now: Instant,
    index: Vec<u32>,
    peers: Vec<IntermediatePeer>,
    state: Vec<(PeerId, StateKind)>,
    stats: BuildStats,
}

impl<'o> Network<'o> {
    /// No peer built yet. Honest peers use `honest`; adversaries use
    /// `adversary` (meant to let them fill the whole set).
    pub(crate) fn new(
        overlay: &'o dyn Overlay,
        roles: Roles,
        honest: PeerConfig,
        adversary: PeerConfig,
        now: Instant,
    ) -> Self {
        Self {
            overlay,
            roles,
            honest,
            adversary,
            now,
            index: vec![UNBUILT; overlay.len()],
            peers: Vec::new(),
            state: Vec::new(),
            stats: BuildStats::default(),
        }
    }

    /// The roles.
    pub(crate) fn roles(&self) -> &Roles {
        &self.roles
    }

    /// What building the peers cost so far.
    pub(crate) fn stats(&self) -> BuildStats {
        self.stats
    }

    /// The built peers, in the order they were built.
    pub(crate) fn built(&self) -> &[IntermediatePeer] {
        &self.peers
    }

    /// Peer `p`, built now if this is its first touch.
    pub(crate) fn peer(&mut self, p: PeerId) -> &mut IntermediatePeer {
        let mut at = self.index[p as usize];
        if at == UNBUILT {
            let peer = self.build(p);
            at = self.peers.len() as u32;
            self.peers.push(peer);
            self.index[p as usize] = at;
        }
        &mut self.peers[at as usize]
    }

    /// Builds `p`'s candidate table (§3.3.1): the willing peers of its
    /// routing table (`Source::RoutingTable`) and of its neighbour set
    /// (`Source::NeighborTable`, Pastry's leaf set, Chord's successors), and
    /// itself if willing (`set_local_peer`, §3.3.1 item 2). An adversary's
    /// table holds its bogus addresses instead.
    fn build(&mut self, p: PeerId) -> IntermediatePeer {
        let mark = HeapMark::now();
        let now = self.now;
        let roles = self.roles;
        let peer = if roles.is_adversary(p) {
            let mut peer = IntermediatePeer::new(self.adversary);
            let bogus = (0..BOGUS_PER_ADVERSARY)
                .map(|i| Candidate::peer(bogus_address(p, i), Services::BOTH));
            let report = peer
                .table_mut()
                .sync_source(now, Source::RoutingTable, bogus);
            debug_assert!(report.refused.is_empty(), "{report:?}");
            peer
        } else {
            let mut peer = IntermediatePeer::new(self.honest);
            self.overlay.routing_state(p, &mut self.state);
            let table = peer.table_mut();
            sync(table, now, &self.state, &roles, StateKind::Routing);
            sync(table, now, &self.state, &roles, StateKind::Neighbor);
            if roles.is_willing(p) {
                let own = Candidate::peer(server_address(p), Services::BOTH);
                let report = table.set_local_peer(now, [own]);
                debug_assert!(report.refused.is_empty(), "{report:?}");
            }
            self.stats.honest += 1;
            self.stats.state_entries += self.state.len() as u64;
            self.stats.routing_entries += self
                .state
                .iter()
                .filter(|(_, k)| *k == StateKind::Routing)
                .count() as u64;
            self.stats.table_entries += table.len() as u64;
            peer
        };
        let (bytes, allocations) = mark.since();
        self.stats.peers += 1;
        self.stats.heap_bytes += bytes;
        self.stats.allocations += allocations;
        peer
    }
}

/// Makes the `kind` part of a peer's candidate table the willing peers of
/// that part of its routing state (`CandidateTable::sync_source`, §3.3.1:
/// "by examing every peer in the routing state").
fn sync(
    table: &mut CandidateTable,
    now: Instant,
    state: &[(PeerId, StateKind)],
    roles: &Roles,
    kind: StateKind,
) {
    let source = match kind {
        StateKind::Routing => Source::RoutingTable,
        StateKind::Neighbor => Source::NeighborTable,
    };
    let willing = state
        .iter()
        .filter(|&&(q, k)| k == kind && roles.is_willing(q))
        .map(|&(q, _)| Candidate::peer(server_address(q), Services::BOTH));
    let report = table.sync_source(now, source, willing);
    debug_assert!(report.refused.is_empty(), "{report:?}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use stun_turn_discovery::AddressPolicy;

    #[test]
    fn addresses_are_public_and_map_back() {
        for p in [0, 1, 77, 999_999, (MAX_NODES - 1) as PeerId] {
            let a = server_address(p);
            assert_eq!(AddressPolicy::default().check(&a), Ok(()));
            assert_eq!(server_peer(&a), Some(p));
            assert!(!is_bogus(&a));
            let b = bogus_address(p, 63);
            assert_eq!(AddressPolicy::default().check(&b), Ok(()));
            assert!(is_bogus(&b));
            assert_eq!(server_peer(&b), None);
        }
    }

    #[test]
    fn roles_follow_their_shares_and_nest() {
        let low = Roles::new(9, 0.02, 0.0, 0.0);
        let high = Roles::new(9, 0.10, 0.3, 0.0);
        let n = 100_000;
        let willing = (0..n).filter(|&p| high.is_willing(p)).count();
        assert!((9_500..10_500).contains(&willing), "{willing}");
        let dead = (0..n).filter(|&p| high.is_dead(p)).count();
        assert!((29_000..31_000).contains(&dead), "{dead}");
        assert!((0..n).all(|p| !low.is_willing(p) || high.is_willing(p)));
    }
}
