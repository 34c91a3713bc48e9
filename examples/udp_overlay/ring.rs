//! A Chord-like ring as one peer sees it: the peers it has heard of, and
//! from them its routing state (three successors and a predecessor, the
//! neighbour table; four fingers at 1/2, 1/4, 1/8 and 1/16 of the ring,
//! the routing table), responsibility for a key, and the next hop.
//!
//! Peers are learned from maintenance (a neighbour's UpdateReq, and the
//! routing state every UpdateAns and FIND answer lists) and forgotten when
//! they stop answering (a member of the routing state silent for
//! `DEAD_AFTER` is dead) or when nobody has vouched for them for
//! `FORGET_AFTER`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use stun_turn_discovery::Source;

use crate::config::TICK;
use crate::framing::{PeerRef, MAX_PEERS};

/// A member of the routing state that has not answered for this long is dead.
pub(crate) const DEAD_AFTER: Duration = Duration::from_millis(3 * TICK.as_millis() as u64 + 500);
/// A peer nobody has vouched for this long is forgotten.
pub(crate) const FORGET_AFTER: Duration = Duration::from_secs(10 * TICK.as_secs());
/// Most peers remembered.
const MAX_KNOWN: usize = 256;
const SUCCESSORS: usize = 3;
const FINGERS: u32 = 4;

/// Clockwise distance from `a` to `b`.
pub(crate) fn dist(a: u64, b: u64) -> u64 {
    b.wrapping_sub(a)
}

#[derive(Debug, Clone, Copy)]
struct Known {
    addr: std::net::SocketAddr,
    /// Last time it answered or wrote to us, or when it was first learned.
    alive_at: Instant,
    /// Last time it was heard of, directly or through another peer.
    vouched_at: Instant,
}

/// Where a request goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// This peer is responsible for the key.
    Me,
    /// Route to `to`; `last`: `to` is responsible.
    Forward {
        /// The next hop.
        to: PeerRef,
        /// Whether it is responsible for the key.
        last: bool,
    },
}

/// One peer's view of the ring.
#[derive(Debug)]
pub(crate) struct Ring {
    me: PeerRef,
    known: BTreeMap<u64, Known>,
    dead: BTreeMap<u64, Instant>,
    succ: Vec<PeerRef>,
    pred: Option<PeerRef>,
    fingers: Vec<PeerRef>,
}

impl Ring {
    /// A ring of one.
    pub(crate) fn new(me: PeerRef) -> Self {
        Self {
            me,
            known: BTreeMap::new(),
            dead: BTreeMap::new(),
            succ: Vec::new(),
            pred: None,
            fingers: Vec::new(),
        }
    }

    /// The first successor, if any.
    pub(crate) fn successor(&self) -> Option<PeerRef> {
        self.succ.first().copied()
    }

    /// Peers heard of.
    pub(crate) fn known_len(&self) -> usize {
        self.known.len()
    }

    /// Learns `peer`: `direct` when it wrote to or answered this peer
    /// (proof it is alive), else named by another peer. A peer declared
    /// dead is learned again only directly. Returns whether the set of
    /// peers changed.
    pub(crate) fn learn(&mut self, now: Instant, peer: PeerRef, direct: bool) -> bool {
        if peer.id == self.me.id {
            return false;
        }
        if direct {
            self.dead.remove(&peer.id);
        } else if self.dead.contains_key(&peer.id) {
            return false;
        }
        if let Some(k) = self.known.get_mut(&peer.id) {
            k.vouched_at = now;
            if direct {
                k.alive_at = now;
                k.addr = peer.addr;
            }
            return false;
        }
        if self.known.len() >= MAX_KNOWN {
            return false;
        }
        self.known.insert(
            peer.id,
            Known {
                addr: peer.addr,
                alive_at: now,
                vouched_at: now,
            },
        );
        self.recompute();
        true
    }

    /// Whether `addr` is the address of a peer this one has heard of.
    pub(crate) fn knows_addr(&self, addr: &std::net::SocketAddr) -> bool {
        self.known.values().any(|k| k.addr == *addr)
    }

    /// Declares dead the members of the routing state silent for
    /// `DEAD_AFTER`, forgets peers not vouched for within `FORGET_AFTER`,
    /// and lets old death notices go. Returns the peers declared dead.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<PeerRef> {
        let members: BTreeSet<u64> = self.members().map(|p| p.id).collect();
        let mut gone = Vec::new();
        self.known.retain(|&id, k| {
            let silent = now.saturating_duration_since(k.alive_at);
            if members.contains(&id) && silent > DEAD_AFTER {
                gone.push(PeerRef { id, addr: k.addr });
                return false;
            }
            now.saturating_duration_since(k.vouched_at) <= FORGET_AFTER || members.contains(&id)
        });
        for p in &gone {
            self.dead.insert(p.id, now);
        }
        self.dead
            .retain(|_, at| now.saturating_duration_since(*at) <= FORGET_AFTER);
        self.recompute();
        gone
    }

    /// Recomputes successors, predecessor and fingers from the known peers.
    fn recompute(&mut self) {
        let me = self.me.id;
        let mut by_dist: Vec<PeerRef> = self
            .known
            .iter()
            .map(|(&id, k)| PeerRef { id, addr: k.addr })
            .collect();
        by_dist.sort_by_key(|p| dist(me, p.id));
        self.succ = by_dist.iter().take(SUCCESSORS).copied().collect();
        self.pred = by_dist.last().copied();
        self.fingers.clear();
        for j in 0..FINGERS {
            let target = me.wrapping_add(1 << (63 - j));
            let finger = by_dist
                .iter()
                .find(|p| dist(me, p.id) >= dist(me, target))
                .or(by_dist.first());
            if let Some(f) = finger {
                if !self.fingers.contains(f) {
                    self.fingers.push(*f);
                }
            }
        }
    }

    /// The finger targets, for FIND lookups.
    pub(crate) fn finger_target(&self, j: u32) -> u64 {
        self.me.id.wrapping_add(1 << (63 - (j % FINGERS)))
    }

    /// Every peer of the routing state, once each.
    pub(crate) fn members(&self) -> impl Iterator<Item = PeerRef> + '_ {
        let mut seen = BTreeSet::new();
        self.succ
            .iter()
            .chain(&self.pred)
            .chain(&self.fingers)
            .copied()
            .filter(move |p| seen.insert(p.id))
    }

    /// The routing state by source, for the candidate table (§3.3.1):
    /// successors and predecessor are the neighbour table, fingers the
    /// routing table.
    pub(crate) fn routing_state(&self) -> BTreeSet<(Source, u64)> {
        let neighbours = self.succ.iter().chain(&self.pred);
        let mut state: BTreeSet<(Source, u64)> =
            neighbours.map(|p| (Source::NeighborTable, p.id)).collect();
        state.extend(self.fingers.iter().map(|p| (Source::RoutingTable, p.id)));
        state
    }

    /// This peer and the members it heard from within `DEAD_AFTER`: what
    /// it tells others of the ring.
    pub(crate) fn gossip(&self, now: Instant) -> Vec<PeerRef> {
        let fresh = self.members().filter(|p| {
            self.known
                .get(&p.id)
                .is_some_and(|k| now.saturating_duration_since(k.alive_at) <= DEAD_AFTER)
        });
        std::iter::once(self.me)
            .chain(fresh)
            .take(MAX_PEERS)
            .collect()
    }

    /// Whether this peer is responsible for `key`: it is alone, or `key`
    /// lies in (predecessor, me].
    pub(crate) fn responsible(&self, key: u64) -> bool {
        match self.pred {
            None => true,
            Some(p) => {
                let d = dist(p.id, key);
                d != 0 && d <= dist(p.id, self.me.id)
            }
        }
    }

    /// Chord's next hop for `key`: this peer if responsible; the successor
    /// (which is responsible) if `key` lies in (me, successor]; else the
    /// member that most closely precedes `key`, or the successor.
    pub(crate) fn next_hop(&self, key: u64) -> Next {
        if self.responsible(key) {
            return Next::Me;
        }
        let Some(succ) = self.successor() else {
            return Next::Me;
        };
        let me = self.me.id;
        if dist(me, key) <= dist(me, succ.id) {
            return Next::Forward {
                to: succ,
                last: true,
            };
        }
        let preceding = self
            .members()
            .filter(|p| dist(me, p.id) < dist(me, key))
            .max_by_key(|p| dist(me, p.id));
        Next::Forward {
            to: preceding.unwrap_or(succ),
            last: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: u64) -> PeerRef {
        PeerRef {
            id,
            addr: format!("127.0.0.1:{}", 1000 + id % 60000).parse().unwrap(),
        }
    }

    /// Routes `key` from `start` over rings that each know every peer.
    fn route(ids: &[u64], start: u64, key: u64) -> (u64, usize) {
        let now = Instant::now();
        let rings: BTreeMap<u64, Ring> = ids
            .iter()
            .map(|&id| {
                let mut r = Ring::new(p(id));
                for &o in ids {
                    r.learn(now, p(o), true);
                }
                (id, r)
            })
            .collect();
        let (mut at, mut hops) = (start, 0);
        loop {
            match rings[&at].next_hop(key) {
                Next::Me => return (at, hops),
                Next::Forward { to, last } => {
                    hops += 1;
                    if last {
                        return (to.id, hops);
                    }
                    at = to.id;
                }
            }
            assert!(hops < 64, "routing loop");
        }
    }

    #[test]
    fn routes_reach_the_successor_of_the_key() {
        let ids: Vec<u64> = (1..=20u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        for key in [0, 1, u64::MAX, ids[3], ids[3] + 1, 1 << 63] {
            let owner = *sorted.iter().find(|&&x| x >= key).unwrap_or(&sorted[0]);
            for &start in &ids {
                assert_eq!(
                    route(&ids, start, key).0,
                    owner,
                    "key {key:#x} from {start:#x}"
                );
            }
        }
    }

    #[test]
    fn a_lone_peer_is_responsible_for_everything() {
        let r = Ring::new(p(5));
        assert_eq!(r.next_hop(0), Next::Me);
        assert!(r.routing_state().is_empty());
    }

    #[test]
    fn silent_members_die_and_stay_dead_until_heard() {
        let now = Instant::now();
        let mut r = Ring::new(p(10));
        r.learn(now, p(20), true);
        r.learn(now, p(30), true);
        let later = now + DEAD_AFTER + Duration::from_millis(1);
        r.learn(later, p(30), true);
        assert_eq!(r.expire(later), vec![p(20)]);
        assert!(
            !r.learn(later, p(20), false),
            "gossip does not revive the dead"
        );
        assert!(r.learn(later, p(20), true));
    }
}
