//! Per-hop cost: what one intermediate peer spends on a request that
//! carries the piggyback option ([`IntermediatePeer::on_request`], §4.2
//! steps 2–7), next to a *floor*, the irreducible work of copying the same
//! number of addresses into a fixed ten-slot array with a linear-scan
//! uniqueness check; and what the sending node spends saving a response's
//! set and picking the best candidates.
//!
//! Run with `cargo bench --features serde --bench per_hop`; then
//! `scripts/bench-report` writes BENCHMARKS.md from the results.
//!
//! Benchmark ids, group `on_request` (the report script parses them):
//!
//! * `{recursive|iterative}/{empty|half}/{policy}/{ipv4|mixed}/{table size}`:
//!   `on_request` with N = 10, a per-hop share of 100 % and the policy, on
//!   a table of that many willing candidates; `half` starts from a set that
//!   already holds 5 candidates not in the table (recursive only: an
//!   iterative request carries no set).
//! * `floor/{empty|half}/{ipv4|mixed}/{table size}`: the floor for the same
//!   number of added candidates.
//!
//! Group `sending_node`: `merge_and_best` (`SendingNode::on_response` with
//! a 10-entry set into a cache of 20, then `best(now, 3)`) and `best` alone.

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::peer::TableConfig;
use stun_turn_discovery::{
    AddressPolicy, Candidate, CandidateSet, Filter, IntermediatePeer, MessageKind, NodeConfig,
    PeerConfig, PerHopShare, PerformanceHints, PiggybackOption, RoutingMode, SelectionPolicy,
    SendingNode, Services, SetEntry, Source, TransportAddress, UniquenessKey, N,
};

/// N asked for by every request: 10.
const WANT: N = N::DEFAULT;

/// Inputs restored (unmeasured) before each timed pass. A pass runs the
/// measured routine on `RING` inputs that stay in the L1 cache, like a
/// request the host has just decoded; each input is restored from a
/// pristine copy with `clone_from`, which reuses its buffer, so a set keeps
/// room for N and `on_request` does not allocate. The floor is timed the
/// same way on its own inputs.
const RING: usize = 16;

/// Times `f` on inputs restored from `pristine` before each pass of
/// `RING` calls; only the calls are timed.
fn time_ring<T: Clone, O>(
    b: &mut criterion::Bencher<'_>,
    pristine: &T,
    mut f: impl FnMut(&mut T) -> O,
) {
    let mut ring: Vec<T> = (0..RING).map(|_| pristine.clone()).collect();
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let k = left.min(RING as u64) as usize;
            for slot in &mut ring[..k] {
                slot.clone_from(pristine);
            }
            let t0 = std::time::Instant::now();
            for slot in &mut ring[..k] {
                black_box(f(slot));
            }
            total += t0.elapsed();
            left -= k as u64;
        }
        total
    });
}

/// Inputs prepared (unmeasured) per timed batch of the sending-node bench:
/// each node is built afresh so its cache has the spare capacity of a
/// running node; 256 of them stay in the L2 cache.
const BATCH: BatchSize = BatchSize::NumIterations(256);

/// Candidates already in a half-full set.
const HALF: u32 = 5;

/// Table sizes: smaller than N, the draft's §3.3.3 routing-table size, a
/// large DHT peer's routing state, and a very large table.
const SIZES: [u32; 4] = [8, 75, 330, 10_000];

const POLICIES: [(SelectionPolicy, &str); 4] = [
    (SelectionPolicy::ByPriority, "by_priority"),
    (SelectionPolicy::ByPerformance, "by_performance"),
    (SelectionPolicy::Random, "random"),
    (SelectionPolicy::LoadSpreading, "load_spreading"),
];

/// Address families of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// IPv4 only.
    V4,
    /// Half IPv4, half IPv6.
    Mixed,
}

impl Family {
    const ALL: [Self; 2] = [Self::V4, Self::Mixed];

    fn name(self) -> &'static str {
        match self {
            Self::V4 => "ipv4",
            Self::Mixed => "mixed",
        }
    }
}

/// The `i`-th table address: 45.0.0.0/8 onwards and 2a00:1450::/32, both
/// ordinary global unicast ranges; in a mixed table odd `i` are IPv6.
fn table_address(i: u32, family: Family) -> SocketAddr {
    match family {
        Family::Mixed if i % 2 == 1 => SocketAddr::new(
            Ipv6Addr::new(0x2a00, 0x1450, 0, 0, 0, 0, (i >> 16) as u16, i as u16).into(),
            3478,
        ),
        _ => SocketAddr::new(Ipv4Addr::from(0x2d00_0000 + i).into(), 3478),
    }
}

/// The `i`-th address already in a half-full set: outside the table's
/// ranges (46.0.0.0/8 and 2a00:1451::/32).
fn preset_address(i: u32, family: Family) -> SocketAddr {
    match family {
        Family::Mixed if i % 2 == 1 => SocketAddr::new(
            Ipv6Addr::new(0x2a00, 0x1451, 0, 0, 0, 0, 0, i as u16 + 1).into(),
            3478,
        ),
        _ => SocketAddr::new(Ipv4Addr::from(0x2e00_0001 + i).into(), 3478),
    }
}

/// The intermediate peers' configuration: one hop may fill all of N, any
/// address is accepted, the table holds the largest size benchmarked (the
/// default capacity is 512), and `policy` selects.
fn peer_config(policy: SelectionPolicy) -> PeerConfig {
    let max = SIZES.into_iter().max().expect("sizes");
    let table = TableConfig::default()
        .with_max_entries(max)
        .expect("a non-zero capacity");
    PeerConfig::default()
        .with_table(table)
        .with_per_hop_share(PerHopShare::WHOLE)
        .with_address_policy(AddressPolicy::permissive())
        .with_selection(policy)
}

/// A peer whose table holds `size` willing candidates (STUN and TURN) of
/// `family`, with varied priorities and performance hints, synced from the
/// routing table. The same `size` and `family` give the same table.
fn make_peer(policy: SelectionPolicy, size: u32, family: Family, now: Instant) -> IntermediatePeer {
    let mut peer = IntermediatePeer::new(peer_config(policy));
    let mut rng = ChaCha8Rng::seed_from_u64(u64::from(size) ^ 0x7ab1e);
    let candidates: Vec<Candidate> = (0..size)
        .map(|i| {
            let r = rng.next_u64();
            Candidate::peer(
                TransportAddress::udp(table_address(i, family)),
                Services::BOTH,
            )
            .with_priority((r % 1000) as u16)
            .with_hints(PerformanceHints {
                capacity: 1 + ((r >> 16) % 1000) as u16,
                bandwidth_kbps: 1_000 + ((r >> 32) % 1_000_000) as u32,
                load_percent: ((r >> 56) % 101) as u8,
            })
        })
        .collect();
    let report = peer
        .table_mut()
        .sync_source(now, Source::RoutingTable, candidates);
    assert_eq!(report.added, size, "every candidate enters the table");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    peer
}

/// A recursive option with N = 10 and an empty set with room for N.
fn empty_recursive() -> PiggybackOption {
    PiggybackOption::recursive(Some(WANT), Filter::ANY, UniquenessKey::Ip)
}

/// A recursive option with N = 10 whose set already holds 5 candidates
/// (added by hops 1 to 5) that are not in any table; the next hop is 6.
fn half_recursive(family: Family) -> PiggybackOption {
    let mut set = CandidateSet::with_capacity(UniquenessKey::Ip, WANT);
    for i in 0..HALF {
        let candidate = Candidate::peer(
            TransportAddress::udp(preset_address(i, family)),
            Services::BOTH,
        )
        .with_priority(300);
        set.try_push(SetEntry {
            candidate,
            hop: i as u8 + 1,
        })
        .expect("distinct addresses");
    }
    PiggybackOption::from_parts(RoutingMode::Recursive, Some(WANT), Filter::ANY, 6, set)
        .expect("a valid half-full option")
}

/// An iterative option with N = 10 for the peer at hop 1.
fn empty_iterative() -> PiggybackOption {
    PiggybackOption::iterative(Some(WANT), Filter::ANY, UniquenessKey::Ip, 1)
}

/// How many candidates one `on_request` adds to the option `start` makes;
/// checks the set had room for them, as every benchmarked option has.
fn added_by(peer: &mut IntermediatePeer, start: Start, family: Family, now: Instant) -> u8 {
    let mut option = start.option(family);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let before = (option.set().entries().as_ptr(), option.set().capacity());
    let added = peer
        .on_request(now, MessageKind::Join, None, &mut option, &mut rng)
        .report()
        .added();
    if option.mode() == RoutingMode::Recursive {
        assert_eq!(
            (option.set().entries().as_ptr(), option.set().capacity()),
            before,
            "the set had room for N: on_request neither moved nor grew it"
        );
    }
    added
}

/// Which option a benchmark starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    RecursiveEmpty,
    RecursiveHalf,
    IterativeEmpty,
}

impl Start {
    const ALL: [Self; 3] = [
        Self::RecursiveEmpty,
        Self::RecursiveHalf,
        Self::IterativeEmpty,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::RecursiveEmpty => "recursive/empty",
            Self::RecursiveHalf => "recursive/half",
            Self::IterativeEmpty => "iterative/empty",
        }
    }

    fn option(self, family: Family) -> PiggybackOption {
        match self {
            Self::RecursiveEmpty => empty_recursive(),
            Self::RecursiveHalf => half_recursive(family),
            Self::IterativeEmpty => empty_iterative(),
        }
    }
}

/// The floor's set: a fixed array and a length.
#[derive(Debug, Clone, Copy)]
struct FixedSet {
    addrs: [SocketAddr; WANT.get() as usize],
    len: usize,
}

impl FixedSet {
    fn new(preset: &[SocketAddr]) -> Self {
        let mut set = Self {
            addrs: [SocketAddr::from(([0, 0, 0, 0], 0)); WANT.get() as usize],
            len: 0,
        };
        for &a in preset {
            set.addrs[set.len] = a;
            set.len += 1;
        }
        set
    }

    /// Copies `src` in, skipping addresses already present (linear scan),
    /// until full; returns the new length.
    #[inline(never)]
    fn fill(&mut self, src: &[SocketAddr]) -> usize {
        for &a in src {
            if self.len == self.addrs.len() {
                break;
            }
            if !self.addrs[..self.len].contains(&a) {
                self.addrs[self.len] = a;
                self.len += 1;
            }
        }
        self.len
    }
}

/// The floor for `added` candidates from a table of `family` and `size`,
/// starting from an empty set or from the 5 preset candidates.
fn bench_floor(
    group: &mut BenchmarkGroup<'_, WallTime>,
    fill: &str,
    family: Family,
    size: u32,
    added: u8,
    preset: &[SocketAddr],
) {
    // The addresses ByPriority would add, best first.
    let peer = make_peer(SelectionPolicy::ByPriority, size, family, Instant::now());
    let src: Vec<SocketAddr> = peer
        .table()
        .by_priority()
        .take(usize::from(added))
        .map(|e| e.candidate().address.socket_addr())
        .collect();
    let start = FixedSet::new(preset);
    let mut check = start;
    assert_eq!(check.fill(&src), preset.len() + usize::from(added));

    group.throughput(Throughput::Elements(u64::from(added)));
    let id = format!("floor/{fill}/{}/{size}", family.name());
    group.bench_function(id, |b| {
        time_ring(b, &start, |set| set.fill(black_box(&src)));
    });
}

fn on_request(c: &mut Criterion) {
    // Built with the `ablate-bloom` feature (benchmarking only) the set has
    // no Bloom filter of keys; its results go to a group of their own, the
    // ablation row of BENCHMARKS.md.
    let name = if cfg!(feature = "ablate-bloom") {
        "on_request_no_bloom"
    } else {
        "on_request"
    };
    let mut group = c.benchmark_group(name);
    for size in SIZES {
        for family in Family::ALL {
            let now = Instant::now();
            let mut added_from = [None::<u8>; 3];
            for (policy, policy_name) in POLICIES {
                let mut peer = make_peer(policy, size, family, now);
                for (s, start) in Start::ALL.into_iter().enumerate() {
                    let added = added_by(&mut peer, start, family, now);
                    // Every policy adds as many: all entries are willing
                    // and unique, and every policy proposes every entry.
                    assert_eq!(*added_from[s].get_or_insert(added), added);
                    group.throughput(Throughput::Elements(u64::from(added)));
                    let id = format!("{}/{policy_name}/{}/{size}", start.name(), family.name());
                    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
                    let pristine = start.option(family);
                    group.bench_function(id, |b| {
                        time_ring(b, &pristine, |option| {
                            peer.on_request(
                                black_box(now),
                                MessageKind::Join,
                                None,
                                option,
                                &mut rng,
                            )
                        });
                    });
                }
            }
            let [Some(from_empty), Some(from_half), Some(iterative)] = added_from else {
                unreachable!("every start was benchmarked");
            };
            assert_eq!(from_empty, iterative);
            bench_floor(&mut group, "empty", family, size, from_empty, &[]);
            let preset: Vec<SocketAddr> = (0..HALF).map(|i| preset_address(i, family)).collect();
            bench_floor(&mut group, "half", family, size, from_half, &preset);
        }
    }
    group.finish();
}

/// An echoed recursive option (next hop 3) whose set holds 10 candidates
/// from `first` on, 5 added by hop 1 and 5 by hop 2.
fn response_option(first: u32) -> PiggybackOption {
    let set = CandidateSet::from_entries(
        UniquenessKey::Ip,
        (0..u32::from(WANT.get())).map(|i| SetEntry {
            candidate: Candidate::peer(
                TransportAddress::udp(table_address(first + i, Family::V4)),
                Services::BOTH,
            )
            .with_priority(((first + i) * 37 % 1000) as u16),
            hop: 1 + (i / 5) as u8,
        }),
    )
    .expect("distinct addresses");
    PiggybackOption::from_parts(RoutingMode::Recursive, Some(WANT), Filter::ANY, 3, set)
        .expect("a valid echoed option")
}

/// A sending node whose cache holds the 20 candidates of two earlier
/// responses.
fn prepared_node(config: NodeConfig, now: Instant, earlier: &[PiggybackOption]) -> SendingNode {
    let mut node = SendingNode::new(config);
    for option in earlier {
        let report = node
            .on_response(now, MessageKind::Join, option)
            .expect("a valid response");
        assert_eq!(report.saved, WANT.get());
    }
    node
}

fn sending_node(c: &mut Criterion) {
    let config = NodeConfig::default()
        .with_per_hop_share(PerHopShare::WHOLE)
        .with_address_policy(AddressPolicy::permissive());
    let now = Instant::now();
    let earlier = [response_option(0), response_option(10)];
    let fresh = response_option(20);

    let mut merged = prepared_node(config, now, &earlier);
    assert_eq!(merged.len(), 20);
    let report = merged
        .on_response(now, MessageKind::Join, &fresh)
        .expect("a valid response");
    assert_eq!((report.saved, merged.len()), (WANT.get(), 30));
    assert_eq!(merged.best(now, 3).len(), 3);

    let mut group = c.benchmark_group("sending_node");
    group.throughput(Throughput::Elements(u64::from(WANT.get())));
    group.bench_function("merge_and_best", |b| {
        // The node is built afresh (not cloned) so its cache has the spare
        // capacity a node that has been running would have.
        b.iter_batched_ref(
            || prepared_node(config, now, &earlier),
            |node| {
                let report = node.on_response(black_box(now), MessageKind::Join, black_box(&fresh));
                let _ = black_box(report);
                node.best(now, 3).len()
            },
            BATCH,
        );
    });
    group.throughput(Throughput::Elements(3));
    group.bench_function("best", |b| {
        b.iter(|| merged.best(black_box(now), 3).len());
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
        .nresamples(20_000)
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = on_request, sending_node
}
criterion_main!(benches);
