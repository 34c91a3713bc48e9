//! The RELOAD-compatible codec ([`stun_turn_discovery::wire`]) next to its
//! peer, the same option through serde and postcard.
//!
//! Run with `cargo bench --features serde --bench codec` (it needs the
//! `serde` feature for the postcard peer); then `scripts/bench-report`
//! writes BENCHMARKS.md from the results.
//!
//! Benchmark ids, group `codec`, each for `ipv4` and `ipv6`:
//!
//! * `encode/{family}`: `wire::encode_option` of a recursive option with
//!   10 entries (priority, no hints, no node id: what intermediate peers
//!   write) into a reused buffer;
//! * `decode/{family}`: `wire::decode_option_into` into a reused option
//!   with room for 10;
//! * `roundtrip/{family}`: both;
//! * `append_in_place/{family}`: `IntermediatePeer::on_encoded_request`
//!   appending 5 candidates in place onto an encoded option that holds 5
//!   (the buffer is reset each iteration by `clear` and a copy of the
//!   original bytes, included);
//! * `postcard_encode/{family}`, `postcard_decode/{family}`,
//!   `postcard_roundtrip/{family}`: the same `PiggybackOption` through
//!   `postcard::to_slice` into a reused buffer and `postcard::from_bytes`
//!   (serializing it clones it first: the crate's serde impls go through
//!   `serde(into = ...)`);
//! * `postcard_entries_roundtrip/{family}`: a stricter peer, for reference:
//!   only the entries, from the slice without a clone, into a `Vec`.
//!
//! Throughput is in encoded bytes. And `stun/codec`: one STUN message
//! encoded and parsed back (`benches/common/stun.rs`), measured in the same
//! run so the codec rows can be read against it.

#[path = "common/stun.rs"]
mod stun;

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::wire::{self, Direction, WireConfig};
use stun_turn_discovery::{
    AddressPolicy, Candidate, CandidateSet, Filter, IntermediatePeer, MessageKind, PeerConfig,
    PerHopShare, PiggybackOption, RoutingMode, SelectionPolicy, Services, SetEntry, Source,
    TransportAddress, UniquenessKey, N,
};

/// N of the option, and the entries of a full set: 10.
const WANT: N = N::DEFAULT;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    const ALL: [Self; 2] = [Self::V4, Self::V6];

    fn name(self) -> &'static str {
        match self {
            Self::V4 => "ipv4",
            Self::V6 => "ipv6",
        }
    }

    /// The `i`-th address of a range: 45.0.0.0/8 or 2a00:1450::/32 plus
    /// `base`.
    fn address(self, base: u32, i: u32) -> SocketAddr {
        let i = base + i + 1;
        match self {
            Self::V4 => SocketAddr::new(Ipv4Addr::from(0x2d00_0000 + i).into(), 3478),
            Self::V6 => SocketAddr::new(
                Ipv6Addr::new(0x2a00, 0x1450, 0, 0, 0, 0, (i >> 16) as u16, i as u16).into(),
                3478,
            ),
        }
    }
}

/// `count` entries as intermediate peers write them: an address, both
/// services and a priority; no hints, no node id. Five per hop from hop 1.
fn entries(family: Family, base: u32, count: u32) -> impl Iterator<Item = SetEntry> {
    (0..count).map(move |i| SetEntry {
        candidate: Candidate::peer(
            TransportAddress::udp(family.address(base, i)),
            Services::BOTH,
        )
        .with_priority(300 - (i as u16 % 7) * 10),
        hop: 1 + (i / 5) as u8,
    })
}

/// A recursive request option with N = 10 holding `count` entries; the
/// next hop is the one after the last that added.
fn option(family: Family, count: u32) -> PiggybackOption {
    let set = CandidateSet::from_entries(UniquenessKey::Ip, entries(family, 1_000_000, count))
        .expect("distinct addresses");
    let next_hop = 1 + count.div_ceil(5) as u8;
    PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(WANT),
        Filter::ANY,
        next_hop,
        set,
    )
    .expect("a valid option")
}

/// An intermediate peer with a 75-entry table of `family` (the draft's
/// §3.3.3 routing-table size), per-hop share 100 %, by priority.
fn peer(family: Family, now: Instant) -> IntermediatePeer {
    let config = PeerConfig::default()
        .with_per_hop_share(PerHopShare::WHOLE)
        .with_address_policy(AddressPolicy::permissive())
        .with_selection(SelectionPolicy::ByPriority);
    let mut peer = IntermediatePeer::new(config);
    let candidates = (0..75u32).map(|i| {
        Candidate::peer(TransportAddress::udp(family.address(0, i)), Services::BOTH)
            .with_priority((i * 7919 % 1000) as u16)
    });
    let report = peer
        .table_mut()
        .sync_source(now, Source::RoutingTable, candidates);
    assert_eq!(report.added, 75);
    peer
}

fn codec(c: &mut Criterion) {
    let cfg = WireConfig::default();
    let mut group = c.benchmark_group("codec");
    for family in Family::ALL {
        let fam = family.name();
        let full = option(family, u32::from(WANT.get()));

        // The crate's codec.
        let mut encoded = Vec::new();
        wire::encode_option(&full, Direction::Request, &cfg, &mut encoded).expect("encodes");
        assert_eq!(encoded.len(), wire::option_len(&full));
        let mut target = PiggybackOption::recursive(Some(WANT), Filter::ANY, UniquenessKey::Ip);
        wire::decode_option_into(&mut &encoded[..], &cfg, &mut target).expect("decodes");
        assert_eq!(target, full);
        let mut buf: Vec<u8> = Vec::with_capacity(1024);

        group.throughput(Throughput::Bytes(encoded.len() as u64));
        group.bench_function(format!("encode/{fam}"), |b| {
            b.iter(|| {
                buf.clear();
                wire::encode_option(black_box(&full), Direction::Request, &cfg, &mut buf)
                    .expect("encodes");
                buf.len()
            });
        });
        group.bench_function(format!("decode/{fam}"), |b| {
            b.iter(|| {
                wire::decode_option_into(&mut black_box(&encoded[..]), &cfg, &mut target)
                    .expect("decodes");
                target.set().len()
            });
        });
        group.bench_function(format!("roundtrip/{fam}"), |b| {
            b.iter(|| {
                buf.clear();
                wire::encode_option(black_box(&full), Direction::Request, &cfg, &mut buf)
                    .expect("encodes");
                wire::decode_option_into(&mut &buf[..], &cfg, &mut target).expect("decodes");
                target.set().len()
            });
        });

        // Appending in place (`on_encoded_request`, id `append_in_place`):
        // 5 candidates onto an option that holds 5.
        let now = Instant::now();
        let mut peer = peer(family, now);
        let mut half = Vec::new();
        wire::encode_option(&option(family, 5), Direction::Request, &cfg, &mut half)
            .expect("encodes");
        let mut work = BytesMut::with_capacity(1024);
        let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
        work.extend_from_slice(&half);
        let report = peer
            .on_encoded_request(now, MessageKind::Join, None, &mut work, &cfg, &mut rng)
            .expect("appends");
        assert_eq!(report.added(), 5);
        let appended = wire::decode_option(&mut &work[..], &cfg).expect("decodes");
        assert_eq!(appended.set().len(), usize::from(WANT.get()));
        group.throughput(Throughput::Bytes(work.len() as u64));
        group.bench_function(format!("append_in_place/{fam}"), |b| {
            b.iter(|| {
                work.clear();
                work.extend_from_slice(black_box(&half));
                peer.on_encoded_request(now, MessageKind::Join, None, &mut work, &cfg, &mut rng)
                    .expect("appends")
                    .added()
            });
        });

        // The peer: the same option through serde and postcard.
        let mut pbuf = [0u8; 2048];
        let pencoded = postcard::to_slice(&full, &mut pbuf)
            .expect("postcard encodes")
            .to_vec();
        let pdecoded: PiggybackOption = postcard::from_bytes(&pencoded).expect("postcard decodes");
        assert_eq!(pdecoded, full);
        group.throughput(Throughput::Bytes(pencoded.len() as u64));
        group.bench_function(format!("postcard_encode/{fam}"), |b| {
            b.iter(|| {
                postcard::to_slice(black_box(&full), &mut pbuf)
                    .expect("postcard encodes")
                    .len()
            });
        });
        group.bench_function(format!("postcard_decode/{fam}"), |b| {
            b.iter(|| {
                postcard::from_bytes::<PiggybackOption>(black_box(&pencoded))
                    .expect("postcard decodes")
            });
        });
        group.bench_function(format!("postcard_roundtrip/{fam}"), |b| {
            b.iter(|| {
                let len = postcard::to_slice(black_box(&full), &mut pbuf)
                    .expect("postcard encodes")
                    .len();
                postcard::from_bytes::<PiggybackOption>(&pbuf[..len]).expect("postcard decodes")
            });
        });

        // A stricter peer, for reference: only the entries, serialized from
        // the slice (no clone, which the `PiggybackOption` and
        // `CandidateSet` serde impls make through `serde(into)`) and
        // deserialized into a `Vec`, with no uniqueness check.
        let entries = full.set().entries();
        let raw = postcard::to_slice(entries, &mut pbuf)
            .expect("postcard encodes")
            .to_vec();
        let raw_decoded: Vec<SetEntry> = postcard::from_bytes(&raw).expect("postcard decodes");
        assert_eq!(raw_decoded, entries);
        group.throughput(Throughput::Bytes(raw.len() as u64));
        group.bench_function(format!("postcard_entries_roundtrip/{fam}"), |b| {
            b.iter(|| {
                let len = postcard::to_slice(black_box(entries), &mut pbuf)
                    .expect("postcard encodes")
                    .len();
                postcard::from_bytes::<Vec<SetEntry>>(&pbuf[..len]).expect("postcard decodes")
            });
        });
    }
    group.finish();
}

/// The STUN message the codec rows are read against.
fn stun_message(c: &mut Criterion) {
    stun::bench_stun_message(c, "codec");
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
    targets = codec, stun_message
}
criterion_main!(benches);
