//! SECURITY.md, from the attacker's side: each test plays one attack that
//! document names and checks the guarantee it states, and nothing more.
//!
//! Candidates use addresses in 11.0.0.0/8, ordinary global addresses, so
//! the default (public Internet) address policy applies unchanged.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::error::ResponseError;
use stun_turn_discovery::wire::{self, Direction, WireConfig};
use stun_turn_discovery::*;

fn addr(i: u32) -> TransportAddress {
    let ip = Ipv4Addr::from(0x0b00_0000 | i);
    TransportAddress::new(IpAddr::V4(ip), 3478, Transport::Udp)
}

fn entry(i: u32, hop: u8, priority: u16) -> SetEntry {
    SetEntry {
        candidate: Candidate::peer(addr(i), Services::BOTH).with_priority(priority),
        hop,
    }
}

/// A recursive-mode response as an on-path peer can forge it: any N byte
/// (`None` = cleared), any hop position, any entries.
fn forged(
    n: Option<N>,
    next_hop: u8,
    entries: impl IntoIterator<Item = SetEntry>,
) -> PiggybackOption {
    let set = CandidateSet::from_entries(UniquenessKey::Ip, entries).unwrap();
    PiggybackOption::from_parts(RoutingMode::Recursive, n, Filter::ANY, next_hop, set).unwrap()
}

fn node() -> SendingNode {
    SendingNode::new(NodeConfig::default())
}

fn addresses(node: &SendingNode) -> Vec<TransportAddress> {
    let mut v: Vec<_> = node.candidates().map(|c| c.candidate().address).collect();
    v.sort();
    v
}

/// "The sending node judges every response by the N it sent": a response
/// whose N byte was cleared (which once made the node fall back to the N
/// cap of 64) carries 30 entries claiming hop 1, and is refused whole.
#[test]
fn cleared_n_in_a_response_does_not_raise_the_bound() {
    let now = Instant::now();
    let mut node = node();
    let option = forged(None, 2, (0..30).map(|i| entry(i, 1, 65_535)));
    let err = node
        .on_response(now, MessageKind::Join, &option)
        .unwrap_err();
    assert_eq!(
        err,
        ResponseError::TooMany {
            k: 30,
            n: N::DEFAULT
        }
    );
    assert!(node.is_empty(), "a refused set leaves the cache as it was");
}

/// The same with N raised to the maximum in the echo.
#[test]
fn raised_n_in_a_response_does_not_raise_the_bound() {
    let now = Instant::now();
    let mut node = node();
    let option = forged(Some(N::MAX), 2, (0..11).map(|i| entry(i, 1, 65_535)));
    let err = node
        .on_response(now, MessageKind::Join, &option)
        .unwrap_err();
    assert_eq!(
        err,
        ResponseError::TooMany {
            k: 11,
            n: N::DEFAULT
        }
    );
    assert!(node.is_empty());
}

/// The issue's attack: 64 entries at priority 65535 over two claimed hops
/// against a full cache of honest candidates. Refused whole; every honest
/// candidate stays.
#[test]
fn sixty_four_forged_entries_evict_nothing_from_a_full_cache() {
    let now = Instant::now();
    let config = NodeConfig::default().with_cache_capacity(20).unwrap();
    let mut node = SendingNode::new(config);
    // Fill the cache honestly: two responses of 10 from two hops each.
    for round in 0..2u32 {
        let honest = (0..10).map(|i| entry(1000 + round * 10 + i, 1 + (i / 5) as u8, 300));
        let r = node
            .on_response(now, MessageKind::Get, &forged(Some(N::DEFAULT), 3, honest))
            .unwrap();
        assert_eq!((r.saved, r.reserved), (10, 0));
    }
    let before = addresses(&node);
    assert_eq!(before.len(), 20);

    let attack = (0..64).map(|i| entry(i, 1 + (i / 32) as u8, 65_535));
    let err = node
        .on_response(now, MessageKind::Get, &forged(None, 3, attack))
        .unwrap_err();
    assert_eq!(
        err,
        ResponseError::TooMany {
            k: 64,
            n: N::DEFAULT
        }
    );
    assert_eq!(addresses(&node), before);
}

/// "One hop cannot own what `best` hands out first": a full set from one
/// claimed hop is kept, but only its per-hop share counts; the rest is
/// reserve, ranked after every candidate within a share.
#[test]
fn one_claimed_hop_gets_its_share_and_the_rest_waits_in_reserve() {
    let now = Instant::now();
    let mut node = node();
    let honest = (0..4).map(|i| entry(100 + i, 1 + (i / 2) as u8, 1));
    let r = node
        .on_response(now, MessageKind::Join, &forged(Some(N::DEFAULT), 3, honest))
        .unwrap();
    assert_eq!((r.saved, r.reserved, r.shortfall), (4, 0, 6));

    let one_hop = (0..10).map(|i| entry(i, 1, 65_535));
    let r = node
        .on_response(now, MessageKind::Join, &forged(None, 2, one_hop))
        .unwrap();
    assert_eq!((r.offered, r.saved, r.reserved), (10, 5, 5));
    assert_eq!((r.usable, r.shortfall), (9, 1));

    let best = node.best(now, 14);
    assert_eq!(best.len(), 14);
    let reserve: Vec<bool> = best.iter().map(|c| c.is_reserve()).collect();
    assert_eq!(reserve, [[false; 9].as_slice(), &[true; 5]].concat());
    // The honest candidates are all handed out before any reserve one.
    let first9: Vec<u32> = best[..9]
        .iter()
        .map(|c| match c.candidate().address.ip() {
            IpAddr::V4(v4) => u32::from(v4) & 0xffff,
            IpAddr::V6(_) => unreachable!(),
        })
        .collect();
    assert_eq!(first9.iter().filter(|&&i| i >= 100).count(), 4);
}

/// Reserve candidates never count as wanted ones, however many arrive.
#[test]
fn reserve_never_fills_the_shortfall() {
    let now = Instant::now();
    let mut node = node();
    for round in 0..5u32 {
        let set = (0..10).map(|i| entry(round * 100 + i, 1, 65_535));
        let r = node
            .on_response(now, MessageKind::Get, &forged(None, 2, set))
            .unwrap();
        assert_eq!(r.reserved, 5);
    }
    // Five responses, each from one hop: 5 in share each time.
    assert_eq!(node.shortfall(now), 0);
    let mut node = SendingNode::new(NodeConfig::default().with_wanted(N::new(20).unwrap()));
    for round in 0..3u32 {
        let set = (0..20).map(|i| entry(round * 100 + i, 1, 65_535));
        let _ = node
            .on_response(now, MessageKind::Get, &forged(None, 2, set))
            .unwrap();
    }
    assert_eq!(node.len(), 60);
    assert_eq!(node.shortfall(now), 0, "3 × 10 in share ≥ 20 wanted");
    let reserved = node.candidates().filter(|c| c.is_reserve()).count();
    assert_eq!(reserved, 30);
}

/// Feedback holds: a candidate that worked outranks any number of fresh
/// forged ones and is never evicted by them.
#[test]
fn a_candidate_that_worked_survives_any_flood_of_forged_sets() {
    let t0 = Instant::now();
    let config = NodeConfig::default().with_cache_capacity(10).unwrap();
    let mut node = SendingNode::new(config);
    let honest = forged(Some(N::DEFAULT), 2, [entry(7_000, 1, 1)]);
    let _ = node.on_response(t0, MessageKind::Join, &honest).unwrap();
    assert!(node.feedback(
        t0,
        &addr(7_000),
        Feedback::Worked {
            rtt: Duration::from_millis(40)
        }
    ));

    for round in 0..100u32 {
        let now = t0 + Duration::from_secs(u64::from(round));
        let set = (0..10).map(|i| entry(round * 16 + i, 1 + (i / 5) as u8, 65_535));
        let _ = node
            .on_response(now, MessageKind::Get, &forged(None, 3, set))
            .unwrap();
        assert_eq!(node.best(now, 1)[0].candidate().address, addr(7_000));
    }
}

/// In iterative mode the node stamps the hop itself: an answering peer
/// cannot claim another position, and within its own answer only its
/// share counts.
#[test]
fn an_iterative_answer_cannot_claim_another_hop() {
    let now = Instant::now();
    let mut node = node();
    let claims_hop_2 = CandidateSet::from_entries(UniquenessKey::Ip, [entry(1, 2, 9)]).unwrap();
    let err = node
        .on_answer(now, MessageKind::Get, 1, &claims_hop_2)
        .unwrap_err();
    assert_eq!(
        err,
        ResponseError::HopOutOfRange {
            index: 0,
            hop: 2,
            first: 1,
            last: 1
        }
    );
    let full =
        CandidateSet::from_entries(UniquenessKey::Ip, (0..10).map(|i| entry(i, 1, 9))).unwrap();
    let r = node.on_answer(now, MessageKind::Get, 1, &full).unwrap();
    assert_eq!((r.saved, r.reserved), (5, 5));
}

/// Reordering or moving entries between hops is refused whole.
#[test]
fn tampered_hop_stamps_are_refused_whole() {
    let now = Instant::now();
    let mut node = node();
    let backwards = forged(Some(N::DEFAULT), 3, [entry(1, 2, 1), entry(2, 1, 1)]);
    assert_eq!(
        node.on_response(now, MessageKind::Get, &backwards)
            .unwrap_err(),
        ResponseError::HopOrder { index: 1 }
    );
    let unprocessed = forged(Some(N::DEFAULT), 2, [entry(1, 1, 1), entry(2, 2, 1)]);
    assert_eq!(
        node.on_response(now, MessageKind::Get, &unprocessed)
            .unwrap_err(),
        ResponseError::HopOutOfRange {
            index: 1,
            hop: 2,
            first: 1,
            last: 1
        }
    );
    assert!(node.is_empty());
}

/// Reflection: a forged set pointing at private, loopback or unspecified
/// addresses gets nothing into the cache under the default policy.
#[test]
fn forged_private_and_special_addresses_are_refused() {
    let now = Instant::now();
    let mut node = node();
    let bad = [
        "10.0.0.1",
        "127.0.0.1",
        "192.168.1.1",
        "169.254.0.1",
        "0.0.0.0",
        "100.64.0.1",
    ];
    let set = bad.iter().enumerate().map(|(i, ip)| SetEntry {
        candidate: Candidate::peer(
            TransportAddress::new(ip.parse().unwrap(), 3478, Transport::Udp),
            Services::BOTH,
        ),
        hop: 1 + (i / 3) as u8,
    });
    let r = node
        .on_response(now, MessageKind::Get, &forged(Some(N::DEFAULT), 3, set))
        .unwrap();
    assert_eq!((r.refused, r.saved, r.reserved), (6, 0, 0));
    assert!(node.is_empty());
}

/// Amplification: whatever N a request asks for, a peer adds at most its
/// share of its own N cap.
#[test]
fn a_request_for_the_largest_n_gets_the_peer_cap_share() {
    let now = Instant::now();
    let config = PeerConfig::default().with_max_n(N::new(16).unwrap());
    let mut peer = IntermediatePeer::new(config);
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        (0..200).map(|i| Candidate::peer(addr(i), Services::BOTH)),
    );
    let mut option = PiggybackOption::recursive(Some(N::MAX), Filter::ANY, UniquenessKey::Ip);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let report = *peer
        .on_request(now, MessageKind::Get, None, &mut option, &mut rng)
        .report();
    assert_eq!((report.n.get(), report.added()), (16, 8));
    assert_eq!(option.set().len(), 8);
}

/// Malformed input on the encoded path is refused with a typed error and
/// the bytes are left exactly as they were.
#[test]
fn a_malformed_encoded_option_is_refused_and_left_untouched() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(PeerConfig::default());
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        (0..20).map(|i| Candidate::peer(addr(i), Services::BOTH)),
    );
    let cfg = WireConfig::default();
    let option = forged(Some(N::DEFAULT), 2, [entry(500, 1, 1), entry(501, 1, 1)]);
    let mut good = BytesMut::new();
    wire::encode_option(&option, Direction::Request, &cfg, &mut good).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut cases: Vec<BytesMut> = Vec::new();
    // Truncated, K above the entries, N = 255, a trailing byte, and two
    // entries with the same key.
    cases.push(BytesMut::from(&good[..good.len() - 1]));
    let mut k_high = good.clone();
    k_high[9] = 3;
    cases.push(k_high);
    let mut n_255 = good.clone();
    n_255[6] = 255;
    cases.push(n_255);
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[0]);
    cases.push(trailing);
    let dup = forged(Some(N::DEFAULT), 2, [entry(500, 1, 1)]);
    let mut dup_bytes = BytesMut::new();
    wire::encode_option(&dup, Direction::Request, &cfg, &mut dup_bytes).unwrap();
    let one_entry = dup_bytes[10..].to_vec();
    dup_bytes.extend_from_slice(&one_entry);
    dup_bytes[9] = 2;
    let len = (dup_bytes.len() - 4) as u16;
    dup_bytes[2..4].copy_from_slice(&len.to_be_bytes());
    cases.push(dup_bytes);
    for mut case in cases {
        let before = case.clone();
        let result =
            peer.on_encoded_request(now, MessageKind::Get, None, &mut case, &cfg, &mut rng);
        assert!(result.is_err(), "{before:02x?} was accepted");
        assert_eq!(case, before, "a refused option is left as it was");
    }
    // The sound option still works.
    let report = peer
        .on_encoded_request(now, MessageKind::Get, None, &mut good, &cfg, &mut rng)
        .unwrap();
    assert_eq!(report.added(), 5);
}

/// Sybil concentration: under the prefix key, one /24 yields one entry per
/// set and per cache, however many addresses the operator holds.
#[test]
fn one_network_yields_one_candidate_under_the_prefix_key() {
    let now = Instant::now();
    let mut peer =
        IntermediatePeer::new(PeerConfig::default().with_per_hop_share(PerHopShare::WHOLE));
    // 200 addresses in 11.0.0.0/24 and 3 in other /24s.
    let sybil = (1..=200).map(|i| Candidate::peer(addr(i), Services::BOTH).with_priority(9_000));
    let others = [0x100u32, 0x200, 0x300].map(|i| Candidate::peer(addr(i), Services::BOTH));
    let _ = peer
        .table_mut()
        .sync_source(now, Source::RoutingTable, sybil.chain(others));
    let mut node = SendingNode::new(
        NodeConfig::default()
            .with_key(UniquenessKey::Prefix)
            .with_per_hop_share(PerHopShare::WHOLE),
    );
    let mut option = node.recursive_option();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let _ = peer.on_request(now, MessageKind::Get, None, &mut option, &mut rng);
    assert_eq!(option.set().len(), 4, "one per /24");
    let r = node.on_response(now, MessageKind::Get, &option).unwrap();
    assert_eq!(r.saved, 4);
    // A forged set with two addresses of one /24 cannot even be built.
    let err = CandidateSet::from_entries(UniquenessKey::Prefix, [entry(1, 1, 1), entry(2, 1, 1)])
        .unwrap_err();
    assert!(matches!(err, error::SetError::Duplicate { .. }));
}

/// State exhaustion: the table refuses entries beyond its capacity (and
/// says which); the node's cache never grows beyond its own.
#[test]
fn table_and_cache_stay_within_their_capacity() {
    let now = Instant::now();
    let table_config = peer::TableConfig::default().with_max_entries(50).unwrap();
    let mut table = CandidateTable::new(table_config);
    let report = table.sync_source(
        now,
        Source::RoutingTable,
        (0..80).map(|i| Candidate::peer(addr(i), Services::BOTH)),
    );
    assert_eq!(
        (report.added, report.refused.len(), table.len()),
        (50, 30, 50)
    );
    assert!(report
        .refused
        .iter()
        .all(|e| *e == error::TableError::Full { max: 50 }));

    let mut node = SendingNode::new(NodeConfig::default().with_cache_capacity(12).unwrap());
    for round in 0..20u32 {
        let set = (0..10).map(|i| entry(round * 16 + i, 1 + (i / 5) as u8, 1));
        let _ = node
            .on_response(now, MessageKind::Get, &forged(Some(N::DEFAULT), 3, set))
            .unwrap();
        assert!(node.len() <= 12);
    }
    assert_eq!(node.len(), 12);
}

/// A hop report read back from a host's storage cannot make the crate
/// panic, however inconsistent.
#[cfg(feature = "serde")]
#[test]
fn an_inconsistent_hop_report_reads_as_nothing_added() {
    let json = r#"{"kind":"join","mode":"recursive","n":10,"k_before":9,"k_after":2,"hop":1,"stop":"ReachedN"}"#;
    let report: peer::HopReport = serde_json::from_str(json).unwrap();
    assert_eq!(report.added(), 0);
    let bad_n = r#"{"kind":"join","mode":"recursive","n":0,"k_before":0,"k_after":0,"hop":1,"stop":"ReachedN"}"#;
    assert!(serde_json::from_str::<peer::HopReport>(bad_n).is_err());
}

/// Draining a table: one requester flooding a peer with requests learns,
/// request by request, every candidate it holds. With a request limit, a
/// flood from one address gets the burst's worth and then nothing, while
/// the requests themselves still pass (the hop advances) and other
/// requesters are served.
#[test]
fn a_flood_from_one_requester_cannot_drain_the_table() {
    use stun_turn_discovery::peer::{RequestLimit, Requester, Stop};
    let now = Instant::now();
    let limit = RequestLimit::new(6, 3).unwrap();
    let mut peer = IntermediatePeer::new(PeerConfig::default().with_request_limit(limit));
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        (0..1_000).map(|i| Candidate::peer(addr(i), Services::BOTH)),
    );
    let attacker = Requester::Address("11.9.9.9".parse().unwrap());
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut learned = std::collections::BTreeSet::new();
    for _ in 0..10_000 {
        let mut option =
            PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
        let outcome = peer.on_request(now, MessageKind::Get, Some(attacker), &mut option, &mut rng);
        assert_eq!(option.hop(), 2, "the request passes whatever the limit");
        if outcome.report().stop == Stop::Limited {
            assert!(option.set().is_empty());
        }
        learned.extend(option.set().iter().map(|e| e.candidate.address));
    }
    // Three requests' worth at the default share of 5 of N = 10.
    assert_eq!(learned.len(), 15);
    assert_eq!(peer.stats().limited, 10_000 - 3);
    // Another requester, and a request that names none, are served.
    let honest = Requester::Address("11.8.8.8".parse().unwrap());
    for from in [Some(honest), None] {
        let mut option =
            PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
        let _ = peer.on_request(now, MessageKind::Get, from, &mut option, &mut rng);
        assert_eq!(option.set().len(), 5);
    }
    // A minute later the attacker gets its rate again: 6 more requests.
    let later = now + Duration::from_secs(60);
    let served = (0..100)
        .filter(|_| {
            let mut option =
                PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
            let o = peer.on_request(
                later,
                MessageKind::Get,
                Some(attacker),
                &mut option,
                &mut rng,
            );
            o.report().added() > 0
        })
        .count();
    assert_eq!(served, 3, "the burst refills to 3, not beyond");
}

/// The limit holds on the encoded paths too: bytes in, nothing added.
#[test]
fn the_limit_holds_on_the_encoded_paths() {
    use stun_turn_discovery::peer::{RequestLimit, Requester, Stop};
    let now = Instant::now();
    let limit = RequestLimit::new(1, 1).unwrap();
    let mut peer = IntermediatePeer::new(PeerConfig::default().with_request_limit(limit));
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        (0..50).map(|i| Candidate::peer(addr(i), Services::BOTH)),
    );
    let cfg = WireConfig::default();
    let from = Some(Requester::Address("11.9.9.9".parse().unwrap()));
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let empty = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
    let mut first = BytesMut::new();
    wire::encode_option(&empty, Direction::Request, &cfg, &mut first).unwrap();
    let mut second = first.clone();
    let r1 = peer
        .on_encoded_request(now, MessageKind::Get, from, &mut first, &cfg, &mut rng)
        .unwrap();
    let r2 = peer
        .on_encoded_request(now, MessageKind::Get, from, &mut second, &cfg, &mut rng)
        .unwrap();
    assert_eq!((r1.added(), r2.added(), r2.stop), (5, 0, Stop::Limited));
    let decoded = wire::decode_option(&mut &second[..], &cfg).unwrap();
    assert_eq!((decoded.set().len(), decoded.hop()), (0, 2));
}

/// A first hop that fills the whole set (as the draft allows) cannot make
/// its over-share candidates count by sending them again: the node names
/// what it holds, reserve included, and only a success takes a candidate
/// out of reserve. The node keeps asking, on other paths.
#[test]
fn the_same_first_hop_cannot_promote_its_reserve() {
    let now = Instant::now();
    let mut hop1 = IntermediatePeer::new(PeerConfig::draft_literal());
    let _ = hop1.table_mut().sync_source(
        now,
        Source::RoutingTable,
        (0..10).map(|i| Candidate::peer(addr(i), Services::BOTH)),
    );
    let mut node = node();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for _ in 0..5 {
        let mut option = node.recursive_option();
        let _ = hop1.on_request(now, MessageKind::Get, None, &mut option, &mut rng);
        let _ = node.on_response(now, MessageKind::Get, &option).unwrap();
    }
    assert_eq!(
        node.shortfall(now),
        5,
        "half of N still wanted from elsewhere"
    );
    assert_eq!(node.candidates().filter(|c| c.is_reserve()).count(), 5);
}

/// What the node learned by using a candidate stands against any later
/// (unsigned) set: a forged set cannot strip a proven TURN server's TURN.
#[test]
fn a_forged_set_cannot_rewrite_a_candidate_that_worked() {
    let now = Instant::now();
    let mut node = node();
    let proven = entry(7, 1, 300);
    let set = CandidateSet::from_entries(UniquenessKey::Ip, [proven]).unwrap();
    let _ = node.on_answer(now, MessageKind::Get, 1, &set).unwrap();
    assert!(node.feedback(
        now,
        &addr(7),
        Feedback::Worked {
            rtt: Duration::from_millis(9)
        }
    ));
    let mut stripped = proven;
    stripped.candidate.services = Services::STUN;
    stripped.candidate.priority = Some(1);
    stripped.hop = 2;
    let set = CandidateSet::from_entries(UniquenessKey::Ip, [stripped]).unwrap();
    let _ = node.on_answer(now, MessageKind::Get, 2, &set).unwrap();
    let turn = node.best_for(now, 1, &Filter::services(Services::TURN));
    assert_eq!(turn.len(), 1);
    assert_eq!(turn[0].candidate().priority, Some(300));
}

/// A set unique by another key than the node asked for is refused whole:
/// its uniqueness and per-hop counts mean something else.
#[test]
fn a_set_under_another_key_is_refused() {
    let now = Instant::now();
    let mut node = node();
    let set = CandidateSet::from_entries(UniquenessKey::IpPort, [entry(1, 1, 1)]).unwrap();
    assert_eq!(
        node.on_answer(now, MessageKind::Get, 1, &set).unwrap_err(),
        ResponseError::WrongKey {
            found: UniquenessKey::IpPort
        }
    );
    assert!(node.is_empty());
}

/// A refused in-message append does not spend the requester's token.
#[test]
fn a_refused_message_spends_no_token() {
    use stun_turn_discovery::peer::{RequestLimit, Requester, Stop};
    let now = Instant::now();
    let limit = RequestLimit::new(1, 1).unwrap();
    let mut peer = IntermediatePeer::new(PeerConfig::default().with_request_limit(limit));
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        (0..20).map(|i| Candidate::peer(addr(i), Services::BOTH)),
    );
    let cfg = WireConfig::default();
    let from = Some(Requester::Address("11.9.9.9".parse().unwrap()));
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let empty = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
    let mut option = BytesMut::new();
    wire::encode_option(&empty, Direction::Request, &cfg, &mut option).unwrap();
    // A message whose options list is nearly full: refused, untouched.
    let mut padding = vec![0x07, 0x00];
    padding.extend_from_slice(&65_000u16.to_be_bytes());
    padding.resize(4 + 65_000, 0);
    let options: Vec<u8> = [&padding[..], &option[..]].concat();
    let mut m = BytesMut::new();
    m.extend_from_slice(&0xd245_4c4f_u32.to_be_bytes());
    m.extend_from_slice(&[0; 12]);
    m.extend_from_slice(&((38 + options.len()) as u32).to_be_bytes());
    m.extend_from_slice(&[0; 16]);
    m.extend_from_slice(&(options.len() as u16).to_be_bytes());
    m.extend_from_slice(&options);
    let before = m.clone();
    assert!(peer
        .on_reload_request(now, MessageKind::Get, from, &mut m, &cfg, &mut rng)
        .is_err());
    assert_eq!(m, before);
    // The requester's one token is still there.
    let r = peer
        .on_encoded_request(now, MessageKind::Get, from, &mut option, &cfg, &mut rng)
        .unwrap();
    assert_ne!(r.stop, Stop::Limited);
    assert_eq!(r.added(), 5);
}

/// An IPv4 requester and its IPv4-mapped IPv6 spelling share one bucket.
#[test]
fn one_bucket_per_address_however_spelled() {
    use stun_turn_discovery::peer::{RequestLimit, Requester, Stop};
    let now = Instant::now();
    let limit = RequestLimit::new(1, 1).unwrap();
    let mut peer = IntermediatePeer::new(PeerConfig::default().with_request_limit(limit));
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        (0..20).map(|i| Candidate::peer(addr(i), Services::BOTH)),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let v4 = Requester::Address("11.9.9.9".parse().unwrap());
    let mapped = Requester::Address("::ffff:11.9.9.9".parse().unwrap());
    let mut a = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
    let mut b = a.clone();
    let _ = peer.on_request(now, MessageKind::Get, Some(v4), &mut a, &mut rng);
    let o = peer.on_request(now, MessageKind::Get, Some(mapped), &mut b, &mut rng);
    assert_eq!(o.report().stop, Stop::Limited);
}
