//! A deterministic multi-hop harness: a NATed sending node, a path of five
//! intermediate peers with their own candidate tables (two of them with no
//! willing candidate to offer, IP addresses shared between peers), a JOIN in
//! recursive mode and a GET in iterative mode, with exact expectations.
//!
//! Peers select by priority (§4.2 step 4's first example) with the default
//! per-hop share of 50 %, so with N = 10 one hop adds at most 5. Every
//! candidate carries its own priority, which fixes the order.
//!
//! | hop | table (priority)                                                        |
//! |-----|-------------------------------------------------------------------------|
//! | 1   | nothing willing (two peers offering no service)                          |
//! | 2   | .1 (900), 10.1.2.3 (850, private), .2 (800), 203.0.113.7 (700)           |
//! | 3   | .1:5349/TLS (950), .3 (600), .4 (500), .5 (400), .6 (300), .7 (200), .8 (100) |
//! | 4   | .2, .3 (both on hop 2/3 already), 192.0.2.99 (stale)                     |
//! | 5   | .8 (150), 192.0.2.10 (140), 192.0.2.11 (130)                             |
//!
//! (".x" is 198.51.100.x:3478/UDP.) Hop 2 accepts private addresses; the
//! sending node does not.

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::peer::{HopReport, Stop};
use stun_turn_discovery::{
    AddressPolicy, Candidate, CandidateSet, Feedback, IntermediatePeer, MessageKind, NatStatus,
    NodeConfig, Outcome, PeerConfig, PiggybackOption, SelectionPolicy, SendingNode, Services,
    Source, Transport, TransportAddress, N,
};

const SEED: u64 = 0x5eed_2007;

fn addr(s: &str) -> TransportAddress {
    TransportAddress::udp(s.parse().unwrap())
}

fn cand(s: &str, priority: u16) -> Candidate {
    Candidate::peer(addr(s), Services::BOTH).with_priority(priority)
}

/// 198.51.100.1 on the TURN-over-TLS port: same IP as hop 2's first entry.
fn a1_tls() -> TransportAddress {
    TransportAddress::new("198.51.100.1".parse().unwrap(), 5349, Transport::Tls)
}

/// Documentation addresses are allowed (they stand for public ones here);
/// private, loopback and link-local are not.
fn lab_policy() -> AddressPolicy {
    AddressPolicy::default().with_documentation(true)
}

fn peer_config() -> PeerConfig {
    PeerConfig::default()
        .with_selection(SelectionPolicy::ByPriority)
        .with_address_policy(lab_policy())
}

fn node_config() -> NodeConfig {
    NodeConfig::default().with_address_policy(lab_policy())
}

/// Times of the scenario: tables are learned at `learned`, requests are
/// processed at `now`, 300 s later (entries live 600 s). A stale entry was
/// learned at `base`, 600 s before `now`.
struct Clock {
    base: Instant,
    learned: Instant,
    now: Instant,
}

impl Clock {
    fn new(base: Instant) -> Self {
        Self {
            base,
            learned: base + Duration::from_secs(300),
            now: base + Duration::from_secs(600),
        }
    }
}

fn peer_with(config: PeerConfig, at: Instant, candidates: &[Candidate]) -> IntermediatePeer {
    let mut peer = IntermediatePeer::new(config);
    let report = peer
        .table_mut()
        .sync_source(at, Source::RoutingTable, candidates.iter().copied());
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(report.added as usize, candidates.len());
    peer
}

/// The five peers of the table in the module documentation.
fn path_a(clock: &Clock) -> Vec<IntermediatePeer> {
    let t = clock.learned;

    // Hop 1: its routing table holds two peers, neither willing to serve.
    let mut hop1 = IntermediatePeer::new(peer_config());
    let unwilling = [
        Candidate::peer(addr("198.51.100.50:3478"), Services::NONE),
        Candidate::peer(addr("198.51.100.51:3478"), Services::NONE),
    ];
    let report = hop1
        .table_mut()
        .sync_source(t, Source::RoutingTable, unwilling);
    assert_eq!((report.added, report.not_willing), (0, 2));
    assert!(hop1.table().is_empty());

    let hop2 = peer_with(
        peer_config().with_address_policy(AddressPolicy::permissive()),
        t,
        &[
            cand("198.51.100.1:3478", 900),
            cand("10.1.2.3:3478", 850),
            cand("198.51.100.2:3478", 800),
            cand("203.0.113.7:3478", 700),
        ],
    );

    let hop3 = peer_with(
        peer_config(),
        t,
        &[
            Candidate::peer(a1_tls(), Services::TURN).with_priority(950),
            cand("198.51.100.3:3478", 600),
            cand("198.51.100.4:3478", 500),
            cand("198.51.100.5:3478", 400),
            cand("198.51.100.6:3478", 300),
            cand("198.51.100.7:3478", 200),
            cand("198.51.100.8:3478", 100),
        ],
    );

    // Hop 4: only candidates already on the set, and one stale entry.
    let mut hop4 = peer_with(
        peer_config(),
        t,
        &[cand("198.51.100.2:3478", 10), cand("198.51.100.3:3478", 10)],
    );
    let _ = hop4
        .table_mut()
        .upsert(
            clock.base,
            Source::ConnectionTable,
            cand("192.0.2.99:3478", 999),
        )
        .unwrap();
    assert_eq!(hop4.table().len(), 3);

    let hop5 = peer_with(
        peer_config(),
        t,
        &[
            cand("198.51.100.8:3478", 150),
            cand("192.0.2.10:3478", 140),
            cand("192.0.2.11:3478", 130),
        ],
    );
    vec![hop1, hop2, hop3, hop4, hop5]
}

/// A NATed node: its interface is private, the STUN server saw it elsewhere
/// (§4.1: it MUST learn this before joining).
fn nated_node() -> SendingNode {
    let nat = NatStatus::detect(
        ["10.0.0.2".parse().unwrap()],
        5000,
        "203.0.113.200:40000".parse().unwrap(),
    );
    assert!(nat.is_behind_nat());
    SendingNode::new(node_config())
}

/// Sends `option` through `path` (recursive mode) and back; returns each
/// hop's report. On the way back each peer forwards the response unchanged
/// (§4.2 step 1): `on_response` sees only the message kind, so it cannot
/// touch the option.
fn recursive_round_trip(
    path: &mut [IntermediatePeer],
    kind: MessageKind,
    option: &mut PiggybackOption,
    now: Instant,
    rng: &mut ChaCha8Rng,
) -> Vec<HopReport> {
    let reports: Vec<HopReport> = path
        .iter_mut()
        .map(|peer| match peer.on_request(now, kind, None, option, rng) {
            Outcome::Filled(report) => report,
            Outcome::Answer(..) => panic!("a recursive option is filled in place"),
        })
        .collect();
    for peer in path.iter_mut().rev() {
        peer.on_response(kind);
    }
    reports
}

fn summary(reports: &[HopReport]) -> Vec<(u8, u8, u8, Stop)> {
    reports
        .iter()
        .map(|r| (r.hop, r.k_before, r.k_after, r.stop))
        .collect()
}

fn ips(set: &CandidateSet) -> Vec<(String, u8)> {
    set.iter()
        .map(|e| (e.candidate.address.socket_addr().to_string(), e.hop))
        .collect()
}

/// Cached candidates as (address, hop), sorted by address.
fn cached(node: &SendingNode) -> Vec<(String, u8)> {
    let mut v: Vec<(String, u8)> = node
        .candidates()
        .map(|c| (c.candidate().address.socket_addr().to_string(), c.hop()))
        .collect();
    v.sort();
    v
}

fn owned(v: &[(&str, u8)]) -> Vec<(String, u8)> {
    let mut v: Vec<(String, u8)> = v.iter().map(|&(a, h)| (a.to_owned(), h)).collect();
    v.sort();
    v
}

/// The JOIN of the NATed node, recursive mode, over path A.
fn join_over_path_a(clock: &Clock) -> SendingNode {
    let mut path = path_a(clock);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut node = nated_node();
    assert_eq!(node.shortfall(clock.now), 10);
    let mut option = node.recursive_option();
    let reports = recursive_round_trip(
        &mut path,
        MessageKind::Join,
        &mut option,
        clock.now,
        &mut rng,
    );
    let report = node
        .on_response(clock.now, MessageKind::Join, &option)
        .unwrap();
    assert_eq!(report.saved, 9);
    assert_eq!(reports.len(), 5);
    node
}

#[test]
fn join_recursive_over_five_hops() {
    let clock = Clock::new(Instant::now());
    let mut path = path_a(&clock);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut node = nated_node();
    let mut option = node.recursive_option();
    assert_eq!(option.n(), Some(N::DEFAULT));

    let reports = recursive_round_trip(
        &mut path,
        MessageKind::Join,
        &mut option,
        clock.now,
        &mut rng,
    );

    // K after each hop: 0, 4, 9, 9, 10.
    assert_eq!(
        summary(&reports),
        vec![
            (1, 0, 0, Stop::TableExhausted),
            (2, 0, 4, Stop::TableExhausted),
            (3, 4, 9, Stop::HopCap),
            (4, 9, 9, Stop::TableExhausted),
            (5, 9, 10, Stop::ReachedN),
        ]
    );
    assert!(reports
        .iter()
        .all(|r| r.kind == MessageKind::Join && r.n == N::DEFAULT));
    assert_eq!(option.hop(), 6);

    // Hop 3's TLS entry for 198.51.100.1 is a duplicate IP (§4.2 step 5);
    // its .8 was beyond its share, and hop 5 added it instead.
    let expected: Vec<(String, u8)> = [
        ("198.51.100.1:3478", 2),
        ("10.1.2.3:3478", 2),
        ("198.51.100.2:3478", 2),
        ("203.0.113.7:3478", 2),
        ("198.51.100.3:3478", 3),
        ("198.51.100.4:3478", 3),
        ("198.51.100.5:3478", 3),
        ("198.51.100.6:3478", 3),
        ("198.51.100.7:3478", 3),
        ("198.51.100.8:3478", 5),
    ]
    .iter()
    .map(|&(a, h)| (a.to_owned(), h))
    .collect();
    assert_eq!(
        ips(option.set()),
        expected,
        "in the order the hops added them"
    );
    // The priority the adding peer gave: hop 5's, not hop 3's.
    assert_eq!(option.set().entries()[9].candidate.priority, Some(150));

    // The node saves all but the private address. No hop sent more than
    // its share of the node's N (5 of 10), so nothing is kept as reserve.
    let report = node
        .on_response(clock.now, MessageKind::Join, &option)
        .unwrap();
    assert_eq!(
        (
            report.offered,
            report.saved,
            report.refreshed,
            report.refused,
            report.filtered,
            report.reserved,
            report.no_room,
        ),
        (10, 9, 0, 1, 0, 0, 0)
    );
    assert!(node.candidates().all(|c| !c.is_reserve()));
    assert_eq!((report.usable, report.shortfall), (9, 1));
    assert_eq!(node.shortfall(clock.now), 1);
    assert_eq!(
        cached(&node),
        owned(&[
            ("198.51.100.1:3478", 2),
            ("198.51.100.2:3478", 2),
            ("203.0.113.7:3478", 2),
            ("198.51.100.3:3478", 3),
            ("198.51.100.4:3478", 3),
            ("198.51.100.5:3478", 3),
            ("198.51.100.6:3478", 3),
            ("198.51.100.7:3478", 3),
            ("198.51.100.8:3478", 5),
        ])
    );
    let best: Vec<TransportAddress> = node
        .best(clock.now, 3)
        .iter()
        .map(|c| c.candidate().address)
        .collect();
    assert_eq!(
        best,
        [
            addr("198.51.100.1:3478"),
            addr("198.51.100.2:3478"),
            addr("203.0.113.7:3478"),
        ]
    );

    // §3.3.3: the shortfall is asked for again on a routine maintenance
    // request, which takes another path.
    let mut path_b = [
        peer_with(peer_config(), clock.learned, &[cand("192.0.2.30:3478", 10)]),
        peer_with(
            peer_config(),
            clock.learned,
            &[cand("198.51.100.3:3478", 20), cand("192.0.2.31:3478", 10)],
        ),
    ];
    let later = clock.now + Duration::from_secs(5);
    let mut option = node.recursive_option();
    let reports = recursive_round_trip(
        &mut path_b,
        MessageKind::Maintenance,
        &mut option,
        later,
        &mut rng,
    );
    assert_eq!(
        summary(&reports),
        vec![
            (1, 0, 1, Stop::TableExhausted),
            // 198.51.100.3 is in the node's known list (WIRE.md, known
            // list): hop 2 skips it and adds only 192.0.2.31.
            (2, 1, 2, Stop::TableExhausted)
        ]
    );
    assert!(option.known().holds(
        stun_turn_discovery::UniquenessKey::Ip,
        &addr("198.51.100.3:3478")
    ));
    let report = node
        .on_response(later, MessageKind::Maintenance, &option)
        .unwrap();
    assert_eq!((report.offered, report.saved, report.refreshed), (2, 2, 0));
    assert_eq!((report.usable, report.shortfall), (11, 0));
    assert_eq!(node.shortfall(later), 0);
    let three = node.get(&addr("198.51.100.3:3478")).unwrap();
    assert_eq!((three.hop(), three.sightings()), (3, 1));
    assert_eq!(node.get(&addr("192.0.2.30:3478")).unwrap().hop(), 1);

    // Without the hint, hop 2 sends it again and the node refreshes it.
    let mut blind = node.recursive_option();
    assert!(!blind.known().is_empty());
    blind = PiggybackOption::recursive(blind.n(), blind.filter(), blind.key());
    let _ = recursive_round_trip(
        &mut path_b,
        MessageKind::Maintenance,
        &mut blind,
        later,
        &mut rng,
    );
    let report = node
        .on_response(later, MessageKind::Maintenance, &blind)
        .unwrap();
    assert_eq!((report.offered, report.saved, report.refreshed), (3, 0, 3));
    let three = node.get(&addr("198.51.100.3:3478")).unwrap();
    assert_eq!((three.hop(), three.sightings()), (2, 2));
    assert_eq!(three.refreshed(), later);
    assert_eq!(three.first_seen(), clock.now);
}

#[test]
fn get_iterative_over_five_hops() {
    let clock = Clock::new(Instant::now());
    let mut path = path_a(&clock);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut node = nated_node();

    // (hop, K of the answer, stop, saved, reserved, refreshed, refused,
    // shortfall after)
    let mut steps = Vec::new();
    for (i, peer) in path.iter_mut().enumerate() {
        let hop = u8::try_from(i + 1).unwrap();
        let mut option = node.iterative_option(hop);
        let request = option.clone();
        let Outcome::Answer(answer, report) =
            peer.on_request(clock.now, MessageKind::Get, None, &mut option, &mut rng)
        else {
            panic!("an iterative option is answered at once");
        };
        assert_eq!(option, request, "the request's option is not touched");
        assert!(answer.iter().all(|e| e.hop == hop));
        assert_eq!((report.k_before, report.hop), (0, hop));
        assert_eq!(usize::from(report.k_after), answer.len());
        let saved = node
            .on_answer(clock.now, MessageKind::Get, hop, &answer)
            .unwrap();
        steps.push((
            hop,
            report.k_after,
            report.stop,
            saved.saved,
            saved.reserved,
            saved.refreshed,
            saved.refused,
            saved.shortfall,
        ));
    }
    assert_eq!(
        steps,
        vec![
            // Nothing willing.
            (1, 0, Stop::TableExhausted, 0, 0, 0, 0, 10),
            // Four, of which the private one is refused by the node.
            (2, 4, Stop::TableExhausted, 3, 0, 0, 1, 7),
            // The node names what it holds (known list): the hop skips the
            // TLS entry whose IP the node knows and sends five new ones.
            // Five is the hop's share of N at the node too: no reserve.
            (3, 5, Stop::HopCap, 5, 0, 0, 0, 2),
            // Its two fresh candidates are known to the node and skipped;
            // the stale entry is not offered.
            (4, 0, Stop::TableExhausted, 0, 0, 0, 0, 2),
            (5, 3, Stop::TableExhausted, 3, 0, 0, 0, 0),
        ]
    );
    // The hop that offered each candidate: each once, since the node names
    // what it holds. Hop 3's share went to new candidates (198.51.100.7
    // among them) instead of the TLS entry of the cached 198.51.100.1.
    assert_eq!(
        cached(&node),
        owned(&[
            ("198.51.100.1:3478", 2),
            ("198.51.100.2:3478", 2),
            ("203.0.113.7:3478", 2),
            ("198.51.100.3:3478", 3),
            ("198.51.100.4:3478", 3),
            ("198.51.100.5:3478", 3),
            ("198.51.100.6:3478", 3),
            ("198.51.100.7:3478", 3),
            ("192.0.2.10:3478", 5),
            ("192.0.2.11:3478", 5),
            ("198.51.100.8:3478", 5),
        ])
    );
    assert!(node.get(&a1_tls()).is_some(), "same IP, same entry");
    assert_eq!(
        node.get(&a1_tls()).unwrap().candidate().address.port(),
        3478
    );
}

#[test]
fn empty_path_gives_null_set_then_another_path_fills_it() {
    let clock = Clock::new(Instant::now());
    let t = clock.learned;
    // Five peers with nothing to offer: an empty table, unwilling peers,
    // only stale entries, only addresses refused by the policy (so never in
    // the table), only candidates the filter turns down.
    let mut unwilling = IntermediatePeer::new(peer_config());
    let _ = unwilling.table_mut().sync_source(
        t,
        Source::NeighborTable,
        [Candidate::peer(addr("198.51.100.60:3478"), Services::NONE)],
    );
    let mut stale = IntermediatePeer::new(peer_config());
    let _ = stale
        .table_mut()
        .upsert(
            clock.base,
            Source::RoutingTable,
            cand("198.51.100.61:3478", 5),
        )
        .unwrap();
    let mut refused = IntermediatePeer::new(peer_config());
    let r = refused.table_mut().sync_source(
        t,
        Source::RoutingTable,
        [cand("10.9.9.9:3478", 5), cand("127.0.0.1:3478", 5)],
    );
    assert_eq!(r.refused.len(), 2);
    let stun_only = peer_with(
        peer_config(),
        t,
        &[Candidate::peer(addr("198.51.100.62:3478"), Services::STUN)],
    );
    let mut path = [
        IntermediatePeer::new(peer_config()),
        unwilling,
        stale,
        refused,
        stun_only,
    ];
    assert!(path.iter().filter(|p| p.table().is_empty()).count() == 3);

    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let turn = node_config().with_filter(stun_turn_discovery::Filter::services(Services::TURN));
    let mut node = SendingNode::new(turn);
    let wanted = node.config().wanted();

    let mut option = node.recursive_option();
    let reports = recursive_round_trip(
        &mut path,
        MessageKind::Join,
        &mut option,
        clock.now,
        &mut rng,
    );
    assert!(reports
        .iter()
        .all(|r| (r.k_before, r.k_after, r.stop) == (0, 0, Stop::TableExhausted)));
    // §3.3.3: "The candidate set returned ... is NULL in this case."
    assert!(option.set().is_empty());
    let report = node
        .on_response(clock.now, MessageKind::Join, &option)
        .unwrap();
    assert_eq!((report.offered, report.saved, report.usable), (0, 0, 0));
    assert_eq!(report.shortfall, wanted.get());
    assert_eq!(node.shortfall(clock.now), wanted.get());
    assert!(node.best(clock.now, 64).is_empty());

    // Iteratively, every hop answers with an empty set too.
    for (i, peer) in path.iter_mut().enumerate() {
        let hop = u8::try_from(i + 1).unwrap();
        let mut option = node.iterative_option(hop);
        let Outcome::Answer(answer, _) =
            peer.on_request(clock.now, MessageKind::Get, None, &mut option, &mut rng)
        else {
            panic!("an iterative option is answered at once");
        };
        assert!(answer.is_empty());
        let r = node
            .on_answer(clock.now, MessageKind::Get, hop, &answer)
            .unwrap();
        assert_eq!(r.shortfall, wanted.get());
    }

    // "Using another message which traverse different path may identify a
    // non-NULL candidate set": three peers with four candidates each.
    let mut path_b: Vec<IntermediatePeer> = (0..3u8)
        .map(|p| {
            let cands: Vec<Candidate> = (1..=4u8)
                .map(|i| cand(&format!("192.0.2.{}:3478", p * 10 + i), 100 - u16::from(i)))
                .collect();
            peer_with(peer_config(), t, &cands)
        })
        .collect();
    let later = clock.now + Duration::from_secs(60);
    let mut option = node.recursive_option();
    let reports = recursive_round_trip(&mut path_b, MessageKind::Put, &mut option, later, &mut rng);
    assert_eq!(
        summary(&reports),
        vec![
            (1, 0, 4, Stop::TableExhausted),
            (2, 4, 8, Stop::TableExhausted),
            (3, 8, 10, Stop::ReachedN),
        ]
    );
    let report = node.on_response(later, MessageKind::Put, &option).unwrap();
    assert_eq!(
        (report.offered, report.saved, report.shortfall),
        (10, 10, 0)
    );
    assert_eq!(
        cached(&node),
        owned(&[
            ("192.0.2.1:3478", 1),
            ("192.0.2.2:3478", 1),
            ("192.0.2.3:3478", 1),
            ("192.0.2.4:3478", 1),
            ("192.0.2.11:3478", 2),
            ("192.0.2.12:3478", 2),
            ("192.0.2.13:3478", 2),
            ("192.0.2.14:3478", 2),
            ("192.0.2.21:3478", 3),
            ("192.0.2.22:3478", 3),
        ])
    );
}

/// A peer that reads the draft to the letter (per-hop share 100 %) may fill
/// the whole set alone; the node, with its default share of 50 %, counts
/// at most 5 of N = 10 from one hop and keeps the rest as reserve (they used
/// to be dropped): ranked after the others, not counted as usable, and out
/// of reserve once they work or come again within a hop's share.
#[test]
fn over_share_candidates_are_kept_as_reserve() {
    let clock = Clock::new(Instant::now());
    let now = clock.now;
    let literal = PeerConfig::draft_literal().with_address_policy(lab_policy());
    let hop1 = peer_with(
        literal,
        clock.learned,
        &(1..=8u16)
            .map(|i| cand(&format!("198.51.100.{i}:3478"), 900 - 100 * i))
            .collect::<Vec<_>>(),
    );
    let hop2 = peer_with(
        literal,
        clock.learned,
        &(1..=4u16)
            .map(|i| cand(&format!("192.0.2.{i}:3478"), 100 - 10 * i))
            .collect::<Vec<_>>(),
    );
    let mut path = [hop1, hop2];
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);

    let mut node = nated_node();
    let mut option = node.recursive_option();
    let reports = recursive_round_trip(&mut path, MessageKind::Join, &mut option, now, &mut rng);
    assert_eq!(
        summary(&reports),
        vec![(1, 0, 8, Stop::TableExhausted), (2, 8, 10, Stop::ReachedN)]
    );
    let report = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(
        (
            report.offered,
            report.saved,
            report.reserved,
            report.refreshed,
            report.filtered,
            report.refused,
            report.no_room,
        ),
        (10, 7, 3, 0, 0, 0, 0)
    );
    assert_eq!((report.usable, report.shortfall), (7, 3));
    assert_eq!(node.len(), 10);
    let reserve = |node: &SendingNode| -> Vec<String> {
        let mut v: Vec<String> = node
            .candidates()
            .filter(|c| c.is_reserve())
            .map(|c| c.candidate().address.socket_addr().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        reserve(&node),
        [
            "198.51.100.6:3478",
            "198.51.100.7:3478",
            "198.51.100.8:3478"
        ]
    );
    let order = |node: &SendingNode, at: Instant| -> Vec<String> {
        node.best(at, 64)
            .iter()
            .map(|c| c.candidate().address.ip().to_string())
            .collect()
    };
    // In-share candidates by priority, then the reserve, by priority.
    assert_eq!(
        order(&node, now),
        [
            "198.51.100.1",
            "198.51.100.2",
            "198.51.100.3",
            "198.51.100.4",
            "198.51.100.5",
            "192.0.2.1",
            "192.0.2.2",
            "198.51.100.6",
            "198.51.100.7",
            "198.51.100.8",
        ]
    );

    // A success takes a candidate out of reserve; it now counts, and ranks
    // first as the only one that worked.
    let eight = addr("198.51.100.8:3478");
    assert!(node.feedback(
        now,
        &eight,
        Feedback::Worked {
            rtt: Duration::from_millis(25)
        }
    ));
    assert!(!node.get(&eight).unwrap().is_reserve());
    assert_eq!(node.shortfall(now), 2);
    assert_eq!(order(&node, now)[0], "198.51.100.8");

    // Another path: the node names what it holds, reserve included, so the
    // hop sends only what is new, and the reserve stays reserve (only a
    // success takes a candidate out of it: a hop sending it again proves
    // nothing).
    assert!(node.recursive_option().known().holds(
        stun_turn_discovery::UniquenessKey::Ip,
        &addr("198.51.100.6:3478")
    ));
    let mut path_c = [peer_with(
        peer_config(),
        clock.learned,
        &[cand("198.51.100.6:3478", 50), cand("203.0.113.9:3478", 40)],
    )];
    let later = now + Duration::from_secs(5);
    let mut option = node.recursive_option();
    let reports = recursive_round_trip(
        &mut path_c,
        MessageKind::Maintenance,
        &mut option,
        later,
        &mut rng,
    );
    assert_eq!(summary(&reports), vec![(1, 0, 1, Stop::TableExhausted)]);
    let report = node
        .on_response(later, MessageKind::Maintenance, &option)
        .unwrap();
    assert_eq!(
        (
            report.offered,
            report.saved,
            report.reserved,
            report.refreshed
        ),
        (1, 1, 0, 0)
    );
    assert_eq!((report.usable, report.shortfall), (9, 1));
    assert_eq!(reserve(&node), ["198.51.100.6:3478", "198.51.100.7:3478"]);
    let six = node.get(&addr("198.51.100.6:3478")).unwrap();
    assert!(six.is_reserve());
    assert_eq!(six.sightings(), 1);
    assert_eq!(node.len(), 11);
    assert_eq!(order(&node, later).last().unwrap(), "198.51.100.7");

    // Iteratively, the same peer answers with eight; the node keeps three
    // of them as reserve.
    let mut node = nated_node();
    let mut option = node.iterative_option(1);
    let Outcome::Answer(answer, hop_report) =
        path[0].on_request(now, MessageKind::Get, None, &mut option, &mut rng)
    else {
        panic!("an iterative option is answered at once");
    };
    assert_eq!(
        (hop_report.k_after, hop_report.stop),
        (8, Stop::TableExhausted)
    );
    let report = node.on_answer(now, MessageKind::Get, 1, &answer).unwrap();
    assert_eq!(
        (
            report.saved,
            report.reserved,
            report.usable,
            report.shortfall
        ),
        (5, 3, 5, 5)
    );
}

#[test]
fn feedback_ranks_backs_off_and_evicts() {
    let clock = Clock::new(Instant::now());
    let now = clock.now;
    let mut node = join_over_path_a(&clock);
    let order = |node: &SendingNode, at: Instant| -> Vec<String> {
        node.best(at, 64)
            .iter()
            .map(|c| c.candidate().address.ip().to_string())
            .collect()
    };
    // Untried candidates rank by priority.
    assert_eq!(
        order(&node, now),
        [
            "198.51.100.1",
            "198.51.100.2",
            "203.0.113.7",
            "198.51.100.3",
            "198.51.100.4",
            "198.51.100.5",
            "198.51.100.6",
            "198.51.100.7",
            "198.51.100.8",
        ]
    );

    // A candidate that worked moves to the front.
    let eight = addr("198.51.100.8:3478");
    assert!(node.feedback(
        now,
        &eight,
        Feedback::Worked {
            rtt: Duration::from_millis(40)
        }
    ));
    assert_eq!(node.best(now, 1)[0].candidate().address, eight);
    assert_eq!(
        node.get(&eight).unwrap().srtt(),
        Some(Duration::from_millis(40))
    );
    // A second, faster one goes ahead of it; srtt is smoothed 7/8 + 1/8.
    let seven = addr("198.51.100.7:3478");
    assert!(node.feedback(
        now,
        &seven,
        Feedback::Worked {
            rtt: Duration::from_millis(8)
        }
    ));
    assert!(node.feedback(
        now,
        &eight,
        Feedback::Worked {
            rtt: Duration::from_millis(80)
        }
    ));
    assert_eq!(
        node.get(&eight).unwrap().srtt(),
        Some(Duration::from_millis(45))
    );
    assert_eq!(
        &order(&node, now)[..3],
        ["198.51.100.7", "198.51.100.8", "198.51.100.1"]
    );

    // A failure backs off for 30 s (default), then 60 s; the third evicts.
    let one = addr("198.51.100.1:3478");
    assert!(node.feedback(now, &one, Feedback::Failed));
    assert_eq!(node.get(&one).unwrap().failures(), 1);
    assert!(!order(&node, now).contains(&"198.51.100.1".to_owned()));
    assert_eq!(node.best(now, 64).len(), 8);
    assert_eq!(node.shortfall(now), 2);
    let at = now + Duration::from_secs(29);
    assert!(!order(&node, at).contains(&"198.51.100.1".to_owned()));
    let at = now + Duration::from_secs(30);
    // Back, but behind every candidate without failures.
    assert_eq!(order(&node, at).last().unwrap(), "198.51.100.1");
    assert_eq!(node.best(at, 64).len(), 9);

    assert!(node.feedback(at, &one, Feedback::Failed));
    assert!(!order(&node, at + Duration::from_secs(59)).contains(&"198.51.100.1".to_owned()));
    assert!(order(&node, at + Duration::from_secs(60)).contains(&"198.51.100.1".to_owned()));
    let at = at + Duration::from_secs(60);
    assert!(node.feedback(at, &one, Feedback::Failed));
    assert!(node.get(&one).is_none(), "max_failures = 3 evicts");
    assert_eq!(node.len(), 8);
    assert!(
        !node.feedback(at, &one, Feedback::Failed),
        "no longer cached"
    );
    assert!(!node.feedback(at, &addr("203.0.113.99:3478"), Feedback::Failed));

    // A success clears failures at once.
    let two = addr("198.51.100.2:3478");
    assert!(node.feedback(now, &two, Feedback::Failed));
    assert!(!order(&node, now).contains(&"198.51.100.2".to_owned()));
    assert!(node.feedback(
        now + Duration::from_secs(1),
        &two,
        Feedback::Worked {
            rtt: Duration::from_millis(20)
        }
    ));
    let c = node.get(&two).unwrap();
    assert_eq!(
        (c.failures(), c.is_usable(now + Duration::from_secs(1))),
        (0, true)
    );
}

#[test]
fn expire_drops_stale_cache_entries() {
    let clock = Clock::new(Instant::now());
    let now = clock.now;
    let mut node = join_over_path_a(&clock);
    assert_eq!(node.len(), 9);
    // One candidate works 100 s later, which refreshes it.
    let eight = addr("198.51.100.8:3478");
    let t = now + Duration::from_secs(100);
    assert!(node.feedback(
        t,
        &eight,
        Feedback::Worked {
            rtt: Duration::from_millis(30)
        }
    ));

    assert_eq!(node.expire(now + Duration::from_secs(599)), 0);
    assert_eq!(node.expire(now + Duration::from_secs(600)), 8);
    assert_eq!(cached(&node), owned(&[("198.51.100.8:3478", 5)]));
    assert_eq!(node.shortfall(now + Duration::from_secs(600)), 9);
    assert_eq!(node.expire(t + Duration::from_secs(599)), 0);
    assert_eq!(node.expire(t + Duration::from_secs(600)), 1);
    assert!(node.is_empty());
    assert_eq!(node.expire(t + Duration::from_secs(600)), 0);
}

/// The first `Instant` of the test as base, and times ten years later: no
/// arithmetic panics, entries learned at the base are long expired, and a
/// `now` before an entry's refresh time does not count as expired.
#[test]
fn early_base_and_far_future_times() {
    let t0 = Instant::now();
    let ten_years = Duration::from_secs(10 * 365 * 24 * 3600);
    let far = t0 + ten_years;
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);

    let mut learned_early: Vec<IntermediatePeer> = (0..3u8)
        .map(|p| {
            peer_with(
                peer_config(),
                t0,
                &[cand(&format!("198.51.100.{}:3478", p + 1), 10)],
            )
        })
        .collect();
    let mut learned_late: Vec<IntermediatePeer> = (0..3u8)
        .map(|p| {
            peer_with(
                peer_config(),
                far,
                &[cand(&format!("198.51.100.{}:3478", p + 1), 10)],
            )
        })
        .collect();

    let mut node = SendingNode::new(node_config());
    // Ten years on, what was learned at t0 is expired.
    let mut option = node.recursive_option();
    let reports = recursive_round_trip(
        &mut learned_early,
        MessageKind::Join,
        &mut option,
        far,
        &mut rng,
    );
    assert!(reports.iter().all(|r| r.k_after == 0));
    // A `now` earlier than the refresh time: age zero, not expired.
    let mut option = node.recursive_option();
    let reports = recursive_round_trip(
        &mut learned_late,
        MessageKind::Join,
        &mut option,
        t0,
        &mut rng,
    );
    assert_eq!(reports.last().unwrap().k_after, 3);
    let report = node.on_response(t0, MessageKind::Join, &option).unwrap();
    assert_eq!(report.saved, 3);

    // Expiry and table upkeep ten years on.
    for mut peer in learned_early {
        assert_eq!(peer.table_mut().expire(far), 1);
        assert!(peer.table().is_empty());
    }
    let mut late = learned_late;
    assert_eq!(late[0].table_mut().expire(t0), 0);

    // Feedback and ranking ten years on, with the back-off's growth at its
    // largest (2^16 × 30 s) for a node that tolerates many failures.
    // Entries live twenty years here, so the back-off, not the lifetime,
    // is what is measured.
    let tolerant = node_config()
        .with_max_failures(255)
        .unwrap()
        .with_entry_lifetime(ten_years * 2)
        .unwrap();
    let mut patient = SendingNode::new(tolerant);
    let mut option = patient.recursive_option();
    let _ = recursive_round_trip(&mut late, MessageKind::Join, &mut option, far, &mut rng);
    let _ = patient
        .on_response(far, MessageKind::Join, &option)
        .unwrap();
    let one = addr("198.51.100.1:3478");
    let mut at = far;
    for _ in 0..40 {
        assert!(patient.feedback(at, &one, Feedback::Failed));
        at += Duration::from_secs(30 << 16);
    }
    assert_eq!(patient.get(&one).unwrap().failures(), 40);
    assert!(patient.best(at, 64).len() == 3);
    assert!(patient.feedback(at, &one, Feedback::Worked { rtt: Duration::MAX }));
    assert_eq!(patient.best(at, 1)[0].candidate().address, one);
    assert_eq!(patient.best(far, 64).len(), 3);
    assert_eq!(patient.expire(far + ten_years * 3), 3);

    // The t0-era node, asked about ten years later: its candidates are past
    // their lifetime, so they are neither handed out nor counted, even
    // before `expire` removes them.
    assert_eq!(node.best(far, 64).len(), 0);
    assert_eq!(node.shortfall(far), 10);
    assert_eq!(node.len(), 3);
    assert_eq!(node.expire(far), 3);
    assert_eq!(node.shortfall(far), 10);
    let _ = node.feedback(far, &one, Feedback::Failed);
}

/// A back-off too long for `Instant` to represent is forever: the
/// candidate is evicted, not let back at once.
#[test]
fn huge_backoff_does_not_readmit_at_once() {
    let clock = Clock::new(Instant::now());
    let config = node_config().with_failure_backoff(Duration::MAX).unwrap();
    let mut path = path_a(&clock);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut node = SendingNode::new(config);
    let mut option = node.recursive_option();
    let _ = recursive_round_trip(
        &mut path,
        MessageKind::Join,
        &mut option,
        clock.now,
        &mut rng,
    );
    let _ = node
        .on_response(clock.now, MessageKind::Join, &option)
        .unwrap();
    let one = addr("198.51.100.1:3478");
    assert!(node.feedback(clock.now, &one, Feedback::Failed));
    assert!(
        node.get(&one).is_none(),
        "failed once with a back-off of Duration::MAX, yet still cached"
    );
    let later = clock.now + Duration::from_secs(10 * 365 * 24 * 3600);
    assert!(node
        .best(later, 64)
        .iter()
        .all(|c| c.candidate().address != one));
}
