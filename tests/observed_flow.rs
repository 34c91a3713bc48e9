//! Observed addresses end to end, in both routing modes: a NATed sending
//! node behind an endpoint-independent or an endpoint-dependent NAT (RFC
//! 4787 §4.1), five intermediate peers, the crate's encodings on the wire.
//!
//! - Recursive mode, whole RELOAD messages: only the first hop adds the
//!   observed-address option (`on_reload_request`), later hops leave it
//!   alone, the responder copies it back and the node records it. One
//!   discovery gives one observer; three discoveries through three
//!   different first hops give a verdict.
//! - Iterative mode, decoded options: every hop answers with its set and
//!   the observed-address extension, so one discovery over three hops gives
//!   a verdict.
//!
//! Then the node acts on it: behind the endpoint-dependent NAT it asks for
//! TURN and ranks TURN-capable candidates first; the host's override wins.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::BytesMut;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::peer::Requester;
use stun_turn_discovery::wire::{self, AnswerInfo, Direction, WireConfig};
use stun_turn_discovery::{
    AddressPolicy, Candidate, IntermediatePeer, Mapping, MessageKind, NodeConfig, Outcome,
    PeerConfig, SendingNode, Services, Source, TransportAddress,
};

const CFG: WireConfig = WireConfig::DEFAULT;
const LOCAL: &str = "10.0.0.2:5000";
const PUBLIC_IP: &str = "203.0.113.50";

/// A NAT between the node and the overlay.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Nat {
    /// One mapped port for every destination.
    Independent,
    /// A mapped port per destination.
    Dependent,
}

impl Nat {
    /// The address peer `i` sees the node's requests come from.
    fn mapped_for(self, i: usize) -> TransportAddress {
        let port = match self {
            Self::Independent => 40_000,
            Self::Dependent => 40_000 + i as u16,
        };
        TransportAddress::udp(SocketAddr::new(PUBLIC_IP.parse().unwrap(), port))
    }
}

/// Peer `i`'s own address, where the node sends to.
fn peer_ip(i: usize) -> IpAddr {
    format!("198.51.100.{}", i + 1).parse().unwrap()
}

/// Five peers; peer `i` offers one STUN-only and one TURN-capable server.
fn peers(now: Instant) -> Vec<IntermediatePeer> {
    (0..5)
        .map(|i| {
            let mut p = IntermediatePeer::new(
                PeerConfig::default().with_address_policy(AddressPolicy::permissive()),
            );
            let stun = Candidate::peer(
                TransportAddress::udp(format!("45.0.{i}.1:3478").parse().unwrap()),
                Services::STUN,
            )
            .with_priority(900);
            let turn = Candidate::peer(
                TransportAddress::udp(format!("45.0.{i}.2:3478").parse().unwrap()),
                Services::BOTH,
            )
            .with_priority(100);
            let _ = p
                .table_mut()
                .sync_source(now, Source::RoutingTable, [stun, turn]);
            p
        })
        .collect()
}

fn nated_node() -> SendingNode {
    let config = NodeConfig::default().with_address_policy(AddressPolicy::permissive());
    let mut node = SendingNode::new(config);
    let local: SocketAddr = LOCAL.parse().unwrap();
    node.set_local_addresses([local.ip()], local.port());
    node
}

/// A minimal RELOAD message: the 38-byte ForwardingHeader with no via or
/// destination list, then `options`.
fn reload(options: &[u8]) -> BytesMut {
    let total = 38 + options.len();
    let mut m = Vec::with_capacity(total + 1024);
    m.extend(0xd245_4c4fu32.to_be_bytes());
    m.extend([0; 12]);
    m.extend((total as u32).to_be_bytes());
    m.extend([0; 12]);
    m.extend([0, 0, 0, 0]);
    m.extend((options.len() as u16).to_be_bytes());
    m.extend(options);
    BytesMut::from(&m[..])
}

/// How many ForwardingOptions of `kind` `message` holds.
fn options_of(message: &[u8], kind: u8) -> usize {
    let len = usize::from(u16::from_be_bytes([message[36], message[37]]));
    let mut at = 38;
    let mut count = 0;
    while at < 38 + len {
        count += usize::from(message[at] == kind);
        at += 4 + usize::from(u16::from_be_bytes([message[at + 2], message[at + 3]]));
    }
    count
}

/// One recursive-mode discovery whose path starts at peer `first` and
/// visits every peer after it, as whole RELOAD messages; the node records
/// the response. Returns the observed address the response carried.
fn recursive_discovery(
    nat: Nat,
    peers: &mut [IntermediatePeer],
    node: &mut SendingNode,
    first: usize,
    now: Instant,
    rng: &mut ChaCha8Rng,
) -> Option<TransportAddress> {
    let mut option = Vec::new();
    wire::encode_option(
        &node.recursive_option(),
        Direction::Request,
        &CFG,
        &mut option,
    )
    .unwrap();
    let mut message = reload(&option);
    for (i, peer) in peers.iter_mut().enumerate().skip(first) {
        // The first hop hears the node through its NAT; the others hear
        // the peer before them.
        let from = if i == first {
            nat.mapped_for(i)
        } else {
            TransportAddress::udp(SocketAddr::new(peer_ip(i - 1), 6084))
        };
        let report = peer
            .on_reload_request(
                now,
                MessageKind::Join,
                Some(Requester::Transport(from)),
                &mut message,
                &CFG,
                rng,
            )
            .unwrap()
            .expect("the option is there");
        assert_eq!(report.observed, (i == first).then_some(from), "hop {i}");
        assert_eq!(options_of(&message, CFG.observed_option_type), 1);
    }
    // The responder copies both options back; the node reads them.
    let range = wire::find_option(&message, &CFG).unwrap().unwrap();
    let echoed = wire::decode_option(&mut &message[range], &CFG).unwrap();
    let _ = node.on_response(now, MessageKind::Join, &echoed).unwrap();
    let seen = wire::find_observed_option(&message, &CFG).unwrap();
    if let Some(seen) = seen {
        node.observed(now, peer_ip(first), seen.socket_addr());
    }
    seen
}

/// One iterative-mode discovery asking peers `0..hops` directly: each
/// answers with its set and the observed-address extension.
fn iterative_discovery(
    nat: Nat,
    peers: &mut [IntermediatePeer],
    node: &mut SendingNode,
    hops: usize,
    now: Instant,
    rng: &mut ChaCha8Rng,
) {
    for (i, peer) in peers.iter_mut().enumerate().take(hops) {
        let mut option = node.iterative_option(i as u8 + 1);
        let from = nat.mapped_for(i);
        let Outcome::Answer(answer, report) = peer.on_request(
            now,
            MessageKind::Get,
            Some(Requester::Transport(from)),
            &mut option,
            rng,
        ) else {
            panic!("an iterative request gets an answer");
        };
        assert_eq!(report.observed, Some(from));
        let mut response = Vec::new();
        wire::encode_answer(&answer, report.answer_info(), &CFG, &mut response).unwrap();
        let answer_len = response.len();
        wire::encode_observed_extension(&from, &CFG, &mut response).unwrap();
        // The node's side.
        let (info, set): (AnswerInfo, _) =
            wire::decode_answer(&mut &response[..answer_len], &CFG).unwrap();
        let _ = node
            .on_answer(now, MessageKind::Get, info.hop, &set)
            .unwrap();
        let seen = wire::decode_observed_extension(&mut &response[answer_len..], &CFG).unwrap();
        node.observed(now, peer_ip(i), seen.socket_addr());
    }
}

#[test]
fn recursive_mode_one_observer_per_discovery_three_first_hops_give_a_verdict() {
    for nat in [Nat::Independent, Nat::Dependent] {
        let now = Instant::now();
        let mut peers = peers(now);
        let mut node = nated_node();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (round, first) in [0, 1, 2].into_iter().enumerate() {
            let seen = recursive_discovery(nat, &mut peers, &mut node, first, now, &mut rng);
            assert_eq!(seen, Some(nat.mapped_for(first)), "{nat:?}");
            let verdict = node.nat_verdict();
            assert_eq!(verdict.current, round as u8 + 1);
            if round < 2 {
                assert_eq!(verdict.mapping, Mapping::Unknown, "{nat:?} after {round}");
            }
            if round == 0 {
                assert_eq!(verdict.nat, None, "one observer decides nothing");
            }
        }
        let verdict = node.nat_verdict();
        let expected = match nat {
            Nat::Independent => Mapping::EndpointIndependent,
            Nat::Dependent => Mapping::EndpointDependent,
        };
        assert_eq!(
            (verdict.mapping, verdict.observers),
            (expected, 3),
            "{nat:?}"
        );
        assert!(verdict.nat.is_some_and(|n| n.is_behind_nat()));
        assert_eq!(verdict.mapped_ip, Some(PUBLIC_IP.parse().unwrap()));
    }
}

#[test]
fn the_same_first_hop_again_is_still_one_observer() {
    let now = Instant::now();
    let mut peers = peers(now);
    let mut node = nated_node();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for _ in 0..5 {
        recursive_discovery(Nat::Independent, &mut peers, &mut node, 0, now, &mut rng);
    }
    let verdict = node.nat_verdict();
    assert_eq!((verdict.current, verdict.mapping), (1, Mapping::Unknown));
}

#[test]
fn iterative_mode_one_discovery_over_three_hops_gives_a_verdict() {
    for (nat, expected) in [
        (Nat::Independent, Mapping::EndpointIndependent),
        (Nat::Dependent, Mapping::EndpointDependent),
    ] {
        let now = Instant::now();
        let mut peers = peers(now);
        let mut node = nated_node();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        iterative_discovery(nat, &mut peers, &mut node, 2, now, &mut rng);
        assert_eq!(node.mapping(), Mapping::Unknown, "two observers: {nat:?}");
        iterative_discovery(nat, &mut peers, &mut node, 3, now, &mut rng);
        let verdict = node.nat_verdict();
        assert_eq!(
            (verdict.mapping, verdict.observers),
            (expected, 3),
            "{nat:?}"
        );
        if nat == Nat::Independent {
            assert_eq!(verdict.reflexive, Some(nat.mapped_for(0).socket_addr()));
        }
    }
}

#[test]
fn behind_an_endpoint_dependent_nat_the_node_asks_for_turn_and_ranks_it_first() {
    let now = Instant::now();
    let mut peers = peers(now);
    let mut node = nated_node();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    // Before any verdict: the configured filter, and the STUN-only servers
    // (priority 900) come first.
    assert!(!node
        .recursive_option()
        .filter()
        .services
        .contains(Services::TURN));
    iterative_discovery(Nat::Dependent, &mut peers, &mut node, 3, now, &mut rng);
    assert_eq!(node.mapping(), Mapping::EndpointDependent);
    for option in [node.recursive_option(), node.iterative_option(1)] {
        assert!(option.filter().services.contains(Services::TURN));
    }
    let best = node.best(now, 10);
    let turn = best
        .iter()
        .take_while(|c| c.candidate().services.contains(Services::TURN))
        .count();
    assert!(turn >= 3, "{best:?}");
    assert!(best[turn..]
        .iter()
        .all(|c| !c.candidate().services.contains(Services::TURN)));
    // Only TURN-capable candidates count toward what the node wants.
    let turn_cached = node
        .candidates()
        .filter(|c| c.candidate().services.contains(Services::TURN))
        .count();
    assert_eq!(
        node.shortfall(now),
        node.config().wanted().get() - turn_cached as u8
    );
    // A further request now brings only TURN-capable candidates.
    let mut option = node.iterative_option(4);
    let Outcome::Answer(answer, _) =
        peers[3].on_request(now, MessageKind::Get, None, &mut option, &mut rng)
    else {
        panic!("iterative");
    };
    assert!(answer
        .iter()
        .all(|e| e.candidate.services.contains(Services::TURN)));
    assert!(!answer.is_empty());

    // The host knows better: its override wins, and clearing it goes back.
    node.set_mapping(Some(Mapping::EndpointIndependent));
    assert_eq!(node.mapping(), Mapping::EndpointIndependent);
    assert!(!node
        .recursive_option()
        .filter()
        .services
        .contains(Services::TURN));
    assert_eq!(node.nat_verdict().mapping, Mapping::EndpointDependent);
    node.set_mapping(None);
    assert_eq!(node.mapping(), Mapping::EndpointDependent);
}

#[test]
fn one_lying_observer_changes_no_verdict() {
    let now = Instant::now();
    let mut peers = peers(now);
    let mut node = nated_node();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    iterative_discovery(Nat::Independent, &mut peers, &mut node, 3, now, &mut rng);
    let before = node.nat_verdict();
    assert_eq!(before.mapping, Mapping::EndpointIndependent);
    // Peer 4 claims another port, then another address altogether.
    for lie in ["203.0.113.50:1", "192.0.2.66:40000"] {
        node.observed(now, peer_ip(3), lie.parse().unwrap());
        let after = node.nat_verdict();
        assert_eq!(
            (after.mapping, after.reflexive, after.nat),
            (before.mapping, before.reflexive, before.nat),
            "{lie}"
        );
    }
    // A fresh node with only the liar and one honest peer decides nothing.
    let mut fresh = nated_node();
    fresh.observed(
        now,
        peer_ip(0),
        Nat::Independent.mapped_for(0).socket_addr(),
    );
    fresh.observed(now, peer_ip(3), "203.0.113.50:1".parse().unwrap());
    assert_eq!(fresh.mapping(), Mapping::Unknown);
}

#[test]
fn a_node_with_a_public_address_reads_as_public() {
    let now = Instant::now();
    let mut node = SendingNode::new(NodeConfig::default());
    let own: SocketAddr = "198.18.0.9:5000".parse().unwrap();
    node.set_local_addresses([own.ip()], own.port());
    for i in 0..3 {
        node.observed(now, peer_ip(i), own);
    }
    let verdict = node.nat_verdict();
    assert_eq!(verdict.mapping, Mapping::EndpointIndependent);
    assert_eq!(verdict.nat, Some(stun_turn_discovery::NatStatus::Public));
}

#[test]
fn peers_that_do_not_know_the_observed_address_skip_it() {
    // A first hop adds the observed-address option behind the piggyback
    // option. A later hop that knows nothing of it finds, decodes and
    // appends to the piggyback option exactly as in a message without it,
    // and the option left is byte for byte the one it would have been.
    let now = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let node = nated_node();
    let mut option = Vec::new();
    wire::encode_option(
        &node.recursive_option(),
        Direction::Request,
        &CFG,
        &mut option,
    )
    .unwrap();
    let mut with = reload(&option);
    let mut first = peers(now).remove(0);
    let seen = Nat::Independent.mapped_for(0);
    let _ = first
        .on_reload_request(
            now,
            MessageKind::Join,
            Some(Requester::Transport(seen)),
            &mut with,
            &CFG,
            &mut rng,
        )
        .unwrap();
    assert_eq!(options_of(&with, CFG.observed_option_type), 1);
    // The same first hop's work without the observed address.
    let mut without = reload(&option);
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let _ = peers(now)
        .remove(0)
        .on_reload_request(now, MessageKind::Join, None, &mut without, &CFG, &mut rng)
        .unwrap();
    assert_eq!(wire::find_observed_option(&without, &CFG), Ok(None));
    let piggyback = |m: &[u8]| {
        let r = wire::find_option(m, &CFG).unwrap().unwrap();
        m[r].to_vec()
    };
    assert_eq!(piggyback(&with), piggyback(&without));
    // The second hop (it passes no requester) treats both alike.
    for message in [&mut with, &mut without] {
        let mut second = peers(now).remove(1);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let report = second
            .on_reload_request(now, MessageKind::Join, None, message, &CFG, &mut rng)
            .unwrap()
            .unwrap();
        assert_eq!((report.hop, report.observed), (2, None));
    }
    assert_eq!(piggyback(&with), piggyback(&without));
    assert_eq!(wire::find_observed_option(&with, &CFG), Ok(Some(seen)));
    // An iterative answer decodes the same with or without the extension
    // beside it: the extensions are separate structures.
    let mut peer = peers(now).remove(2);
    let mut request = node.iterative_option(1);
    let Outcome::Answer(answer, report) = peer.on_request(
        now,
        MessageKind::Get,
        Some(Requester::Transport(seen)),
        &mut request,
        &mut rng,
    ) else {
        panic!("iterative");
    };
    let mut bytes = Vec::new();
    wire::encode_answer(&answer, report.answer_info(), &CFG, &mut bytes).unwrap();
    let alone = wire::decode_answer(&mut &bytes[..], &CFG).unwrap();
    assert_eq!(alone.1, answer);
}
