//! One scenario: NATed sending nodes discover STUN/TURN candidates by
//! piggybacking on routine requests (§3.3.2) over one overlay, every hop
//! running the crate's own §4.2 code, and what that yields (§3.3.3).
//!
//! Each of the scenario's requests comes from a fresh NATed node (a random
//! peer that is neither willing, dead nor adversarial) and goes to a random
//! key, along the overlay's route (`Overlay::route`). The request carries
//! the node's option (`SendingNode::recursive_option`, or
//! `iterative_option` per hop); every live peer on the path processes it
//! with `IntermediatePeer::on_request` (§4.2 steps 2–7) and, in recursive
//! mode, forwards the response with `on_response` (§4.2 step 1); the node
//! saves what comes back with `on_response` / `on_answer` (§4.1 step 2).
//! While its `shortfall` is above zero it sends further routine requests,
//! each on another path (§3.3.3), up to a cap. Then it takes `best(N)`,
//! reports `feedback` on each (one round), and takes `best(N)` again.
//!
//! The baselines it is compared with run in `baselines/`, with the same
//! senders, overlays and metrics.

use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::node::CachedCandidate;
use stun_turn_discovery::peer::Requester;
use stun_turn_discovery::rand::{Rng, SeedableRng};
use stun_turn_discovery::wire::{observed_extension_len, observed_option_len};
use stun_turn_discovery::{
    Feedback, Mapping, MessageKind, NodeConfig, Outcome, PeerConfig, PerHopShare, SelectionPolicy,
    SendingNode, TransportAddress, N,
};

use crate::metrics::{ratio, spread, Histogram};
use crate::nat::{
    local_address, peer_address, peer_transport, Nat, NatMeasured, NatTally, NodeVerdicts, LIE,
    OVERLAY_PORT,
};
use crate::network::{is_bogus, mix, server_peer, IdMap, Network, Roles};
use crate::overlay::{Overlay, PeerId};

/// The kind of every simulated request: a routine GET to a random key
/// (§6); the kind changes nothing in §4.2.
const KIND: MessageKind = MessageKind::Get;

/// The round-trip time reported for a candidate that worked.
const RTT: Duration = Duration::from_millis(40);

/// How requests are routed (§3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Mode {
    /// Each peer forwards the request; the set rides in it and comes back
    /// in the response.
    Recursive,
    /// The sending node asks each peer on the path in turn; each answers
    /// at once with its own set.
    Iterative,
}

impl Mode {
    /// `recursive` or `iterative`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Recursive => "recursive",
            Self::Iterative => "iterative",
        }
    }
}

/// How NATed nodes discover STUN/TURN servers: the draft's piggybacking or
/// one of the three baselines it is compared with (`baselines/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mechanism {
    /// The draft's: candidates ride on routine requests (§3.3.2).
    Piggyback,
    /// Every provider stored at the root of one well-known key; every
    /// discovery a GET to it (the draft's §1 comparison).
    SingleKey,
    /// RELOAD's TURN Server Usage (RFC 6940 §9): providers at
    /// H(Node-ID ‖ d), d = 1..turn-density; Find then Fetch at random.
    TurnDensity,
    /// ReDiR (RFC 7374): a tree of registrations, looked up with a few
    /// Fetches.
    Redir,
}

impl Mechanism {
    /// The command-line spelling, also the CSV's `mechanism` column.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Piggyback => "piggyback",
            Self::SingleKey => "single-key",
            Self::TurnDensity => "turn-density",
            Self::Redir => "redir",
        }
    }
}

/// How intermediate peers choose candidates from their tables (§4.2 step
/// 4, §3.3.1): the crate's `SelectionPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Policy {
    /// Weighted random by priority and spare capacity (the crate's default).
    LoadSpreading,
    /// Uniformly random.
    Random,
    /// Highest priority first (the draft's first example).
    ByPriority,
    /// Best performance hints first.
    ByPerformance,
}

impl Policy {
    /// The crate's policy.
    pub(crate) fn selection(self) -> SelectionPolicy {
        match self {
            Self::LoadSpreading => SelectionPolicy::LoadSpreading,
            Self::Random => SelectionPolicy::Random,
            Self::ByPriority => SelectionPolicy::ByPriority,
            Self::ByPerformance => SelectionPolicy::ByPerformance,
        }
    }

    /// The command-line spelling.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::LoadSpreading => "load-spreading",
            Self::Random => "random",
            Self::ByPriority => "by-priority",
            Self::ByPerformance => "by-performance",
        }
    }
}

/// The parameters of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scenario {
    /// The overlay's name.
    pub(crate) overlay: &'static str,
    /// The discovery mechanism.
    pub(crate) mechanism: Mechanism,
    /// Routing mode.
    pub(crate) mode: Mode,
    /// Peers in the overlay.
    pub(crate) nodes: usize,
    /// Sending nodes, each with its first request and its fill sequence.
    pub(crate) requests: u64,
    /// f: share of peers willing to serve.
    pub(crate) willing: f64,
    /// N the sending nodes ask for.
    pub(crate) n: N,
    /// Selection policy of the intermediate peers.
    pub(crate) policy: Policy,
    /// Per-hop share of N, applied by honest peers when they add and by the
    /// nodes when they count (100 %: the draft to the letter).
    pub(crate) per_hop_share: PerHopShare,
    /// Share of peers dead.
    pub(crate) churn: f64,
    /// Share of peers adversarial.
    pub(crate) adversaries: f64,
    /// Most requests a node sends to fill its cache (piggyback), or most
    /// discoveries it makes (baselines).
    pub(crate) fill_cap: u32,
    /// `--turn-density`: Resource-IDs per provider of the TURN Server
    /// Usage; `None` is about 1/f (see [`Scenario::turn_density`]).
    pub(crate) turn_density: Option<u32>,
    /// Share of the sending nodes' NATs that map endpoint-dependently (a
    /// port per destination); the others map endpoint-independently.
    pub(crate) nat_dependent: f64,
    /// Most requests a node attaches its option to while its mapping is
    /// still unknown (its fill requests included; iterative: every hop of
    /// them is asked). 0: the option only while the node is short of N.
    pub(crate) nat_discoveries: u32,
}

impl Scenario {
    /// The turn-density this scenario uses: `--turn-density` when given,
    /// else RFC 6940 §11.1's guidance, about 1 / (share of peers that can
    /// serve): round(1/f), at least 1 (1 at f = 0).
    pub(crate) fn turn_density(&self) -> u32 {
        self.turn_density.unwrap_or_else(|| {
            if self.willing > 0.0 {
                (1.0 / self.willing).round().clamp(1.0, 1e6) as u32
            } else {
                1
            }
        })
    }
}

/// What one scenario measured (the CSV row's metrics, item 5 of issue 9).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Measured {
    /// Mean routing-state size (distinct peers in routing table and
    /// neighbour set) of the honest peers built.
    pub(crate) table_mean: f64,
    /// The routing-table part of it (Pastry's rows, Kademlia's buckets,
    /// Chord's fingers): what §3.3.3's "75 entries" counts.
    pub(crate) routing_entries_mean: f64,
    /// Mean candidate-table size of the honest peers built (§3.3.3's 7.5).
    pub(crate) candidate_table_mean: f64,
    /// Mean route length of first requests (destination included).
    pub(crate) hops_mean: f64,
    /// Mean number of unique willing candidates in the candidate tables of
    /// the live peers on a first request's path, destination included, the
    /// sending node not: §3.3.3's 38, independent of N.
    pub(crate) met_mean: f64,
    /// Mean number of candidates a first request brought back (recursive:
    /// K of the returned set; iterative: the sum of the answers).
    pub(crate) candidates_mean: f64,
    /// 5th percentile of the same.
    pub(crate) candidates_p5: usize,
    /// Share of first requests after which the node held N usable
    /// candidates within their hops' shares (`shortfall` 0).
    pub(crate) filled_share: f64,
    /// Share of first requests that brought back no candidate (§3.3.3's
    /// "NULL" set).
    pub(crate) empty_share: f64,
    /// Mean requests a fresh node sent until `shortfall` was 0; a node
    /// still short after the cap counts as the cap.
    pub(crate) messages_to_fill_mean: f64,
    /// Share of nodes still short after the cap.
    pub(crate) fill_capped_share: f64,
    /// Messages sent only for discovery: none for piggybacking; for the
    /// baselines, the routed requests of a node's first discovery.
    pub(crate) extra_messages_mean: f64,
    /// The hops those requests took (each request's route length, the
    /// answering peer included): 0 for piggybacking.
    pub(crate) extra_hop_messages_mean: f64,
    /// Routed requests the providers send to register once (Stores, and
    /// ReDiR's Fetches), for the whole overlay; repeated every registration
    /// lifetime, and not counted in `extra_messages_mean`. 0 for
    /// piggybacking.
    pub(crate) setup_messages: u64,
    /// Baselines: the tries of a node's first discovery (TURN Server
    /// Usage: Finds; ReDiR: Fetches; single key: 1). 0 for piggybacking.
    pub(crate) tries_mean: f64,
    /// The busiest peer's `on_request` calls (baselines: requests it
    /// handled, forwarded or answered) over the mean over all peers.
    pub(crate) hottest_load_ratio: f64,
    /// That busiest peer's count itself.
    pub(crate) load_max: u64,
    /// That mean: `on_request` calls per peer. Below about 10 the load
    /// ratios mostly measure sampling noise (a few requests per peer).
    pub(crate) load_mean: f64,
    /// Mean hand-outs per willing server (over all of them); likewise.
    pub(crate) handout_mean: f64,
    /// The most often handed-out willing server's count over the mean over
    /// all willing servers (hand-outs: what `best(N)` gives each node).
    pub(crate) handout_max_ratio: f64,
    /// Gini coefficient of those counts over all willing servers.
    pub(crate) handout_gini: f64,
    /// Share of handed-out candidates that answer (alive and not bogus).
    pub(crate) alive_share: f64,
    /// The same after one round of `feedback` on them.
    pub(crate) alive_share_after_feedback: f64,
    /// Share of handed-out candidates that are bogus.
    pub(crate) bogus_share: f64,
    /// Peers built (touched by a route).
    pub(crate) built_peers: u64,
    /// Mean heap bytes a built peer holds (its `CandidateTable`).
    pub(crate) peer_heap_bytes: f64,
    /// Mean heap allocations made building a peer.
    pub(crate) peer_allocations: f64,
    /// Wall time of the scenario (overlay construction excluded).
    pub(crate) seconds: f64,
    /// The process's peak RSS after the scenario, in MiB.
    pub(crate) peak_rss_mb: f64,
    /// The nodes' NAT verdicts from observed addresses, and their cost
    /// (piggybacking only).
    pub(crate) nat: NatMeasured,
}

/// A number in `0..n` (`n > 0`), by multiply-shift.
pub(crate) fn below(rng: &mut impl Rng, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// A random NATed sending node (a peer that is neither willing, dead nor
/// adversarial); there must be one.
pub(crate) fn pick_sender(rng: &mut impl Rng, roles: &Roles, nodes: u64) -> PeerId {
    loop {
        let p = below(rng, nodes) as PeerId;
        if roles.is_sender(p) {
            break p;
        }
    }
}

/// The per-scenario random stream: from the run's seed and the scenario's
/// index only, so scenarios give the same results on any thread.
pub(crate) fn scenario_rng(seed: u64, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(seed ^ mix(index ^ 0x5343_454e)))
}

/// Runs scenario `sc` (number `index` of the run) over `overlay`;
/// `progress` is told of requests done, in batches.
pub(crate) fn run(
    overlay: &dyn Overlay,
    sc: &Scenario,
    seed: u64,
    index: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Measured, String> {
    let start = Instant::now();
    let now = start;
    let roles = Roles::new(seed, sc.willing, sc.churn, sc.adversaries);
    let nodes = overlay.len() as u64;
    let senders = (0..nodes as PeerId).filter(|&p| roles.is_sender(p)).count();
    let willing = (0..nodes as PeerId)
        .filter(|&p| roles.is_willing(p))
        .count() as u64;
    if senders == 0 {
        return Err(format!(
            "{} nodes, f = {}, churn {}, adversaries {}: no peer is left to be a NATed sending node",
            nodes, sc.willing, sc.churn, sc.adversaries
        ));
    }
    let mut rng = scenario_rng(seed, index);
    let honest = PeerConfig::default()
        .with_per_hop_share(sc.per_hop_share)
        .with_selection(sc.policy.selection());
    // An adversary fills the whole set if it can, with what ranks first.
    let adversary = PeerConfig::default()
        .with_per_hop_share(PerHopShare::WHOLE)
        .with_selection(SelectionPolicy::ByPriority);
    let node_config = NodeConfig::default()
        .with_wanted(sc.n)
        .with_per_hop_share(sc.per_hop_share);
    let mut net = Network::new(overlay, roles, honest, adversary, now);
    let n = usize::from(sc.n.get());

    let mut path = Vec::new();
    let mut visited = Vec::new();
    let mut met_scratch = Vec::new();
    let mut hops = Histogram::default();
    let mut met = Histogram::default();
    let mut received = Histogram::default();
    let mut to_fill = Histogram::default();
    let (mut filled, mut capped) = (0u64, 0u64);
    let mut handouts: IdMap<u64> = IdMap::default();
    let (mut handed, mut alive, mut bogus) = (0u64, 0u64, 0u64);
    let (mut handed_after, mut alive_after) = (0u64, 0u64);
    let mut reported = 0;

    let mut nat_tally = NatTally::default();

    for r in 0..sc.requests {
        let who = pick_sender(&mut rng, &roles, nodes);
        let mut node = SendingNode::new(node_config);
        node.set_local_addresses([local_address(who)], OVERLAY_PORT);
        let mut sender = Sender {
            node,
            nat: Nat::of(seed, sc.nat_dependent, who),
            seeking: false,
            bytes: 0,
            link_bytes: 0,
        };
        let mut verdicts = NodeVerdicts::default();
        let mut messages = 0;
        let mut filled_after = None;
        loop {
            overlay.route(who, rng.next_u64(), &mut path);
            messages += 1;
            sender.seeking = messages <= sc.nat_discoveries;
            let got = match sc.mode {
                Mode::Recursive => {
                    recursive(&mut net, &mut sender, &path, &mut visited, now, &mut rng)?
                }
                Mode::Iterative => iterative(&mut net, &mut sender, &path, now, &mut rng)?,
            };
            verdicts.after_discovery(&sender.node.nat_verdict(), &sender.nat);
            let short = sender.node.shortfall(now) > 0;
            if messages == 1 {
                hops.add(path.len());
                received.add(got);
                met.add(met_on_path(&mut net, &path, &mut met_scratch));
                filled += u64::from(!short);
            }
            if !short && filled_after.is_none() {
                filled_after = Some(messages);
            }
            let seeking = sender.node.nat_verdict().mapping == Mapping::Unknown
                && messages < sc.nat_discoveries;
            if (!short && !seeking) || messages >= sc.fill_cap {
                break;
            }
        }
        nat_tally.bytes += sender.bytes;
        nat_tally.link_bytes += sender.link_bytes;
        nat_tally.add(&verdicts);
        to_fill.add(filled_after.unwrap_or(messages) as usize);
        capped += u64::from(filled_after.is_none());
        let node = &mut sender.node;

        // What the node would use, one round of feedback on it, and what it
        // would use then (§4.1 step 2: "save ... for later use").
        let best = node.best(now, n);
        for c in &best {
            let address = c.candidate().address;
            handed += 1;
            alive += u64::from(roles.works(&address));
            bogus += u64::from(is_bogus(&address));
            if let Some(p) = server_peer(&address) {
                *handouts.entry(p).or_insert(0) += 1;
            }
        }
        feedback_round(node, &best, &roles, now);
        let after = node.best(now, n);
        handed_after += after.len() as u64;
        alive_after += after
            .iter()
            .filter(|c| roles.works(&c.candidate().address))
            .count() as u64;

        if (r + 1) % 256 == 0 || r + 1 == sc.requests {
            progress(r + 1 - reported);
            reported = r + 1;
        }
    }

    let built = net.stats();
    let (busiest, load_total) = net.built().iter().fold((0u64, 0u64), |(m, t), peer| {
        let s = peer.stats();
        let load = s.recursive_requests + s.iterative_requests;
        (m.max(load), t + load)
    });
    let load_mean = load_total as f64 / nodes as f64;
    let handed_servers: u64 = handouts.values().sum();
    let handout = spread(handouts.into_values().collect(), willing);
    Ok(Measured {
        table_mean: ratio(built.state_entries, built.honest),
        routing_entries_mean: ratio(built.routing_entries, built.honest),
        candidate_table_mean: ratio(built.table_entries, built.honest),
        hops_mean: hops.mean(),
        met_mean: met.mean(),
        candidates_mean: received.mean(),
        candidates_p5: received.percentile(0.05),
        filled_share: ratio(filled, sc.requests),
        empty_share: received.share_of(0),
        messages_to_fill_mean: to_fill.mean(),
        fill_capped_share: ratio(capped, sc.requests),
        extra_messages_mean: 0.0,
        extra_hop_messages_mean: 0.0,
        setup_messages: 0,
        tries_mean: 0.0,
        load_max: busiest,
        hottest_load_ratio: if load_total == 0 {
            0.0
        } else {
            busiest as f64 / load_mean
        },
        load_mean,
        handout_mean: ratio(handed_servers, willing),
        handout_max_ratio: handout.max_ratio,
        handout_gini: handout.gini,
        alive_share: ratio(alive, handed),
        alive_share_after_feedback: ratio(alive_after, handed_after),
        bogus_share: ratio(bogus, handed),
        built_peers: built.peers,
        peer_heap_bytes: built.heap_bytes as f64 / built.peers.max(1) as f64,
        peer_allocations: ratio(built.allocations, built.peers),
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_mb: crate::memory::peak_rss_mb(),
        nat: nat_tally.measured(),
    })
}

/// A sending node with its NAT, as the hops see it.
struct Sender {
    node: SendingNode,
    nat: Nat,
    /// Whether the current request carries the option to every hop while
    /// the mapping is unknown (iterative mode), not only while short of N.
    seeking: bool,
    /// Bytes the observed addresses added to its messages so far, each
    /// message counted once, and counted on every link it crossed.
    bytes: u64,
    link_bytes: u64,
}

impl Sender {
    /// What hop `p` reports it saw a request straight from this node come
    /// from: the NAT's mapping towards it, or an adversary's lie. The node
    /// records it, attributed to the address it sent the request to.
    fn observed_by(&mut self, net: &Network<'_>, p: PeerId, seen: TransportAddress, now: Instant) {
        let reported = if net.roles().is_adversary(p) {
            LIE
        } else {
            seen.socket_addr()
        };
        let _ = self.node.observed(now, peer_address(p), reported);
    }
}

/// One recursive-mode request (§3.3.2): the option travels along the live
/// peers of `path`, each filling the set in place (§4.2), and comes back in
/// the response, which every peer but the destination forwards (§4.2 step
/// 1). The first live peer receives the request from the node's NAT and
/// reports the address it came from (an option copied into the response);
/// each later one receives it from the peer before. Returns K, the
/// candidates the response carried.
fn recursive(
    net: &mut Network<'_>,
    sender: &mut Sender,
    path: &[PeerId],
    visited: &mut Vec<PeerId>,
    now: Instant,
    rng: &mut ChaCha8Rng,
) -> Result<usize, String> {
    let mut option = sender.node.recursive_option();
    let mut observed = None;
    visited.clear();
    for &p in path {
        // A dead peer processes nothing: the overlay routes around it.
        if net.roles().is_dead(p) {
            continue;
        }
        let from = match visited.last() {
            None => sender.nat.map(peer_address(p)),
            Some(&before) => peer_transport(before),
        };
        let outcome = net.peer(p).on_request(
            now,
            KIND,
            Some(Requester::Transport(from)),
            &mut option,
            rng,
        );
        if let Some(seen) = outcome.report().observed {
            observed = Some((p, seen));
        }
        visited.push(p);
    }
    // The destination generates the response; the others forward it.
    for &p in visited.iter().rev().skip(1) {
        net.peer(p).on_response(KIND);
    }
    if let Some((p, seen)) = observed {
        // In the request from the first hop on, and copied into the
        // response all the way back.
        let len = observed_option_len(&seen) as u64;
        sender.bytes += 2 * len;
        sender.link_bytes += len * (2 * visited.len() as u64 - 1);
        sender.observed_by(net, p, seen, now);
    }
    let k = option.set().len();
    let _saved = sender
        .node
        .on_response(now, KIND, &option)
        .map_err(|e| format!("sending node refused a recursive response: {e}"))?;
    Ok(k)
}

/// One iterative-mode request (§3.3.2): the node asks each live peer of
/// `path` in turn, with the option while its `shortfall` is above zero
/// (or, when the sender is seeking, while its mapping is unknown), saves
/// each answer and records the address each peer saw the request come
/// from. Returns the candidates the answers to the peers asked while short
/// carried.
fn iterative(
    net: &mut Network<'_>,
    sender: &mut Sender,
    path: &[PeerId],
    now: Instant,
    rng: &mut ChaCha8Rng,
) -> Result<usize, String> {
    let mut hop = 0u8;
    let mut got = 0;
    for &p in path {
        if net.roles().is_dead(p) {
            continue;
        }
        hop = hop.saturating_add(1);
        let short = sender.node.shortfall(now) > 0;
        let seeking = sender.seeking && sender.node.nat_verdict().mapping == Mapping::Unknown;
        if !short && !seeking {
            continue;
        }
        let mut option = sender.node.iterative_option(hop);
        let from = sender.nat.map(peer_address(p));
        let outcome = net.peer(p).on_request(
            now,
            KIND,
            Some(Requester::Transport(from)),
            &mut option,
            rng,
        );
        let Outcome::Answer(answer, report) = outcome else {
            return Err("an iterative request was not answered with a set".into());
        };
        if short {
            got += answer.len();
        }
        if let Some(seen) = report.observed {
            let len = observed_extension_len(&seen) as u64;
            sender.bytes += len;
            sender.link_bytes += len;
            sender.observed_by(net, p, seen, now);
        }
        let _saved = sender
            .node
            .on_answer(now, KIND, hop, &answer)
            .map_err(|e| format!("sending node refused an iterative answer: {e}"))?;
    }
    Ok(got)
}

/// §3.3.3's count for one path: the unique willing candidates in the
/// candidate tables of its live peers, destination included (each built
/// from the peer's routing state and itself, §3.3.1). Bogus entries are no
/// willing candidates and are not counted.
fn met_on_path(net: &mut Network<'_>, path: &[PeerId], scratch: &mut Vec<PeerId>) -> usize {
    scratch.clear();
    for &p in path {
        if net.roles().is_dead(p) {
            continue;
        }
        let table = net.peer(p).table();
        scratch.extend(
            table
                .by_priority()
                .filter_map(|e| server_peer(&e.candidate().address)),
        );
    }
    scratch.sort_unstable();
    scratch.dedup();
    scratch.len()
}

/// One round of feedback (§4.1 step 2's "later use"): the node tries each
/// candidate `best` handed out and reports whether it worked.
fn feedback_round(node: &mut SendingNode, best: &[CachedCandidate], roles: &Roles, now: Instant) {
    for c in best {
        let address = c.candidate().address;
        let feedback = if roles.works(&address) {
            Feedback::Worked { rtt: RTT }
        } else {
            Feedback::Failed
        };
        let _ = node.feedback(now, &address, feedback);
    }
}
