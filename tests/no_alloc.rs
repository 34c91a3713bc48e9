//! Recursive-mode `IntermediatePeer::on_request` filling a set that has
//! room for N makes no heap allocation, whatever the selection policy and
//! the table's size (8, 75 — the draft's §3.3.3 routing-table size — and
//! 10,000 entries), for IPv4 and mixed IPv4/IPv6 tables.
//!
//! Two layers:
//!
//! * Always: the set's buffer is neither moved nor grown (its pointer and
//!   capacity are the same after every hop), and the fill is as expected.
//! * With the counting allocator: zero calls to `alloc`, `alloc_zeroed`,
//!   `realloc` or `dealloc` on the test's thread while `on_request` runs.
//!
//! The counting allocator needs `unsafe impl GlobalAlloc`, so this test
//! file allows unsafe code (Cargo.toml denies it, lib.rs forbids it in the
//! library).
//!
//! No tracing subscriber is installed in this test binary: with one, each
//! event would be formatted, which is the subscriber's cost, not the
//! crate's.
#![allow(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::peer::{HopReport, Stop, TableConfig};
use stun_turn_discovery::{
    AddressPolicy, Candidate, Filter, IntermediatePeer, IpFamily, MessageKind, NodeConfig, Outcome,
    PeerConfig, PerHopShare, PerformanceHints, PiggybackOption, SelectionPolicy, SendingNode,
    Services, Source, Transport, TransportAddress, UniquenessKey, N,
};

mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        // Const-initialised and without `Drop`: reading them allocates
        // nothing, so the allocator may use them.
        static ACTIVE: Cell<bool> = const { Cell::new(false) };
        static ALLOCS: Cell<u64> = const { Cell::new(0) };
        static FREES: Cell<u64> = const { Cell::new(0) };
    }

    fn note(counter: &'static std::thread::LocalKey<Cell<u64>>) {
        let active = ACTIVE.try_with(Cell::get).unwrap_or(false);
        if active {
            let _ = counter.try_with(|c| c.set(c.get() + 1));
        }
    }

    /// `System`, counting the calls made on threads that switched counting
    /// on; other test threads are not counted.
    struct Counting;

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note(&ALLOCS);
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note(&ALLOCS);
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note(&ALLOCS);
            unsafe { System.realloc(ptr, layout, new_size) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            note(&FREES);
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// Runs `f`, returning its result and the (allocations, deallocations)
    /// this thread made meanwhile.
    pub(super) fn during<T>(f: impl FnOnce() -> T) -> (T, u64, u64) {
        ALLOCS.with(|c| c.set(0));
        FREES.with(|c| c.set(0));
        ACTIVE.with(|a| a.set(true));
        let out = f();
        ACTIVE.with(|a| a.set(false));
        (out, ALLOCS.with(Cell::get), FREES.with(Cell::get))
    }
}

/// Runs `f` and asserts it allocated nothing.
fn assert_no_alloc<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let (out, allocs, frees) = counting::during(f);
    assert_eq!((allocs, frees), (0, 0), "{label}: (allocations, frees)");
    out
}

const POLICIES: [SelectionPolicy; 4] = [
    SelectionPolicy::ByPriority,
    SelectionPolicy::ByPerformance,
    SelectionPolicy::Random,
    SelectionPolicy::LoadSpreading,
];

const SIZES: [u32; 3] = [8, 75, 10_000];

/// `n` as an [`N`].
fn n(n: u8) -> N {
    N::new(n).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mix {
    V4,
    Mixed,
}

fn address(i: u32, mix: Mix) -> TransportAddress {
    let ip: IpAddr = match mix {
        Mix::Mixed if i % 2 == 1 => {
            Ipv6Addr::new(0x2a00, 0x1450, 0, 0, 0, 0, (i >> 16) as u16, i as u16).into()
        }
        // 45.0.0.0/8 and onwards: ordinary global addresses.
        _ => Ipv4Addr::from(0x2d00_0000 + i).into(),
    };
    TransportAddress::new(ip, 3478, Transport::Udp)
}

/// A peer whose table holds `size` willing candidates with varied
/// priorities, services and hints, so every policy has work to do.
fn make_peer(
    policy: SelectionPolicy,
    share: u8,
    size: u32,
    mix: Mix,
    now: Instant,
) -> IntermediatePeer {
    // The default table holds 512 entries; the largest table here needs more.
    let table = TableConfig::default()
        .with_max_entries(size.max(TableConfig::default().max_entries()))
        .unwrap()
        .with_address_policy(AddressPolicy::default());
    let config = PeerConfig::default()
        .with_selection(policy)
        .with_per_hop_share(PerHopShare::new(share).unwrap())
        .with_table(table);
    let mut peer = IntermediatePeer::new(config);
    let candidates = (0..size).map(|i| {
        let services = match i % 3 {
            0 => Services::BOTH,
            1 => Services::STUN,
            _ => Services::TURN,
        };
        Candidate::peer(address(i, mix), services)
            .with_priority((i * 7919 % 1000) as u16)
            .with_hints(PerformanceHints {
                capacity: (i * 31 % 500) as u16,
                bandwidth_kbps: i * 13 % 10_000,
                load_percent: (i % 101) as u8,
            })
    });
    let report = peer
        .table_mut()
        .sync_source(now, Source::RoutingTable, candidates);
    assert_eq!(report.added, size);
    peer
}

/// One recursive hop, counted; checks the set kept its buffer.
fn hop(
    label: &str,
    peer: &mut IntermediatePeer,
    option: &mut PiggybackOption,
    now: Instant,
    rng: &mut ChaCha8Rng,
) -> HopReport {
    let ptr = option.set().entries().as_ptr();
    let capacity = option.set().capacity();
    let outcome = assert_no_alloc(label, || {
        peer.on_request(now, MessageKind::Join, None, option, rng)
    });
    let Outcome::Filled(report) = outcome else {
        panic!("{label}: a recursive option is filled in place");
    };
    assert_eq!(option.set().capacity(), capacity, "{label}: set grew");
    assert_eq!(option.set().entries().as_ptr(), ptr, "{label}: set moved");
    report
}

/// Every policy × size × family: a few hops until the set is full, then one
/// more on the full set; both with an option of N = 10 and with the
/// sending node's own option.
fn run_matrix() {
    let now = Instant::now();
    let node = SendingNode::new(NodeConfig::default());
    for mix in [Mix::V4, Mix::Mixed] {
        for size in SIZES {
            for policy in POLICIES {
                // Default share (50 %: 5 of 10 per hop) and the draft's
                // literal one (one hop may fill the set).
                for share in [50, 100] {
                    let mut peer = make_peer(policy, share, size, mix, now);
                    let mut rng = ChaCha8Rng::seed_from_u64(u64::from(size));
                    for (which, mut option) in [
                        (
                            "recursive(Some(10))",
                            PiggybackOption::recursive(Some(n(10)), Filter::ANY, UniquenessKey::Ip),
                        ),
                        ("SendingNode::recursive_option", node.recursive_option()),
                    ] {
                        assert!(option.set().capacity() >= 10);
                        let label = format!("{policy:?} share {share}% {size} {mix:?} {which}");
                        let mut k = 0u8;
                        for i in 1..=3 {
                            let r = hop(
                                &format!("{label} hop {i}"),
                                &mut peer,
                                &mut option,
                                now,
                                &mut rng,
                            );
                            assert_eq!(r.k_before, k);
                            k = r.k_after;
                        }
                        // 8 candidates in all, or 10 when the table has more.
                        let expect = if size >= 10 { 10 } else { 8 };
                        assert_eq!(usize::from(k), option.set().len());
                        assert_eq!(k, expect, "{label}");
                        if size == 8 {
                            continue;
                        }
                        let r = hop(
                            &format!("{label} full"),
                            &mut peer,
                            &mut option,
                            now,
                            &mut rng,
                        );
                        assert_eq!(r.stop, Stop::AlreadyFull);
                    }
                }
            }
        }
    }
}

/// Filters that turn down most or all of the table force a walk over every
/// entry (§4.2 step 7, "all server candidates ... examined"): still no
/// allocation.
fn run_exhausting_walks() {
    let now = Instant::now();
    for policy in POLICIES {
        let mut peer = make_peer(policy, 100, 10_000, Mix::Mixed, now);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (filter, key) in [
            // Every 6th entry: IPv6 offering both services.
            (
                Filter::services(Services::BOTH).with_family(IpFamily::V6),
                UniquenessKey::Ip,
            ),
            // One per /24 among the IPv4 half.
            (Filter::ANY.with_family(IpFamily::V4), UniquenessKey::Prefix),
        ] {
            let mut option = PiggybackOption::recursive(Some(N::MAX), filter, key);
            let label = format!("{policy:?} {filter:?} {key:?}");
            let r = hop(&label, &mut peer, &mut option, now, &mut rng);
            assert!(r.k_after >= 1, "{label}");
            if key == UniquenessKey::Prefix {
                // About 40 /24s among 5,000 addresses: fewer than N, so
                // every entry was proposed.
                assert_eq!(r.stop, Stop::TableExhausted, "{label}");
            }
        }
        // Nothing passes: the whole table is proposed and refused.
        let mut v4_only = make_peer(policy, 100, 10_000, Mix::V4, now);
        let mut option = PiggybackOption::recursive(
            Some(n(10)),
            Filter::ANY.with_family(IpFamily::V6),
            UniquenessKey::Ip,
        );
        let r = hop(
            &format!("{policy:?} no IPv6"),
            &mut v4_only,
            &mut option,
            now,
            &mut rng,
        );
        assert_eq!((r.k_after, r.stop), (0, Stop::TableExhausted));
    }
}

#[test]
fn no_reallocation_of_the_set_while_filling() {
    assert!(!tracing::dispatcher::has_been_set());
    run_matrix();
    run_exhausting_walks();
}

#[test]
fn zero_heap_allocations_in_recursive_on_request() {
    assert!(!tracing::dispatcher::has_been_set());
    // The counter counts: a Vec allocates.
    let (v, allocs, _) = counting::during(|| Vec::<u8>::with_capacity(16));
    assert_eq!(allocs, 1);
    drop(v);
    run_matrix();
    run_exhausting_walks();
}

/// Decoding into a caller's option or set with room allocates nothing
/// (WIRE.md), and neither does `IntermediatePeer::on_encoded_request`
/// appending in place to a buffer with room.
#[test]
fn zero_heap_allocations_in_decode_into_and_on_encoded_request() {
    use bytes::BytesMut;
    use stun_turn_discovery::wire::{self, AnswerInfo, Direction, WireConfig};
    use stun_turn_discovery::CandidateSet;

    let cfg = WireConfig::default();
    let now = Instant::now();
    for mix in [Mix::V4, Mix::Mixed] {
        let mut peer = make_peer(SelectionPolicy::ByPriority, 100, 75, mix, now);
        let mut filled = PiggybackOption::recursive(Some(n(10)), Filter::ANY, UniquenessKey::Ip);
        let _ = peer.on_request(
            now,
            MessageKind::Join,
            None,
            &mut filled,
            &mut ChaCha8Rng::seed_from_u64(9),
        );
        assert_eq!(filled.set().len(), 10);
        let mut bytes = Vec::new();
        wire::encode_option(&filled, Direction::Request, &cfg, &mut bytes).unwrap();
        let mut answer_bytes = Vec::new();
        wire::encode_answer(
            filled.set(),
            AnswerInfo { hop: 1, n: n(10) },
            &cfg,
            &mut answer_bytes,
        )
        .unwrap();

        let mut into = PiggybackOption::recursive(Some(n(10)), Filter::ANY, UniquenessKey::Ip);
        assert_no_alloc("decode_option_into", || {
            wire::decode_option_into(&mut &bytes[..], &cfg, &mut into).unwrap()
        });
        assert_eq!(into, filled);
        let mut set = CandidateSet::with_capacity(UniquenessKey::Ip, n(10));
        assert_no_alloc("decode_answer_into", || {
            wire::decode_answer_into(&mut &answer_bytes[..], &cfg, &mut set).unwrap()
        });
        assert_eq!(&set, filled.set());

        let empty = PiggybackOption::recursive(Some(n(10)), Filter::ANY, UniquenessKey::Ip);
        let mut buf = BytesMut::with_capacity(1024);
        wire::encode_option(&empty, Direction::Request, &cfg, &mut buf).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let report = assert_no_alloc("on_encoded_request", || {
            peer.on_encoded_request(now, MessageKind::Join, None, &mut buf, &cfg, &mut rng)
                .unwrap()
        });
        assert_eq!(report.k_after, 10);

        // The same inside a whole RELOAD message with spare capacity: a
        // 38-byte forwarding header, the option, then 8 bytes of contents
        // that the append moves along.
        let mut option = BytesMut::with_capacity(64);
        wire::encode_option(&empty, Direction::Request, &cfg, &mut option).unwrap();
        let total = 38 + option.len() + 8;
        let mut message = BytesMut::with_capacity(2048);
        message.extend_from_slice(&0xd245_4c4f_u32.to_be_bytes());
        message.extend_from_slice(&[0; 12]);
        message.extend_from_slice(&(total as u32).to_be_bytes());
        message.extend_from_slice(&[0; 16]);
        message.extend_from_slice(&(option.len() as u16).to_be_bytes());
        message.extend_from_slice(&option);
        message.extend_from_slice(&[0xee; 8]);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let report = assert_no_alloc("on_reload_request", || {
            peer.on_reload_request(now, MessageKind::Join, None, &mut message, &cfg, &mut rng)
                .unwrap()
                .unwrap()
        });
        assert_eq!(report.k_after, 10);
        assert_eq!(&message[message.len() - 8..], &[0xee; 8]);
    }
}
