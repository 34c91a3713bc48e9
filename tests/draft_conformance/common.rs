//! Helpers shared by every section of the conformance suite: the
//! configurations, documentation addresses, peers and paths the tests are
//! built from, and the reports flattened into plain structs so they can be
//! compared whole, with every field named.

use std::ops::RangeInclusive;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::node::{CachedCandidate, SaveReport};
use stun_turn_discovery::peer::{HopReport, Stop};
use stun_turn_discovery::{
    AddressPolicy, Candidate, CandidateSet, Filter, IntermediatePeer, MessageKind, NodeConfig,
    Outcome, PeerConfig, PerHopShare, PiggybackOption, RoutingMode, SendingNode, Services,
    SetEntry, Source, Transport, TransportAddress, UniquenessKey, N,
};

// ---------------------------------------------------------------------------
// Configurations
// ---------------------------------------------------------------------------

/// The default address policy with the documentation ranges allowed.
pub(crate) fn docs() -> AddressPolicy {
    AddressPolicy::default().with_documentation(true)
}

/// An intermediate peer reading the draft to the letter: per-hop share
/// 100 %, by-priority selection.
pub(crate) fn literal() -> PeerConfig {
    PeerConfig::draft_literal().with_address_policy(docs())
}

/// An intermediate peer with the crate's security defaults (per-hop share
/// 50 %, load spreading).
pub(crate) fn secure() -> PeerConfig {
    PeerConfig::default().with_address_policy(docs())
}

/// A sending node reading the draft to the letter: it counts everything a
/// hop sends (per-hop share 100 %), so nothing is held as reserve.
pub(crate) fn literal_node() -> NodeConfig {
    NodeConfig::default()
        .with_per_hop_share(PerHopShare::WHOLE)
        .with_address_policy(docs())
}

/// A sending node with the crate's security defaults (counts at most 50 %
/// of N from one hop; the rest is kept as reserve).
pub(crate) fn secure_node() -> NodeConfig {
    NodeConfig::default().with_address_policy(docs())
}

/// `v` as an N (`1..=64`).
pub(crate) fn n(v: u8) -> N {
    N::new(v).expect("N in 1..=64")
}

// ---------------------------------------------------------------------------
// Addresses and candidates (RFC 5737, RFC 3849 documentation ranges)
// ---------------------------------------------------------------------------

/// A UDP transport address from `"ip:port"`.
pub(crate) fn ta(s: &str) -> TransportAddress {
    TransportAddress::udp(s.parse().expect("a socket address"))
}

/// A transport address with an explicit transport.
pub(crate) fn ta_on(ip: &str, port: u16, transport: Transport) -> TransportAddress {
    TransportAddress::new(ip.parse().expect("an IP address"), port, transport)
}

/// A peer willing to serve STUN and TURN at `s`.
pub(crate) fn willing_peer(s: &str) -> Candidate {
    Candidate::peer(ta(s), Services::BOTH)
}

/// A client willing to serve STUN and TURN at `s`.
pub(crate) fn willing_client(s: &str) -> Candidate {
    Candidate::client(ta(s), Services::BOTH)
}

/// A peer that is not willing to serve (no service).
pub(crate) fn unwilling_peer(s: &str) -> Candidate {
    Candidate::peer(ta(s), Services::NONE)
}

/// Willing peers at `192.0.2.i:3478` for `i` in `range`.
pub(crate) fn doc_peers(range: RangeInclusive<u8>) -> Vec<Candidate> {
    range
        .map(|i| willing_peer(&format!("192.0.2.{i}:3478")))
        .collect()
}

/// The address `192.0.2.i:3478`.
pub(crate) fn doc(i: u8) -> TransportAddress {
    ta(&format!("192.0.2.{i}:3478"))
}

/// A set entry for `candidate` stamped with `hop`.
pub(crate) fn at_hop(hop: u8, candidate: Candidate) -> SetEntry {
    SetEntry { candidate, hop }
}

pub(crate) fn seeded(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

// ---------------------------------------------------------------------------
// Intermediate peers and paths
// ---------------------------------------------------------------------------

/// An intermediate peer whose `source` holds exactly `candidates`, all of
/// which the table must accept.
pub(crate) fn peer_with(
    config: PeerConfig,
    now: Instant,
    source: Source,
    candidates: impl IntoIterator<Item = Candidate>,
) -> IntermediatePeer {
    let mut peer = IntermediatePeer::new(config);
    let report = peer.table_mut().sync_source(now, source, candidates);
    assert!(report.refused.is_empty(), "refused: {:?}", report.refused);
    peer
}

/// A recursive-mode option with N = `n` (none if `None`), any candidate,
/// unique by IP.
pub(crate) fn recursive(n: Option<u8>) -> PiggybackOption {
    PiggybackOption::recursive(n.map(self::n), Filter::ANY, UniquenessKey::Ip)
}

/// The hop report of a recursive-mode outcome.
pub(crate) fn filled(outcome: Outcome) -> HopReport {
    match outcome {
        Outcome::Filled(report) => report,
        Outcome::Answer(set, report) => {
            panic!("expected a recursive fill, got an answer {set:?} ({report:?})")
        }
    }
}

/// The answer and hop report of an iterative-mode outcome.
pub(crate) fn answered(outcome: Outcome) -> (CandidateSet, HopReport) {
    match outcome {
        Outcome::Answer(set, report) => (set, report),
        Outcome::Filled(report) => panic!("expected an iterative answer, got a fill ({report:?})"),
    }
}

/// Runs a recursive request along `path`, returning each hop's report.
pub(crate) fn along(
    path: &mut [IntermediatePeer],
    now: Instant,
    kind: MessageKind,
    option: &mut PiggybackOption,
    rng: &mut ChaCha8Rng,
) -> Vec<HopReport> {
    path.iter_mut()
        .map(|peer| filled(peer.on_request(now, kind, None, option, rng)))
        .collect()
}

// ---------------------------------------------------------------------------
// Reports as plain structs
// ---------------------------------------------------------------------------

/// What one intermediate peer did, as counts: [`HopReport`] is
/// `#[non_exhaustive]`, so it is compared through this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HopCounts {
    pub(crate) n: u8,
    pub(crate) k_before: u8,
    pub(crate) k_after: u8,
    pub(crate) added: u8,
    pub(crate) stop: Stop,
}

/// The counts of a hop report.
pub(crate) fn counts(r: &HopReport) -> HopCounts {
    HopCounts {
        n: r.n.get(),
        k_before: r.k_before,
        k_after: r.k_after,
        added: r.added(),
        stop: r.stop,
    }
}

/// What the sending node did with a set, as counts: [`SaveReport`] is
/// `#[non_exhaustive]`, so it is compared through this (its `kind` is
/// checked on its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Saved {
    pub(crate) offered: u8,
    pub(crate) saved: u8,
    pub(crate) reserved: u8,
    pub(crate) refreshed: u8,
    pub(crate) filtered: u8,
    pub(crate) refused: u8,
    pub(crate) no_room: u8,
    pub(crate) usable: u8,
    pub(crate) shortfall: u8,
}

/// The counts of a save report.
pub(crate) fn saved(r: &SaveReport) -> Saved {
    Saved {
        offered: r.offered,
        saved: r.saved,
        reserved: r.reserved,
        refreshed: r.refreshed,
        filtered: r.filtered,
        refused: r.refused,
        no_room: r.no_room,
        usable: r.usable,
        shortfall: r.shortfall,
    }
}

// ---------------------------------------------------------------------------
// Sets, tables and caches
// ---------------------------------------------------------------------------

/// The addresses in a set, in order.
pub(crate) fn addrs(set: &CandidateSet) -> Vec<TransportAddress> {
    set.iter().map(|e| e.candidate.address).collect()
}

/// The hop positions stamped in a set, in order.
pub(crate) fn hops(set: &CandidateSet) -> Vec<u8> {
    set.iter().map(|e| e.hop).collect()
}

/// The table's addresses, by priority then address.
pub(crate) fn table_addrs(peer: &IntermediatePeer) -> Vec<TransportAddress> {
    peer.table()
        .by_priority()
        .map(|e| e.candidate().address)
        .collect()
}

/// The sending node's cache, sorted by address.
pub(crate) fn cache_snapshot(node: &SendingNode) -> Vec<CachedCandidate> {
    let mut v: Vec<CachedCandidate> = node.candidates().copied().collect();
    v.sort_by_key(|c| c.candidate().address);
    v
}

/// The sending node's cached addresses, sorted.
pub(crate) fn cached_addrs(node: &SendingNode) -> Vec<TransportAddress> {
    cache_snapshot(node)
        .iter()
        .map(|c| c.candidate().address)
        .collect()
}

// ---------------------------------------------------------------------------
// One request of each kind, for §5.2 and §6.2
// ---------------------------------------------------------------------------

/// What a two-hop path and the sending node made of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KindRun {
    /// The candidates the path handed out, in order.
    pub(crate) entries: Vec<SetEntry>,
    /// Each hop's counts.
    pub(crate) hops: Vec<HopCounts>,
    /// The (last) save report's counts.
    pub(crate) saved: Saved,
}

/// What a two-hop path and the sending node make of one request of `kind`.
/// Security defaults on both sides (load spreading, a random policy), a
/// fixed seed.
pub(crate) fn run_kind(kind: MessageKind, mode: RoutingMode) -> KindRun {
    let now = Instant::now();
    let mut path = [
        peer_with(secure(), now, Source::RoutingTable, doc_peers(1..=12)),
        peer_with(secure(), now, Source::NeighborTable, doc_peers(7..=20)),
    ];
    let mut node = SendingNode::new(secure_node());
    let mut rng = seeded(99);
    match mode {
        RoutingMode::Recursive => {
            let mut option = node.recursive_option();
            let reports = along(&mut path, now, kind, &mut option, &mut rng);
            assert!(reports.iter().all(|r| r.kind == kind));
            let report = node.on_response(now, kind, &option).unwrap();
            assert_eq!(report.kind, kind);
            KindRun {
                entries: option.set().entries().to_vec(),
                hops: reports.iter().map(counts).collect(),
                saved: saved(&report),
            }
        }
        RoutingMode::Iterative => {
            let mut entries = Vec::new();
            let mut hop_counts = Vec::new();
            let mut last = None;
            for (i, peer) in path.iter_mut().enumerate() {
                let hop = u8::try_from(i).unwrap() + 1;
                let mut option = node.iterative_option(hop);
                let (answer, report) =
                    answered(peer.on_request(now, kind, None, &mut option, &mut rng));
                assert_eq!(report.kind, kind);
                let report_saved = node.on_answer(now, kind, hop, &answer).unwrap();
                assert_eq!(report_saved.kind, kind);
                entries.extend_from_slice(answer.entries());
                hop_counts.push(counts(&report));
                last = Some(saved(&report_saved));
            }
            KindRun {
                entries,
                hops: hop_counts,
                saved: last.unwrap(),
            }
        }
    }
}
