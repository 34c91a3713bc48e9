//! Conformance of the crate to draft-jiang-p2psip-stun-turn-discovery-00,
//! sentence by sentence: one test per numbered step and per MUST/SHOULD
//! sentence (and per definition) of §§2, 3.3.1, 3.3.2, 4.1, 4.2, 5.1, 5.2,
//! 6.1 and 6.2. Each test is named after its section and carries, right above
//! it, the sentence of the draft it checks, quoted verbatim.
//!
//! `Config::draft_literal()` is used where the draft's literal behaviour is
//! meant (one hop may fill the whole set, candidates taken by priority); the
//! default configuration where the crate's security defaults are shown.
//! Every address is a documentation address (RFC 5737, RFC 3849).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::wire::{self, Direction, WireConfig};
use stun_turn_discovery::{
    AddressPolicy, CachedCandidate, Candidate, CandidateSet, Config, Filter, HopReport,
    IntermediatePeer, MessageKind, NatStatus, Outcome, PerformanceHints, PiggybackOption,
    ResponseAction, ResponseError, Role, RoutingMode, SaveReport, SelectionPolicy, SendingNode,
    Services, SetEntry, Source, SourcePriorities, Stop, TableError, Transport, TransportAddress,
    UniquenessKey, Upserted, DEFAULT_N,
};

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// The default address policy with the documentation ranges allowed.
fn docs() -> AddressPolicy {
    AddressPolicy::default().allow_documentation(true)
}

/// The draft read to the letter: per-hop share 100 %, by-priority selection.
fn literal() -> Config {
    Config::draft_literal().with_address_policy(docs())
}

/// The crate's security defaults (per-hop cap 50 %, load spreading).
fn secure() -> Config {
    Config::default().with_address_policy(docs())
}

/// A UDP transport address from `"ip:port"`.
fn ta(s: &str) -> TransportAddress {
    TransportAddress::udp(s.parse().expect("a socket address"))
}

/// A transport address with an explicit transport.
fn ta_on(ip: &str, port: u16, transport: Transport) -> TransportAddress {
    TransportAddress::new(ip.parse().expect("an IP address"), port, transport)
}

/// A peer willing to serve STUN and TURN at `s`.
fn willing_peer(s: &str) -> Candidate {
    Candidate::peer(ta(s), Services::BOTH)
}

/// A client willing to serve STUN and TURN at `s`.
fn willing_client(s: &str) -> Candidate {
    Candidate::client(ta(s), Services::BOTH)
}

/// A peer that is not willing to serve (no service).
fn unwilling_peer(s: &str) -> Candidate {
    Candidate::peer(ta(s), Services::NONE)
}

/// Willing peers at `192.0.2.i:3478` for `i` in `range`.
fn doc_peers(range: RangeInclusive<u8>) -> Vec<Candidate> {
    range
        .map(|i| willing_peer(&format!("192.0.2.{i}:3478")))
        .collect()
}

/// The address `192.0.2.i:3478`.
fn doc(i: u8) -> TransportAddress {
    ta(&format!("192.0.2.{i}:3478"))
}

fn seeded(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// An intermediate peer whose `source` holds exactly `candidates`, all of
/// which the table must accept.
fn peer_with(
    config: Config,
    now: Instant,
    source: Source,
    candidates: impl IntoIterator<Item = Candidate>,
) -> IntermediatePeer {
    let mut peer = IntermediatePeer::new(config);
    let report = peer.table_mut().sync_source(now, source, candidates);
    assert!(report.refused.is_empty(), "refused: {:?}", report.refused);
    peer
}

/// A recursive-mode option with N = `n`, any candidate, unique by IP.
fn recursive(n: Option<u8>) -> PiggybackOption {
    PiggybackOption::recursive(n, Filter::ANY, UniquenessKey::Ip).expect("a valid option")
}

/// The hop report of a recursive-mode outcome.
fn filled(outcome: Outcome) -> HopReport {
    match outcome {
        Outcome::Filled(report) => report,
        Outcome::Answer(set, report) => {
            panic!("expected a recursive fill, got an answer {set:?} ({report:?})")
        }
    }
}

/// The answer and hop report of an iterative-mode outcome.
fn answered(outcome: Outcome) -> (CandidateSet, HopReport) {
    match outcome {
        Outcome::Answer(set, report) => (set, report),
        Outcome::Filled(report) => panic!("expected an iterative answer, got a fill ({report:?})"),
    }
}

/// `(n, k_before, k_after, added, stop)` of a hop report.
fn counts(r: &HopReport) -> (u8, u8, u8, u8, Stop) {
    (r.n, r.k_before, r.k_after, r.added(), r.stop)
}

/// `(offered, saved, refreshed, over_hop_cap, filtered, refused, no_room,
/// usable, shortfall)` of a save report.
fn save_counts(r: &SaveReport) -> (u8, u8, u8, u8, u8, u8, u8, u8, u8) {
    (
        r.offered,
        r.saved,
        r.refreshed,
        r.over_hop_cap,
        r.filtered,
        r.refused,
        r.no_room,
        r.usable,
        r.shortfall,
    )
}

/// The addresses in a set, in order.
fn addrs(set: &CandidateSet) -> Vec<TransportAddress> {
    set.iter().map(|e| e.candidate.address).collect()
}

/// The hop positions stamped in a set, in order.
fn hops(set: &CandidateSet) -> Vec<u8> {
    set.iter().map(|e| e.hop).collect()
}

/// The table's addresses, by priority then address.
fn table_addrs(peer: &IntermediatePeer) -> Vec<TransportAddress> {
    peer.table()
        .by_priority()
        .map(|e| e.candidate().address)
        .collect()
}

/// Runs a recursive request along `path`, returning each hop's report.
fn along(
    path: &[IntermediatePeer],
    now: Instant,
    kind: MessageKind,
    option: &mut PiggybackOption,
    rng: &mut ChaCha8Rng,
) -> Vec<HopReport> {
    path.iter()
        .map(|peer| filled(peer.on_request(now, kind, option, rng)))
        .collect()
}

/// A set entry for `candidate` stamped with `hop`.
fn at_hop(hop: u8, candidate: Candidate) -> SetEntry {
    SetEntry { candidate, hop }
}

/// The sending node's cache, sorted by address.
fn cache_snapshot(node: &SendingNode) -> Vec<CachedCandidate> {
    let mut v: Vec<CachedCandidate> = node.cache().iter().copied().collect();
    v.sort_by_key(|c| c.candidate().address);
    v
}

/// The sending node's cached addresses, sorted.
fn cached_addrs(node: &SendingNode) -> Vec<TransportAddress> {
    cache_snapshot(node)
        .iter()
        .map(|c| c.candidate().address)
        .collect()
}

// ---------------------------------------------------------------------------
// §2 Definition
// ---------------------------------------------------------------------------

// §2: "Sending node: It identifies the node, either a peer or a client, who
// sends a request."
#[test]
fn s2_sending_node_is_a_peer_or_a_client_sending_a_request() {
    let now = Instant::now();
    let table = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=3));
    // A joining peer sends JOIN; a client sends GET through its peer. Both
    // are sending nodes and both get the same candidates.
    for kind in [MessageKind::Join, MessageKind::Get] {
        let mut node = SendingNode::new(literal());
        let mut option = node.recursive_option();
        let _ = along(
            std::slice::from_ref(&table),
            now,
            kind,
            &mut option,
            &mut seeded(1),
        );
        let report = node.on_response(now, kind, &option).unwrap();
        assert_eq!(report.kind, kind);
        assert_eq!(report.saved, 3);
        assert_eq!(cached_addrs(&node), vec![doc(1), doc(2), doc(3)]);
    }
}

// §2: "Intermediate peers: it identify all peers on the path from the sending
// node to the message destination, including the peer which is the message
// destination."
#[test]
fn s2_intermediate_peers_include_the_destination() {
    let now = Instant::now();
    let path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=1)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(2..=2)),
        // The message destination: the last peer on the path fills too.
        peer_with(literal(), now, Source::RoutingTable, doc_peers(3..=5)),
    ];
    let mut option = recursive(Some(10));
    let reports = along(&path, now, MessageKind::Join, &mut option, &mut seeded(2));
    assert_eq!(
        reports.iter().map(|r| r.hop).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        counts(&reports[2]),
        (10, 2, 5, 3, Stop::TableExhausted),
        "the destination adds its three candidates"
    );
    assert_eq!(
        addrs(option.set()),
        vec![doc(1), doc(2), doc(3), doc(4), doc(5)]
    );
    assert_eq!(hops(option.set()), vec![1, 2, 3, 3, 3]);
    assert_eq!(option.hop(), 4);
}

// §2: "STUN/TURN server candidates: The nodes which are willing to play the
// STUN/TURN server role. Various types of nodes could be the candidate,
// including peer, client."
#[test]
fn s2_server_candidates_are_willing_peers_and_clients() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(literal());
    let table = peer.table_mut();
    assert_eq!(
        table.upsert(
            now,
            Source::RoutingTable,
            Candidate::peer(doc(1), Services::STUN)
        ),
        Ok(Upserted::Added)
    );
    assert_eq!(
        table.upsert(
            now,
            Source::Client,
            Candidate::client(doc(2), Services::TURN)
        ),
        Ok(Upserted::Added)
    );
    assert_eq!(
        table.upsert(now, Source::RoutingTable, unwilling_peer("192.0.2.3:3478")),
        Err(TableError::NotWilling { address: doc(3) })
    );
    assert_eq!(
        table.upsert(
            now,
            Source::Client,
            Candidate::client(doc(4), Services::NONE)
        ),
        Err(TableError::NotWilling { address: doc(4) })
    );
    assert_eq!(table.len(), 2);
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(3)));
    let roles: Vec<(TransportAddress, Role)> = option
        .set()
        .iter()
        .map(|e| (e.candidate.address, e.candidate.role))
        .collect();
    // Peers (routing state, 300) rank above clients (100).
    assert_eq!(roles, vec![(doc(1), Role::Peer), (doc(2), Role::Client)]);
}

// §2: "STUN/TURN server candidates: The nodes which are willing to play the
// STUN/TURN server role."
#[cfg(feature = "serde")]
#[test]
fn s2_decoded_candidate_offering_neither_stun_nor_turn_is_not_willing() {
    let now = Instant::now();
    let json = serde_json::to_string(&Candidate::peer(doc(1), Services::STUN)).unwrap();
    assert!(json.contains("\"services\":1"), "{json}");
    let forged = json.replace("\"services\":1", "\"services\":4");
    match serde_json::from_str::<Candidate>(&forged) {
        // Refusing it at decoding is fine too.
        Err(_) => {}
        Ok(decoded) => {
            assert_eq!(decoded.services, Services::from_bits_truncate(4));
            assert!(decoded.services.is_empty());
            assert!(!Filter::ANY.accepts(&decoded));
            let mut peer = IntermediatePeer::new(literal());
            assert_eq!(
                peer.table_mut().upsert(now, Source::RoutingTable, decoded),
                Err(TableError::NotWilling { address: doc(1) })
            );
        }
    }
}

// §2: "Every peer MUST have this table, but the number of entry in the
// candidate table may be zero because of distribution of server candidates in
// the overlay."
#[test]
fn s2_every_peer_has_a_table_possibly_empty() {
    let now = Instant::now();
    let peer = IntermediatePeer::new(literal());
    assert_eq!(peer.table().len(), 0);
    assert!(peer.table().is_empty());
    let mut option = recursive(Some(10));
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(4)));
    assert_eq!(counts(&report), (10, 0, 0, 0, Stop::TableExhausted));
    assert!(option.set().is_empty());
    assert_eq!(option.hop(), 2, "the peer still processed the request");
}

// §2: "Each entry of the table is learned dynamically."
#[test]
fn s2_table_entries_are_learned_dynamically() {
    let t0 = Instant::now();
    let mut peer = IntermediatePeer::new(literal());
    let r = peer
        .table_mut()
        .sync_source(t0, Source::RoutingTable, doc_peers(1..=2));
    assert_eq!((r.added, r.updated, r.removed), (2, 0, 0));
    // The routing table changes: .1 leaves, .3 arrives, .2 is refreshed.
    let t1 = t0 + Duration::from_secs(300);
    let r = peer
        .table_mut()
        .sync_source(t1, Source::RoutingTable, doc_peers(2..=3));
    assert_eq!((r.added, r.updated, r.removed), (1, 1, 1));
    assert_eq!(table_addrs(&peer), vec![doc(2), doc(3)]);
    assert_eq!(peer.table().get(&doc(2)).unwrap().refreshed(), t1);
    // What the next request gets follows the table as it is now.
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(t1, MessageKind::Join, &mut option, &mut seeded(5)));
    assert_eq!(addrs(option.set()), vec![doc(2), doc(3)]);
    // A peer learned outside the routing state (e.g. from a message's
    // peer info) comes and goes the same way.
    let added =
        peer.table_mut()
            .upsert(t1, Source::ConnectionTable, willing_peer("192.0.2.4:3478"));
    assert_eq!(added, Ok(Upserted::Added));
    assert!(peer.table_mut().remove(Source::ConnectionTable, &doc(4)));
    assert_eq!(table_addrs(&peer), vec![doc(2), doc(3)]);
}

// §2: "Peers in the routing table or neighbor table or connection table which
// are willing to be server candidates MUST be filled into the table."
#[test]
fn s2_willing_routing_neighbor_connection_peers_must_be_filled() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(literal());
    let t = peer.table_mut();
    let routing = t.sync_source(
        now,
        Source::RoutingTable,
        [
            willing_peer("192.0.2.1:3478"),
            unwilling_peer("192.0.2.2:3478"),
        ],
    );
    let neighbor = t.sync_source(
        now,
        Source::NeighborTable,
        [
            willing_peer("198.51.100.1:3478"),
            unwilling_peer("198.51.100.2:3478"),
        ],
    );
    let connection = t.sync_source(
        now,
        Source::ConnectionTable,
        [
            willing_peer("203.0.113.1:3478"),
            unwilling_peer("203.0.113.2:3478"),
        ],
    );
    for r in [&routing, &neighbor, &connection] {
        assert_eq!((r.added, r.not_willing, r.removed), (1, 1, 0));
    }
    assert!(t
        .get(&ta("192.0.2.1:3478"))
        .unwrap()
        .has_source(Source::RoutingTable));
    assert!(t
        .get(&ta("198.51.100.1:3478"))
        .unwrap()
        .has_source(Source::NeighborTable));
    assert!(t
        .get(&ta("203.0.113.1:3478"))
        .unwrap()
        .has_source(Source::ConnectionTable));
    assert_eq!(t.get(&ta("192.0.2.2:3478")), None);
    assert_eq!(t.get(&ta("198.51.100.2:3478")), None);
    assert_eq!(t.get(&ta("203.0.113.2:3478")), None);
    // All three are offered to a sending node: routing and neighbor (300)
    // before connection (250).
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(6)));
    assert_eq!(
        addrs(option.set()),
        vec![
            ta("192.0.2.1:3478"),
            ta("198.51.100.1:3478"),
            ta("203.0.113.1:3478")
        ]
    );
}

// §2: "The peer which is ready to provide STUN/TURN service SHOULD include its
// own information in the table."
#[test]
fn s2_peer_ready_to_serve_should_include_itself() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(literal());
    let own = willing_peer("203.0.113.10:3478");
    let r = peer.table_mut().set_local_peer(now, [own]);
    assert_eq!(r.added, 1);
    let entry = peer.table().get(&own.address).unwrap();
    assert_eq!(entry.sources().collect::<Vec<_>>(), vec![Source::LocalPeer]);
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(7)));
    assert_eq!(addrs(option.set()), vec![own.address]);
}

// §2: "Clients which are associated with the peers and ready to provide
// STUN/TURN service SHOULD be also filled."
#[test]
fn s2_ready_associated_clients_should_be_filled() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(literal());
    let r = peer.table_mut().sync_source(
        now,
        Source::Client,
        [
            willing_client("198.51.100.20:3478"),
            Candidate::client(ta("198.51.100.21:3478"), Services::NONE),
        ],
    );
    assert_eq!((r.added, r.not_willing), (1, 1));
    let entry = peer.table().get(&ta("198.51.100.20:3478")).unwrap();
    assert!(entry.has_source(Source::Client));
    assert_eq!(entry.candidate().role, Role::Client);
    assert_eq!(peer.table().get(&ta("198.51.100.21:3478")), None);
}

// §2: "The information about each candidate includes the candidate's transport
// address at least."
#[test]
fn s2_candidate_information_includes_transport_address() {
    let now = Instant::now();
    let tls = ta_on("203.0.113.30", 5349, Transport::Tls);
    let v6 = TransportAddress::udp("[2001:db8::30]:3478".parse().unwrap());
    // Nothing but an address and a willingness: enough for an entry.
    let peer = peer_with(
        literal(),
        now,
        Source::RoutingTable,
        [
            Candidate::peer(tls, Services::TURN),
            Candidate::peer(v6, Services::STUN),
        ],
    );
    assert_eq!(peer.table().get(&tls).unwrap().candidate().address, tls);
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(8)));
    assert_eq!(addrs(option.set()), vec![tls, v6]);
    let saved = option.set().entries()[0].candidate.address;
    assert_eq!(
        (saved.ip(), saved.port(), saved.transport()),
        (
            "203.0.113.30".parse::<IpAddr>().unwrap(),
            5349,
            Transport::Tls
        )
    );
}

// §2: "STUN/TURN candidate set: It is often carried in messages at the request
// of the sending node."
#[test]
fn s2_candidate_set_is_carried_at_the_request_of_the_sending_node() {
    let node = SendingNode::new(
        literal()
            .with_wanted(6)
            .unwrap()
            .with_key(UniquenessKey::IpPort),
    );
    let option = node.recursive_option();
    assert_eq!(option.mode(), RoutingMode::Recursive);
    assert_eq!(option.n(), Some(6));
    assert_eq!(option.key(), UniquenessKey::IpPort);
    assert_eq!(option.set().len(), 0);
    assert_eq!(option.set().key(), UniquenessKey::IpPort);
    assert!(option.set().capacity() >= 6);
    assert_eq!(option.hop(), 1);
}

// §2: "It will be returned to the sending node of this message."
#[test]
fn s2_candidate_set_is_returned_to_the_sending_node() {
    let now = Instant::now();
    let path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=2)),
        peer_with(literal(), now, Source::NeighborTable, doc_peers(3..=4)),
    ];
    let mut node = SendingNode::new(literal());
    let mut request = node.recursive_option();
    let _ = along(&path, now, MessageKind::Join, &mut request, &mut seeded(9));
    // The destination copies the option into its response, which travels
    // back along the path untouched.
    let response = request.clone();
    for peer in path.iter().rev() {
        assert_eq!(
            peer.on_response(MessageKind::Join, &response),
            ResponseAction::ForwardUnchanged
        );
    }
    let report = node.on_response(now, MessageKind::Join, &response).unwrap();
    assert_eq!(save_counts(&report), (4, 4, 0, 0, 0, 0, 0, 4, 6));
    assert_eq!(cached_addrs(&node), vec![doc(1), doc(2), doc(3), doc(4)]);
}

// §2: "Its content includes server candidates which are chosen and put into
// the candidate set."
#[test]
fn s2_candidate_set_content_is_chosen_server_candidates() {
    let now = Instant::now();
    let hints = PerformanceHints {
        capacity: 40,
        bandwidth_kbps: 2_000,
        load_percent: 25,
    };
    let a = Candidate::peer(doc(1), Services::TURN)
        .with_priority(700)
        .with_hints(hints);
    let b = Candidate::client(doc(2), Services::STUN);
    let mut peer = IntermediatePeer::new(literal());
    let _ = peer.table_mut().sync_source(now, Source::RoutingTable, [a]);
    let _ = peer.table_mut().sync_source(now, Source::Client, [b]);
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(10)));
    let set = option.set().entries();
    assert_eq!(set.len(), 2);
    assert_eq!(set[0], at_hop(1, a));
    // A candidate with no priority of its own carries its source's.
    assert_eq!(set[1], at_hop(1, b.with_priority(100)));
}

// §2: "NATed node: refer to peers or clients which are behind NAT."
#[test]
fn s2_nated_node_is_behind_nat() {
    let reflexive = "203.0.113.7:40000".parse().unwrap();
    let private: IpAddr = "10.0.0.2".parse().unwrap();
    assert_eq!(
        NatStatus::detect([private], 5000, reflexive),
        NatStatus::BehindNat { reflexive }
    );
    let public: IpAddr = "203.0.113.7".parse().unwrap();
    assert_eq!(
        NatStatus::detect([public], 40000, reflexive),
        NatStatus::Public
    );
}

// ---------------------------------------------------------------------------
// §3.3.1 Construction of STUN/TURN candidate table
// ---------------------------------------------------------------------------

// §3.3.1 item 1: "Every peer MUST include peers which show their willingness
// to be a STUN/TURN server into candidate table by examing every peer in the
// routing state."
#[test]
fn s3_3_1_must_include_willing_routing_state_peers() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(literal());
    let routing = [
        Candidate::peer(doc(1), Services::STUN),
        Candidate::peer(doc(2), Services::TURN),
        Candidate::peer(doc(3), Services::BOTH),
        unwilling_peer("192.0.2.4:3478"),
        Candidate::peer(doc(5), Services::BOTH),
        unwilling_peer("192.0.2.6:3478"),
    ];
    let r = peer
        .table_mut()
        .sync_source(now, Source::RoutingTable, routing);
    assert_eq!((r.added, r.updated, r.removed, r.not_willing), (4, 0, 0, 2));
    assert!(r.refused.is_empty());
    assert_eq!(table_addrs(&peer), vec![doc(1), doc(2), doc(3), doc(5)]);
    for i in [1, 2, 3, 5] {
        assert_eq!(
            peer.table().get(&doc(i)).unwrap().priority(),
            300,
            "routing-table default priority"
        );
    }
}

// §3.3.1 item 1: "Every peer MUST include peers which show their willingness
// to be a STUN/TURN server into candidate table by examing every peer in the
// routing state."
#[test]
fn s3_3_1_must_include_routing_state_peers_drops_peers_that_leave() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(literal());
    let t = peer.table_mut();
    let _ = t.sync_source(now, Source::RoutingTable, doc_peers(1..=4));
    let _ = t.sync_source(now, Source::ConnectionTable, doc_peers(4..=4));
    // .1 and .4 leave the routing table; .4 stays in the connection table.
    let r = t.sync_source(now, Source::RoutingTable, doc_peers(2..=3));
    assert_eq!((r.added, r.updated, r.removed), (0, 2, 1));
    assert_eq!(t.get(&doc(1)), None);
    let four = t.get(&doc(4)).unwrap();
    assert_eq!(
        four.sources().collect::<Vec<_>>(),
        vec![Source::ConnectionTable]
    );
    assert_eq!(four.priority(), 250, "now the connection table's default");
    // .4 leaves the connection table too: gone.
    let r = t.sync_source(now, Source::ConnectionTable, []);
    assert_eq!(r.removed, 1);
    assert_eq!(table_addrs(&peer), vec![doc(2), doc(3)]);
}

// §3.3.1 item 1: "Every peer MUST include peers which show their willingness
// to be a STUN/TURN server into candidate table by examing every peer in the
// routing state."
#[test]
fn s3_3_1_must_include_routing_state_peers_while_they_stay() {
    let t0 = Instant::now();
    let mut peer = peer_with(literal(), t0, Source::RoutingTable, doc_peers(1..=2));
    let _ = peer
        .table_mut()
        .set_local_peer(t0, [willing_peer("203.0.113.1:3478")]);
    // Nine minutes on, the host's periodic maintenance re-syncs the
    // unchanged routing state and its own willingness (the documented
    // contract: at least once per entry lifetime, default 10 minutes).
    let t9 = t0 + Duration::from_secs(9 * 60);
    let _ = peer
        .table_mut()
        .sync_source(t9, Source::RoutingTable, doc_peers(1..=2));
    let _ = peer
        .table_mut()
        .set_local_peer(t9, [willing_peer("203.0.113.1:3478")]);
    // Eleven minutes after the first sync, all three are still handed out.
    let later = t0 + Duration::from_secs(11 * 60);
    let mut option = recursive(Some(10));
    let report = filled(peer.on_request(later, MessageKind::Join, &mut option, &mut seeded(50)));
    assert_eq!(counts(&report), (10, 0, 3, 3, Stop::TableExhausted));
    assert_eq!(
        addrs(option.set()),
        vec![doc(1), doc(2), ta("203.0.113.1:3478")]
    );
    assert_eq!(peer.table_mut().expire(later), 0);
    assert_eq!(peer.table().len(), 3);
    // A host that stops re-syncing stops vouching: twenty minutes after the
    // last sync nothing is handed out, and expire() removes the entries.
    let stale = t9 + Duration::from_secs(20 * 60);
    let mut option = recursive(Some(10));
    let report = filled(peer.on_request(stale, MessageKind::Join, &mut option, &mut seeded(50)));
    assert_eq!(counts(&report), (10, 0, 0, 0, Stop::TableExhausted));
    assert_eq!(peer.table_mut().expire(stale), 3);
}

// §3.3.1 item 1: "Each peer could indicate to other peers whether it is
// willing to be a STUN/TURN server ."
#[test]
fn s3_3_1_unwilling_peers_are_not_included() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(literal());
    let _ = peer
        .table_mut()
        .sync_source(now, Source::RoutingTable, doc_peers(1..=3));
    // .2 withdraws its willingness (its features now show no service).
    let r = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        [
            willing_peer("192.0.2.1:3478"),
            unwilling_peer("192.0.2.2:3478"),
            willing_peer("192.0.2.3:3478"),
        ],
    );
    assert_eq!((r.updated, r.not_willing), (2, 1));
    assert_eq!(peer.table().get(&doc(2)), None);
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(11)));
    assert_eq!(addrs(option.set()), vec![doc(1), doc(3)]);
}

// §3.3.1 item 2: "Every peer knows whether it is willing to be a STUN/TURN
// server. If it is, it SHOULD be put into the STUN/TURN candidate table."
#[test]
fn s3_3_1_should_include_itself() {
    let now = Instant::now();
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=1));
    let own = willing_peer("203.0.113.1:3478");
    let r = peer.table_mut().set_local_peer(now, [own]);
    assert_eq!(r.added, 1);
    let entry = peer.table().get(&own.address).unwrap();
    assert!(entry.has_source(Source::LocalPeer));
    assert_eq!(entry.priority(), 200);
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(12)));
    assert_eq!(addrs(option.set()), vec![doc(1), own.address]);
    // No longer willing: withdrawn.
    let r = peer.table_mut().set_local_peer(now, []);
    assert_eq!(r.removed, 1);
    assert_eq!(peer.table().get(&own.address), None);
    // An unwilling local peer never enters.
    let r = peer
        .table_mut()
        .set_local_peer(now, [unwilling_peer("203.0.113.1:3478")]);
    assert_eq!((r.added, r.not_willing), (0, 1));
    assert_eq!(table_addrs(&peer), vec![doc(1)]);
}

// §3.3.1 item 3: "Peers SHOULD also add the clients which are willing to be a
// STUN/ TURN server into the candidate table."
#[test]
fn s3_3_1_should_include_willing_clients() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(literal());
    let clients = [
        willing_client("198.51.100.1:3478"),
        Candidate::client(ta("198.51.100.2:3478"), Services::NONE),
        willing_client("198.51.100.3:3478"),
    ];
    let r = peer.table_mut().sync_source(now, Source::Client, clients);
    assert_eq!((r.added, r.not_willing), (2, 1));
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(now, MessageKind::Get, &mut option, &mut seeded(13)));
    let got: Vec<(TransportAddress, Role, Option<u16>)> = option
        .set()
        .iter()
        .map(|e| (e.candidate.address, e.candidate.role, e.candidate.priority))
        .collect();
    assert_eq!(
        got,
        vec![
            (ta("198.51.100.1:3478"), Role::Client, Some(100)),
            (ta("198.51.100.3:3478"), Role::Client, Some(100)),
        ]
    );
}

// §3.3.1: "For example, routing state may has the highest priority, and
// associated clients have the lowest, because peers is often more powerful
// than the clients."
#[test]
fn s3_3_1_prioritize_by_source_routing_over_local_over_clients() {
    let now = Instant::now();
    let defaults = SourcePriorities::default();
    assert_eq!(
        (
            defaults.routing_table,
            defaults.neighbor_table,
            defaults.connection_table,
            defaults.local_peer,
            defaults.client
        ),
        (300, 300, 250, 200, 100)
    );
    // Addresses run against priority, so address order cannot explain the
    // result.
    let mut peer = IntermediatePeer::new(literal());
    let t = peer.table_mut();
    let _ = t.sync_source(now, Source::Client, doc_peers(1..=1));
    let _ = t.set_local_peer(now, doc_peers(2..=2));
    let _ = t.sync_source(now, Source::ConnectionTable, doc_peers(3..=3));
    let _ = t.sync_source(now, Source::NeighborTable, doc_peers(4..=4));
    let _ = t.sync_source(now, Source::RoutingTable, doc_peers(5..=5));
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(14)));
    let got: Vec<(TransportAddress, Option<u16>)> = option
        .set()
        .iter()
        .map(|e| (e.candidate.address, e.candidate.priority))
        .collect();
    assert_eq!(
        got,
        vec![
            (doc(4), Some(300)),
            (doc(5), Some(300)),
            (doc(3), Some(250)),
            (doc(2), Some(200)),
            (doc(1), Some(100)),
        ]
    );
    // With N = 2, only routing state is handed out.
    let mut option = recursive(Some(2));
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(14)));
    assert_eq!(report.stop, Stop::ReachedN);
    assert_eq!(addrs(option.set()), vec![doc(4), doc(5)]);
}

/// The first candidate `config`'s policy hands out for N = 1, over 64 seeds.
fn first_picks(
    config: Config,
    now: Instant,
) -> (BTreeSet<TransportAddress>, Vec<TransportAddress>) {
    let peer = peer_with(config, now, Source::RoutingTable, doc_peers(1..=16));
    let mut distinct = BTreeSet::new();
    let mut in_order = Vec::new();
    for seed in 0..64 {
        let mut option = recursive(Some(1));
        let report =
            filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(seed)));
        assert_eq!(counts(&report), (1, 0, 1, 1, Stop::ReachedN));
        let pick = option.set().entries()[0].candidate.address;
        assert!(peer.table().get(&pick).is_some());
        distinct.insert(pick);
        in_order.push(pick);
    }
    (distinct, in_order)
}

// §3.3.1: "In order to make the service load distributed through the
// candidates, peer could choose candidates for sending nodes according to some
// algorithms, for example, choose the candidates randomly."
#[test]
fn s3_3_1_choose_the_candidates_randomly() {
    let now = Instant::now();
    let (distinct, picks) = first_picks(literal().with_selection(SelectionPolicy::Random), now);
    assert!(
        distinct.len() >= 8,
        "random choice over 16 equal candidates and 64 requests hit only {} of them",
        distinct.len()
    );
    // Randomness comes from the caller's rng only: the same seed, the same
    // choice.
    let (_, again) = first_picks(literal().with_selection(SelectionPolicy::Random), now);
    assert_eq!(picks, again);
    // By contrast the by-priority policy always hands out the same one.
    let (fixed, _) = first_picks(literal(), now);
    assert_eq!(fixed.into_iter().collect::<Vec<_>>(), vec![doc(1)]);
}

// §3.3.1: "In order to make the service load distributed through the
// candidates, peer could choose candidates for sending nodes according to some
// algorithms, for example, choose the candidates randomly."
#[test]
fn s3_3_1_load_spreading_distributes_choices() {
    let now = Instant::now();
    assert_eq!(
        Config::default().selection(),
        SelectionPolicy::LoadSpreading
    );
    let (distinct, picks) = first_picks(secure(), now);
    assert!(
        distinct.len() >= 8,
        "load spreading over 16 equal candidates and 64 requests hit only {} of them",
        distinct.len()
    );
    let (_, again) = first_picks(secure(), now);
    assert_eq!(picks, again);
}

// §3.3.1: "transport address: transport address for STUN/TURN service."
#[test]
fn s3_3_1_entry_includes_transport_address_at_least() {
    let now = Instant::now();
    let stun = ta_on("198.51.100.40", 3478, Transport::Udp);
    let turns = ta_on("198.51.100.41", 5349, Transport::Tls);
    let v6 = ta_on("2001:db8::41", 3478, Transport::Dtls);
    let peer = peer_with(
        literal(),
        now,
        Source::RoutingTable,
        [
            Candidate::peer(stun, Services::STUN),
            Candidate::peer(turns, Services::TURN),
            Candidate::peer(v6, Services::BOTH),
        ],
    );
    let mut node = SendingNode::new(literal());
    let mut option = node.recursive_option();
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(15)));
    let _ = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(cached_addrs(&node), vec![stun, turns, v6]);
    let cached = node.cache().get(&turns).unwrap().candidate().address;
    assert_eq!((cached.port(), cached.transport()), (5349, Transport::Tls));
}

// §3.3.1: "Role of this candidate in the overlay: peers or clients."
#[test]
fn s3_3_1_entry_parameter_role() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(literal());
    let _ =
        peer.table_mut()
            .sync_source(now, Source::RoutingTable, [willing_peer("192.0.2.1:3478")]);
    let _ = peer
        .table_mut()
        .sync_source(now, Source::Client, [willing_client("192.0.2.2:3478")]);
    let mut node = SendingNode::new(literal());
    let mut option = node.recursive_option();
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(16)));
    let _ = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(
        node.cache().get(&doc(1)).unwrap().candidate().role,
        Role::Peer
    );
    assert_eq!(
        node.cache().get(&doc(2)).unwrap().candidate().role,
        Role::Client
    );
}

// §3.3.1: "Priority: used in choosing the candidate. The priority for each
// server candidate may change according to a specific algorithm to balance
// load among these server candidates."
#[test]
fn s3_3_1_entry_parameter_priority_may_change() {
    let now = Instant::now();
    let mut peer = peer_with(
        literal(),
        now,
        Source::RoutingTable,
        [
            willing_peer("192.0.2.1:3478").with_priority(900),
            willing_peer("192.0.2.2:3478").with_priority(10),
        ],
    );
    let mut option = recursive(Some(1));
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(17)));
    assert_eq!(addrs(option.set()), vec![doc(1)]);
    assert_eq!(option.set().entries()[0].candidate.priority, Some(900));
    // The host lowers .1's priority to spread load: .2 is chosen now.
    let updated = peer.table_mut().upsert(
        now,
        Source::RoutingTable,
        willing_peer("192.0.2.1:3478").with_priority(5),
    );
    assert_eq!(updated, Ok(Upserted::Updated));
    assert_eq!(peer.table().get(&doc(1)).unwrap().priority(), 5);
    let mut option = recursive(Some(1));
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(17)));
    assert_eq!(addrs(option.set()), vec![doc(2)]);
    assert_eq!(option.set().entries()[0].candidate.priority, Some(10));
}

// §3.3.1: "Some performance parameters: it will be a criteria for peers to
// choose the server candidate. They may include their CPU processing power,
// bandwidth,etc."
#[test]
fn s3_3_1_entry_parameter_performance() {
    let now = Instant::now();
    let strong = PerformanceHints {
        capacity: 800,
        bandwidth_kbps: 100_000,
        load_percent: 10,
    };
    let weak = PerformanceHints {
        capacity: 100,
        bandwidth_kbps: 1_000,
        load_percent: 90,
    };
    assert_eq!((strong.spare_capacity(), weak.spare_capacity()), (720, 10));
    let peer = peer_with(
        literal().with_selection(SelectionPolicy::ByPerformance),
        now,
        Source::RoutingTable,
        [
            willing_peer("192.0.2.1:3478")
                .with_hints(weak)
                .with_priority(999),
            willing_peer("192.0.2.2:3478").with_hints(strong),
        ],
    );
    let mut node = SendingNode::new(literal().with_wanted(1).unwrap());
    let mut option = node.recursive_option();
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(18)));
    assert_eq!(addrs(option.set()), vec![doc(2)]);
    let _ = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(node.cache().get(&doc(2)).unwrap().candidate().hints, strong);
}

// ---------------------------------------------------------------------------
// §3.3.2 Discovery procedure
// ---------------------------------------------------------------------------

// §3.3.2 step 1: "NATed nodes send the message and set associated options to
// express their demand for STUN/TURN server candidate in the message."
#[test]
fn s3_3_2_step1_nated_node_sets_option_to_express_demand() {
    let reflexive = "203.0.113.99:61000".parse().unwrap();
    let status = NatStatus::detect(["192.0.2.200".parse().unwrap()], 5060, reflexive);
    assert_eq!(status, NatStatus::BehindNat { reflexive });
    let node = SendingNode::new(literal());
    let now = Instant::now();
    assert_eq!(node.shortfall(now), 10);
    let recursive = node.recursive_option();
    assert_eq!(
        (recursive.mode(), recursive.n(), recursive.hop()),
        (RoutingMode::Recursive, Some(10), 1)
    );
    assert!(recursive.set().is_empty());
    let iterative = node.iterative_option(3);
    assert_eq!(
        (iterative.mode(), iterative.n(), iterative.hop()),
        (RoutingMode::Iterative, Some(10), 3)
    );
    assert!(iterative.set().is_empty());
}

// §3.3.2 step 2: "If associated option is set, peers look up their STUN/TURN
// candidate table and put the results into the candidate set carried in the
// request or response which depends on routing mode."
#[test]
fn s3_3_2_step2_intermediate_peer_puts_results_into_the_set() {
    let now = Instant::now();
    let peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=3));
    // Recursive: into the set carried in the request.
    let mut option = recursive(Some(10));
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(19)));
    assert_eq!(report.mode, RoutingMode::Recursive);
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3)]);
    // Iterative: into a set for the response.
    let mut option =
        PiggybackOption::iterative(Some(10), Filter::ANY, UniquenessKey::Ip, 1).unwrap();
    let (answer, report) =
        answered(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(19)));
    assert_eq!(report.mode, RoutingMode::Iterative);
    assert_eq!(addrs(&answer), vec![doc(1), doc(2), doc(3)]);
    assert!(option.set().is_empty());
}

// §3.3.2 step 2: "If recursive mode is used, candidate set will be carried in
// the request and later be returned to the sending node hop by hop in the
// response."
#[test]
fn s3_3_2_recursive_set_carried_in_request_and_returned() {
    let now = Instant::now();
    let path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=2)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(3..=3)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(4..=5)),
    ];
    let mut node = SendingNode::new(literal());
    let mut request = node.recursive_option();
    let mut rng = seeded(20);
    let mut k = Vec::new();
    for peer in &path {
        let report = filled(peer.on_request(now, MessageKind::Join, &mut request, &mut rng));
        k.push(request.set().len());
        assert_eq!(usize::from(report.k_after), request.set().len());
    }
    assert_eq!(k, vec![2, 3, 5], "the set grows in the request hop by hop");
    // The response echoes the option; every peer on the way back forwards
    // it untouched.
    let response = request.clone();
    for peer in path.iter().rev() {
        assert_eq!(
            peer.on_response(MessageKind::Join, &response),
            ResponseAction::ForwardUnchanged
        );
        assert_eq!(response, request);
    }
    let report = node.on_response(now, MessageKind::Join, &response).unwrap();
    assert_eq!((report.offered, report.saved), (5, 5));
    let by_hop: Vec<(TransportAddress, u8)> = cache_snapshot(&node)
        .iter()
        .map(|c| (c.candidate().address, c.hop()))
        .collect();
    assert_eq!(
        by_hop,
        vec![
            (doc(1), 1),
            (doc(2), 1),
            (doc(3), 2),
            (doc(4), 3),
            (doc(5), 3)
        ]
    );
}

// §3.3.2 step 2: "If iterative mode is used, candidate set will be returned to
// the sending node in response immediately."
#[test]
fn s3_3_2_iterative_set_returned_in_response_immediately() {
    let now = Instant::now();
    let path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=2)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(11..=12)),
    ];
    let mut node = SendingNode::new(literal());
    let mut rng = seeded(21);
    for (i, peer) in path.iter().enumerate() {
        let hop = u8::try_from(i).unwrap() + 1;
        let mut request = node.iterative_option(hop);
        let sent = request.clone();
        let (answer, report) =
            answered(peer.on_request(now, MessageKind::Join, &mut request, &mut rng));
        assert_eq!(request, sent, "nothing rides on in the request");
        assert_eq!(
            (report.mode, report.hop, counts(&report)),
            (
                RoutingMode::Iterative,
                hop,
                (10, 0, 2, 2, Stop::TableExhausted)
            )
        );
        assert_eq!(hops(&answer), vec![hop, hop]);
        let saved = node
            .on_answer(now, MessageKind::Join, hop, &answer)
            .unwrap();
        assert_eq!(saved.saved, 2);
    }
    assert_eq!(cached_addrs(&node), vec![doc(1), doc(2), doc(11), doc(12)]);
}

// §3.3.2 step 3: "Finally, NATed nodes get the results in the response and
// use them in the future communications."
#[test]
fn s3_3_2_step3_nated_node_gets_results_and_uses_them() {
    let now = Instant::now();
    let path = [
        peer_with(
            literal(),
            now,
            Source::RoutingTable,
            [
                willing_peer("192.0.2.1:3478").with_priority(100),
                willing_peer("192.0.2.2:3478").with_priority(50),
            ],
        ),
        peer_with(
            literal(),
            now,
            Source::RoutingTable,
            [
                willing_peer("192.0.2.3:3478").with_priority(400),
                willing_peer("192.0.2.4:3478").with_priority(10),
            ],
        ),
    ];
    let mut node = SendingNode::new(literal());
    let mut option = node.recursive_option();
    let _ = along(&path, now, MessageKind::Join, &mut option, &mut seeded(22));
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3), doc(4)]);
    let report = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!((report.saved, report.usable, report.shortfall), (4, 4, 6));
    // Later, the best ones are handed out for use.
    let best: Vec<TransportAddress> = node
        .best(now, 3)
        .iter()
        .map(|c| c.candidate().address)
        .collect();
    assert_eq!(best, vec![doc(3), doc(1), doc(2)]);
}

// §3.3.2: "Although this procedure is more helpful to NATed nodes, non-NATed
// nodes could also execute this procedure to discover server candidates,
// which may be passed to other NATed nodes."
#[test]
fn s3_3_2_non_nated_nodes_may_also_execute_the_procedure() {
    let now = Instant::now();
    let public: IpAddr = "203.0.113.50".parse().unwrap();
    let status = NatStatus::detect([public], 3478, "203.0.113.50:3478".parse().unwrap());
    assert_eq!(status, NatStatus::Public);
    assert!(!status.is_behind_nat());
    let peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=3));
    let mut node = SendingNode::new(literal());
    let mut option = node.recursive_option();
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(23)));
    let report = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(report.saved, 3);
    assert_eq!(cached_addrs(&node), vec![doc(1), doc(2), doc(3)]);
}

// §3.3.2: "The procedure while using different messages is almost identical."
#[test]
fn s3_3_2_procedure_is_the_same_for_every_message() {
    let now = Instant::now();
    let peer = peer_with(secure(), now, Source::RoutingTable, doc_peers(1..=12));
    let run = |kind: MessageKind| {
        let mut option = recursive(Some(10));
        let report = filled(peer.on_request(now, kind, &mut option, &mut seeded(24)));
        assert_eq!(report.kind, kind);
        (option, counts(&report))
    };
    let join = run(MessageKind::Join);
    assert_eq!(join.1, (10, 0, 5, 5, Stop::HopCap));
    for kind in [
        MessageKind::Maintenance,
        MessageKind::Get,
        MessageKind::Put,
        MessageKind::Other,
    ] {
        assert_eq!(run(kind), join, "{kind:?}");
    }
}

// ---------------------------------------------------------------------------
// §4.1 Joining peer's behavior
// ---------------------------------------------------------------------------

// §4.1: "Before a joining peer joins the overlay, it MUST learn whether it is
// a NATed peer."
#[test]
fn s4_1_must_learn_nat_status() {
    let reflexive = "203.0.113.7:40000".parse().unwrap();
    let own: IpAddr = "203.0.113.7".parse().unwrap();
    let lan: IpAddr = "192.0.2.7".parse().unwrap();
    // Reflexive address not one of its own: NATed.
    assert_eq!(
        NatStatus::detect([lan], 40000, reflexive),
        NatStatus::BehindNat { reflexive }
    );
    // Its own address and port: public.
    assert_eq!(
        NatStatus::detect([lan, own], 40000, reflexive),
        NatStatus::Public
    );
    // Its own address but another port: a port-translating NAT.
    assert_eq!(
        NatStatus::detect([own], 5000, reflexive),
        NatStatus::BehindNat { reflexive }
    );
    // An IPv4-mapped interface address is the same address.
    let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
    assert_eq!(
        NatStatus::detect([mapped], 40000, reflexive),
        NatStatus::Public
    );
    // No interface at all: nothing says the address is its own.
    assert!(NatStatus::detect([], 40000, reflexive).is_behind_nat());
}

// §4.1 step 1: "Joining peer MUST express its demand on STUN/TURN server
// candidates in the JOIN message for intermediate peers of the JOIN request to
// invoke discovery operation."
#[test]
fn s4_1_step1_must_express_demand_in_join() {
    let now = Instant::now();
    let node = SendingNode::new(literal());
    let mut option = node.recursive_option();
    let peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=4));
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(25)));
    assert_eq!(
        (report.kind, report.mode, counts(&report)),
        (
            MessageKind::Join,
            RoutingMode::Recursive,
            (10, 0, 4, 4, Stop::TableExhausted)
        )
    );
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3), doc(4)]);
}

// §4.1 step 1: "The joining peer MAY specify the number of server candidates
// it wants in the requests."
#[test]
fn s4_1_step1_may_specify_n() {
    let now = Instant::now();
    let peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=8));
    // Specified: the node's own N.
    let node = SendingNode::new(literal().with_wanted(3).unwrap());
    let mut option = node.recursive_option();
    assert_eq!(option.n(), Some(3));
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(26)));
    assert_eq!(counts(&report), (3, 0, 3, 3, Stop::ReachedN));
    // Left unspecified: the intermediate peer's default.
    let mut option = recursive(None);
    assert_eq!(option.n(), None);
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(26)));
    assert_eq!(counts(&report), (10, 0, 8, 8, Stop::TableExhausted));
    // N = 0 asks for nothing and is not a valid option.
    assert!(PiggybackOption::recursive(Some(0), Filter::ANY, UniquenessKey::Ip).is_err());
}

// §4.1 step 2: "When the joining peer receives the response from the peers in
// the overlay, if it has expressed the demand on server candidate, it MUST
// check the candidate set in the response and save the candidate set locally
// for later use."
#[test]
fn s4_1_step2_must_check_and_save_the_set() {
    let now = Instant::now();
    let path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=2)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(3..=4)),
    ];
    let mut node = SendingNode::new(literal());
    let mut option = node.recursive_option();
    let _ = along(&path, now, MessageKind::Join, &mut option, &mut seeded(27));
    let report = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(report.kind, MessageKind::Join);
    assert_eq!(save_counts(&report), (4, 4, 0, 0, 0, 0, 0, 4, 6));
    assert_eq!(cached_addrs(&node), vec![doc(1), doc(2), doc(3), doc(4)]);
    assert_eq!(node.cache().get(&doc(3)).unwrap().hop(), 2);
    assert_eq!(node.cache().get(&doc(3)).unwrap().first_seen(), now);
    // A later response with the same candidates refreshes them.
    let later = now + Duration::from_secs(60);
    let report = node.on_response(later, MessageKind::Join, &option).unwrap();
    assert_eq!(save_counts(&report), (4, 0, 4, 0, 0, 0, 0, 4, 6));
    let three = node.cache().get(&doc(3)).unwrap();
    assert_eq!((three.sightings(), three.refreshed()), (2, later));
}

// §4.1 step 2: "When the joining peer receives the response from the peers in
// the overlay, if it has expressed the demand on server candidate, it MUST
// check the candidate set in the response and save the candidate set locally
// for later use."
#[test]
fn s4_1_step2_bad_set_is_rejected_and_cache_unchanged() {
    let now = Instant::now();
    // The node's N cap is 10: an option that carries no N is held to it.
    let mut node = SendingNode::new(literal().with_max_n(10).unwrap());
    // A good response first, so the cache has something to keep.
    let good = PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(10),
        Filter::ANY,
        2,
        CandidateSet::from_entries(
            UniquenessKey::Ip,
            doc_peers(1..=2).into_iter().map(|c| at_hop(1, c)),
        )
        .unwrap(),
    )
    .unwrap();
    let _ = node.on_response(now, MessageKind::Join, &good).unwrap();
    let before = cache_snapshot(&node);
    assert_eq!(before.len(), 2);

    let set =
        |entries: Vec<SetEntry>| CandidateSet::from_entries(UniquenessKey::Ip, entries).unwrap();
    let recursive_with = |hop: u8, entries: Vec<SetEntry>| {
        PiggybackOption::from_parts(RoutingMode::Recursive, None, Filter::ANY, hop, set(entries))
            .unwrap()
    };

    // K = 11 > the N cap of 10 (the option carries no N).
    let too_many = recursive_with(
        2,
        doc_peers(11..=21)
            .into_iter()
            .map(|c| at_hop(1, c))
            .collect(),
    );
    assert_eq!(
        node.on_response(now, MessageKind::Join, &too_many),
        Err(ResponseError::TooMany { k: 11, n: 10 })
    );
    assert_eq!(cache_snapshot(&node), before);

    // Only hop 1 processed the request, yet a candidate claims hop 2.
    let out_of_range = recursive_with(
        2,
        vec![
            at_hop(1, willing_peer("192.0.2.30:3478")),
            at_hop(2, willing_peer("192.0.2.31:3478")),
        ],
    );
    assert_eq!(
        node.on_response(now, MessageKind::Join, &out_of_range),
        Err(ResponseError::HopOutOfRange {
            index: 1,
            hop: 2,
            first: 1,
            last: 1
        })
    );
    assert_eq!(cache_snapshot(&node), before);

    // Hops append in path order: a reordered set was tampered with.
    let reordered = recursive_with(
        3,
        vec![
            at_hop(2, willing_peer("192.0.2.40:3478")),
            at_hop(1, willing_peer("192.0.2.41:3478")),
        ],
    );
    assert_eq!(
        node.on_response(now, MessageKind::Join, &reordered),
        Err(ResponseError::HopOrder { index: 1 })
    );
    assert_eq!(cache_snapshot(&node), before);

    // An iterative option where a recursive echo was expected.
    let iterative = node.iterative_option(1);
    assert_eq!(
        node.on_response(now, MessageKind::Join, &iterative),
        Err(ResponseError::WrongMode {
            found: RoutingMode::Iterative
        })
    );
    // An iterative answer from hop 3 with a candidate stamped by hop 2.
    let answer = set(vec![at_hop(2, willing_peer("192.0.2.50:3478"))]);
    assert_eq!(
        node.on_answer(now, MessageKind::Join, 3, &answer),
        Err(ResponseError::HopOutOfRange {
            index: 0,
            hop: 2,
            first: 3,
            last: 3
        })
    );
    assert_eq!(cache_snapshot(&node), before);
}

// §4.1 step 2: "When the joining peer receives the response from the peers in
// the overlay, if it has expressed the demand on server candidate, it MUST
// check the candidate set in the response and save the candidate set locally
// for later use."
#[test]
fn s4_1_step2_check_drops_candidates_that_fail_the_nodes_checks() {
    let now = Instant::now();
    // Security defaults: one hop may supply at most half of N = 10.
    let mut node = SendingNode::new(secure().with_filter(Filter::services(Services::TURN)));
    let entries = vec![
        at_hop(1, Candidate::peer(doc(1), Services::TURN)),
        // Offers STUN only: not what this node asked for.
        at_hop(1, Candidate::peer(doc(2), Services::STUN)),
        // A private address: refused by the node's address policy.
        at_hop(1, Candidate::peer(ta("10.0.0.1:3478"), Services::BOTH)),
        at_hop(1, Candidate::peer(doc(4), Services::BOTH)),
        at_hop(1, Candidate::peer(doc(5), Services::TURN)),
        // The sixth from one hop is beyond its share.
        at_hop(1, Candidate::peer(doc(6), Services::TURN)),
    ];
    let option = PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(10),
        Filter::services(Services::TURN),
        2,
        CandidateSet::from_entries(UniquenessKey::Ip, entries).unwrap(),
    )
    .unwrap();
    let report = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(save_counts(&report), (6, 3, 0, 1, 1, 1, 0, 3, 7));
    assert_eq!(cached_addrs(&node), vec![doc(1), doc(4), doc(5)]);
}

// ---------------------------------------------------------------------------
// §4.2 Intermediate peers' behavior
// ---------------------------------------------------------------------------

// §4.2: "If they find that the sending peer has expressed his demand on server
// candidates, they MUST follow below procedure additionally."
#[test]
fn s4_2_must_follow_procedure_when_demand_expressed() {
    let now = Instant::now();
    let peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=4));
    let mut option = recursive(Some(10));
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(28)));
    assert_eq!(
        (report.kind, report.mode, report.hop, counts(&report)),
        (
            MessageKind::Join,
            RoutingMode::Recursive,
            1,
            (10, 0, 4, 4, Stop::TableExhausted)
        )
    );
    assert_eq!(hops(option.set()), vec![1, 1, 1, 1]);
    assert_eq!(option.hop(), 2);
}

// §4.2 step 1: "If the message is a response, intermediate peers don't do
// additional processing beyond forwarding;"
#[test]
fn s4_2_step1_response_is_only_forwarded() {
    let now = Instant::now();
    let peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=4));
    // A response carrying a partly filled set, with room left for more.
    let mut response = recursive(Some(10));
    let _ = filled(
        peer_with(literal(), now, Source::RoutingTable, doc_peers(20..=21)).on_request(
            now,
            MessageKind::Join,
            &mut response,
            &mut seeded(29),
        ),
    );
    let before = response.clone();
    for kind in [
        MessageKind::Join,
        MessageKind::Maintenance,
        MessageKind::Get,
        MessageKind::Put,
    ] {
        assert_eq!(
            peer.on_response(kind, &response),
            ResponseAction::ForwardUnchanged
        );
    }
    assert_eq!(response, before);
    assert_eq!(addrs(response.set()), vec![doc(20), doc(21)]);
    let iterative =
        PiggybackOption::iterative(Some(10), Filter::ANY, UniquenessKey::Ip, 2).unwrap();
    assert_eq!(
        peer.on_response(MessageKind::Join, &iterative),
        ResponseAction::ForwardUnchanged
    );
}

// §4.2 step 2: "If the sending peer has set the number of candidate it wants
// in the message, set the N to this number."
#[test]
fn s4_2_step2_n_from_the_message() {
    let now = Instant::now();
    let peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=12));
    for (n, k) in [(1u8, 1u8), (4, 4), (12, 12), (20, 12)] {
        let mut option = recursive(Some(n));
        let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(30)));
        let stop = if k == n {
            Stop::ReachedN
        } else {
            Stop::TableExhausted
        };
        assert_eq!(counts(&report), (n, 0, k, k, stop), "N = {n}");
        assert_eq!(option.set().len(), usize::from(k));
    }
}

// §4.2 step 2: "If it has not been set in the message, we MAY choose a default
// value for N, for example, 10;"
#[test]
fn s4_2_step2_default_n_when_not_in_the_message() {
    let now = Instant::now();
    assert_eq!(DEFAULT_N, 10);
    assert_eq!(Config::default().default_n(), 10);
    assert_eq!(Config::draft_literal().default_n(), 10);
    let peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=12));
    let mut option = recursive(None);
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(31)));
    assert_eq!(counts(&report), (10, 0, 10, 10, Stop::ReachedN));
    // A peer configured with another default uses it.
    let peer = peer_with(
        literal().with_default_n(3).unwrap(),
        now,
        Source::RoutingTable,
        doc_peers(1..=12),
    );
    let mut option = recursive(None);
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(31)));
    assert_eq!(counts(&report), (3, 0, 3, 3, Stop::ReachedN));
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3)]);
}

// The N cap is the crate's bound on what one request can make a peer add
// (SECURITY.md, amplification), applied to step 2's N.
// §4.2 step 2: "If the sending peer has set the number of candidate it wants
// in the message, set the N to this number."
#[test]
fn s4_2_step2_n_is_capped() {
    let now = Instant::now();
    assert_eq!(Config::default().max_n(), 64);
    let capped = literal().with_max_n(16).unwrap();
    let peer = peer_with(capped, now, Source::RoutingTable, doc_peers(1..=40));
    let mut option = recursive(Some(64));
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(32)));
    assert_eq!(counts(&report), (16, 0, 16, 16, Stop::ReachedN));
    assert_eq!(option.set().len(), 16);
    assert_eq!(option.n(), Some(64), "the message's N itself is untouched");
}

// §4.2 step 3: "If the number K in STUN/TURN candidate set equals or exceeds
// N, peers don't do anything;"
#[test]
fn s4_2_step3_k_at_or_above_n_does_nothing() {
    let now = Instant::now();
    let first = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=5));
    let second = peer_with(literal(), now, Source::RoutingTable, doc_peers(6..=9));
    let mut option = recursive(Some(3));
    let report = filled(first.on_request(now, MessageKind::Join, &mut option, &mut seeded(33)));
    assert_eq!(counts(&report), (3, 0, 3, 3, Stop::ReachedN));
    let full = option.set().clone();
    // K = N = 3.
    let report = filled(second.on_request(now, MessageKind::Join, &mut option, &mut seeded(33)));
    assert_eq!(counts(&report), (3, 3, 3, 0, Stop::AlreadyFull));
    assert_eq!(option.set(), &full);
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3)]);
}

// §4.2 step 3: "If the number K in STUN/TURN candidate set equals or exceeds
// N, peers don't do anything;"
#[test]
fn s4_2_step3_k_exceeding_n_does_nothing() {
    let now = Instant::now();
    let first = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=8));
    // This peer caps N at 5, below the K = 8 the set already holds.
    let capped = literal().with_default_n(5).unwrap().with_max_n(5).unwrap();
    let second = peer_with(capped, now, Source::RoutingTable, doc_peers(9..=12));
    let mut option = recursive(Some(10));
    let _ = filled(first.on_request(now, MessageKind::Join, &mut option, &mut seeded(34)));
    let before = option.set().clone();
    let report = filled(second.on_request(now, MessageKind::Join, &mut option, &mut seeded(34)));
    assert_eq!(counts(&report), (5, 8, 8, 0, Stop::AlreadyFull));
    assert_eq!(option.set(), &before);
}

// §4.2 step 4: "Peers fetch candidates from its candidate table according to a
// specific criteria, for example, priority, or performance parameters;"
#[test]
fn s4_2_step4_fetch_by_priority() {
    let now = Instant::now();
    assert_eq!(
        Config::draft_literal().selection(),
        SelectionPolicy::ByPriority
    );
    let peer = peer_with(
        literal(),
        now,
        Source::RoutingTable,
        [
            willing_peer("192.0.2.1:3478").with_priority(5),
            willing_peer("192.0.2.2:3478").with_priority(500),
            willing_peer("192.0.2.3:3478").with_priority(50),
            willing_peer("192.0.2.4:3478").with_priority(200),
            willing_peer("192.0.2.5:3478").with_priority(20),
        ],
    );
    let mut option = recursive(Some(3));
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(35)));
    assert_eq!(counts(&report), (3, 0, 3, 3, Stop::ReachedN));
    let got: Vec<(TransportAddress, Option<u16>)> = option
        .set()
        .iter()
        .map(|e| (e.candidate.address, e.candidate.priority))
        .collect();
    assert_eq!(
        got,
        vec![(doc(2), Some(500)), (doc(4), Some(200)), (doc(3), Some(50))]
    );
}

// §4.2 step 4: "Peers fetch candidates from its candidate table according to a
// specific criteria, for example, priority, or performance parameters;"
#[test]
fn s4_2_step4_fetch_by_performance() {
    let now = Instant::now();
    let hints = |capacity: u16, load_percent: u8, bandwidth_kbps: u32| PerformanceHints {
        capacity,
        bandwidth_kbps,
        load_percent,
    };
    let peer = peer_with(
        literal().with_selection(SelectionPolicy::ByPerformance),
        now,
        Source::RoutingTable,
        [
            // spare 10
            willing_peer("192.0.2.1:3478").with_hints(hints(100, 90, 0)),
            // spare 50, no bandwidth
            willing_peer("192.0.2.2:3478").with_hints(hints(50, 0, 0)),
            // spare 100
            willing_peer("192.0.2.3:3478").with_hints(hints(200, 50, 0)),
            // spare 50, bandwidth breaks the tie with .2
            willing_peer("192.0.2.4:3478").with_hints(hints(100, 50, 9_000)),
            // highest priority, nothing spare
            willing_peer("192.0.2.5:3478")
                .with_hints(hints(0, 0, 0))
                .with_priority(1_000),
        ],
    );
    let mut option = recursive(Some(3));
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(36)));
    assert_eq!(counts(&report), (3, 0, 3, 3, Stop::ReachedN));
    assert_eq!(addrs(option.set()), vec![doc(3), doc(4), doc(2)]);
}

// §4.2 step 5: "The comparison criteria MAY be based on IP address and keeps
// the candidate in the candidate set unique;"
#[test]
fn s4_2_step5_unique_by_ip_address() {
    let now = Instant::now();
    assert_eq!(secure().key(), UniquenessKey::Ip);
    let peer = peer_with(
        literal(),
        now,
        Source::RoutingTable,
        [
            willing_peer("192.0.2.1:3478"),
            willing_peer("192.0.2.1:3479"),
            willing_peer("192.0.2.2:3478"),
            // An IPv4-mapped IPv6 spelling of 192.0.2.2: the same IP.
            willing_peer("[::ffff:192.0.2.2]:5349"),
        ],
    );
    assert_eq!(peer.table().len(), 4);
    let mut option = SendingNode::new(literal()).recursive_option();
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(37)));
    assert_eq!(counts(&report), (10, 0, 2, 2, Stop::TableExhausted));
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2)]);
}

// §4.2 step 5: "The comparison criteria MAY be based on IP address and keeps
// the candidate in the candidate set unique;"
#[cfg(feature = "serde")]
#[test]
fn s4_2_step5_decoded_set_is_unique_by_ip_across_spellings() {
    let json = serde_json::to_string(&ta("192.0.2.9:3479")).unwrap();
    let mapped = json.replace("\"192.0.2.9\"", "\"::ffff:192.0.2.1\"");
    assert_ne!(mapped, json);
    let decoded: TransportAddress = serde_json::from_str(&mapped).unwrap();
    assert_eq!(decoded, ta("192.0.2.1:3479"));
    // A set as a decoder finds it in a request: the second candidate is the
    // first one's IP address in its IPv4-mapped spelling.
    let set = CandidateSet::from_entries(
        UniquenessKey::Ip,
        [
            at_hop(1, willing_peer("192.0.2.1:3478")),
            at_hop(1, willing_peer("192.0.2.9:3479")),
        ],
    )
    .unwrap();
    let json = serde_json::to_string(&set).unwrap();
    let forged = json.replace("\"192.0.2.9\"", "\"::ffff:192.0.2.1\"");
    assert_ne!(forged, json);
    let err = serde_json::from_str::<CandidateSet>(&forged).unwrap_err();
    assert!(err.to_string().contains("has the same Ip key"), "{err}");
}

// §4.2 step 5: "Peers perform comparison operation before adding a new
// STUN/TURN candidate into the candidate set."
#[test]
fn s4_2_step5_compares_with_what_earlier_hops_added() {
    let now = Instant::now();
    let path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=1)),
        peer_with(
            literal(),
            now,
            Source::RoutingTable,
            [
                Candidate::peer(ta_on("192.0.2.1", 5349, Transport::Tls), Services::TURN),
                willing_peer("192.0.2.9:3478"),
            ],
        ),
    ];
    let mut option = recursive(Some(10));
    let reports = along(&path, now, MessageKind::Join, &mut option, &mut seeded(38));
    assert_eq!(counts(&reports[1]), (10, 1, 2, 1, Stop::TableExhausted));
    assert_eq!(addrs(option.set()), vec![doc(1), doc(9)]);
    assert_eq!(hops(option.set()), vec![1, 2]);
}

// §4.2 step 5: "Peers perform comparison operation before adding a new
// STUN/TURN candidate into the candidate set."
#[test]
fn s4_2_step5_compares_in_place_on_the_wire() {
    let now = Instant::now();
    let first = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=1));
    let second = peer_with(
        literal(),
        now,
        Source::RoutingTable,
        [
            Candidate::peer(ta_on("192.0.2.1", 5349, Transport::Tls), Services::TURN),
            willing_peer("192.0.2.9:3478"),
        ],
    );
    let codec = WireConfig::default();
    let mut option = recursive(Some(10));
    let _ = filled(first.on_request(now, MessageKind::Join, &mut option, &mut seeded(38)));
    // The second peer adds to the encoded option without decoding it.
    let mut buf = BytesMut::with_capacity(512);
    wire::encode_option(&option, Direction::Request, &codec, &mut buf).unwrap();
    let report = wire::append_in_place(
        &second,
        now,
        MessageKind::Join,
        &mut buf,
        &codec,
        &mut seeded(38),
    )
    .unwrap();
    assert_eq!(counts(&report), (10, 1, 2, 1, Stop::TableExhausted));
    let decoded = wire::decode_option(&mut &buf[..], &codec).unwrap();
    assert_eq!(addrs(decoded.set()), vec![doc(1), doc(9)]);
    assert_eq!(hops(decoded.set()), vec![1, 2]);
    assert_eq!(decoded.hop(), 3);
}

// §4.2 step 5: "The comparison criteria MAY be based on IP address and keeps
// the candidate in the candidate set unique;"
#[test]
fn s4_2_step5_ip_port_key() {
    let now = Instant::now();
    let udp = ta_on("192.0.2.1", 3478, Transport::Udp);
    let tcp = ta_on("192.0.2.1", 3478, Transport::Tcp);
    let tls = ta_on("192.0.2.1", 5349, Transport::Tls);
    let peer = peer_with(
        literal(),
        now,
        Source::RoutingTable,
        [
            Candidate::peer(udp, Services::BOTH),
            Candidate::peer(tcp, Services::BOTH),
            Candidate::peer(tls, Services::TURN),
        ],
    );
    let node = SendingNode::new(literal().with_key(UniquenessKey::IpPort));
    let mut option = node.recursive_option();
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(39)));
    assert_eq!(counts(&report), (10, 0, 2, 2, Stop::TableExhausted));
    assert_eq!(addrs(option.set()), vec![udp, tls]);
    // The same table under the default IP key: one.
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(39)));
    assert_eq!(addrs(option.set()), vec![udp]);
}

// §4.2 step 5: "The comparison criteria MAY be based on IP address and keeps
// the candidate in the candidate set unique;"
#[test]
fn s4_2_step5_prefix_key() {
    let now = Instant::now();
    let v6 = |s: &str| TransportAddress::udp(s.parse().unwrap());
    let peer = peer_with(
        literal(),
        now,
        Source::RoutingTable,
        [
            willing_peer("192.0.2.1:3478"),
            willing_peer("192.0.2.200:3478"),
            willing_peer("198.51.100.1:3478"),
            Candidate::peer(v6("[2001:db8:1::1]:3478"), Services::BOTH),
            Candidate::peer(v6("[2001:db8:1:ff::2]:3478"), Services::BOTH),
            Candidate::peer(v6("[2001:db8:2::1]:3478"), Services::BOTH),
        ],
    );
    let node = SendingNode::new(literal().with_key(UniquenessKey::Prefix));
    let mut option = node.recursive_option();
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(40)));
    assert_eq!(counts(&report), (10, 0, 4, 4, Stop::TableExhausted));
    assert_eq!(
        addrs(option.set()),
        vec![
            ta("192.0.2.1:3478"),
            ta("198.51.100.1:3478"),
            v6("[2001:db8:1::1]:3478"),
            v6("[2001:db8:2::1]:3478"),
        ]
    );
}

// §4.2 step 6: "Each time peer places a server candidate into the candidate
// set, set K to K + 1;"
#[test]
fn s4_2_step6_k_incremented_per_candidate_added() {
    let now = Instant::now();
    let path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=3)),
        // .3 again (refused), .4 and .5 new.
        peer_with(literal(), now, Source::RoutingTable, doc_peers(3..=5)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(6..=9)),
    ];
    let mut option = recursive(Some(7));
    let reports = along(&path, now, MessageKind::Join, &mut option, &mut seeded(41));
    let got: Vec<(u8, u8, u8, u8, Stop)> = reports.iter().map(counts).collect();
    assert_eq!(
        got,
        vec![
            (7, 0, 3, 3, Stop::TableExhausted),
            (7, 3, 5, 2, Stop::TableExhausted),
            (7, 5, 7, 2, Stop::ReachedN),
        ]
    );
    assert_eq!(option.set().len(), 7);
    assert_eq!(hops(option.set()), vec![1, 1, 1, 2, 2, 3, 3]);
}

// §4.2 step 7: "The lookup operation in the candidate table will stop because
// either the K equals N or all server candidates in the candidate table has
// been examined."
#[test]
fn s4_2_step7_stops_when_k_equals_n() {
    let now = Instant::now();
    let peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=12));
    let mut option = recursive(Some(10));
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(42)));
    assert_eq!(counts(&report), (10, 0, 10, 10, Stop::ReachedN));
    assert!(!option.set().contains(&doc(11)));
    assert!(!option.set().contains(&doc(12)));
}

// §4.2 step 7: "The lookup operation in the candidate table will stop because
// either the K equals N or all server candidates in the candidate table has
// been examined."
#[test]
fn s4_2_step7_stops_when_table_exhausted() {
    let now = Instant::now();
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=3));
    let _ = peer
        .table_mut()
        .sync_source(now, Source::Client, [willing_client("192.0.2.1:5000")]);
    let mut option = recursive(Some(10));
    let report = filled(peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(43)));
    // Every entry examined, one of them a duplicate IP.
    assert_eq!(counts(&report), (10, 0, 3, 3, Stop::TableExhausted));
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3)]);
    // Same with a random walk: it too examines the whole table.
    let mut random = IntermediatePeer::new(literal().with_selection(SelectionPolicy::Random));
    let _ = random
        .table_mut()
        .sync_source(now, Source::RoutingTable, doc_peers(1..=7));
    for seed in 0..16 {
        let mut option = recursive(Some(10));
        let report =
            filled(random.on_request(now, MessageKind::Join, &mut option, &mut seeded(seed)));
        assert_eq!(counts(&report), (10, 0, 7, 7, Stop::TableExhausted));
    }
}

// The crate's security default departs from the literal text: one hop adds
// at most half of N, then stops (SECURITY.md); the next hops add the rest.
// §4.2 step 7: "The lookup operation in the candidate table will stop because
// either the K equals N or all server candidates in the candidate table has
// been examined."
#[test]
fn s4_2_step7_default_config_caps_each_hop_at_half_of_n() {
    let now = Instant::now();
    assert_eq!(Config::default().per_hop_share(), 50);
    assert_eq!(Config::draft_literal().per_hop_share(), 100);
    let path = [
        peer_with(secure(), now, Source::RoutingTable, doc_peers(1..=12)),
        peer_with(secure(), now, Source::RoutingTable, doc_peers(101..=112)),
    ];
    let mut node = SendingNode::new(secure());
    let mut option = node.recursive_option();
    let reports = along(&path, now, MessageKind::Join, &mut option, &mut seeded(44));
    assert_eq!(counts(&reports[0]), (10, 0, 5, 5, Stop::HopCap));
    assert_eq!(counts(&reports[1]), (10, 5, 10, 5, Stop::ReachedN));
    assert_eq!(hops(option.set()), vec![1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    let report = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(save_counts(&report), (10, 10, 0, 0, 0, 0, 0, 10, 0));
    // The literal reading lets the first hop fill the whole set.
    let literal_peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=12));
    let mut option = recursive(Some(10));
    let report =
        filled(literal_peer.on_request(now, MessageKind::Join, &mut option, &mut seeded(44)));
    assert_eq!(counts(&report), (10, 0, 10, 10, Stop::ReachedN));
}

// ---------------------------------------------------------------------------
// §5 NATed peer routine maintenance
// ---------------------------------------------------------------------------

// §5.1 step 1: "When NATed peers want to collect STUN/TURN server candidate,
// they MUST express their interest in the corresponding message. They MAY
// specify the number of the server candidate they want in the message."
#[test]
fn s5_1_step1_must_express_interest_in_maintenance_message() {
    let now = Instant::now();
    let node = SendingNode::new(literal().with_wanted(2).unwrap());
    let mut option = node.recursive_option();
    assert_eq!(option.n(), Some(2));
    let peer = peer_with(literal(), now, Source::NeighborTable, doc_peers(1..=5));
    let report =
        filled(peer.on_request(now, MessageKind::Maintenance, &mut option, &mut seeded(45)));
    assert_eq!(report.kind, MessageKind::Maintenance);
    assert_eq!(counts(&report), (2, 0, 2, 2, Stop::ReachedN));
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2)]);
}

// §5.1 step 2: "When the NATed peer receives the response from the peers in
// the overlay, if it has expressed the demand, it MUST check the candidate set
// in the response and save the candidate set locally for later use."
#[test]
fn s5_1_step2_must_check_and_save_the_set() {
    let now = Instant::now();
    let peer = peer_with(literal(), now, Source::NeighborTable, doc_peers(1..=3));
    let mut node = SendingNode::new(literal());
    let mut option = node.recursive_option();
    let _ = filled(peer.on_request(now, MessageKind::Maintenance, &mut option, &mut seeded(46)));
    let report = node
        .on_response(now, MessageKind::Maintenance, &option)
        .unwrap();
    assert_eq!(report.kind, MessageKind::Maintenance);
    assert_eq!(save_counts(&report), (3, 3, 0, 0, 0, 0, 0, 3, 7));
    assert_eq!(cached_addrs(&node), vec![doc(1), doc(2), doc(3)]);
    // A bad set is refused here as well.
    let bad = PiggybackOption::from_parts(
        RoutingMode::Recursive,
        None,
        Filter::ANY,
        2,
        CandidateSet::from_entries(
            UniquenessKey::Ip,
            [at_hop(5, willing_peer("192.0.2.77:3478"))],
        )
        .unwrap(),
    )
    .unwrap();
    let before = cache_snapshot(&node);
    assert_eq!(
        node.on_response(now, MessageKind::Maintenance, &bad),
        Err(ResponseError::HopOutOfRange {
            index: 0,
            hop: 5,
            first: 1,
            last: 1
        })
    );
    assert_eq!(cache_snapshot(&node), before);
}

/// What a two-hop path and the sending node make of one request of `kind`:
/// the set, each hop's counts and the save report's counts. Security
/// defaults (load spreading, a random policy), a fixed seed.
#[allow(clippy::type_complexity)]
fn run_kind(
    kind: MessageKind,
    mode: RoutingMode,
) -> (
    Vec<SetEntry>,
    Vec<(u8, u8, u8, u8, Stop)>,
    (u8, u8, u8, u8, u8, u8, u8, u8, u8),
) {
    let now = Instant::now();
    let path = [
        peer_with(secure(), now, Source::RoutingTable, doc_peers(1..=12)),
        peer_with(secure(), now, Source::NeighborTable, doc_peers(7..=20)),
    ];
    let mut node = SendingNode::new(secure());
    let mut rng = seeded(99);
    match mode {
        RoutingMode::Recursive => {
            let mut option = node.recursive_option();
            let reports = along(&path, now, kind, &mut option, &mut rng);
            assert!(reports.iter().all(|r| r.kind == kind));
            let saved = node.on_response(now, kind, &option).unwrap();
            assert_eq!(saved.kind, kind);
            (
                option.set().entries().to_vec(),
                reports.iter().map(counts).collect(),
                save_counts(&saved),
            )
        }
        RoutingMode::Iterative => {
            let mut entries = Vec::new();
            let mut reports = Vec::new();
            let mut last = None;
            for (i, peer) in path.iter().enumerate() {
                let hop = u8::try_from(i).unwrap() + 1;
                let mut option = node.iterative_option(hop);
                let (answer, report) = answered(peer.on_request(now, kind, &mut option, &mut rng));
                assert_eq!(report.kind, kind);
                let saved = node.on_answer(now, kind, hop, &answer).unwrap();
                assert_eq!(saved.kind, kind);
                entries.extend_from_slice(answer.entries());
                reports.push(counts(&report));
                last = Some(save_counts(&saved));
            }
            (entries, reports, last.unwrap())
        }
    }
}

// §5.2: "The procedure is the same as the procedure defined in section 4.2."
#[test]
fn s5_2_maintenance_procedure_is_the_same_as_join() {
    for mode in [RoutingMode::Recursive, RoutingMode::Iterative] {
        let join = run_kind(MessageKind::Join, mode);
        let maintenance = run_kind(MessageKind::Maintenance, mode);
        assert_eq!(maintenance, join, "{mode:?}");
    }
    let (entries, reports, saved) = run_kind(MessageKind::Maintenance, RoutingMode::Recursive);
    assert_eq!(entries.len(), 10);
    assert_eq!(
        reports,
        vec![(10, 0, 5, 5, Stop::HopCap), (10, 5, 10, 5, Stop::ReachedN)]
    );
    assert_eq!(saved, (10, 10, 0, 0, 0, 0, 0, 10, 0));
}

// ---------------------------------------------------------------------------
// §6 NATed nodes get/put resource
// ---------------------------------------------------------------------------

// §6.1 step 1: "When NATed nodes want to discover server candidate, they MUST
// express their desire in the GET or PUT messages. They MAY specify the number
// of the server candidates they want in the message."
#[test]
fn s6_1_step1_must_express_desire_in_get_or_put() {
    let now = Instant::now();
    let peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=6));
    for kind in [MessageKind::Get, MessageKind::Put] {
        let node = SendingNode::new(literal().with_wanted(4).unwrap());
        let mut option = node.recursive_option();
        assert_eq!(option.n(), Some(4));
        let report = filled(peer.on_request(now, kind, &mut option, &mut seeded(47)));
        assert_eq!(report.kind, kind);
        assert_eq!(counts(&report), (4, 0, 4, 4, Stop::ReachedN));
        assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3), doc(4)]);
        // Without N: the peer's default.
        let mut option = recursive(None);
        let report = filled(peer.on_request(now, kind, &mut option, &mut seeded(47)));
        assert_eq!(counts(&report), (10, 0, 6, 6, Stop::TableExhausted));
    }
}

// §6.1 step 2: "When the NATed node receives the response from the peers in
// the overlay, if it has expressed the desire for STUN/TURN server candidate,
// it check the candidate set in the response and save the candidate set
// locally for later use."
#[test]
fn s6_1_step2_checks_and_saves_the_set() {
    let now = Instant::now();
    let peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=3));
    for kind in [MessageKind::Get, MessageKind::Put] {
        let mut node = SendingNode::new(literal());
        // Recursive.
        let mut option = node.recursive_option();
        let _ = filled(peer.on_request(now, kind, &mut option, &mut seeded(48)));
        let report = node.on_response(now, kind, &option).unwrap();
        assert_eq!(report.kind, kind);
        assert_eq!(save_counts(&report), (3, 3, 0, 0, 0, 0, 0, 3, 7));
        // Iterative, from another peer at hop 2.
        let other = peer_with(literal(), now, Source::RoutingTable, doc_peers(4..=5));
        let mut option = node.iterative_option(2);
        let (answer, _) = answered(other.on_request(now, kind, &mut option, &mut seeded(48)));
        let report = node.on_answer(now, kind, 2, &answer).unwrap();
        assert_eq!(save_counts(&report), (2, 2, 0, 0, 0, 0, 0, 5, 5));
        assert_eq!(
            cached_addrs(&node),
            vec![doc(1), doc(2), doc(3), doc(4), doc(5)]
        );
        // Checked: an answer claiming another hop is refused whole.
        let before = cache_snapshot(&node);
        assert_eq!(
            node.on_answer(now, kind, 3, &answer),
            Err(ResponseError::HopOutOfRange {
                index: 0,
                hop: 2,
                first: 3,
                last: 3
            })
        );
        assert_eq!(cache_snapshot(&node), before);
    }
}

// §6.2: "The procedure is the same as the procedure defined in section 4.2."
#[test]
fn s6_2_get_put_procedure_is_the_same_as_join() {
    for mode in [RoutingMode::Recursive, RoutingMode::Iterative] {
        let join = run_kind(MessageKind::Join, mode);
        assert_eq!(run_kind(MessageKind::Get, mode), join, "GET {mode:?}");
        assert_eq!(run_kind(MessageKind::Put, mode), join, "PUT {mode:?}");
    }
    let (entries, reports, saved) = run_kind(MessageKind::Get, RoutingMode::Iterative);
    assert_eq!(entries.len(), 10);
    assert_eq!(
        reports,
        vec![(10, 0, 5, 5, Stop::HopCap), (10, 0, 5, 5, Stop::HopCap)]
    );
    // The second answer's five are either new or already cached (the tables
    // overlap on .7 to .12).
    assert_eq!((saved.0, saved.1 + saved.2), (5, 5));
}
