//! One ring peer: a UDP socket, the ring, and the crate's intermediate
//! peer at every hop.
//!
//! - It joins through `--bootstrap` (a JOIN routed to its own id), then
//!   every `TICK` sends an UPDATE to each member of its routing state and
//!   routes one FIND for a finger (routing maintenance).
//! - Its JOIN and every UPDATE and UPDATE answer carry its willingness
//!   advert (`wire::encode_advert`); it files the adverts of the peers of
//!   its routing state into its candidate table
//!   (`CandidateTable::advertised`) and drops them when they leave it
//!   (`advertiser_left`). No peer knows more than it was told.
//! - Every request carrying the piggyback option goes through the crate at
//!   every hop: a recursive option is appended to in place
//!   (`IntermediatePeer::on_encoded_request`), an iterative one answered
//!   (`on_request`, `wire::encode_answer`) in the redirect or the answer;
//!   the responder copies a RESPONSE_COPY option back with its flags
//!   cleared; every hop a response passes calls `on_response`.
//! - A hop that received such a request straight from its sender (every
//!   hop in iterative mode, the first in recursive mode) sends back the
//!   address the datagram came from, as the crate's report says
//!   (`HopReport::observed`; see `observed` for where it goes).
//! - Whatever is malformed (a frame, an option, an advert, a body) is
//!   dropped with a typed error logged at `warn`; the peer keeps serving.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::bytes::BytesMut;
use stun_turn_discovery::error::Error;
use stun_turn_discovery::peer::Requester;
use stun_turn_discovery::rand::{RngExt, SeedableRng};
use stun_turn_discovery::wire::{self, OptionView};
use stun_turn_discovery::{
    Advertisement, Candidate, IntermediatePeer, Outcome, RoutingMode, Services, Source,
    TransportAddress,
};
use tracing::{debug, info, warn};

use crate::config::{self, node_id, TICK, WIRE};
use crate::framing::{flags, Body, Code, Frame, PeerRef, MAX_ROUTE};
use crate::observed;
use crate::ring::{Next, Ring};

/// Largest value a PUT may store, and most values a peer keeps.
const MAX_VALUE: usize = 512;
const MAX_VALUES: usize = 1024;
/// Most adverts kept for peers not (yet) in the routing state.
const MAX_ADVERTS: usize = 256;
/// How long this peer waits for an answer to its own request.
const PENDING_FOR: Duration = Duration::from_secs(5);

/// What the command line says about this peer.
#[derive(Debug, Clone)]
pub(crate) struct PeerOptions {
    /// The overlay address.
    pub(crate) bind: SocketAddr,
    /// Where to join, if not the first peer.
    pub(crate) bootstrap: Option<SocketAddr>,
    /// Ring id.
    pub(crate) id: u64,
    /// The STUN/TURN server this peer advertises, and its services.
    pub(crate) server: Option<(SocketAddr, Services)>,
}

/// What a request of this peer's own was.
#[derive(Debug, Clone, Copy)]
enum Pending {
    Join,
    Update,
    Find,
}

/// A running ring peer.
pub(crate) struct Peer {
    opts: PeerOptions,
    sock: UdpSocket,
    ring: Ring,
    engine: IntermediatePeer,
    own: Vec<Candidate>,
    advert: Vec<u8>,
    adverts: BTreeMap<u64, Advertisement>,
    filed: BTreeSet<(Source, u64)>,
    store: BTreeMap<u64, Vec<u8>>,
    pending: HashMap<u64, (Pending, Instant)>,
    rng: ChaCha8Rng,
    joined: bool,
    finger: u32,
    malformed: u64,
}

impl Peer {
    /// Binds the socket and sets up the crate's state.
    pub(crate) fn new(opts: PeerOptions) -> Result<Self, Box<dyn std::error::Error>> {
        let sock = UdpSocket::bind(opts.bind)?;
        let mut engine = IntermediatePeer::new(config::peer_config()?);
        // glue: the peer's own server goes into its own table (§3.3.1 item
        // 2) and into the advert it sends (§3.3.1 item 1).
        let own: Vec<Candidate> = opts
            .server
            .iter()
            .map(|&(addr, services)| Candidate::peer(TransportAddress::udp(addr), services))
            .collect();
        let advert = if own.is_empty() {
            Advertisement::not_willing()
        } else {
            Advertisement::new(own.clone()).map_err(Error::from)?
        };
        let mut bytes = Vec::new();
        wire::encode_advert(&advert, &WIRE, &mut bytes).map_err(Error::from)?;
        let report = engine
            .table_mut()
            .set_local_peer(Instant::now(), own.clone());
        for e in &report.refused {
            warn!(error = %e, "own server refused by the table");
        }
        let seed = opts.id ^ std::process::id() as u64;
        Ok(Self {
            ring: Ring::new(PeerRef {
                id: opts.id,
                addr: opts.bind,
            }),
            sock,
            engine,
            own,
            advert: bytes,
            adverts: BTreeMap::new(),
            filed: BTreeSet::new(),
            store: BTreeMap::new(),
            pending: HashMap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            joined: opts.bootstrap.is_none(),
            finger: 0,
            malformed: 0,
            opts,
        })
    }

    /// Serves until `stop` is set.
    pub(crate) fn run(&mut self, stop: &AtomicBool) -> std::io::Result<()> {
        info!(id = self.opts.id, bind = %self.opts.bind, server = ?self.opts.server, "peer up");
        if self.joined {
            println!("ready {}", self.opts.bind);
        }
        let mut buf = vec![0u8; 65_536];
        let mut next_tick = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= next_tick {
                self.tick(now);
                next_tick = now + TICK;
            }
            let wait = next_tick.saturating_duration_since(Instant::now());
            let wait = wait.clamp(Duration::from_millis(1), Duration::from_millis(100));
            self.sock.set_read_timeout(Some(wait))?;
            match self.sock.recv_from(&mut buf) {
                Ok((len, from)) => self.on_datagram(Instant::now(), &buf[..len], from),
                Err(e) if quiet(&e) => {}
                Err(e) => warn!(error = %e, "receive failed"),
            }
        }
        let stats = self.engine.stats();
        info!(
            ?stats,
            malformed_frames = self.malformed,
            table = self.engine.table().len(),
            known = self.ring.known_len(),
            "peer stopping"
        );
        Ok(())
    }

    /// Routing maintenance, or another try at joining.
    fn tick(&mut self, now: Instant) {
        self.pending
            .retain(|_, (_, at)| now.saturating_duration_since(*at) < PENDING_FOR);
        if !self.joined {
            let Some(bootstrap) = self.opts.bootstrap else {
                return;
            };
            let mut join = self.request(Code::Join, self.opts.id, Pending::Join, now);
            join.extensions.push(self.advert.clone());
            self.send(&join, bootstrap);
            return;
        }
        for gone in self.ring.expire(now) {
            info!(peer = gone.id, addr = %gone.addr, "routing state member silent: dropped");
            self.adverts.remove(&gone.id);
        }
        // glue: entries not refreshed within the table's lifetime go; the
        // peer's own entry is refreshed.
        let table = self.engine.table_mut();
        let _ = table.expire(now);
        let _ = table.set_local_peer(now, self.own.clone());
        self.resync(now);
        let gossip = Body::Peers(self.ring.gossip(now));
        let members: Vec<PeerRef> = self.ring.members().collect();
        for m in members {
            let mut update = self.request(Code::Update, m.id, Pending::Update, now);
            update.body = gossip.encode();
            update.extensions.push(self.advert.clone());
            self.send(&update, m.addr);
        }
        let target = self.ring.finger_target(self.finger);
        self.finger = self.finger.wrapping_add(1);
        if let Next::Forward { to, last } = self.ring.next_hop(target) {
            let mut find = self.request(Code::Find, target, Pending::Find, now);
            if last {
                find.flags |= flags::FINAL;
            }
            self.send(&find, to.addr);
        }
    }

    /// A request of this peer's own, remembered until answered.
    fn request(&mut self, code: Code, key: u64, what: Pending, now: Instant) -> Frame {
        let txid = self.rng.random();
        self.pending.insert(txid, (what, now));
        Frame::request(code, txid, key, self.opts.id)
    }

    fn send(&self, frame: &Frame, to: SocketAddr) {
        match frame.encode() {
            Ok(bytes) => {
                if let Err(e) = self.sock.send_to(&bytes, to) {
                    debug!(%to, error = %e, "send failed");
                }
            }
            Err(e) => warn!(%to, error = %e, "frame not sent"),
        }
    }

    fn on_datagram(&mut self, now: Instant, bytes: &[u8], from: SocketAddr) {
        match Frame::decode(bytes) {
            Ok(f) if f.response => self.on_response(now, f, from),
            Ok(f) => self.on_request(now, f, from),
            Err(e) => {
                self.malformed += 1;
                warn!(%from, error = %e, error_kind = ?e, "malformed frame dropped");
            }
        }
    }

    fn on_request(&mut self, now: Instant, mut f: Frame, from: SocketAddr) {
        if !self.joined {
            debug!(%from, "not joined yet: request dropped");
            return;
        }
        if f.route.len() >= MAX_ROUTE {
            warn!(%from, hops = f.route.len(), "route too long: request dropped");
            return;
        }
        f.route.push(from);
        // The source as the first hop saw it: the sending node itself, for
        // the per-requester limit and, when this peer is that first hop
        // (the datagram came straight from the sender), the observed
        // address. Whatever observed slot the sender put in itself is no
        // observation: the first hop clears it.
        let requester = Requester::Transport(TransportAddress::udp(f.route[0]));
        let direct = f.route.len() == 1;
        if direct {
            f.observed = None;
        }
        let next = if f.code == Code::Update || f.flags & flags::FINAL != 0 {
            Next::Me
        } else {
            self.ring.next_hop(f.key)
        };
        let answer = self.piggyback(now, requester, direct, &mut f);
        match next {
            Next::Forward { to, last } if f.flags & flags::ITERATIVE != 0 => {
                self.respond(&f, &Body::Redirect { next: to, last }, answer);
            }
            Next::Forward { to, last } => {
                if f.ttl == 0 {
                    warn!(%from, key = f.key, "TTL expired: request dropped");
                    return;
                }
                f.ttl -= 1;
                if last {
                    f.flags |= flags::FINAL;
                }
                debug!(code = ?f.code, key = f.key, next = to.id, "forward");
                self.send(&f, to.addr);
            }
            Next::Me => self.answer(now, &f, from, answer),
        }
    }

    /// The crate's part of a request at this hop (§4.2): append in place to
    /// a recursive option, or answer an iterative one. `direct`: the
    /// request came straight from its sender. Returns the extensions of an
    /// immediate (iterative) response: the encoded answer and the observed
    /// address; in recursive mode the observed address goes into the
    /// request's observed slot instead, for the responder to copy back.
    fn piggyback(
        &mut self,
        now: Instant,
        from: Requester,
        direct: bool,
        f: &mut Frame,
    ) -> Vec<Vec<u8>> {
        let kind = config::kind_of(f.code);
        let Some(option) = f.option.as_mut() else {
            return Vec::new();
        };
        let view = OptionView::new_checked(&option[..], &WIRE);
        if view.is_ok_and(|v| v.mode() == RoutingMode::Iterative) {
            let mut decoded = match wire::decode_option(&mut &option[..], &WIRE) {
                Ok(o) => o,
                Err(e) => {
                    warn!(%from, error = %e, error_kind = ?e, "malformed iterative option");
                    return Vec::new();
                }
            };
            let outcome =
                self.engine
                    .on_request(now, kind, Some(from), &mut decoded, &mut self.rng);
            debug!(report = %outcome.report(), %from, "piggyback");
            let mut extensions = Vec::new();
            if let Outcome::Answer(set, report) = &outcome {
                let mut ext = Vec::new();
                match wire::encode_answer(set, report.answer_info(), &WIRE, &mut ext) {
                    Ok(()) => extensions.push(ext),
                    Err(e) => warn!(error = %e, "answer not encoded"),
                }
            }
            // glue: the observed address next to the answer
            if let Some(seen) = outcome.report().observed.filter(|_| direct) {
                match observed::extension(&seen) {
                    Ok(ext) => extensions.push(ext),
                    Err(e) => warn!(error = %e, "observed address not encoded"),
                }
            }
            extensions
        } else {
            // Recursive, or malformed: on_encoded_request says which, and
            // leaves a malformed option untouched (forwarded as it came).
            match self.engine.on_encoded_request(
                now,
                kind,
                Some(from),
                option,
                &WIRE,
                &mut self.rng,
            ) {
                Ok(report) => {
                    debug!(%report, %from, "piggyback");
                    // glue: the observed address, for the responder to copy
                    // back (the first hop only)
                    if let Some(seen) = report.observed.filter(|_| direct) {
                        match observed::request_option(&seen) {
                            Ok(slot) => f.observed = Some(slot),
                            Err(e) => warn!(error = %e, "observed address not encoded"),
                        }
                    }
                }
                Err(e) => warn!(
                    %from, error = %e, error_kind = ?e,
                    "malformed piggyback option: forwarded untouched"
                ),
            }
            Vec::new()
        }
    }

    /// This peer is responsible: it answers.
    fn answer(&mut self, now: Instant, f: &Frame, from: SocketAddr, answer: Vec<Vec<u8>>) {
        let body = match f.code {
            Code::Join => {
                // The joiner's advert counts once it is in the routing state.
                self.take_adverts(now, f.origin, &f.extensions);
                Body::Peers(self.ring.gossip(now))
            }
            Code::Find => Body::Peers(self.ring.gossip(now)),
            Code::Update => {
                if f.route.len() == 1 {
                    let sender = PeerRef {
                        id: f.origin,
                        addr: from,
                    };
                    self.ring.learn(now, sender, true);
                    if let Ok(Body::Peers(list)) = Body::decode(&f.body) {
                        for p in list {
                            self.ring.learn(now, p, false);
                        }
                    }
                    self.take_adverts(now, f.origin, &f.extensions);
                    self.resync(now);
                }
                Body::Peers(self.ring.gossip(now))
            }
            Code::Get => match self.store.get(&f.key) {
                Some(v) => Body::Value(v.clone()),
                None => Body::NotFound,
            },
            Code::Put => match Body::decode(&f.body) {
                Ok(Body::Value(v)) if v.len() <= MAX_VALUE => {
                    if self.store.len() < MAX_VALUES || self.store.contains_key(&f.key) {
                        self.store.insert(f.key, v);
                        Body::Stored
                    } else {
                        warn!(%from, "store full: PUT refused");
                        Body::NotFound
                    }
                }
                Ok(_) => {
                    warn!(%from, "PUT without a value of at most {MAX_VALUE} bytes");
                    Body::NotFound
                }
                Err(e) => {
                    warn!(%from, error = %e, "malformed PUT body");
                    return;
                }
            },
        };
        self.respond(f, &body, answer);
    }

    /// Sends the response to request `f` back along its route, with
    /// `answer` (the extensions of an iterative response).
    fn respond(&mut self, f: &Frame, body: &Body, answer: Vec<Vec<u8>>) {
        let mut resp = f.response(self.opts.id, body);
        // glue: the option goes back in recursive mode (RESPONSE_COPY),
        // flags cleared (RFC 6940 §6.3.2.3).
        if let Some(option) = &f.option {
            if let Ok(mut view) = OptionView::new_checked(option.to_vec(), &WIRE) {
                if view.flags() & wire::fwd_flags::RESPONSE_COPY != 0 {
                    view.set_flags(0);
                    resp.option = Some(BytesMut::from(&view.into_inner()[..]));
                }
            }
        }
        if let Some(slot) = &f.observed {
            match observed::copied_back(slot) {
                Ok(copy) => resp.observed = copy,
                Err(e) => warn!(
                    error = %e, error_kind = ?e,
                    "malformed observed option: not copied back"
                ),
            }
        }
        resp.extensions.extend(answer);
        if matches!(f.code, Code::Join | Code::Update) {
            resp.extensions.push(self.advert.clone());
        }
        let Some(back) = resp.route.pop() else {
            return;
        };
        self.send(&resp, back);
    }

    fn on_response(&mut self, now: Instant, mut f: Frame, from: SocketAddr) {
        if let Some(back) = f.route.pop() {
            // On its way back: forwarded unchanged (§4.2 step 1), but only
            // when it comes from a ring peer, so nobody can bounce
            // datagrams off this peer to an address of their choice.
            if !self.ring.knows_addr(&from) {
                warn!(%from, "response with a route from a stranger: dropped");
                return;
            }
            if f.option.is_some() {
                self.engine.on_response(config::kind_of(f.code));
            }
            self.send(&f, back);
            return;
        }
        let Some((what, _)) = self.pending.remove(&f.txid) else {
            debug!(%from, txid = f.txid, "unsolicited response dropped");
            return;
        };
        let body = match Body::decode(&f.body) {
            Ok(b) => b,
            Err(e) => {
                warn!(%from, error = %e, "malformed response body");
                return;
            }
        };
        if let Body::Peers(list) = &body {
            for p in list {
                self.ring.learn(now, *p, p.addr == from && p.id == f.origin);
            }
        }
        match what {
            Pending::Join if !self.joined => {
                self.take_adverts(now, f.origin, &f.extensions);
                self.joined = true;
                info!(admitted_by = f.origin, "joined the ring");
                println!("ready {}", self.opts.bind);
            }
            Pending::Update => {
                let sender = PeerRef {
                    id: f.origin,
                    addr: from,
                };
                self.ring.learn(now, sender, true);
                self.take_adverts(now, f.origin, &f.extensions);
            }
            Pending::Join | Pending::Find => {}
        }
        self.resync(now);
    }

    /// Reads the adverts among `extensions`, sent by peer `origin`; files
    /// them if `origin` is in the routing state, keeps them otherwise for
    /// when it enters it.
    fn take_adverts(&mut self, now: Instant, origin: u64, extensions: &[Vec<u8>]) {
        for ext in extensions {
            // glue: the advert from a JOIN or UPDATE into the table (§3.3.1)
            let advert = match wire::decode_advert(&mut &ext[..], &WIRE) {
                Ok(a) => a,
                Err(e) => {
                    warn!(origin, error = %e, error_kind = ?e, "malformed advert dropped");
                    continue;
                }
            };
            let sources: Vec<Source> = self
                .filed
                .iter()
                .filter(|(_, id)| *id == origin)
                .map(|(s, _)| *s)
                .collect();
            for source in sources {
                let report =
                    self.engine
                        .table_mut()
                        .advertised(now, source, node_id(origin), &advert);
                if report.added > 0 || report.removed > 0 || !report.refused.is_empty() {
                    info!(origin, %source, %report, "advert filed");
                }
            }
            if self.adverts.len() < MAX_ADVERTS || self.adverts.contains_key(&origin) {
                self.adverts.insert(origin, advert);
            }
        }
    }

    /// Files the adverts of peers that entered the routing state and
    /// withdraws those of peers that left it (§3.3.1 MUST).
    fn resync(&mut self, now: Instant) {
        let state = self.ring.routing_state();
        for &(source, id) in self.filed.difference(&state) {
            // glue: an advertiser left the routing state
            let gone = self
                .engine
                .table_mut()
                .advertiser_left(source, &node_id(id));
            if gone > 0 {
                info!(peer = id, %source, entries = gone, "advertiser left the routing state");
            }
        }
        for &(source, id) in state.difference(&self.filed) {
            if let Some(advert) = self.adverts.get(&id) {
                // glue: an advertiser entered the routing state
                let report = self
                    .engine
                    .table_mut()
                    .advertised(now, source, node_id(id), advert);
                if report.added > 0 || !report.refused.is_empty() {
                    info!(peer = id, %source, %report, "advert filed");
                }
            }
        }
        self.filed = state;
    }

    /// This peer's ring id.
    pub(crate) fn id(&self) -> u64 {
        self.opts.id
    }
}

/// Receive errors that only mean "nothing yet" (or an ICMP error from an
/// earlier send).
pub(crate) fn quiet(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock
            | ErrorKind::TimedOut
            | ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::Interrupted
    )
}
