//! What the per-hop benches share: the tables, the options they start
//! from, the timing harness that keeps allocation and input restoration
//! out of the measured region, and the group names.
//!
//! Included by `benches/per_hop.rs` and `benches/append.rs` with
//! `#[path = "common/fixtures.rs"] mod fixtures;`; each uses a part of it.
#![allow(dead_code)]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::peer::TableConfig;
use stun_turn_discovery::{
    AddressPolicy, Candidate, CandidateSet, Filter, IntermediatePeer, PeerConfig, PerHopShare,
    PerformanceHints, PiggybackOption, RoutingMode, SelectionPolicy, Services, SetEntry, Source,
    TransportAddress, UniquenessKey, N,
};

/// N asked for by every request: 10.
pub(crate) const WANT: N = N::DEFAULT;

/// Candidates already in a half-full set.
pub(crate) const HALF: u32 = 5;

/// Table sizes: smaller than N, the draft's §3.3.3 routing-table size, a
/// large DHT peer's routing state, and a very large table.
pub(crate) const SIZES: [u32; 4] = [8, 75, 330, 10_000];

/// Table sizes of the default-configuration rows: the draft's §3.3.3
/// routing-table size and a very large table.
pub(crate) const DEFAULT_SIZES: [u32; 2] = [75, 10_000];

/// The selection policies and their names in benchmark ids.
pub(crate) const POLICIES: [(SelectionPolicy, &str); 4] = [
    (SelectionPolicy::ByPriority, "by_priority"),
    (SelectionPolicy::ByPerformance, "by_performance"),
    (SelectionPolicy::Random, "random"),
    (SelectionPolicy::LoadSpreading, "load_spreading"),
];

/// The group name for `base`: built with an ablation feature
/// (benchmarking only: `ablate-bloom`, the candidate set without its Bloom
/// filter of keys; `ablate-drawn`, load spreading without its record of
/// positions drawn; `ablate-room`, the in-place append zeroing room one
/// entry at a time) the results go to groups of their own
/// (`{base}_no_bloom`, `{base}_no_drawn`, `{base}_no_room`), so they never
/// overwrite the ordinary ones.
pub(crate) fn group_name(base: &str) -> String {
    let mut name = base.to_owned();
    if cfg!(feature = "ablate-bloom") {
        name.push_str("_no_bloom");
    }
    if cfg!(feature = "ablate-drawn") {
        name.push_str("_no_drawn");
    }
    if cfg!(feature = "ablate-room") {
        name.push_str("_no_room");
    }
    name
}

/// Address families of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// IPv4 only.
    V4,
    /// Half IPv4, half IPv6.
    Mixed,
}

impl Family {
    /// Both families, in report order.
    pub(crate) const ALL: [Self; 2] = [Self::V4, Self::Mixed];

    /// The family's name in benchmark ids.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::V4 => "ipv4",
            Self::Mixed => "mixed",
        }
    }
}

/// The `i`-th table address: 45.0.0.0/8 onwards and 2a00:1450::/32, both
/// ordinary global unicast ranges (the default address policy admits
/// them); in a mixed table odd `i` are IPv6.
pub(crate) fn table_address(i: u32, family: Family) -> SocketAddr {
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
pub(crate) fn preset_address(i: u32, family: Family) -> SocketAddr {
    match family {
        Family::Mixed if i % 2 == 1 => SocketAddr::new(
            Ipv6Addr::new(0x2a00, 0x1451, 0, 0, 0, 0, 0, i as u16 + 1).into(),
            3478,
        ),
        _ => SocketAddr::new(Ipv4Addr::from(0x2e00_0001 + i).into(), 3478),
    }
}

/// A table capacity of `entries`.
fn capacity(entries: u32) -> TableConfig {
    TableConfig::default()
        .with_max_entries(entries)
        .expect("a non-zero capacity")
}

/// The grid's configuration: one hop may fill all of N, any address is
/// accepted, the table holds the largest size benchmarked (the default
/// capacity is 512), and `policy` selects.
pub(crate) fn grid_config(policy: SelectionPolicy) -> PeerConfig {
    let max = SIZES.into_iter().max().expect("sizes");
    PeerConfig::default()
        .with_table(capacity(max))
        .with_per_hop_share(PerHopShare::WHOLE)
        .with_address_policy(AddressPolicy::permissive())
        .with_selection(policy)
}

/// `PeerConfig::default()` (load spreading, a per-hop share of 50 %, the
/// default address policy) with only the table capacity raised, and only
/// where a table of `size` needs it.
pub(crate) fn default_config(size: u32) -> PeerConfig {
    let config = PeerConfig::default();
    if size > config.table().max_entries() {
        config.with_table(capacity(size))
    } else {
        config
    }
}

/// A peer with `config` whose table holds `size` willing candidates (STUN
/// and TURN) of `family`, with varied priorities and performance hints,
/// synced from the routing table. The same `size` and `family` give the
/// same table.
pub(crate) fn make_peer(
    config: PeerConfig,
    size: u32,
    family: Family,
    now: Instant,
) -> IntermediatePeer {
    let mut peer = IntermediatePeer::new(config);
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
pub(crate) fn empty_recursive() -> PiggybackOption {
    PiggybackOption::recursive(Some(WANT), Filter::ANY, UniquenessKey::Ip)
}

/// A recursive option with N = 10 whose set already holds 5 candidates
/// (added by hops 1 to 5) that are not in any table; the next hop is 6.
pub(crate) fn half_recursive(family: Family) -> PiggybackOption {
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

/// Inputs restored (unmeasured) before each timed pass. A pass runs the
/// measured routine on `RING` inputs that stay in the L1 cache, like a
/// request the host has just decoded; each input is restored from a
/// pristine copy with `clone_from`, which reuses its buffer, so a set keeps
/// room for N, an encoded option or message keeps its spare capacity, and
/// the routine does not allocate.
pub(crate) const RING: usize = 16;

/// Times `f` on inputs restored from `pristine` before each pass of
/// `RING` calls; only the calls are timed.
pub(crate) fn time_ring<T: Clone, O>(
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
            let t0 = Instant::now();
            for slot in &mut ring[..k] {
                black_box(f(slot));
            }
            total += t0.elapsed();
            left -= k as u64;
        }
        total
    });
}

/// Spare bytes behind an encoded option or message: room for every entry
/// a hop can append (N entries of at most 30 bytes), so appending in place
/// never reallocates.
pub(crate) const SPARE: usize = 1024;

/// Bytes on the wire (an encoded option or a whole message) with spare
/// capacity that restoring keeps: `clone` makes a buffer with `SPARE`
/// bytes of room, and `clone_from` copies the bytes into the buffer it
/// already has (`BytesMut`'s own `clone_from` would replace the buffer
/// with one of exactly the length, and the append would reallocate).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Wire(pub(crate) BytesMut);

impl Wire {
    /// `bytes` in a buffer with `SPARE` bytes of room behind them.
    pub(crate) fn new(bytes: &[u8]) -> Self {
        let mut buf = BytesMut::with_capacity(bytes.len() + SPARE);
        buf.put_slice(bytes);
        Self(buf)
    }
}

impl Clone for Wire {
    fn clone(&self) -> Self {
        Self::new(&self.0)
    }

    fn clone_from(&mut self, source: &Self) {
        self.0.clear();
        self.0.extend_from_slice(&source.0);
    }
}
