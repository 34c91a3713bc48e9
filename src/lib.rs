//! Sans-IO discovery of STUN/TURN server candidates in a P2P overlay, as
//! specified by draft-jiang-p2psip-stun-turn-discovery-00 ("A mechanism to
//! discover STUN/TURN nodes in P2PSIP").
//!
//! # The sans-IO contract
//!
//! This crate does no I/O. It opens no socket, starts no task, reads no
//! clock and uses no global random number generator. The host (your
//! overlay peer) owns the network, the timers and the randomness: it calls
//! the crate's functions from its own message handlers, passing `now:
//! Instant` wherever time matters and `&mut impl Rng` wherever a choice is
//! random. The same inputs and the same seed give the same outputs.
//!
//! # What the draft does
//!
//! Instead of storing every STUN/TURN provider under one DHT key (a hot spot
//! and a DoS target, §1), every peer keeps a [`CandidateTable`] of willing
//! nodes learned from its routing state, itself and its clients (§3.3.1).
//! A NATed node sets a [`PiggybackOption`] on requests it sends anyway —
//! JOIN, GET, PUT, routing maintenance (§3.3.2) — and every intermediate
//! peer on the route adds candidates from its table to the [`CandidateSet`]
//! until it holds N, unique by IP address (§4.2 steps 1–7). In recursive
//! routing the set rides in the request and returns in the response; in
//! iterative routing each peer answers at once. The sending node saves
//! what it gets for later use.
//!
//! # The drive loop
//!
//! 1. **Learn NAT status** (§3.2.1, §4.1: a joining peer MUST learn whether
//!    it is NATed): from the observed addresses peers send back (step 6,
//!    [`SendingNode::nat_verdict`], with the NAT's mapping behaviour), or
//!    after a STUN Binding with [`NatStatus::detect`].
//! 2. **Keep the table in sync.** Whenever the routing, neighbor or
//!    connection table changes, and at least once per
//!    [`TableConfig::entry_lifetime`](peer::TableConfig::entry_lifetime), call
//!    [`CandidateTable::sync_source`] with the peers now in it; likewise for
//!    the local peer ([`CandidateTable::set_local_peer`]) and associated
//!    clients. Entries not refreshed within the lifetime are no longer
//!    handed out; [`CandidateTable::expire`] removes them.
//! 3. **Sending a request.** If [`SendingNode::shortfall`] is above zero (or
//!    always, on JOIN when NATed), attach [`SendingNode::recursive_option`] or
//!    [`SendingNode::iterative_option`] in the peer protocol's encoding.
//! 4. **Forwarding or answering a request** that carries the option: call
//!    [`IntermediatePeer::on_request`] (or
//!    [`IntermediatePeer::on_encoded_request`] on the encoded option), naming
//!    the requester by the address it came from
//!    ([`peer::Requester::Transport`]). In recursive mode the set was filled
//!    in place: forward. In iterative mode put the returned answer in the
//!    response. A hop the request came to straight from the sending node
//!    sends back the observed address ([`HopReport::observed`](peer::HopReport::observed)).
//! 5. **Forwarding a response:** forward it unchanged (§4.2 step 1);
//!    [`IntermediatePeer::on_response`] records that in the trace.
//! 6. **Receiving the response** as the sending node: call
//!    [`SendingNode::on_response`] (recursive) or [`SendingNode::on_answer`]
//!    (iterative), and [`SendingNode::observed`] with any observed address
//!    the response carries. The report's `shortfall` says whether to ask
//!    again on the next request, which takes another path (§3.3.3).
//! 7. **Using candidates:** [`SendingNode::best`] hands out the best ones;
//!    report how each went with [`SendingNode::feedback`].
//!
//! ```
//! use std::time::Instant;
//! use rand::SeedableRng;
//! use stun_turn_discovery::*;
//!
//! let now = Instant::now();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//!
//! // Two intermediate peers, each knowing some willing peers (step 2).
//! let mut path: Vec<IntermediatePeer> = (0..2u8)
//!     .map(|p| {
//!         let mut peer = IntermediatePeer::new(PeerConfig::default().with_address_policy(AddressPolicy::permissive()));
//!         let willing = (1..=4u8).map(|i| {
//!             let addr = format!("198.51.100.{}:3478", p * 10 + i).parse().unwrap();
//!             Candidate::peer(TransportAddress::udp(addr), Services::BOTH)
//!         });
//!         let _ = peer.table_mut().sync_source(now, Source::RoutingTable, willing);
//!         peer
//!     })
//!     .collect();
//!
//! // A NATed node asks on its JOIN, recursive routing (step 3).
//! let mut node = SendingNode::new(NodeConfig::default().with_address_policy(AddressPolicy::permissive()));
//! let mut option = node.recursive_option();
//! for peer in &mut path {
//!     let _ = peer.on_request(now, MessageKind::Join, None, &mut option, &mut rng); // step 4
//! }
//! for peer in path.iter_mut().rev() {
//!     peer.on_response(MessageKind::Join); // step 5
//! }
//! let report = node.on_response(now, MessageKind::Join, &option)?; // step 6
//! assert_eq!(report.saved, 8);
//! assert_eq!(node.best(now, 3).len(), 3); // step 7
//! # Ok::<(), error::Error>(())
//! ```
//!
//! # What it does not do
//!
//! It is no STUN or TURN client or server, does no overlay routing, and
//! builds no peer-protocol messages: [`wire`] encodes the option and the
//! answer as RELOAD structures (RFC 6940), and the host puts them into its
//! own messages.
//!
//! # Layout
//!
//! The layers point down only. Data types ([`Candidate`] and its parts,
//! [`NodeId`], [`AddressPolicy`], [`NatStatus`]); the request vocabulary
//! ([`N`], [`PerHopShare`], [`UniquenessKey`], [`Filter`],
//! [`PiggybackOption`], [`CandidateSet`] and the one admission check every
//! candidate passes); the codec ([`wire`]); then the two roles, [`peer`]
//! (the intermediate peer, its table and selection) and [`node`] (the
//! sending node and its cache). [`error`] gathers every error type.
//!
//! # Security
//!
//! The draft's §7 is empty. This crate adds a per-hop share of N
//! ([`PerHopShare`], applied by the peer when it adds and by the node when
//! it counts), an address policy ([`AddressPolicy`]), an N cap
//! ([`PeerConfig::max_n`]), and a sending node that judges every response by
//! what it asked for; SECURITY.md gives the threat model and what each
//! defence does and does not stop.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod address_policy;
mod admission;
mod advert;
mod candidate;
mod config_error;
pub mod error;
mod filter;
mod key;
mod known;
mod n;
mod nat;
pub mod node;
mod node_id;
mod option;
pub mod peer;
mod set;
mod share;
pub mod wire;

pub use address_policy::{AddressClass, AddressPolicy};
pub use advert::Advertisement;
pub use candidate::{
    Candidate, PerformanceHints, Role, Services, Source, Transport, TransportAddress,
};
pub use filter::{Filter, IpFamily};
pub use key::UniquenessKey;
pub use known::KnownKeys;
pub use n::N;
pub use nat::NatStatus;
pub use node::{
    Feedback, Mapping, MappingVerdict, NodeConfig, Observation, ObservedAddresses, RecordOutcome,
    SendingNode,
};
pub use node_id::NodeId;
pub use option::{MessageKind, PiggybackOption, RoutingMode};
pub use peer::{CandidateTable, IntermediatePeer, Outcome, PeerConfig, SelectionPolicy};
pub use set::{CandidateSet, SetEntry};
pub use share::PerHopShare;

/// The `bytes` this crate's signatures use (`BytesMut`, `Buf`, `BufMut`).
pub use bytes;
/// The `rand` this crate's signatures use (`&mut impl rand::Rng`), so a host
/// need not match its version by hand.
pub use rand;

/// The README's code, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
