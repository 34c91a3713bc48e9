//! The piggyback option inside whole RELOAD messages (RFC 6940 §6.3.2):
//! `wire::find_option` and `IntermediatePeer::on_reload_request`, which
//! appends in place and patches the option length, the options-list length
//! and the message length.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use bytes::{BufMut, BytesMut};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::wire::{self, Direction, WireConfig, WireError};
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

fn peer(base: u32, entries: u32) -> IntermediatePeer {
    let mut peer = IntermediatePeer::new(PeerConfig::default());
    let _ = peer.table_mut().sync_source(
        Instant::now(),
        Source::RoutingTable,
        (0..entries).map(|i| Candidate::peer(addr(base + i), Services::BOTH)),
    );
    peer
}

/// A RELOAD JoinReq: ForwardingHeader, a destination list of one Node-ID,
/// an unrelated forwarding option before and after ours, message contents
/// and a stand-in security block.
fn message(option: &[u8], spare: usize) -> BytesMut {
    let dest: Vec<u8> = [&[0x01, 0x10][..], &[0xab; 16]].concat();
    let before: &[u8] = &[0x07, 0x00, 0x00, 0x02, 0xee, 0xee];
    let after: &[u8] = &[0x09, 0x00, 0x00, 0x01, 0xdd];
    let options_len = before.len() + option.len() + after.len();
    let contents: &[u8] = &[0x00, 0x0f, 0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0];
    let security: &[u8] = &[0x00, 0x00, 0x55, 0x66];
    let total = 38 + dest.len() + options_len + contents.len() + security.len();
    let mut m = BytesMut::with_capacity(total + spare);
    m.put_u32(0xd245_4c4f);
    m.put_u32(0x1234_5678); // overlay
    m.put_u16(0); // configuration_sequence
    m.put_u8(0x0a); // version 1.0
    m.put_u8(100); // ttl
    m.put_u32(0xc000_0000); // unfragmented
    m.put_u32(total as u32);
    m.put_u64(0x0102_0304_0506_0708);
    m.put_u32(5000);
    m.put_u16(0); // via list
    m.put_u16(dest.len() as u16);
    m.put_u16(options_len as u16);
    m.put_slice(&dest);
    m.put_slice(before);
    m.put_slice(option);
    m.put_slice(after);
    m.put_slice(contents);
    m.put_slice(security);
    m
}

fn encoded(option: &PiggybackOption) -> BytesMut {
    let mut b = BytesMut::new();
    wire::encode_option(option, Direction::Request, &CFG, &mut b).unwrap();
    b
}

#[test]
fn finds_the_option_among_others() {
    let option = encoded(&PiggybackOption::recursive(
        Some(N::DEFAULT),
        Filter::ANY,
        UniquenessKey::Ip,
    ));
    let m = message(&option, 0);
    let range = wire::find_option(&m, &CFG).unwrap().unwrap();
    assert_eq!(&m[range.clone()], &option[..]);
    assert_eq!(range.start, 38 + 18 + 6);
    // Another code point: not found.
    let other = WireConfig {
        option_type: 2,
        ..CFG
    };
    assert_eq!(wire::find_option(&m, &other).unwrap(), None);
}

#[test]
fn append_inside_the_message_equals_the_bare_append_and_patches_three_lengths() {
    let now = Instant::now();
    let mut p = peer(0, 40);
    let option = encoded(&PiggybackOption::recursive(
        Some(N::DEFAULT),
        Filter::ANY,
        UniquenessKey::Ip,
    ));
    let mut m = message(&option, 512);
    let before = m.clone();

    let mut bare = option.clone();
    let bare_report = p
        .on_encoded_request(
            now,
            MessageKind::Join,
            None,
            &mut bare,
            &CFG,
            &mut ChaCha8Rng::seed_from_u64(5),
        )
        .unwrap();
    let report = p
        .on_reload_request(
            now,
            MessageKind::Join,
            None,
            &mut m,
            &CFG,
            &mut ChaCha8Rng::seed_from_u64(5),
        )
        .unwrap()
        .unwrap();
    assert_eq!(report, bare_report);
    assert_eq!(report.added(), 5);

    let grown = bare.len() - option.len();
    assert_eq!(m.len(), before.len() + grown);
    // The option is the bare append's bytes, where it was.
    let range = wire::find_option(&m, &CFG).unwrap().unwrap();
    assert_eq!(&m[range.clone()], &bare[..]);
    // Message length and options length grew by the same amount.
    assert_eq!(
        u32::from_be_bytes(m[16..20].try_into().unwrap()) as usize,
        m.len()
    );
    let options_len = u16::from_be_bytes(m[36..38].try_into().unwrap()) as usize;
    assert_eq!(options_len, 6 + bare.len() + 5);
    // Everything before and after the option is untouched.
    assert_eq!(&m[..16], &before[..16]);
    assert_eq!(&m[20..36], &before[20..36]);
    assert_eq!(&m[38..range.start], &before[38..range.start]);
    let old_end = range.start + option.len();
    assert_eq!(&m[range.end..], &before[old_end..]);
    // The decoded option holds what on_request would have added.
    let decoded = wire::decode_option(&mut &m[range], &CFG).unwrap();
    assert_eq!(decoded.set().len(), 5);
    assert_eq!(decoded.hop(), 2);
}

#[test]
fn two_hops_in_a_row() {
    let now = Instant::now();
    let (mut p1, mut p2) = (peer(0, 40), peer(1000, 40));
    let option = encoded(&PiggybackOption::recursive(
        Some(N::DEFAULT),
        Filter::ANY,
        UniquenessKey::Ip,
    ));
    let mut m = message(&option, 0); // no spare room: the buffer grows
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for p in [&mut p1, &mut p2] {
        let r = p
            .on_reload_request(now, MessageKind::Get, None, &mut m, &CFG, &mut rng)
            .unwrap()
            .unwrap();
        assert_eq!(r.added(), 5);
    }
    let range = wire::find_option(&m, &CFG).unwrap().unwrap();
    let decoded = wire::decode_option(&mut &m[range], &CFG).unwrap();
    let hops: Vec<u8> = decoded.set().iter().map(|e| e.hop).collect();
    assert_eq!(hops, [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    assert_eq!(
        u32::from_be_bytes(m[16..20].try_into().unwrap()) as usize,
        m.len()
    );
}

#[test]
fn a_message_without_the_option_is_left_alone() {
    let now = Instant::now();
    let mut p = peer(0, 10);
    let mut m = message(&[], 0);
    let before = m.clone();
    let r = p
        .on_reload_request(
            now,
            MessageKind::Get,
            None,
            &mut m,
            &CFG,
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .unwrap();
    assert_eq!(r, None);
    assert_eq!(m, before);
}

#[test]
fn malformed_messages_are_refused_and_left_alone() {
    let now = Instant::now();
    let mut p = peer(0, 10);
    let option = encoded(&PiggybackOption::recursive(
        Some(N::DEFAULT),
        Filter::ANY,
        UniquenessKey::Ip,
    ));
    let good = message(&option, 0);
    let mut cases: Vec<(BytesMut, WireError)> = Vec::new();
    let mut token = good.clone();
    token[0] = 0;
    cases.push((token, WireError::NotReload));
    let mut length = good.clone();
    length[19] ^= 1;
    cases.push((
        length,
        WireError::MessageLength {
            declared: (good.len() ^ 1) as u32,
            actual: good.len(),
        },
    ));
    let mut options = good.clone();
    options[36..38].copy_from_slice(&u16::MAX.to_be_bytes());
    cases.push((
        options,
        WireError::Truncated {
            what: "forwarding options",
        },
    ));
    cases.push((
        BytesMut::from(&good[..20]),
        WireError::Truncated {
            what: "forwarding header",
        },
    ));
    let mut iterative = message(
        &encoded(&PiggybackOption::iterative(
            Some(N::DEFAULT),
            Filter::ANY,
            UniquenessKey::Ip,
            1,
        )),
        0,
    );
    let it_before = iterative.clone();
    let err = p
        .on_reload_request(
            now,
            MessageKind::Get,
            None,
            &mut iterative,
            &CFG,
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .unwrap_err();
    assert_eq!(
        err,
        WireError::WrongMode {
            expected: "recursive option"
        }
    );
    assert_eq!(iterative, it_before);
    for (mut case, want) in cases {
        let before = case.clone();
        let err = p
            .on_reload_request(
                now,
                MessageKind::Get,
                None,
                &mut case,
                &CFG,
                &mut ChaCha8Rng::seed_from_u64(1),
            )
            .unwrap_err();
        assert_eq!(err, want);
        assert_eq!(case, before);
    }
}

/// When the options list cannot grow (its u16 length would overflow), the
/// append is undone and the message is as it was.
#[test]
fn an_options_list_that_cannot_grow_is_left_as_it_was() {
    let now = Instant::now();
    let mut p = peer(0, 10);
    let option = encoded(&PiggybackOption::recursive(
        Some(N::DEFAULT),
        Filter::ANY,
        UniquenessKey::Ip,
    ));
    // A padding option of 65,500 bytes before ours fills the u16.
    let mut padding = vec![0x07, 0x00];
    padding.extend_from_slice(&65_500u16.to_be_bytes());
    padding.resize(4 + 65_500, 0xaa);
    let options: Vec<u8> = [&padding[..], &option[..]].concat();
    let total = 38 + options.len();
    let mut m = BytesMut::new();
    m.put_u32(0xd245_4c4f);
    m.put_slice(&[0; 12]);
    m.put_u32(total as u32);
    m.put_slice(&[0; 12]);
    m.put_u16(0);
    m.put_u16(0);
    m.put_u16(options.len() as u16);
    m.put_slice(&options);
    let before = m.clone();
    let err = p
        .on_reload_request(
            now,
            MessageKind::Get,
            None,
            &mut m,
            &CFG,
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .unwrap_err();
    assert_eq!(
        err,
        WireError::TooLong {
            what: "RELOAD message"
        }
    );
    assert_eq!(m, before);
}

/// A message whose options list ends in a short option of our type (here
/// four bytes: a header and no value) is refused with a typed error, not a
/// panic, and left as it was.
#[test]
fn a_short_option_at_the_end_of_a_message_is_refused() {
    let now = Instant::now();
    let mut p = peer(0, 10);
    let mut m = BytesMut::new();
    m.put_u32(0xd245_4c4f);
    m.put_slice(&[0; 12]);
    m.put_u32(42);
    m.put_slice(&[0; 16]);
    m.put_u16(4);
    m.put_slice(&[1, 4, 0, 0]);
    let before = m.clone();
    let err = p
        .on_reload_request(
            now,
            MessageKind::Join,
            None,
            &mut m,
            &CFG,
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .unwrap_err();
    assert_eq!(err, WireError::Truncated { what: "version" });
    assert_eq!(m, before);
    assert_eq!(p.stats().malformed, 1);
}

/// An iterative option in a whole message is the host's to answer with
/// `on_request` (which counts it); `on_reload_request` says so and does
/// not count it as malformed.
#[test]
fn an_iterative_option_in_a_message_is_not_counted_as_malformed() {
    let now = Instant::now();
    let mut p = peer(0, 10);
    let option = encoded(&PiggybackOption::iterative(
        Some(N::DEFAULT),
        Filter::ANY,
        UniquenessKey::Ip,
        1,
    ));
    let mut m = message(&option, 0);
    let err = p
        .on_reload_request(
            now,
            MessageKind::Get,
            None,
            &mut m,
            &CFG,
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .unwrap_err();
    assert_eq!(
        err,
        WireError::WrongMode {
            expected: "recursive option"
        }
    );
    assert_eq!(p.stats().malformed, 0);
}

/// An entry of an address type this crate does not know is kept by the
/// in-place append (and counted in K), where decoding drops it: the one
/// case in which the in-place append and decode + on_request + encode
/// differ, as the rustdoc of `on_encoded_request` says.
#[test]
fn unknown_address_types_are_kept_in_place() {
    let now = Instant::now();
    let mut p = peer(0, 10);
    // An option with K = 1 whose entry has address type 3 (7 bytes of
    // "address"), then N = 1.
    let option = encoded(&PiggybackOption::recursive(
        Some(N::MIN),
        Filter::ANY,
        UniquenessKey::Ip,
    ));
    let mut bytes = BytesMut::from(&option[..]);
    let entry: &[u8] = &[12, 0, 3, 1, 1, 1, 3, 5, 1, 2, 3, 4, 5];
    bytes.extend_from_slice(entry);
    bytes[9] = 1; // K
    let len = (bytes.len() - 4) as u16;
    bytes[2..4].copy_from_slice(&len.to_be_bytes());
    let decoded = wire::decode_option(&mut &bytes[..], &CFG).unwrap();
    assert_eq!(decoded.set().len(), 0, "decoding drops the unknown entry");
    let before = bytes.clone();
    let report = p
        .on_encoded_request(
            now,
            MessageKind::Get,
            None,
            &mut bytes,
            &CFG,
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .unwrap();
    // In place, K = 1 = N already: nothing added, the entry kept.
    assert_eq!((report.k_before, report.added()), (1, 0));
    assert_eq!(&bytes[10..], &before[10..]);
}

/// §4.2 step 5 holds inside a whole message: a table whose candidates
/// share IP addresses (one address, several ports) adds each address once,
/// whether the twin is among the entries present or among those this hop
/// just added, with message bytes after the option that look nothing like
/// entries; and a hop after it adds none of the addresses again.
#[test]
fn uniqueness_holds_against_entries_present_and_just_added() {
    let now = Instant::now();
    let twins = |base: u32| {
        let mut p =
            IntermediatePeer::new(PeerConfig::default().with_per_hop_share(PerHopShare::WHOLE));
        let _ = p.table_mut().sync_source(
            now,
            Source::RoutingTable,
            (0..8u32).flat_map(|i| {
                [3478u16, 3479].map(|port| {
                    let a = addr(base + i);
                    Candidate::peer(
                        TransportAddress::new(a.ip(), port, Transport::Udp),
                        Services::BOTH,
                    )
                })
            }),
        );
        p
    };
    let option = encoded(&PiggybackOption::recursive(
        Some(N::new(16).unwrap()),
        Filter::ANY,
        UniquenessKey::Ip,
    ));
    let mut m = message(&option, 4096);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // The first hop holds 8 addresses, each at two ports; the second the
    // same 8 and 8 more.
    let (mut first, mut second) = (twins(0), twins(0));
    let _ = second.table_mut().sync_source(
        now,
        Source::Client,
        (8..16u32).map(|i| Candidate::peer(addr(i), Services::BOTH)),
    );
    for p in [&mut first, &mut second] {
        let r = p
            .on_reload_request(now, MessageKind::Join, None, &mut m, &CFG, &mut rng)
            .unwrap()
            .unwrap();
        assert_eq!(r.added(), 8);
    }
    let range = wire::find_option(&m, &CFG).unwrap().unwrap();
    let decoded = wire::decode_option(&mut &m[range], &CFG).unwrap();
    let mut ips: Vec<IpAddr> = decoded
        .set()
        .iter()
        .map(|e| e.candidate.address.ip())
        .collect();
    assert_eq!(ips.len(), 16);
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 16, "each address once");
}
