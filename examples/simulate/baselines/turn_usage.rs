//! RELOAD's TURN Server Usage (RFC 6940 §9), the "general service
//! discovery" the draft argues against.
//!
//! Registration: each willing peer stores its server address at the
//! Resource-IDs H(Node-ID ‖ d) for d = 1..turn-density, one routed Store
//! each (`setup_messages` = providers × turn-density). RFC 6940 §11.1 has
//! turn-density about 1 / (the share of peers that can serve), so that the
//! overlay holds about one such Resource-ID per peer; `--turn-density`
//! overrides it.
//!
//! Discovery: the node picks a uniformly random Resource-ID R and sends a
//! Find for it (routed to R's root). The root answers with the TURN
//! Resource-ID it stores that is closest to R (ring distance), or with none
//! when it stores none. On an answer the node sends a Fetch for that
//! Resource-ID (routed to the same root), which returns the one provider
//! stored there; on none it tries another random R, at most [`FIND_CAP`]
//! Finds in all (a discovery that reaches the cap fails: `empty_share`).
//! One discovery yields one provider, so a node that wants N repeats it.
//!
//! The Resource-IDs' roots are computed once per scenario (one
//! `Overlay::root` per stored Resource-ID, about one per peer).

use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::rand::Rng;

use super::{resource_id, Directory, Found, Requests};
use crate::overlay::{Overlay, PeerId};

/// Most Finds of one discovery before it gives up.
pub(crate) const FIND_CAP: u32 = 10;

/// Most Resource-IDs a scenario stores (16 bytes each).
const MAX_STORED: u64 = 100_000_000;

/// The TURN Usage's Kind, mixed into its Resource-IDs ("TURN").
const KIND: u64 = 0x5455_524e;

/// The TURN Server Usage's stored data.
pub(crate) struct TurnUsage {
    /// (root, Resource-ID, provider), sorted: each root's Resource-IDs are
    /// one run.
    stored: Vec<(PeerId, u64, PeerId)>,
}

impl TurnUsage {
    /// Every one of `providers` stored at its `density` Resource-IDs.
    pub(crate) fn new(
        overlay: &dyn Overlay,
        providers: &[PeerId],
        density: u32,
    ) -> Result<Self, String> {
        let total = providers.len() as u64 * u64::from(density);
        if total > MAX_STORED {
            return Err(format!(
                "turn-density {density} × {} providers = {total} Resource-IDs: more than {MAX_STORED} to hold",
                providers.len()
            ));
        }
        let mut stored = Vec::with_capacity(total as usize);
        for &p in providers {
            let node_id = overlay.id(p);
            for d in 1..=u64::from(density) {
                let key = turn_resource_id(node_id, d);
                stored.push((overlay.root(key), key, p));
            }
        }
        stored.sort_unstable();
        Ok(Self { stored })
    }

    /// The TURN Resource-IDs `root` stores, with their providers.
    fn held_by(&self, root: PeerId) -> &[(PeerId, u64, PeerId)] {
        let lo = self.stored.partition_point(|e| e.0 < root);
        let hi = lo + self.stored[lo..].partition_point(|e| e.0 <= root);
        &self.stored[lo..hi]
    }
}

/// H(Node-ID ‖ d).
fn turn_resource_id(node_id: u64, d: u64) -> u64 {
    resource_id(&[KIND, node_id, d])
}

/// Distance between `a` and `b` on the 2^64 ring, the shorter way round.
fn ring_distance(a: u64, b: u64) -> u64 {
    a.wrapping_sub(b).min(b.wrapping_sub(a))
}

impl Directory for TurnUsage {
    fn discover(
        &self,
        sender: PeerId,
        _attempt: u32,
        net: &mut Requests<'_>,
        found: &mut Found,
        rng: &mut ChaCha8Rng,
    ) -> u32 {
        for tries in 1..=FIND_CAP {
            let target = rng.next_u64();
            // Find.
            let root = net.send(sender, target);
            let Some(&(_, key, provider)) = self
                .held_by(root)
                .iter()
                .min_by_key(|e| ring_distance(e.1, target))
            else {
                continue;
            };
            // Fetch.
            let at = net.send(sender, key);
            debug_assert_eq!(at, root);
            found.add(provider);
            return tries;
        }
        FIND_CAP
    }

    fn setup_messages(&self) -> u64 {
        self.stored.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{run_one, scenario};
    use super::*;
    use crate::network::Roles;
    use crate::scenario::{Mechanism, Scenario};
    use crate::test_ring::Ring;

    /// Expected Finds of a discovery on a ring whose root of a key is its
    /// successor, with λ stored Resource-IDs per peer: a random R falls in
    /// a root's arc with probability proportional to the arc, so the arc it
    /// falls in is size-biased, Gamma(2, 1/n) for uniform ids; that arc
    /// holds no Resource-ID with probability E[e^(-λ n a)] = (1 + λ)^-2.
    /// Finds are geometric with success 1 - (1 + λ)^-2 (the cap of 10 moves
    /// the mean by less than 10^-5 at λ near 1): 4/3 at λ = 1.
    fn expected_finds(lambda: f64) -> f64 {
        1.0 / (1.0 - (1.0 + lambda).powi(-2))
    }

    /// At f and the default density 1/f, discoveries take about the
    /// expected number of Finds (within 6 %: one overlay's arcs and
    /// Resource-IDs are one draw, whose own P(empty) strays by about 2 %
    /// of the expectation, plus the sampling of 1500 discoveries), each
    /// success one Fetch more, and the node repeats them until it holds N.
    #[test]
    fn finds_take_the_expected_tries_at_density_one_over_f() {
        let nodes = 4000;
        let ring = Ring::new(nodes, 41);
        for f in [0.1, 0.02] {
            let sc = scenario(Mechanism::TurnDensity, nodes, 1500, f);
            let density = sc.turn_density();
            assert_eq!(density, (1.0 / f).round() as u32);
            let m = run_one(&ring, &sc);
            let roles = Roles::new(11, f, 0.0, 0.0);
            let willing = (0..nodes as PeerId)
                .filter(|&p| roles.is_willing(p))
                .count();
            let lambda = (willing * density as usize) as f64 / nodes as f64;
            let expected = expected_finds(lambda);
            eprintln!(
                "f = {f}: density {density}, λ = {lambda:.3}, Finds {:.3} (expected {expected:.3}), {m:?}",
                m.tries_mean
            );
            assert_eq!(m.setup_messages, (willing * density as usize) as u64);
            assert!(
                (m.tries_mean / expected - 1.0).abs() < 0.06,
                "f = {f}: {} Finds, expected {expected}",
                m.tries_mean
            );
            // Nearly every discovery succeeds, with one provider.
            assert!(m.empty_share < 0.001, "{m:?}");
            assert!((m.candidates_mean - (1.0 - m.empty_share)).abs() < 1e-9);
            // Requests: the Finds, and one Fetch per success (requests whose
            // sender is the root stay local, so slightly fewer).
            let requests = m.tries_mean + 1.0 - m.empty_share;
            assert!(m.extra_messages_mean <= requests + 1e-9, "{m:?}");
            assert!(m.extra_messages_mean > 0.99 * requests, "{m:?}");
            // N = 10 takes about 10 discoveries.
            assert!(m.messages_to_fill_mean > 9.0 * requests, "{m:?}");
            assert!(m.fill_capped_share < 0.01, "{m:?}");
        }
    }

    /// With the RFC's default density 1 at f = 2 %, a random root rarely
    /// stores anything (λ = f): most discoveries run out of Finds, about
    /// the share (1 - p)^10 with p = 1 - (1 + f)^-2.
    #[test]
    fn density_one_at_low_f_mostly_fails() {
        let nodes = 3000;
        let ring = Ring::new(nodes, 42);
        let f = 0.02;
        // First discoveries only.
        let sc = Scenario {
            turn_density: Some(1),
            fill_cap: 1,
            ..scenario(Mechanism::TurnDensity, nodes, 300, f)
        };
        let m = run_one(&ring, &sc);
        let roles = Roles::new(11, f, 0.0, 0.0);
        let willing = (0..nodes as PeerId)
            .filter(|&p| roles.is_willing(p))
            .count();
        let p = 1.0 / expected_finds(willing as f64 / nodes as f64);
        let failing = (1.0 - p).powi(FIND_CAP as i32);
        eprintln!("{failing:.3}: {m:?}");
        assert!((m.empty_share - failing).abs() < 0.08, "{failing}: {m:?}");
        assert!(m.tries_mean > 8.0, "{m:?}");
    }

    #[test]
    fn each_root_holds_its_own_resource_ids() {
        let ring = Ring::new(500, 43);
        let providers: Vec<PeerId> = (0..50).collect();
        let usage = TurnUsage::new(&ring, &providers, 3).unwrap();
        assert_eq!(usage.setup_messages(), 150);
        let mut seen = 0;
        for root in 0..500 {
            for &(r, key, p) in usage.held_by(root) {
                assert_eq!(r, root);
                assert_eq!(ring.root(key), root);
                assert!(providers.contains(&p));
                seen += 1;
            }
        }
        assert_eq!(seen, 150);
    }
}
