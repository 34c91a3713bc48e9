//! §3.3.1 Construction of STUN/TURN candidate table: the three sources
//! (routing state MUST, the peer itself SHOULD, its clients SHOULD), their
//! priorities, random choice, and the parameters of each entry.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use stun_turn_discovery::peer::{SourcePriorities, Stop, Upserted};
use stun_turn_discovery::{
    Candidate, IntermediatePeer, MessageKind, PeerConfig, PerformanceHints, Role, SelectionPolicy,
    SendingNode, Services, Source, Transport, TransportAddress,
};

use crate::common::*;

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
    let report =
        filled(peer.on_request(later, MessageKind::Join, None, &mut option, &mut seeded(50)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 10,
            k_before: 0,
            k_after: 3,
            added: 3,
            stop: Stop::TableExhausted
        }
    );
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
    let report =
        filled(peer.on_request(stale, MessageKind::Join, None, &mut option, &mut seeded(50)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 10,
            k_before: 0,
            k_after: 0,
            added: 0,
            stop: Stop::TableExhausted
        }
    );
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
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(11)));
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
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(12)));
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
    let _ = filled(peer.on_request(now, MessageKind::Get, None, &mut option, &mut seeded(13)));
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
    assert_eq!(
        SourcePriorities::default(),
        SourcePriorities {
            routing_table: 300,
            neighbor_table: 300,
            connection_table: 250,
            local_peer: 200,
            client: 100,
        }
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
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(14)));
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
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(14)));
    assert_eq!(report.stop, Stop::ReachedN);
    assert_eq!(addrs(option.set()), vec![doc(4), doc(5)]);
}

/// The first candidate `config`'s policy hands out for N = 1, over 64 seeds.
fn first_picks(
    config: PeerConfig,
    now: Instant,
) -> (BTreeSet<TransportAddress>, Vec<TransportAddress>) {
    let mut peer = peer_with(config, now, Source::RoutingTable, doc_peers(1..=16));
    let mut distinct = BTreeSet::new();
    let mut in_order = Vec::new();
    for seed in 0..64 {
        let mut option = recursive(Some(1));
        let report =
            filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(seed)));
        assert_eq!(
            counts(&report),
            HopCounts {
                n: 1,
                k_before: 0,
                k_after: 1,
                added: 1,
                stop: Stop::ReachedN
            }
        );
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
        PeerConfig::default().selection(),
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
    let mut peer = peer_with(
        literal(),
        now,
        Source::RoutingTable,
        [
            Candidate::peer(stun, Services::STUN),
            Candidate::peer(turns, Services::TURN),
            Candidate::peer(v6, Services::BOTH),
        ],
    );
    let mut node = SendingNode::new(literal_node());
    let mut option = node.recursive_option();
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(15)));
    let _ = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(cached_addrs(&node), vec![stun, turns, v6]);
    let cached = node.get(&turns).unwrap().candidate().address;
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
    let mut node = SendingNode::new(literal_node());
    let mut option = node.recursive_option();
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(16)));
    let _ = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(node.get(&doc(1)).unwrap().candidate().role, Role::Peer);
    assert_eq!(node.get(&doc(2)).unwrap().candidate().role, Role::Client);
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
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(17)));
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
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(17)));
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
    let mut peer = peer_with(
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
    let mut node = SendingNode::new(literal_node().with_wanted(n(1)));
    let mut option = node.recursive_option();
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(18)));
    assert_eq!(addrs(option.set()), vec![doc(2)]);
    let _ = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(node.get(&doc(2)).unwrap().candidate().hints, strong);
}
