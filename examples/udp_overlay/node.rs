//! The sending node (NATed in the end-to-end run): it is no ring member;
//! it sends requests into the ring through `--bootstrap` with the
//! piggyback option, and uses what comes back. Its phases follow
//! notes/udp_contract.md; each starts with a `phase:` line on stderr, and
//! stdout carries only `discovered <ip:port>`, `waiting`, `attack-window`
//! and the last line, `e2e: …`.
//!
//! What the `e2e:` counts mean:
//! - `discovered`: distinct candidates learned in phases join and get
//!   (one `discovered` line each);
//! - `stun_ok`: how many of those answered a STUN Binding, sent in phase
//!   stun (or at the end of phase get, for those learned there), before
//!   the wait;
//! - `reflexive`, `nated`: the first Binding's XOR-MAPPED-ADDRESS, and
//!   `NatStatus::detect` on it;
//! - `mapping`, `observers`: the NAT's mapping behaviour as the node acts
//!   on it (`SendingNode::mapping`: `independent`, `dependent` or
//!   `unknown`) and how many observers stand behind that verdict
//!   (`MappingVerdict::observers`), from the addresses the peers it sent
//!   requests to saw them come from: the bootstrap peer for the recursive
//!   requests, every hop of the iterative lookups (phase observe walks
//!   lookups of random keys until the mapping is known, so at least three
//!   peers at distinct addresses are asked directly when the ring has
//!   them);
//! - `turn_relay`: the relayed address of the first TURN candidate that
//!   allocated;
//! - `relied_on`: what the node reaches others through: `turn` behind an
//!   endpoint-dependent mapping (a reflexive address learned by STUN is
//!   valid towards its STUN server only), `stun` behind an
//!   endpoint-independent one (the relay, if allocated, is not needed), for
//!   an unknown mapping `turn` if a relay was allocated, else `stun`;
//!   `none` when what it needs did not work;
//! - `iterative_discovered`: distinct candidates the hops of the iterative
//!   GET offered in their answers;
//! - `dead_dropped`: some candidate stopped answering after the wait, and
//!   `best` no longer hands any such one out;
//! - `garbage_survived`: after the attack window, a fresh node's JOIN
//!   through the ring discovers at least one candidate again.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::bytes::BytesMut;
use stun_turn_discovery::rand::{RngExt, SeedableRng};
use stun_turn_discovery::wire::{self, Direction};
use stun_turn_discovery::{
    Feedback, Filter, Mapping, NatStatus, RecordOutcome, SendingNode, Services, Transport,
    TransportAddress,
};
use tracing::{debug, info, warn};

use crate::config::{self, WIRE};
use crate::framing::{flags, Body, Code, Frame};
use crate::observed;
use crate::stun;
use crate::turn;

/// What the command line says about the node.
#[derive(Debug, Clone)]
pub(crate) struct NodeOptions {
    /// The node's socket.
    pub(crate) bind: SocketAddr,
    /// Its way into the ring.
    pub(crate) bootstrap: SocketAddr,
    /// TURN long-term credentials.
    pub(crate) user: String,
    /// TURN password.
    pub(crate) pass: String,
    /// The realm the TURN servers are expected to name.
    pub(crate) realm: String,
    /// The pause at `waiting` and at `attack-window`.
    pub(crate) gap: Duration,
}

/// Lookups of random keys phase observe walks at most, to hear from
/// enough peers for a mapping verdict.
const OBSERVE_LOOKUPS: usize = 12;
/// The pause after a lookup that reached no peer not asked before (a ring
/// still converging routes every key the same way).
const OBSERVE_PAUSE: Duration = Duration::from_millis(300);

/// The run's results, printed as the `e2e:` line.
#[derive(Debug)]
pub(crate) struct Summary {
    discovered: usize,
    stun_ok: usize,
    reflexive: Option<SocketAddr>,
    nated: bool,
    mapping: Mapping,
    observers: u8,
    turn_relay: Option<SocketAddr>,
    relied_on: Reliance,
    iterative_discovered: usize,
    dead_dropped: bool,
    garbage_survived: bool,
}

impl Default for Summary {
    fn default() -> Self {
        Self {
            discovered: 0,
            stun_ok: 0,
            reflexive: None,
            nated: false,
            mapping: Mapping::Unknown,
            observers: 0,
            turn_relay: None,
            relied_on: Reliance::Nothing,
            iterative_discovered: 0,
            dead_dropped: false,
            garbage_survived: false,
        }
    }
}

impl Summary {
    /// The `e2e:` line.
    pub(crate) fn line(&self) -> String {
        let or_none = |a: Option<SocketAddr>| a.map_or("none".to_string(), |a| a.to_string());
        format!(
            "e2e: discovered={} stun_ok={} reflexive={} nated={} mapping={} observers={} turn_relay={} relied_on={} iterative_discovered={} dead_dropped={} garbage_survived={}",
            self.discovered,
            self.stun_ok,
            or_none(self.reflexive),
            self.nated,
            mapping_name(self.mapping),
            self.observers,
            or_none(self.turn_relay),
            self.relied_on.name(),
            self.iterative_discovered,
            self.dead_dropped,
            self.garbage_survived
        )
    }

    /// Whether every part worked (the node's own verdict; the script
    /// applies its assertions on the line). A relay is needed unless the
    /// mapping is known to be endpoint-independent.
    pub(crate) fn all_worked(&self) -> bool {
        self.discovered > 0
            && self.stun_ok >= self.discovered
            && self.reflexive.is_some()
            && (self.turn_relay.is_some() || self.mapping == Mapping::EndpointIndependent)
            && self.relied_on != Reliance::Nothing
            && self.iterative_discovered > 0
            && self.dead_dropped
            && self.garbage_survived
    }
}

/// What the node reaches other nodes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reliance {
    /// Its reflexive address, learned with a STUN Binding.
    Stun,
    /// A TURN relay.
    Turn,
    /// Neither worked, or not the one it needs.
    Nothing,
}

impl Reliance {
    /// What the node relies on under `mapping`, given whether a STUN
    /// Binding gave it a reflexive address and whether a relay was
    /// allocated. Behind an endpoint-dependent mapping a reflexive address
    /// is valid towards its STUN server only (RFC 4787 §4.1), so only a
    /// relay will do; behind an endpoint-independent one the reflexive
    /// address is the one every peer sees, and STUN is enough; not knowing
    /// the mapping, a relay is the safe choice.
    pub(crate) fn choose(mapping: Mapping, reflexive: bool, relay: bool) -> Self {
        match mapping {
            Mapping::EndpointDependent if relay => Self::Turn,
            Mapping::EndpointDependent => Self::Nothing,
            Mapping::EndpointIndependent if reflexive => Self::Stun,
            _ if relay => Self::Turn,
            _ if reflexive => Self::Stun,
            _ => Self::Nothing,
        }
    }

    /// Its name in the `e2e:` line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Stun => "stun",
            Self::Turn => "turn",
            Self::Nothing => "none",
        }
    }
}

/// A mapping's name in the `e2e:` line.
pub(crate) fn mapping_name(mapping: Mapping) -> &'static str {
    match mapping {
        Mapping::EndpointIndependent => "independent",
        Mapping::EndpointDependent => "dependent",
        _ => "unknown",
    }
}

struct Node<'a> {
    opts: NodeOptions,
    sock: UdpSocket,
    id: u64,
    rng: ChaCha8Rng,
    printed: BTreeSet<TransportAddress>,
    probed: BTreeSet<TransportAddress>,
    stop: &'a AtomicBool,
}

/// Runs the phases; returns the summary.
pub(crate) fn run(
    opts: NodeOptions,
    stop: &AtomicBool,
) -> Result<Summary, Box<dyn std::error::Error>> {
    let sock = UdpSocket::bind(opts.bind)?;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    let mut node = Node {
        id: config::id_of(&sock.local_addr()?),
        opts,
        sock,
        rng: ChaCha8Rng::seed_from_u64(seed),
        printed: BTreeSet::new(),
        probed: BTreeSet::new(),
        stop,
    };
    let mut sum = Summary::default();
    // glue: the sending node (§4.1, §5.1, §6.1)
    let mut sending = SendingNode::new(config::node_config()?);
    let local = node.sock.local_addr()?;
    // glue: the node's own addresses, against which observed ones are judged
    let bootstrap = TransportAddress::udp(node.opts.bootstrap);
    sending.set_local_addresses(local_ips(local, &[bootstrap]), local.port());

    info!("phase: join");
    for attempt in 1..=5 {
        node.recursive(&mut sending, Code::Join, node.id, Body::Empty);
        if !sending.is_empty() || node.stopped() {
            break;
        }
        warn!(attempt, "JOIN brought no candidate; asking again");
        node.sleep(Duration::from_secs(1));
    }
    let joined: Vec<TransportAddress> = sending
        .candidates()
        .map(|c| c.candidate().address)
        .collect();

    info!("phase: observe");
    node.observe(&mut sending);

    info!("phase: stun");
    let interfaces = local_ips(local, &joined);
    node.stun_new(&mut sending, &mut sum);
    if let Some(reflexive) = sum.reflexive {
        // glue: NAT detection (§3.2.1)
        let nat = NatStatus::detect(interfaces.iter().copied(), local.port(), reflexive);
        info!(%nat, ?interfaces, "NAT status");
        sum.nated = nat.is_behind_nat();
    }

    info!("phase: turn");
    match sending.mapping() {
        Mapping::EndpointDependent => {
            info!("endpoint-dependent mapping: STUN alone is not enough, a TURN relay is needed");
        }
        Mapping::EndpointIndependent => {
            info!("endpoint-independent mapping: the reflexive address serves every peer; TURN tried all the same");
        }
        _ => info!("mapping unknown: a TURN relay is the safe choice"),
    }
    sum.turn_relay = node.turn(&mut sending);

    info!("phase: get");
    let key: u64 = node.rng.random();
    let value = format!("udp_overlay node {}", node.id).into_bytes();
    node.recursive(&mut sending, Code::Put, key, Body::Value(value.clone()));
    sum.iterative_discovered = node.iterative_get(&mut sending, key, &value);
    // Candidates first learned here get their STUN Binding too, so every
    // `discovered` line has been tried before the wait.
    node.stun_new(&mut sending, &mut sum);
    sum.discovered = node.printed.len();
    // glue: the mapping the node acts on, and what it relies on
    let verdict = sending.nat_verdict();
    sum.mapping = sending.mapping();
    sum.observers = verdict.observers;
    sum.relied_on = Reliance::choose(
        sum.mapping,
        sum.reflexive.is_some(),
        sum.turn_relay.is_some(),
    );
    info!(?verdict, relied_on = sum.relied_on.name(), "NAT mapping");

    info!("phase: wait");
    println!("waiting");
    node.sleep(node.opts.gap);

    info!("phase: recheck");
    sum.dead_dropped = node.recheck(&mut sending);

    info!("phase: wait-attack");
    println!("attack-window");
    node.sleep(node.opts.gap);

    info!("phase: after-attack");
    let mut fresh = SendingNode::new(config::node_config()?);
    for _ in 0..3 {
        node.recursive(&mut fresh, Code::Join, node.id, Body::Empty);
        if !fresh.is_empty() || node.stopped() {
            break;
        }
        node.sleep(Duration::from_secs(1));
    }
    sum.garbage_survived = !fresh.is_empty();
    info!(candidates = fresh.len(), stats = ?fresh.stats(), "discovery after the attack");
    info!(stats = ?sending.stats(), "the node's counts");
    Ok(sum)
}

impl Node<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Sleeps `d`, or less if asked to stop.
    fn sleep(&self, d: Duration) {
        let end = Instant::now() + d;
        while !self.stopped() && Instant::now() < end {
            std::thread::sleep(
                end.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100)),
            );
        }
    }

    /// Sends `frame` to `to` and waits for its response (three tries).
    fn exchange(&mut self, to: SocketAddr, frame: &Frame) -> Option<Frame> {
        let bytes = match frame.encode() {
            Ok(b) => b,
            Err(e) => {
                warn!(error = %e, "frame not sent");
                return None;
            }
        };
        let mut buf = vec![0u8; 65_536];
        for _ in 0..3 {
            if self.stopped() {
                return None;
            }
            if let Err(e) = self.sock.send_to(&bytes, to) {
                warn!(%to, error = %e, "send failed");
                return None;
            }
            let deadline = Instant::now() + Duration::from_millis(1500);
            while let Some(left) = deadline.checked_duration_since(Instant::now()) {
                let _ = self
                    .sock
                    .set_read_timeout(Some(left.max(Duration::from_millis(1))));
                let Ok((len, from)) = self.sock.recv_from(&mut buf) else {
                    continue;
                };
                if stun::is_stun(&buf[..len]) {
                    continue; // a late STUN answer
                }
                match Frame::decode(&buf[..len]) {
                    Ok(f) if f.response && f.txid == frame.txid && f.route.is_empty() => {
                        return Some(f)
                    }
                    Ok(_) => {}
                    Err(e) => warn!(%from, error = %e, "malformed frame dropped"),
                }
            }
        }
        warn!(%to, code = ?frame.code, "no response after 3 tries");
        None
    }

    /// A request of `code` to `key`, routed recursively with the recursive
    /// option; the set that comes back goes into `sending`.
    fn recursive(
        &mut self,
        sending: &mut SendingNode,
        code: Code,
        key: u64,
        body: Body,
    ) -> Option<Body> {
        let mut frame = Frame::request(code, self.rng.random(), key, self.id);
        frame.body = body.encode();
        // glue: the recursive option in the request
        let mut option = BytesMut::new();
        let encoded = wire::encode_option(
            &sending.recursive_option(),
            Direction::Request,
            &WIRE,
            &mut option,
        );
        if let Err(e) = encoded {
            warn!(error = %e, "option not encoded");
            return None;
        }
        frame.option = Some(option);
        let response = self.exchange(self.opts.bootstrap, &frame)?;
        self.record_observed(sending, self.opts.bootstrap, &response);
        // glue: the set from the response into the node (§4.1 step 2)
        let kind = config::kind_of(code);
        match response
            .option
            .as_deref()
            .map(|o| wire::decode_option(&mut &o[..], &WIRE))
        {
            Some(Ok(option)) => match sending.on_response(Instant::now(), kind, &option) {
                Ok(report) => info!(%report, "recursive {kind:?}"),
                Err(e) => warn!(error = %e, "candidate set refused"),
            },
            Some(Err(e)) => warn!(error = %e, error_kind = ?e, "malformed option in the response"),
            None => warn!(?kind, "response without the option"),
        }
        self.print_new(sending);
        Body::decode(&response.body).ok()
    }

    /// Prints `discovered <ip:port>` for every candidate not printed yet.
    fn print_new(&mut self, sending: &SendingNode) {
        for c in sending.candidates() {
            let address = c.candidate().address;
            if self.printed.insert(address) {
                info!(candidate = %c.candidate(), hop = c.hop(), "discovered");
                println!("discovered {}", address.socket_addr());
            }
        }
    }

    /// A STUN Binding to every discovered candidate not tried yet; counts
    /// the answers, and keeps the first reflexive address.
    fn stun_new(&mut self, sending: &mut SendingNode, sum: &mut Summary) {
        let new: Vec<TransportAddress> = self
            .printed
            .iter()
            .filter(|a| !self.probed.contains(*a))
            .copied()
            .collect();
        for address in new {
            self.probed.insert(address);
            let Some(b) = self.stun(sending, &address, 3) else {
                continue;
            };
            sum.stun_ok += 1;
            match sum.reflexive {
                None => sum.reflexive = Some(b.reflexive),
                Some(r) if r != b.reflexive => warn!(
                    %address, reflexive = %b.reflexive, first = %r,
                    "another reflexive address: an endpoint-dependent NAT?"
                ),
                Some(_) => {}
            }
        }
    }

    /// A STUN Binding to `address`, its outcome reported to `sending`.
    fn stun(
        &mut self,
        sending: &mut SendingNode,
        address: &TransportAddress,
        tries: u32,
    ) -> Option<stun::Binding> {
        if address.transport() != Transport::Udp {
            return None;
        }
        let result = stun::binding(
            &self.sock,
            address.socket_addr(),
            Duration::from_secs(1),
            tries,
        );
        // glue: feedback
        let feedback = match &result {
            Ok(b) => Feedback::Worked { rtt: b.rtt },
            Err(_) => Feedback::Failed,
        };
        let _ = sending.feedback(Instant::now(), address, feedback);
        match result {
            Ok(b) => {
                info!(server = %address, reflexive = %b.reflexive, rtt = ?b.rtt, "STUN Binding answered");
                Some(b)
            }
            Err(e) => {
                warn!(server = %address, error = %e, "STUN Binding failed");
                None
            }
        }
    }

    /// A TURN allocation on the best TURN candidates, one after the other
    /// until one allocates.
    fn turn(&mut self, sending: &mut SendingNode) -> Option<SocketAddr> {
        let ip = self.sock.local_addr().ok()?.ip();
        // glue: picking TURN candidates
        let turn_capable = Filter::services(Services::TURN).with_transport(Transport::Udp);
        for c in sending.best_for(Instant::now(), 8, &turn_capable) {
            let address = c.candidate().address;
            let result = turn::allocate(
                ip,
                address.socket_addr(),
                &self.opts.user,
                &self.opts.pass,
                Duration::from_secs(5),
            );
            let feedback = match &result {
                Ok(r) => Feedback::Worked { rtt: r.rtt },
                Err(_) => Feedback::Failed,
            };
            let _ = sending.feedback(Instant::now(), &address, feedback);
            match result {
                Ok(relay) => {
                    info!(server = %address, relayed = %relay.relayed, rtt = ?relay.rtt, realm = %self.opts.realm, "TURN relay allocated");
                    return Some(relay.relayed);
                }
                Err(e) => {
                    warn!(server = %address, error = %e, realm = %self.opts.realm, "TURN allocation failed")
                }
            }
        }
        warn!("no TURN candidate allocated a relay");
        None
    }

    /// Records what the peer at `to`, which response `f` came from, saw
    /// the request come from: attributed to the address the node sent the
    /// request to, never to one the response names.
    fn record_observed(&self, sending: &mut SendingNode, to: SocketAddr, f: &Frame) {
        match observed::in_response(f) {
            Ok(Some(seen)) => {
                // glue: an observed address into the node
                let outcome = sending.observed(Instant::now(), to.ip(), seen.socket_addr());
                match outcome {
                    RecordOutcome::Refused => warn!(%to, %seen, "observed address refused"),
                    RecordOutcome::Changed { previous } => {
                        info!(%to, %seen, %previous, "observed address changed");
                    }
                    _ => debug!(%to, %seen, ?outcome, "observed address"),
                }
            }
            Ok(None) => debug!(%to, "response without an observed address"),
            Err(e) => warn!(%to, error = %e, error_kind = ?e, "malformed observed address"),
        }
    }

    /// Lookups of random keys routed iteratively, each hop asked directly,
    /// until the observed addresses give a mapping verdict (three peers
    /// at distinct addresses at least) or `OBSERVE_LOOKUPS` are done; a
    /// lookup that reached no peer not asked before is followed by a
    /// pause, for the ring's routing to spread.
    fn observe(&mut self, sending: &mut SendingNode) {
        let mut asked = BTreeSet::new();
        for lookup in 1..=OBSERVE_LOOKUPS {
            if sending.mapping() != Mapping::Unknown || self.stopped() {
                break;
            }
            let key: u64 = self.rng.random();
            let walk = self.iterative(sending, Code::Get, key);
            let before = asked.len();
            asked.extend(walk.asked.iter().copied());
            let v = sending.nat_verdict();
            info!(
                lookup,
                hops = walk.asked.len(),
                peers = asked.len(),
                current = v.current,
                mapping = mapping_name(v.mapping),
                "observe lookup"
            );
            if asked.len() == before && v.mapping == Mapping::Unknown {
                self.sleep(OBSERVE_PAUSE);
            }
        }
        let v = sending.nat_verdict();
        info!(
            mapped_ip = ?v.mapped_ip, reflexive = ?v.reflexive, nat = ?v.nat,
            mapping = mapping_name(v.mapping), observers = v.observers, current = v.current,
            "observed addresses"
        );
    }

    /// A GET routed iteratively (see `iterative`). Returns the distinct
    /// candidates the hops offered.
    fn iterative_get(&mut self, sending: &mut SendingNode, key: u64, expected: &[u8]) -> usize {
        let walk = self.iterative(sending, Code::Get, key);
        let hops = walk.asked.len();
        match walk.body {
            Some(Body::Value(v)) => {
                info!(
                    hops,
                    matches = (v == expected),
                    "GET answered with the value"
                );
            }
            other => info!(hops, ?other, "GET ended"),
        }
        walk.offered.len()
    }

    /// A request of `code` to `key` routed iteratively: the node asks each
    /// hop itself, with the iterative option for that hop, saves each
    /// answer and records each observed address.
    fn iterative(&mut self, sending: &mut SendingNode, code: Code, key: u64) -> Lookup {
        let mut walk = Lookup::default();
        let (mut at, mut hop, mut last) = (self.opts.bootstrap, 1u8, false);
        let kind = config::kind_of(code);
        loop {
            walk.asked.push(at);
            let mut frame = Frame::request(code, self.rng.random(), key, self.id);
            frame.flags = flags::ITERATIVE | if last { flags::FINAL } else { 0 };
            // glue: the iterative option for this hop
            let mut option = BytesMut::new();
            if wire::encode_option(
                &sending.iterative_option(hop),
                Direction::Request,
                &WIRE,
                &mut option,
            )
            .is_ok()
            {
                frame.option = Some(option);
            }
            let Some(response) = self.exchange(at, &frame) else {
                return walk;
            };
            self.record_observed(sending, at, &response);
            // glue: the iterative answer into the node (§3.3.2 step 2)
            let answers = response
                .extensions
                .iter()
                .filter(|e| !observed::is_extension(e));
            for ext in answers {
                match wire::decode_answer(&mut &ext[..], &WIRE) {
                    Ok((_, set)) => {
                        let offered = set.entries().iter().map(|e| e.candidate.address);
                        walk.offered.extend(offered);
                        match sending.on_answer(Instant::now(), kind, hop, &set) {
                            Ok(report) => info!(hop, %at, %report, "iterative answer"),
                            Err(e) => warn!(hop, %at, error = %e, "iterative answer refused"),
                        }
                    }
                    Err(e) => warn!(hop, %at, error = %e, "malformed iterative answer"),
                }
            }
            self.print_new(sending);
            match Body::decode(&response.body) {
                Ok(Body::Redirect { next, last: l }) if hop < 16 => {
                    (at, hop, last) = (next.addr, hop + 1, l);
                }
                Ok(body) => {
                    walk.body = Some(body);
                    return walk;
                }
                Err(e) => {
                    warn!(error = %e, "malformed answer");
                    return walk;
                }
            }
        }
    }

    /// STUN again to every candidate `best` hands out, until a round finds
    /// no new failure. Returns whether some candidate failed and `best`
    /// hands none of those out any more.
    fn recheck(&mut self, sending: &mut SendingNode) -> bool {
        let mut dead = BTreeSet::new();
        for round in 1..=4 {
            let before = dead.len();
            for c in sending.best(Instant::now(), 64) {
                let address = c.candidate().address;
                if self.stun(sending, &address, 2).is_none() {
                    dead.insert(address);
                }
            }
            let handed: Vec<_> = sending
                .best(Instant::now(), 64)
                .into_iter()
                .map(|c| c.candidate().address)
                .collect();
            info!(
                round,
                failed = dead.len(),
                best = handed.len(),
                "recheck round"
            );
            if dead.len() == before || self.stopped() {
                break;
            }
        }
        let handed: BTreeSet<_> = sending
            .best(Instant::now(), 64)
            .into_iter()
            .map(|c| c.candidate().address)
            .collect();
        for d in &dead {
            info!(server = %d, still_handed_out = handed.contains(d), backing_off_until = ?sending.get(d).and_then(|c| c.retry_at()), "stopped answering");
        }
        !dead.is_empty() && dead.iter().all(|d| !handed.contains(d))
    }
}

/// What an iterative lookup did.
#[derive(Debug, Default)]
struct Lookup {
    /// The distinct candidates the hops offered.
    offered: BTreeSet<TransportAddress>,
    /// The peers asked, in order.
    asked: Vec<SocketAddr>,
    /// The last hop's body, unless it did not answer or answered garbage.
    body: Option<Body>,
}

/// The node's own addresses, for NAT detection: the bound one, or when
/// bound to the unspecified address, the source address the kernel picks
/// towards each server (a connected UDP socket sends nothing).
fn local_ips(bound: SocketAddr, servers: &[TransportAddress]) -> Vec<IpAddr> {
    if !bound.ip().is_unspecified() {
        return vec![bound.ip()];
    }
    let mut ips = Vec::new();
    for s in servers {
        let probe = UdpSocket::bind(SocketAddr::new(bound.ip(), 0))
            .and_then(|u| u.connect(s.socket_addr()).map(|()| u))
            .and_then(|u| u.local_addr());
        if let Ok(a) = probe {
            if !ips.contains(&a.ip()) {
                ips.push(a.ip());
            }
        }
    }
    ips
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reliance_follows_the_mapping() {
        use Mapping::{EndpointDependent as Dep, EndpointIndependent as Indep, Unknown};
        use Reliance::{Nothing, Stun, Turn};
        // (mapping, reflexive, relay) -> what the node relies on
        let cases = [
            (Dep, true, true, Turn),
            (Dep, true, false, Nothing),
            (Dep, false, true, Turn),
            (Dep, false, false, Nothing),
            (Indep, true, true, Stun),
            (Indep, true, false, Stun),
            (Indep, false, true, Turn),
            (Indep, false, false, Nothing),
            (Unknown, true, true, Turn),
            (Unknown, true, false, Stun),
            (Unknown, false, true, Turn),
            (Unknown, false, false, Nothing),
        ];
        for (mapping, reflexive, relay, expected) in cases {
            assert_eq!(
                Reliance::choose(mapping, reflexive, relay),
                expected,
                "{mapping:?} reflexive={reflexive} relay={relay}"
            );
        }
    }

    fn worked(mapping: Mapping, relay: Option<SocketAddr>) -> Summary {
        let reflexive = Some("172.31.0.1:6084".parse().unwrap());
        Summary {
            discovered: 4,
            stun_ok: 4,
            reflexive,
            nated: true,
            mapping,
            observers: 5,
            turn_relay: relay,
            relied_on: Reliance::choose(mapping, true, relay.is_some()),
            iterative_discovered: 4,
            dead_dropped: true,
            garbage_survived: true,
        }
    }

    #[test]
    fn the_line_names_mapping_observers_and_reliance() {
        let relay = Some("172.31.0.14:50348".parse().unwrap());
        assert_eq!(
            worked(Mapping::EndpointDependent, relay).line(),
            "e2e: discovered=4 stun_ok=4 reflexive=172.31.0.1:6084 nated=true mapping=dependent observers=5 turn_relay=172.31.0.14:50348 relied_on=turn iterative_discovered=4 dead_dropped=true garbage_survived=true"
        );
        assert_eq!(
            Summary::default().line(),
            "e2e: discovered=0 stun_ok=0 reflexive=none nated=false mapping=unknown observers=0 turn_relay=none relied_on=none iterative_discovered=0 dead_dropped=false garbage_survived=false"
        );
        assert!(worked(Mapping::EndpointIndependent, None)
            .line()
            .contains(" mapping=independent observers=5 turn_relay=none relied_on=stun "));
    }

    #[test]
    fn a_relay_is_needed_unless_the_mapping_is_independent() {
        let relay = Some("172.31.0.14:50348".parse().unwrap());
        assert!(worked(Mapping::EndpointDependent, relay).all_worked());
        assert!(!worked(Mapping::EndpointDependent, None).all_worked());
        assert!(worked(Mapping::EndpointIndependent, None).all_worked());
        assert!(worked(Mapping::Unknown, relay).all_worked());
        assert!(!worked(Mapping::Unknown, None).all_worked());
        assert!(!Summary::default().all_worked());
    }
}
