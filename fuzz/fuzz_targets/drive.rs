//! Structured input drives candidate tables, `on_request` and
//! `on_response` through several hops in either routing mode, with the wire
//! codec between hops, and checks the core invariants: K ≤ N; the set is
//! unique by its key; each hop adds only candidates of its own table that
//! pass the filter, and no more than its per-hop share; decode(encode(x)) =
//! x; `on_encoded_request` (in-place append) gives the same bytes and report
//! as decode, `on_request`, encode; the sending node accepts an honest
//! response, and either refuses a set whole or accounts for every candidate:
//! what passes its filter and address policy is saved, reserved (beyond a
//! hop's share of its own N) or refreshed, unless the cache is full.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::node::{CachedCandidate, ResponseError, SaveReport};
use stun_turn_discovery::wire::{self, Direction, WireConfig};
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
    let share = PerHopShare::new(input.share.clamp(1, 100)).unwrap();
    let address_policy = if input.seed & 1 == 0 {
        AddressPolicy::permissive()
    } else {
        AddressPolicy::default()
    };
    let config = PeerConfig::default()
        .with_per_hop_share(share)
        .with_selection(policy)
        .with_address_policy(address_policy);
    let table_config = config.table();
    let family = match input.family % 3 {
        0 => None,
        1 => Some(IpFamily::V4),
        _ => Some(IpFamily::V6),
    };
    let filter = Filter {
        services: Services::from_bits_truncate(input.services),
        family,
        transport: None,
    };
    let n = input.n.and_then(|n| N::new(n).ok());
    let mut option = if input.iterative {
        PiggybackOption::iterative(n, filter, key, 1)
    } else {
        PiggybackOption::recursive(n, filter, key)
    };
    // The node's share: the peers' one, or (seed bit 1) one from other seed
    // bits, so honest hops can send more than the node counts per hop.
    let node_share = if input.seed & 2 == 0 {
        share
    } else {
        PerHopShare::new(((input.seed >> 8) % 100) as u8 + 1).unwrap()
    };
    let node_config = NodeConfig::default()
        .with_per_hop_share(node_share)
        .with_address_policy(address_policy)
        .with_filter(filter)
        .with_key(key)
        .with_wanted(n.unwrap_or(N::DEFAULT));
    let mut node = SendingNode::new(node_config);
    let mut encoded = BytesMut::new();
    wire::encode_option(&option, Direction::Request, &wire_cfg, &mut encoded).unwrap();

    for (i, hop_input) in input.hops.iter().take(8).enumerate() {
        let hop = i as u8 + 1;
        let mut peer = IntermediatePeer::new(config);
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
        let eff_n = config.effective_n(n);
        let cap = share.cap(eff_n);
        let mut rng = ChaCha8Rng::seed_from_u64(input.seed ^ u64::from(hop));
        let mut rng_wire = rng.clone();
        if input.iterative {
            option.set_hop(hop);
        }
        let before = option.set().clone();
        let outcome = peer.on_request(now, MessageKind::Get, None, &mut option, &mut rng);
        let (set, report) = match &outcome {
            Outcome::Filled(r) => (option.set().clone(), *r),
            Outcome::Answer(a, r) => (a.clone(), *r),
        };
        // K ≤ N (or K unchanged when it already was), unique by key.
        assert!(set.len() <= usize::from(eff_n.get()).max(before.len()));
        let e = set.entries();
        for i in 0..e.len() {
            for j in i + 1..e.len() {
                assert!(!key.same(&e[i].candidate.address, &e[j].candidate.address));
            }
        }
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
            assert!(!entry.is_expired(now, table_config.entry_lifetime()));
            assert!(table_config
                .address_policy()
                .check(&e.candidate.address)
                .is_ok());
            assert_eq!(e.hop, hop);
        }
        // The response is forwarded unchanged: `on_response` sees only
        // the kind.
        peer.on_response(MessageKind::Get);

        match outcome {
            Outcome::Filled(_) => {
                // In-place append on the encoded option gives the same bytes
                // as decode, on_request, encode.
                let r = peer
                    .on_encoded_request(
                        now,
                        MessageKind::Get,
                        None,
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
                wire::encode_answer(&answer, r.answer_info(), &wire_cfg, &mut buf).unwrap();
                let (info, back) = wire::decode_answer(&mut &buf[..], &wire_cfg).unwrap();
                assert_eq!((info.hop, info.n, &back), (hop, eff_n, &answer));
                // Stamped by another hop than the one asked: refused whole.
                if !back.is_empty() {
                    check_refused(&mut node, |node| {
                        node.on_answer(now, MessageKind::Get, hop.wrapping_add(1), &back)
                    });
                }
                check_save(&mut node, now, &back, |node| {
                    node.on_answer(now, MessageKind::Get, hop, &back)
                });
            }
        }
    }
    if !input.iterative {
        let now = start;
        // The responder's copy, as the node decodes it.
        let back = wire::decode_option(&mut &encoded[..], &wire_cfg).unwrap();
        assert_eq!(back, option);
        // The same set in an option no hop processed: refused whole.
        if !back.set().is_empty() {
            let forged = PiggybackOption::from_parts(
                RoutingMode::Recursive,
                back.n(),
                back.filter(),
                1,
                back.set().clone(),
            )
            .unwrap();
            check_refused(&mut node, |node| {
                node.on_response(now, MessageKind::Get, &forged)
            });
        }
        check_save(&mut node, now, option.set(), |node| {
            node.on_response(now, MessageKind::Get, &back)
        });
    }
});

/// A set the node must refuse whole: it does, with the cache untouched.
fn check_refused(
    node: &mut SendingNode,
    save: impl FnOnce(&mut SendingNode) -> Result<SaveReport, ResponseError>,
) {
    let before: Vec<CachedCandidate> = node.candidates().copied().collect();
    assert!(save(node).is_err());
    assert_eq!(node.candidates().copied().collect::<Vec<_>>(), before);
}

/// An honest path's set: the node accepts it (K ≤ the N it asked for, hops
/// in range and order), and accounts for every candidate. Only candidates
/// failing its filter are filtered and only those failing its address
/// policy refused; every other one is saved (within its hop's share of the
/// node's own N), reserved (beyond it) or refreshed, and dropped for want
/// of room only when the cache is full. No hop gets more than its share in
/// as new non-reserve candidates; reserve ones do not count and rank last.
fn check_save(
    node: &mut SendingNode,
    now: Instant,
    set: &CandidateSet,
    save: impl FnOnce(&mut SendingNode) -> Result<SaveReport, ResponseError>,
) {
    let before: Vec<CachedCandidate> = node.candidates().copied().collect();
    let report = save(node).unwrap_or_else(|e| panic!("honest set refused: {e}"));
    let config = *node.config();
    let cap = config.per_hop_share().cap(config.wanted());
    let capacity = usize::from(config.cache_capacity());
    assert_eq!(usize::from(report.offered), set.len());
    assert_eq!(
        report.saved
            + report.reserved
            + report.refreshed
            + report.filtered
            + report.refused
            + report.no_room,
        report.offered
    );
    let mut filtered = 0u8;
    let mut refused = 0u8;
    let mut admitted = Vec::new();
    let (mut in_share, mut over_share) = (0u8, 0u8);
    let mut hop = None;
    let mut from_hop = 0u8;
    for e in set {
        if !config.filter().accepts(&e.candidate) {
            filtered += 1;
        } else if config.address_policy().check(&e.candidate.address).is_err() {
            refused += 1;
        } else {
            if hop != Some(e.hop) {
                hop = Some(e.hop);
                from_hop = 0;
            }
            if from_hop < cap {
                in_share += 1;
            } else {
                over_share += 1;
            }
            from_hop += 1;
            admitted.push(e.candidate.address);
        }
    }
    assert_eq!((report.filtered, report.refused), (filtered, refused));
    assert!(report.saved <= in_share);
    assert!(report.reserved <= over_share);
    let after: Vec<CachedCandidate> = node.candidates().copied().collect();
    assert!(after.len() <= capacity);
    if report.no_room > 0 {
        assert_eq!(after.len(), capacity);
    }
    if after.len() < capacity {
        // Never full: nothing lost, nothing evicted.
        assert_eq!(report.no_room, 0);
        assert_eq!(
            after.len() - before.len(),
            usize::from(report.saved + report.reserved)
        );
        for a in &admitted {
            assert!(node.get(a).is_some(), "{a} passes, yet is not cached");
        }
    }
    // The set is unique by the node's key (the same key), so each new
    // cached entry came from one entry of the set: no hop got more than its
    // share in as new non-reserve candidates.
    let mut new_in_share = std::collections::BTreeMap::<u8, u8>::new();
    for c in &after {
        assert!(config.filter().accepts(c.candidate()));
        assert!(config
            .address_policy()
            .check(&c.candidate().address)
            .is_ok());
        let address = &c.candidate().address;
        let new = !before
            .iter()
            .any(|b| config.key().same(&b.candidate().address, address));
        if new && !c.is_reserve() {
            *new_in_share.entry(c.hop()).or_default() += 1;
        }
    }
    assert!(new_in_share.values().all(|&count| count <= cap));
    // Counted: usable, not reserve, and within the entry lifetime.
    let counted = after
        .iter()
        .filter(|c| {
            c.is_usable(now)
                && !c.is_reserve()
                && now.saturating_duration_since(c.refreshed()) < config.entry_lifetime()
        })
        .count();
    assert_eq!(usize::from(report.usable), counted);
    assert_eq!(
        report.shortfall,
        config.wanted().get().saturating_sub(counted as u8)
    );
    assert_eq!(report.shortfall, node.shortfall(now));
    let best = node.best(now, 64);
    assert!(best
        .windows(2)
        .all(|w| w[0].is_reserve() <= w[1].is_reserve()));
}
