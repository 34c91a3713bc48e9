//! §4.2 Intermediate peers' behavior, steps 1 to 3: when to act at all,
//! forwarding responses untouched (step 1), choosing N (step 2) and doing
//! nothing once K reaches it (step 3).

use std::time::Instant;

use stun_turn_discovery::peer::Stop;
use stun_turn_discovery::{MessageKind, PeerConfig, RoutingMode, Source, N};

use crate::common::*;

// §4.2: "If they find that the sending peer has expressed his demand on server
// candidates, they MUST follow below procedure additionally."
#[test]
fn s4_2_must_follow_procedure_when_demand_expressed() {
    let now = Instant::now();
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=4));
    let mut option = recursive(Some(10));
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(28)));
    assert_eq!(
        (report.kind, report.mode, report.hop, counts(&report)),
        (
            MessageKind::Join,
            RoutingMode::Recursive,
            1,
            HopCounts {
                n: 10,
                k_before: 0,
                k_after: 4,
                added: 4,
                stop: Stop::TableExhausted
            }
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
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=4));
    // A response carrying a partly filled set, with room left for more.
    let mut response = recursive(Some(10));
    let _ = filled(
        peer_with(literal(), now, Source::RoutingTable, doc_peers(20..=21)).on_request(
            now,
            MessageKind::Join,
            None,
            &mut response,
            &mut seeded(29),
        ),
    );
    let before = response.clone();
    let table_before = table_addrs(&peer);
    // Changed on purpose: `on_response` takes only the kind and returns `()`
    // (it used to take the option and return
    // `ResponseAction::ForwardUnchanged`). The peer is never handed the
    // response's option, so it cannot add to it; the host forwards it as is.
    for kind in [
        MessageKind::Join,
        MessageKind::Maintenance,
        MessageKind::Get,
        MessageKind::Put,
    ] {
        peer.on_response(kind);
    }
    assert_eq!(response, before);
    assert_eq!(addrs(response.set()), vec![doc(20), doc(21)]);
    assert_eq!(table_addrs(&peer), table_before);
    // An iterative-mode response (the old test's second case) needs no
    // separate check any more: the call has no option, so no mode, to act on.
}

// §4.2 step 2: "If the sending peer has set the number of candidate it wants
// in the message, set the N to this number."
#[test]
fn s4_2_step2_n_from_the_message() {
    let now = Instant::now();
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=12));
    for (wanted, k) in [(1u8, 1u8), (4, 4), (12, 12), (20, 12)] {
        let mut option = recursive(Some(wanted));
        let report =
            filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(30)));
        let stop = if k == wanted {
            Stop::ReachedN
        } else {
            Stop::TableExhausted
        };
        assert_eq!(
            counts(&report),
            HopCounts {
                n: wanted,
                k_before: 0,
                k_after: k,
                added: k,
                stop
            },
            "N = {wanted}"
        );
        assert_eq!(option.set().len(), usize::from(k));
    }
}

// §4.2 step 2: "If it has not been set in the message, we MAY choose a default
// value for N, for example, 10;"
#[test]
fn s4_2_step2_default_n_when_not_in_the_message() {
    let now = Instant::now();
    assert_eq!(N::DEFAULT.get(), 10);
    assert_eq!(PeerConfig::default().default_n(), N::DEFAULT);
    assert_eq!(PeerConfig::draft_literal().default_n(), N::DEFAULT);
    assert_eq!(PeerConfig::default().effective_n(None), n(10));
    let mut peer = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=12));
    let mut option = recursive(None);
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(31)));
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
    // A peer configured with another default uses it.
    let mut peer = peer_with(
        literal().with_default_n(n(3)),
        now,
        Source::RoutingTable,
        doc_peers(1..=12),
    );
    let mut option = recursive(None);
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(31)));
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
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3)]);
}

// The N cap is the crate's bound on what one request can make a peer add
// (SECURITY.md, amplification), applied to step 2's N.
// §4.2 step 2: "If the sending peer has set the number of candidate it wants
// in the message, set the N to this number."
#[test]
fn s4_2_step2_n_is_capped() {
    let now = Instant::now();
    assert_eq!(PeerConfig::default().max_n(), N::MAX);
    assert_eq!(N::MAX.get(), 64);
    let capped = literal().with_max_n(n(16));
    assert_eq!(capped.effective_n(Some(N::MAX)), n(16));
    let mut peer = peer_with(capped, now, Source::RoutingTable, doc_peers(1..=40));
    let mut option = recursive(Some(64));
    let report =
        filled(peer.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(32)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 16,
            k_before: 0,
            k_after: 16,
            added: 16,
            stop: Stop::ReachedN
        }
    );
    assert_eq!(option.set().len(), 16);
    assert_eq!(
        option.n(),
        Some(n(64)),
        "the message's N itself is untouched"
    );
}

// §4.2 step 3: "If the number K in STUN/TURN candidate set equals or exceeds
// N, peers don't do anything;"
#[test]
fn s4_2_step3_k_at_or_above_n_does_nothing() {
    let now = Instant::now();
    let mut first = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=5));
    let mut second = peer_with(literal(), now, Source::RoutingTable, doc_peers(6..=9));
    let mut option = recursive(Some(3));
    let report =
        filled(first.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(33)));
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
    let full = option.set().clone();
    // K = N = 3.
    let report =
        filled(second.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(33)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 3,
            k_before: 3,
            k_after: 3,
            added: 0,
            stop: Stop::AlreadyFull
        }
    );
    assert_eq!(option.set(), &full);
    assert_eq!(addrs(option.set()), vec![doc(1), doc(2), doc(3)]);
}

// §4.2 step 3: "If the number K in STUN/TURN candidate set equals or exceeds
// N, peers don't do anything;"
#[test]
fn s4_2_step3_k_exceeding_n_does_nothing() {
    let now = Instant::now();
    let mut first = peer_with(literal(), now, Source::RoutingTable, doc_peers(1..=8));
    // This peer caps N at 5, below the K = 8 the set already holds.
    let capped = literal().with_default_n(n(5)).with_max_n(n(5));
    let mut second = peer_with(capped, now, Source::RoutingTable, doc_peers(9..=12));
    let mut option = recursive(Some(10));
    let _ = filled(first.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(34)));
    let before = option.set().clone();
    let report =
        filled(second.on_request(now, MessageKind::Join, None, &mut option, &mut seeded(34)));
    assert_eq!(
        counts(&report),
        HopCounts {
            n: 5,
            k_before: 8,
            k_after: 8,
            added: 0,
            stop: Stop::AlreadyFull
        }
    );
    assert_eq!(option.set(), &before);
}
