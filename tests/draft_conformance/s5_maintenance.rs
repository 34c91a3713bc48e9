//! §5 NATed peer routine maintenance: the NATed peer asks on its routing
//! maintenance messages and saves what comes back (§5.1); intermediate
//! peers follow the procedure of §4.2 (§5.2).

use std::time::Instant;

use stun_turn_discovery::node::ResponseError;
use stun_turn_discovery::peer::Stop;
use stun_turn_discovery::{
    CandidateSet, Filter, MessageKind, PiggybackOption, RoutingMode, SendingNode, Source,
    UniquenessKey,
};

use crate::common::*;

// §5.1 step 1: "When NATed peers want to collect STUN/TURN server candidate,
// they MUST express their interest in the corresponding message. They MAY
// specify the number of the server candidate they want in the message."
#[test]
fn s5_1_step1_must_express_interest_in_maintenance_message() {
    let now = Instant::now();
    let node = SendingNode::new(literal_node().with_wanted(n(2)));
    let mut option = node.recursive_option();
    assert_eq!(option.n(), Some(n(2)));
    let mut peer = peer_with(literal(), now, Source::NeighborTable, doc_peers(1..=5));
    let report = filled(peer.on_request(
        now,
        MessageKind::Maintenance,
        None,
        &mut option,
        &mut seeded(45),
    ));
    assert_eq!(report.kind, MessageKind::Maintenance);
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 2,
            k_before: 0,
            k_after: 2,
            added: 2,
            stop: Stop::ReachedN
        }
    );
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2)]);
}

// §5.1 step 2: "When the NATed peer receives the response from the peers in
// the overlay, if it has expressed the demand, it MUST check the candidate set
// in the response and save the candidate set locally for later use."
#[test]
fn s5_1_step2_must_check_and_save_the_set() {
    let now = Instant::now();
    let mut peer = peer_with(literal(), now, Source::NeighborTable, doc_peers(1..=3));
    let mut node = SendingNode::new(literal_node());
    let mut option = node.recursive_option();
    let _ = filled(peer.on_request(
        now,
        MessageKind::Maintenance,
        None,
        &mut option,
        &mut seeded(46),
    ));
    let report = node
        .on_response(now, MessageKind::Maintenance, &option)
        .unwrap();
    assert_eq!(report.kind, MessageKind::Maintenance);
    assert_eq!(
        saved(&report),
        Saved {
            offered: 3,
            saved: 3,
            reserved: 0,
            refreshed: 0,
            filtered: 0,
            refused: 0,
            no_room: 0,
            usable: 3,
            shortfall: 7
        }
    );
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

// §5.2: "The procedure is the same as the procedure defined in section 4.2."
#[test]
fn s5_2_maintenance_procedure_is_the_same_as_join() {
    for mode in [RoutingMode::Recursive, RoutingMode::Iterative] {
        let join = run_kind(MessageKind::Join, mode);
        let maintenance = run_kind(MessageKind::Maintenance, mode);
        assert_eq!(maintenance, join, "{mode:?}");
    }
    let run = run_kind(MessageKind::Maintenance, RoutingMode::Recursive);
    assert_eq!(run.entries.len(), 10);
    assert_eq!(
        run.hops,
        vec![
            HopCounts {
                n: 10,
                k_before: 0,
                k_after: 5,
                added: 5,
                stop: Stop::HopCap
            },
            HopCounts {
                n: 10,
                k_before: 5,
                k_after: 10,
                added: 5,
                stop: Stop::ReachedN
            }
        ]
    );
    assert_eq!(
        run.saved,
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
}
