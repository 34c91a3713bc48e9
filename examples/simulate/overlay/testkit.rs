//! Checks every overlay must pass, and the release-mode measurement, shared
//! by the overlays' tests.

use std::collections::HashSet;
use std::time::Instant;

use super::ring::SplitMix64;
use super::{Overlay, PeerId, StateKind};

/// Routing state of `peer`: never the peer itself, never a duplicate.
pub(crate) fn check_state(overlay: &impl Overlay, peer: PeerId, state: &[(PeerId, StateKind)]) {
    let mut seen = HashSet::new();
    for &(p, _) in state {
        assert_ne!(p, peer, "{}: {peer} lists itself", overlay.name());
        assert!((p as usize) < overlay.len());
        assert!(seen.insert(p), "{}: {peer} lists {p} twice", overlay.name());
    }
}

/// A route from `from` for `key`: ends at the key's root (empty exactly when
/// `from` is the root), visits no peer twice (nor `from`), each hop is in the
/// routing state of the peer before it, and it is at most `max_hops` long.
pub(crate) fn check_route(
    overlay: &impl Overlay,
    from: PeerId,
    key: u64,
    path: &[PeerId],
    max_hops: usize,
) {
    let name = overlay.name();
    let root = overlay.root(key);
    assert_eq!(path.is_empty(), from == root, "{name}: {from} -> {key:#x}");
    if let Some(&last) = path.last() {
        assert_eq!(last, root, "{name}: route from {from} for {key:#x}");
    }
    assert!(path.len() <= max_hops, "{name}: {} hops", path.len());
    let mut seen = HashSet::from([from]);
    let mut state = Vec::new();
    let mut at = from;
    for &next in path {
        assert!(seen.insert(next), "{name}: route revisits {next}");
        overlay.routing_state(at, &mut state);
        assert!(
            state.iter().any(|&(p, _)| p == next),
            "{name}: hop {at} -> {next} is not in {at}'s routing state"
        );
        at = next;
    }
}

/// The exhaustive checks on a small overlay: every peer's state, and routes
/// from every peer to keys at, next to, opposite and halfway between ids.
pub(crate) fn check_small(overlay: &impl Overlay, max_hops: usize) {
    let n = overlay.len() as PeerId;
    let mut ids: Vec<u64> = (0..n).map(|p| overlay.id(p)).collect();
    ids.sort_unstable();
    let mut keys: Vec<u64> = ids
        .iter()
        .flat_map(|&id| [id, id.wrapping_add(1), id.wrapping_sub(1), id ^ 1 << 63])
        .collect();
    keys.extend(ids.windows(2).map(|w| w[0] + (w[1] - w[0]) / 2));
    keys.extend([0, u64::MAX, 1 << 63]);
    let mut rng = SplitMix64(7);
    keys.extend((0..64).map(|_| rng.next_u64()));
    let mut state = Vec::new();
    let mut path = Vec::new();
    for from in 0..n {
        overlay.routing_state(from, &mut state);
        check_state(overlay, from, &state);
        for &key in &keys {
            overlay.route(from, key, &mut path);
            check_route(overlay, from, key, &path, max_hops);
        }
    }
}

/// Mean routing-state size (table entries, neighbour-only entries) over
/// `samples` peers spread over the overlay, checking each state.
pub(crate) fn mean_state(overlay: &impl Overlay, samples: usize) -> (f64, f64) {
    let n = overlay.len();
    let mut state = Vec::new();
    let (mut routing, mut neighbor) = (0usize, 0usize);
    for s in 0..samples {
        let peer = (s * n / samples) as PeerId;
        overlay.routing_state(peer, &mut state);
        check_state(overlay, peer, &state);
        routing += state.iter().filter(|e| e.1 == StateKind::Routing).count();
        neighbor += state.iter().filter(|e| e.1 == StateKind::Neighbor).count();
    }
    (
        routing as f64 / samples as f64,
        neighbor as f64 / samples as f64,
    )
}

/// Mean hops of `routes` routes from seeded random peers to seeded random
/// keys, each checked, and the histogram of hop counts.
pub(crate) fn mean_hops(
    overlay: &impl Overlay,
    routes: usize,
    max_hops: usize,
) -> (f64, Vec<usize>) {
    let mut rng = SplitMix64(0x5eed);
    let mut path = Vec::new();
    let mut histogram = vec![0usize; max_hops + 1];
    for _ in 0..routes {
        let from = (rng.next_u64() % overlay.len() as u64) as PeerId;
        let key = rng.next_u64();
        overlay.route(from, key, &mut path);
        check_route(overlay, from, key, &path, max_hops);
        histogram[path.len()] += 1;
    }
    let total: usize = histogram.iter().enumerate().map(|(h, c)| h * c).sum();
    (total as f64 / routes as f64, histogram)
}

/// Every peer's id, a sample of states and routes: what determinism compares.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    pub(crate) ids: Vec<u64>,
    pub(crate) states: Vec<Vec<(PeerId, StateKind)>>,
    pub(crate) routes: Vec<Vec<PeerId>>,
}

/// The [`Fingerprint`] of `overlay`.
pub(crate) fn fingerprint(overlay: &impl Overlay) -> Fingerprint {
    let n = overlay.len() as PeerId;
    let mut rng = SplitMix64(99);
    let mut sample = || (rng.next_u64() % u64::from(n)) as PeerId;
    let states = (0..50)
        .map(|_| {
            let mut state = Vec::new();
            overlay.routing_state(sample(), &mut state);
            state
        })
        .collect();
    let routes = (0..200)
        .map(|_| {
            let mut path = Vec::new();
            let from = sample();
            overlay.route(
                from,
                u64::from(sample()).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                &mut path,
            );
            path
        })
        .collect();
    Fingerprint {
        ids: (0..n).map(|p| overlay.id(p)).collect(),
        states,
        routes,
    }
}

/// Expected number of peers among `others` uniform ids that land in a given
/// block holding `share` of the id space being at least one.
pub(crate) fn p_nonempty(others: usize, share: f64) -> f64 {
    1.0 - (1.0 - share).powf(others as f64)
}

/// The release-mode measurement (not a test of behaviour): build time, mean
/// route and routing-state times, mean state size and hops, peak memory.
pub(crate) fn measure<O: Overlay>(build: impl FnOnce() -> O) {
    let start = Instant::now();
    let overlay = build();
    let built = start.elapsed();
    let n = overlay.len();
    let mut rng = SplitMix64(0xbe7c);
    let queries: Vec<(PeerId, u64)> = (0..1_000_000)
        .map(|_| ((rng.next_u64() % n as u64) as PeerId, rng.next_u64()))
        .collect();
    let mut path = Vec::new();
    let mut histogram = [0usize; 64];
    let start = Instant::now();
    for &(from, key) in &queries {
        overlay.route(from, key, &mut path);
        histogram[path.len().min(63)] += 1;
    }
    let routed = start.elapsed();
    let hops: usize = histogram.iter().enumerate().map(|(h, c)| h * c).sum();
    let longest = histogram.iter().rposition(|&c| c > 0).unwrap_or(0);
    let mut state = Vec::new();
    let (mut routing, mut neighbor) = (0usize, 0usize);
    let samples = 100_000;
    let start = Instant::now();
    for &(from, _) in &queries[..samples] {
        overlay.routing_state(from, &mut state);
        routing += state.iter().filter(|e| e.1 == StateKind::Routing).count();
        neighbor += state.len();
    }
    let stated = start.elapsed();
    neighbor -= routing;
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    println!(
        "{} at {n}: build {:.0} ms; route {:.2} us mean ({} routes), {:.3} hops mean; \
         routing_state {:.2} us mean, {:.1} routing + {:.1} neighbour-only entries; {peak}\n\
         routes by hop count: {:?}",
        overlay.name(),
        built.as_secs_f64() * 1e3,
        routed.as_secs_f64() * 1e6 / queries.len() as f64,
        queries.len(),
        hops as f64 / queries.len() as f64,
        stated.as_secs_f64() * 1e6 / samples as f64,
        routing as f64 / samples as f64,
        neighbor as f64 / samples as f64,
        &histogram[..=longest],
    );
}
