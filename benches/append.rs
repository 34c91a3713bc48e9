//! Appending in place against decoding and re-encoding: what one
//! intermediate peer spends on a recursive request whose option is still
//! encoded, either the bare option
//! ([`IntermediatePeer::on_encoded_request`]) or the option inside a whole
//! RELOAD message ([`IntermediatePeer::on_reload_request`]), next to what
//! it would spend otherwise on the same option: `wire::decode_option_into`
//! a reused option, [`IntermediatePeer::on_request`], `wire::encode_option`
//! into a reused buffer.
//!
//! Run with `cargo bench --features serde --bench append`; then
//! `scripts/bench-report` writes BENCHMARKS.md from the results.
//!
//! Benchmark ids (the report script parses them), each on the same table,
//! option and seed as its two neighbours, so all three add the same
//! candidates (checked before timing: the three give the same option
//! bytes):
//!
//! * group `append`, `{variant}/{empty|half}/{policy}/{ipv4|mixed}/{table size}`,
//!   with the per-hop grid's configuration (`benches/per_hop.rs`: N = 10, a
//!   per-hop share of 100 %, permissive address policy, the policy), from
//!   an empty option or one that holds 5 candidates not in the table.
//!   `variant` is `on_encoded_request` (the bare option), `on_reload_request`
//!   (the option among two others in a RELOAD JoinReq: forwarding header,
//!   a destination list, message contents and a security block behind it,
//!   which the append moves along) or `decode_encode` (decode into a reused
//!   option, `on_request`, encode into a reused buffer).
//! * group `append_default`, `{variant}/empty/{ipv4|mixed}/{75|10000}`: the
//!   same three with `PeerConfig::default()` (load spreading, a per-hop
//!   share of 50 %: 5 of N = 10 added), only the table capacity raised
//!   where the table needs it, onto an empty option.
//! * `stun/append`: one STUN message encoded and parsed back
//!   (`benches/common/stun.rs`), the reference the default-configuration
//!   rows are read against.
//!
//! Every input (option or message) is restored before each pass, unmeasured,
//! into a buffer with spare capacity, so no timed call allocates. Built
//! with the `ablate-bloom` feature every group name gets a `_no_bloom`
//! suffix.

#[path = "common/fixtures.rs"]
mod fixtures;
#[path = "common/stun.rs"]
mod stun;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BufMut;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::wire::{self, Direction, WireConfig};
use stun_turn_discovery::{IntermediatePeer, MessageKind, PeerConfig, PiggybackOption};

use fixtures::{
    default_config, empty_recursive, grid_config, group_name, half_recursive, make_peer, time_ring,
    Family, Wire, DEFAULT_SIZES, POLICIES, SIZES,
};

/// The option's code points: the defaults (`exp-forward`).
const CFG: WireConfig = WireConfig {
    option_type: 1,
    extension_type: 1,
    ..WireConfig::DEFAULT
};

/// The seed of every timed run (each bench starts its own generator).
const SEED: u64 = 0x5eed;

/// The three ways of processing the option, in the order they are timed.
const VARIANTS: [&str; 3] = ["decode_encode", "on_encoded_request", "on_reload_request"];

/// The recursive option a case starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Empty,
    Half,
}

impl Start {
    const ALL: [Self; 2] = [Self::Empty, Self::Half];

    fn name(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Half => "half",
        }
    }

    fn option(self, family: Family) -> PiggybackOption {
        match self {
            Self::Empty => empty_recursive(),
            Self::Half => half_recursive(family),
        }
    }
}

/// `option` encoded as a request's ForwardingOption.
fn encode(option: &PiggybackOption) -> Vec<u8> {
    let mut bytes = Vec::new();
    wire::encode_option(option, Direction::Request, &CFG, &mut bytes).expect("encodes");
    bytes
}

/// Length of a RELOAD ForwardingHeader up to its lists (RFC 6940 §6.3.2).
const HEADER: usize = 38;

/// A RELOAD JoinReq carrying the encoded `option`: the ForwardingHeader, a
/// destination list of one Node-ID, an unrelated forwarding option before
/// and after ours, message contents and a stand-in security block.
fn reload_message(option: &[u8]) -> Vec<u8> {
    let dest: Vec<u8> = [&[0x01, 0x10][..], &[0xab; 16]].concat();
    let before: &[u8] = &[0x07, 0x00, 0x00, 0x02, 0xee, 0xee];
    let after: &[u8] = &[0x09, 0x00, 0x00, 0x01, 0xdd];
    let options_len = before.len() + option.len() + after.len();
    let contents: &[u8] = &[0x00, 0x0f, 0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0];
    let security: &[u8] = &[0x00, 0x00, 0x55, 0x66];
    let total = HEADER + dest.len() + options_len + contents.len() + security.len();
    let mut m = Vec::with_capacity(total);
    m.put_u32(0xd245_4c4f); // relo_token
    m.put_u32(0x1234_5678); // overlay
    m.put_u16(0); // configuration_sequence
    m.put_u8(0x0a); // version 1.0
    m.put_u8(100); // ttl
    m.put_u32(0xc000_0000); // fragment: unfragmented
    m.put_u32(total as u32); // length
    m.put_u64(0x0102_0304_0506_0708); // transaction_id
    m.put_u32(5000); // max_response_length
    m.put_u16(0); // via_list_length
    m.put_u16(dest.len() as u16); // destination_list_length
    m.put_u16(options_len as u16); // options_length
    m.put_slice(&dest);
    m.put_slice(before);
    m.put_slice(option);
    m.put_slice(after);
    m.put_slice(contents);
    m.put_slice(security);
    assert_eq!(m.len(), total);
    m
}

/// The state of the decode, `on_request`, encode path: an option decoded
/// into and an output buffer, both reused from call to call with room for
/// N entries.
struct Recode {
    option: PiggybackOption,
    out: Vec<u8>,
}

impl Recode {
    fn new() -> Self {
        Self {
            option: empty_recursive(),
            out: Vec::with_capacity(fixtures::SPARE),
        }
    }

    /// Decodes `input`, fills the option and encodes it into `self.out`;
    /// returns how many candidates were added.
    fn run(
        &mut self,
        peer: &mut IntermediatePeer,
        now: Instant,
        input: &[u8],
        rng: &mut ChaCha8Rng,
    ) -> u8 {
        wire::decode_option_into(&mut &input[..], &CFG, &mut self.option).expect("decodes");
        let added = peer
            .on_request(now, MessageKind::Join, None, &mut self.option, rng)
            .report()
            .added();
        self.out.clear();
        wire::encode_option(&self.option, Direction::Request, &CFG, &mut self.out)
            .expect("encodes");
        added
    }
}

/// Runs the three variants once each from `option` with the timed runs'
/// seed and checks they agree: the same candidates added, the same option
/// bytes (the whole message's option included), no reallocation of an
/// input with spare capacity. Returns how many candidates each adds.
fn check(peer: &mut IntermediatePeer, now: Instant, option: &[u8], message: &[u8]) -> u8 {
    let mut recode = Recode::new();
    let added = recode.run(peer, now, option, &mut ChaCha8Rng::seed_from_u64(SEED));

    let mut bare = Wire::new(option);
    let room = bare.0.capacity();
    let report = peer
        .on_encoded_request(
            now,
            MessageKind::Join,
            None,
            &mut bare.0,
            &CFG,
            &mut ChaCha8Rng::seed_from_u64(SEED),
        )
        .expect("appends");
    assert_eq!(report.added(), added);
    assert_eq!(
        &bare.0[..],
        &recode.out[..],
        "the append equals decode, on_request, encode"
    );
    assert_eq!(
        bare.0.capacity(),
        room,
        "the bare option was not reallocated"
    );

    let mut whole = Wire::new(message);
    let room = whole.0.capacity();
    let report = peer
        .on_reload_request(
            now,
            MessageKind::Join,
            None,
            &mut whole.0,
            &CFG,
            &mut ChaCha8Rng::seed_from_u64(SEED),
        )
        .expect("appends")
        .expect("the message carries the option");
    assert_eq!(report.added(), added);
    let range = wire::find_option(&whole.0, &CFG)
        .expect("a well-formed message")
        .expect("the option is there");
    assert_eq!(
        &whole.0[range],
        &recode.out[..],
        "the option in the message likewise"
    );
    assert_eq!(whole.0.capacity(), room, "the message was not reallocated");
    added
}

/// Times the three variants on `peer` from `option` as
/// `{variant}/{case}` in `group`.
fn bench_case(
    group: &mut BenchmarkGroup<'_, WallTime>,
    peer: &mut IntermediatePeer,
    now: Instant,
    option: &PiggybackOption,
    case: &str,
) {
    let bytes = encode(option);
    let message = reload_message(&bytes);
    let added = check(peer, now, &bytes, &message);
    group.throughput(Throughput::Elements(u64::from(added)));
    for variant in VARIANTS {
        let id = format!("{variant}/{case}");
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        match variant {
            "decode_encode" => {
                let pristine = Wire::new(&bytes);
                let mut recode = Recode::new();
                group.bench_function(id, |b| {
                    time_ring(b, &pristine, |input| {
                        recode.run(peer, black_box(now), &input.0, &mut rng)
                    });
                });
            }
            "on_encoded_request" => {
                let pristine = Wire::new(&bytes);
                group.bench_function(id, |b| {
                    time_ring(b, &pristine, |input| {
                        peer.on_encoded_request(
                            black_box(now),
                            MessageKind::Join,
                            None,
                            &mut input.0,
                            &CFG,
                            &mut rng,
                        )
                        .expect("appends")
                        .added()
                    });
                });
            }
            "on_reload_request" => {
                let pristine = Wire::new(&message);
                group.bench_function(id, |b| {
                    time_ring(b, &pristine, |input| {
                        peer.on_reload_request(
                            black_box(now),
                            MessageKind::Join,
                            None,
                            &mut input.0,
                            &CFG,
                            &mut rng,
                        )
                        .expect("appends")
                        .map(|report| report.added())
                    });
                });
            }
            _ => unreachable!("a variant of VARIANTS"),
        }
    }
}

/// The grid: every policy, table size, starting option and family, with
/// the per-hop grid's configuration. Many cells: each is timed briefly.
fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group(group_name("append"));
    group
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(500))
        .sample_size(20);
    for size in SIZES {
        for family in Family::ALL {
            let now = Instant::now();
            for (policy, policy_name) in POLICIES {
                let mut peer = make_peer(grid_config(policy), size, family, now);
                for start in Start::ALL {
                    let case = format!("{}/{policy_name}/{}/{size}", start.name(), family.name());
                    bench_case(&mut group, &mut peer, now, &start.option(family), &case);
                }
            }
        }
    }
    group.finish();
}

/// The default configuration onto an empty option, after the STUN
/// message it is read against.
fn append_default(c: &mut Criterion) {
    stun::bench_stun_message(c, &group_name("append"));
    let mut group = c.benchmark_group(group_name("append_default"));
    for size in DEFAULT_SIZES {
        for family in Family::ALL {
            let now = Instant::now();
            let config: PeerConfig = default_config(size);
            let mut peer = make_peer(config, size, family, now);
            let case = format!("empty/{}/{size}", family.name());
            bench_case(&mut group, &mut peer, now, &empty_recursive(), &case);
        }
    }
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
    targets = append_default, append
}
criterion_main!(benches);
