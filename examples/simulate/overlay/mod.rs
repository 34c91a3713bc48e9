//! Structured overlays the simulator routes over: what each peer's routing
//! state holds (the §3.3.1 sources of its candidate table) and the path a
//! request takes to a key's root.
//!
//! Peers are numbered `0..len()`; each has a 64-bit node id drawn from the
//! simulation seed. Routing state is a deterministic function of the ids,
//! computed when first asked for, so a 10^6-node overlay costs memory only
//! for the peers a run touches.

// Until main.rs drives the overlays, most of this module is unused; and a
// binary's modules export nothing, so every `pub` here is "unreachable".
#![allow(dead_code, unreachable_pub)]

pub mod chord;
pub mod kademlia;
pub mod pastry;
mod ring;
#[cfg(test)]
mod testkit;

/// A peer's number, `0..Overlay::len()`.
pub type PeerId = u32;

/// Which part of a peer's routing state an entry comes from (§3.3.1: "the
/// routing table, neighbor table, or connection table").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateKind {
    /// The routing table proper (Pastry's rows, Kademlia's buckets, Chord's
    /// fingers).
    Routing,
    /// The neighbour set (Pastry's leaf set, Chord's successor list).
    Neighbor,
}

/// A structured overlay of `len()` peers.
///
/// Implementations must be deterministic (the same seed gives the same
/// overlay), `Sync` (the simulator runs scenarios on several threads), and
/// frugal: `routing_state` and `route` may compute on demand.
pub trait Overlay: Sync {
    /// `pastry`, `kademlia` or `chord`.
    fn name(&self) -> &'static str;

    /// Number of peers.
    fn len(&self) -> usize;

    /// The node id of `peer`.
    fn id(&self, peer: PeerId) -> u64;

    /// Appends `peer`'s routing state to `out` (cleared first): every
    /// distinct peer in its routing table and neighbour set, itself
    /// excluded, with where it is held (a peer in both counts as
    /// [`StateKind::Routing`]).
    fn routing_state(&self, peer: PeerId, out: &mut Vec<(PeerId, StateKind)>);

    /// Appends to `out` (cleared first) the peers a request from `from` for
    /// `key` visits, in order, the key's root (the destination) last;
    /// `from` itself is not included. Empty when `from` is the root.
    fn route(&self, from: PeerId, key: u64, out: &mut Vec<PeerId>);

    /// The peer responsible for `key`.
    fn root(&self, key: u64) -> PeerId;
}
