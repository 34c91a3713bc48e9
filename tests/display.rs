//! What hosts print: every type a host logs has a human-readable `Display`.

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::*;

#[test]
fn addresses_statuses_and_settings_read_as_words() {
    let a = TransportAddress::new("192.0.2.1".parse().unwrap(), 3478, Transport::Udp);
    assert_eq!(a.to_string(), "192.0.2.1:3478/udp");
    let v6 = TransportAddress::new("2001:db8::1".parse().unwrap(), 5349, Transport::Tls);
    assert_eq!(v6.to_string(), "[2001:db8::1]:5349/tls");
    assert_eq!(
        Candidate::peer(a, Services::BOTH)
            .with_priority(300)
            .to_string(),
        "192.0.2.1:3478/udp STUN+TURN peer, priority 300"
    );
    assert_eq!(NatStatus::Public.to_string(), "public");
    let nat = NatStatus::BehindNat {
        reflexive: "203.0.113.7:40000".parse().unwrap(),
    };
    assert_eq!(nat.to_string(), "behind NAT (reflexive 203.0.113.7:40000)");
    assert_eq!(N::DEFAULT.to_string(), "10");
    assert_eq!(PerHopShare::HALF.to_string(), "50%");
    assert_eq!(SelectionPolicy::LoadSpreading.to_string(), "load spreading");
    assert_eq!(UniquenessKey::IpPort.to_string(), "IP address and port");
    assert_eq!(
        Filter::services(Services::TURN)
            .with_family(IpFamily::V6)
            .with_transport(Transport::Dtls)
            .to_string(),
        "TURN over IPv6 on dtls"
    );
    assert_eq!(Filter::ANY.to_string(), "any");
    assert_eq!(MessageKind::Join.to_string(), "JOIN");
    assert_eq!(RoutingMode::Iterative.to_string(), "iterative");
    assert_eq!(Source::NeighborTable.to_string(), "neighbor table");
}

#[test]
fn reports_read_as_sentences() {
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(PeerConfig::default());
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        (1..=3u8).map(|i| {
            Candidate::peer(
                TransportAddress::udp(format!("11.0.0.{i}:3478").parse().unwrap()),
                Services::BOTH,
            )
        }),
    );
    let mut node = SendingNode::new(NodeConfig::default());
    let mut option = node.recursive_option();
    let outcome = peer.on_request(
        now,
        MessageKind::Join,
        None,
        &mut option,
        &mut ChaCha8Rng::seed_from_u64(1),
    );
    assert_eq!(
        outcome.report().to_string(),
        "recursive JOIN at hop 1: K 0 -> 3 of N = 10, table exhausted (§4.2 step 7)"
    );
    let saved = node.on_response(now, MessageKind::Join, &option).unwrap();
    assert_eq!(
        saved.to_string(),
        "JOIN: offered 3, saved 3, reserve 0, refreshed 0, dropped 0 (filter 0, policy 0, no room 0); usable 3, shortfall 7"
    );
}

/// A report a host edited or read back cannot make `Display` overflow.
#[test]
fn a_save_report_with_large_counts_displays() {
    let mut node = SendingNode::new(NodeConfig::default());
    let mut r = node
        .on_answer(
            Instant::now(),
            MessageKind::Get,
            1,
            &CandidateSet::new(UniquenessKey::Ip),
        )
        .unwrap();
    r.filtered = 200;
    r.refused = 100;
    r.no_room = 255;
    assert!(r.to_string().contains("dropped 555"));
}

#[test]
fn the_rest_reads_as_words_too() {
    assert_eq!(AddressPolicy::default().to_string(), "public only");
    assert_eq!(
        AddressPolicy::default()
            .with_private(true)
            .with_loopback(true)
            .to_string(),
        "allows loopback, private"
    );
    assert_eq!(NodeId::new(&[0xab, 0x01]).unwrap().to_string(), "ab01");
    let mut table = CandidateTable::new(peer::TableConfig::default());
    let private = Candidate::peer(
        TransportAddress::udp("10.0.0.1:3478".parse().unwrap()),
        Services::BOTH,
    );
    let r = table.sync_source(Instant::now(), Source::RoutingTable, [private]);
    assert_eq!(
        r.to_string(),
        "added 0, updated 0, removed 0, not willing 0, refused 1"
    );
}
