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
//! - `turn_relay`: the relayed address of the first TURN candidate that
//!   allocated;
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
    Feedback, Filter, MessageKind, NatStatus, SendingNode, Services, Transport, TransportAddress,
};
use tracing::{info, warn};

use crate::config::{self, WIRE};
use crate::framing::{flags, Body, Code, Frame};
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

/// The run's results, printed as the `e2e:` line.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    discovered: usize,
    stun_ok: usize,
    reflexive: Option<SocketAddr>,
    nated: bool,
    turn_relay: Option<SocketAddr>,
    iterative_discovered: usize,
    dead_dropped: bool,
    garbage_survived: bool,
}

impl Summary {
    /// The `e2e:` line.
    pub(crate) fn line(&self) -> String {
        let or_none = |a: Option<SocketAddr>| a.map_or("none".to_string(), |a| a.to_string());
        format!(
            "e2e: discovered={} stun_ok={} reflexive={} nated={} turn_relay={} iterative_discovered={} dead_dropped={} garbage_survived={}",
            self.discovered,
            self.stun_ok,
            or_none(self.reflexive),
            self.nated,
            or_none(self.turn_relay),
            self.iterative_discovered,
            self.dead_dropped,
            self.garbage_survived
        )
    }

    /// Whether every part worked (the node's own verdict; the script
    /// applies its assertions on the line).
    pub(crate) fn all_worked(&self) -> bool {
        self.discovered > 0
            && self.stun_ok >= self.discovered
            && self.reflexive.is_some()
            && self.turn_relay.is_some()
            && self.iterative_discovered > 0
            && self.dead_dropped
            && self.garbage_survived
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

    info!("phase: stun");
    let interfaces = local_ips(node.sock.local_addr()?, &joined);
    node.stun_new(&mut sending, &mut sum);
    if let Some(reflexive) = sum.reflexive {
        let local_port = node.sock.local_addr()?.port();
        // glue: NAT detection (§3.2.1)
        let nat = NatStatus::detect(interfaces.iter().copied(), local_port, reflexive);
        info!(%nat, ?interfaces, "NAT status");
        sum.nated = nat.is_behind_nat();
    }

    info!("phase: turn");
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

    /// A GET routed iteratively: the node asks each hop itself, with the
    /// iterative option for that hop, and saves each answer. Returns the
    /// distinct candidates the hops offered.
    fn iterative_get(&mut self, sending: &mut SendingNode, key: u64, expected: &[u8]) -> usize {
        let mut offered = BTreeSet::new();
        let (mut at, mut hop, mut last) = (self.opts.bootstrap, 1u8, false);
        loop {
            let mut frame = Frame::request(Code::Get, self.rng.random(), key, self.id);
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
                break;
            };
            // glue: the iterative answer into the node (§3.3.2 step 2)
            for ext in &response.extensions {
                match wire::decode_answer(&mut &ext[..], &WIRE) {
                    Ok((_, set)) => {
                        offered.extend(set.entries().iter().map(|e| e.candidate.address));
                        match sending.on_answer(Instant::now(), MessageKind::Get, hop, &set) {
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
                Ok(Body::Value(v)) => {
                    info!(
                        hops = hop,
                        matches = (v == expected),
                        "GET answered with the value"
                    );
                    break;
                }
                Ok(other) => {
                    info!(hops = hop, ?other, "GET ended");
                    break;
                }
                Err(e) => {
                    warn!(error = %e, "malformed GET answer");
                    break;
                }
            }
        }
        offered.len()
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
