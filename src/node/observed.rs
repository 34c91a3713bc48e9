//! The node's own address as the peers it talks to see it: reflexive
//! address, NAT status and mapping behaviour (RFC 4787 §4.1) without a STUN
//! Binding, judged so that one lying observer can neither create nor
//! overturn a verdict. The rule and what a liar can do are documented on
//! [`ObservedAddresses`].

use core::fmt;
use core::net::{IpAddr, SocketAddr};
use core::time::Duration;
use std::time::Instant;

use crate::nat::NatStatus;

/// What the peers this node talks to saw its requests come from, one report
/// per observer, and what they show: the mapped (reflexive) address, the
/// NAT status and the mapping behaviour, without a STUN Binding.
///
/// The draft asks a node to know whether it is behind NAT before it joins
/// (§3.2.1 assumption 2; §4.1: "it MUST learn whether it is a NATed peer")
/// and leaves how to the host. A peer that receives a request directly from
/// this node (every hop in iterative routing, the first hop in recursive
/// routing) can answer with the transport address the request came from,
/// as BitTorrent's BEP 42 `ip`, libp2p identify's `observedAddr` or a
/// discv5 PONG do. Enough agreeing reports show:
///
/// - the **mapped IP address**;
/// - the **mapping behaviour** of RFC 4787 §4.1: [endpoint-independent]
///   (every observer sees the same address and port, so a reflexive
///   address learned from one STUN server is the one every peer sees) or
///   [endpoint-dependent] (one IP address, a port per observer: a reflexive
///   address is valid towards its observer only, and STUN alone does not
///   let others reach the node; it needs a TURN relay, §3.2.1);
/// - the **NAT status** ([`NatStatus`]), judged as [`NatStatus::detect`]
///   judges a STUN answer.
///
/// Keep one per local socket: observations of different sockets, or of
/// IPv4 and IPv6, describe different mappings.
///
/// [endpoint-independent]: Mapping::EndpointIndependent
/// [endpoint-dependent]: Mapping::EndpointDependent
///
/// # The drive loop
///
/// 1. Send a request; the peer that received it directly answers with the
///    address it saw the request come from.
/// 2. [`record`](Self::record) it, attributed to the IP address the request
///    was sent to (never to an address the answer itself names).
/// 3. Read [`verdict`](Self::verdict) when deciding whether to ask for
///    candidates, offer service, or which candidate kind to use.
///
/// ```
/// use std::time::{Duration, Instant};
/// use stun_turn_discovery::{Mapping, NatStatus, ObservedAddresses};
///
/// let mut seen = ObservedAddresses::default();
/// let now = Instant::now();
/// let interfaces = ["10.0.0.2".parse()?];
/// let local_port = 5000;
/// let mapped = "203.0.113.7:40000".parse()?;
///
/// // Three hops of an iterative lookup each report what they saw (steps 1, 2).
/// for hop in ["198.51.100.1", "198.51.100.2", "192.0.2.9"] {
///     let _ = seen.record(now, hop.parse()?, mapped);
/// }
/// // Step 3.
/// let verdict = seen.verdict(now, interfaces, local_port);
/// assert_eq!(verdict.mapping, Mapping::EndpointIndependent);
/// assert_eq!(verdict.reflexive, Some(mapped));
/// assert_eq!(verdict.nat, Some(NatStatus::BehindNat { reflexive: mapped }));
/// assert_eq!((verdict.observers, verdict.current), (3, 3));
///
/// // A fourth peer lying about it changes nothing.
/// let _ = seen.record(now, "198.51.100.66".parse()?, "198.18.0.1:1".parse()?);
/// assert_eq!(seen.verdict(now, interfaces, local_port).reflexive, Some(mapped));
///
/// // Past the lifetime nothing counts: the NAT may have rebound.
/// let later = now + Duration::from_secs(600);
/// assert_eq!(seen.verdict(later, interfaces, local_port).mapping, Mapping::Unknown);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # The rule
///
/// Only current observations count: at most one per observer IP address
/// (IPv4-mapped IPv6 addresses count as the IPv4 address), seen within the
/// lifetime. Of those `n`:
///
/// 1. **Mapped IP.** The IP address reported by the most observers, `a` of
///    them, is known when `a ≥ 2` and `2a > n` (a strict majority).
/// 2. **Ports.** Among those `a`, the port reported most, `b` times (the
///    lowest port on a tie).
/// 3. **Endpoint-independent** when `b ≥ 3` and `2b > a`; the reflexive
///    address is that IP address and port.
/// 4. **Endpoint-dependent** when `a − b ≥ 2`: at least two observers at
///    the mapped IP address saw other ports than the most common one.
/// 5. Both or neither: **unknown**.
///
/// NAT status: [`NatStatus::Public`] only under an endpoint-independent
/// mapping whose reflexive address is one of the node's own (an interface
/// address and the local socket's port); [`NatStatus::BehindNat`] under an
/// endpoint-dependent mapping, under an endpoint-independent one to another
/// address, and whenever the mapped IP address is not an interface address;
/// otherwise not known.
///
/// # What one lying observer can and cannot do
///
/// Say honest observers follow the node's NAT (every one sees the same
/// address and port, or every one a port of its own at the same IP address)
/// and at most one observer (one IP address) reports whatever it likes, as
/// often as it likes. Then:
///
/// - **It cannot create a verdict on its own.** A lone observer yields no
///   mapped IP address, no NAT status and no mapping; a mapped IP address
///   needs two observers agreeing, so one of them is honest; a mapping needs
///   two honest observers agreeing with each other (step 3) or disagreeing
///   on the port (step 4).
/// - **It cannot make a verdict wrong.** The mapped IP address, the
///   reflexive address and the mapping are never other than the honest
///   observers' (no endpoint-independent verdict under an endpoint-dependent
///   NAT, nor the converse), and [`NatStatus::Public`] is reported only when
///   honest observers saw the node's own address and port.
/// - **It cannot overturn or delay a verdict.** With two honest current
///   observers the mapped IP address is known (and so is the NAT status
///   when that is not an interface address), with three the mapping, the
///   reflexive address and the NAT status are, whatever the liar reports
///   and whenever.
/// - **It can** choose the port inside [`NatStatus::BehindNat`] when the
///   mapping is not endpoint-independent and no two observers agree on a
///   port (that port names no address others could use anyway), and it can
///   hasten a correct verdict by agreeing with the honest observers.
/// - **Two or more colluding observers** at distinct IP addresses are
///   outside these guarantees: a strict majority of current observers
///   decides the mapped IP address, so colluders who outnumber the honest
///   ones decide every verdict.
///
/// Memory is bounded: at most [`ObservedAddresses::CAPACITY`] observers.
/// A new observer takes a free slot, else that of an expired observation,
/// else that of the observation seen least recently. One IP address holds
/// one slot and so evicts at most one other observation, once. An attacker
/// reporting from many IP addresses faster than honest observers report
/// again can push every honest observation out and then decide the
/// verdict. A host should therefore record only what answers to its own
/// requests report, attributed to the address it sent each request to:
/// then an attacker is recorded only as a peer this node routes through,
/// and many such peers are the Sybil attack the overlay has to answer.
#[derive(Debug, Clone)]
pub struct ObservedAddresses {
    slots: [Option<Observation>; Self::CAPACITY],
    lifetime: Duration,
}

/// One observer's report: the address it saw this node's request come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Observation {
    /// The observer's IP address (IPv4-mapped IPv6 as IPv4).
    pub observer: IpAddr,
    /// The address it saw (IPv4-mapped IPv6 as IPv4).
    pub observed: SocketAddr,
    /// When it was last reported.
    pub seen: Instant,
}

/// What [`ObservedAddresses::record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordOutcome {
    /// A new observer, in a free slot or one whose observation had expired.
    New,
    /// A new observer, in the slot of the observation seen least recently.
    Evicted {
        /// The observer whose observation went.
        evicted: IpAddr,
    },
    /// The same address as this observer's current observation, seen again.
    Refreshed,
    /// The observer now sees another address than it did (a rebinding, or
    /// a lie).
    Changed {
        /// What it saw before.
        previous: SocketAddr,
    },
    /// Not recorded: the observed address is unspecified, multicast or
    /// broadcast, or its port is 0, or the observer address is unspecified,
    /// multicast or broadcast: no request comes from such an address. The
    /// state is unchanged.
    Refused,
}

/// A NAT's mapping behaviour (RFC 4787 §4.1), as far as observers show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Mapping {
    /// Observers at different addresses see the same address and port: the
    /// mapping is reused for every destination (RFC 4787 §4.1,
    /// "Endpoint-Independent Mapping"). A reflexive address learned from
    /// one peer or STUN server is valid towards every other.
    EndpointIndependent,
    /// Observers see the same IP address with different ports: a new
    /// mapping per destination (RFC 4787 §4.1, "Address-Dependent" and
    /// "Address and Port-Dependent Mapping"). A reflexive address is valid
    /// towards its observer only; others need a relay.
    EndpointDependent,
    /// Not enough agreeing observers, or conflicting ones.
    Unknown,
}

/// What the current observations say, as of one `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MappingVerdict {
    /// The IP address a strict majority of current observers, two at
    /// least, saw this node at.
    pub mapped_ip: Option<IpAddr>,
    /// The address every observer sees: set under
    /// [`Mapping::EndpointIndependent`] only.
    pub reflexive: Option<SocketAddr>,
    /// Whether the node is behind NAT. Under
    /// [`Mapping::EndpointIndependent`] [`NatStatus::BehindNat`] carries the
    /// reflexive address; otherwise the mapped IP address with the port
    /// reported most at it (the lowest on a tie), an address only its
    /// observer would reach this node at.
    pub nat: Option<NatStatus>,
    /// The mapping behaviour.
    pub mapping: Mapping,
    /// Observers behind the verdict: those that reported the reflexive
    /// address under [`Mapping::EndpointIndependent`], else those that
    /// reported the mapped IP address; 0 when that is not known.
    pub observers: u8,
    /// Current observations counted (distinct observer IP addresses).
    pub current: u8,
}

impl Default for MappingVerdict {
    /// Nothing known: what no observation says.
    fn default() -> Self {
        Self {
            mapped_ip: None,
            reflexive: None,
            nat: None,
            mapping: Mapping::Unknown,
            observers: 0,
            current: 0,
        }
    }
}

impl Default for ObservedAddresses {
    /// Observations count for [`ObservedAddresses::DEFAULT_LIFETIME`].
    fn default() -> Self {
        Self::new(Self::DEFAULT_LIFETIME)
    }
}

impl ObservedAddresses {
    /// Most observers kept at once.
    pub const CAPACITY: usize = 16;

    /// Five minutes: the UDP mapping timer RFC 4787 §4.3 recommends. A
    /// mapping idle that long may have been replaced by another.
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

    /// No observations; each counts for `lifetime` after it was last
    /// reported (a zero lifetime: none ever counts).
    pub fn new(lifetime: Duration) -> Self {
        Self {
            slots: [None; Self::CAPACITY],
            lifetime,
        }
    }

    /// How long an observation counts after it was last reported.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Records that `observer` saw this node's request come from `observed`
    /// at `now`, replacing what `observer` reported before.
    pub fn record(
        &mut self,
        now: Instant,
        observer: IpAddr,
        observed: SocketAddr,
    ) -> RecordOutcome {
        let observer = observer.to_canonical();
        let observed = SocketAddr::new(observed.ip().to_canonical(), observed.port());
        if !usable(observer) || !usable(observed.ip()) || observed.port() == 0 {
            return RecordOutcome::Refused;
        }
        let new = Observation {
            observer,
            observed,
            seen: now,
        };
        if let Some(slot) = self
            .slots
            .iter_mut()
            .flatten()
            .find(|o| o.observer == observer)
        {
            let was = *slot;
            *slot = new;
            return if !was.is_current(now, self.lifetime) {
                RecordOutcome::New
            } else if was.observed == observed {
                RecordOutcome::Refreshed
            } else {
                RecordOutcome::Changed {
                    previous: was.observed,
                }
            };
        }
        let lifetime = self.lifetime;
        if let Some(slot) = self
            .slots
            .iter_mut()
            .find(|s| s.is_none_or(|o| !o.is_current(now, lifetime)))
        {
            *slot = Some(new);
            return RecordOutcome::New;
        }
        // Full of current observations: the least recently seen goes.
        match self.slots.iter_mut().flatten().min_by_key(|o| o.seen) {
            Some(oldest) => {
                let evicted = oldest.observer;
                *oldest = new;
                RecordOutcome::Evicted { evicted }
            }
            // Unreachable: no slot is free, so every slot holds one.
            None => RecordOutcome::Refused,
        }
    }

    /// Removes what `observer` reported (a peer that left, or that the host
    /// no longer trusts).
    pub fn forget(&mut self, observer: IpAddr) -> Option<Observation> {
        let observer = observer.to_canonical();
        self.slots
            .iter_mut()
            .find(|s| s.is_some_and(|o| o.observer == observer))
            .and_then(Option::take)
    }

    /// Removes every observation (the node moved to another network).
    pub fn clear(&mut self) {
        self.slots = [None; Self::CAPACITY];
    }

    /// Removes the observations past their lifetime at `now`; returns how
    /// many went. The verdict ignores them whether or not this is called.
    pub fn expire(&mut self, now: Instant) -> usize {
        let lifetime = self.lifetime;
        let mut gone = 0;
        for slot in &mut self.slots {
            if slot.is_some_and(|o| !o.is_current(now, lifetime)) {
                *slot = None;
                gone += 1;
            }
        }
        gone
    }

    /// The observations that count at `now`, in no particular order.
    pub fn current(&self, now: Instant) -> impl Iterator<Item = Observation> + '_ {
        let lifetime = self.lifetime;
        self.slots
            .iter()
            .flatten()
            .copied()
            .filter(move |o| o.is_current(now, lifetime))
    }

    /// Number of observations held, expired ones included.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether no observation is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the observations current at `now` say, for the socket bound to
    /// `local_port` on a host with `interfaces` (as in
    /// [`NatStatus::detect`]), by the rule in the type's documentation.
    #[must_use]
    pub fn verdict(
        &self,
        now: Instant,
        interfaces: impl IntoIterator<Item = IpAddr>,
        local_port: u16,
    ) -> MappingVerdict {
        let tally = self.tally(now);
        let mut verdict = MappingVerdict {
            mapped_ip: None,
            reflexive: None,
            nat: None,
            mapping: Mapping::Unknown,
            observers: 0,
            current: tally.current,
        };
        let Some(m) = tally.mapped else {
            return verdict;
        };
        let independent = m.port_count >= 3 && 2 * m.port_count > m.ip_count;
        let dependent = m.ip_count - m.port_count >= 2;
        let top = SocketAddr::new(m.ip, m.port);
        verdict.mapped_ip = Some(m.ip);
        verdict.observers = m.ip_count;
        match (independent, dependent) {
            (true, false) => {
                verdict.mapping = Mapping::EndpointIndependent;
                verdict.reflexive = Some(top);
                verdict.observers = m.port_count;
                verdict.nat = Some(NatStatus::detect(interfaces, local_port, top));
            }
            (false, true) => {
                verdict.mapping = Mapping::EndpointDependent;
                verdict.nat = Some(NatStatus::BehindNat { reflexive: top });
            }
            _ => {
                let own = interfaces.into_iter().any(|i| i.to_canonical() == m.ip);
                if !own {
                    verdict.nat = Some(NatStatus::BehindNat { reflexive: top });
                }
            }
        }
        verdict
    }
}

impl MappingVerdict {
    /// Whether anything is known: at least the mapped IP address.
    pub fn is_known(&self) -> bool {
        self.mapped_ip.is_some()
    }
}

impl fmt::Display for Mapping {
    /// `endpoint-independent`, `endpoint-dependent` or `unknown`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EndpointIndependent => "endpoint-independent",
            Self::EndpointDependent => "endpoint-dependent",
            Self::Unknown => "unknown",
        })
    }
}

impl fmt::Display for MappingVerdict {
    /// `endpoint-independent mapping to 203.0.113.7:40000, behind NAT
    /// (reflexive 203.0.113.7:40000); 3 of 4 observers`, or `unknown
    /// mapping, NAT status unknown; 0 of 1 observers`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} mapping", self.mapping)?;
        if let Some(reflexive) = self.reflexive {
            write!(f, " to {reflexive}")?;
        } else if let Some(ip) = self.mapped_ip {
            write!(f, " to {ip}")?;
        }
        match self.nat {
            Some(nat) => write!(f, ", {nat}")?,
            None => f.write_str(", NAT status unknown")?,
        }
        write!(f, "; {} of {} observers", self.observers, self.current)
    }
}

/// Steps 1 and 2 of the rule, before any judgement.
struct Tally {
    current: u8,
    mapped: Option<Mapped>,
}

/// The mapped IP address a strict majority reported, with its most common
/// port.
struct Mapped {
    ip: IpAddr,
    ip_count: u8,
    port: u16,
    port_count: u8,
}

impl ObservedAddresses {
    fn tally(&self, now: Instant) -> Tally {
        let mut buf = [SocketAddr::from(([0, 0, 0, 0], 0)); Self::CAPACITY];
        let mut n = 0;
        for (slot, o) in buf.iter_mut().zip(self.current(now)) {
            *slot = o.observed;
            n += 1;
        }
        let seen = &buf[..n];
        let current = n as u8;
        let count = |f: &dyn Fn(&SocketAddr) -> bool| seen.iter().filter(|s| f(s)).count() as u8;
        // Step 1: a strict majority is unique, so ties need no breaking.
        let best_ip = seen
            .iter()
            .map(|s| (s.ip(), count(&|t| t.ip() == s.ip())))
            .max_by_key(|&(_, c)| c);
        let Some((ip, ip_count)) = best_ip.filter(|&(_, c)| c >= 2 && 2 * c > current) else {
            return Tally {
                current,
                mapped: None,
            };
        };
        // Step 2: the most common port at `ip`, the lowest on a tie.
        let best_port = seen
            .iter()
            .filter(|s| s.ip() == ip)
            .map(|s| (s.port(), count(&|t| t == s)))
            .min_by_key(|&(port, c)| (core::cmp::Reverse(c), port));
        Tally {
            current,
            mapped: best_port.map(|(port, port_count)| Mapped {
                ip,
                ip_count,
                port,
                port_count,
            }),
        }
    }
}

impl Observation {
    fn is_current(&self, now: Instant, lifetime: Duration) -> bool {
        now.saturating_duration_since(self.seen) < lifetime
    }
}

/// Whether a request can come from, or be seen at, `ip`.
fn usable(ip: IpAddr) -> bool {
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    !ip.is_unspecified() && !ip.is_multicast() && !broadcast
}

#[cfg(test)]
mod tests {
    use super::*;

    const NATED: [&str; 1] = ["10.0.0.2"];
    const LOCAL_PORT: u16 = 5000;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn ifaces(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| ip(s)).collect()
    }

    /// Records `(observer, observed)` pairs at `now`.
    fn seen(now: Instant, reports: &[(&str, &str)]) -> ObservedAddresses {
        let mut o = ObservedAddresses::default();
        for (observer, observed) in reports {
            let _ = o.record(now, ip(observer), addr(observed));
        }
        o
    }

    fn behind(reflexive: &str) -> Option<NatStatus> {
        Some(NatStatus::BehindNat {
            reflexive: addr(reflexive),
        })
    }

    const NOTHING: fn(u8) -> MappingVerdict = |current| MappingVerdict {
        mapped_ip: None,
        reflexive: None,
        nat: None,
        mapping: Mapping::Unknown,
        observers: 0,
        current,
    };

    #[test]
    fn one_observer_yields_nothing() {
        let now = Instant::now();
        let mut o = seen(now, &[("198.51.100.1", "203.0.113.7:40000")]);
        assert_eq!(o.verdict(now, ifaces(&NATED), LOCAL_PORT), NOTHING(1));
        // Nor when it reports its address again and again, or another one.
        for port in 1..100 {
            let _ = o.record(now, ip("198.51.100.1"), addr("203.0.113.7:40000"));
            let _ = o.record(
                now,
                ip("198.51.100.1"),
                SocketAddr::new(ip("203.0.113.8"), port),
            );
        }
        assert_eq!(o.verdict(now, ifaces(&NATED), LOCAL_PORT), NOTHING(1));
        // Nor when its address is the node's own.
        assert_eq!(o.verdict(now, ifaces(&["203.0.113.8"]), 99), NOTHING(1));
    }

    #[test]
    fn two_agreeing_observers_give_the_mapped_ip_and_the_nat_status_but_no_mapping() {
        let now = Instant::now();
        let o = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40000"),
                ("192.0.2.1", "203.0.113.7:40000"),
            ],
        );
        // One of two may lie and copy the other under an endpoint-dependent
        // NAT: two agreeing do not show the mapping.
        let v = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(
            v,
            MappingVerdict {
                mapped_ip: Some(ip("203.0.113.7")),
                reflexive: None,
                nat: behind("203.0.113.7:40000"),
                mapping: Mapping::Unknown,
                observers: 2,
                current: 2,
            }
        );
        // Whether the node's own address is translated is not known yet.
        let v = o.verdict(now, ifaces(&["203.0.113.7"]), 40000);
        assert_eq!((v.nat, v.mapping), (None, Mapping::Unknown));
    }

    #[test]
    fn two_disagreeing_observers_give_nothing() {
        let now = Instant::now();
        let other_ip = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40000"),
                ("192.0.2.1", "203.0.113.9:40000"),
            ],
        );
        assert_eq!(
            other_ip.verdict(now, ifaces(&NATED), LOCAL_PORT),
            NOTHING(2)
        );
        // The same IP address with two ports: one honest endpoint-independent
        // observer and a liar, or two honest endpoint-dependent ones.
        let other_port = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40000"),
                ("192.0.2.1", "203.0.113.7:40001"),
            ],
        );
        let v = other_port.verdict(now, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.mapping, Mapping::Unknown);
        assert_eq!(v.mapped_ip, Some(ip("203.0.113.7")));
        assert_eq!(v.nat, behind("203.0.113.7:40000"));
        assert_eq!((v.observers, v.current), (2, 2));
    }

    #[test]
    fn three_agreeing_observers_show_an_endpoint_independent_mapping() {
        let now = Instant::now();
        let o = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40000"),
                ("192.0.2.1", "203.0.113.7:40000"),
                ("2001:db8::1", "203.0.113.7:40000"),
            ],
        );
        assert_eq!(
            o.verdict(now, ifaces(&NATED), LOCAL_PORT),
            MappingVerdict {
                mapped_ip: Some(ip("203.0.113.7")),
                reflexive: Some(addr("203.0.113.7:40000")),
                nat: behind("203.0.113.7:40000"),
                mapping: Mapping::EndpointIndependent,
                observers: 3,
                current: 3,
            }
        );
    }

    #[test]
    fn three_observers_at_distinct_ports_show_an_endpoint_dependent_mapping() {
        let now = Instant::now();
        let o = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40002"),
                ("192.0.2.1", "203.0.113.7:40001"),
                ("198.51.100.3", "203.0.113.7:40003"),
            ],
        );
        assert_eq!(
            o.verdict(now, ifaces(&NATED), LOCAL_PORT),
            MappingVerdict {
                mapped_ip: Some(ip("203.0.113.7")),
                reflexive: None,
                // The lowest port on a tie.
                nat: behind("203.0.113.7:40001"),
                mapping: Mapping::EndpointDependent,
                observers: 3,
                current: 3,
            }
        );
        // A port-translating firewall on the node's own address is a NAT.
        let v = o.verdict(now, ifaces(&["203.0.113.7"]), 40001);
        assert_eq!(v.nat, behind("203.0.113.7:40001"));
    }

    #[test]
    fn the_node_s_own_address_and_port_is_public() {
        let now = Instant::now();
        let o = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:5000"),
                ("192.0.2.1", "203.0.113.7:5000"),
                ("198.51.100.3", "203.0.113.7:5000"),
            ],
        );
        let own = ifaces(&["10.0.0.2", "203.0.113.7"]);
        let v = o.verdict(now, own.clone(), 5000);
        assert_eq!(v.nat, Some(NatStatus::Public));
        assert_eq!(v.mapping, Mapping::EndpointIndependent);
        // Another local port: the port was translated.
        assert_eq!(o.verdict(now, own, 5001).nat, behind("203.0.113.7:5000"));
        // IPv4-mapped interface addresses count as their IPv4 address.
        let v = o.verdict(now, ifaces(&["::ffff:203.0.113.7"]), 5000);
        assert_eq!(v.nat, Some(NatStatus::Public));
    }

    #[test]
    fn a_liar_beside_two_honest_observers_changes_nothing_and_beside_three_neither() {
        let now = Instant::now();
        let honest = [
            ("198.51.100.1", "203.0.113.7:40000"),
            ("192.0.2.1", "203.0.113.7:40000"),
            ("198.51.100.3", "203.0.113.7:40000"),
        ];
        for lie in ["198.18.0.1:1", "203.0.113.7:40001", "203.0.113.7:40000"] {
            let mut o = seen(now, &honest[..2]);
            let before = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
            let _ = o.record(now, ip("192.0.2.66"), addr(lie));
            let after = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
            assert_eq!(after.mapped_ip, before.mapped_ip, "{lie}");
            assert_eq!(after.nat, before.nat, "{lie}");
            // Only a liar agreeing with the honest ones hastens the mapping.
            let hastened = lie == "203.0.113.7:40000";
            assert_eq!(after.mapping == Mapping::EndpointIndependent, hastened);
            assert_ne!(after.mapping, Mapping::EndpointDependent);

            let _ = o.record(now, ip(honest[2].0), addr(honest[2].1));
            let v = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
            assert_eq!(v.mapping, Mapping::EndpointIndependent, "{lie}");
            assert_eq!(v.reflexive, Some(addr("203.0.113.7:40000")));
        }
    }

    #[test]
    fn an_established_verdict_survives_one_new_liar() {
        let now = Instant::now();
        let independent = [
            ("198.51.100.1", "203.0.113.7:40000"),
            ("192.0.2.1", "203.0.113.7:40000"),
            ("198.51.100.3", "203.0.113.7:40000"),
        ];
        let dependent = [
            ("198.51.100.1", "203.0.113.7:40001"),
            ("192.0.2.1", "203.0.113.7:40002"),
            ("198.51.100.3", "203.0.113.7:40003"),
        ];
        let lies = [
            "198.18.0.1:1",
            "203.0.113.7:40000",
            "203.0.113.7:40001",
            "203.0.113.7:1",
            "10.0.0.2:5000",
        ];
        for honest in [independent, dependent] {
            let before = seen(now, &honest).verdict(now, ifaces(&NATED), LOCAL_PORT);
            assert_ne!(before.mapping, Mapping::Unknown);
            for lie in lies {
                let mut o = seen(now, &honest);
                let _ = o.record(now, ip("192.0.2.66"), addr(lie));
                let after = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
                assert_eq!(after.mapping, before.mapping, "{lie}");
                assert_eq!(after.mapped_ip, before.mapped_ip, "{lie}");
                assert_eq!(after.reflexive, before.reflexive, "{lie}");
                assert_eq!(after.nat.map(|n| n.is_behind_nat()), Some(true), "{lie}");
            }
        }
    }

    #[test]
    fn a_liar_copying_an_honest_port_under_dependent_mapping_changes_nothing() {
        let now = Instant::now();
        let mut o = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40001"),
                ("192.0.2.1", "203.0.113.7:40002"),
                ("198.51.100.3", "203.0.113.7:40003"),
            ],
        );
        let _ = o.record(now, ip("192.0.2.66"), addr("203.0.113.7:40002"));
        let v = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.mapping, Mapping::EndpointDependent);
        // The copied port is now the most common one.
        assert_eq!(v.nat, behind("203.0.113.7:40002"));
        assert_eq!((v.observers, v.current), (4, 4));
    }

    #[test]
    fn one_honest_observer_and_a_copying_liar_show_no_mapping() {
        // Under an endpoint-dependent NAT a liar copying the one honest
        // observer would look like an endpoint-independent mapping.
        let now = Instant::now();
        let o = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40001"),
                ("192.0.2.66", "203.0.113.7:40001"),
            ],
        );
        let v = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.mapping, Mapping::Unknown);
        assert_eq!(v.reflexive, None);
    }

    #[test]
    fn a_liar_can_choose_the_port_behind_nat_names_when_no_two_agree() {
        let now = Instant::now();
        let o = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40000"),
                ("192.0.2.66", "203.0.113.7:1"),
            ],
        );
        let v = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.mapping, Mapping::Unknown);
        assert_eq!(v.reflexive, None);
        assert_eq!(v.nat, behind("203.0.113.7:1"));
        // Once two observers agree on a port, theirs is the one named.
        let mut o = o;
        let _ = o.record(now, ip("198.51.100.2"), addr("203.0.113.7:40000"));
        let v = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.nat, behind("203.0.113.7:40000"));
    }

    #[test]
    fn conflicting_evidence_is_unknown() {
        // Three at one port and two at others: only possible with two liars.
        let now = Instant::now();
        let o = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40000"),
                ("198.51.100.2", "203.0.113.7:40000"),
                ("198.51.100.3", "203.0.113.7:40000"),
                ("192.0.2.1", "203.0.113.7:1"),
                ("192.0.2.2", "203.0.113.7:2"),
            ],
        );
        let v = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.mapping, Mapping::Unknown);
        assert_eq!(v.mapped_ip, Some(ip("203.0.113.7")));
        assert_eq!(v.nat, behind("203.0.113.7:40000"));
        assert_eq!((v.observers, v.current), (5, 5));
    }

    #[test]
    fn two_colluding_observers_decide_when_they_outnumber_the_honest_ones() {
        let now = Instant::now();
        let mut o = seen(
            now,
            &[
                ("192.0.2.66", "198.18.0.1:1"),
                ("192.0.2.67", "198.18.0.1:1"),
            ],
        );
        let v = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.mapped_ip, Some(ip("198.18.0.1")));
        // With an honest third they no longer form a strict majority...
        let _ = o.record(now, ip("198.51.100.1"), addr("203.0.113.7:40000"));
        let v = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.mapped_ip, Some(ip("198.18.0.1")));
        // ...until a second honest observer makes it a tie: nothing known.
        let _ = o.record(now, ip("198.51.100.2"), addr("203.0.113.7:40000"));
        assert_eq!(o.verdict(now, ifaces(&NATED), LOCAL_PORT), NOTHING(4));
    }

    #[test]
    fn a_majority_is_needed_for_the_mapped_ip() {
        let now = Instant::now();
        let o = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40000"),
                ("198.51.100.2", "203.0.113.7:40000"),
                ("192.0.2.1", "203.0.113.8:1"),
                ("192.0.2.2", "203.0.113.9:1"),
            ],
        );
        assert_eq!(o.verdict(now, ifaces(&NATED), LOCAL_PORT), NOTHING(4));
    }

    #[test]
    fn each_observer_counts_once_and_replaces_its_report() {
        let now = Instant::now();
        let mut o = ObservedAddresses::default();
        let a = addr("203.0.113.7:40000");
        let b = addr("203.0.113.7:40001");
        assert_eq!(o.record(now, ip("198.51.100.1"), a), RecordOutcome::New);
        assert_eq!(
            o.record(now, ip("198.51.100.1"), a),
            RecordOutcome::Refreshed
        );
        // An IPv4-mapped IPv6 observer is the same observer.
        assert_eq!(
            o.record(now, ip("::ffff:198.51.100.1"), b),
            RecordOutcome::Changed { previous: a }
        );
        assert_eq!(o.len(), 1);
        let only: Vec<Observation> = o.current(now).collect();
        assert_eq!(only[0].observer, ip("198.51.100.1"));
        assert_eq!(only[0].observed, b);
        // IPv4-mapped observed addresses count as the IPv4 address.
        let _ = o.record(now, ip("192.0.2.1"), addr("[::ffff:203.0.113.7]:40001"));
        let _ = o.record(now, ip("192.0.2.2"), b);
        let v = o.verdict(now, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.reflexive, Some(b));
        assert_eq!(v.observers, 3);
    }

    #[test]
    fn impossible_addresses_are_refused() {
        let now = Instant::now();
        let mut o = ObservedAddresses::default();
        let good = addr("203.0.113.7:40000");
        for (observer, observed) in [
            ("0.0.0.0", "203.0.113.7:40000"),
            ("224.0.0.1", "203.0.113.7:40000"),
            ("255.255.255.255", "203.0.113.7:40000"),
            ("::", "203.0.113.7:40000"),
            ("198.51.100.1", "0.0.0.0:40000"),
            ("198.51.100.1", "[ff02::1]:40000"),
            ("198.51.100.1", "255.255.255.255:40000"),
            ("198.51.100.1", "203.0.113.7:0"),
        ] {
            assert_eq!(
                o.record(now, ip(observer), addr(observed)),
                RecordOutcome::Refused
            );
        }
        assert!(o.is_empty());
        // A refused report leaves the observer's previous one in place.
        let _ = o.record(now, ip("198.51.100.1"), good);
        let _ = o.record(now, ip("198.51.100.1"), addr("203.0.113.7:0"));
        assert_eq!(o.current(now).next().map(|o| o.observed), Some(good));
    }

    #[test]
    fn observations_expire() {
        let t0 = Instant::now();
        let lifetime = Duration::from_secs(60);
        let mut o = ObservedAddresses::new(lifetime);
        assert_eq!(o.lifetime(), lifetime);
        let mapped = addr("203.0.113.7:40000");
        for hop in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
            let _ = o.record(t0, ip(hop), mapped);
        }
        let t1 = t0 + Duration::from_secs(59);
        assert_eq!(
            o.verdict(t1, ifaces(&NATED), LOCAL_PORT).mapping,
            Mapping::EndpointIndependent
        );
        // One observer refreshed; the others expire at t0 + 60 s.
        let _ = o.record(t1, ip("198.51.100.1"), mapped);
        let t2 = t0 + lifetime;
        assert_eq!(o.verdict(t2, ifaces(&NATED), LOCAL_PORT), NOTHING(1));
        assert_eq!(o.len(), 3);
        assert_eq!(o.expire(t2), 2);
        assert_eq!(o.len(), 1);
        // An expired observer comes back as new.
        let _ = o.record(t2, ip("198.51.100.2"), mapped);
        assert_eq!(o.record(t2, ip("198.51.100.3"), mapped), RecordOutcome::New);
        // A `now` before the last report (a host passing times out of
        // order) counts as the time of the report.
        let v = o.verdict(t0, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.mapping, Mapping::EndpointIndependent);
        // A zero lifetime: nothing counts.
        let mut never = ObservedAddresses::new(Duration::ZERO);
        let _ = never.record(t0, ip("198.51.100.1"), mapped);
        let _ = never.record(t0, ip("198.51.100.2"), mapped);
        assert_eq!(never.verdict(t0, ifaces(&NATED), LOCAL_PORT), NOTHING(0));
    }

    #[test]
    fn a_rebinding_shows_as_observers_report_again() {
        let t0 = Instant::now();
        let hops = ["198.51.100.1", "198.51.100.2", "198.51.100.3"];
        let mut o = ObservedAddresses::default();
        for hop in hops {
            let _ = o.record(t0, ip(hop), addr("203.0.113.7:40000"));
        }
        let t1 = t0 + Duration::from_secs(10);
        let rebound = addr("203.0.113.7:41000");
        for hop in hops {
            assert_eq!(
                o.record(t1, ip(hop), rebound),
                RecordOutcome::Changed {
                    previous: addr("203.0.113.7:40000")
                }
            );
        }
        assert_eq!(
            o.verdict(t1, ifaces(&NATED), LOCAL_PORT).reflexive,
            Some(rebound)
        );
    }

    #[test]
    fn one_address_evicts_at_most_one_observation() {
        let t0 = Instant::now();
        let mut o = ObservedAddresses::default();
        let mapped = addr("203.0.113.7:40000");
        for i in 0..ObservedAddresses::CAPACITY as u8 {
            let hop = IpAddr::from([198, 51, 100, i + 1]);
            assert_eq!(o.record(t0, hop, mapped), RecordOutcome::New);
        }
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            o.record(t1, ip("192.0.2.66"), addr("198.18.0.1:1")),
            RecordOutcome::Evicted {
                evicted: ip("198.51.100.1")
            }
        );
        for port in 2..1000 {
            let lie = SocketAddr::new(ip("198.18.0.1"), port);
            assert!(matches!(
                o.record(t1, ip("192.0.2.66"), lie),
                RecordOutcome::Changed { .. }
            ));
        }
        assert_eq!(o.len(), ObservedAddresses::CAPACITY);
        let v = o.verdict(t1, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.reflexive, Some(mapped));
        assert_eq!((v.observers, v.current), (15, 16));
    }

    #[test]
    fn many_addresses_can_push_every_honest_observation_out() {
        let t0 = Instant::now();
        let mut o = ObservedAddresses::default();
        for hop in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
            let _ = o.record(t0, ip(hop), addr("203.0.113.7:40000"));
        }
        let t1 = t0 + Duration::from_secs(1);
        let lie = addr("198.18.0.1:1");
        for i in 0..ObservedAddresses::CAPACITY as u8 {
            let _ = o.record(t1, IpAddr::from([192, 0, 2, i + 1]), lie);
        }
        assert_eq!(o.len(), ObservedAddresses::CAPACITY);
        let v = o.verdict(t1, ifaces(&NATED), LOCAL_PORT);
        assert_eq!(v.reflexive, Some(lie));
        assert!(o.current(t1).all(|o| o.observed == lie));
    }

    #[test]
    fn forget_and_clear() {
        let now = Instant::now();
        let mapped = addr("203.0.113.7:40000");
        let mut o = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40000"),
                ("198.51.100.2", "203.0.113.7:40000"),
                ("198.51.100.3", "203.0.113.7:40000"),
            ],
        );
        let gone = o.forget(ip("::ffff:198.51.100.2")).unwrap();
        assert_eq!(
            (gone.observer, gone.observed, gone.seen),
            (ip("198.51.100.2"), mapped, now)
        );
        assert_eq!(o.forget(ip("198.51.100.2")), None);
        assert_eq!(
            o.verdict(now, ifaces(&NATED), LOCAL_PORT).mapping,
            Mapping::Unknown
        );
        o.clear();
        assert!(o.is_empty());
        assert_eq!(o.verdict(now, ifaces(&NATED), LOCAL_PORT), NOTHING(0));
    }

    #[test]
    fn display() {
        let now = Instant::now();
        let o = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40000"),
                ("198.51.100.2", "203.0.113.7:40000"),
                ("198.51.100.3", "203.0.113.7:40000"),
                ("192.0.2.1", "203.0.113.7:1"),
            ],
        );
        assert_eq!(
            o.verdict(now, ifaces(&NATED), LOCAL_PORT).to_string(),
            "endpoint-independent mapping to 203.0.113.7:40000, \
             behind NAT (reflexive 203.0.113.7:40000); 3 of 4 observers"
        );
        assert_eq!(
            o.verdict(now, ifaces(&["203.0.113.7"]), 40000).to_string(),
            "endpoint-independent mapping to 203.0.113.7:40000, public; 3 of 4 observers"
        );
        assert_eq!(
            NOTHING(1).to_string(),
            "unknown mapping, NAT status unknown; 0 of 1 observers"
        );
        let two = seen(
            now,
            &[
                ("198.51.100.1", "203.0.113.7:40001"),
                ("198.51.100.2", "203.0.113.7:40002"),
                ("198.51.100.3", "203.0.113.7:40003"),
            ],
        );
        assert_eq!(
            two.verdict(now, ifaces(&NATED), LOCAL_PORT).to_string(),
            "endpoint-dependent mapping to 203.0.113.7, \
             behind NAT (reflexive 203.0.113.7:40001); 3 of 3 observers"
        );
        assert_eq!(Mapping::Unknown.to_string(), "unknown");
    }
}
