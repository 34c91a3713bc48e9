//! The load-spreading policy hands candidates out in proportion to their
//! weight (§3.3.1: "repeated requests get different candidates in
//! proportion to priority and spare capacity"; the weight is
//! [`TableEntry::weight`], `(priority + 1) × (spare capacity + 1)`).
//!
//! A table of 40 willing candidates with varied priorities and performance
//! hints serves many requests from a fixed-seed generator; the hand-outs
//! are counted and a chi-square goodness-of-fit test compares the counts
//! with the weights at α = 0.001. Negative controls show the test has
//! power: the same counts are rejected against a uniform distribution and
//! against priority alone, and a by-priority peer's counts are rejected
//! against the weights. Only the public API is used, so the test holds
//! whatever structure the selection is drawn from.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::*;

/// Candidates in the table.
const CANDIDATES: u32 = 40;

/// Requests served per run: enough that every candidate's expected count
/// is well above 5, the usual floor for the chi-square approximation
/// (checked in [`chi_square`]).
const REQUESTS: u32 = 100_000;

/// The upper 0.001 quantile of the chi-square distribution with
/// `CANDIDATES − 1 = 39` degrees of freedom (significance α = 0.001): 72.055,
/// as in published tables (e.g. NIST/SEMATECH e-Handbook §1.3.6.7.4) and
/// by numerical inversion of the regularized incomplete gamma function.
const CRITICAL_39_DF_ALPHA_0_001: f64 = 72.055;

/// The `i`-th candidate: a documentation address (192.0.2.0/24, admitted
/// with `with_documentation(true)`), a priority from 100 to 880 and hints
/// giving a spare capacity from 30 to 830, spread so that priority and
/// spare capacity are not in step.
fn candidate(i: u32) -> Candidate {
    let address = TransportAddress::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1 + i as u8)),
        3478,
        Transport::Udp,
    );
    Candidate::peer(address, Services::BOTH)
        .with_priority(100 + (i * 37 % CANDIDATES) as u16 * 20)
        .with_hints(PerformanceHints {
            capacity: 50 + (i * 13 % CANDIDATES) as u16 * 20,
            bandwidth_kbps: 10_000,
            load_percent: (i * 7 % 5) as u8 * 10,
        })
}

/// A peer with `policy` whose table holds the 40 candidates.
fn peer(policy: SelectionPolicy, now: Instant) -> IntermediatePeer {
    let config = PeerConfig::default()
        .with_address_policy(AddressPolicy::default().with_documentation(true))
        .with_selection(policy);
    let mut peer = IntermediatePeer::new(config);
    let report =
        peer.table_mut()
            .sync_source(now, Source::RoutingTable, (0..CANDIDATES).map(candidate));
    assert_eq!(report.added, CANDIDATES);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    peer
}

/// The candidates' addresses and weights, in table-independent order.
fn weights(peer: &IntermediatePeer) -> Vec<(TransportAddress, f64)> {
    (0..CANDIDATES)
        .map(|i| {
            let c = candidate(i);
            let entry = peer.table().get(&c.address).expect("in the table");
            // The weight §3.3.1's proportion refers to.
            let spare = u64::from(c.hints.spare_capacity());
            let priority = u64::from(c.priority.expect("set"));
            assert_eq!(entry.weight(), (priority + 1) * (spare + 1));
            (c.address, entry.weight() as f64)
        })
        .collect()
}

/// Serves `REQUESTS` recursive requests asking for `n` from an empty set
/// and counts, per address, the candidate each set got first. With N = 1
/// that is the one candidate handed out; with a larger N it is the first
/// pick, a single weighted draw over the whole table.
fn first_hand_outs(
    peer: &mut IntermediatePeer,
    n: N,
    now: Instant,
    seed: u64,
) -> HashMap<TransportAddress, u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut counts = HashMap::new();
    for _ in 0..REQUESTS {
        let mut option = PiggybackOption::recursive(Some(n), Filter::ANY, UniquenessKey::Ip);
        let outcome = peer.on_request(now, MessageKind::Get, None, &mut option, &mut rng);
        assert!(outcome.report().added() >= 1);
        let first = option.set().entries()[0].candidate.address;
        *counts.entry(first).or_insert(0) += 1;
    }
    counts
}

/// Pearson's chi-square statistic of `counts` against probabilities
/// proportional to `model` (one weight per address); every expected count
/// must be at least 5.
fn chi_square(counts: &HashMap<TransportAddress, u64>, model: &[(TransportAddress, f64)]) -> f64 {
    let observed: u64 = counts.values().sum();
    assert_eq!(
        observed,
        u64::from(REQUESTS),
        "every hand-out is a table candidate"
    );
    assert!(
        counts.keys().all(|a| model.iter().any(|(m, _)| m == a)),
        "only table candidates are handed out"
    );
    let total: f64 = model.iter().map(|(_, w)| w).sum();
    model
        .iter()
        .map(|(address, w)| {
            let expected = f64::from(REQUESTS) * w / total;
            assert!(expected >= 5.0, "{address}: expected count {expected}");
            let o = counts.get(address).copied().unwrap_or(0) as f64;
            (o - expected).powi(2) / expected
        })
        .sum()
}

/// Degrees of freedom of a goodness-of-fit test over the whole table.
fn degrees_of_freedom() -> u32 {
    let df = CANDIDATES - 1;
    assert_eq!(
        df, 39,
        "CRITICAL_39_DF_ALPHA_0_001 is for 39 degrees of freedom"
    );
    df
}

#[test]
fn one_candidate_per_request_follows_the_weights() {
    let _ = degrees_of_freedom();
    let now = Instant::now();
    let mut peer = peer(SelectionPolicy::LoadSpreading, now);
    let model = weights(&peer);
    let counts = first_hand_outs(&mut peer, N::new(1).expect("1 is a valid N"), now, 11);
    let statistic = chi_square(&counts, &model);
    assert!(
        statistic < CRITICAL_39_DF_ALPHA_0_001,
        "chi-square {statistic:.1} ≥ {CRITICAL_39_DF_ALPHA_0_001} (39 df, α = 0.001): \
         hand-outs are not in proportion to the weights"
    );
    // Repeated requests get different candidates: all of them, here.
    assert_eq!(counts.len(), CANDIDATES as usize);
}

#[test]
fn the_first_pick_of_the_default_configuration_follows_the_weights() {
    let _ = degrees_of_freedom();
    let now = Instant::now();
    // PeerConfig::default(): N = 10 and a per-hop share of 50 %, so each
    // request gets 5 candidates, the first of them one weighted draw.
    let mut peer = peer(PeerConfig::default().selection(), now);
    assert_eq!(peer.config().selection(), SelectionPolicy::LoadSpreading);
    let model = weights(&peer);
    let counts = first_hand_outs(&mut peer, N::DEFAULT, now, 12);
    let statistic = chi_square(&counts, &model);
    assert!(
        statistic < CRITICAL_39_DF_ALPHA_0_001,
        "chi-square {statistic:.1} ≥ {CRITICAL_39_DF_ALPHA_0_001} (39 df, α = 0.001): \
         first picks are not in proportion to the weights"
    );
}

#[test]
fn negative_controls_the_test_rejects_other_distributions() {
    let _ = degrees_of_freedom();
    let now = Instant::now();
    let mut peer = peer(SelectionPolicy::LoadSpreading, now);
    let model = weights(&peer);
    let one = N::new(1).expect("1 is a valid N");
    let counts = first_hand_outs(&mut peer, one, now, 11);

    // The same counts against a uniform distribution.
    let uniform: Vec<_> = model.iter().map(|(a, _)| (*a, 1.0)).collect();
    let statistic = chi_square(&counts, &uniform);
    assert!(
        statistic > CRITICAL_39_DF_ALPHA_0_001,
        "uniform not rejected: chi-square {statistic:.1}"
    );

    // The same counts against priority alone (spare capacity ignored).
    let by_priority_only: Vec<_> = (0..CANDIDATES)
        .map(|i| {
            let c = candidate(i);
            (c.address, f64::from(c.priority.expect("set")) + 1.0)
        })
        .collect();
    let statistic = chi_square(&counts, &by_priority_only);
    assert!(
        statistic > CRITICAL_39_DF_ALPHA_0_001,
        "priority alone not rejected: chi-square {statistic:.1}"
    );

    // A by-priority peer's hand-outs against the weights.
    let mut ranked = self::peer(SelectionPolicy::ByPriority, now);
    let counts = first_hand_outs(&mut ranked, one, now, 11);
    let statistic = chi_square(&counts, &model);
    assert!(
        statistic > CRITICAL_39_DF_ALPHA_0_001,
        "by-priority hand-outs not rejected: chi-square {statistic:.1}"
    );
}
