//! §4.1 Joining peer's behavior: learn the NAT status, express the demand
//! in JOIN (step 1), then check and save the set of the response (step 2),
//! as the sending node judges it: by the N it asked for, with what one hop
//! sends beyond its share kept as reserve.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use stun_turn_discovery::error::InvalidN;
use stun_turn_discovery::node::ResponseError;
use stun_turn_discovery::peer::Stop;
use stun_turn_discovery::wire::{self, Direction, WireConfig};
use stun_turn_discovery::{
    AddressPolicy, Candidate, CandidateSet, Feedback, Filter, MessageKind, NatStatus, NodeConfig,
    PeerConfig, PiggybackOption, RoutingMode, SendingNode, Services, SetEntry, Source,
    TransportAddress, UniquenessKey, N,
};

use crate::common::*;

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
    let node = SendingNode::new(literal_node());
    let mut option = node.recursive_option();
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=4));
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(25)));
    assert_eq!(
        (report.kind, report.mode, counts(&report)),
        (
            MessageKind::Join,
            RoutingMode::Recursive,
            HopCounts {
                n: 10,
                k_before: 0,
                k_after: 4,
                added: 4,
                stop: Stop::TableExhausted
            }
        )
    );
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3), doc(4)]);
}

// §4.1 step 1: "The joining peer MAY specify the number of server candidates
// it wants in the requests."
#[test]
fn s4_1_step1_may_specify_n() {
    let now = Instant::now();
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=8));
    // Specified: the node's own N.
    let node = SendingNode::new(literal_node().with_wanted(n(3)));
    let mut option = node.recursive_option();
    assert_eq!(option.n(), Some(n(3)));
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(26)));
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
    // Left unspecified: the intermediate peer's default.
    let mut option = recursive(None);
    assert_eq!(option.n(), None);
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(26)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 10,
            k_before: 0,
            k_after: 8,
            added: 8,
            stop: Stop::TableExhausted
        }
    );
    // N = 0 asks for nothing and is not a valid N, so no option can carry
    // it (the range is checked where an N is made).
    assert_eq!(N::new(0), Err(InvalidN(0)));
    assert_eq!(N::try_from(0u8), Err(InvalidN(0)));
}

// §4.1 step 2: "When the joining peer receives the response from the peers in
// the overlay, if it has expressed the demand on server candidate, it MUST
// check the candidate set in the response and save the candidate set locally
// for later use."
#[test]
fn s4_1_step2_must_check_and_save_the_set() {
    let now = Instant::now();
    let mut path = [
        peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=2)),
        peer_with(literal(), now, Source::RoutingTable, doc_peers(3..=4)),
    ];
    let mut node = SendingNode::new(literal_node());
    let mut option = node.recursive_option();
    let _ = along(
        &mut path,
        now,
        MessageKind::Join,
        &mut option,
        &mut seeded(27),
    );
    let report = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(report.kind, MessageKind::Join);
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
    assert_eq!(node.get(&doc(3)).unwrap().hop(), 2);
    assert_eq!(node.get(&doc(3)).unwrap().first_seen(), now);
    // A later response with the same candidates refreshes them.
    let later = now + Duration::from_secs(60);
    let report = node.on_response(later, MessageKind::Join, &option).unwrap();
    assert_eq!(
        saved(&report),
        Saved {
            offered: 4,
            saved: 0,
            reserved: 0,
            refreshed: 4,
            filtered: 0,
            refused: 0,
            no_room: 0,
            usable: 4,
            shortfall: 6
        }
    );
    let three = node.get(&doc(3)).unwrap();
    assert_eq!((three.sightings(), three.refreshed()), (2, later));
}

// §4.1 step 2: "When the joining peer receives the response from the peers in
// the overlay, if it has expressed the demand on server candidate, it MUST
// check the candidate set in the response and save the candidate set locally
// for later use."
#[test]
fn s4_1_step2_bad_set_is_rejected_and_cache_unchanged() {
    let now = Instant::now();
    // The node wants N = 10 (the default) and judges every response by it.
    let mut node = SendingNode::new(literal_node());
    assert_eq!(node.config().wanted(), n(10));
    // A good response first, so the cache has something to keep.
    let good = PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(n(10)),
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

    // K = 11 > the N = 10 this node asked for (the option carries no N).
    // Changed on purpose: the bound is the node's own wanted N, never the
    // N in the response; it used to be the node's N cap when the response
    // carried no N (10 here too, so the values are the same).
    let too_many = recursive_with(
        2,
        doc_peers(11..=21)
            .into_iter()
            .map(|c| at_hop(1, c))
            .collect(),
    );
    assert_eq!(
        node.on_response(now, MessageKind::Join, &too_many),
        Err(ResponseError::TooMany { k: 11, n: n(10) })
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
    // Security defaults: N = 10 and one hop's share is half of it.
    let mut node = SendingNode::new(secure_node().with_filter(Filter::services(Services::TURN)));
    let entries = vec![
        at_hop(1, Candidate::peer(doc(1), Services::TURN)),
        // Offers STUN only: not what this node asked for.
        at_hop(1, Candidate::peer(doc(2), Services::STUN)),
        // A private address: refused by the node's address policy.
        at_hop(1, Candidate::peer(ta("10.0.0.1:3478"), Services::BOTH)),
        at_hop(1, Candidate::peer(doc(4), Services::BOTH)),
        at_hop(1, Candidate::peer(doc(5), Services::TURN)),
        at_hop(1, Candidate::peer(doc(6), Services::TURN)),
        at_hop(1, Candidate::peer(doc(7), Services::TURN)),
        // The sixth that passes the checks from one hop is beyond its share.
        at_hop(1, Candidate::peer(doc(8), Services::TURN)),
    ];
    let option = PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(n(10)),
        Filter::services(Services::TURN),
        2,
        CandidateSet::from_entries(UniquenessKey::Ip, entries).unwrap(),
    )
    .unwrap();
    let report = node.on_response(now, MessageKind::Join, &option).unwrap();
    // Changed on purpose: the candidate beyond the hop's share is kept as
    // reserve (`reserved`, not counted in `usable` or against `shortfall`)
    // instead of being dropped (the old `over_hop_cap`). Only candidates
    // that pass the filter and the address policy count against the share,
    // so two more TURN candidates than before are needed to go beyond it.
    assert_eq!(
        saved(&report),
        Saved {
            offered: 8,
            saved: 5,
            reserved: 1,
            refreshed: 0,
            filtered: 1,
            refused: 1,
            no_room: 0,
            usable: 5,
            shortfall: 5
        }
    );
    assert_eq!(
        cached_addrs(&node),
        vec![doc(1), doc(4), doc(5), doc(6), doc(7), doc(8)]
    );
    let reserve: Vec<TransportAddress> = cache_snapshot(&node)
        .iter()
        .filter(|c| c.is_reserve())
        .map(|c| c.candidate().address)
        .collect();
    assert_eq!(reserve, vec![doc(8)]);
}

// New with the reserve: the draft lets one intermediate peer fill the whole
// set; a sending node with the crate's defaults keeps all of it, but counts
// only the hop's share as wanted and hands the rest out last.
// §4.1 step 2: "When the joining peer receives the response from the peers in
// the overlay, if it has expressed the demand on server candidate, it MUST
// check the candidate set in the response and save the candidate set locally
// for later use."
#[test]
fn s4_1_step2_default_node_keeps_a_literal_hops_whole_set_as_share_and_reserve() {
    let now = Instant::now();
    let mut peer = peer_with(
        PeerConfig::draft_literal().with_address_policy(AddressPolicy::permissive()),
        now,
        Source::RoutingTable,
        doc_peers(1..=12),
    );
    let mut node =
        SendingNode::new(NodeConfig::default().with_address_policy(AddressPolicy::permissive()));
    let mut option = node.recursive_option();
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(60)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 10,
            k_before: 0,
            k_after: 10,
            added: 10,
            stop: Stop::ReachedN
        },
        "one draft-literal peer fills the whole set"
    );
    assert_eq!(hops(option.set()), vec![1; 10]);
    let first_ten: Vec<TransportAddress> = (1..=10).map(doc).collect();
    assert_eq!(addrs(option.set()), first_ten);

    let report = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(
        saved(&report),
        Saved {
            offered: 10,
            saved: 5,
            reserved: 5,
            refreshed: 0,
            filtered: 0,
            refused: 0,
            no_room: 0,
            usable: 5,
            shortfall: 5
        }
    );
    // All ten are kept: the first five (the hop's share) count as wanted,
    // the other five are reserve.
    assert_eq!(node.len(), 10);
    assert_eq!(cached_addrs(&node), first_ten);
    assert_eq!(node.shortfall(now), 5);
    for i in 1..=10 {
        assert_eq!(node.get(&doc(i)).unwrap().is_reserve(), i > 5, ".{i}");
    }
    // The in-share five come first in `best`, the reserve after them.
    let best = node.best(now, 10);
    let order: Vec<(TransportAddress, bool)> = best
        .iter()
        .map(|c| (c.candidate().address, c.is_reserve()))
        .collect();
    assert_eq!(order, (1..=10).map(|i| (doc(i), i > 5)).collect::<Vec<_>>());
    // Used and found working, a reserve candidate counts as wanted.
    let rtt = Duration::from_millis(20);
    assert!(node.feedback(now, &doc(10), Feedback::Worked { rtt }));
    assert!(!node.get(&doc(10)).unwrap().is_reserve());
    assert_eq!(node.shortfall(now), 4);
    let best: Vec<TransportAddress> = node
        .best(now, 6)
        .iter()
        .map(|c| c.candidate().address)
        .collect();
    assert_eq!(best, vec![doc(10), doc(1), doc(2), doc(3), doc(4), doc(5)]);
}

// New with the node judging by its own N: an on-path peer that clears (or
// raises) the N echoed in the response gains nothing.
// §4.1 step 2: "When the joining peer receives the response from the peers in
// the overlay, if it has expressed the demand on server candidate, it MUST
// check the candidate set in the response and save the candidate set locally
// for later use."
#[test]
fn s4_1_step2_response_with_n_cleared_is_judged_by_the_nodes_wanted_n() {
    let now = Instant::now();
    // Wants 6; one hop's share is ⌈6 × 50 %⌉ = 3.
    let mut node = SendingNode::new(secure_node().with_wanted(n(6)));
    let from_hop_1 = |count: u8| {
        CandidateSet::from_entries(
            UniquenessKey::Ip,
            doc_peers(1..=count).into_iter().map(|c| at_hop(1, c)),
        )
        .unwrap()
    };
    let response = |n_echoed: Option<N>, count: u8| {
        PiggybackOption::from_parts(
            RoutingMode::Recursive,
            n_echoed,
            Filter::ANY,
            2,
            from_hop_1(count),
        )
        .unwrap()
    };

    // The N byte cleared on the wire decodes as no N at all.
    let cleared = response(None, 6);
    let mut buf = Vec::new();
    wire::encode_option(
        &cleared,
        Direction::Response,
        &WireConfig::default(),
        &mut buf,
    )
    .unwrap();
    assert_eq!(buf[6], 0, "the N byte");
    let decoded = wire::decode_option(&mut &buf[..], &WireConfig::default()).unwrap();
    assert_eq!(decoded.n(), None);
    assert_eq!(addrs(decoded.set()), addrs(cleared.set()));

    // K = 8 > the 6 this node asked for: refused whole, whether the
    // response's N is cleared or raised to the maximum.
    for n_echoed in [None, Some(N::MAX)] {
        assert_eq!(
            node.on_response(now, MessageKind::Join, &response(n_echoed, 8)),
            Err(ResponseError::TooMany { k: 8, n: n(6) }),
            "N echoed: {n_echoed:?}"
        );
        assert!(node.is_empty());
    }

    // K = 6 is within what it asked for, but six from one hop are more than
    // its share of three: the last three are kept as reserve.
    let report = node.on_response(now, MessageKind::Join, &decoded).unwrap();
    assert_eq!(
        saved(&report),
        Saved {
            offered: 6,
            saved: 3,
            reserved: 3,
            refreshed: 0,
            filtered: 0,
            refused: 0,
            no_room: 0,
            usable: 3,
            shortfall: 3
        }
    );
    let reserve: Vec<TransportAddress> = cache_snapshot(&node)
        .iter()
        .filter(|c| c.is_reserve())
        .map(|c| c.candidate().address)
        .collect();
    assert_eq!(reserve, vec![doc(4), doc(5), doc(6)]);

    // The same set with N raised in the response is judged the same way:
    // same counts, same cache, same reserve.
    let mut other = SendingNode::new(secure_node().with_wanted(n(6)));
    let raised = other
        .on_response(now, MessageKind::Join, &response(Some(N::MAX), 6))
        .unwrap();
    assert_eq!(saved(&raised), saved(&report));
    assert_eq!(cache_snapshot(&other), cache_snapshot(&node));
}
