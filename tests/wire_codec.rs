//! The codec's refusals, one typed error each and the same from every entry
//! point (`decode_option`, `decode_option_into`, `OptionView::new_checked`;
//! `decode_answer`, `decode_answer_into`); the `_into` decoders' contract
//! (on every error the caller's set is left empty and the option's mode, N,
//! filter and hop are as they were); round trips and never-panics
//! properties; the byte view against the decoder; the in-place append of
//! `IntermediatePeer::on_encoded_request` against decode, `on_request`,
//! encode.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::error::{AdvertError, InvalidN, OptionError};
use stun_turn_discovery::wire::{self, AnswerInfo, Direction, OptionView, WireConfig, WireError};
use stun_turn_discovery::*;

const CFG: WireConfig = WireConfig {
    option_type: 1,
    extension_type: 1,
    ..WireConfig::DEFAULT
};

fn n(v: u8) -> N {
    N::new(v).unwrap()
}

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

/// The `iterative-answer` vector of WIRE.md: `00 01 | 00 | 00 00 00 32 |
/// 01 01 0a 00 04 02 | entries`.
fn answer_vector() -> Vec<u8> {
    vec![
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x32, 0x01, 0x01, 0x0a, 0x00, 0x04, 0x02, //
        0x0f, 0x01, 0x03, 0x01, 0x01, 0x04, 0x01, 0x2c, 0x01, 0x06, 0xc0, 0x00, 0x02, 0x01, 0x17,
        0xc4, //
        0x1b, 0x01, 0x01, 0x01, 0x01, 0x04, 0x00, 0xc8, 0x02, 0x12, 0x20, 0x01, 0x0d, 0xb8, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x0d, 0x96,
    ]
}

fn decode(bytes: &[u8]) -> Result<PiggybackOption, WireError> {
    wire::decode_option(&mut &bytes[..], &CFG)
}

fn view(bytes: &[u8]) -> Result<OptionView<&[u8]>, WireError> {
    OptionView::new_checked(bytes, &CFG)
}

/// Sets the option length field to match the bytes after it.
fn fix_len(mut b: Vec<u8>) -> Vec<u8> {
    let len = (b.len() - 4) as u16;
    b[2..4].copy_from_slice(&len.to_be_bytes());
    b
}

/// Sets the extension length field to match the bytes after it.
fn fix_answer_len(mut b: Vec<u8>) -> Vec<u8> {
    let len = (b.len() - 7) as u32;
    b[3..7].copy_from_slice(&len.to_be_bytes());
    b
}

/// Three entries no vector holds, unique by IP address and port.
fn three_entry_set() -> CandidateSet {
    CandidateSet::from_entries(
        UniquenessKey::IpPort,
        ["45.0.0.1:3478", "45.0.0.1:5349", "[2001:db8::9]:3478"]
            .into_iter()
            .enumerate()
            .map(|(i, a)| SetEntry {
                candidate: Candidate::peer(
                    TransportAddress::udp(a.parse::<SocketAddr>().unwrap()),
                    Services::BOTH,
                )
                .with_priority(100),
                hop: i as u8 + 1,
            }),
    )
    .unwrap()
}

/// A recursive option holding three entries, with a mode, N, filter and
/// hop no test input decodes to, so a decoder that touched them shows.
fn prefilled_option() -> PiggybackOption {
    PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(n(5)),
        Filter::services(Services::TURN).with_family(IpFamily::V6),
        7,
        three_entry_set(),
    )
    .unwrap()
}

/// What `decode_option_into` promises to leave alone.
fn header(o: &PiggybackOption) -> (RoutingMode, Option<N>, Filter, u8, UniquenessKey) {
    (o.mode(), o.n(), o.filter(), o.hop(), o.key())
}

/// `decode_option_into` refuses `bytes` with `expected`, leaving the
/// option's set empty and its mode, N, filter and hop as they were.
fn into_refuses(bytes: &[u8], expected: WireError) {
    let mut option = prefilled_option();
    assert_eq!(option.set().len(), 3);
    let before = header(&option);
    assert_eq!(
        wire::decode_option_into(&mut &bytes[..], &CFG, &mut option),
        Err(expected),
        "decode_option_into of {bytes:02x?}"
    );
    assert!(
        option.set().is_empty(),
        "{expected:?}: the set still holds {:?}",
        option.set()
    );
    assert_eq!(header(&option), before, "{expected:?}: header changed");
}

/// `decode_answer_into` refuses `bytes` with `expected`, leaving the set
/// empty.
fn answer_into_refuses(bytes: &[u8], expected: WireError) {
    let mut set = three_entry_set();
    assert_eq!(set.len(), 3);
    assert_eq!(
        wire::decode_answer_into(&mut &bytes[..], &CFG, &mut set),
        Err(expected),
        "decode_answer_into of {bytes:02x?}"
    );
    assert!(set.is_empty(), "{expected:?}: the set still holds {set:?}");
}

/// `decode_option` and `decode_option_into` both refuse `bytes` with
/// `expected` (the latter leaving the set empty and the header alone).
fn decoders_refuse(bytes: &[u8], expected: WireError) {
    assert_eq!(
        decode(bytes),
        Err(expected),
        "decode_option of {bytes:02x?}"
    );
    into_refuses(bytes, expected);
}

/// Every option entry point refuses `bytes` with `expected`:
/// `decode_option`, `decode_option_into` and `OptionView::new_checked`.
fn refuses(bytes: &[u8], expected: WireError) {
    decoders_refuse(bytes, expected);
    assert_eq!(
        view(bytes),
        Err(expected),
        "OptionView::new_checked of {bytes:02x?}"
    );
}

/// Both answer entry points refuse `bytes` with `expected`.
fn answer_refuses(bytes: &[u8], expected: WireError) {
    assert_eq!(
        wire::decode_answer(&mut &bytes[..], &CFG),
        Err(expected),
        "decode_answer of {bytes:02x?}"
    );
    answer_into_refuses(bytes, expected);
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
        refuses(&v[..cut], err);
    }
    let a = answer_vector();
    for cut in 0..a.len() {
        let err = wire::decode_answer(&mut &a[..cut], &CFG).unwrap_err();
        assert!(
            matches!(err, WireError::Truncated { .. }),
            "cut at {cut}: {err:?}"
        );
        answer_refuses(&a[..cut], err);
    }
}

#[test]
fn trailing_bytes_after_the_option() {
    let mut v = ipv4_vector();
    v.push(0);
    refuses(
        &v,
        WireError::TrailingBytes {
            what: "option",
            count: 1,
        },
    );
}

#[test]
fn trailing_bytes_inside_the_value() {
    let mut v = ipv4_vector();
    v.push(0);
    let v = fix_len(v);
    refuses(
        &v,
        WireError::TrailingBytes {
            what: "entries",
            count: 1,
        },
    );
}

#[test]
fn length_field_longer_than_input_is_truncation() {
    let mut v = ipv4_vector();
    v[3] += 1;
    refuses(
        &v,
        WireError::Truncated {
            what: "option value",
        },
    );
}

#[test]
fn wrong_option_type() {
    let mut v = ipv4_vector();
    v[0] = 9;
    refuses(
        &v,
        WireError::WrongType {
            expected: 1,
            found: 9,
        },
    );
    let other = WireConfig {
        option_type: 9,
        ..CFG
    };
    assert!(wire::decode_option(&mut &v[..], &other).is_ok());
    assert!(OptionView::new_checked(&v[..], &other).is_ok());
}

#[test]
fn unknown_version() {
    let mut v = ipv4_vector();
    v[4] = 2;
    refuses(&v, WireError::UnknownVersion(2));
}

#[test]
fn reserved_key_family_and_transport_codes() {
    let mut v = ipv4_vector();
    v[5] = 0x06;
    refuses(&v, WireError::UnknownKey(3));
    let mut v = ipv4_vector();
    v[7] = 0x0c;
    refuses(&v, WireError::UnknownFamily(3));
    let mut v = ipv4_vector();
    v[7] = 0x50;
    refuses(&v, WireError::UnknownTransport(5));
}

#[test]
fn the_filter_carries_a_transport() {
    let filter = Filter::services(Services::TURN).with_transport(Transport::Tls);
    let option = PiggybackOption::recursive(Some(n(10)), filter, UniquenessKey::Ip);
    let mut b = Vec::new();
    wire::encode_option(&option, Direction::Request, &CFG, &mut b).unwrap();
    assert_eq!(
        b[7],
        0x02 | (3 << 4),
        "TURN; any family; TLS (code 3) in bits 4–6"
    );
    assert_eq!(decode(&b).unwrap().filter(), filter);
}

#[test]
fn reserved_bits_are_ignored() {
    let mut v = ipv4_vector();
    v[5] |= 0xf0; // bit 3 (0x08) announces a known list
    v[7] |= 0x80; // bits 4–6 carry the filter's transport
    v[11] |= 0xf8; // first entry's flags
    assert_eq!(decode(&v).unwrap(), decode(&ipv4_vector()).unwrap());
}

#[test]
fn n_above_cap_and_k_above_n() {
    let mut v = ipv4_vector();
    v[6] = 65;
    refuses(&v, WireError::InvalidN(InvalidN(65)));
    let mut v = ipv4_vector();
    v[6] = 1;
    refuses(&v, WireError::KAboveN { k: 2, n: n(1) });
    let mut v = ipv4_vector();
    v[6] = 0;
    v[9] = 65;
    refuses(&v, WireError::KAboveN { k: 65, n: n(64) });
}

#[test]
fn fewer_entries_than_k() {
    let mut v = ipv4_vector();
    v[9] = 3;
    refuses(&v, WireError::KMismatch { k: 3, found: 2 });
}

/// The one refusal the byte view does not share: uniqueness is a property
/// of a set, checked when the entries go into one.
#[test]
fn duplicate_keys() {
    let mut v = ipv4_vector();
    // Second entry gets the first one's address.
    let first_addr: Vec<u8> = v[20..26].to_vec();
    v[36..42].copy_from_slice(&first_addr);
    decoders_refuse(&v, WireError::DuplicateKey { index: 1 });
    let view = view(&v).unwrap();
    assert_eq!(view.k(), 2);
    let entries: Vec<SetEntry> = view.entries().collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].candidate.address, entries[1].candidate.address);
}

#[test]
fn entry_shorter_than_its_fields() {
    let mut v = ipv4_vector();
    v.remove(25); // drop the last byte of entry 1's port
    v[10] = 0x0e;
    let v = fix_len(v);
    refuses(
        &v,
        WireError::EntryLength {
            index: 0,
            declared: 14,
        },
    );
}

#[test]
fn bad_address_lengths() {
    let mut v = ipv4_vector();
    v[19] = 5;
    refuses(&v, WireError::BadAddressLength { kind: 1, len: 5 });
    let mut v = ipv4_vector();
    v[18] = 2; // IPv6 type with IPv4 length 6
    refuses(&v, WireError::BadAddressLength { kind: 2, len: 6 });
}

#[test]
fn unknown_transport_and_role() {
    let mut v = ipv4_vector();
    v[13] = 9;
    refuses(&v, WireError::UnknownTransport(9));
    let mut v = ipv4_vector();
    v[14] = 0;
    refuses(&v, WireError::UnknownRole(0));
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
    refuses(&fix_len(v), WireError::NodeIdTooLong(33));
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
    // The view sees K = 2 on the wire and the same one known entry.
    let view = view(&v).unwrap();
    assert_eq!(view.k(), 2);
    assert_eq!(view.entries().collect::<Vec<_>>(), o.set().entries());
}

#[test]
fn fields_appended_to_an_entry_by_a_later_revision_are_skipped() {
    let mut v = ipv4_vector();
    v.insert(26, 0xee);
    v.insert(26, 0xee);
    v[10] = 0x11;
    let v = fix_len(v);
    assert_eq!(decode(&v).unwrap(), decode(&ipv4_vector()).unwrap());
    let view = view(&v).unwrap();
    assert_eq!(
        view.entries().collect::<Vec<_>>(),
        decode(&ipv4_vector()).unwrap().set().entries()
    );
}

#[test]
fn iterative_request_with_entries() {
    let mut v = ipv4_vector();
    v[5] = 0x01;
    decoders_refuse(
        &v,
        WireError::Option(OptionError::IterativeWithSet { k: 2 }),
    );
}

/// `OptionView::new_checked` refuses "every error of `decode_option`
/// except a duplicate key", an iterative option with entries included.
#[test]
fn option_view_refuses_an_iterative_option_with_entries() {
    let mut v = ipv4_vector();
    v[5] = 0x01;
    refuses(
        &v,
        WireError::Option(OptionError::IterativeWithSet { k: 2 }),
    );
}

#[test]
fn answer_must_be_iterative() {
    let set = CandidateSet::new(UniquenessKey::Ip);
    let mut b = Vec::new();
    wire::encode_answer(&set, AnswerInfo { hop: 1, n: n(10) }, &CFG, &mut b).unwrap();
    b[8] = 0x00; // value flags: recursive
    answer_refuses(
        &b,
        WireError::WrongMode {
            expected: "iterative answer",
        },
    );
    b[8] = 0x01;
    b[1] = 2;
    answer_refuses(
        &b,
        WireError::WrongType {
            expected: 1,
            found: 2,
        },
    );
}

#[test]
fn answer_vector_decodes() {
    let (info, set) = wire::decode_answer(&mut &answer_vector()[..], &CFG).unwrap();
    assert_eq!(info, AnswerInfo { hop: 4, n: n(10) });
    assert_eq!(set.len(), 2);
    // Into a set that held other entries under another key: same result.
    let mut reused = three_entry_set();
    let got = wire::decode_answer_into(&mut &answer_vector()[..], &CFG, &mut reused).unwrap();
    assert_eq!((got, reused), (info, set));
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
    let mut option = PiggybackOption::recursive(Some(n(10)), Filter::ANY, UniquenessKey::Prefix);
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
    // And the option takes the next good input whole.
    wire::decode_option_into(&mut &ipv4_vector()[..], &CFG, &mut option).unwrap();
    assert_eq!(option, decode(&ipv4_vector()).unwrap());
}

// ---- the `_into` decoders' contract: one test per error class ----
//
// Each starts from a recursive option (or a set) holding 3 entries and
// decodes a faulty input into it: the typed error comes back, the set is
// empty, the option's mode, N, filter and hop are unchanged.

#[test]
fn decode_option_into_wrong_type_empties_the_set() {
    into_refuses(
        &[0x02, 0x04, 0x00, 0x00],
        WireError::WrongType {
            expected: 1,
            found: 2,
        },
    );
}

#[test]
fn decode_option_into_truncated_outer_header_empties_the_set() {
    into_refuses(
        &[0x01],
        WireError::Truncated {
            what: "option flags",
        },
    );
}

#[test]
fn decode_option_into_trailing_byte_empties_the_set() {
    let mut v = ipv4_vector();
    v.push(0);
    into_refuses(
        &v,
        WireError::TrailingBytes {
            what: "option",
            count: 1,
        },
    );
}

#[test]
fn decode_option_into_truncated_value_empties_the_set() {
    // The length says 6 value bytes, 2 follow.
    into_refuses(
        &[0x01, 0x04, 0x00, 0x06, 0x01, 0x00],
        WireError::Truncated {
            what: "option value",
        },
    );
}

#[test]
fn decode_option_into_truncated_value_header_empties_the_set() {
    // A consistent length, but the value ends after version, flags and N.
    into_refuses(
        &fix_len(ipv4_vector()[..7].to_vec()),
        WireError::Truncated { what: "filter" },
    );
}

#[test]
fn decode_option_into_k_mismatch_empties_the_set() {
    let mut v = ipv4_vector();
    v[9] = 3;
    into_refuses(&v, WireError::KMismatch { k: 3, found: 2 });
}

#[test]
fn decode_option_into_n_of_65_empties_the_set() {
    let mut v = ipv4_vector();
    v[6] = 65;
    into_refuses(&v, WireError::InvalidN(InvalidN(65)));
}

#[test]
fn decode_option_into_iterative_with_entries_empties_the_set() {
    let mut v = ipv4_vector();
    v[5] = 0x01;
    into_refuses(
        &v,
        WireError::Option(OptionError::IterativeWithSet { k: 2 }),
    );
}

#[test]
fn decode_option_into_duplicate_key_empties_the_set() {
    let mut v = ipv4_vector();
    let first_addr: Vec<u8> = v[20..26].to_vec();
    v[36..42].copy_from_slice(&first_addr);
    into_refuses(&v, WireError::DuplicateKey { index: 1 });
}

#[test]
fn decode_answer_into_truncated_empties_the_set() {
    answer_into_refuses(
        &[0x00],
        WireError::Truncated {
            what: "extension type",
        },
    );
}

#[test]
fn decode_answer_into_truncated_value_empties_the_set() {
    let mut a = answer_vector();
    a[6] += 1; // length one past the input
    answer_into_refuses(
        &a,
        WireError::Truncated {
            what: "extension value",
        },
    );
}

#[test]
fn decode_answer_into_wrong_type_empties_the_set() {
    let mut a = answer_vector();
    a[1] = 2;
    answer_into_refuses(
        &a,
        WireError::WrongType {
            expected: 1,
            found: 2,
        },
    );
}

#[test]
fn decode_answer_into_trailing_bytes_empties_the_set() {
    let mut a = answer_vector();
    a.extend([0, 0]);
    answer_into_refuses(
        &a,
        WireError::TrailingBytes {
            what: "extension",
            count: 2,
        },
    );
}

#[test]
fn decode_answer_into_recursive_value_empties_the_set() {
    let mut a = answer_vector();
    a[8] = 0x00; // value flags: recursive
    answer_into_refuses(
        &a,
        WireError::WrongMode {
            expected: "iterative answer",
        },
    );
}

#[test]
fn decode_answer_into_k_mismatch_empties_the_set() {
    let mut a = answer_vector();
    a[12] = 3;
    answer_into_refuses(&a, WireError::KMismatch { k: 3, found: 2 });
}

#[test]
fn decode_answer_into_n_of_65_empties_the_set() {
    let mut a = answer_vector();
    a[9] = 65;
    answer_into_refuses(&a, WireError::InvalidN(InvalidN(65)));
}

#[test]
fn decode_answer_into_trailing_bytes_in_the_value_empties_the_set() {
    let mut a = answer_vector();
    a.push(0);
    answer_into_refuses(
        &fix_answer_len(a),
        WireError::TrailingBytes {
            what: "entries",
            count: 1,
        },
    );
}

// ---- the willingness advertisement ----

/// The `advert` vector of WIRE.md: `00 01 | 00 | 00 00 00 2d | 11 00 02 |
/// two servers`.
fn advert_vector() -> Vec<u8> {
    vec![
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2d, 0x11, 0x00, 0x02, //
        0x0f, 0x01, 0x03, 0x01, 0x01, 0x00, 0x01, 0xf4, 0x01, 0x06, 0xc0, 0x00, 0x02, 0x01, 0x0d,
        0x96, //
        0x19, 0x00, 0x02, 0x03, 0x01, 0x00, 0x02, 0x12, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x14, 0xe5,
    ]
}

fn decode_advert(bytes: &[u8]) -> Result<Advertisement, WireError> {
    wire::decode_advert(&mut &bytes[..], &CFG)
}

/// The refusals WIRE.md lists for the advertisement.
#[test]
fn advert_refusals() {
    let good = decode_advert(&advert_vector()).unwrap();
    assert_eq!(good.servers().len(), 2);
    let first = good.servers()[0].address;

    let mut a = advert_vector();
    a[7] = 0x12;
    assert_eq!(decode_advert(&a), Err(WireError::UnknownVersion(0x12)));
    // A candidate-set value (version 1) is no advertisement either.
    assert_eq!(
        decode_advert(&answer_vector()),
        Err(WireError::UnknownVersion(1))
    );
    let mut a = advert_vector();
    a[9] = 9;
    assert_eq!(
        decode_advert(&a),
        Err(WireError::Advert(AdvertError::TooMany { count: 9 }))
    );
    let mut a = advert_vector();
    a[9] = 3;
    assert_eq!(
        decode_advert(&a),
        Err(WireError::KMismatch { k: 3, found: 2 })
    );
    let mut a = advert_vector();
    a.push(0);
    assert_eq!(
        decode_advert(&fix_answer_len(a)),
        Err(WireError::TrailingBytes {
            what: "advertisement",
            count: 1
        })
    );
    let mut a = advert_vector();
    a.push(0);
    assert_eq!(
        decode_advert(&a),
        Err(WireError::TrailingBytes {
            what: "extension",
            count: 1
        })
    );
    let mut a = advert_vector();
    a[12] = 0; // server 1 offers nothing
    assert_eq!(
        decode_advert(&a),
        Err(WireError::Advert(AdvertError::NoService { address: first }))
    );
    // Server 2 moved onto server 1's transport address: UDP, IPv4, same
    // address and port, the same length of entry.
    let mut a = advert_vector();
    let server1 = a[10..26].to_vec();
    a.truncate(26);
    a.extend(&server1);
    a[26 + 2] = 0x02; // TURN only: still a different candidate, same address
    assert_eq!(
        decode_advert(&fix_answer_len(a)),
        Err(WireError::Advert(AdvertError::Duplicate { address: first }))
    );
    // An unknown address type is skipped with its server.
    let mut a = advert_vector();
    a[18] = 7;
    assert_eq!(decode_advert(&a).unwrap().servers(), &good.servers()[1..]);
}

// ---- the byte view ----

/// Every getter of `view` equals the field of `option` it reads; `flags`
/// is the ForwardingOption's for `direction`.
fn assert_view_matches(view: &OptionView<&[u8]>, option: &PiggybackOption, direction: Direction) {
    assert_eq!(view.option_type(), CFG.option_type);
    // RESPONSE_COPY only on a recursive-mode request.
    let flags = match (direction, option.mode()) {
        (Direction::Request, RoutingMode::Recursive) => wire::fwd_flags::RESPONSE_COPY,
        _ => 0,
    };
    assert_eq!(view.flags(), flags);
    assert_eq!(usize::from(view.length()), view.as_bytes().len() - 4);
    assert_eq!(view.as_bytes().len(), wire::option_len(option));
    assert_eq!(view.mode(), option.mode());
    assert_eq!(view.key(), option.key());
    assert_eq!(view.n(), option.n());
    assert_eq!(view.filter(), option.filter());
    assert_eq!(view.hop(), option.hop());
    assert_eq!(usize::from(view.k()), option.set().len());
    assert_eq!(view.entries().collect::<Vec<_>>(), option.set().entries());
}

#[test]
fn option_view_reads_the_vector() {
    let v = ipv4_vector();
    let o = decode(&v).unwrap();
    let view = view(&v).unwrap();
    assert_view_matches(&view, &o, Direction::Request);
    assert_eq!(
        (view.option_type(), view.flags(), view.length()),
        (1, 0x04, 38)
    );
    assert_eq!(
        (view.mode(), view.key(), view.n(), view.hop(), view.k()),
        (RoutingMode::Recursive, UniquenessKey::Ip, Some(n(10)), 3, 2)
    );
    assert_eq!(view.filter(), Filter::ANY);
    assert_eq!(view.into_inner(), &v[..]);
}

#[test]
fn option_view_set_flags_and_set_hop_patch_only_their_bytes() {
    let v = ipv4_vector();
    let o = decode(&v).unwrap();
    let mut bytes = v.clone();
    let mut view = OptionView::new_checked(&mut bytes[..], &CFG).unwrap();
    view.set_flags(0);
    view.set_hop(9);
    assert_eq!((view.flags(), view.hop()), (0, 9));
    let mut expect = v.clone();
    expect[1] = 0;
    expect[8] = 9;
    assert_eq!(bytes, expect);
    let mut patched = decode(&bytes).unwrap();
    assert_eq!(patched.hop(), 9);
    patched.set_hop(o.hop());
    assert_eq!(patched, o);
}

#[test]
fn option_view_of_an_empty_option_reports_n_not_set() {
    let bytes = [0x01, 0x04, 0x00, 0x06, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00];
    let view = view(&bytes).unwrap();
    assert_eq!((view.n(), view.k(), view.entries().count()), (None, 0, 0));
    assert_view_matches(&view, &decode(&bytes).unwrap(), Direction::Request);
}

#[test]
fn iterative_answer_from_on_request_round_trips_with_its_answer_info() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(
        PeerConfig::draft_literal().with_address_policy(AddressPolicy::permissive()),
    );
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        three_entry_set().iter().map(|e| e.candidate),
    );
    let mut option = PiggybackOption::iterative(Some(n(2)), Filter::ANY, UniquenessKey::IpPort, 4);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let Outcome::Answer(answer, report) =
        peer.on_request(now, MessageKind::Get, None, &mut option, &mut rng)
    else {
        panic!("an iterative option gets an answer");
    };
    let info = report.answer_info();
    assert_eq!(info, AnswerInfo { hop: 4, n: n(2) });
    assert_eq!(answer.len(), 2);
    let mut buf = Vec::new();
    wire::encode_answer(&answer, info, &CFG, &mut buf).unwrap();
    assert_eq!(
        wire::decode_answer(&mut &buf[..], &CFG).unwrap(),
        (info, answer)
    );
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
        prop_oneof![
            Just(None),
            Just(Some(Transport::Udp)),
            Just(Some(Transport::Tcp)),
            Just(Some(Transport::Tls)),
            Just(Some(Transport::Dtls))
        ],
    )
        .prop_map(|(s, family, transport)| Filter {
            services: Services::from_bits_truncate(s),
            family,
            transport,
        })
}

fn arb_option() -> impl Strategy<Value = PiggybackOption> {
    (
        arb_set(),
        0u8..=10,
        arb_filter(),
        any::<u8>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(set, extra, filter, hop, explicit, iterative)| {
            let wanted = n((set.len() as u8 + extra).clamp(1, N::MAX.get()));
            if iterative {
                PiggybackOption::iterative(explicit.then_some(wanted), filter, set.key(), hop)
            } else {
                PiggybackOption::from_parts(
                    RoutingMode::Recursive,
                    explicit.then_some(wanted),
                    filter,
                    hop,
                    set,
                )
                .unwrap()
            }
        })
}

/// Whether `err` is one `OptionView::new_checked` is allowed not to report:
/// a duplicate key (by design; uniqueness is a set's property).
fn view_may_accept(err: &WireError) -> bool {
    matches!(err, WireError::DuplicateKey { .. })
}

/// All option entry points agree on `bytes`: `decode_option_into` into a
/// prefilled option gives the same result (set empty and header unchanged
/// on error), and `OptionView::new_checked` accepts what decodes and
/// refuses the rest with the same error, duplicate keys aside.
fn entry_points_agree(bytes: &[u8]) -> Result<(), TestCaseError> {
    let fresh = decode(bytes);
    let mut reused = prefilled_option();
    let before = header(&reused);
    let into = wire::decode_option_into(&mut &bytes[..], &CFG, &mut reused);
    prop_assert_eq!(&into, &fresh.as_ref().map(|_| ()).map_err(|e| *e));
    match &fresh {
        Ok(o) => prop_assert_eq!(&reused, o),
        Err(_) => {
            prop_assert!(reused.set().is_empty());
            prop_assert_eq!(header(&reused), before);
        }
    }
    let viewed = view(bytes);
    match (&fresh, &viewed) {
        (Ok(o), Ok(v)) => {
            prop_assert_eq!(v.mode(), o.mode());
            prop_assert_eq!(v.key(), o.key());
            prop_assert_eq!(v.n(), o.n());
            prop_assert_eq!(v.filter(), o.filter());
            prop_assert_eq!(v.hop(), o.hop());
            prop_assert_eq!(v.entries().collect::<Vec<_>>(), o.set().entries());
        }
        (Ok(_), Err(e)) => prop_assert!(false, "decodes, but the view refuses it: {:?}", e),
        (Err(e), Ok(_)) => prop_assert!(
            view_may_accept(e),
            "the view accepts what decode refuses with {:?}",
            e
        ),
        (Err(d), Err(v)) => {
            if !view_may_accept(d) {
                prop_assert_eq!(v, d);
            }
        }
    }
    Ok(())
}

/// Both answer entry points agree on `bytes`; `decode_answer_into` leaves
/// a prefilled set empty on error.
fn answer_entry_points_agree(bytes: &[u8]) -> Result<(), TestCaseError> {
    let fresh = wire::decode_answer(&mut &bytes[..], &CFG);
    let mut reused = three_entry_set();
    let into = wire::decode_answer_into(&mut &bytes[..], &CFG, &mut reused);
    match (fresh, into) {
        (Ok((info, set)), Ok(i)) => prop_assert_eq!((i, reused), (info, set)),
        (Err(f), Err(i)) => {
            prop_assert_eq!(i, f);
            prop_assert!(reused.is_empty());
        }
        (f, i) => prop_assert!(false, "decode_answer {:?}, decode_answer_into {:?}", f, i),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn option_round_trip(set in arb_set(), extra in 0u8..=10, filter in arb_filter(), hop: u8, explicit: bool) {
        let wanted = n((set.len() as u8 + extra).clamp(1, N::MAX.get()));
        let option = PiggybackOption::from_parts(RoutingMode::Recursive, explicit.then_some(wanted), filter, hop, set).unwrap();
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
        let info = AnswerInfo { hop, n: n((set.len() as u8).max(1)) };
        let mut buf = Vec::new();
        wire::encode_answer(&set, info, &CFG, &mut buf).unwrap();
        prop_assert_eq!(buf.len(), wire::answer_len(&set));
        let (i, s) = wire::decode_answer(&mut &buf[..], &CFG).unwrap();
        prop_assert_eq!(i, info);
        prop_assert_eq!(&s, &set);
        let mut reused = three_entry_set();
        let i = wire::decode_answer_into(&mut &buf[..], &CFG, &mut reused).unwrap();
        prop_assert_eq!((i, reused), (info, set));
    }

    /// The view's getters equal the encoded option's fields, in both
    /// directions; `set_flags(0)` turns the request encoding into the
    /// response encoding and decodes to the same option; `set_hop` changes
    /// the hop and nothing else.
    #[test]
    fn option_view_reads_what_was_encoded(option in arb_option(), new_hop: u8) {
        for direction in [Direction::Request, Direction::Response] {
            let mut buf = Vec::new();
            wire::encode_option(&option, direction, &CFG, &mut buf).unwrap();
            let v = view(&buf).unwrap();
            assert_view_matches(&v, &option, direction);
        }
        let mut request = Vec::new();
        wire::encode_option(&option, Direction::Request, &CFG, &mut request).unwrap();
        let mut response = Vec::new();
        wire::encode_option(&option, Direction::Response, &CFG, &mut response).unwrap();
        let mut v = OptionView::new_checked(&mut request[..], &CFG).unwrap();
        v.set_flags(0);
        prop_assert_eq!(&request, &response);
        prop_assert_eq!(decode(&request).unwrap(), option.clone());
        let mut v = OptionView::new_checked(&mut request[..], &CFG).unwrap();
        v.set_hop(new_hop);
        let mut expect = option.clone();
        expect.set_hop(new_hop);
        prop_assert_eq!(decode(&request).unwrap(), expect);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        entry_points_agree(&bytes)?;
        answer_entry_points_agree(&bytes)?;
    }

    #[test]
    fn decoding_mutated_vectors_never_panics(pos in 0usize..42, byte: u8, cut in 0usize..=42) {
        let mut v = ipv4_vector();
        v[pos] = byte;
        v.truncate(cut);
        entry_points_agree(&v)?;
        if let Ok(o) = decode(&v) {
            // Whatever decodes re-encodes to a decodable option.
            let mut b = Vec::new();
            wire::encode_option(&o, Direction::Request, &CFG, &mut b).unwrap();
            prop_assert_eq!(decode(&b).unwrap(), o);
        }
    }

    #[test]
    fn decoding_mutated_answers_never_panics(pos in 0usize..57, byte: u8, cut in 0usize..=57) {
        let mut a = answer_vector();
        a[pos] = byte;
        a.truncate(cut);
        answer_entry_points_agree(&a)?;
        if let Ok((info, set)) = wire::decode_answer(&mut &a[..], &CFG) {
            let mut b = Vec::new();
            wire::encode_answer(&set, info, &CFG, &mut b).unwrap();
            prop_assert_eq!(wire::decode_answer(&mut &b[..], &CFG).unwrap(), (info, set));
        }
    }

    #[test]
    fn on_encoded_request_equals_decode_on_request_encode(
        seed: u64,
        policy in prop_oneof![
            Just(SelectionPolicy::ByPriority),
            Just(SelectionPolicy::ByPerformance),
            Just(SelectionPolicy::Random),
            Just(SelectionPolicy::LoadSpreading),
        ],
        tables in proptest::collection::vec(proptest::collection::vec(arb_entry(), 0..20), 1..5),
        wanted in proptest::option::of((1u8..=20).prop_map(n)),
        key in arb_key(),
        filter in arb_filter(),
        share in 1u8..=100,
    ) {
        let now = Instant::now() + Duration::from_secs(1);
        let config = PeerConfig::default()
            .with_address_policy(AddressPolicy::permissive())
            .with_selection(policy)
            .with_per_hop_share(PerHopShare::new(share).unwrap());
        let option = PiggybackOption::recursive(wanted, filter, key);
        let mut bytes = BytesMut::new();
        wire::encode_option(&option, Direction::Request, &CFG, &mut bytes).unwrap();
        let mut decoded_path = option;
        for (i, entries) in tables.iter().enumerate() {
            let mut peer = IntermediatePeer::new(config);
            let _ = peer.table_mut().sync_source(now, Source::RoutingTable, entries.iter().map(|e| e.candidate));
            let mut rng_a = ChaCha8Rng::seed_from_u64(seed ^ i as u64);
            let mut rng_b = rng_a.clone();
            let in_place = peer.on_encoded_request(now, MessageKind::Put, None, &mut bytes, &CFG, &mut rng_a).unwrap();
            let outcome = peer.on_request(now, MessageKind::Put, None, &mut decoded_path, &mut rng_b);
            prop_assert_eq!(*outcome.report(), in_place);
            let mut expect = Vec::new();
            wire::encode_option(&decoded_path, Direction::Request, &CFG, &mut expect).unwrap();
            prop_assert_eq!(&bytes[..], &expect[..]);
            prop_assert_eq!(wire::decode_option(&mut &bytes[..], &CFG).unwrap(), decoded_path.clone());
        }
    }
}

#[test]
fn on_encoded_request_refuses_an_iterative_option_and_leaves_it() {
    let option = PiggybackOption::iterative(Some(n(10)), Filter::ANY, UniquenessKey::Ip, 2);
    let mut bytes = BytesMut::new();
    wire::encode_option(&option, Direction::Request, &CFG, &mut bytes).unwrap();
    let before = bytes.clone();
    let mut peer = IntermediatePeer::new(PeerConfig::default());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let err = peer.on_encoded_request(
        Instant::now(),
        MessageKind::Get,
        None,
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
fn on_encoded_request_refuses_a_malformed_option_and_leaves_it() {
    let mut v = ipv4_vector();
    v[9] = 3;
    let mut bytes = BytesMut::from(&v[..]);
    let mut peer = IntermediatePeer::new(PeerConfig::default());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let err = peer.on_encoded_request(
        Instant::now(),
        MessageKind::Get,
        None,
        &mut bytes,
        &CFG,
        &mut rng,
    );
    assert_eq!(err, Err(WireError::KMismatch { k: 3, found: 2 }));
    assert_eq!(&bytes[..], &v[..]);
}

/// An answer never holds more than the N its peer says it worked to: the
/// encoder refuses what the decoder would.
#[test]
fn encode_answer_refuses_k_above_n() {
    let set = CandidateSet::from_entries(
        UniquenessKey::Ip,
        (1..=3u8).map(|i| SetEntry {
            candidate: Candidate::peer(
                TransportAddress::udp(format!("45.0.0.{i}:3478").parse().unwrap()),
                Services::BOTH,
            ),
            hop: 1,
        }),
    )
    .unwrap();
    let mut b = Vec::new();
    assert_eq!(
        wire::encode_answer(&set, AnswerInfo { hop: 1, n: n(2) }, &CFG, &mut b),
        Err(WireError::KAboveN { k: 3, n: n(2) })
    );
    assert!(b.is_empty());
}
