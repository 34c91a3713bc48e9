//! Property tests of the §4.2 algorithm (steps 2–7), of the in-place
//! append on an encoded option, of the decoders' error paths and of the
//! sending node's checks, over arbitrary candidate tables, configurations
//! and options.
//!
//! Properties, per hop of a path of intermediate peers:
//! (a) K ≤ N; (b) the set is unique by its key; (c) every added candidate
//! came from that hop's table, passes the option's filter and the address
//! policy, and is not expired; (d) the response goes back unchanged
//! (`on_response` takes only the message kind, so it cannot touch the
//! option; the harness still calls it on the way back); (e) no hop adds more
//! than `PerHopShare::cap(n)`; (f) the stop reason agrees with the numbers;
//! (g) the same seed gives the same result; (i) `on_encoded_request` on the
//! encoded option gives the same bytes and report as decode, `on_request`,
//! encode with the same seed.
//!
//! And (h) the sending node either refuses a response whole with a typed
//! error and an untouched cache, or loses no candidate that passes its
//! filter and address policy: each one is saved (within its hop's share),
//! reserved (beyond it) or refreshed, unless the cache is full. K and the
//! per-hop share are judged by the node's own `NodeConfig::wanted()` N,
//! never by the N the response carries; no hop gets more than its share in
//! as non-reserve candidates; reserve ones do not count as usable and rank
//! after the others; a `Feedback::Worked` takes one out of reserve.
//! (j) `decode_option_into` / `decode_answer_into` leave the set empty on
//! every error and the option's header as it was.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::RngSeed;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::node::{CachedCandidate, ResponseError, SaveReport};
use stun_turn_discovery::peer::{HopReport, Stop};
use stun_turn_discovery::wire::{self, AnswerInfo, Direction, WireConfig};
use stun_turn_discovery::{
    AddressPolicy, Candidate, CandidateSet, Feedback, Filter, IntermediatePeer, IpFamily,
    MessageKind, NodeConfig, NodeId, Outcome, PeerConfig, PerHopShare, PerformanceHints,
    PiggybackOption, Role, RoutingMode, SelectionPolicy, SendingNode, Services, SetEntry, Source,
    Transport, TransportAddress, UniquenessKey, N,
};

const CASES: u32 = 256;

/// Cases per property, from a fixed seed so every run checks the same
/// cases; `PROPTEST_RNG_SEED` picks other ones.
fn proptest_config() -> ProptestConfig {
    let default = ProptestConfig::default();
    let rng_seed = if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
        default.rng_seed
    } else {
        RngSeed::Fixed(0x5eed_c22c)
    };
    ProptestConfig {
        cases: CASES,
        rng_seed,
        ..default
    }
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Small address pools, so duplicate IPs (with other ports), shared /24 and
/// /48 prefixes, IPv4-mapped spellings and refused classes all turn up.
fn ip() -> impl Strategy<Value = IpAddr> {
    let special: Vec<IpAddr> = [
        "10.0.0.1",
        "10.0.0.2",
        "100.64.0.1",
        "192.0.2.1",
        "198.51.100.7",
        "127.0.0.1",
        "169.254.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "fe80::1",
        "fd00::1",
        "2001:db8::1",
        "::1",
        "::",
        "ff02::1",
        "::ffff:10.0.0.1",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    prop_oneof![
        6 => (0u8..4, 1u8..10).prop_map(|(c, d)| IpAddr::V4(Ipv4Addr::new(45, 0, c, d))),
        4 => (0u16..4, 1u16..10)
            .prop_map(|(c, d)| IpAddr::V6(Ipv6Addr::new(0x2a00, 0x1450, c, 0, 0, 0, 0, d))),
        1 => (0u8..4, 1u8..10)
            .prop_map(|(c, d)| IpAddr::V6(Ipv4Addr::new(45, 0, c, d).to_ipv6_mapped())),
        2 => select(special),
    ]
}

fn transport_address() -> impl Strategy<Value = TransportAddress> {
    let port =
        prop_oneof![8 => Just(3478u16), 4 => Just(5349u16), 2 => 1024u16..1027, 1 => Just(0u16)];
    let transport = select(vec![
        Transport::Udp,
        Transport::Tcp,
        Transport::Tls,
        Transport::Dtls,
    ]);
    (ip(), port, transport).prop_map(|(ip, port, t)| TransportAddress::new(ip, port, t))
}

fn services() -> impl Strategy<Value = Services> {
    prop_oneof![
        1 => Just(Services::NONE),
        2 => Just(Services::STUN),
        2 => Just(Services::TURN),
        4 => Just(Services::BOTH),
    ]
}

fn candidate() -> impl Strategy<Value = Candidate> {
    let priority = prop_oneof![
        1 => Just(None),
        2 => (0u16..4).prop_map(Some),
        2 => any::<u16>().prop_map(Some),
    ];
    let hints =
        (any::<u16>(), any::<u32>(), 0u8..=120).prop_map(|(capacity, bw, load)| PerformanceHints {
            capacity,
            bandwidth_kbps: bw,
            load_percent: load,
        });
    let node_id = proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=20))
        .prop_map(|v| v.map(|b| NodeId::new(&b).unwrap()));
    (
        transport_address(),
        select(vec![Role::Peer, Role::Client]),
        services(),
        priority,
        hints,
        node_id,
    )
        .prop_map(
            |(address, role, services, priority, hints, node_id)| Candidate {
                address,
                role,
                services,
                priority,
                hints,
                node_id,
            },
        )
}

/// One line of a host's table updates: the candidate, where it was learned,
/// and whether it was learned long ago (so it is expired at `now`).
#[derive(Debug, Clone)]
struct Learned {
    candidate: Candidate,
    source: Source,
    stale: bool,
}

fn learned() -> impl Strategy<Value = Learned> {
    (
        candidate(),
        select(Source::ALL.to_vec()),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(candidate, source, stale)| Learned {
            candidate,
            source,
            stale,
        })
}

/// The tables of a path of 1 to 6 intermediate peers (some empty).
fn path_tables() -> impl Strategy<Value = Vec<Vec<Learned>>> {
    proptest::collection::vec(proptest::collection::vec(learned(), 0..40), 1..=6)
}

fn address_policy() -> impl Strategy<Value = AddressPolicy> {
    prop_oneof![
        1 => Just(AddressPolicy::default()),
        1 => Just(AddressPolicy::permissive()),
        2 => any::<[bool; 4]>().prop_map(|[a, b, c, d]| AddressPolicy {
            loopback: a,
            link_local: b,
            private: c,
            documentation: d,
        }),
    ]
}

fn selection_policy() -> impl Strategy<Value = SelectionPolicy> {
    select(vec![
        SelectionPolicy::ByPriority,
        SelectionPolicy::ByPerformance,
        SelectionPolicy::Random,
        SelectionPolicy::LoadSpreading,
    ])
}

fn key() -> impl Strategy<Value = UniquenessKey> {
    select(vec![
        UniquenessKey::Ip,
        UniquenessKey::IpPort,
        UniquenessKey::Prefix,
    ])
}

fn filter() -> impl Strategy<Value = Filter> {
    (
        services(),
        proptest::option::of(select(vec![IpFamily::V4, IpFamily::V6])),
    )
        .prop_map(|(services, family)| Filter {
            services,
            family,
            transport: None,
        })
}

fn kind() -> impl Strategy<Value = MessageKind> {
    select(vec![
        MessageKind::Join,
        MessageKind::Maintenance,
        MessageKind::Get,
        MessageKind::Put,
        MessageKind::Other,
    ])
}

fn n_in(range: std::ops::RangeInclusive<u8>) -> impl Strategy<Value = N> {
    range.prop_map(|n| N::new(n).unwrap())
}

fn share() -> impl Strategy<Value = PerHopShare> {
    (1u8..=100).prop_map(|s| PerHopShare::new(s).unwrap())
}

/// How a generated peer configuration sets its N cap.
#[derive(Debug, Clone, Copy)]
enum MaxN {
    /// The default N plus this much (at most 64).
    AboveDefault(u8),
    /// Any N, possibly below the default N: the cap wins
    /// (`PeerConfig::effective_n`).
    Any(N),
}

/// An intermediate peer's configuration: per-hop share 1..=100, every
/// selection policy, default N (mostly the crate's default, sometimes any)
/// and an N cap, mostly at or above the default N.
fn peer_config() -> impl Strategy<Value = PeerConfig> {
    let default_n = prop_oneof![3 => Just(N::DEFAULT), 1 => n_in(1..=64)];
    let max_n = prop_oneof![
        3 => (0u8..=64).prop_map(MaxN::AboveDefault),
        1 => n_in(1..=64).prop_map(MaxN::Any),
    ];
    (
        share(),
        selection_policy(),
        default_n,
        max_n,
        address_policy(),
    )
        .prop_map(|(share, policy, default_n, max_n, addresses)| {
            let max_n = match max_n {
                MaxN::AboveDefault(extra) => {
                    N::new(default_n.get().saturating_add(extra).min(N::MAX.get())).unwrap()
                }
                MaxN::Any(n) => n,
            };
            PeerConfig::default()
                .with_per_hop_share(share)
                .with_selection(policy)
                .with_address_policy(addresses)
                .with_default_n(default_n)
                .with_max_n(max_n)
        })
}

/// The sending node's configuration. It has no N cap any more: it judges
/// every response by the N it wants.
fn node_config() -> impl Strategy<Value = NodeConfig> {
    (
        n_in(1..=64),
        share(),
        filter(),
        key(),
        address_policy(),
        1u8..=64,
    )
        .prop_map(|(wanted, share, filter, key, addresses, capacity)| {
            NodeConfig::default()
                .with_wanted(wanted)
                .with_per_hop_share(share)
                .with_filter(filter)
                .with_key(key)
                .with_address_policy(addresses)
                .with_cache_capacity(capacity)
                .unwrap()
        })
}

/// An option as a sending node could send it: N in 1..=64 or unset, a
/// filter, a key, and the routing mode.
#[derive(Debug, Clone, Copy)]
struct OptionSpec {
    n: Option<N>,
    filter: Filter,
    key: UniquenessKey,
    mode: RoutingMode,
}

fn option_spec() -> impl Strategy<Value = OptionSpec> {
    let n = prop_oneof![
        1 => Just(None),
        2 => n_in(1..=8).prop_map(Some),
        2 => n_in(1..=64).prop_map(Some),
    ];
    (
        n,
        filter(),
        key(),
        select(vec![RoutingMode::Recursive, RoutingMode::Iterative]),
    )
        .prop_map(|(n, filter, key, mode)| OptionSpec {
            n,
            filter,
            key,
            mode,
        })
}

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// Lifetime of table entries in every generated config (the default).
const LIFETIME: Duration = Duration::from_secs(600);

/// Times of one case: stale entries were learned at `base`, fresh ones at
/// `base + 200 s`, and requests are processed at `now = base + 700 s`.
struct Clock {
    base: Instant,
    now: Instant,
}

impl Clock {
    fn new() -> Self {
        let base = Instant::now();
        Self {
            base,
            now: base + Duration::from_secs(700),
        }
    }
}

fn build_path(
    config: &PeerConfig,
    tables: &[Vec<Learned>],
    clock: &Clock,
) -> Vec<IntermediatePeer> {
    assert_eq!(config.table().entry_lifetime(), LIFETIME);
    tables
        .iter()
        .map(|learned| {
            let mut peer = IntermediatePeer::new(*config);
            for l in learned {
                let at = if l.stale {
                    clock.base
                } else {
                    clock.base + Duration::from_secs(200)
                };
                // Refusals (address policy, not willing) are part of the input.
                let _ = peer.table_mut().upsert(at, l.source, l.candidate);
            }
            peer
        })
        .collect()
}

/// No two entries of `set` are the same under its key.
fn unique_by_key(set: &CandidateSet) -> bool {
    let e = set.entries();
    (0..e.len()).all(|i| {
        (i + 1..e.len()).all(|j| {
            !set.key()
                .same(&e[i].candidate.address, &e[j].candidate.address)
        })
    })
}

/// Checks one hop: `before` is the set the peer received (the empty set in
/// iterative mode), `after` the set it produced.
#[allow(clippy::too_many_arguments)]
fn check_hop(
    peer: &IntermediatePeer,
    spec: &OptionSpec,
    before: &CandidateSet,
    after: &CandidateSet,
    report: &HopReport,
    hop: u8,
    kind: MessageKind,
    now: Instant,
) -> Result<(), TestCaseError> {
    let config = peer.config();
    let table = config.table();
    // §4.2 step 2, capped.
    let n = config.effective_n(spec.n);
    prop_assert_eq!(n, spec.n.unwrap_or(config.default_n()).min(config.max_n()));
    let n_len = usize::from(n.get());
    let k_before = before.len();
    let k_after = after.len();
    prop_assert_eq!(report.kind, kind);
    prop_assert_eq!(report.mode, spec.mode);
    prop_assert_eq!(report.n, n);
    prop_assert_eq!(report.hop, hop);
    prop_assert_eq!(usize::from(report.k_before), k_before);
    prop_assert_eq!(usize::from(report.k_after), k_after);
    prop_assert_eq!(after.key(), spec.key);
    // A hop only appends (§4.2 step 6).
    prop_assert!(k_after >= k_before);
    prop_assert_eq!(&after.entries()[..k_before], before.entries());
    let added = report.added();
    prop_assert_eq!(usize::from(added), k_after - k_before);

    // (a) K ≤ N (step 3: a set already at N or beyond is left alone).
    if k_before >= n_len {
        prop_assert_eq!(report.stop, Stop::AlreadyFull);
        prop_assert_eq!(added, 0);
    } else {
        prop_assert!(k_after <= n_len, "K = {} > N = {}", k_after, n);
        prop_assert_ne!(report.stop, Stop::AlreadyFull);
    }

    // (b) unique by the key (step 5).
    prop_assert!(unique_by_key(after), "duplicate key in {:?}", after);

    // (c) what was added came from this table, passes the filter and the
    // address policy, and is fresh.
    for e in &after.entries()[k_before..] {
        prop_assert_eq!(e.hop, hop);
        let entry = peer.table().get(&e.candidate.address);
        prop_assert!(
            entry.is_some(),
            "{} is not in the table",
            e.candidate.address
        );
        let entry = entry.unwrap();
        let mut expected = *entry.candidate();
        expected.priority = Some(entry.priority());
        prop_assert_eq!(e.candidate, expected);
        prop_assert!(spec.filter.accepts(&e.candidate));
        prop_assert!(table.address_policy().check(&e.candidate.address).is_ok());
        prop_assert!(!entry.is_expired(now, table.entry_lifetime()));
    }

    // (e) the per-hop share.
    let cap = config.per_hop_share().cap(n);
    prop_assert!(added <= cap, "added {} > cap {}", added, cap);

    // (f) the stop reason agrees with the numbers.
    match report.stop {
        Stop::AlreadyFull => prop_assert!(k_before >= n_len),
        Stop::ReachedN => {
            prop_assert_eq!(k_after, n_len);
            prop_assert!(added >= 1);
        }
        Stop::HopCap => {
            prop_assert_eq!(added, cap);
            prop_assert!(k_after < n_len);
        }
        Stop::TableExhausted => {
            prop_assert!(added < cap);
            prop_assert!(k_after < n_len);
            // Step 7: every candidate of the table was examined; none that
            // could still join the set is left.
            for entry in peer.table().by_priority() {
                let eligible = !entry.is_expired(now, table.entry_lifetime())
                    && spec.filter.accepts(entry.candidate())
                    && !after.contains(&entry.candidate().address);
                prop_assert!(
                    !eligible,
                    "TableExhausted but {:?} could still be added",
                    entry.candidate().address
                );
            }
        }
        other => {
            return Err(TestCaseError::fail(format!(
                "unknown stop reason {other:?}"
            )))
        }
    }
    Ok(())
}

/// (i) on the option as it reaches `peer` (recursive mode): the in-place
/// append on its encoding, and decode + `on_request` + encode, each with a
/// copy of `rng` as it is before the hop, give the same bytes and report as
/// `expected` (the option after the hop) and `report`.
fn check_in_place(
    peer: &mut IntermediatePeer,
    kind: MessageKind,
    now: Instant,
    incoming: &PiggybackOption,
    rng: &ChaCha8Rng,
    expected: &PiggybackOption,
    report: &HopReport,
) -> Result<(), TestCaseError> {
    let wire_cfg = WireConfig::default();
    let mut encoded = BytesMut::new();
    wire::encode_option(incoming, Direction::Request, &wire_cfg, &mut encoded).unwrap();

    // decode, on_request, encode.
    let mut decoded = wire::decode_option(&mut &encoded[..], &wire_cfg).unwrap();
    prop_assert_eq!(&decoded, incoming);
    let outcome = peer.on_request(now, kind, None, &mut decoded, &mut rng.clone());
    prop_assert_eq!(outcome, Outcome::Filled(*report));
    prop_assert_eq!(&decoded, expected);
    let mut reencoded = BytesMut::new();
    wire::encode_option(&decoded, Direction::Request, &wire_cfg, &mut reencoded).unwrap();

    // In place.
    let in_place = peer
        .on_encoded_request(now, kind, None, &mut encoded, &wire_cfg, &mut rng.clone())
        .unwrap();
    prop_assert_eq!(&in_place, report);
    prop_assert_eq!(&encoded[..], &reencoded[..]);
    Ok(())
}

/// Sends an option built from `spec` along `path`: in recursive mode through
/// every peer, in iterative mode to each peer in turn. Returns every hop's
/// set after the hop, with the report. Checks (a)–(f) and (i) when `check`
/// is set.
fn drive(
    path: &mut [IntermediatePeer],
    spec: &OptionSpec,
    kind: MessageKind,
    now: Instant,
    seed: u64,
    check: bool,
) -> Result<Vec<(CandidateSet, HopReport)>, TestCaseError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    match spec.mode {
        RoutingMode::Recursive => {
            let mut option = PiggybackOption::recursive(spec.n, spec.filter, spec.key);
            for (i, peer) in path.iter_mut().enumerate() {
                let hop = u8::try_from(i + 1).unwrap();
                prop_assert_eq!(option.hop(), hop);
                let incoming = option.clone();
                let rng_before = rng.clone();
                let outcome = peer.on_request(now, kind, None, &mut option, &mut rng);
                let Outcome::Filled(report) = outcome else {
                    return Err(TestCaseError::fail("recursive option answered"));
                };
                prop_assert_eq!(option.hop(), hop + 1);
                prop_assert_eq!(option.n(), spec.n);
                prop_assert_eq!(option.filter(), spec.filter);
                if check {
                    check_hop(
                        peer,
                        spec,
                        incoming.set(),
                        option.set(),
                        &report,
                        hop,
                        kind,
                        now,
                    )?;
                    check_in_place(peer, kind, now, &incoming, &rng_before, &option, &report)?;
                }
                out.push((option.set().clone(), report));
            }
            // (d) the response goes back through every peer, which forwards
            // it unchanged: `on_response` only sees the kind.
            for peer in path.iter_mut().rev() {
                peer.on_response(kind);
            }
        }
        RoutingMode::Iterative => {
            for (i, peer) in path.iter_mut().enumerate() {
                let hop = u8::try_from(i + 1).unwrap();
                let mut option = PiggybackOption::iterative(spec.n, spec.filter, spec.key, hop);
                let request = option.clone();
                let outcome = peer.on_request(now, kind, None, &mut option, &mut rng);
                let Outcome::Answer(answer, report) = outcome else {
                    return Err(TestCaseError::fail("iterative option filled in place"));
                };
                // The request's option is not touched.
                prop_assert_eq!(&option, &request);
                if check {
                    let empty = CandidateSet::new(spec.key);
                    check_hop(peer, spec, &empty, &answer, &report, hop, kind, now)?;
                }
                // (d) the response that carries the answer is forwarded as is.
                peer.on_response(kind);
                out.push((answer, report));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Sending node helpers, for (h)
// ---------------------------------------------------------------------------

/// Candidates the node counts at `now`: usable and not reserve.
fn counted(node: &SendingNode, now: Instant) -> usize {
    node.candidates()
        .filter(|c| c.is_usable(now) && !c.is_reserve())
        .count()
}

/// Every cached candidate passes the node's filter and address policy; the
/// cache is unique by the node's key and within its capacity; `best` hands
/// out every usable candidate, reserve ones after all others.
fn check_cache(node: &SendingNode, now: Instant) -> Result<(), TestCaseError> {
    let config = node.config();
    let all: Vec<CachedCandidate> = node.candidates().copied().collect();
    prop_assert_eq!(all.len(), node.len());
    prop_assert_eq!(node.is_empty(), all.is_empty());
    for (i, c) in all.iter().enumerate() {
        let cand = c.candidate();
        prop_assert!(
            config.filter().accepts(cand),
            "cached {:?} fails the filter",
            cand
        );
        prop_assert!(
            config.address_policy().check(&cand.address).is_ok(),
            "cached {:?} refused by the address policy",
            cand.address
        );
        for other in &all[i + 1..] {
            prop_assert!(!config.key().same(&cand.address, &other.candidate().address));
        }
        prop_assert_eq!(node.get(&cand.address), Some(c));
    }
    prop_assert!(node.len() <= usize::from(config.cache_capacity()));
    let best = node.best(now, usize::MAX);
    prop_assert_eq!(best.len(), all.iter().filter(|c| c.is_usable(now)).count());
    // Reserve candidates rank after every other usable one.
    prop_assert!(
        best.windows(2)
            .all(|w| w[0].is_reserve() <= w[1].is_reserve()),
        "a reserve candidate ranks before an in-share one: {:?}",
        best.iter().map(|c| c.is_reserve()).collect::<Vec<_>>()
    );
    prop_assert_eq!(
        node.shortfall(now),
        config
            .wanted()
            .get()
            .saturating_sub(counted(node, now).min(255) as u8)
    );
    Ok(())
}

/// The structural checks a sending node makes on a set whose entries must
/// be unique by the node's key, carry hops in `first..=last`
/// (non-decreasing) and number at most N.
fn structurally_bad(set: &CandidateSet, key: UniquenessKey, n: N, first: u8, last: u8) -> bool {
    if set.key() != key || set.len() > usize::from(n.get()) {
        return true;
    }
    let mut prev = first;
    for e in set {
        if e.hop < first || e.hop > last || e.hop < prev {
            return true;
        }
        prev = e.hop;
    }
    false
}

/// One cached candidate as the model of the cache sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Modelled {
    address: TransportAddress,
    reserve: bool,
    hop: u8,
}

/// Applies one response to `node` at `t` (a time no earlier response used)
/// and checks (h). K and the per-hop share are judged by the node's own N
/// wanted, whatever N the response carries.
fn check_save(
    node: &mut SendingNode,
    t: Instant,
    kind: MessageKind,
    set: &CandidateSet,
    expect_err: Option<bool>,
    respond: impl FnOnce(&mut SendingNode) -> Result<SaveReport, ResponseError>,
) -> Result<(), TestCaseError> {
    let before: Vec<CachedCandidate> = node.candidates().copied().collect();
    let shortfall_before = node.shortfall(t);
    let result = respond(node);
    if let Some(expect_err) = expect_err {
        prop_assert_eq!(result.is_err(), expect_err, "result {:?}", result);
    }
    let Ok(report) = result else {
        // Refused whole: the cache is exactly as it was.
        let after: Vec<CachedCandidate> = node.candidates().copied().collect();
        prop_assert_eq!(after, before);
        prop_assert_eq!(node.shortfall(t), shortfall_before);
        return Ok(());
    };
    let config = *node.config();
    let cap = config.per_hop_share().cap(config.wanted());
    let capacity = usize::from(config.cache_capacity());
    prop_assert_eq!(report.kind, kind);
    prop_assert_eq!(usize::from(report.offered), set.len());
    prop_assert_eq!(
        report.saved
            + report.reserved
            + report.refreshed
            + report.filtered
            + report.refused
            + report.no_room,
        report.offered,
        "{}",
        report
    );

    // A model of the node: filter, then address policy, then the hop's
    // share (counted over the candidates that pass both), then the cache.
    // It follows the cache exactly until a new candidate meets a full cache
    // (where the cache may evict its worst entry for it, or drop it).
    let mut model: Vec<Modelled> = before
        .iter()
        .map(|c| Modelled {
            address: c.candidate().address,
            reserve: c.is_reserve(),
            hop: c.hop(),
        })
        .collect();
    let (mut filtered, mut refused) = (0u8, 0u8);
    let (mut saved, mut reserved, mut refreshed) = (0u8, 0u8, 0u8);
    let (mut in_share_total, mut over_share_total) = (0u8, 0u8);
    let mut from_hop: BTreeMap<u8, u8> = BTreeMap::new();
    let mut admitted: Vec<TransportAddress> = Vec::new();
    let mut exact = true;
    for e in set {
        let c = &e.candidate;
        if !config.filter().accepts(c) {
            filtered += 1;
            continue;
        }
        if config.address_policy().check(&c.address).is_err() {
            refused += 1;
            continue;
        }
        admitted.push(c.address);
        let count = from_hop.entry(e.hop).or_default();
        let in_share = *count < cap;
        *count += 1;
        if in_share {
            in_share_total += 1;
        } else {
            over_share_total += 1;
        }
        if !exact {
            continue;
        }
        if let Some(m) = model
            .iter_mut()
            .find(|m| config.key().same(&m.address, &c.address))
        {
            // Known: refreshed; its reserve state stays (only a success
            // takes a candidate out of reserve).
            m.hop = e.hop;
            refreshed += 1;
        } else if model.len() < capacity {
            model.push(Modelled {
                address: c.address,
                reserve: !in_share,
                hop: e.hop,
            });
            if in_share {
                saved += 1;
            } else {
                reserved += 1;
            }
        } else {
            exact = false;
        }
    }
    // Only candidates failing the filter are filtered, only candidates
    // failing the address policy are refused.
    prop_assert_eq!(report.filtered, filtered);
    prop_assert_eq!(report.refused, refused);
    prop_assert_eq!(
        usize::from(report.saved + report.reserved + report.refreshed + report.no_room),
        admitted.len()
    );
    // Within a share: saved; beyond it: reserved (or refreshed either way).
    prop_assert!(report.saved <= in_share_total);
    prop_assert!(report.reserved <= over_share_total);
    let after: Vec<CachedCandidate> = node.candidates().copied().collect();
    prop_assert!(after.len() <= capacity);
    // Dropped for want of room only when the cache is full.
    if report.no_room > 0 {
        prop_assert_eq!(after.len(), capacity);
    }
    prop_assert!(after.len() >= before.len());
    prop_assert!(after.len() - before.len() <= usize::from(report.saved + report.reserved));
    if exact {
        // The cache never was full for a new candidate: nothing was lost,
        // and the model is exact.
        prop_assert_eq!(
            (
                report.saved,
                report.reserved,
                report.refreshed,
                report.no_room
            ),
            (saved, reserved, refreshed, 0),
            "{}",
            report
        );
        prop_assert_eq!(after.len(), model.len());
        for m in &model {
            let c = node.get(&m.address);
            prop_assert!(c.is_some(), "{} lost", m.address);
            let c = c.unwrap();
            prop_assert_eq!(
                (c.is_reserve(), c.hop()),
                (m.reserve, m.hop),
                "{}",
                m.address
            );
        }
        for a in &admitted {
            prop_assert!(node.get(a).is_some(), "{} passes, yet is not cached", a);
        }
    } else {
        prop_assert_eq!(after.len(), capacity);
    }
    // No hop got more than its share in as new non-reserve candidates;
    // what this response added carries its time. When two entries of the
    // set are one candidate to the node (the set's key is finer than the
    // node's), the cached entry carries the hop of the later one, so only
    // the total is bounded then.
    let touched_once = set.entries().iter().enumerate().all(|(i, a)| {
        set.entries()[i + 1..].iter().all(|b| {
            !config
                .key()
                .same(&a.candidate.address, &b.candidate.address)
        })
    });
    let mut new_in_share: BTreeMap<u8, u8> = BTreeMap::new();
    for c in after.iter().filter(|c| c.first_seen() == t) {
        prop_assert!(from_hop.contains_key(&c.hop()));
        prop_assert_eq!(c.refreshed(), t);
        if !c.is_reserve() {
            *new_in_share.entry(c.hop()).or_default() += 1;
        }
    }
    if touched_once {
        for (hop, count) in &new_in_share {
            prop_assert!(*count <= cap, "hop {} got {} in, cap {}", hop, count, cap);
        }
    }
    prop_assert!(new_in_share.values().sum::<u8>() <= in_share_total);
    check_cache(node, t)?;
    // Reserve candidates are not usable ones, nor do they reduce the
    // shortfall.
    prop_assert_eq!(usize::from(report.usable), counted(node, t));
    prop_assert_eq!(report.shortfall, node.shortfall(t));
    Ok(())
}

/// A forged set: arbitrary candidates (any filter, any address class),
/// with hops either arbitrary or made consistent with the response.
#[derive(Debug, Clone)]
struct Forged {
    key: UniquenessKey,
    entries: Vec<(Candidate, u8)>,
    /// Hops kept in range and in order, and K kept within N, so the set
    /// passes the structural checks and its content gets examined.
    consistent: bool,
}

fn forged() -> impl Strategy<Value = Forged> {
    (
        key(),
        proptest::collection::vec((candidate(), 0u8..7), 0..24),
        any::<bool>(),
    )
        .prop_map(|(key, entries, consistent)| Forged {
            key,
            entries,
            consistent,
        })
}

impl Forged {
    /// The set, with hops remapped into `first..=last` (sorted) and K cut
    /// to `wanted` when consistent.
    fn set(&self, wanted: N, first: u8, last: u8) -> CandidateSet {
        let mut entries = self.entries.clone();
        if self.consistent {
            let span = last.saturating_sub(first).saturating_add(1).max(1);
            for (_, hop) in &mut entries {
                *hop = first.saturating_add(*hop % span);
            }
            entries.sort_by_key(|&(_, hop)| hop);
        }
        let mut set = CandidateSet::new(self.key);
        for (candidate, hop) in entries {
            if self.consistent && set.len() >= usize::from(wanted.get()) {
                break;
            }
            let _ = set.try_push(SetEntry { candidate, hop });
        }
        set
    }
}

/// One way to damage an encoded option or answer.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Cut it after this many bytes (modulo its length).
    Truncate(usize),
    /// Put this byte at this position (modulo its length).
    Set(usize, u8),
    /// Append this byte.
    Append(u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        1 => any::<usize>().prop_map(Damage::Truncate),
        3 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Damage::Set(at, b)),
        1 => any::<u8>().prop_map(Damage::Append),
    ]
}

impl Damage {
    fn apply(self, bytes: &mut Vec<u8>) {
        match self {
            Self::Truncate(at) => bytes.truncate(at % bytes.len()),
            Self::Set(at, b) => {
                let at = at % bytes.len();
                bytes[at] = b;
            }
            Self::Append(b) => bytes.push(b),
        }
    }
}

/// A candidate at 45.0.0.`last`:3478, both services.
fn public(last: u8) -> Candidate {
    Candidate::peer(
        TransportAddress::udp(format!("45.0.0.{last}:3478").parse().unwrap()),
        Services::BOTH,
    )
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(proptest_config())]

    /// (a)–(g) and (i) along a path of intermediate peers, recursive or
    /// iterative.
    #[test]
    fn path_properties(
        tables in path_tables(),
        config in peer_config(),
        spec in option_spec(),
        kind in kind(),
        seed in any::<u64>(),
    ) {
        let clock = Clock::new();
        let mut path = build_path(&config, &tables, &clock);
        let first = drive(&mut path, &spec, kind, clock.now, seed, true)?;
        prop_assert_eq!(first.len(), path.len());
        if spec.mode == RoutingMode::Recursive {
            // (a) after any number of hops.
            let n = path[0].config().effective_n(spec.n);
            let (last, _) = first.last().unwrap();
            prop_assert!(last.len() <= usize::from(n.get()));
        }
        // (g) determinism: same tables, same seed, same everything.
        let second = drive(&mut path, &spec, kind, clock.now, seed, false)?;
        prop_assert_eq!(first, second);
    }

    /// (h) an honest path's response, iterative answers and tampered
    /// responses, against a sending node with an arbitrary configuration;
    /// then feedback on every reserve candidate.
    #[test]
    fn sending_node_properties(
        tables in path_tables(),
        peer_cfg in peer_config(),
        node_cfg in node_config(),
        kind in kind(),
        seed in any::<u64>(),
        tampered in proptest::collection::vec(
            (
                select(vec![RoutingMode::Recursive, RoutingMode::Iterative]),
                proptest::option::of(n_in(1..=64)),
                0u8..8,
                forged(),
            ),
            1..4,
        ),
        answers in proptest::collection::vec((0u8..7, forged()), 1..4),
    ) {
        let clock = Clock::new();
        let mut path = build_path(&peer_cfg, &tables, &clock);
        let mut node = SendingNode::new(node_cfg);
        let wanted = node_cfg.wanted();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut t = clock.now;
        let mut tick = || {
            t += Duration::from_secs(1);
            t
        };

        // An honest recursive round trip: never refused.
        let mut option = node.recursive_option();
        for peer in &mut path {
            let _ = peer.on_request(clock.now, kind, None, &mut option, &mut rng);
        }
        let set = option.set().clone();
        let at = tick();
        prop_assert_eq!(option.n(), Some(wanted));
        check_save(&mut node, at, kind, &set, Some(false), |node| node.on_response(at, kind, &option))?;

        // Honest iterative answers: never refused.
        for (i, peer) in path.iter_mut().enumerate() {
            let hop = u8::try_from(i + 1).unwrap();
            let mut option = node.iterative_option(hop);
            let Outcome::Answer(answer, _) = peer.on_request(clock.now, kind, None, &mut option, &mut rng)
            else {
                return Err(TestCaseError::fail("iterative option filled in place"));
            };
            let at = tick();
            check_save(&mut node, at, kind, &answer, Some(false), |node| node.on_answer(at, kind, hop, &answer))?;
        }

        // Forged recursive responses, with any N or none in the option.
        for (mode, n, hop, forged) in &tampered {
            let set = forged.set(wanted, 1, hop.saturating_sub(1));
            let filter = node_cfg.filter();
            let option = PiggybackOption::from_parts(*mode, *n, filter, *hop, set.clone())
                .or_else(|_| PiggybackOption::from_parts(*mode, None, filter, *hop, set.clone()))
                .or_else(|_| {
                    PiggybackOption::from_parts(*mode, None, filter, *hop, CandidateSet::new(forged.key))
                })
                .unwrap();
            let set = option.set().clone();
            let last = option.hop().saturating_sub(1);
            // Changed on purpose (c22c174): K is bounded by the node's own N
            // wanted, whatever N the option carries (it used to be the
            // option's N capped at N wanted, or the node's N cap without one).
            // With `hop() <= 1` no peer processed the request: any entry is
            // out of range.
            let expect_err = Some(
                option.mode() != RoutingMode::Recursive
                    || structurally_bad(&set, node.config().key(), wanted, 1, last),
            );
            let at = tick();
            check_save(&mut node, at, kind, &set, expect_err, |node| node.on_response(at, kind, &option))?;
        }

        // Forged iterative answers.
        for (hop, forged) in &answers {
            let set = forged.set(wanted, *hop, *hop);
            let expect_err = structurally_bad(&set, node.config().key(), wanted, *hop, *hop);
            let at = tick();
            check_save(&mut node, at, kind, &set, Some(expect_err), |node| node.on_answer(at, kind, *hop, &set))?;
        }

        // A success takes a reserve candidate out of reserve: it counts
        // from then on.
        let at = tick();
        let reserve: Vec<TransportAddress> = node
            .candidates()
            .filter(|c| c.is_reserve())
            .map(|c| c.candidate().address)
            .collect();
        for address in reserve {
            let shortfall = node.shortfall(at);
            let worked = Feedback::Worked { rtt: Duration::from_millis(10) };
            prop_assert!(node.feedback(at, &address, worked));
            let c = node.get(&address).unwrap();
            prop_assert!(!c.is_reserve());
            prop_assert_eq!(c.srtt(), Some(Duration::from_millis(10)));
            prop_assert_eq!(node.shortfall(at), shortfall.saturating_sub(1));
            check_cache(&node, at)?;
        }
        prop_assert!(node.candidates().all(|c| !c.is_reserve()));
    }

    /// (j) a damaged encoding decoded into an option or a set that already
    /// holds entries: either it decodes as `decode_option` / `decode_answer`
    /// would, or the error leaves the set empty and the option's mode, N,
    /// filter and hop as they were.
    #[test]
    fn decoders_leave_the_set_empty_on_error(
        forged in forged(),
        n in proptest::option::of(n_in(1..=64)),
        hop in any::<u8>(),
        damage in damage(),
        mut prior in forged(),
    ) {
        let wire_cfg = WireConfig::default();
        prior.consistent = false;
        let prior_set = prior.set(N::MAX, 0, 0);
        let mut set = forged.set(N::MAX, 0, 0);
        if let Some(n) = n {
            while set.len() > usize::from(n.get()) {
                set = CandidateSet::from_entries(set.key(), set.entries()[1..].iter().copied()).unwrap();
            }
        }

        // The request option.
        let option =
            PiggybackOption::from_parts(RoutingMode::Recursive, n, Filter::ANY, hop, set.clone())
                .unwrap();
        let mut bytes = Vec::new();
        wire::encode_option(&option, Direction::Request, &wire_cfg, &mut bytes).unwrap();
        damage.apply(&mut bytes);
        let header = (RoutingMode::Recursive, Some(N::MAX), Filter::services(Services::TURN), 9);
        let mut into = PiggybackOption::from_parts(
            header.0, header.1, header.2, header.3, prior_set.clone(),
        )
        .unwrap();
        let result = wire::decode_option_into(&mut &bytes[..], &wire_cfg, &mut into);
        match (result, wire::decode_option(&mut &bytes[..], &wire_cfg)) {
            (Ok(()), Ok(decoded)) => prop_assert_eq!(into, decoded),
            (Err(e), Err(e2)) => {
                prop_assert_eq!(e, e2);
                prop_assert!(into.set().is_empty(), "{} left {:?}", e, into.set());
                prop_assert_eq!(
                    (into.mode(), into.n(), into.filter(), into.hop()),
                    header
                );
            }
            (a, b) => return Err(TestCaseError::fail(format!("{a:?} vs {b:?}"))),
        }

        // The iterative answer.
        let mut bytes = Vec::new();
        let info = AnswerInfo { hop, n: n.unwrap_or(N::MAX) };
        wire::encode_answer(&set, info, &wire_cfg, &mut bytes).unwrap();
        damage.apply(&mut bytes);
        let mut into = prior_set;
        let result = wire::decode_answer_into(&mut &bytes[..], &wire_cfg, &mut into);
        match (result, wire::decode_answer(&mut &bytes[..], &wire_cfg)) {
            (Ok(got), Ok((info, decoded))) => {
                prop_assert_eq!(got, info);
                prop_assert_eq!(into, decoded);
            }
            (Err(e), Err(e2)) => {
                prop_assert_eq!(e, e2);
                prop_assert!(into.is_empty(), "{} left {:?}", e, into);
            }
            (a, b) => return Err(TestCaseError::fail(format!("{a:?} vs {b:?}"))),
        }
    }
}

/// §4.1 step 2 with the response's option at hop position 1: no
/// intermediate peer processed the request (each one advances the hop), so
/// an entry claiming hop 1 cannot be genuine; `ResponseError::HopOutOfRange`
/// documents "a hop position that did not process the request".
#[test]
fn on_response_refuses_entries_no_hop_added() {
    let config = NodeConfig::default().with_address_policy(AddressPolicy::permissive());
    let mut node = SendingNode::new(config);
    let now = Instant::now();
    let forged = CandidateSet::from_entries(
        UniquenessKey::Ip,
        [SetEntry {
            candidate: public(1),
            hop: 1,
        }],
    )
    .unwrap();
    // Hop position 1: the option never passed an intermediate peer.
    let option = PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(N::DEFAULT),
        Filter::ANY,
        1,
        forged,
    )
    .unwrap();
    let result = node.on_response(now, MessageKind::Join, &option);
    assert!(
        matches!(result, Err(ResponseError::HopOutOfRange { hop: 1, .. })),
        "{result:?}"
    );
    assert!(node.is_empty());
}

/// (b) with exact numbers: a node that wants 4 with the default 50 % share
/// counts 2 per hop, whatever N the response claims. One hop that sent all
/// four has two of them kept as reserve; a fifth is too many for N = 4 even
/// when the option says N = 64.
#[test]
fn node_judges_by_its_own_n_not_the_echoed_one() {
    let wanted = N::new(4).unwrap();
    let config = NodeConfig::default()
        .with_wanted(wanted)
        .with_address_policy(AddressPolicy::permissive());
    let now = Instant::now();
    let entries = |k: u8| {
        CandidateSet::from_entries(
            UniquenessKey::Ip,
            (1..=k).map(|i| SetEntry {
                candidate: public(i),
                hop: 1,
            }),
        )
        .unwrap()
    };
    for echoed in [None, Some(wanted), Some(N::MAX)] {
        let mut node = SendingNode::new(config);
        let option =
            PiggybackOption::from_parts(RoutingMode::Recursive, echoed, Filter::ANY, 2, entries(4))
                .unwrap();
        let r = node.on_response(now, MessageKind::Join, &option).unwrap();
        assert_eq!(
            (
                r.offered,
                r.saved,
                r.reserved,
                r.refreshed,
                r.usable,
                r.shortfall
            ),
            (4, 2, 2, 0, 2, 2),
            "N echoed {echoed:?}"
        );
        let reserve: Vec<bool> = node.best(now, 4).iter().map(|c| c.is_reserve()).collect();
        assert_eq!(reserve, [false, false, true, true]);
    }
    for echoed in [None, Some(N::new(5).unwrap()), Some(N::MAX)] {
        let mut node = SendingNode::new(config);
        let option =
            PiggybackOption::from_parts(RoutingMode::Recursive, echoed, Filter::ANY, 2, entries(5))
                .unwrap();
        assert_eq!(
            node.on_response(now, MessageKind::Join, &option),
            Err(ResponseError::TooMany { k: 5, n: wanted }),
            "N echoed {echoed:?}"
        );
        assert!(node.is_empty());
    }
}

/// The two cases in properties.proptest-regressions, shrunk under the old
/// API (its `Config` type), written out in the new one, so they stay
/// covered whatever the strategies generate.
#[test]
fn old_regressions() {
    let now = Instant::now();
    let unwilling = |last| Candidate::peer(public(last).address, Services::NONE);
    let set = |hop| {
        CandidateSet::from_entries(
            UniquenessKey::Ip,
            [1, 2].map(|i| SetEntry {
                candidate: unwilling(i),
                hop,
            }),
        )
        .unwrap()
    };
    // 1: the option came back at hop position 0, carrying no N, to a node
    // with a cache of 1: hop 1 did not process it, so the set is refused.
    let config = NodeConfig::default()
        .with_wanted(N::new(2).unwrap())
        .with_per_hop_share(PerHopShare::new(2).unwrap())
        .with_cache_capacity(1)
        .unwrap();
    let mut node = SendingNode::new(config);
    let option =
        PiggybackOption::from_parts(RoutingMode::Recursive, None, Filter::ANY, 0, set(1)).unwrap();
    assert_eq!(
        node.on_response(now, MessageKind::Join, &option),
        Err(ResponseError::HopOutOfRange {
            index: 0,
            hop: 1,
            first: 1,
            last: 0
        })
    );
    assert!(node.is_empty());
    // 2: N = 2 in the option, but the node wants 1: K = 2 is too many.
    let config = NodeConfig::default()
        .with_wanted(N::MIN)
        .with_per_hop_share(PerHopShare::new(1).unwrap())
        .with_cache_capacity(1)
        .unwrap();
    let mut node = SendingNode::new(config);
    let option = PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(N::new(2).unwrap()),
        Filter::ANY,
        2,
        set(1),
    )
    .unwrap();
    assert_eq!(
        node.on_response(now, MessageKind::Join, &option),
        Err(ResponseError::TooMany { k: 2, n: N::MIN })
    );
    assert!(node.is_empty());
}
