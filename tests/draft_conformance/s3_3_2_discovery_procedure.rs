//! §3.3.2 Discovery procedure: the NATed node expresses its demand (step 1),
//! intermediate peers put candidates into the set in the request or the
//! response depending on the routing mode (step 2), and the node gets and
//! uses the results (step 3), whatever the message.

use std::net::IpAddr;
use std::time::Instant;

use stun_turn_discovery::peer::Stop;
use stun_turn_discovery::{
    Filter, MessageKind, NatStatus, PiggybackOption, RoutingMode, SendingNode, Source,
    TransportAddress, UniquenessKey, N,
};

use crate::common::*;

// §3.3.2 step 1: "NATed nodes send the message and set associated options to
// express their demand for STUN/TURN server candidate in the message."
#[test]
fn s3_3_2_step1_nated_node_sets_option_to_express_demand() {
    let reflexive = "203.0.113.99:61000".parse().unwrap();
    let status = NatStatus::detect(["192.0.2.200".parse().unwrap()], 5060, reflexive);
    assert_eq!(status, NatStatus::BehindNat { reflexive });
    let node = SendingNode::new(literal_node());
    let now = Instant::now();
    assert_eq!(node.shortfall(now), 10);
    let recursive = node.recursive_option();
    assert_eq!(
        (recursive.mode(), recursive.n(), recursive.hop()),
        (RoutingMode::Recursive, Some(N::DEFAULT), 1)
    );
    assert_eq!(N::DEFAULT.get(), 10);
    assert!(recursive.set().is_empty());
    let iterative = node.iterative_option(3);
    assert_eq!(
        (iterative.mode(), iterative.n(), iterative.hop()),
        (RoutingMode::Iterative, Some(N::DEFAULT), 3)
    );
    assert!(iterative.set().is_empty());
}

// §3.3.2 step 2: "If associated option is set, peers look up their STUN/TURN
// candidate table and put the results into the candidate set carried in the
// request or response which depends on routing mode."
#[test]
fn s3_3_2_step2_intermediate_peer_puts_results_into_the_set() {
    let now = Instant::now();
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=3));
    // Recursive: into the set carried in the request.
    let mut option = recursive(Some(10));
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(19)));
    assert_eq!(report.mode, RoutingMode::Recursive);
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3)]);
    // Iterative: into a set for the response.
    let mut option = PiggybackOption::iterative(Some(n(10)), Filter::ANY, UniquenessKey::Ip, 1);
    let (answer, report) =
        answered(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(19)));
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
    let mut path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=2)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(3..=3)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(4..=5)),
    ];
    let mut node = SendingNode::new(literal_node());
    let mut request = node.recursive_option();
    let mut rng = seeded(20);
    let mut k = Vec::new();
    for peer in &mut path {
        let report = filled(peer.on_request(now, MessageKind::Join, None, &mut request, &mut rng));
        k.push(request.set().len());
        assert_eq!(usize::from(report.k_after), request.set().len());
    }
    assert_eq!(k, vec![2, 3, 5], "the set grows in the request hop by hop");
    // The response echoes the option; every peer on the way back forwards
    // it untouched.
    let response = request.clone();
    for peer in path.iter_mut().rev() {
        // Changed on purpose: `on_response` takes only the kind and returns
        // `()` (it used to return `ResponseAction::ForwardUnchanged`).
        peer.on_response(MessageKind::Join);
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
    let mut path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=2)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(11..=12)),
    ];
    let mut node = SendingNode::new(literal_node());
    let mut rng = seeded(21);
    for (i, peer) in path.iter_mut().enumerate() {
        let hop = u8::try_from(i).unwrap() + 1;
        let mut request = node.iterative_option(hop);
        let sent = request.clone();
        let (answer, report) =
            answered(peer.on_request(now, MessageKind::Join, None, &mut request, &mut rng));
        assert_eq!(request, sent, "nothing rides on in the request");
        assert_eq!(
            (report.mode, report.hop, counts(&report)),
            (
                RoutingMode::Iterative,
                hop,
                HopCounts {
                    n: 10,
                    k_before: 0,
                    k_after: 2,
                    added: 2,
                    stop: Stop::TableExhausted
                }
            )
        );
        assert_eq!(hops(&answer), vec![hop, hop]);
        let report = node
            .on_answer(now, MessageKind::Join, hop, &answer)
            .unwrap();
        assert_eq!(report.saved, 2);
    }
    assert_eq!(cached_addrs(&node), vec![doc(1), doc(2), doc(11), doc(12)]);
}

// §3.3.2 step 3: "Finally, NATed nodes get the results in the response and
// use them in the future communications."
#[test]
fn s3_3_2_step3_nated_node_gets_results_and_uses_them() {
    let now = Instant::now();
    let mut path = [
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
    let mut node = SendingNode::new(literal_node());
    let mut option = node.recursive_option();
    let _ = along(
        &mut path,
        now,
        MessageKind::Join,
        &mut option,
        &mut seeded(22),
    );
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
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=3));
    let mut node = SendingNode::new(literal_node());
    let mut option = node.recursive_option();
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(23)));
    let report = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(report.saved, 3);
    assert_eq!(cached_addrs(&node), vec![doc(1), doc(2), doc(3)]);
}

// §3.3.2: "The procedure while using different messages is almost identical."
#[test]
fn s3_3_2_procedure_is_the_same_for_every_message() {
    let now = Instant::now();
    let mut peer = peer_with(secure(), now, Source::RoutingTable, doc_peers(1..=12));
    let mut run = |kind: MessageKind| {
        let mut option = recursive(Some(10));
        let report = filled(peer.on_request(now, kind, None, &mut option, &mut seeded(24)));
        assert_eq!(report.kind, kind);
        (option, counts(&report))
    };
    let join = run(MessageKind::Join);
    assert_eq!(
        join.1,
        HopCounts {
            n: 10,
            k_before: 0,
            k_after: 5,
            added: 5,
            stop: Stop::HopCap
        }
    );
    for kind in [
        MessageKind::Maintenance,
        MessageKind::Get,
        MessageKind::Put,
        MessageKind::Other,
    ] {
        assert_eq!(run(kind), join, "{kind:?}");
    }
}
