//! Property tests of the §4.2 algorithm (steps 2–7) and of the sending
//! node's checks, over arbitrary candidate tables, configurations and
//! options.
//!
//! Properties, per hop of a path of intermediate peers:
//! (a) K ≤ N; (b) the set is unique by its key; (c) every added candidate
//! came from that hop's table, passes the option's filter and the address
//! policy, and is not expired; (d) `on_response` never changes the option;
//! (e) no hop adds more than `per_hop_cap(n)`; (f) the stop reason agrees
//! with the numbers; (g) the same seed gives the same result. And (h) the
//! sending node either refuses a response whole with a typed error and an
//! untouched cache, or saves only what passes its filter, address policy
//! and per-hop cap.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::select;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::{
    AddressPolicy, CachedCandidate, Candidate, CandidateSet, Config, Filter, HopReport,
    IntermediatePeer, IpFamily, MessageKind, NodeId, Outcome, PerformanceHints, PiggybackOption,
    ResponseAction, ResponseError, Role, RoutingMode, SaveReport, SelectionPolicy, SendingNode,
    Services, SetEntry, Source, Stop, Transport, TransportAddress, UniquenessKey,
};

const CASES: u32 = 128;

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
        .prop_map(|(services, family)| Filter { services, family })
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

/// An intermediate peer's configuration: per-hop share 1..=100, every
/// selection policy, default N (mostly the crate's default, sometimes any)
/// and an N cap at or above it.
fn peer_config() -> impl Strategy<Value = Config> {
    let default_n = prop_oneof![3 => Just(10u8), 1 => 1u8..=64];
    (
        1u8..=100,
        selection_policy(),
        default_n,
        0u8..=64,
        address_policy(),
    )
        .prop_map(|(share, policy, default_n, extra, addresses)| {
            let max_n = default_n.saturating_add(extra).min(64);
            Config::default()
                .with_per_hop_share(share)
                .unwrap()
                .with_selection(policy)
                .with_address_policy(addresses)
                .with_default_n(default_n)
                .unwrap()
                .with_max_n(max_n)
                .unwrap()
        })
}

/// The sending node's configuration (its N cap bounds recursive responses
/// that carry no N).
fn node_config() -> impl Strategy<Value = Config> {
    (
        1u8..=64,
        1u8..=100,
        filter(),
        key(),
        address_policy(),
        1u8..=64,
        10u8..=64,
    )
        .prop_map(|(wanted, share, filter, key, addresses, capacity, max_n)| {
            Config::default()
                .with_max_n(max_n)
                .unwrap()
                .with_wanted(wanted)
                .unwrap()
                .with_per_hop_share(share)
                .unwrap()
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
    n: Option<u8>,
    filter: Filter,
    key: UniquenessKey,
    mode: RoutingMode,
}

fn option_spec() -> impl Strategy<Value = OptionSpec> {
    let n = prop_oneof![
        1 => Just(None),
        2 => (1u8..=8).prop_map(Some),
        2 => (1u8..=64).prop_map(Some),
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

fn build_path(config: &Config, tables: &[Vec<Learned>], clock: &Clock) -> Vec<IntermediatePeer> {
    assert_eq!(config.entry_lifetime(), LIFETIME);
    tables
        .iter()
        .map(|learned| {
            let mut peer = IntermediatePeer::new(config.clone());
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

fn unique_by_key(set: &CandidateSet) -> bool {
    let keys: HashSet<_> = set
        .iter()
        .map(|e| set.key().of(&e.candidate.address))
        .collect();
    keys.len() == set.len()
}

/// The N the peer works to (§4.2 step 2, capped).
fn effective_n(peer: &IntermediatePeer, n: Option<u8>) -> u8 {
    n.unwrap_or(peer.config().default_n())
        .min(peer.config().max_n())
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
    let n = effective_n(peer, spec.n);
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
    if k_before >= usize::from(n) {
        prop_assert_eq!(report.stop, Stop::AlreadyFull);
        prop_assert_eq!(added, 0);
    } else {
        prop_assert!(k_after <= usize::from(n), "K = {} > N = {}", k_after, n);
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
        prop_assert!(config.address_policy().check(&e.candidate.address).is_ok());
        prop_assert!(!entry.is_expired(now, config.entry_lifetime()));
    }

    // (e) the per-hop cap.
    let cap = config.per_hop_cap(n);
    prop_assert!(added <= cap, "added {} > cap {}", added, cap);

    // (f) the stop reason agrees with the numbers.
    match report.stop {
        Stop::AlreadyFull => prop_assert!(k_before >= usize::from(n)),
        Stop::ReachedN => {
            prop_assert_eq!(k_after, usize::from(n));
            prop_assert!(added >= 1);
        }
        Stop::HopCap => {
            prop_assert_eq!(added, cap);
            prop_assert!(k_after < usize::from(n));
        }
        Stop::TableExhausted => {
            prop_assert!(added < cap);
            prop_assert!(k_after < usize::from(n));
            // Step 7: every candidate of the table was examined; none that
            // could still join the set is left.
            for entry in peer.table().by_priority() {
                let eligible = !entry.is_expired(now, config.entry_lifetime())
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

/// Sends an option built from `spec` along `path`: in recursive mode through
/// every peer, in iterative mode to each peer in turn. Returns every hop's
/// set after the hop, with the report. Checks (a)–(f) when `check` is set.
fn drive(
    path: &[IntermediatePeer],
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
            let mut option = PiggybackOption::recursive(spec.n, spec.filter, spec.key).unwrap();
            for (i, peer) in path.iter().enumerate() {
                let hop = u8::try_from(i + 1).unwrap();
                prop_assert_eq!(option.hop(), hop);
                let before = option.set().clone();
                let outcome = peer.on_request(now, kind, &mut option, &mut rng);
                let Outcome::Filled(report) = outcome else {
                    return Err(TestCaseError::fail("recursive option answered"));
                };
                prop_assert_eq!(option.hop(), hop + 1);
                prop_assert_eq!(option.n(), spec.n);
                prop_assert_eq!(option.filter(), spec.filter);
                if check {
                    check_hop(peer, spec, &before, option.set(), &report, hop, kind, now)?;
                }
                out.push((option.set().clone(), report));
            }
            // (d) the response goes back unchanged through every peer.
            for peer in path.iter().rev() {
                let copy = option.clone();
                let action = peer.on_response(kind, &option);
                prop_assert_eq!(action, ResponseAction::ForwardUnchanged);
                prop_assert_eq!(&option, &copy);
            }
        }
        RoutingMode::Iterative => {
            for (i, peer) in path.iter().enumerate() {
                let hop = u8::try_from(i + 1).unwrap();
                let mut option =
                    PiggybackOption::iterative(spec.n, spec.filter, spec.key, hop).unwrap();
                let outcome = peer.on_request(now, kind, &mut option, &mut rng);
                let Outcome::Answer(answer, report) = outcome else {
                    return Err(TestCaseError::fail("iterative option filled in place"));
                };
                prop_assert!(option.set().is_empty());
                if check {
                    let empty = CandidateSet::new(spec.key);
                    check_hop(peer, spec, &empty, &answer, &report, hop, kind, now)?;
                }
                // (d) the response that carries the option is forwarded as is.
                let copy = option.clone();
                prop_assert_eq!(
                    peer.on_response(kind, &option),
                    ResponseAction::ForwardUnchanged
                );
                prop_assert_eq!(&option, &copy);
                out.push((answer, report));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Sending node helpers, for (h)
// ---------------------------------------------------------------------------

fn snapshot(node: &SendingNode, now: Instant) -> (usize, Vec<CachedCandidate>) {
    let best = node.best(now, 64).into_iter().copied().collect();
    (node.cache().len(), best)
}

/// Every cached candidate passes the node's filter and address policy, and
/// the cache is unique by the node's key and within its capacity.
fn check_cache(node: &SendingNode) -> Result<(), TestCaseError> {
    let config = node.config();
    let mut keys = HashSet::new();
    for c in node.cache().iter() {
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
        prop_assert!(keys.insert(config.key().of(&cand.address)));
    }
    prop_assert!(node.cache().len() <= usize::from(config.cache_capacity()));
    Ok(())
}

/// The structural checks a sending node makes on a set whose entries must
/// carry hops in `first..=last` (non-decreasing) and number at most N.
fn structurally_bad(set: &CandidateSet, n: u8, first: u8, last: u8) -> bool {
    if set.len() > usize::from(n) {
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

/// Applies one response to `node` at `t` (a time no earlier response used)
/// and checks (h). `n` is the N the response is checked against: the
/// option's but at most the node's own N wanted (else the node's N cap) for
/// a recursive response, the node's own for an iterative answer.
fn check_save(
    node: &mut SendingNode,
    t: Instant,
    set: &CandidateSet,
    n: u8,
    expect_err: Option<bool>,
    respond: impl FnOnce(&mut SendingNode) -> Result<SaveReport, ResponseError>,
) -> Result<(), TestCaseError> {
    let before = snapshot(node, t);
    let cache_before: Vec<CachedCandidate> = node.cache().iter().copied().collect();
    let result = respond(node);
    if let Some(expect_err) = expect_err {
        prop_assert_eq!(result.is_err(), expect_err, "result {:?}", result);
    }
    match result {
        Err(_) => {
            // Refused whole: the cache is exactly as it was.
            prop_assert_eq!(snapshot(node, t), before);
            let cache_after: Vec<CachedCandidate> = node.cache().iter().copied().collect();
            prop_assert_eq!(cache_after, cache_before);
        }
        Ok(report) => {
            let config = node.config().clone();
            let cap = config.per_hop_cap(n);
            prop_assert_eq!(usize::from(report.offered), set.len());
            prop_assert_eq!(
                report.saved
                    + report.refreshed
                    + report.over_hop_cap
                    + report.filtered
                    + report.refused
                    + report.no_room,
                report.offered
            );
            // The per-hop cap: beyond `cap` entries of one hop are dropped.
            let mut per_hop: BTreeMap<u8, u8> = BTreeMap::new();
            for e in set {
                *per_hop.entry(e.hop).or_default() += 1;
            }
            let over: u8 = per_hop.values().map(|&c| c.saturating_sub(cap)).sum();
            prop_assert_eq!(report.over_hop_cap, over);
            // Entries merged by this response carry its time; no hop got
            // more than its cap in.
            let mut merged: BTreeMap<u8, u8> = BTreeMap::new();
            for c in node.cache().iter().filter(|c| c.refreshed() == t) {
                *merged.entry(c.hop()).or_default() += 1;
                prop_assert!(per_hop.contains_key(&c.hop()));
            }
            for (hop, count) in merged {
                prop_assert!(count <= cap, "hop {} got {} in, cap {}", hop, count, cap);
            }
            check_cache(node)?;
            prop_assert_eq!(usize::from(report.usable), node.cache().usable(t));
            prop_assert_eq!(report.shortfall, node.shortfall(t));
        }
    }
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
    fn set(&self, wanted: u8, first: u8, last: u8) -> CandidateSet {
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
            if self.consistent && set.len() >= usize::from(wanted) {
                break;
            }
            let _ = set.try_push(SetEntry { candidate, hop });
        }
        set
    }
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// (a)–(g) along a path of intermediate peers, recursive or iterative.
    #[test]
    fn path_properties(
        tables in path_tables(),
        config in peer_config(),
        spec in option_spec(),
        kind in kind(),
        seed in any::<u64>(),
    ) {
        let clock = Clock::new();
        let path = build_path(&config, &tables, &clock);
        let first = drive(&path, &spec, kind, clock.now, seed, true)?;
        prop_assert_eq!(first.len(), path.len());
        if spec.mode == RoutingMode::Recursive {
            // (a) after any number of hops.
            let n = effective_n(&path[0], spec.n);
            let (last, _) = first.last().unwrap();
            prop_assert!(last.len() <= usize::from(n));
        }
        // (g) determinism: same tables, same seed, same everything.
        let second = drive(&path, &spec, kind, clock.now, seed, false)?;
        prop_assert_eq!(first, second);
    }

    /// (h) an honest path's response, iterative answers and tampered
    /// responses, against a sending node with an arbitrary configuration.
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
                proptest::option::of(1u8..=64),
                0u8..8,
                forged(),
            ),
            1..4,
        ),
        answers in proptest::collection::vec((0u8..7, forged()), 1..4),
    ) {
        let clock = Clock::new();
        let path = build_path(&peer_cfg, &tables, &clock);
        let mut node = SendingNode::new(node_cfg.clone());
        let wanted = node_cfg.wanted();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut t = clock.now;
        let mut tick = || {
            t += Duration::from_secs(1);
            t
        };

        // An honest recursive round trip: never refused.
        let mut option = node.recursive_option();
        for peer in &path {
            let _ = peer.on_request(clock.now, kind, &mut option, &mut rng);
        }
        let set = option.set().clone();
        let at = tick();
        prop_assert_eq!(option.n(), Some(wanted));
        check_save(&mut node, at, &set, wanted, Some(false), |node| node.on_response(at, kind, &option))?;

        // Honest iterative answers: never refused.
        for (i, peer) in path.iter().enumerate() {
            let hop = u8::try_from(i + 1).unwrap();
            let mut option = node.iterative_option(hop);
            let Outcome::Answer(answer, _) = peer.on_request(clock.now, kind, &mut option, &mut rng)
            else {
                return Err(TestCaseError::fail("iterative option filled in place"));
            };
            let at = tick();
            check_save(&mut node, at, &answer, wanted, Some(false), |node| node.on_answer(at, kind, hop, &answer))?;
        }

        // Forged recursive responses.
        for (mode, n, hop, forged) in &tampered {
            let set = forged.set(n.unwrap_or(node_cfg.max_n()), 1, hop.saturating_sub(1));
            let filter = node_cfg.filter();
            let option = PiggybackOption::from_parts(*mode, *n, filter, *hop, set.clone())
                .or_else(|_| PiggybackOption::from_parts(*mode, None, filter, *hop, set.clone()))
                .or_else(|_| {
                    PiggybackOption::from_parts(*mode, None, filter, *hop, CandidateSet::new(forged.key))
                })
                .unwrap();
            let set = option.set().clone();
            let last = option.hop().saturating_sub(1);
            // K is bounded by the option's N, never above the node's own N
            // wanted, or by the node's N cap when the option carries none.
            let bound = option.n().map_or(node_cfg.max_n(), |n| n.min(wanted));
            // With `hop() <= 1` no peer processed the request: any entry is
            // out of range.
            let expect_err = Some(
                option.mode() != RoutingMode::Recursive || structurally_bad(&set, bound, 1, last),
            );
            let at = tick();
            check_save(&mut node, at, &set, bound, expect_err, |node| node.on_response(at, kind, &option))?;
        }

        // Forged iterative answers.
        for (hop, forged) in &answers {
            let set = forged.set(wanted, *hop, *hop);
            let expect_err = structurally_bad(&set, wanted, *hop, *hop);
            let at = tick();
            check_save(&mut node, at, &set, wanted, Some(expect_err), |node| node.on_answer(at, kind, *hop, &set))?;
        }
    }
}

/// §4.1 step 2 with the response's option at hop position 1: no
/// intermediate peer processed the request (each one advances the hop), so
/// an entry claiming hop 1 cannot be genuine; `ResponseError::HopOutOfRange`
/// documents "a hop position that did not process the request".
#[test]
fn on_response_refuses_entries_no_hop_added() {
    let config = Config::default().with_address_policy(AddressPolicy::permissive());
    let mut node = SendingNode::new(config);
    let now = Instant::now();
    let address = TransportAddress::udp("45.0.0.1:3478".parse().unwrap());
    let forged = CandidateSet::from_entries(
        UniquenessKey::Ip,
        [SetEntry {
            candidate: Candidate::peer(address, Services::BOTH),
            hop: 1,
        }],
    )
    .unwrap();
    // Hop position 1: the option never passed an intermediate peer.
    let option =
        PiggybackOption::from_parts(RoutingMode::Recursive, Some(10), Filter::ANY, 1, forged)
            .unwrap();
    let result = node.on_response(now, MessageKind::Join, &option);
    assert!(
        matches!(result, Err(ResponseError::HopOutOfRange { hop: 1, .. })),
        "{result:?}"
    );
    assert!(node.cache().is_empty());
}
