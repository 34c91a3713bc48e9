//! The test vectors of WIRE.md, read from WIRE.md itself so the document
//! and the code cannot drift: each named hex block must be exactly what the
//! encoder writes for the value built here, and must decode back to it
//! (fresh, into a reused option or set, and through the byte view); the
//! fuzz seeds of the decoders hold the same bytes; the size table is the
//! output of `examples/wire_sizes.rs`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use stun_turn_discovery::wire::{self, AnswerInfo, Direction, OptionView, WireConfig};
use stun_turn_discovery::*;

#[path = "../examples/wire_sizes.rs"]
#[allow(dead_code)]
mod wire_sizes;

const WIRE_MD: &str = include_str!("../WIRE.md");

/// Every `#### \`name\`` heading's first ```text block, as bytes.
fn vectors() -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut name: Option<String> = None;
    let mut in_block = false;
    let mut bytes = Vec::new();
    for line in WIRE_MD.lines() {
        if let Some(rest) = line.strip_prefix("#### `") {
            name = Some(rest.trim_end_matches('`').to_owned());
        } else if line.starts_with("```text") && name.is_some() {
            in_block = true;
            bytes.clear();
        } else if line.starts_with("```") && in_block {
            in_block = false;
            out.insert(name.take().unwrap(), std::mem::take(&mut bytes));
        } else if in_block {
            let data = line.split('#').next().unwrap();
            for tok in data.split_whitespace() {
                bytes.push(
                    u8::from_str_radix(tok, 16).unwrap_or_else(|_| panic!("bad hex {tok:?}")),
                );
            }
        }
    }
    out
}

fn entry(a: &str, t: Transport, role: Role, s: Services, p: Option<u16>, hop: u8) -> SetEntry {
    let sa: SocketAddr = a.parse().unwrap();
    let mut c = Candidate::peer(TransportAddress::new(sa.ip(), sa.port(), t), s);
    c.role = role;
    c.priority = p;
    SetEntry { candidate: c, hop }
}

fn n(v: u8) -> N {
    N::new(v).unwrap()
}

fn option(
    mode: RoutingMode,
    n: Option<N>,
    filter: Filter,
    hop: u8,
    key: UniquenessKey,
    entries: Vec<SetEntry>,
) -> PiggybackOption {
    let set = CandidateSet::from_entries(key, entries).unwrap();
    PiggybackOption::from_parts(mode, n, filter, hop, set).unwrap()
}

fn ipv4_only() -> PiggybackOption {
    option(
        RoutingMode::Recursive,
        Some(n(10)),
        Filter::ANY,
        3,
        UniquenessKey::Ip,
        vec![
            entry(
                "192.0.2.1:6084",
                Transport::Udp,
                Role::Peer,
                Services::BOTH,
                Some(300),
                1,
            ),
            entry(
                "198.51.100.7:3478",
                Transport::Udp,
                Role::Client,
                Services::TURN,
                Some(100),
                2,
            ),
        ],
    )
}

/// Each named request option and the direction it is encoded in.
fn options() -> Vec<(&'static str, Direction, PiggybackOption)> {
    let mut hinted = entry(
        "[2001:db8:1::5]:5349",
        Transport::Tls,
        Role::Peer,
        Services::BOTH,
        Some(300),
        2,
    );
    hinted.candidate.hints = PerformanceHints {
        capacity: 1000,
        bandwidth_kbps: 100_000,
        load_percent: 25,
    };
    let mut with_id = entry(
        "192.0.2.44:3478",
        Transport::Dtls,
        Role::Peer,
        Services::STUN,
        Some(200),
        1,
    );
    with_id.candidate.node_id = Some(NodeId::new(&[0x5a; 16]).unwrap());
    vec![
        ("ipv4-only", Direction::Request, ipv4_only()),
        ("ipv4-only-response", Direction::Response, ipv4_only()),
        (
            "ipv6-only",
            Direction::Request,
            option(
                RoutingMode::Recursive,
                Some(n(4)),
                Filter::services(Services::TURN).with_family(IpFamily::V6),
                2,
                UniquenessKey::Prefix,
                vec![entry(
                    "[2001:db8::1]:3478",
                    Transport::Tcp,
                    Role::Peer,
                    Services::TURN,
                    Some(250),
                    1,
                )],
            ),
        ),
        (
            "mixed",
            Direction::Request,
            option(
                RoutingMode::Recursive,
                Some(n(10)),
                Filter::ANY,
                3,
                UniquenessKey::IpPort,
                vec![
                    entry(
                        "203.0.113.9:3478",
                        Transport::Udp,
                        Role::Peer,
                        Services::STUN,
                        None,
                        1,
                    ),
                    hinted,
                ],
            ),
        ),
        (
            "empty",
            Direction::Request,
            PiggybackOption::recursive(None, Filter::ANY, UniquenessKey::Ip),
        ),
        (
            "n-at-cap",
            Direction::Request,
            PiggybackOption::recursive(
                Some(n(64)),
                Filter::services(Services::STUN),
                UniquenessKey::Ip,
            ),
        ),
        (
            "node-id",
            Direction::Request,
            option(
                RoutingMode::Recursive,
                Some(n(10)),
                Filter::ANY,
                2,
                UniquenessKey::Ip,
                vec![with_id],
            ),
        ),
        (
            "known",
            Direction::Request,
            option(
                RoutingMode::Recursive,
                Some(n(10)),
                Filter::ANY,
                2,
                UniquenessKey::Ip,
                vec![entry(
                    "192.0.2.3:3478",
                    Transport::Udp,
                    Role::Peer,
                    Services::STUN,
                    Some(300),
                    1,
                )],
            )
            .with_known(KnownKeys::of(
                UniquenessKey::Ip,
                [
                    &TransportAddress::udp("192.0.2.1:3478".parse().unwrap()),
                    &TransportAddress::udp("192.0.2.2:3478".parse().unwrap()),
                ],
            )),
        ),
        (
            "iterative-request",
            Direction::Request,
            PiggybackOption::iterative(Some(n(10)), Filter::ANY, UniquenessKey::Ip, 4),
        ),
    ]
}

#[test]
fn every_option_vector_encodes_and_decodes_exactly() {
    let vectors = vectors();
    let cfg = WireConfig::default();
    for (name, direction, value) in options() {
        let bytes = vectors
            .get(name)
            .unwrap_or_else(|| panic!("WIRE.md has no vector {name}"));
        let mut out = Vec::new();
        wire::encode_option(&value, direction, &cfg, &mut out).unwrap();
        assert_eq!(&out, bytes, "encoding of {name}");
        assert_eq!(wire::option_len(&value), bytes.len(), "length of {name}");
        let decoded = wire::decode_option(&mut &bytes[..], &cfg).unwrap();
        assert_eq!(decoded, value, "decoding of {name}");
        // Decoding into an option that held other entries gives the same.
        let mut reused = PiggybackOption::from_parts(
            RoutingMode::Recursive,
            Some(n(3)),
            Filter::services(Services::TURN),
            9,
            CandidateSet::from_entries(
                UniquenessKey::IpPort,
                [entry(
                    "203.0.113.1:3478",
                    Transport::Udp,
                    Role::Peer,
                    Services::TURN,
                    None,
                    1,
                )],
            )
            .unwrap(),
        )
        .unwrap();
        wire::decode_option_into(&mut &bytes[..], &cfg, &mut reused).unwrap();
        assert_eq!(reused, value, "decoding of {name} into an option");
        // The byte view reads the same fields.
        let view = OptionView::new_checked(&bytes[..], &cfg).unwrap();
        // RESPONSE_COPY only on a recursive-mode request.
        let flags = match (direction, value.mode()) {
            (Direction::Request, RoutingMode::Recursive) => wire::fwd_flags::RESPONSE_COPY,
            _ => 0,
        };
        assert_eq!(
            (view.option_type(), view.flags(), usize::from(view.length())),
            (cfg.option_type, flags, bytes.len() - 4),
            "view of {name}"
        );
        assert_eq!(
            (view.mode(), view.key(), view.n(), view.filter(), view.hop()),
            (
                value.mode(),
                value.key(),
                value.n(),
                value.filter(),
                value.hop()
            ),
            "view of {name}"
        );
        assert_eq!(usize::from(view.k()), value.set().len(), "K of {name}");
        assert_eq!(
            view.entries().collect::<Vec<_>>(),
            value.set().entries(),
            "entries of {name}"
        );
    }
}

#[test]
fn iterative_answer_vector_encodes_and_decodes_exactly() {
    let bytes = &vectors()["iterative-answer"];
    let set = CandidateSet::from_entries(
        UniquenessKey::Ip,
        [
            entry(
                "192.0.2.1:6084",
                Transport::Udp,
                Role::Peer,
                Services::BOTH,
                Some(300),
                4,
            ),
            entry(
                "[2001:db8::7]:3478",
                Transport::Udp,
                Role::Peer,
                Services::STUN,
                Some(200),
                4,
            ),
        ],
    )
    .unwrap();
    let info = AnswerInfo { hop: 4, n: n(10) };
    let mut out = Vec::new();
    wire::encode_answer(&set, info, &WireConfig::default(), &mut out).unwrap();
    assert_eq!(&out, bytes);
    let (got_info, got_set) = wire::decode_answer(&mut &bytes[..], &WireConfig::default()).unwrap();
    assert_eq!((&got_info, &got_set), (&info, &set));
    // Into a set that held another entry under another key: the same.
    let mut reused = CandidateSet::from_entries(
        UniquenessKey::Prefix,
        [entry(
            "203.0.113.1:3478",
            Transport::Udp,
            Role::Peer,
            Services::TURN,
            None,
            1,
        )],
    )
    .unwrap();
    let got_info =
        wire::decode_answer_into(&mut &bytes[..], &WireConfig::default(), &mut reused).unwrap();
    assert_eq!((got_info, reused), (info, set));
}

/// Each named willingness advertisement.
fn adverts() -> Vec<(&'static str, Advertisement)> {
    let stun_turn = Candidate::peer(
        TransportAddress::udp("192.0.2.1:3478".parse().unwrap()),
        Services::BOTH,
    )
    .with_priority(500);
    let turn_tls = Candidate::peer(
        TransportAddress::new("2001:db8::1".parse().unwrap(), 5349, Transport::Tls),
        Services::TURN,
    );
    vec![
        ("advert", Advertisement::new([stun_turn, turn_tls]).unwrap()),
        ("advert-not-willing", Advertisement::not_willing()),
    ]
}

#[test]
fn every_advert_vector_encodes_and_decodes_exactly() {
    let vectors = vectors();
    let cfg = WireConfig::default();
    for (name, value) in adverts() {
        let bytes = vectors
            .get(name)
            .unwrap_or_else(|| panic!("WIRE.md has no vector {name}"));
        let mut out = Vec::new();
        wire::encode_advert(&value, &cfg, &mut out).unwrap();
        assert_eq!(&out, bytes, "encoding of {name}");
        assert_eq!(wire::advert_len(&value), bytes.len(), "length of {name}");
        let decoded = wire::decode_advert(&mut &bytes[..], &cfg).unwrap();
        assert_eq!(decoded, value, "decoding of {name}");
        // The format byte keeps it apart from a candidate-set value sharing
        // the code point: the answer decoder refuses it.
        assert_eq!(
            wire::decode_answer(&mut &bytes[..], &cfg),
            Err(wire::WireError::UnknownVersion(0x11)),
            "{name} read as an answer"
        );
    }
}

/// The observed-address vectors: (name, address, whether it is the
/// recursive-mode option rather than the iterative-mode extension).
fn observed() -> Vec<(&'static str, TransportAddress, bool)> {
    vec![
        (
            "observed-option",
            TransportAddress::udp("203.0.113.7:40001".parse().unwrap()),
            true,
        ),
        (
            "observed-extension",
            TransportAddress::udp("[2001:db8::7]:40002".parse().unwrap()),
            false,
        ),
    ]
}

#[test]
fn every_observed_vector_encodes_and_decodes_exactly() {
    let vectors = vectors();
    let cfg = WireConfig::default();
    for (name, address, option) in observed() {
        let bytes = vectors
            .get(name)
            .unwrap_or_else(|| panic!("WIRE.md has no vector {name}"));
        let mut out = Vec::new();
        if option {
            wire::encode_observed_option(&address, Direction::Request, &cfg, &mut out).unwrap();
            assert_eq!(wire::observed_option_len(&address), bytes.len());
            assert_eq!(
                wire::decode_observed_option(&mut &bytes[..], &cfg),
                Ok(address)
            );
            // Not a piggyback option: the option decoder refuses its type.
            assert!(wire::decode_option(&mut &bytes[..], &cfg).is_err());
        } else {
            wire::encode_observed_extension(&address, &cfg, &mut out).unwrap();
            assert_eq!(wire::observed_extension_len(&address), bytes.len());
            assert_eq!(
                wire::decode_observed_extension(&mut &bytes[..], &cfg),
                Ok(address)
            );
            assert!(wire::decode_answer(&mut &bytes[..], &cfg).is_err());
        }
        assert_eq!(&out, bytes, "encoding of {name}");
    }
}

#[test]
fn rfc6940_ip_address_port_example_is_in_the_ipv4_vector() {
    // RFC 6940 §6.3.1: 192.0.2.1:6084 is 01 06 c0 00 02 01 17 c4.
    let bytes = &vectors()["ipv4-only"];
    let example = [0x01, 0x06, 0xc0, 0x00, 0x02, 0x01, 0x17, 0xc4];
    assert!(bytes.windows(8).any(|w| w == example));
}

#[test]
fn wire_md_lists_every_vector_this_file_checks() {
    let names: Vec<String> = vectors().into_keys().collect();
    let mut expected: Vec<String> = options()
        .into_iter()
        .map(|(n, _, _)| n.to_owned())
        .collect();
    expected.push("iterative-answer".to_owned());
    expected.extend(adverts().into_iter().map(|(n, _)| n.to_owned()));
    expected.extend(observed().into_iter().map(|(n, _, _)| n.to_owned()));
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn wire_md_size_table_is_the_examples_output() {
    let start = WIRE_MD.find(wire_sizes::BEGIN).expect("begin marker") + wire_sizes::BEGIN.len();
    let stop = WIRE_MD.find(wire_sizes::END).expect("end marker");
    assert_eq!(
        &WIRE_MD[start..stop],
        wire_sizes::table(),
        "WIRE.md's size table is stale: regenerate it with `cargo run --example wire_sizes -- --write`"
    );
}

/// `fuzz/seeds/decode_option/<name>`, `fuzz/seeds/decode_answer/<name>`,
/// `fuzz/seeds/decode_advert/<name>` and `fuzz/seeds/decode_observed/<name>`
/// hold exactly WIRE.md's option and answer vectors, so the fuzzers start from the documented
/// bytes. Skipped where `fuzz/` is absent (it is not packaged).
#[test]
fn fuzz_seeds_are_the_vectors() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    if !root.is_dir() {
        eprintln!("skipped: no {}", root.display());
        return;
    }
    let adverts: Vec<&str> = adverts().into_iter().map(|(n, _)| n).collect();
    for (name, bytes) in vectors() {
        let target = if adverts.contains(&name.as_str()) {
            "decode_advert"
        } else if name.starts_with("observed-") {
            "decode_observed"
        } else if name == "iterative-answer" {
            "decode_answer"
        } else {
            "decode_option"
        };
        let path = root.join(target).join(&name);
        let seed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(seed, bytes, "{} differs from WIRE.md", path.display());
    }
}
