//! Cumulative statistics of the intermediate peer and the sending node
//! count what happened, one counter per outcome.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::node::NodeStats;
use stun_turn_discovery::peer::PeerStats;
use stun_turn_discovery::wire::WireConfig;
use stun_turn_discovery::*;

fn addr(i: u32) -> TransportAddress {
    TransportAddress::new(
        IpAddr::V4(Ipv4Addr::from(0x0b00_0000 | i)),
        3478,
        Transport::Udp,
    )
}

#[test]
fn peer_stats_count_requests_by_outcome() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(PeerConfig::default());
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        (0..3).map(|i| Candidate::peer(addr(i), Services::BOTH)),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n4 = N::new(4).unwrap();
    // Hop cap: 2 of N = 4.
    let mut a = PiggybackOption::recursive(Some(n4), Filter::ANY, UniquenessKey::Ip);
    let _ = peer.on_request(now, MessageKind::Join, None, &mut a, &mut rng);
    // Table exhausted: only 1 left to add after the 2 already there.
    let _ = peer.on_request(now, MessageKind::Join, None, &mut a, &mut rng);
    // Iterative, N = 1: reached N.
    let mut b = PiggybackOption::iterative(Some(N::MIN), Filter::ANY, UniquenessKey::Ip, 1);
    let _ = peer.on_request(now, MessageKind::Get, None, &mut b, &mut rng);
    // Already full.
    let mut full =
        PiggybackOption::recursive(Some(N::new(3).unwrap()), Filter::ANY, UniquenessKey::Ip);
    let _ = peer.on_request(now, MessageKind::Get, None, &mut full, &mut rng);
    let _ = peer.on_request(now, MessageKind::Get, None, &mut full, &mut rng);
    let _ = peer.on_request(now, MessageKind::Get, None, &mut full, &mut rng);
    // Malformed bytes.
    let mut junk = BytesMut::from(&[1u8, 4, 0, 9][..]);
    let cfg = WireConfig::default();
    assert!(peer
        .on_encoded_request(now, MessageKind::Get, None, &mut junk, &cfg, &mut rng)
        .is_err());
    peer.on_response(MessageKind::Join);

    let s: PeerStats = *peer.stats();
    assert_eq!((s.recursive_requests, s.iterative_requests), (5, 1));
    assert_eq!(s.candidates_handed_out, 2 + 1 + 1 + 2 + 1);
    assert_eq!(
        (s.hop_cap, s.table_exhausted, s.reached_n, s.already_full),
        (2, 1, 2, 1)
    );
    assert_eq!((s.limited, s.malformed, s.responses), (0, 1, 1));
}

#[test]
fn node_stats_count_sets_candidates_and_feedback() {
    let now = Instant::now();
    let config = NodeConfig::default()
        .with_filter(Filter::services(Services::TURN))
        .with_max_failures(1)
        .unwrap();
    let mut node = SendingNode::new(config);
    let entry = |i: u32, hop: u8, services| SetEntry {
        candidate: Candidate::peer(addr(i), services),
        hop,
    };
    let set = |entries: Vec<SetEntry>| {
        let set = CandidateSet::from_entries(UniquenessKey::Ip, entries).unwrap();
        PiggybackOption::from_parts(RoutingMode::Recursive, None, Filter::ANY, 3, set).unwrap()
    };
    let private = SetEntry {
        candidate: Candidate::peer(
            TransportAddress::udp("10.0.0.1:3478".parse().unwrap()),
            Services::BOTH,
        ),
        hop: 2,
    };
    let ok = set(vec![
        entry(1, 1, Services::BOTH),
        entry(2, 1, Services::STUN),
        entry(3, 1, Services::TURN),
        private,
    ]);
    let _ = node.on_response(now, MessageKind::Join, &ok).unwrap();
    let again = set(vec![entry(1, 1, Services::BOTH)]);
    let _ = node.on_response(now, MessageKind::Join, &again).unwrap();
    let too_many = set((10..21).map(|i| entry(i, 1, Services::BOTH)).collect());
    assert!(node.on_response(now, MessageKind::Join, &too_many).is_err());
    let wrong_hop = set(vec![entry(30, 3, Services::BOTH)]);
    assert!(node
        .on_response(now, MessageKind::Join, &wrong_hop)
        .is_err());
    assert!(node
        .on_response(
            now,
            MessageKind::Join,
            &PiggybackOption::iterative(None, Filter::ANY, UniquenessKey::Ip, 1)
        )
        .is_err());
    assert!(node.feedback(
        now,
        &addr(1),
        Feedback::Worked {
            rtt: Duration::from_millis(5)
        }
    ));
    assert!(node.feedback(now, &addr(3), Feedback::Failed));
    assert!(!node.feedback(now, &addr(99), Feedback::Failed));
    assert_eq!(node.expire(now + Duration::from_secs(3_600)), 1);

    let s: NodeStats = *node.stats();
    assert_eq!(s.sets_accepted, 2);
    assert_eq!(
        (
            s.refused_too_many,
            s.refused_hop_stamps,
            s.refused_wrong_mode
        ),
        (1, 1, 1)
    );
    assert_eq!((s.offered, s.saved, s.reserved, s.cache_hits), (5, 2, 0, 1));
    assert_eq!((s.filtered, s.refused_by_policy, s.no_room), (1, 1, 0));
    assert_eq!((s.worked, s.failed, s.evicted, s.expired), (1, 1, 1, 1));
}

#[cfg(feature = "serde")]
#[test]
fn stats_serialize() {
    let peer = IntermediatePeer::new(PeerConfig::default());
    let json = serde_json::to_value(peer.stats()).unwrap();
    assert_eq!(json["recursive_requests"], 0);
    let node = SendingNode::new(NodeConfig::default());
    let back: NodeStats =
        serde_json::from_str(&serde_json::to_string(node.stats()).unwrap()).unwrap();
    assert_eq!(back, NodeStats::default());
}
