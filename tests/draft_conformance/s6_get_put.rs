//! §6 NATed nodes get/put resource: the NATed node asks on GET and PUT and
//! saves what comes back (§6.1); the peers processing the request follow
//! the procedure of §4.2 (§6.2).

use std::time::Instant;

use stun_turn_discovery::node::ResponseError;
use stun_turn_discovery::peer::Stop;
use stun_turn_discovery::{MessageKind, RoutingMode, SendingNode, Source};

use crate::common::*;

// §6.1 step 1: "When NATed nodes want to discover server candidate, they MUST
// express their desire in the GET or PUT messages. They MAY specify the number
// of the server candidates they want in the message."
#[test]
fn s6_1_step1_must_express_desire_in_get_or_put() {
    let now = Instant::now();
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=6));
    for kind in [MessageKind::Get, MessageKind::Put] {
        let node = SendingNode::new(literal_node().with_wanted(n(4)));
        let mut option = node.recursive_option();
        assert_eq!(option.n(), Some(n(4)));
        let report = filled(peer.on_request(now, kind, None, &mut option, &mut seeded(47)));
        assert_eq!(report.kind, kind);
        assert_eq!(
            counts(&report),
            HopCounts {
                n: 4,
                k_before: 0,
                k_after: 4,
                added: 4,
                stop: Stop::ReachedN
            }
        );
        assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3), doc(4)]);
        // Without N: the peer's default.
        let mut option = recursive(None);
        let report = filled(peer.on_request(now, kind, None, &mut option, &mut seeded(47)));
        assert_eq!(
            counts(&report),
            HopCounts {
                n: 10,
                k_before: 0,
                k_after: 6,
                added: 6,
                stop: Stop::TableExhausted
            }
        );
    }
}

// §6.1 step 2: "When the NATed node receives the response from the peers in
// the overlay, if it has expressed the desire for STUN/TURN server candidate,
// it check the candidate set in the response and save the candidate set
// locally for later use."
#[test]
fn s6_1_step2_checks_and_saves_the_set() {
    let now = Instant::now();
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=3));
    for kind in [MessageKind::Get, MessageKind::Put] {
        let mut node = SendingNode::new(literal_node());
        // Recursive.
        let mut option = node.recursive_option();
        let _ = filled(peer.on_request(now, kind, None, &mut option, &mut seeded(48)));
        let report = node.on_response(now, kind, &option).unwrap();
        assert_eq!(report.kind, kind);
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
        // Iterative, from another peer at hop 2.
        let mut other = peer_with(literal(), now, Source::RoutingTable, doc_peers(4..=5));
        let mut option = node.iterative_option(2);
        let (answer, _) = answered(other.on_request(now, kind, None, &mut option, &mut seeded(48)));
        let report = node.on_answer(now, kind, 2, &answer).unwrap();
        assert_eq!(
            saved(&report),
            Saved {
                offered: 2,
                saved: 2,
                reserved: 0,
                refreshed: 0,
                filtered: 0,
                refused: 0,
                no_room: 0,
                usable: 5,
                shortfall: 5
            }
        );
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
    let run = run_kind(MessageKind::Get, RoutingMode::Iterative);
    assert_eq!(run.entries.len(), 10);
    let half = HopCounts {
        n: 10,
        k_before: 0,
        k_after: 5,
        added: 5,
        stop: Stop::HopCap,
    };
    assert_eq!(run.hops, vec![half, half]);
    // The second answer's five are either new or already cached (the tables
    // overlap on .7 to .12), all within hop 2's share; how many of each
    // depends on the random choices, everything else follows from it.
    let new = run.saved.saved;
    assert!(new <= 5, "{:?}", run.saved);
    assert_eq!(
        run.saved,
        Saved {
            offered: 5,
            saved: new,
            reserved: 0,
            refreshed: 5 - new,
            filtered: 0,
            refused: 0,
            no_room: 0,
            usable: 5 + new,
            shortfall: 5 - new
        }
    );
}
