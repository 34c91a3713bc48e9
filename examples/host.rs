//! A compact overlay host: 30 peers on a Chord-like ring in one process,
//! talking RELOAD (RFC 6940 §6.3) over a simulated network with a virtual
//! clock and a seeded RNG, linking stun-turn-discovery the way a real peer
//! would.
//!
//! - Willing peers put their `Advertisement` in their JoinReq and in every
//!   UpdateReq and UpdateAns of routing maintenance; each peer files the
//!   adverts of the peers in its own routing state, and drops them when
//!   they leave it.
//! - A NATed node joins through a bootstrap peer with the piggyback option
//!   in its JoinReq (recursive routing: every hop appends inside the whole
//!   message), then GETs with RouteQuery and Fetch (iterative routing:
//!   every hop answers in a MessageExtension).
//! - The node uses what it learned, reports how it went, forgets one, saves
//!   its cache, restarts and restores it.
//!
//! Lines that exist only to connect the crate to the host lie between
//! `// glue:begin <what>` and `// glue:end`; `scripts/glue-lines` counts
//! them. Everything else (the ring, the framing, the simulated network and
//! clock) is the host's own code.
//!
//! Run with `cargo run --example host --all-features` (it needs `serde`).

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Buf, BufMut, BytesMut};
use rand_chacha::ChaCha8Rng;
// glue:begin imports
use stun_turn_discovery::peer::Requester;
use stun_turn_discovery::rand::{RngExt, SeedableRng};
use stun_turn_discovery::wire::{self, Direction, OptionView, WireConfig};
use stun_turn_discovery::*;
// glue:end

type Id = u128; // a 128-bit RELOAD Node-ID or Resource-ID
type Res<T> = Result<T, Box<dyn Error>>;

const SEED: u64 = 3;
const PEERS: usize = 30;
const JOINER: usize = 0; // joins the ring while the host runs
const BOOTSTRAP: usize = 1; // the NATed node's (and the joiner's) way in
const NODE: u8 = 1; // DestinationType node
const RESOURCE: u8 = 2; // DestinationType resource
const FETCH_REQ: u16 = 0x09; // an answer's code is its request's plus 1
const JOIN_REQ: u16 = 0x0f;
const UPDATE_REQ: u16 = 0x13;
const ROUTE_QUERY_REQ: u16 = 0x15;

// glue:begin configuration: code points, address policy, node, ids, message kinds
const WIRE: WireConfig = WireConfig {
    option_type: 1,    // exp-forward (RFC 6940 §14.12); a deployment registers its own
    extension_type: 1, // exp-ext (§14.14)
    ..WireConfig::DEFAULT
};

/// The simulated Internet uses the RFC 5737 documentation ranges for its
/// public addresses, which the default policy refuses; allow that class
/// only, so private, loopback and link-local servers are still refused.
fn policy() -> AddressPolicy {
    AddressPolicy::default().with_documentation(true)
}

/// The NATed node wants 12 candidates, and leaves a server that did not
/// answer alone for 2 minutes.
fn node_config() -> Res<NodeConfig> {
    let config = NodeConfig::default().with_wanted(N::new(12)?);
    Ok(config
        .with_address_policy(policy())
        .with_failure_backoff(Duration::from_secs(120))?)
}

/// The crate's Node-ID of a peer.
fn node_id(id: Id) -> NodeId {
    NodeId::new(&id.to_be_bytes()).expect("16 bytes")
}

/// The crate's name for a RELOAD request code.
fn kind_of(code: u16) -> MessageKind {
    match code {
        JOIN_REQ => MessageKind::Join,
        UPDATE_REQ => MessageKind::Maintenance,
        FETCH_REQ | ROUTE_QUERY_REQ => MessageKind::Get, // this host route-queries for Fetches only
        _ => MessageKind::Other,
    }
}
// glue:end

/// The parts of a RELOAD message (RFC 6940 §6.3) this host reads and writes.
#[derive(Default)]
struct Message {
    ttl: u8,
    transaction_id: u64,
    via: Vec<Id>,
    dest: Vec<(u8, Id)>,
    options: Vec<u8>, // the ForwardingOptions, as received
    code: u16,
    body: Vec<u8>,
    extensions: Vec<Vec<u8>>, // whole MessageExtensions
}

impl Message {
    fn encode(&self) -> BytesMut {
        let via = destinations(self.via.iter().map(|&id| (NODE, id)));
        let dest = destinations(self.dest.iter().copied());
        let extensions = self.extensions.concat();
        let contents = 2 + 4 + self.body.len() + 4 + extensions.len();
        let total = 38 + via.len() + dest.len() + self.options.len() + contents + 43;
        let mut m = BytesMut::with_capacity(total + 1024); // room for hops to append in place
        m.put_u32(0xd245_4c4f); // relo_token
        m.put_u32(0x5354_554e); // overlay: hash of the overlay's name
        m.put_u16(1); // configuration_sequence
        m.put_u8(0x0a); // version 1.0
        m.put_u8(self.ttl);
        m.put_u32(0xc000_0000); // fragment: unfragmented, last
        m.put_u32(total as u32);
        m.put_u64(self.transaction_id);
        m.put_u32(5000); // max_response_length
        m.put_u16(via.len() as u16);
        m.put_u16(dest.len() as u16);
        m.put_u16(self.options.len() as u16);
        m.put_slice(&via);
        m.put_slice(&dest);
        m.put_slice(&self.options);
        m.put_u16(self.code); // MessageContents
        m.put_u32(self.body.len() as u32);
        m.put_slice(&self.body);
        m.put_u32(extensions.len() as u32);
        m.put_slice(&extensions);
        // SecurityBlock stand-in: no certificates, sha256/rsa, a cert_hash
        // signer identity, an empty signature.
        m.put_slice(&[0, 0, 4, 1, 1, 0, 0x22, 4, 0x20]);
        m.put_bytes(0xcc, 32);
        m.put_u16(0);
        m
    }

    fn parse(mut b: &[u8]) -> Self {
        assert_eq!(b.get_u32(), 0xd245_4c4f, "not a RELOAD message");
        b.advance(7); // overlay, configuration_sequence, version
        let ttl = b.get_u8();
        b.advance(8); // fragment, length
        let transaction_id = b.get_u64();
        b.advance(4); // max_response_length
        let lens = [b.get_u16(), b.get_u16(), b.get_u16()].map(usize::from);
        let via = parse_destinations(take(&mut b, lens[0]));
        let dest = parse_destinations(take(&mut b, lens[1]));
        let options = take(&mut b, lens[2]).to_vec();
        let code = b.get_u16();
        let len = b.get_u32() as usize;
        let body = take(&mut b, len).to_vec();
        let len = b.get_u32() as usize;
        let mut list = take(&mut b, len);
        let mut extensions = Vec::new();
        while list.has_remaining() {
            let len = 7 + u32::from_be_bytes(list[3..7].try_into().unwrap()) as usize;
            extensions.push(take(&mut list, len).to_vec());
        }
        let via = via.into_iter().map(|(_, id)| id).collect();
        Self {
            ttl,
            transaction_id,
            via,
            dest,
            options,
            code,
            body,
            extensions,
        }
    }
}

fn destinations(list: impl IntoIterator<Item = (u8, Id)>) -> Vec<u8> {
    let mut b = Vec::new();
    for (kind, id) in list {
        // A NodeId is 16 bytes; a ResourceId is opaque<0..2^8-1>.
        b.extend(if kind == NODE {
            vec![NODE, 16]
        } else {
            vec![kind, 17, 16]
        });
        b.extend(id.to_be_bytes());
    }
    b
}

fn parse_destinations(mut b: &[u8]) -> Vec<(u8, Id)> {
    let mut list = Vec::new();
    while b.has_remaining() {
        let (kind, len) = (b.get_u8(), usize::from(b.get_u8()));
        list.push((kind, id_at(take(&mut b, len), len - 16)));
    }
    list
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = b.split_at(n);
    *b = tail;
    head
}

fn id_at(b: &[u8], at: usize) -> Id {
    Id::from_be_bytes(b[at..at + 16].try_into().unwrap())
}

struct Peer {
    id: Id,
    ip: IpAddr,                     // overlay address: ip:6084
    servers: Vec<TransportAddress>, // where its STUN/TURN servers listen
    rtt: Duration,                  // how far they are from the NATed node
    alive: bool,                    // in the ring
    state: BTreeMap<Id, Source>,    // routing state: fingers and neighbours
    // glue:begin the crate's state in a peer
    advert: Vec<u8>, // its Advertisement, encoded
    engine: IntermediatePeer,
    // glue:end
}

impl Peer {
    /// Clockwise distance from this peer.
    fn dist(&self, x: Id) -> Id {
        x.wrapping_sub(self.id)
    }

    /// Whether `key` lies in (predecessor, self].
    fn responsible(&self, key: Id) -> bool {
        let pred = self.state.keys().map(|&x| self.dist(x)).max();
        self.dist(key) == 0 || Some(self.dist(key)) > pred
    }

    /// Chord's closest preceding peer in the routing state, else the successor.
    fn next_hop(&self, key: Id) -> Id {
        let known = || self.state.keys().copied();
        let preceding = known().filter(|&x| self.dist(x) < self.dist(key));
        preceding
            .max_by_key(|&x| self.dist(x))
            .or_else(|| known().min_by_key(|&x| self.dist(x)))
            .expect("a routing state")
    }
}

/// Fingers (routing table) and predecessor plus two successors (neighbour
/// table) of `me` on a stabilized ring.
fn chord_state(ring: &[Id], me: Id) -> BTreeMap<Id, Source> {
    let succ = |key: Id| *ring.iter().find(|&&x| x >= key).unwrap_or(&ring[0]);
    let (n, k) = (ring.len(), ring.iter().position(|&x| x == me).unwrap());
    let mut state: BTreeMap<Id, Source> = (0..128)
        .map(|b| (succ(me.wrapping_add(1 << b)), Source::RoutingTable))
        .collect();
    for d in [n - 1, 1, 2] {
        state.insert(ring[(k + d) % n], Source::NeighborTable);
    }
    state.remove(&me);
    state
}

/// Appends a line to the host's log, stamped with the virtual time.
macro_rules! say {
    ($host:expr, $($arg:tt)*) => {{
        let t = ($host.now - $host.t0).as_secs();
        let _ = writeln!($host.log, "[{t:>4} s] {}", format_args!($($arg)*));
    }};
}

struct Host {
    t0: Instant,
    now: Instant,
    rng: ChaCha8Rng,
    peers: Vec<Peer>,
    ring: BTreeMap<Id, usize>, // peers in the ring, by Node-ID
    log: String,
}

impl Host {
    fn new(seed: u64) -> Res<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let now = Instant::now();
        let mut peers = Vec::new();
        for i in 0..PEERS {
            let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, i as u8 + 1));
            // Every fifth peer serves STUN and TURN over UDP, the second after
            // it TURN over TLS, on its overlay IP but not on port 6084; peer 3,
            // behind a NAT, wrongly offers its private address.
            let offer = match i % 5 {
                _ if i == 3 => Some(("10.0.3.1".parse()?, 3478, Transport::Udp, Services::BOTH)),
                0 => Some((ip, 3478, Transport::Udp, Services::BOTH)),
                2 => Some((ip, 5349, Transport::Tls, Services::TURN)),
                _ => None,
            };
            let capacity = rng.random_range(50..500);
            let load_percent = rng.random_range(0..90);
            // glue:begin willingness: the peer's own entry and its advert (§3.3.1)
            let hints = PerformanceHints {
                capacity,
                bandwidth_kbps: 10_000,
                load_percent,
            };
            let server = |(ip, port, transport, services)| {
                Candidate::peer(TransportAddress::new(ip, port, transport), services)
                    .with_hints(hints)
            };
            let servers: Vec<Candidate> = offer.into_iter().map(server).collect();
            let mut engine =
                IntermediatePeer::new(PeerConfig::default().with_address_policy(policy()));
            let _ = engine.table_mut().set_local_peer(now, servers.clone());
            let mut advert = Vec::new(); // no server: "not willing", said all the same
            wire::encode_advert(&Advertisement::new(servers.clone())?, &WIRE, &mut advert)?;
            // glue:end
            peers.push(Peer {
                id: rng.random(),
                ip,
                servers: servers.iter().map(|c| c.address).collect(),
                rtt: Duration::from_millis(rng.random_range(15..200)),
                alive: i != JOINER,
                state: BTreeMap::new(),
                advert,
                engine,
            });
        }
        let ring = peers.iter().enumerate().filter(|(_, p)| p.alive);
        let ring = ring.map(|(i, p)| (p.id, i)).collect();
        let log = String::new();
        Ok(Self {
            t0: now,
            now,
            rng,
            peers,
            ring,
            log,
        })
    }

    fn advance(&mut self, secs: u64) {
        self.now += Duration::from_secs(secs);
    }

    fn wall(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000) + (self.now - self.t0)
    }

    /// The peer responsible for `key`: its successor on the ring.
    fn root(&self, key: Id) -> usize {
        *self.ring.range(key..).chain(&self.ring).next().unwrap().1
    }

    fn request(&mut self, code: u16, dest: Vec<(u8, Id)>, body: Vec<u8>) -> Message {
        let transaction_id = self.rng.random();
        Message {
            ttl: 100,
            transaction_id,
            code,
            dest,
            body,
            ..Message::default()
        }
    }

    /// Peer `at` receives `m` from `from` (Node-ID, address); returns the
    /// response that comes back to `from`.
    fn deliver(&mut self, at: usize, from: (Id, IpAddr), mut m: BytesMut) -> Res<BytesMut> {
        let (now, kind) = (self.now, kind_of(Message::parse(&m).code));
        // glue:begin every hop: append in place or answer at once (§4.2)
        let mut answer = None; // an iterative-mode answer, for the response
        let (peer, rng) = (&mut self.peers[at].engine, &mut self.rng);
        let requester = Some(Requester::Address(from.1));
        let range = wire::find_option(&m, &WIRE)?;
        let view = range.and_then(|r| OptionView::new_checked(&m[r], &WIRE).ok());
        let report = match view.filter(|v| v.mode() == RoutingMode::Iterative) {
            Some(view) => {
                let mut option = wire::decode_option(&mut view.as_bytes(), &WIRE)?;
                let outcome = peer.on_request(now, kind, requester, &mut option, rng);
                if let Outcome::Answer(set, report) = &outcome {
                    let mut extension = Vec::new();
                    wire::encode_answer(set, report.answer_info(), &WIRE, &mut extension)?;
                    answer = Some(extension);
                }
                Some(*outcome.report())
            }
            // Recursive, none, or malformed (forwarded untouched, counted by the peer).
            None => peer
                .on_reload_request(now, kind, requester, &mut m, &WIRE, rng)
                .unwrap_or(None),
        };
        // glue:end
        if let Some(report) = report {
            say!(self, "  peer {at:>2}: {report}");
        }
        let mut msg = Message::parse(&m);
        msg.via.push(from.0);
        let key = msg.dest[0].1;
        let me = (self.peers[at].id, self.peers[at].ip);
        if !self.peers[at].responsible(key) {
            // Recursive routing: forward; the response comes back this way.
            msg.ttl -= 1;
            let next = self.ring[&self.peers[at].next_hop(key)];
            let response = self.deliver(next, me, msg.encode())?;
            // glue:begin forwarding a response (§4.2 step 1)
            if wire::find_option(&response, &WIRE)?.is_some() {
                self.peers[at].engine.on_response(kind);
            }
            // glue:end
            let mut back = Message::parse(&response);
            assert_eq!(
                back.dest.remove(0).1,
                me.0,
                "a response follows the via list"
            );
            return Ok(back.encode());
        }
        // glue:begin adverts from a request
        // A joining peer becomes this peer's predecessor; otherwise an advert
        // counts only from a peer of the routing state.
        let origin = msg.via[0];
        let source = match msg.code {
            JOIN_REQ => Some(Source::NeighborTable),
            _ => self.peers[at].state.get(&origin).copied(),
        };
        self.feed(at, origin, source, &msg.extensions)?;
        // glue:end
        let dest = msg.via.iter().rev().map(|&id| (NODE, id)).collect();
        let (transaction_id, code) = (msg.transaction_id, msg.code + 1);
        let mut ans = Message {
            ttl: 100,
            transaction_id,
            code,
            dest,
            ..Message::default()
        };
        ans.body = match msg.code {
            JOIN_REQ => vec![0, 0], // JoinAns: no overlay_specific_data
            UPDATE_REQ => {
                // glue:begin the advert in an UpdateAns
                ans.extensions.push(self.peers[at].advert.clone());
                // glue:end
                Vec::new()
            }
            ROUTE_QUERY_REQ => {
                // This host's topology plugin answers with the next hop, or itself.
                let (p, key) = (&self.peers[at], id_at(&msg.body, 4));
                let next = if p.responsible(key) {
                    p.id
                } else {
                    p.next_hop(key)
                };
                next.to_be_bytes().to_vec()
            }
            _ => vec![0; 4], // FetchAns: no KindResponses
        };
        // glue:begin the crate's part of a response
        // The iterative answer, or the option copied back with its flags
        // cleared (RESPONSE_COPY).
        ans.extensions.extend(answer);
        if let Some(range) = wire::find_option(&m, &WIRE)? {
            let mut option = OptionView::new_checked(m[range].to_vec(), &WIRE)?;
            if option.flags() & wire::fwd_flags::RESPONSE_COPY != 0 {
                option.set_flags(0);
                ans.options = option.into_inner();
            }
        }
        // glue:end
        Ok(ans.encode())
    }

    /// Peer `p` reads the adverts among `extensions` from `origin`, which
    /// its routing state holds as `source` (if at all).
    fn feed(&mut self, p: usize, origin: Id, source: Option<Source>, ext: &[Vec<u8>]) -> Res<()> {
        // glue:begin adverts into the candidate table
        let Some(source) = source else { return Ok(()) };
        for extension in ext {
            if let Ok(advert) = wire::decode_advert(&mut &extension[..], &WIRE) {
                let table = self.peers[p].engine.table_mut();
                let _ = table.advertised(self.now, source, node_id(origin), &advert);
            }
        }
        // glue:end
        Ok(())
    }

    /// Routing maintenance: every peer expires its table and sends each
    /// peer of its routing state an UpdateReq. Returns the Updates sent.
    fn maintenance(&mut self) -> Res<usize> {
        let mut updates = 0;
        for p in self.ring.values().copied().collect::<Vec<_>>() {
            // glue:begin table expiry
            let _ = self.peers[p].engine.table_mut().expire(self.now);
            // glue:end
            let me = (self.peers[p].id, self.peers[p].ip);
            for (to, source) in self.peers[p].state.clone() {
                // ChordUpdate: uptime 0, peer_ready.
                let mut update = self.request(UPDATE_REQ, vec![(NODE, to)], vec![0, 0, 0, 0, 1]);
                // glue:begin the advert in an UpdateReq
                update.extensions.push(self.peers[p].advert.clone());
                // glue:end
                let answer = Message::parse(&self.deliver(self.ring[&to], me, update.encode())?);
                // glue:begin adverts from an UpdateAns
                self.feed(p, to, Some(source), &answer.extensions)?;
                // glue:end
                updates += 1;
            }
        }
        Ok(updates)
    }

    /// Stabilization: every routing state follows the ring, and the
    /// adverts of the peers that dropped out of one go. Returns the table
    /// entries dropped.
    fn restabilize(&mut self) -> u32 {
        let ring: Vec<Id> = self.ring.keys().copied().collect();
        let mut dropped = 0;
        for &p in self.ring.values() {
            let peer = &mut self.peers[p];
            let old = std::mem::replace(&mut peer.state, chord_state(&ring, peer.id));
            for (id, source) in old {
                if peer.state.get(&id) != Some(&source) {
                    // glue:begin an advertiser left the routing state
                    dropped += peer
                        .engine
                        .table_mut()
                        .advertiser_left(source, &node_id(id));
                    // glue:end
                }
            }
        }
        dropped
    }

    /// The simulated network: the RTT to the server at `address`, or
    /// `None` when nobody answers there.
    fn try_server(&self, address: &TransportAddress) -> Option<Duration> {
        let peer = self.peers.iter().find(|p| p.servers.contains(address))?;
        peer.alive.then_some(peer.rtt)
    }

    fn table_entries(&self) -> usize {
        self.ring
            .values()
            .map(|&p| self.peers[p].engine.table().len())
            .sum()
    }
}

/// The NATed node at `node_at` GETs a resource, iterative routing:
/// RouteQuery hop by hop from peer `start`, then Fetch.
fn get(host: &mut Host, node: &mut SendingNode, node_at: (Id, IpAddr), start: usize) -> Res<()> {
    let resource: Id = host.rng.random();
    say!(
        host,
        "GET (iterative): RouteQuery hop by hop from peer {start}, then Fetch"
    );
    let (mut at, mut hop) = (start, 1);
    loop {
        let body = [&[0, RESOURCE, 17, 16][..], &resource.to_be_bytes(), &[0, 0]].concat();
        let mut query = host.request(ROUTE_QUERY_REQ, vec![(NODE, host.peers[at].id)], body);
        // glue:begin the iterative option in a RouteQuery
        if node.shortfall(host.now) > 0 {
            let option = node.iterative_option(hop);
            wire::encode_option(&option, Direction::Request, &WIRE, &mut query.options)?;
        }
        // glue:end
        let answer = Message::parse(&host.deliver(at, node_at, query.encode())?);
        // glue:begin the iterative answer into the node
        for extension in &answer.extensions {
            let (_, set) = wire::decode_answer(&mut &extension[..], &WIRE)?;
            let report = node.on_answer(host.now, MessageKind::Get, hop, &set)?;
            if report.offered > 0 {
                say!(host, "  node: {report}");
            }
        }
        // glue:end
        let next = host.ring[&id_at(&answer.body, 0)];
        if next == at {
            break;
        }
        (at, hop) = (next, hop + 1);
    }
    let body = [&[16][..], &resource.to_be_bytes(), &[0, 0]].concat(); // no specifiers
    let fetch = host.request(FETCH_REQ, vec![(RESOURCE, resource)], body);
    let fetched = Message::parse(&host.deliver(at, node_at, fetch.encode())?);
    say!(
        host,
        "  FetchAns (code {:#04x}) from peer {at}",
        fetched.code
    );
    Ok(())
}

/// Checks one fact about the run; panics with the log if it fails.
macro_rules! fact {
    ($host:expr, $ok:expr, $($what:tt)*) => {{
        let (ok, what) = ($ok, format!($($what)*));
        assert!(ok, "{}fact failed: {what}", $host.log);
        say!($host, "  ok: {what}");
    }};
}

/// The whole scenario with `seed`; returns the log.
fn run(seed: u64) -> Res<String> {
    let mut host = Host::new(seed)?;
    host.restabilize();
    let updates = host.maintenance()?;
    let willing = host.peers.iter().filter(|p| !p.servers.is_empty()).count();
    let (ring, entries) = (host.ring.len(), host.table_entries());
    say!(
        host,
        "{ring} peers on the ring, {willing} of {PEERS} willing to serve"
    );
    say!(
        host,
        "maintenance: {updates} Updates; {entries} candidate table entries"
    );

    // A willing peer joins; its JoinReq carries its advert to the admitting peer.
    host.advance(30);
    let (id, ip) = (host.peers[JOINER].id, host.peers[JOINER].ip);
    let admitting = host.root(id);
    let mut join = host.request(
        JOIN_REQ,
        vec![(NODE, id)],
        [&id.to_be_bytes()[..], &[0, 0]].concat(),
    );
    // glue:begin the advert in a JoinReq
    join.extensions.push(host.peers[JOINER].advert.clone());
    // glue:end
    let _ = host.deliver(BOOTSTRAP, (id, ip), join.encode())?;
    let joiner = host.peers[JOINER].servers[0];
    let learned = host.peers[admitting].engine.table().get(&joiner).is_some();
    host.peers[JOINER].alive = true;
    host.ring.insert(id, JOINER);
    let dropped = host.restabilize();
    say!(
        host,
        "peer {JOINER} joined through peer {BOOTSTRAP}; stabilization dropped {dropped} entries"
    );

    // The NATed node learns it is behind NAT (§4.1), then joins (recursive).
    host.advance(30);
    let node_id: Id = host.rng.random();
    // A STUN Binding to the bootstrap peer's server saw it at this address.
    let reflexive: SocketAddr = "203.0.113.77:40312".parse()?;
    // glue:begin NAT detection and the sending node
    let nat = NatStatus::detect([IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))], 6084, reflexive);
    let mut node = SendingNode::new(node_config()?);
    // glue:end
    let node_at = (node_id, reflexive.ip()); // what the first hop sees
    say!(
        host,
        "NATed node: {nat}; JoinReq through peer {BOOTSTRAP} (recursive)"
    );
    let body = [&node_id.to_be_bytes()[..], &[0, 0]].concat();
    let mut join = host.request(JOIN_REQ, vec![(NODE, node_id)], body);
    // glue:begin the recursive option in the JoinReq
    let option = node.recursive_option();
    wire::encode_option(&option, Direction::Request, &WIRE, &mut join.options)?;
    // glue:end
    let response = host.deliver(BOOTSTRAP, node_at, join.encode())?;
    // glue:begin the set from the JoinAns into the node
    let range = wire::find_option(&response, &WIRE)?.ok_or("JoinAns without the option")?;
    let option = wire::decode_option(&mut &response[range], &WIRE)?;
    let report = node.on_response(host.now, MessageKind::Join, &option)?;
    // glue:end
    say!(host, "  node: {report}");

    // GETs, iterative routing. Joined, the node is attached to its admitting peer.
    let admitted = host.root(node_id);
    for _ in 0..2 {
        host.advance(30);
        get(&mut host, &mut node, node_at, admitted)?;
    }
    let discovered = node.len();
    say!(host, "the node holds {discovered} candidates, best first:");
    for c in node.best(host.now, usize::MAX) {
        say!(
            host,
            "  {} (hop {}, seen {}x)",
            c.candidate(),
            c.hop(),
            c.sightings()
        );
    }

    // Routing maintenance; then the peer behind the node's best candidate leaves.
    host.advance(210);
    let (updates, entries) = (host.maintenance()?, host.table_entries());
    say!(
        host,
        "maintenance: {updates} Updates; {entries} candidate table entries"
    );
    host.advance(60);
    let gone = node.best(host.now, 1)[0].candidate().address;
    let leaver = host
        .peers
        .iter()
        .position(|p| p.servers.contains(&gone))
        .unwrap();
    host.peers[leaver].alive = false;
    host.ring.remove(&host.peers[leaver].id);
    let (dropped, entries) = (host.restabilize(), host.table_entries());
    say!(
        host,
        "peer {leaver} ({gone}) left; stabilization dropped {dropped}, {entries} remain"
    );

    // The node uses what it learned: a relay, and STUN Bindings.
    host.advance(10);
    // glue:begin picking candidates
    let turn = Filter::services(Services::TURN);
    let mut using = node.best_for(host.now, 2, &turn);
    let more = node.best(host.now, 3).into_iter();
    using.extend(more.filter(|c| !using.contains(c)).collect::<Vec<_>>());
    // glue:end
    say!(
        host,
        "the node tries its 2 best for {turn} and its 3 best overall:"
    );
    let mut failed = Vec::new();
    for c in &using {
        let address = c.candidate().address;
        let outcome = host.try_server(&address);
        // glue:begin feedback
        let feedback = outcome.map_or(Feedback::Failed, |rtt| Feedback::Worked { rtt });
        let _ = node.feedback(host.now, &address, feedback);
        // glue:end
        match outcome {
            Some(rtt) => say!(host, "  {address}: worked, RTT {rtt:?}"),
            None => say!(host, "  {address}: no answer"),
        }
        failed.extend(outcome.is_none().then_some(address));
    }
    let worked = using
        .iter()
        .filter_map(|c| node.get(&c.candidate().address));
    let slowest = worked.max_by_key(|c| c.srtt()).unwrap().candidate().address;
    // glue:begin forget
    let _ = node.forget(&slowest);
    // glue:end
    say!(host, "forgot {slowest}, the slowest; {:?}", node.stats());
    say!(
        host,
        "peer {BOOTSTRAP}: {:?}",
        host.peers[BOOTSTRAP].engine.stats()
    );

    // The node saves its cache, restarts a minute later and restores it.
    host.advance(10);
    // glue:begin export
    let saved = serde_json::to_string(&node.export(host.now, host.wall()))?;
    // glue:end
    host.advance(60);
    // glue:begin restart and import
    let mut restarted = SendingNode::new(node_config()?);
    let import = restarted.import(host.now, host.wall(), &serde_json::from_str(&saved)?);
    // glue:end
    say!(
        host,
        "restarted with {} bytes of JSON: {import:?}",
        saved.len()
    );

    // What the simulation, which sees everything, checks.
    let servers: Vec<_> = host.peers.iter().flat_map(|p| p.servers.clone()).collect();
    let private = host.peers[3].servers[0];
    let held: Vec<_> = node.candidates().map(|c| c.candidate().address).collect();
    let real = held.iter().all(|a| servers.contains(a) && a.port() != 6084);
    let alive = || host.ring.values().map(|&p| &host.peers[p]);
    let own_state = alive().all(|p| {
        let ids = p
            .engine
            .table()
            .by_priority()
            .filter_map(|e| e.candidate().node_id);
        ids.map(|n| Id::from_be_bytes(n.as_bytes().try_into().unwrap()))
            .all(|id| p.state.contains_key(&id))
    });
    let no_private = host
        .peers
        .iter()
        .all(|p| p.engine.table().get(&private).is_none());
    let no_gone = alive().all(|p| p.engine.table().get(&gone).is_none());
    let backoff = node.get(&gone).and_then(|c| c.retry_at());
    let best = node.best(host.now, 64);
    let backs_off = backoff > Some(host.now) && best.iter().all(|c| c.candidate().address != gone);
    let restored = import.restored as usize == held.len() && restarted.best(host.now, 64) == best;
    let still = restarted.get(&gone).and_then(|c| c.retry_at()) == backoff;
    say!(host, "facts:");
    fact!(
        host,
        learned,
        "peer {admitting} learned {joiner} from peer {JOINER}'s JoinReq"
    );
    fact!(
        host,
        2 * discovered >= servers.len() - 1,
        "the node discovered {discovered} of the {} usable servers",
        servers.len() - 1
    );
    fact!(
        host,
        real,
        "every candidate is a willing peer's server, none an overlay address"
    );
    fact!(
        host,
        no_private,
        "{private}, which peer 3 advertised, is in no table"
    );
    fact!(
        host,
        own_state,
        "every table holds servers of its peer's routing state only"
    );
    fact!(
        host,
        no_gone,
        "no table offers {gone} of the peer that left"
    );
    fact!(
        host,
        failed == [gone] && backs_off,
        "{gone} failed and backs off"
    );
    fact!(host, node.get(&slowest).is_none(), "{slowest} is forgotten");
    fact!(
        host,
        restored,
        "the restart restored all {} candidates and their ranking",
        held.len()
    );
    fact!(host, still, "{gone} still backs off after the restart");
    Ok(host.log)
}

/// `cargo run --example host --all-features [-- SEED]`
fn main() -> Res<()> {
    let seed = std::env::args().nth(1).map_or(Ok(SEED), |s| s.parse())?;
    print!("{}", run(seed)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_scenario_holds() {
        super::run(super::SEED).unwrap();
    }

    #[test]
    fn the_facts_hold_for_other_seeds() {
        for seed in 1..=30 {
            super::run(seed).unwrap();
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_log() {
        assert_eq!(super::run(5).unwrap(), super::run(5).unwrap());
    }
}
