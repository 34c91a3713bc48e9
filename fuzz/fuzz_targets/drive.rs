//! Structured input drives candidate tables, `on_request` and
//! `on_response` through several hops in either routing mode, with the wire
//! codec between hops, and checks the core invariants: K ≤ N; the set is
//! unique by its key; each hop adds only candidates of its own table that
//! pass the filter, and no more than its per-hop share; `on_response`
//! changes nothing; decode(encode(x)) = x; in-place append gives the same
//! bytes as decode, `on_request`, encode; the sending node either refuses
//! a set whole or saves only what passes its checks.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::wire::{self, AnswerInfo, Direction, WireConfig};
use stun_turn_discovery::*;

#[derive(Arbitrary, Debug)]
struct Input {
    seed: u64,
    share: u8,
    policy: u8,
    key: u8,
    n: Option<u8>,
    services: u8,
    family: u8,
    iterative: bool,
    hops: Vec<Hop>,
}

#[derive(Arbitrary, Debug)]
struct Hop {
    entries: Vec<Entry>,
    /// Seconds since the table was synced (entries may be expired).
    age_secs: u16,
}

#[derive(Arbitrary, Debug)]
struct Entry {
    v6: bool,
    ip: [u8; 16],
    port: u16,
    transport: u8,
    client: bool,
    services: u8,
    priority: Option<u16>,
    hints: (u16, u32, u8),
    source: u8,
}

impl Entry {
    fn candidate(&self) -> Candidate {
        let ip = if self.v6 {
            IpAddr::V6(Ipv6Addr::from(self.ip))
        } else {
            IpAddr::V4(Ipv4Addr::new(
                self.ip[0], self.ip[1], self.ip[2], self.ip[3],
            ))
        };
        let transport = [
            Transport::Udp,
            Transport::Tcp,
            Transport::Tls,
            Transport::Dtls,
        ][usize::from(self.transport % 4)];
        let mut c = Candidate::peer(
            TransportAddress::new(ip, self.port, transport),
            Services::from_bits_truncate(self.services),
        );
        if self.client {
            c.role = Role::Client;
        }
        c.priority = self.priority;
        c.hints = PerformanceHints {
            capacity: self.hints.0,
            bandwidth_kbps: self.hints.1,
            load_percent: self.hints.2,
        };
        c
    }
}

fuzz_target!(|input: Input| {
    let start = Instant::now();
    let wire_cfg = WireConfig::default();
    let policy = [
        SelectionPolicy::ByPriority,
        SelectionPolicy::ByPerformance,
        SelectionPolicy::Random,
        SelectionPolicy::LoadSpreading,
    ][usize::from(input.policy % 4)];
    let key = [
        UniquenessKey::Ip,
        UniquenessKey::IpPort,
        UniquenessKey::Prefix,
    ][usize::from(input.key % 3)];
    let share = input.share.clamp(1, 100);
    let config = Config::default()
        .with_per_hop_share(share)
        .unwrap()
        .with_selection(policy)
        .with_address_policy(if input.seed & 1 == 0 {
            AddressPolicy::permissive()
        } else {
            AddressPolicy::default()
        });
    let family = match input.family % 3 {
        0 => None,
        1 => Some(IpFamily::V4),
        _ => Some(IpFamily::V6),
    };
    let filter = Filter {
        services: Services::from_bits_truncate(input.services),
        family,
    };
    let n = input.n.filter(|n| (1..=MAX_N).contains(n));
    let mode_opt = if input.iterative {
        PiggybackOption::iterative(n, filter, key, 1)
    } else {
        PiggybackOption::recursive(n, filter, key)
    };
    let Ok(mut option) = mode_opt else { return };
    let node_config = config
        .clone()
        .with_filter(filter)
        .with_key(key)
        .with_wanted(n.unwrap_or(DEFAULT_N))
        .unwrap();
    let mut node = SendingNode::new(node_config);
    let mut encoded = BytesMut::new();
    wire::encode_option(&option, Direction::Request, &wire_cfg, &mut encoded).unwrap();

    for (i, hop_input) in input.hops.iter().take(8).enumerate() {
        let hop = i as u8 + 1;
        let mut peer = IntermediatePeer::new(config.clone());
        let synced = start;
        let _ = peer.table_mut().sync_source(
            synced,
            [
                Source::RoutingTable,
                Source::NeighborTable,
                Source::ConnectionTable,
                Source::LocalPeer,
                Source::Client,
            ][usize::from(hop_input.entries.first().map_or(0, |e| e.source) % 5)],
            hop_input.entries.iter().take(64).map(Entry::candidate),
        );
        let now = synced + Duration::from_secs(u64::from(hop_input.age_secs));
        let eff_n = n.unwrap_or(config.default_n());
        let cap = config.per_hop_cap(eff_n);
        let mut rng = ChaCha8Rng::seed_from_u64(input.seed ^ u64::from(hop));
        let mut rng_wire = rng.clone();
        if input.iterative {
            option.set_hop(hop);
        }
        let before = option.set().clone();
        let outcome = peer.on_request(now, MessageKind::Get, &mut option, &mut rng);
        let (set, report) = match &outcome {
            Outcome::Filled(r) => (option.set().clone(), *r),
            Outcome::Answer(a, r) => (a.clone(), *r),
        };
        // K ≤ N (or K unchanged when it already was), unique by key.
        assert!(set.len() <= usize::from(eff_n).max(before.len()));
        let keys: std::collections::BTreeSet<_> = set
            .iter()
            .map(|e| set.key().of(&e.candidate.address))
            .collect();
        assert_eq!(keys.len(), set.len());
        // What this hop added: from its table, passing the filter, within the cap.
        let added: Vec<_> = match outcome {
            Outcome::Filled(_) => set.entries()[before.len()..].to_vec(),
            Outcome::Answer(..) => set.entries().to_vec(),
        };
        assert_eq!(added.len(), usize::from(report.added()));
        assert!(added.len() <= usize::from(cap));
        for e in &added {
            let entry = peer
                .table()
                .get(&e.candidate.address)
                .expect("added entry is in the table");
            assert!(filter.accepts(entry.candidate()));
            assert!(!entry.is_expired(now, config.entry_lifetime()));
            assert!(config.address_policy().check(&e.candidate.address).is_ok());
            assert_eq!(e.hop, hop);
        }
        // on_response changes nothing.
        let snapshot = option.clone();
        let _ = peer.on_response(MessageKind::Get, &option);
        assert_eq!(snapshot, option);

        match outcome {
            Outcome::Filled(_) => {
                // In-place append on the encoded option gives the same bytes.
                let r = wire::append_in_place(
                    &peer,
                    now,
                    MessageKind::Get,
                    &mut encoded,
                    &wire_cfg,
                    &mut rng_wire,
                )
                .unwrap();
                assert_eq!(r, report);
                let mut expect = Vec::new();
                wire::encode_option(&option, Direction::Request, &wire_cfg, &mut expect).unwrap();
                assert_eq!(&encoded[..], &expect[..]);
                assert_eq!(
                    wire::decode_option(&mut &expect[..], &wire_cfg).unwrap(),
                    option
                );
            }
            Outcome::Answer(answer, r) => {
                let mut buf = Vec::new();
                wire::encode_answer(&answer, AnswerInfo::from(&r), &wire_cfg, &mut buf).unwrap();
                let (info, back) = wire::decode_answer(&mut &buf[..], &wire_cfg).unwrap();
                assert_eq!((info.hop, &back), (hop, &answer));
                check_save(&mut node, now, |node| {
                    node.on_answer(now, MessageKind::Get, hop, &back)
                });
            }
        }
    }
    if !input.iterative {
        let now = start;
        check_save(&mut node, now, |node| {
            node.on_response(now, MessageKind::Get, &option)
        });
    }
});

/// The sending node refuses a set whole, cache untouched, or saves only
/// candidates passing its filter and address policy.
fn check_save(
    node: &mut SendingNode,
    now: Instant,
    save: impl FnOnce(&mut SendingNode) -> Result<SaveReport, ResponseError>,
) {
    let before: Vec<_> = node.cache().iter().copied().collect();
    match save(node) {
        Err(_) => assert_eq!(node.cache().iter().copied().collect::<Vec<_>>(), before),
        Ok(report) => {
            assert!(
                usize::from(report.saved) + usize::from(report.refreshed)
                    <= usize::from(report.offered)
            );
            for c in node.cache().iter() {
                assert!(node.config().filter().accepts(c.candidate()));
                assert!(node
                    .config()
                    .address_policy()
                    .check(&c.candidate().address)
                    .is_ok());
            }
            let _ = node.best(now, 64);
        }
    }
}
