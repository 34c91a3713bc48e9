//! §4.2 Intermediate peers' behavior, steps 4 to 7: fetching by a criteria
//! (step 4), comparing before adding so the set stays unique (step 5),
//! counting K (step 6) and stopping at N or when the table is exhausted
//! (step 7), plus the crate's per-hop share.

use std::time::Instant;

use bytes::BytesMut;
use stun_turn_discovery::peer::Stop;
use stun_turn_discovery::wire::{self, Direction, WireConfig};
use stun_turn_discovery::{
    Candidate, IntermediatePeer, MessageKind, NodeConfig, PeerConfig, PerHopShare,
    PerformanceHints, SelectionPolicy, SendingNode, Services, Source, Transport, TransportAddress,
    UniquenessKey,
};

use crate::common::*;

// §4.2 step 4: "Peers fetch candidates from its candidate table according to a
// specific criteria, for example, priority, or performance parameters;"
#[test]
fn s4_2_step4_fetch_by_priority() {
    let now = Instant::now();
    assert_eq!(
        PeerConfig::draft_literal().selection(),
        SelectionPolicy::ByPriority
    );
    let mut peer = peer_with(
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
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(35)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 3,
            k_before: 0,
            k_after: 3,
            added: 3,
            stop: Stop::ReachedN
        }
    );
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
    let mut peer = peer_with(
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
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(36)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 3,
            k_before: 0,
            k_after: 3,
            added: 3,
            stop: Stop::ReachedN
        }
    );
    assert_eq!(addrs(option.set()), vec![doc(3), doc(4), doc(2)]);
}

// §4.2 step 5: "The comparison criteria MAY be based on IP address and keeps
// the candidate in the candidate set unique;"
#[test]
fn s4_2_step5_unique_by_ip_address() {
    let now = Instant::now();
    assert_eq!(NodeConfig::default().key(), UniquenessKey::Ip);
    let mut peer = peer_with(
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
    let mut option = SendingNode::new(literal_node()).recursive_option();
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(37)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 10,
            k_before: 0,
            k_after: 2,
            added: 2,
            stop: Stop::TableExhausted
        }
    );
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2)]);
}

// §4.2 step 5: "The comparison criteria MAY be based on IP address and keeps
// the candidate in the candidate set unique;"
#[cfg(feature = "serde")]
#[test]
fn s4_2_step5_decoded_set_is_unique_by_ip_across_spellings() {
    use stun_turn_discovery::CandidateSet;

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
    let mut path = [
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
    let reports = along(
        &mut path,
        now,
        MessageKind::Join,
        &mut option,
        &mut seeded(38),
    );
    assert_eq!(
        counts(&reports[1]),
        HopCounts {
            n: 10,
            k_before: 1,
            k_after: 2,
            added: 1,
            stop: Stop::TableExhausted
        }
    );
    assert_eq!(addrs(option.set()), vec![doc(1), doc(9)]);
    assert_eq!(hops(option.set()), vec![1, 2]);
}

// §4.2 step 5: "Peers perform comparison operation before adding a new
// STUN/TURN candidate into the candidate set."
#[test]
fn s4_2_step5_compares_in_place_on_the_wire() {
    let now = Instant::now();
    let mut first = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=1));
    let mut second = peer_with(
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
    let _ = filled(first.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(38)));
    // The second peer adds to the encoded option without decoding it.
    let mut buf = BytesMut::with_capacity(512);
    wire::encode_option(&option, Direction::Request, &codec, &mut buf).unwrap();
    let report = second
        .on_encoded_request(
            now,
            MessageKind::Join,
            None,
            &mut buf,
            &codec,
            &mut seeded(38),
        )
        .unwrap();
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 10,
            k_before: 1,
            k_after: 2,
            added: 1,
            stop: Stop::TableExhausted
        }
    );
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
    let mut peer = peer_with(
        literal(),
        now,
        Source::RoutingTable,
        [
            Candidate::peer(udp, Services::BOTH),
            Candidate::peer(tcp, Services::BOTH),
            Candidate::peer(tls, Services::TURN),
        ],
    );
    let node = SendingNode::new(literal_node().with_key(UniquenessKey::IpPort));
    let mut option = node.recursive_option();
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(39)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 10,
            k_before: 0,
            k_after: 2,
            added: 2,
            stop: Stop::TableExhausted
        }
    );
    assert_eq!(addrs(option.set()), vec![udp, tls]);
    // The same table under the default IP key: one.
    let mut option = recursive(Some(10));
    let _ = filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(39)));
    assert_eq!(addrs(option.set()), vec![udp]);
}

// §4.2 step 5: "The comparison criteria MAY be based on IP address and keeps
// the candidate in the candidate set unique;"
#[test]
fn s4_2_step5_prefix_key() {
    let now = Instant::now();
    let v6 = |s: &str| TransportAddress::udp(s.parse().unwrap());
    let mut peer = peer_with(
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
    let node = SendingNode::new(literal_node().with_key(UniquenessKey::Prefix));
    let mut option = node.recursive_option();
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(40)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 10,
            k_before: 0,
            k_after: 4,
            added: 4,
            stop: Stop::TableExhausted
        }
    );
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
    let mut path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=3)),
        // .3 again (refused), .4 and .5 new.
        peer_with(literal(), now, Source::RoutingTable, doc_peers(3..=5)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(6..=9)),
    ];
    let mut option = recursive(Some(7));
    let reports = along(
        &mut path,
        now,
        MessageKind::Join,
        &mut option,
        &mut seeded(41),
    );
    let got: Vec<HopCounts> = reports.iter().map(counts).collect();
    assert_eq!(
        got,
        vec![
            HopCounts {
                n: 7,
                k_before: 0,
                k_after: 3,
                added: 3,
                stop: Stop::TableExhausted
            },
            HopCounts {
                n: 7,
                k_before: 3,
                k_after: 5,
                added: 2,
                stop: Stop::TableExhausted
            },
            HopCounts {
                n: 7,
                k_before: 5,
                k_after: 7,
                added: 2,
                stop: Stop::ReachedN
            },
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
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=12));
    let mut option = recursive(Some(10));
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(42)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 10,
            k_before: 0,
            k_after: 10,
            added: 10,
            stop: Stop::ReachedN
        }
    );
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
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(43)));
    // Every entry examined, one of them a duplicate IP.
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
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3)]);
    // Same with a random walk: it too examines the whole table.
    let mut random = IntermediatePeer::new(literal().with_selection(SelectionPolicy::Random));
    let _ = random
        .table_mut()
        .sync_source(now, Source::RoutingTable, doc_peers(1..=7));
    for seed in 0..16 {
        let mut option = recursive(Some(10));
        let report =
            filled(random.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(seed)));
        assert_eq!(
            counts(&report),
            HopCounts {
                n: 10,
                k_before: 0,
                k_after: 7,
                added: 7,
                stop: Stop::TableExhausted
            }
        );
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
    assert_eq!(PeerConfig::default().per_hop_share(), PerHopShare::HALF);
    assert_eq!(PerHopShare::HALF.percent(), 50);
    assert_eq!(NodeConfig::default().per_hop_share(), PerHopShare::HALF);
    assert_eq!(
        PeerConfig::draft_literal().per_hop_share(),
        PerHopShare::WHOLE
    );
    assert_eq!(PerHopShare::WHOLE.percent(), 100);
    let mut path = [
        peer_with(secure(), now, Source::RoutingTable, doc_peers(1..=12)),
        peer_with(secure(), now, Source::RoutingTable, doc_peers(101..=112)),
    ];
    let mut node = SendingNode::new(secure_node());
    let mut option = node.recursive_option();
    let reports = along(
        &mut path,
        now,
        MessageKind::Join,
        &mut option,
        &mut seeded(44),
    );
    assert_eq!(
        counts(&reports[0]),
        HopCounts {
            n: 10,
            k_before: 0,
            k_after: 5,
            added: 5,
            stop: Stop::HopCap
        }
    );
    assert_eq!(
        counts(&reports[1]),
        HopCounts {
            n: 10,
            k_before: 5,
            k_after: 10,
            added: 5,
            stop: Stop::ReachedN
        }
    );
    assert_eq!(hops(option.set()), vec![1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    let report = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(
        saved(&report),
        Saved {
            offered: 10,
            saved: 10,
            reserved: 0,
            refreshed: 0,
            filtered: 0,
            refused: 0,
            no_room: 0,
            usable: 10,
            shortfall: 0
        }
    );
    // The literal reading lets the first hop fill the whole set.
    let mut literal_peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=12));
    let mut option = recursive(Some(10));
    let report =
        filled(literal_peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(44)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 10,
            k_before: 0,
            k_after: 10,
            added: 10,
            stop: Stop::ReachedN
        }
    );
}
