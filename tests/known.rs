//! The known list: a sending node names the candidates it holds, and hops
//! skip them (WIRE.md, "The known list").

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::error::ConfigError;
use stun_turn_discovery::wire::{self, Direction, OptionView, WireConfig, WireError};
use stun_turn_discovery::*;

const CFG: WireConfig = WireConfig {
    option_type: 1,
    extension_type: 1,
    ..WireConfig::DEFAULT
};

fn addr(i: u32) -> TransportAddress {
    TransportAddress::new(
        IpAddr::V4(Ipv4Addr::from(0x0b00_0000 | i)),
        3478,
        Transport::Udp,
    )
}

fn peer(entries: u32, config: PeerConfig) -> IntermediatePeer {
    let mut peer = IntermediatePeer::new(config);
    let _ = peer.table_mut().sync_source(
        Instant::now(),
        Source::RoutingTable,
        (0..entries).map(|i| Candidate::peer(addr(i), Services::BOTH)),
    );
    peer
}

fn known(addresses: impl IntoIterator<Item = u32>) -> KnownKeys {
    let list: Vec<TransportAddress> = addresses.into_iter().map(addr).collect();
    KnownKeys::of(UniquenessKey::Ip, &list)
}

#[test]
fn a_hop_skips_what_the_node_holds_and_the_skipped_do_not_count_against_its_share() {
    let now = Instant::now();
    let config = PeerConfig::default().with_selection(SelectionPolicy::ByPriority);
    let mut p = peer(10, config);
    // By priority, ties by address: 0..10 in order. The node holds 0, 1, 2.
    let mut option = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip)
        .with_known(known(0..3));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let report = *p
        .on_request(now, MessageKind::Get, None, &mut option, &mut rng)
        .report();
    assert_eq!(report.added(), 5, "a full share of new candidates");
    let got: Vec<TransportAddress> = option.set().iter().map(|e| e.candidate.address).collect();
    assert_eq!(got, (3..8).map(addr).collect::<Vec<_>>());
}

#[test]
fn iterative_answers_skip_them_too() {
    let now = Instant::now();
    let mut p = peer(4, PeerConfig::draft_literal());
    let mut option =
        PiggybackOption::iterative(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip, 1)
            .with_known(known([0, 2]));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let Outcome::Answer(answer, _) =
        p.on_request(now, MessageKind::Get, None, &mut option, &mut rng)
    else {
        panic!("iterative");
    };
    let got: Vec<TransportAddress> = answer.iter().map(|e| e.candidate.address).collect();
    assert_eq!(got, [addr(1), addr(3)]);
}

#[test]
fn the_encoded_path_skips_the_same_ones() {
    let now = Instant::now();
    let mut p = peer(40, PeerConfig::default());
    let option = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip)
        .with_known(known(0..20));
    let mut bytes = BytesMut::new();
    wire::encode_option(&option, Direction::Request, &CFG, &mut bytes).unwrap();
    // The view reads the list back.
    assert_eq!(
        OptionView::new_checked(&bytes[..], &CFG).unwrap().known(),
        *option.known()
    );

    let mut decoded = wire::decode_option(&mut &bytes[..], &CFG).unwrap();
    assert_eq!(decoded, option);
    let r1 = *p
        .on_request(
            now,
            MessageKind::Get,
            None,
            &mut decoded,
            &mut ChaCha8Rng::seed_from_u64(7),
        )
        .report();
    let r2 = p
        .on_encoded_request(
            now,
            MessageKind::Get,
            None,
            &mut bytes,
            &CFG,
            &mut ChaCha8Rng::seed_from_u64(7),
        )
        .unwrap();
    assert_eq!(r1, r2);
    let mut reencoded = Vec::new();
    wire::encode_option(&decoded, Direction::Request, &CFG, &mut reencoded).unwrap();
    assert_eq!(&bytes[..], &reencoded[..]);
    assert!(decoded.set().iter().all(|e| !option
        .known()
        .holds(UniquenessKey::Ip, &e.candidate.address)));
}

#[test]
fn the_node_names_what_it_holds_within_its_hint() {
    let t0 = Instant::now();
    let mut node = SendingNode::new(NodeConfig::default().with_known_hint(3).unwrap());
    assert!(
        node.recursive_option().known().is_empty(),
        "nothing held yet"
    );
    // One hop sends 10: 0..5 within its share of N = 10, 5..10 as reserve.
    let entries = (0..10).map(|i| SetEntry {
        candidate: Candidate::peer(addr(i), Services::BOTH),
        hop: 1,
    });
    let set = CandidateSet::from_entries(UniquenessKey::Ip, entries).unwrap();
    let option =
        PiggybackOption::from_parts(RoutingMode::Recursive, None, Filter::ANY, 2, set).unwrap();
    let r = node.on_response(t0, MessageKind::Join, &option).unwrap();
    assert_eq!((r.saved, r.reserved), (5, 5));
    // Refresh 4 later: it is named first.
    let later = t0 + Duration::from_secs(1);
    let again = CandidateSet::from_entries(
        UniquenessKey::Ip,
        [SetEntry {
            candidate: Candidate::peer(addr(4), Services::BOTH),
            hop: 1,
        }],
    )
    .unwrap();
    let _ = node.on_answer(later, MessageKind::Get, 1, &again).unwrap();
    let named = node.known();
    assert_eq!(named.len(), 3);
    assert!(named.holds(UniquenessKey::Ip, &addr(4)));
    assert!(named.holds(UniquenessKey::Ip, &addr(0)) && named.holds(UniquenessKey::Ip, &addr(1)));
    // Reserve candidates are not named.
    assert!((5..10).all(|i| !named.holds(UniquenessKey::Ip, &addr(i))));
    assert_eq!(node.iterative_option(2).known(), &named);

    let off = SendingNode::new(NodeConfig::default().with_known_hint(0).unwrap());
    assert!(off.recursive_option().known().is_empty());
    assert_eq!(
        NodeConfig::default().with_known_hint(65),
        Err(ConfigError::AboveMax {
            what: "known hint",
            value: 65,
            max: 64
        })
    );
}

#[test]
fn malformed_known_lists_are_refused() {
    let option = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip)
        .with_known(known(0..2));
    let mut good = Vec::new();
    wire::encode_option(&option, Direction::Request, &CFG, &mut good).unwrap();
    // count 65.
    let mut long = good.clone();
    long[10] = 65;
    assert_eq!(
        wire::decode_option(&mut &long[..], &CFG).unwrap_err(),
        WireError::TooLong { what: "known list" }
    );
    assert_eq!(
        OptionView::new_checked(&long[..], &CFG).unwrap_err(),
        WireError::TooLong { what: "known list" }
    );
    // count 3 with room for 2: the list runs into the end.
    let mut short = good.clone();
    short[10] = 3;
    assert_eq!(
        wire::decode_option(&mut &short[..], &CFG).unwrap_err(),
        WireError::Truncated { what: "known list" }
    );
    // decode_option_into keeps the option's own list on error.
    let mut reused =
        PiggybackOption::recursive(None, Filter::ANY, UniquenessKey::Ip).with_known(known([9]));
    assert!(wire::decode_option_into(&mut &short[..], &CFG, &mut reused).is_err());
    assert_eq!(reused.known(), &known([9]));
    wire::decode_option_into(&mut &good[..], &CFG, &mut reused).unwrap();
    assert_eq!(reused, option);
}

#[test]
fn at_most_64_are_named() {
    let k = known(0..100);
    assert_eq!(k.len(), KnownKeys::MAX);
    let option =
        PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip).with_known(k);
    assert_eq!(wire::option_len(&option), 4 + 6 + 1 + 2 * 64);
}
