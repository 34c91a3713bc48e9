//! The three baselines the draft's piggybacking is compared with (issue 9
//! item 6), in the same harness: the same overlays, the same NATed sending
//! nodes drawn from the same per-scenario stream, the same metrics and CSV
//! columns.
//!
//! - `single_key`: the draft's §1 comparison. Every willing peer stores
//!   itself at the root of one well-known key; every discovery is a GET to
//!   that root, which answers with a uniformly random N of them.
//! - `turn_usage`: RELOAD's TURN Server Usage (RFC 6940 §9). A willing peer
//!   stores its address at Resource-ID H(Node-ID ‖ d), d = 1..turn-density;
//!   a node Finds a random Resource-ID, Fetches what the Find names, and
//!   tries again on an empty answer (at most [`turn_usage::FIND_CAP`]
//!   Finds a discovery).
//! - `redir`: ReDiR (RFC 7374), branching factor 10, starting level 2:
//!   registrations by the RFC's upward and downward walks, lookups by its
//!   procedure, one Fetch a tree node.
//!
//! What is counted. Every message a baseline sends is a request routed over
//! the overlay (`Overlay::route`) from the sending node to the root of a
//! key, sent only for discovery: each counts once in `extra_messages_mean`
//! (the requests of a node's first discovery) and its route length in
//! `extra_hop_messages_mean` (the request's peer-to-peer transmissions,
//! answering peer included; responses not counted). Every peer on the route
//! handles the request, forwarding it or (the root) answering it: those
//! counts are the load `hottest_load_ratio` compares, as piggybacking's
//! per-hop `on_request` calls are. A request whose sender is the root
//! itself is answered locally: it counts for the root, with no message.
//! The routing mode changes nothing here (iteratively, the node sends to
//! each hop in turn: as many messages, the same peers).
//!
//! Registration is `setup_messages`: the Stores (and ReDiR's Fetches) the
//! providers send to register once, for the whole overlay. It is repeated
//! every registration lifetime (RFC 7374: 10 minutes, refreshed at about
//! 90 % of it) whatever the number of discoveries, so it is reported apart and is in
//! no per-discovery figure.
//!
//! A node repeats discoveries until it holds N distinct providers or has
//! made `--fill-cap` of them; `messages_to_fill_mean` counts the routed
//! requests of all of them, and what it holds then is what it hands out.
//!
//! Modelled: a healthy overlay (no churn, no adversaries: the command line
//! refuses them for the baselines), answers that carry the provider's
//! server address, and no size limit on an answer (a RELOAD message is at
//! most 5000 bytes by default, §11.1; a ReDiR tree node or the single key's
//! dictionary can hold far more entries than that).

use std::time::Instant;

use rand_chacha::ChaCha8Rng;

use crate::metrics::{ratio, spread, Histogram};
use crate::network::{mix, server_address, IdMap, Roles};
use crate::overlay::{Overlay, PeerId};
use crate::scenario::{pick_sender, scenario_rng, Measured, Mechanism, Scenario};

pub(crate) mod redir;
pub(crate) mod single_key;
pub(crate) mod turn_usage;

/// One baseline's stored state and discovery procedure.
pub(crate) trait Directory {
    /// One discovery by `sender`, its `attempt`-th (0 for the first):
    /// sends its routed requests through `net` and adds what comes back to
    /// `found`. Returns its tries (Finds, Fetches or GETs).
    fn discover(
        &self,
        sender: PeerId,
        attempt: u32,
        net: &mut Requests<'_>,
        found: &mut Found,
        rng: &mut ChaCha8Rng,
    ) -> u32;

    /// Routed requests the providers sent to register, all together.
    fn setup_messages(&self) -> u64;
}

/// The routed requests of one scenario: routes them, counts them, and
/// counts the requests each peer handled.
pub(crate) struct Requests<'o> {
    overlay: &'o dyn Overlay,
    path: Vec<PeerId>,
    /// Requests handled, by peer.
    load: Vec<u32>,
    /// Requests sent so far (locally answered ones not included).
    messages: u64,
    /// Their hops so far.
    hop_messages: u64,
    /// Whether [`Requests::hops`] records route lengths now.
    recording: bool,
    /// Route lengths of the recorded requests.
    hops: Histogram,
}

impl<'o> Requests<'o> {
    /// No request sent yet.
    pub(crate) fn new(overlay: &'o dyn Overlay) -> Self {
        Self {
            overlay,
            path: Vec::new(),
            load: vec![0; overlay.len()],
            messages: 0,
            hop_messages: 0,
            recording: false,
            hops: Histogram::default(),
        }
    }

    /// The overlay.
    pub(crate) fn overlay(&self) -> &'o dyn Overlay {
        self.overlay
    }

    /// Routes a request from `from` to the root of `key`; every peer on
    /// the route handles it. Returns the root, which answers.
    pub(crate) fn send(&mut self, from: PeerId, key: u64) -> PeerId {
        self.overlay.route(from, key, &mut self.path);
        if self.recording {
            self.hops.add(self.path.len());
        }
        match self.path.last() {
            None => {
                // The sender is the root: it answers itself.
                bump(&mut self.load[from as usize]);
                from
            }
            Some(&root) => {
                self.messages += 1;
                self.hop_messages += self.path.len() as u64;
                for &p in &self.path {
                    bump(&mut self.load[p as usize]);
                }
                root
            }
        }
    }
}

fn bump(count: &mut u32) {
    *count = count.saturating_add(1);
}

/// The distinct providers a node holds, at most N, in the order received.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    wanted: usize,
    providers: Vec<PeerId>,
}

impl Found {
    /// Nothing held yet; `wanted` is N.
    pub(crate) fn new(wanted: usize) -> Self {
        Self {
            wanted,
            providers: Vec::with_capacity(wanted),
        }
    }

    /// Holds `p` unless it already does or holds N.
    pub(crate) fn add(&mut self, p: PeerId) {
        if !self.is_full() && !self.providers.contains(&p) {
            self.providers.push(p);
        }
    }

    /// Whether it holds N.
    pub(crate) fn is_full(&self) -> bool {
        self.providers.len() >= self.wanted
    }

    /// The providers held.
    pub(crate) fn providers(&self) -> &[PeerId] {
        &self.providers
    }

    fn clear(&mut self) {
        self.providers.clear();
    }
}

/// FNV-1a of `bytes`: a namespace's name as a number.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut i = 0;
    while i < bytes.len() {
        h = (h ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// The service's name, RFC 7374's example namespace: the single key is its
/// hash, and ReDiR's tree nodes hash it with their level and index.
pub(crate) const NAMESPACE: u64 = fnv1a(b"turn-server");

/// A Resource-ID from `parts` (the overlay's hash H, 64 bits here like the
/// overlays' ids): a chain of SplitMix64 finalisers.
pub(crate) fn resource_id(parts: &[u64]) -> u64 {
    parts.iter().fold(0x4844_4154_4152_4553, |h, &p| mix(h ^ p))
}

/// Runs baseline scenario `sc` (number `index` of the run) over `overlay`;
/// `progress` is told of requests done, in batches.
pub(crate) fn run(
    overlay: &dyn Overlay,
    sc: &Scenario,
    seed: u64,
    index: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Measured, String> {
    let start = Instant::now();
    if sc.churn > 0.0 || sc.adversaries > 0.0 {
        return Err(format!(
            "{}: the baselines model a healthy overlay (churn and adversaries are measured for piggyback)",
            sc.mechanism.name()
        ));
    }
    let roles = Roles::new(seed, sc.willing, sc.churn, sc.adversaries);
    let nodes = overlay.len() as u64;
    let providers: Vec<PeerId> = (0..nodes as PeerId)
        .filter(|&p| roles.is_willing(p))
        .collect();
    if providers.len() as u64 == nodes {
        return Err(format!(
            "{nodes} nodes, f = {}: no peer is left to be a NATed sending node",
            sc.willing
        ));
    }
    let directory: Box<dyn Directory> = match sc.mechanism {
        Mechanism::Piggyback => return Err("piggyback is no baseline".into()),
        Mechanism::SingleKey => Box::new(single_key::SingleKey::new(overlay, providers.clone())),
        Mechanism::TurnDensity => Box::new(turn_usage::TurnUsage::new(
            overlay,
            &providers,
            sc.turn_density(),
        )?),
        Mechanism::Redir => Box::new(redir::Redir::new(overlay, &providers)),
    };
    let willing = providers.len() as u64;
    drop(providers);

    let mut rng = scenario_rng(seed, index);
    let mut net = Requests::new(overlay);
    let mut found = Found::new(usize::from(sc.n.get()));
    let mut received = Histogram::default();
    let (mut extra, mut extra_hops, mut tries, mut to_fill) = (0u64, 0u64, 0u64, 0u64);
    let (mut filled, mut capped) = (0u64, 0u64);
    let mut handouts: IdMap<u64> = IdMap::default();
    let (mut handed, mut alive) = (0u64, 0u64);
    let mut reported = 0;

    for r in 0..sc.requests {
        let sender = pick_sender(&mut rng, &roles, nodes);
        found.clear();
        let sent_before = net.messages;
        let mut attempt = 0;
        loop {
            net.recording = attempt == 0;
            let (messages, hops) = (net.messages, net.hop_messages);
            let t = directory.discover(sender, attempt, &mut net, &mut found, &mut rng);
            if attempt == 0 {
                extra += net.messages - messages;
                extra_hops += net.hop_messages - hops;
                tries += u64::from(t);
                received.add(found.providers().len());
                filled += u64::from(found.is_full());
            }
            attempt += 1;
            if found.is_full() || attempt >= sc.fill_cap {
                break;
            }
        }
        net.recording = false;
        to_fill += net.messages - sent_before;
        capped += u64::from(!found.is_full());
        for &p in found.providers() {
            handed += 1;
            alive += u64::from(roles.works(&server_address(p)));
            *handouts.entry(p).or_insert(0) += 1;
        }
        if (r + 1) % 256 == 0 || r + 1 == sc.requests {
            progress(r + 1 - reported);
            reported = r + 1;
        }
    }

    let load_max = net.load.iter().copied().max().map_or(0, u64::from);
    let load_total: u64 = net.load.iter().map(|&l| u64::from(l)).sum();
    let load_mean = load_total as f64 / nodes as f64;
    let handed_servers: u64 = handouts.values().sum();
    let handout = spread(handouts.into_values().collect(), willing);
    let alive_share = ratio(alive, handed);
    Ok(Measured {
        hops_mean: net.hops.mean(),
        candidates_mean: received.mean(),
        candidates_p5: received.percentile(0.05),
        filled_share: ratio(filled, sc.requests),
        empty_share: received.share_of(0),
        messages_to_fill_mean: ratio(to_fill, sc.requests),
        fill_capped_share: ratio(capped, sc.requests),
        extra_messages_mean: ratio(extra, sc.requests),
        extra_hop_messages_mean: ratio(extra_hops, sc.requests),
        setup_messages: directory.setup_messages(),
        tries_mean: ratio(tries, sc.requests),
        hottest_load_ratio: if load_total == 0 {
            0.0
        } else {
            load_max as f64 / load_mean
        },
        load_max,
        load_mean,
        handout_mean: ratio(handed_servers, willing),
        handout_max_ratio: handout.max_ratio,
        handout_gini: handout.gini,
        alive_share,
        // No churn, so nothing for feedback to remove.
        alive_share_after_feedback: alive_share,
        bogus_share: 0.0,
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_mb: crate::memory::peak_rss_mb(),
        ..Measured::default()
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::scenario::{Mode, Policy};
    use crate::test_ring::Ring;
    use stun_turn_discovery::{PerHopShare, N};

    /// A scenario of `mechanism` on a ring of `nodes` peers.
    pub(crate) fn scenario(
        mechanism: Mechanism,
        nodes: usize,
        requests: u64,
        willing: f64,
    ) -> Scenario {
        Scenario {
            overlay: "ring",
            mechanism,
            mode: Mode::Recursive,
            nodes,
            requests,
            willing,
            n: N::DEFAULT,
            policy: Policy::LoadSpreading,
            per_hop_share: PerHopShare::HALF,
            churn: 0.0,
            adversaries: 0.0,
            fill_cap: 32,
            turn_density: None,
            nat_dependent: 0.2,
            nat_discoveries: 0,
        }
    }

    pub(crate) fn run_one(overlay: &dyn Overlay, sc: &Scenario) -> Measured {
        let run = if sc.mechanism == Mechanism::Piggyback {
            crate::scenario::run
        } else {
            run
        };
        run(overlay, sc, 11, 0, &|_| {}).unwrap()
    }

    /// Piggybacking sends nothing for discovery; every baseline does, and
    /// its requests are counted with their hops.
    #[test]
    fn piggyback_sends_no_extra_message_and_each_baseline_does() {
        let ring = Ring::new(3000, 21);
        let piggyback = run_one(&ring, &scenario(Mechanism::Piggyback, 3000, 200, 0.1));
        assert_eq!(piggyback.extra_messages_mean, 0.0);
        assert_eq!(piggyback.extra_hop_messages_mean, 0.0);
        assert_eq!(piggyback.setup_messages, 0);
        for mechanism in [
            Mechanism::SingleKey,
            Mechanism::TurnDensity,
            Mechanism::Redir,
        ] {
            let m = run_one(&ring, &scenario(mechanism, 3000, 200, 0.1));
            eprintln!("{}: {m:?}", mechanism.name());
            assert!(m.extra_messages_mean >= 1.0, "{}: {m:?}", mechanism.name());
            assert!(
                m.extra_hop_messages_mean > m.extra_messages_mean,
                "{}: {m:?}",
                mechanism.name()
            );
            assert!(m.setup_messages > 0, "{}: {m:?}", mechanism.name());
            assert!(m.candidates_mean >= 1.0, "{}: {m:?}", mechanism.name());
            assert_eq!(m.alive_share, 1.0);
        }
    }

    #[test]
    fn churn_and_adversaries_are_refused() {
        let ring = Ring::new(500, 22);
        let sc = Scenario {
            churn: 0.1,
            ..scenario(Mechanism::SingleKey, 500, 10, 0.1)
        };
        let e = run(&ring, &sc, 1, 0, &|_| {}).unwrap_err();
        assert!(e.contains("healthy overlay"), "{e}");
    }

    #[test]
    fn resource_ids_differ_by_part() {
        assert_ne!(
            resource_id(&[NAMESPACE, 2, 5]),
            resource_id(&[NAMESPACE, 5, 2])
        );
        assert_ne!(resource_id(&[NAMESPACE]), resource_id(&[NAMESPACE, 0]));
        assert_eq!(NAMESPACE, fnv1a(b"turn-server"));
    }
}
