//! The draft's §1 comparison: "the general service discovery mechanism in
//! DHT ... puts contact information of the service provider into the
//! overlay under the key K computed by applying hash function to the
//! encoded service. When a node wants to get one or more service
//! providers, it will send a GET message keyed by K".
//!
//! Every willing peer stores itself at the root of K = H("turn-server")
//! (one routed Store each: `setup_messages` is the number of providers).
//! Every discovery is one GET routed to that root, which answers with N of
//! the providers it holds, a uniformly random N (Floyd's sampling), or all
//! of them when it holds fewer. One peer answers every discovery of the
//! overlay: the hot spot and DoS target the draft names.

use rand_chacha::ChaCha8Rng;

use super::{resource_id, Directory, Found, Requests, NAMESPACE};
use crate::overlay::{Overlay, PeerId};
use crate::scenario::below;

/// Every provider under one key.
pub(crate) struct SingleKey {
    /// The key K.
    key: u64,
    /// The providers its root holds.
    providers: Vec<PeerId>,
    /// The root of K.
    root: PeerId,
}

impl SingleKey {
    /// Every one of `providers` stored at the root of K.
    pub(crate) fn new(overlay: &dyn Overlay, providers: Vec<PeerId>) -> Self {
        let key = resource_id(&[NAMESPACE]);
        Self {
            key,
            providers,
            root: overlay.root(key),
        }
    }
}

impl Directory for SingleKey {
    fn discover(
        &self,
        sender: PeerId,
        _attempt: u32,
        net: &mut Requests<'_>,
        found: &mut Found,
        rng: &mut ChaCha8Rng,
    ) -> u32 {
        let root = net.send(sender, self.key);
        debug_assert_eq!(root, self.root);
        let wanted = found.wanted;
        let total = self.providers.len();
        if wanted >= total {
            self.providers.iter().for_each(|&p| found.add(p));
        } else {
            // Floyd: a uniformly random `wanted`-subset of 0..total.
            let mut picked: Vec<usize> = Vec::with_capacity(wanted);
            for j in total - wanted..total {
                let t = below(rng, j as u64 + 1) as usize;
                picked.push(if picked.contains(&t) { j } else { t });
            }
            picked.iter().for_each(|&i| found.add(self.providers[i]));
        }
        1
    }

    fn setup_messages(&self) -> u64 {
        self.providers.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{run_one, scenario};
    use super::*;
    use crate::network::Roles;
    use crate::scenario::Mechanism;
    use crate::test_ring::Ring;

    /// The root of K handles every discovery: the busiest peer's load is
    /// the number of requests (one GET each, N filled at once), and the
    /// hottest-load ratio is that over the mean.
    #[test]
    fn the_root_handles_every_request() {
        let ring = Ring::new(3000, 31);
        let requests = 500;
        let m = run_one(&ring, &scenario(Mechanism::SingleKey, 3000, requests, 0.1));
        assert_eq!(m.load_max, requests, "{m:?}");
        assert!((m.hottest_load_ratio - requests as f64 / m.load_mean).abs() < 1e-9);
        assert_eq!(m.filled_share, 1.0);
        assert_eq!(m.candidates_p5, 10);
        assert_eq!(m.messages_to_fill_mean, 1.0);
        assert_eq!(m.tries_mean, 1.0);
        // The GETs that left their sender (its root answers itself).
        assert!(m.extra_messages_mean > 0.99 && m.extra_messages_mean <= 1.0);
        let roles = Roles::new(11, 0.1, 0.0, 0.0);
        let willing = (0..3000).filter(|&p| roles.is_willing(p)).count() as u64;
        assert_eq!(m.setup_messages, willing);
        // A random N each time: hand-outs even up to sampling noise.
        assert!(m.handout_gini < 0.25, "{m:?}");
    }

    #[test]
    fn fewer_providers_than_n_are_all_returned() {
        let ring = Ring::new(200, 32);
        let roles = Roles::new(11, 0.02, 0.0, 0.0);
        let providers: Vec<PeerId> = (0..200).filter(|&p| roles.is_willing(p)).collect();
        assert!(!providers.is_empty() && providers.len() < 10);
        let m = run_one(&ring, &scenario(Mechanism::SingleKey, 200, 20, 0.02));
        assert_eq!(m.candidates_mean, providers.len() as f64);
        assert_eq!(m.fill_capped_share, 1.0);
        let key = SingleKey::new(&ring, providers);
        assert_eq!(key.root, ring.root(resource_id(&[NAMESPACE])));
    }
}
