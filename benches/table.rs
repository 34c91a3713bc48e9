//! Refreshing a candidate table: [`CandidateTable::sync_source`] with the
//! candidates the table already holds, as a host does on every routing
//! change and at least once per entry lifetime (§3.3.1).
//!
//! Run with `cargo bench --features serde --bench table`; then
//! `scripts/bench-report` writes BENCHMARKS.md from the results.
//!
//! Benchmark ids, group `sync_source`, for tables of 75 (the draft's
//! §3.3.3 routing-table size), 10,000 and 65,536 entries:
//!
//! * `unchanged/{size}`: every candidate again with the same priority and
//!   performance hints. Neither order nor weight moves, so each entry costs
//!   an address lookup, O(log n), plus the sweep for entries that left.
//! * `reprioritised/{size}`: every candidate with a different priority
//!   (two priority sets, alternating from one sync to the next), so every
//!   entry is taken out of and put back into the priority and performance
//!   orders and its weight updated: the contrast.
//!
//! Throughput is in entries synced. The table is built once per cell
//! (unmeasured) and synced in place: an unchanged sync leaves it as it
//! was, and a reprioritised one flips it between its two priority sets.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use stun_turn_discovery::peer::TableConfig;
use stun_turn_discovery::{
    AddressPolicy, Candidate, CandidateTable, PerformanceHints, Services, Source, TransportAddress,
};

/// Table sizes: the draft's routing table, a large peer, and the old
/// default capacity.
const SIZES: [u32; 3] = [75, 10_000, 65_536];

/// The largest table benchmarked; the default capacity is 512.
const MAX_ENTRIES: u32 = 65_536;

/// The `i`-th candidate (45.0.0.0/8 onwards, ordinary global addresses),
/// with a priority from `shift`'s set: every `i` gets a different priority
/// in set 0 and in set 1.
fn candidate(i: u32, shift: u16) -> Candidate {
    let address = SocketAddr::new(Ipv4Addr::from(0x2d00_0000 + i).into(), 3478);
    let base = (i * 7919 % 1000) as u16;
    Candidate::peer(TransportAddress::udp(address), Services::BOTH)
        .with_priority((base + shift) % 1000)
        .with_hints(PerformanceHints {
            capacity: 1 + (i * 31 % 1000) as u16,
            bandwidth_kbps: 1_000 + i * 13 % 1_000_000,
            load_percent: (i % 101) as u8,
        })
}

/// Priority sets 0 and 1 differ for every candidate.
const SHIFTS: [u16; 2] = [0, 500];

fn candidates(size: u32, shift: u16) -> Vec<Candidate> {
    (0..size).map(|i| candidate(i, shift)).collect()
}

/// A table holding `current`, synced from the routing table.
fn table(now: Instant, current: &[Candidate]) -> CandidateTable {
    let config = TableConfig::default()
        .with_max_entries(MAX_ENTRIES)
        .expect("a non-zero capacity")
        .with_address_policy(AddressPolicy::permissive());
    let mut table = CandidateTable::new(config);
    let report = table.sync_source(now, Source::RoutingTable, current.iter().copied());
    assert_eq!(report.added as usize, current.len());
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    table
}

fn sync_source(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync_source");
    // A reprioritised sync of the largest table takes long enough that
    // criterion's linear sampling would run it hundreds of times.
    group.sampling_mode(SamplingMode::Flat);
    for size in SIZES {
        let now = Instant::now();
        let sets = SHIFTS.map(|shift| candidates(size, shift));
        group.throughput(Throughput::Elements(u64::from(size)));

        let mut t = table(now, &sets[0]);
        let report = t.sync_source(now, Source::RoutingTable, sets[0].iter().copied());
        assert_eq!(
            (report.added, report.updated, report.removed),
            (0, size, 0),
            "an unchanged sync refreshes every entry"
        );
        group.measurement_time(MEASUREMENT);
        group.bench_function(format!("unchanged/{size}"), |b| {
            b.iter(|| {
                let report = t.sync_source(
                    black_box(now),
                    Source::RoutingTable,
                    black_box(&sets[0]).iter().copied(),
                );
                report.updated
            });
        });

        let mut t = table(now, &sets[0]);
        let started = Instant::now();
        let report = t.sync_source(now, Source::RoutingTable, sets[1].iter().copied());
        let once = started.elapsed();
        assert_eq!((report.added, report.updated, report.removed), (0, size, 0));
        let probe = sets[1][0];
        let entry = t.get(&probe.address).expect("in the table");
        assert_eq!(
            Some(entry.priority()),
            probe.priority,
            "set 1 is in the table"
        );
        // Set 1 is in the table: the first timed sync goes back to set 0.
        let mut next = 0;
        // Room for the flat sampling's 10 samples of at least one sync each
        // (about 0.7 s per sync at 65,536 entries).
        group.measurement_time(MEASUREMENT.max(once * 14));
        group.bench_function(format!("reprioritised/{size}"), |b| {
            b.iter(|| {
                let report = t.sync_source(
                    black_box(now),
                    Source::RoutingTable,
                    black_box(&sets[next]).iter().copied(),
                );
                next ^= 1;
                report.updated
            });
        });
    }
    group.finish();
}

/// Measurement time of a cell, unless its syncs are too slow for it.
const MEASUREMENT: Duration = Duration::from_secs(2);

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(MEASUREMENT)
        .sample_size(10)
        .nresamples(20_000)
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = sync_source
}
criterion_main!(benches);
