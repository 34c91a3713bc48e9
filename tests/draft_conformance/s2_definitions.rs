//! §2 Definition: sending node, intermediate peers, server candidates, the
//! candidate table, the candidate set and NATed nodes.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use stun_turn_discovery::peer::{Stop, TableError, Upserted};
use stun_turn_discovery::{
    Candidate, IntermediatePeer, MessageKind, NatStatus, PerformanceHints, Role, RoutingMode,
    SendingNode, Services, Source, Transport, TransportAddress, UniquenessKey,
};

use crate::common::*;

// §2: "Sending node: It identifies the node, either a peer or a client, who
// sends a request."
#[test]
fn s2_sending_node_is_a_peer_or_a_client_sending_a_request() {
    let now = Instant::now();
    let mut table = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=3));
    // A joining peer sends JOIN; a client sends GET through its peer. Both
    // are sending nodes and both get the same candidates.
    for kind in [MessageKind::Join, MessageKind::Get] {
        let mut node = SendingNode::new(literal_node());
        let mut option = node.recursive_option();
        let _ = along(
            std::slice::from_mut(&mut table),
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
    let mut path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=1)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(2..=2)),
        // The message destination: the last peer on the path fills too.
        peer_with(literal(), now, Source::RoutingTable, doc_peers(3..=5)),
    ];
    let mut option = recursive(Some(10));
    let reports = along(
        &mut path,
        now,
        MessageKind::Join,
        &mut option,
        &mut seeded(2),
    );
    assert_eq!(
        reports.iter().map(|r| r.hop).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        counts(&reports[2]),
        HopCounts {
            n: 10,
            k_before: 2,
            k_after: 5,
            added: 3,
            stop: Stop::TableExhausted
        },
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
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(3)));
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
    use stun_turn_discovery::Filter;

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
    let mut peer = IntermediatePeer::new(literal());
    assert_eq!(peer.table().len(), 0);
    assert!(peer.table().is_empty());
    let mut option = recursive(Some(10));
    let report = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(4)));
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
    let _ = filled(peer.on_request(t1, MessageKind::Join, None, &mut option, &mut seeded(5)));
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
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(6)));
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
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(7)));
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
    let mut peer = peer_with(
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
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(8)));
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
        literal_node()
            .with_wanted(n(6))
            .with_key(UniquenessKey::IpPort),
    );
    let option = node.recursive_option();
    assert_eq!(option.mode(), RoutingMode::Recursive);
    assert_eq!(option.n(), Some(n(6)));
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
    let mut path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=2)),
        peer_with(literal(), now, Source::NeighborTable, doc_peers(3..=4)),
    ];
    let mut node = SendingNode::new(literal_node());
    let mut request = node.recursive_option();
    let _ = along(
        &mut path,
        now,
        MessageKind::Join,
        &mut request,
        &mut seeded(9),
    );
    // The destination copies the option into its response, which travels
    // back along the path untouched.
    let response = request.clone();
    for peer in path.iter_mut().rev() {
        // Changed on purpose: `on_response` takes only the message kind and
        // returns `()` (it used to return `ResponseAction::ForwardUnchanged`).
        // The peer is not even handed the option, so it cannot alter it.
        peer.on_response(MessageKind::Join);
    }
    assert_eq!(response, request);
    let report = node.on_response(now, MessageKind::Join, &response).unwrap();
    assert_eq!(
        saved(&report),
        Saved {
            offered: 4,
            saved: 4,
            reserved: 0,
            refreshed: 0,
            filtered: 0,
            refused: 0,
            no_room: 0,
            usable: 4,
            shortfall: 6
        }
    );
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
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(10)));
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
