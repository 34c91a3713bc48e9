//! The willingness advertisement (§3.3.1 items 1–3): its codec and how a
//! candidate table ingests what routing-table, neighbour and client peers
//! advertise.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use stun_turn_discovery::error::AdvertError;
use stun_turn_discovery::wire::{self, WireConfig, WireError};
use stun_turn_discovery::*;

const CFG: WireConfig = WireConfig {
    option_type: 1,
    extension_type: 1,
    ..WireConfig::DEFAULT
};

fn server(i: u8, services: Services, transport: Transport) -> Candidate {
    let ip = IpAddr::V4(Ipv4Addr::new(11, 0, 0, i));
    Candidate::peer(TransportAddress::new(ip, 3478, transport), services)
}

fn id(i: u8) -> NodeId {
    NodeId::new(&[i; 16]).unwrap()
}

fn encode(a: &Advertisement) -> Vec<u8> {
    let mut b = Vec::new();
    wire::encode_advert(a, &CFG, &mut b).unwrap();
    b
}

#[test]
fn round_trips_every_field() {
    let v6 = TransportAddress::new(
        IpAddr::V6(Ipv6Addr::new(0x2a00, 1, 0, 0, 0, 0, 0, 9)),
        5349,
        Transport::Tls,
    );
    let advert = Advertisement::new([
        server(1, Services::STUN, Transport::Udp),
        server(1, Services::TURN, Transport::Tcp).with_priority(700),
        Candidate::client(v6, Services::BOTH).with_hints(PerformanceHints {
            capacity: 40,
            bandwidth_kbps: 100_000,
            load_percent: 25,
        }),
    ])
    .unwrap();
    let bytes = encode(&advert);
    assert_eq!(bytes.len(), wire::advert_len(&advert));
    assert_eq!(wire::decode_advert(&mut &bytes[..], &CFG).unwrap(), advert);
    let none = encode(&Advertisement::not_willing());
    // Extension type 1, not critical, length 3; format 0x11, flags 0, count 0.
    assert_eq!(none, [0, 1, 0, 0, 0, 0, 3, 0x11, 0, 0]);
    assert_eq!(
        wire::decode_advert(&mut &none[..], &CFG).unwrap(),
        Advertisement::not_willing()
    );
}

#[test]
fn the_answer_and_the_advertisement_tell_each_other_apart() {
    let advert = encode(&Advertisement::new([server(1, Services::BOTH, Transport::Udp)]).unwrap());
    assert_eq!(
        wire::decode_answer(&mut &advert[..], &CFG).unwrap_err(),
        WireError::UnknownVersion(0x11)
    );
    let mut answer = Vec::new();
    wire::encode_answer(
        &CandidateSet::new(UniquenessKey::Ip),
        wire::AnswerInfo {
            hop: 1,
            n: N::DEFAULT,
        },
        &CFG,
        &mut answer,
    )
    .unwrap();
    assert_eq!(
        wire::decode_advert(&mut &answer[..], &CFG).unwrap_err(),
        WireError::UnknownVersion(1)
    );
}

#[test]
fn malformed_advertisements_get_typed_errors() {
    let one = encode(&Advertisement::new([server(1, Services::BOTH, Transport::Udp)]).unwrap());
    let dec = |b: &[u8]| wire::decode_advert(&mut &b[..], &CFG).unwrap_err();
    assert_eq!(
        dec(&one[..1]),
        WireError::Truncated {
            what: "extension type"
        }
    );
    assert_eq!(
        dec(&one[..one.len() - 1]),
        WireError::Truncated {
            what: "extension value"
        }
    );
    let mut trailing = one.clone();
    trailing.push(0);
    assert_eq!(
        dec(&trailing),
        WireError::TrailingBytes {
            what: "extension",
            count: 1
        }
    );
    let mut wrong_type = one.clone();
    wrong_type[1] = 9;
    assert_eq!(
        dec(&wrong_type),
        WireError::WrongType {
            expected: 1,
            found: 9
        }
    );
    let mut count_high = one.clone();
    count_high[9] = 2;
    assert_eq!(dec(&count_high), WireError::KMismatch { k: 2, found: 1 });
    let mut too_many = one.clone();
    too_many[9] = 9;
    assert_eq!(
        dec(&too_many),
        WireError::Advert(AdvertError::TooMany { count: 9 })
    );
    let mut no_service = one.clone();
    no_service[12] = 0; // the entry's services byte
    assert!(matches!(
        dec(&no_service),
        WireError::Advert(AdvertError::NoService { .. })
    ));
    // The same server twice.
    let entry = one[10..].to_vec();
    let mut twice = one.clone();
    twice.extend_from_slice(&entry);
    twice[9] = 2;
    let len = (twice.len() - 7) as u32;
    twice[3..7].copy_from_slice(&len.to_be_bytes());
    assert!(matches!(
        dec(&twice),
        WireError::Advert(AdvertError::Duplicate { .. })
    ));
}

#[test]
fn advertisements_are_bounded() {
    let nine = (1..=9).map(|i| server(i, Services::BOTH, Transport::Udp));
    assert_eq!(
        Advertisement::new(nine),
        Err(AdvertError::TooMany { count: 9 })
    );
    let none = server(1, Services::NONE, Transport::Udp);
    assert!(matches!(
        Advertisement::new([none]),
        Err(AdvertError::NoService { .. })
    ));
}

/// §3.3.1: "Every peer MUST include peers which show their willingness to
/// be a STUN/TURN server into candidate table by examing every peer in the
/// routing state": what each routing-table peer advertised goes in, with
/// its server address (not its overlay address); a peer that stops
/// advertising, or leaves routing state, leaves the table.
#[test]
fn the_table_follows_what_routing_peers_advertise() {
    let now = Instant::now();
    let mut table = CandidateTable::new(peer::TableConfig::default());
    let a = Advertisement::new([
        server(1, Services::BOTH, Transport::Udp),
        server(2, Services::STUN, Transport::Udp),
    ])
    .unwrap();
    let r = table.advertised(now, Source::RoutingTable, id(1), &a);
    assert_eq!((r.added, r.updated, r.removed), (2, 0, 0));
    let b = Advertisement::new([server(9, Services::TURN, Transport::Udp)]).unwrap();
    let _ = table.advertised(now, Source::RoutingTable, id(2), &b);
    assert_eq!(table.len(), 3);
    let e = table
        .get(&server(1, Services::BOTH, Transport::Udp).address)
        .unwrap();
    assert_eq!(e.candidate().node_id, Some(id(1)));

    // Peer 1 now offers only one server: the other leaves.
    let a2 = Advertisement::new([server(2, Services::STUN, Transport::Udp)]).unwrap();
    let r = table.advertised(now, Source::RoutingTable, id(1), &a2);
    assert_eq!((r.added, r.updated, r.removed), (0, 1, 1));
    assert_eq!(table.len(), 2);

    // Peer 1 stops advertising.
    let r = table.advertised(
        now,
        Source::RoutingTable,
        id(1),
        &Advertisement::not_willing(),
    );
    assert_eq!(r.removed, 1);
    // Peer 2 leaves the routing table.
    assert_eq!(table.advertiser_left(Source::RoutingTable, &id(2)), 1);
    assert!(table.is_empty());
}

/// An advertiser in two sources stays until it has left both.
#[test]
fn an_advertiser_in_two_sources_stays_until_it_left_both() {
    let now = Instant::now();
    let mut table = CandidateTable::new(peer::TableConfig::default());
    let a = Advertisement::new([server(1, Services::BOTH, Transport::Udp)]).unwrap();
    let _ = table.advertised(now, Source::RoutingTable, id(1), &a);
    let _ = table.advertised(now, Source::NeighborTable, id(1), &a);
    assert_eq!(table.advertiser_left(Source::RoutingTable, &id(1)), 0);
    assert_eq!(table.len(), 1);
    assert_eq!(table.advertiser_left(Source::NeighborTable, &id(1)), 1);
    assert!(table.is_empty());
}

/// Refused servers are reported, and the rest still go in.
#[test]
fn refused_servers_are_reported_and_the_rest_go_in() {
    let now = Instant::now();
    let mut table = CandidateTable::new(peer::TableConfig::default());
    let private = Candidate::peer(
        TransportAddress::udp("10.1.1.1:3478".parse().unwrap()),
        Services::BOTH,
    );
    let a = Advertisement::new([private, server(1, Services::BOTH, Transport::Udp)]).unwrap();
    let r = table.advertised(now, Source::Client, id(3), &a);
    assert_eq!((r.added, r.refused.len()), (1, 1));
    assert_eq!(
        r.refused[0],
        error::TableError::Refused {
            address: private.address,
            class: AddressClass::Private
        }
    );
}

/// Advertised entries expire like any other unless re-advertised.
#[test]
fn advertised_entries_expire_unless_re_advertised() {
    let t0 = Instant::now();
    let mut table = CandidateTable::new(peer::TableConfig::default());
    let a = Advertisement::new([server(1, Services::BOTH, Transport::Udp)]).unwrap();
    let _ = table.advertised(t0, Source::RoutingTable, id(1), &a);
    let later = t0 + Duration::from_secs(599);
    let _ = table.advertised(later, Source::RoutingTable, id(1), &a);
    assert_eq!(table.expire(t0 + Duration::from_secs(600)), 0);
    assert_eq!(table.expire(later + Duration::from_secs(600)), 1);
}

/// Two advertisers of the same server: one withdrawing leaves it in the
/// table while the other still advertises it (§3.3.1 MUST, both ways).
#[test]
fn a_server_two_peers_advertise_stays_until_both_withdraw() {
    let now = Instant::now();
    let mut table = CandidateTable::new(peer::TableConfig::default());
    let s = server(1, Services::BOTH, Transport::Udp);
    let both = Advertisement::new([s]).unwrap();
    let _ = table.advertised(now, Source::RoutingTable, id(1), &both);
    let _ = table.advertised(now, Source::RoutingTable, id(2), &both);
    let r = table.advertised(
        now,
        Source::RoutingTable,
        id(2),
        &Advertisement::not_willing(),
    );
    assert_eq!(r.removed, 0);
    assert!(table.get(&s.address).is_some());
    assert_eq!(table.advertiser_left(Source::RoutingTable, &id(1)), 1);
    assert!(table.is_empty());
}

/// An advertiser leaving after another source synced the same server
/// still takes its own source away.
#[test]
fn leaving_after_another_sources_sync_still_withdraws() {
    let now = Instant::now();
    let mut table = CandidateTable::new(peer::TableConfig::default());
    let s = server(1, Services::BOTH, Transport::Udp);
    let _ = table.advertised(
        now,
        Source::RoutingTable,
        id(1),
        &Advertisement::new([s]).unwrap(),
    );
    let _ = table.sync_source(now, Source::ConnectionTable, [s]);
    assert_eq!(table.advertiser_left(Source::RoutingTable, &id(1)), 0);
    let e = table.get(&s.address).unwrap();
    assert!(!e.has_source(Source::RoutingTable) && e.has_source(Source::ConnectionTable));
    let _ = table.sync_source(now, Source::ConnectionTable, []);
    assert!(table.is_empty());
}

/// An advertiser's claims about its own priority and capacity are not
/// believed by default: eight servers claiming the most of both get their
/// source's default priority and no hints, so they are picked about as
/// often as anyone else. A table that trusts advertisements keeps them.
#[test]
fn inflated_advertisements_are_not_believed_by_default() {
    use rand::SeedableRng;
    let now = Instant::now();
    let inflated = |i: u8| {
        server(100 + i, Services::BOTH, Transport::Udp)
            .with_priority(u16::MAX)
            .with_hints(PerformanceHints {
                capacity: u16::MAX,
                bandwidth_kbps: u32::MAX,
                load_percent: 0,
            })
    };
    let advert = Advertisement::new((0..8).map(inflated)).unwrap();
    let honest = |table: &mut CandidateTable| {
        for i in 1..=40u8 {
            let a = Advertisement::new([server(i, Services::BOTH, Transport::Udp)]).unwrap();
            let _ = table.advertised(now, Source::RoutingTable, id(i), &a);
        }
    };
    let picks_of_inflated = |config: PeerConfig| {
        let mut peer = IntermediatePeer::new(config);
        honest(peer.table_mut());
        let _ = peer
            .table_mut()
            .advertised(now, Source::RoutingTable, id(200), &advert);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut picks = 0;
        for _ in 0..100 {
            let mut o =
                PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
            let _ = peer.on_request(now, MessageKind::Get, None, &mut o, &mut rng);
            picks += o
                .set()
                .iter()
                .filter(|e| {
                    e.candidate.address.ip().to_string().starts_with("11.0.0.1") && {
                        let last = match e.candidate.address.ip() {
                            IpAddr::V4(v4) => v4.octets()[3],
                            IpAddr::V6(_) => 0,
                        };
                        last >= 100
                    }
                })
                .count();
        }
        picks
    };
    let untrusted = picks_of_inflated(PeerConfig::default());
    // 8 of 48 servers, 5 picks a request, 100 requests: about 83 expected.
    assert!(
        untrusted < 150,
        "{untrusted} of 500 picks went to the inflated advertiser"
    );
    let trusted = picks_of_inflated(
        PeerConfig::default()
            .with_table(peer::TableConfig::default().with_trusted_advertisements(true)),
    );
    assert!(trusted > 450, "a trusting table believes them: {trusted}");
    let mut table = CandidateTable::new(peer::TableConfig::default());
    let _ = table.advertised(now, Source::RoutingTable, id(200), &advert);
    let e = table.get(&inflated(0).address).unwrap();
    assert_eq!(
        (e.priority(), e.candidate().hints),
        (300, PerformanceHints::default())
    );
}
