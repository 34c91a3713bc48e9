//! The codec's refusals, one typed error each; round trips and
//! never-panics properties; in-place append against decode, `on_request`,
//! encode.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::wire::{self, AnswerInfo, Direction, WireConfig, WireError};
use stun_turn_discovery::*;

const CFG: WireConfig = WireConfig {
    option_type: 1,
    extension_type: 1,
};

/// `01 04 len | 01 00 0a 00 03 K | entries`, the `ipv4-only` vector of WIRE.md.
fn ipv4_vector() -> Vec<u8> {
    vec![
        0x01, 0x04, 0x00, 0x26, 0x01, 0x00, 0x0a, 0x00, 0x03, 0x02, //
        0x0f, 0x01, 0x03, 0x01, 0x01, 0x01, 0x01, 0x2c, 0x01, 0x06, 0xc0, 0x00, 0x02, 0x01, 0x17,
        0xc4, //
        0x0f, 0x01, 0x02, 0x01, 0x02, 0x02, 0x00, 0x64, 0x01, 0x06, 0xc6, 0x33, 0x64, 0x07, 0x0d,
        0x96,
    ]
}

fn decode(bytes: &[u8]) -> Result<PiggybackOption, WireError> {
    wire::decode_option(&mut &bytes[..], &CFG)
}

/// Sets the option length field to match the bytes after it.
fn fix_len(mut b: Vec<u8>) -> Vec<u8> {
    let len = (b.len() - 4) as u16;
    b[2..4].copy_from_slice(&len.to_be_bytes());
    b
}

#[test]
fn vector_decodes() {
    let o = decode(&ipv4_vector()).unwrap();
    assert_eq!(o.set().len(), 2);
    assert_eq!(o.hop(), 3);
}

#[test]
fn every_truncation_is_refused_without_panic() {
    let v = ipv4_vector();
    for cut in 0..v.len() {
        let err = decode(&v[..cut]).unwrap_err();
        assert!(
            matches!(err, WireError::Truncated { .. }),
            "cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn trailing_bytes_after_the_option() {
    let mut v = ipv4_vector();
    v.push(0);
    assert_eq!(
        decode(&v),
        Err(WireError::TrailingBytes {
            what: "option",
            count: 1
        })
    );
}

#[test]
fn trailing_bytes_inside_the_value() {
    let mut v = ipv4_vector();
    v.push(0);
    let v = fix_len(v);
    assert_eq!(
        decode(&v),
        Err(WireError::TrailingBytes {
            what: "entries",
            count: 1
        })
    );
}

#[test]
fn length_field_longer_than_input_is_truncation() {
    let mut v = ipv4_vector();
    v[3] += 1;
    assert_eq!(
        decode(&v),
        Err(WireError::Truncated {
            what: "option value"
        })
    );
}

#[test]
fn wrong_option_type() {
    let mut v = ipv4_vector();
    v[0] = 9;
    assert_eq!(
        decode(&v),
        Err(WireError::WrongType {
            expected: 1,
            found: 9
        })
    );
    let other = WireConfig {
        option_type: 9,
        ..CFG
    };
    assert!(wire::decode_option(&mut &v[..], &other).is_ok());
}

#[test]
fn unknown_version() {
    let mut v = ipv4_vector();
    v[4] = 2;
    assert_eq!(decode(&v), Err(WireError::UnknownVersion(2)));
}

#[test]
fn reserved_key_and_family_codes() {
    let mut v = ipv4_vector();
    v[5] = 0x06;
    assert_eq!(decode(&v), Err(WireError::UnknownKey(3)));
    let mut v = ipv4_vector();
    v[7] = 0x0c;
    assert_eq!(decode(&v), Err(WireError::UnknownFamily(3)));
}

#[test]
fn reserved_bits_are_ignored() {
    let mut v = ipv4_vector();
    v[5] |= 0xf8;
    v[7] |= 0xf0;
    v[11] |= 0xf8; // first entry's flags
    assert_eq!(decode(&v).unwrap(), decode(&ipv4_vector()).unwrap());
}

#[test]
fn n_above_cap_and_k_above_n() {
    let mut v = ipv4_vector();
    v[6] = 65;
    assert_eq!(decode(&v), Err(WireError::NAboveCap { n: 65, cap: 64 }));
    let mut v = ipv4_vector();
    v[6] = 1;
    assert_eq!(decode(&v), Err(WireError::KAboveN { k: 2, n: 1 }));
    let mut v = ipv4_vector();
    v[6] = 0;
    v[9] = 65;
    assert_eq!(decode(&v), Err(WireError::KAboveN { k: 65, n: 64 }));
}

#[test]
fn fewer_entries_than_k() {
    let mut v = ipv4_vector();
    v[9] = 3;
    assert_eq!(decode(&v), Err(WireError::KMismatch { k: 3, found: 2 }));
}

#[test]
fn duplicate_keys() {
    let mut v = ipv4_vector();
    // Second entry gets the first one's address.
    let first_addr: Vec<u8> = v[20..26].to_vec();
    v[36..42].copy_from_slice(&first_addr);
    assert_eq!(decode(&v), Err(WireError::DuplicateKey { index: 1 }));
}

#[test]
fn entry_shorter_than_its_fields() {
    let mut v = ipv4_vector();
    v.remove(25); // drop the last byte of entry 1's port
    v[10] = 0x0e;
    let v = fix_len(v);
    assert_eq!(
        decode(&v),
        Err(WireError::EntryLength {
            index: 0,
            declared: 14
        })
    );
}

#[test]
fn bad_address_lengths() {
    let mut v = ipv4_vector();
    v[19] = 5;
    assert_eq!(
        decode(&v),
        Err(WireError::BadAddressLength { kind: 1, len: 5 })
    );
    let mut v = ipv4_vector();
    v[18] = 2; // IPv6 type with IPv4 length 6
    assert_eq!(
        decode(&v),
        Err(WireError::BadAddressLength { kind: 2, len: 6 })
    );
}

#[test]
fn unknown_transport_and_role() {
    let mut v = ipv4_vector();
    v[13] = 9;
    assert_eq!(decode(&v), Err(WireError::UnknownTransport(9)));
    let mut v = ipv4_vector();
    v[14] = 0;
    assert_eq!(decode(&v), Err(WireError::UnknownRole(0)));
}

#[test]
fn node_id_too_long() {
    // One entry: flags node id, STUN, UDP, peer, hop 1, id length 33.
    let mut v = vec![0x01, 0x04, 0x00, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x02, 0x01];
    let mut e = vec![0x04, 0x01, 0x01, 0x01, 0x01, 33];
    e.extend([0u8; 33]);
    e.extend([0x01, 0x06, 0xc0, 0x00, 0x02, 0x01, 0x17, 0xc4]);
    v.push(e.len() as u8);
    v.extend(e);
    assert_eq!(decode(&fix_len(v)), Err(WireError::NodeIdTooLong(33)));
}

#[test]
fn unknown_address_type_is_skipped_with_its_entry() {
    let mut v = ipv4_vector();
    v[18] = 7; // first entry's address type: unknown; its 6 bytes are skipped
    let o = decode(&v).unwrap();
    assert_eq!(o.set().len(), 1);
    assert_eq!(
        o.set().entries()[0].candidate.address.ip(),
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7))
    );
}

#[test]
fn fields_appended_to_an_entry_by_a_later_revision_are_skipped() {
    let mut v = ipv4_vector();
    v.insert(26, 0xee);
    v.insert(26, 0xee);
    v[10] = 0x11;
    let v = fix_len(v);
    assert_eq!(decode(&v).unwrap(), decode(&ipv4_vector()).unwrap());
}

#[test]
fn iterative_request_with_entries() {
    let mut v = ipv4_vector();
    v[5] = 0x01;
    assert_eq!(
        decode(&v),
        Err(WireError::Option(OptionError::IterativeWithSet { k: 2 }))
    );
}

#[test]
fn answer_must_be_iterative() {
    let set = CandidateSet::new(UniquenessKey::Ip);
    let mut b = Vec::new();
    wire::encode_answer(&set, AnswerInfo { hop: 1, n: 10 }, &CFG, &mut b).unwrap();
    b[8] = 0x00; // value flags: recursive
    assert_eq!(
        wire::decode_answer(&mut &b[..], &CFG),
        Err(WireError::WrongMode {
            expected: "iterative answer"
        })
    );
    b[8] = 0x01;
    b[1] = 2;
    assert_eq!(
        wire::decode_answer(&mut &b[..], &CFG),
        Err(WireError::WrongType {
            expected: 1,
            found: 2
        })
    );
}

#[test]
fn encoding_into_a_small_buffer_is_refused() {
    let o = decode(&ipv4_vector()).unwrap();
    let mut small = [0u8; 10];
    let err = wire::encode_option(&o, Direction::Request, &CFG, &mut &mut small[..]).unwrap_err();
    assert_eq!(
        err,
        WireError::BufferTooSmall {
            needed: 42,
            available: 10
        }
    );
}

#[test]
fn decode_into_reuses_the_callers_set() {
    let mut option =
        PiggybackOption::recursive(Some(10), Filter::ANY, UniquenessKey::Prefix).unwrap();
    let cap = option.set().capacity();
    wire::decode_option_into(&mut &ipv4_vector()[..], &CFG, &mut option).unwrap();
    assert_eq!(option, decode(&ipv4_vector()).unwrap());
    assert_eq!(option.set().capacity(), cap);
    // On error the header stays, the set is emptied.
    let mut bad = ipv4_vector();
    bad[9] = 3;
    assert!(wire::decode_option_into(&mut &bad[..], &CFG, &mut option).is_err());
    assert!(option.set().is_empty());
    assert_eq!(option.hop(), 3);
}

// ---- properties ----

fn arb_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ]
}

fn arb_entry() -> impl Strategy<Value = SetEntry> {
    (
        arb_ip(),
        any::<u16>(),
        prop_oneof![
            Just(Transport::Udp),
            Just(Transport::Tcp),
            Just(Transport::Tls),
            Just(Transport::Dtls)
        ],
        prop_oneof![Just(Role::Peer), Just(Role::Client)],
        0u8..4,
        proptest::option::of(any::<u16>()),
        proptest::option::of((any::<u16>(), any::<u32>(), any::<u8>())),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=32)),
        any::<u8>(),
    )
        .prop_map(|(ip, port, t, role, s, prio, hints, id, hop)| {
            let mut c = Candidate::peer(
                TransportAddress::new(ip, port, t),
                Services::from_bits_truncate(s),
            );
            c.role = role;
            c.priority = prio;
            if let Some((capacity, bandwidth_kbps, load_percent)) = hints {
                c.hints = PerformanceHints {
                    capacity,
                    bandwidth_kbps,
                    load_percent,
                };
            }
            c.node_id = id.map(|id| NodeId::new(&id).unwrap());
            SetEntry { candidate: c, hop }
        })
}

fn arb_key() -> impl Strategy<Value = UniquenessKey> {
    prop_oneof![
        Just(UniquenessKey::Ip),
        Just(UniquenessKey::IpPort),
        Just(UniquenessKey::Prefix)
    ]
}

fn arb_set() -> impl Strategy<Value = CandidateSet> {
    (arb_key(), proptest::collection::vec(arb_entry(), 0..=64)).prop_map(|(key, entries)| {
        let mut set = CandidateSet::new(key);
        for e in entries {
            let _ = set.try_push(e);
        }
        set
    })
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    (
        0u8..4,
        prop_oneof![
            Just(None),
            Just(Some(IpFamily::V4)),
            Just(Some(IpFamily::V6))
        ],
    )
        .prop_map(|(s, family)| Filter {
            services: Services::from_bits_truncate(s),
            family,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn option_round_trip(set in arb_set(), extra in 0u8..=10, filter in arb_filter(), hop: u8, explicit: bool) {
        let n = (set.len() as u8 + extra).clamp(1, MAX_N);
        let option = PiggybackOption::from_parts(RoutingMode::Recursive, explicit.then_some(n), filter, hop, set).unwrap();
        let mut buf = Vec::new();
        wire::encode_option(&option, Direction::Request, &CFG, &mut buf).unwrap();
        prop_assert_eq!(buf.len(), wire::option_len(&option));
        prop_assert_eq!(buf[1], wire::fwd_flags::RESPONSE_COPY);
        let back = wire::decode_option(&mut &buf[..], &CFG).unwrap();
        prop_assert_eq!(&back, &option);
        let mut resp = Vec::new();
        wire::encode_option(&option, Direction::Response, &CFG, &mut resp).unwrap();
        prop_assert_eq!(resp[1], 0);
        prop_assert_eq!(&resp[2..], &buf[2..]);
    }

    #[test]
    fn answer_round_trip(set in arb_set(), hop: u8) {
        let info = AnswerInfo { hop, n: (set.len() as u8).max(1) };
        let mut buf = Vec::new();
        wire::encode_answer(&set, info, &CFG, &mut buf).unwrap();
        prop_assert_eq!(buf.len(), wire::answer_len(&set));
        let (i, s) = wire::decode_answer(&mut &buf[..], &CFG).unwrap();
        prop_assert_eq!(i, info);
        prop_assert_eq!(s, set);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = wire::decode_option(&mut &bytes[..], &CFG);
        let _ = wire::decode_answer(&mut &bytes[..], &CFG);
    }

    #[test]
    fn decoding_mutated_vectors_never_panics(pos in 0usize..42, byte: u8, cut in 0usize..=42) {
        let mut v = ipv4_vector();
        v[pos] = byte;
        v.truncate(cut);
        if let Ok(o) = decode(&v) {
            // Whatever decodes re-encodes to a decodable option.
            let mut b = Vec::new();
            wire::encode_option(&o, Direction::Request, &CFG, &mut b).unwrap();
            prop_assert_eq!(decode(&b).unwrap(), o);
        }
    }

    #[test]
    fn append_in_place_equals_decode_on_request_encode(
        seed: u64,
        policy in prop_oneof![
            Just(SelectionPolicy::ByPriority),
            Just(SelectionPolicy::ByPerformance),
            Just(SelectionPolicy::Random),
            Just(SelectionPolicy::LoadSpreading),
        ],
        tables in proptest::collection::vec(proptest::collection::vec(arb_entry(), 0..20), 1..5),
        n in proptest::option::of(1u8..=20),
        key in arb_key(),
        filter in arb_filter(),
        share in 1u8..=100,
    ) {
        let now = Instant::now() + Duration::from_secs(1);
        let config = Config::default()
            .with_address_policy(AddressPolicy::permissive())
            .with_selection(policy)
            .with_per_hop_share(share)
            .unwrap();
        let option = PiggybackOption::recursive(n, filter, key).unwrap();
        let mut bytes = BytesMut::new();
        wire::encode_option(&option, Direction::Request, &CFG, &mut bytes).unwrap();
        let mut decoded_path = option;
        for (i, entries) in tables.iter().enumerate() {
            let mut peer = IntermediatePeer::new(config.clone());
            let _ = peer.table_mut().sync_source(now, Source::RoutingTable, entries.iter().map(|e| e.candidate));
            let mut rng_a = ChaCha8Rng::seed_from_u64(seed ^ i as u64);
            let mut rng_b = rng_a.clone();
            let in_place = wire::append_in_place(&peer, now, MessageKind::Put, &mut bytes, &CFG, &mut rng_a).unwrap();
            let outcome = peer.on_request(now, MessageKind::Put, &mut decoded_path, &mut rng_b);
            prop_assert_eq!(*outcome.report(), in_place);
            let mut expect = Vec::new();
            wire::encode_option(&decoded_path, Direction::Request, &CFG, &mut expect).unwrap();
            prop_assert_eq!(&bytes[..], &expect[..]);
            prop_assert_eq!(wire::decode_option(&mut &bytes[..], &CFG).unwrap(), decoded_path.clone());
        }
    }
}

#[test]
fn append_in_place_refuses_an_iterative_option_and_leaves_it() {
    let option = PiggybackOption::iterative(Some(10), Filter::ANY, UniquenessKey::Ip, 2).unwrap();
    let mut bytes = BytesMut::new();
    wire::encode_option(&option, Direction::Request, &CFG, &mut bytes).unwrap();
    let before = bytes.clone();
    let peer = IntermediatePeer::new(Config::default());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let err = wire::append_in_place(
        &peer,
        Instant::now(),
        MessageKind::Get,
        &mut bytes,
        &CFG,
        &mut rng,
    );
    assert_eq!(
        err,
        Err(WireError::WrongMode {
            expected: "recursive option"
        })
    );
    assert_eq!(bytes, before);
}

#[test]
fn append_in_place_refuses_a_malformed_option_and_leaves_it() {
    let mut v = ipv4_vector();
    v[9] = 3;
    let mut bytes = BytesMut::from(&v[..]);
    let peer = IntermediatePeer::new(Config::default());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let err = wire::append_in_place(
        &peer,
        Instant::now(),
        MessageKind::Get,
        &mut bytes,
        &CFG,
        &mut rng,
    );
    assert_eq!(err, Err(WireError::KMismatch { k: 3, found: 2 }));
    assert_eq!(&bytes[..], &v[..]);
}
