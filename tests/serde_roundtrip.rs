//! serde_json round trips of every public data type that derives serde,
//! and refusal of values that break a type's invariants.
#![cfg(feature = "serde")]

use std::fmt::Debug;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use stun_turn_discovery::peer::{HopReport, SourcePriorities, Stop, TableConfig};
use stun_turn_discovery::wire::WireConfig;
use stun_turn_discovery::{
    AddressClass, AddressPolicy, Advertisement, Candidate, CandidateSet, Feedback, Filter,
    IntermediatePeer, IpFamily, MessageKind, NatStatus, NodeConfig, NodeId, PeerConfig,
    PerHopShare, PerformanceHints, PiggybackOption, Role, RoutingMode, SelectionPolicy,
    SendingNode, Services, SetEntry, Source, Transport, TransportAddress, UniquenessKey, N,
};

/// Serializes `value`, checks it reads back equal and serializes the same
/// again; returns the JSON.
fn roundtrip<T>(value: &T) -> Value
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let text = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{value:?} as {text} does not read back: {e}"));
    assert_eq!(&back, value, "{text}");
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
    serde_json::from_str(&text).unwrap()
}

fn rejects<T: DeserializeOwned + Debug>(json: &Value) -> String {
    match serde_json::from_value::<T>(json.clone()) {
        Ok(v) => panic!("{json} was accepted as {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn n(v: u8) -> N {
    N::new(v).unwrap()
}

fn share(percent: u8) -> PerHopShare {
    PerHopShare::new(percent).unwrap()
}

fn v4(s: &str) -> TransportAddress {
    TransportAddress::udp(s.parse().unwrap())
}

fn full_candidate() -> Candidate {
    Candidate {
        address: TransportAddress::new("2a00:1450::7".parse().unwrap(), 5349, Transport::Tls),
        role: Role::Client,
        services: Services::TURN,
        priority: Some(65_535),
        hints: PerformanceHints {
            capacity: 800,
            bandwidth_kbps: 100_000,
            load_percent: 37,
        },
        node_id: Some(NodeId::new(&[0xab; 20]).unwrap()),
    }
}

fn entry(addr: &str, hop: u8) -> SetEntry {
    SetEntry {
        candidate: Candidate::peer(v4(addr), Services::BOTH).with_priority(300),
        hop,
    }
}

fn two_entry_set() -> CandidateSet {
    CandidateSet::from_entries(
        UniquenessKey::Ip,
        [entry("45.0.0.1:3478", 1), entry("45.0.0.2:3478", 2)],
    )
    .unwrap()
}

#[test]
fn addresses_and_candidates() {
    for t in [
        Transport::Udp,
        Transport::Tcp,
        Transport::Tls,
        Transport::Dtls,
    ] {
        roundtrip(&t);
    }
    assert_eq!(roundtrip(&Transport::Dtls), json!("dtls"));
    for a in [
        v4("45.0.0.1:3478"),
        TransportAddress::new("2001:db8::1".parse().unwrap(), 443, Transport::Tcp),
        TransportAddress::new("::ffff:45.0.0.9".parse().unwrap(), 1, Transport::Dtls),
    ] {
        roundtrip(&a);
    }
    roundtrip(&Role::Peer);
    assert_eq!(roundtrip(&Role::Client), json!("client"));
    for s in [
        Services::NONE,
        Services::STUN,
        Services::TURN,
        Services::BOTH,
    ] {
        roundtrip(&s);
    }
    roundtrip(&PerformanceHints::default());
    roundtrip(&PerformanceHints {
        capacity: u16::MAX,
        bandwidth_kbps: u32::MAX,
        load_percent: 255,
    });
    for id in [&[][..], &[1, 2, 3], &[0xff; 32]] {
        roundtrip(&NodeId::new(id).unwrap());
    }
    for s in Source::ALL {
        roundtrip(&s);
    }
    roundtrip(&full_candidate());
    roundtrip(&Candidate::peer(v4("45.0.0.1:3478"), Services::STUN));
}

#[test]
fn sets_and_options() {
    roundtrip(&entry("45.0.0.1:3478", 7));
    roundtrip(&CandidateSet::new(UniquenessKey::Prefix));
    roundtrip(&two_entry_set());
    let mixed = CandidateSet::from_entries(
        UniquenessKey::IpPort,
        [
            SetEntry {
                candidate: full_candidate(),
                hop: 1,
            },
            entry("45.0.0.1:3478", 1),
            entry("45.0.0.1:5349", 3),
        ],
    )
    .unwrap();
    roundtrip(&mixed);
    let full = CandidateSet::from_entries(
        UniquenessKey::Ip,
        (1..=64u8).map(|i| entry(&format!("45.0.1.{i}:3478"), 1)),
    )
    .unwrap();
    roundtrip(&full);

    for k in [
        UniquenessKey::Ip,
        UniquenessKey::IpPort,
        UniquenessKey::Prefix,
    ] {
        roundtrip(&k);
    }
    assert_eq!(roundtrip(&UniquenessKey::IpPort), json!("ip_port"));
    for m in [RoutingMode::Recursive, RoutingMode::Iterative] {
        roundtrip(&m);
    }
    assert_eq!(roundtrip(&RoutingMode::Recursive), json!("recursive"));
    for f in [IpFamily::V4, IpFamily::V6] {
        roundtrip(&f);
    }
    for f in [
        Filter::ANY,
        Filter::services(Services::TURN),
        Filter::services(Services::BOTH).with_family(IpFamily::V6),
        Filter::ANY.with_family(IpFamily::V4),
    ] {
        roundtrip(&f);
    }

    for (v, text) in [(N::MIN, 1), (N::DEFAULT, 10), (N::MAX, 64)] {
        assert_eq!(roundtrip(&v), json!(text));
    }
    roundtrip(&PiggybackOption::recursive(
        None,
        Filter::ANY,
        UniquenessKey::Ip,
    ));
    roundtrip(&PiggybackOption::iterative(
        Some(n(64)),
        Filter::services(Services::STUN),
        UniquenessKey::Prefix,
        4,
    ));
    let carried = PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(n(2)),
        Filter::ANY.with_family(IpFamily::V4),
        3,
        two_entry_set(),
    )
    .unwrap();
    roundtrip(&carried);
}

#[test]
fn configuration() {
    roundtrip(&PeerConfig::default());
    roundtrip(&PeerConfig::draft_literal());
    roundtrip(&NodeConfig::default());
    roundtrip(&TableConfig::default());
    roundtrip(&WireConfig::default());
    roundtrip(&WireConfig {
        option_type: 200,
        extension_type: 0xfff0,
        observed_option_type: 201,
        observed_extension_type: 0xfff1,
    });
    for (v, text) in [
        (share(1), 1),
        (PerHopShare::HALF, 50),
        (PerHopShare::WHOLE, 100),
    ] {
        assert_eq!(roundtrip(&v), json!(text));
    }
    let table = TableConfig::default()
        .with_source_priorities(SourcePriorities {
            routing_table: 1,
            neighbor_table: 2,
            connection_table: 3,
            local_peer: 4,
            client: 5,
        })
        .with_entry_lifetime(Duration::from_nanos(1))
        .unwrap()
        .with_max_entries(1)
        .unwrap()
        .with_address_policy(AddressPolicy::permissive().with_loopback(false));
    roundtrip(&table);
    let peer = PeerConfig::default()
        .with_default_n(n(1))
        .with_max_n(n(3))
        .with_per_hop_share(share(1))
        .with_selection(SelectionPolicy::Random)
        .with_table(table);
    roundtrip(&peer);
    let node = NodeConfig::default()
        .with_wanted(n(64))
        .with_filter(Filter::services(Services::TURN).with_family(IpFamily::V6))
        .with_key(UniquenessKey::Prefix)
        .with_per_hop_share(share(100))
        .with_address_policy(AddressPolicy::permissive().with_loopback(false))
        .with_cache_capacity(255)
        .unwrap()
        .with_entry_lifetime(Duration::from_nanos(1))
        .unwrap()
        .with_failure_backoff(Duration::from_millis(1500))
        .unwrap()
        .with_max_failures(255)
        .unwrap();
    roundtrip(&node);

    roundtrip(&SourcePriorities::default());
    for p in [
        AddressPolicy::default(),
        AddressPolicy::permissive(),
        AddressPolicy::default()
            .with_private(true)
            .with_link_local(true),
    ] {
        roundtrip(&p);
    }
    for c in [
        AddressClass::Unspecified,
        AddressClass::Multicast,
        AddressClass::Broadcast,
        AddressClass::Loopback,
        AddressClass::LinkLocal,
        AddressClass::Private,
        AddressClass::Documentation,
    ] {
        roundtrip(&c);
    }
    for p in [
        SelectionPolicy::ByPriority,
        SelectionPolicy::ByPerformance,
        SelectionPolicy::Random,
        SelectionPolicy::LoadSpreading,
    ] {
        roundtrip(&p);
    }
    assert_eq!(
        roundtrip(&SelectionPolicy::LoadSpreading),
        json!("load_spreading")
    );
}

/// A report as an intermediate peer makes it (`HopReport` is
/// `#[non_exhaustive]`): `kind` in `mode` at position `hop`, ending in
/// `stop`.
fn hop_report(kind: MessageKind, mode: RoutingMode, stop: Stop, hop: u8) -> HopReport {
    let now = Instant::now();
    // The per-hop share HALF stops at 5 of N = 10; WHOLE lets one peer
    // reach N or run out of table.
    let (config, wanted, table_len) = match stop {
        Stop::AlreadyFull => (PeerConfig::default(), 2, 4),
        Stop::ReachedN => (PeerConfig::draft_literal(), 3, 8),
        Stop::TableExhausted => (PeerConfig::draft_literal(), 10, 2),
        Stop::HopCap => (PeerConfig::default(), 10, 20),
        other => panic!("no recipe for {other:?}"),
    };
    let mut peer = IntermediatePeer::new(config);
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        (1..=table_len).map(|i| Candidate::peer(v4(&format!("45.0.3.{i}:3478")), Services::BOTH)),
    );
    let mut option = match mode {
        RoutingMode::Recursive => {
            // Already full: it arrives with K = N = 2.
            let carried = if stop == Stop::AlreadyFull {
                two_entry_set()
            } else {
                CandidateSet::new(UniquenessKey::Ip)
            };
            PiggybackOption::from_parts(mode, Some(n(wanted)), Filter::ANY, hop, carried).unwrap()
        }
        RoutingMode::Iterative => {
            PiggybackOption::iterative(Some(n(wanted)), Filter::ANY, UniquenessKey::Ip, hop)
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(u64::from(hop));
    let report = *peer
        .on_request(now, kind, None, &mut option, &mut rng)
        .report();
    assert_eq!(
        (report.kind, report.mode, report.stop, report.hop),
        (kind, mode, stop, hop),
        "{report}"
    );
    report
}

#[test]
fn reports_feedback_and_nat_status() {
    let kinds = [
        MessageKind::Join,
        MessageKind::Maintenance,
        MessageKind::Get,
        MessageKind::Put,
        MessageKind::Other,
    ];
    for k in kinds {
        roundtrip(&k);
    }
    let stops = [
        Stop::AlreadyFull,
        Stop::ReachedN,
        Stop::TableExhausted,
        Stop::HopCap,
    ];
    for s in stops {
        roundtrip(&s);
    }
    for (i, (kind, stop)) in kinds.iter().zip(stops.iter().cycle()).enumerate() {
        let i = u8::try_from(i).unwrap();
        let mode = if i % 2 == 0 {
            RoutingMode::Recursive
        } else {
            RoutingMode::Iterative
        };
        let report = hop_report(*kind, mode, *stop, i + 1);
        let value = roundtrip(&report);
        assert_eq!(value["n"], json!(report.n.get()), "{value}");
        assert_eq!(value["k_after"], json!(report.k_after), "{value}");
    }
    // The sending node's report only serializes (it is the node's to make).
    let mut node = SendingNode::new(NodeConfig::default());
    let carried = PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(n(10)),
        Filter::ANY,
        3,
        two_entry_set(),
    )
    .unwrap();
    let save = node
        .on_response(Instant::now(), MessageKind::Join, &carried)
        .unwrap();
    let value = serde_json::to_value(save).unwrap();
    for (field, got) in [
        ("offered", save.offered),
        ("saved", save.saved),
        ("reserved", save.reserved),
        ("refreshed", save.refreshed),
        ("filtered", save.filtered),
        ("refused", save.refused),
        ("no_room", save.no_room),
        ("usable", save.usable),
        ("shortfall", save.shortfall),
    ] {
        assert_eq!(value[field], json!(got), "{field} in {value}");
    }
    assert_eq!(value["kind"], json!("join"));
    assert_eq!((save.offered, save.saved), (2, 2));
    roundtrip(&Feedback::Failed);
    roundtrip(&Feedback::Worked {
        rtt: Duration::from_micros(12_345),
    });
    roundtrip(&Feedback::Worked { rtt: Duration::MAX });
    roundtrip(&NatStatus::Public);
    roundtrip(&NatStatus::BehindNat {
        reflexive: "203.0.113.7:40000".parse().unwrap(),
    });
    roundtrip(&NatStatus::BehindNat {
        reflexive: "[2a00:1450::1]:1".parse().unwrap(),
    });
}

#[test]
fn set_with_two_entries_of_one_ip_is_rejected() {
    let mut value = roundtrip(&two_entry_set());
    // Second entry: same IP as the first, another port (§4.2 step 5).
    value["entries"][1]["candidate"]["address"]["ip"] = json!("45.0.0.1");
    value["entries"][1]["candidate"]["address"]["port"] = json!(5349);
    let err = rejects::<CandidateSet>(&value);
    assert!(err.contains("45.0.0.1"), "{err}");

    // The same entries under the IP-and-port key are fine.
    value["key"] = json!("ip_port");
    let set: CandidateSet = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(set.len(), 2);

    // And an exact duplicate is refused under every key.
    for key in ["ip", "ip_port", "prefix"] {
        let mut v = value.clone();
        v["key"] = json!(key);
        v["entries"][1] = v["entries"][0].clone();
        let _ = rejects::<CandidateSet>(&v);
    }
}

#[test]
fn set_above_max_n_is_rejected() {
    let mut value = roundtrip(
        &CandidateSet::from_entries(
            UniquenessKey::Ip,
            (1..=64u8).map(|i| entry(&format!("45.0.1.{i}:3478"), 1)),
        )
        .unwrap(),
    );
    let extra = serde_json::to_value(entry("45.0.2.1:3478", 1)).unwrap();
    value["entries"].as_array_mut().unwrap().push(extra);
    let _ = rejects::<CandidateSet>(&value);
}

#[test]
fn option_with_bad_n_or_iterative_set_is_rejected() {
    let good = roundtrip(&PiggybackOption::recursive(
        Some(n(10)),
        Filter::ANY,
        UniquenessKey::Ip,
    ));
    for n in [0, 65, 255] {
        let mut v = good.clone();
        v["n"] = json!(n);
        let _ = rejects::<PiggybackOption>(&v);
    }
    for n in [1, 64] {
        let mut v = good.clone();
        v["n"] = json!(n);
        let _: PiggybackOption = serde_json::from_value(v).unwrap();
    }

    // An iterative request carries no set (§3.3.2 step 2).
    let mut v = roundtrip(&PiggybackOption::iterative(
        None,
        Filter::ANY,
        UniquenessKey::Ip,
        2,
    ));
    v["set"] = serde_json::to_value(two_entry_set()).unwrap();
    let _ = rejects::<PiggybackOption>(&v);
    // The same set in recursive mode is fine.
    v["mode"] = json!("recursive");
    let _: PiggybackOption = serde_json::from_value(v.clone()).unwrap();
    // But not with more candidates than N.
    v["n"] = json!(1);
    let _ = rejects::<PiggybackOption>(&v);
}

/// Sets `path` (one field, or `table.field`) of `good` to each bad value
/// and expects `T` to refuse it.
fn rejects_each<T: DeserializeOwned + Debug>(good: &Value, bad: &[(&str, Value)]) {
    for (path, bad) in bad {
        let mut v = good.clone();
        let slot = path
            .split('.')
            .try_fold(&mut v, |v, field| v.get_mut(field))
            .unwrap_or_else(|| panic!("no field {path} in {good}"));
        *slot = bad.clone();
        let err = rejects::<T>(&v);
        assert!(!err.is_empty(), "{path} = {bad}");
    }
}

#[test]
fn config_with_bad_values_is_rejected() {
    let zero = json!({"secs": 0, "nanos": 0});
    let table = roundtrip(&TableConfig::default());
    rejects_each::<TableConfig>(
        &table,
        &[("max_entries", json!(0)), ("entry_lifetime", zero.clone())],
    );
    let peer = roundtrip(&PeerConfig::default());
    rejects_each::<PeerConfig>(
        &peer,
        &[
            ("default_n", json!(0)),
            ("default_n", json!(65)),
            ("max_n", json!(0)),
            ("max_n", json!(65)),
            ("per_hop_share", json!(0)),
            ("per_hop_share", json!(101)),
            ("table.max_entries", json!(0)),
            ("table.entry_lifetime", zero.clone()),
        ],
    );
    let node = roundtrip(&NodeConfig::default());
    rejects_each::<NodeConfig>(
        &node,
        &[
            ("wanted", json!(0)),
            ("wanted", json!(65)),
            ("per_hop_share", json!(0)),
            ("per_hop_share", json!(101)),
            ("cache_capacity", json!(0)),
            ("max_failures", json!(0)),
            ("entry_lifetime", zero.clone()),
            ("failure_backoff", zero),
        ],
    );
    // A cap below the default N is no error: the peer works to the cap.
    let mut v = peer.clone();
    v["max_n"] = json!(5);
    let c: PeerConfig = serde_json::from_value(v).unwrap();
    assert_eq!((c.default_n(), c.max_n()), (n(10), n(5)));
    assert_eq!(c.effective_n(None), n(5));
    assert_eq!(c.effective_n(Some(n(3))), n(3));
}

#[test]
fn advertisements_round_trip_and_bad_ones_are_rejected() {
    assert_eq!(roundtrip(&Advertisement::not_willing()), json!([]));
    let servers: Vec<Candidate> = (1..=8u8)
        .map(|i| Candidate::peer(v4(&format!("45.0.4.{i}:3478")), Services::BOTH))
        .collect();
    let full = roundtrip(&Advertisement::new(servers.clone()).unwrap());
    roundtrip(&Advertisement::new([full_candidate()]).unwrap());
    // Nine servers; a server offering nothing; one address twice.
    let mut v = full.clone();
    let extra = serde_json::to_value(Candidate::peer(v4("45.0.4.9:3478"), Services::BOTH)).unwrap();
    v.as_array_mut().unwrap().push(extra);
    let _ = rejects::<Advertisement>(&v);
    let mut v = full.clone();
    v[0]["services"] = json!(0);
    let _ = rejects::<Advertisement>(&v);
    let mut v = full;
    v[1] = v[0].clone();
    let err = rejects::<Advertisement>(&v);
    assert!(err.contains("45.0.4.1"), "{err}");
}

#[test]
fn node_id_of_33_bytes_is_rejected() {
    let err = rejects::<NodeId>(&json!(vec![7u8; 33]));
    assert!(err.contains("33"), "{err}");
    let id: NodeId = serde_json::from_value(json!(vec![7u8; 32])).unwrap();
    assert_eq!(id.as_bytes(), &[7u8; 32]);
    // Inside a candidate too.
    let mut v = roundtrip(&full_candidate());
    v["node_id"] = json!(vec![1u8; 33]);
    let _ = rejects::<Candidate>(&v);
}

/// `TransportAddress::new` stores an IPv4-mapped IPv6 address as IPv4 "so
/// one node never appears under two spellings"; deserializing must keep
/// that, or a set could carry one node twice under the IP key.
#[test]
fn mapped_address_is_canonical_after_deserializing() {
    let mapped = json!({"ip": "::ffff:45.0.0.1", "port": 3478, "transport": "udp"});
    let address: TransportAddress = serde_json::from_value(mapped.clone()).unwrap_or_else(|_| {
        // Refusing the spelling would do too.
        v4("45.0.0.1:3478")
    });
    assert_eq!(address, v4("45.0.0.1:3478"));
    assert!(address.ip().is_ipv4());

    // A set holding both spellings is one node twice.
    let mut set = roundtrip(&two_entry_set());
    set["entries"][1]["candidate"]["address"] = mapped;
    if let Ok(set) = serde_json::from_value::<CandidateSet>(set) {
        panic!("one node under two spellings: {set:?}");
    }
}

/// `Services` keeps only the STUN and TURN bits (`from_bits_truncate`);
/// deserializing other bits must not make a candidate that offers nothing
/// look willing (§2).
#[test]
fn services_with_unknown_bits_do_not_look_willing() {
    match serde_json::from_value::<Services>(json!(4)) {
        Err(_) => {}
        Ok(s) => {
            assert_eq!(s, Services::from_bits_truncate(4));
            assert!(s.is_empty());
            let c = Candidate::peer(v4("45.0.0.1:3478"), s);
            assert!(
                !Filter::ANY.accepts(&c),
                "a candidate offering nothing passes the filter"
            );
        }
    }
}
