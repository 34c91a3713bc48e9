//! Per-hop cost: what one intermediate peer spends on a request that
//! carries the piggyback option ([`IntermediatePeer::on_request`], §4.2
//! steps 2–7), next to a *floor*, the irreducible work of copying the same
//! number of addresses into a fixed ten-slot array with a linear-scan
//! uniqueness check, and next to the cost of one STUN message; and what
//! the sending node spends saving a response's set and picking the best
//! candidates.
//!
//! Run with `cargo bench --features serde --bench per_hop`; then
//! `scripts/bench-report` writes BENCHMARKS.md from the results.
//!
//! Benchmark ids (the report script parses them):
//!
//! * group `on_request`, `{recursive|iterative}/{empty|half}/{policy}/{ipv4|mixed}/{table size}`:
//!   `on_request` with N = 10, a per-hop share of 100 % and the policy, on
//!   a table of that many willing candidates; `half` starts from a set that
//!   already holds 5 candidates not in the table (recursive only: an
//!   iterative request carries no set).
//! * group `on_request`, `floor/{empty|half}/{ipv4|mixed}/{table size}`: the
//!   floor for the same number of added candidates from the same starting
//!   set.
//! * group `on_request_default`, `recursive/empty/{ipv4|mixed}/{75|10000}`:
//!   `on_request` with `PeerConfig::default()` (load spreading, a per-hop
//!   share of 50 %: 5 of N = 10 added), only the table capacity raised
//!   where the table needs it, from an empty set.
//! * `stun/per_hop`: one STUN message encoded and parsed back
//!   (`benches/common/stun.rs`), the reference the default-configuration
//!   rows are read against.
//! * group `sending_node`: `merge_and_best` (`SendingNode::on_response`
//!   with a 10-entry set into a cache of 20, then `best(now, 3)`) and
//!   `best` alone.
//!
//! Built with the `ablate-bloom` feature every group name gets a
//! `_no_bloom` suffix (`stun/per_hop_no_bloom` likewise).

#[path = "common/fixtures.rs"]
mod fixtures;
#[path = "common/stun.rs"]
mod stun;

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::{
    AddressPolicy, Candidate, CandidateSet, Filter, IntermediatePeer, MessageKind, NodeConfig,
    PerHopShare, PiggybackOption, RoutingMode, SelectionPolicy, SendingNode, Services, SetEntry,
    TransportAddress, UniquenessKey,
};

use fixtures::{
    default_config, empty_recursive, grid_config, group_name, half_recursive, make_peer,
    preset_address, table_address, time_ring, Family, DEFAULT_SIZES, HALF, POLICIES, SIZES, WANT,
};

/// Inputs prepared (unmeasured) per timed batch of the sending-node bench:
/// each node is built afresh so its cache has the spare capacity of a
/// running node; 256 of them stay in the L2 cache.
const BATCH: BatchSize = BatchSize::NumIterations(256);

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
    let config = grid_config(SelectionPolicy::ByPriority);
    let peer = make_peer(config, size, family, Instant::now());
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
    let mut group = c.benchmark_group(group_name("on_request"));
    for size in SIZES {
        for family in Family::ALL {
            let now = Instant::now();
            let mut added_from = [None::<u8>; 3];
            for (policy, policy_name) in POLICIES {
                let mut peer = make_peer(grid_config(policy), size, family, now);
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

/// Recursive `on_request` from an empty set with the default peer
/// configuration (only the table capacity raised where the table needs it),
/// after the STUN message it is read against.
fn on_request_default(c: &mut Criterion) {
    stun::bench_stun_message(c, &group_name("per_hop"));
    let mut group = c.benchmark_group(group_name("on_request_default"));
    for size in DEFAULT_SIZES {
        for family in Family::ALL {
            let now = Instant::now();
            let mut peer = make_peer(default_config(size), size, family, now);
            let added = added_by(&mut peer, Start::RecursiveEmpty, family, now);
            assert_eq!(added, HALF as u8, "the default per-hop share adds 5 of 10");
            group.throughput(Throughput::Elements(u64::from(added)));
            let id = format!("recursive/empty/{}/{size}", family.name());
            let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
            let pristine = empty_recursive();
            group.bench_function(id, |b| {
                time_ring(b, &pristine, |option| {
                    peer.on_request(black_box(now), MessageKind::Join, None, option, &mut rng)
                });
            });
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

    let mut group = c.benchmark_group(group_name("sending_node"));
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
    targets = on_request, on_request_default, sending_node
}
criterion_main!(benches);
