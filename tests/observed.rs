//! Property tests of `ObservedAddresses`, the classifier of the addresses
//! peers saw this node's requests come from, through the public API.
//!
//! Honest observers follow a NAT: endpoint-independent (every one sees the
//! same mapped address) or endpoint-dependent (every one sees the same IP
//! address with a port of its own). At most one more observer lies, with
//! any address, as often as it likes, at any point. Then:
//! (a) no verdict is ever wrong: not the mapped IP address, the reflexive
//!     address, the mapping or the NAT status;
//! (b) with two honest current observers the mapped IP address is known,
//!     with three the mapping, the reflexive address and the NAT status;
//! (c) a lone observer never yields anything, whatever it reports;
//! (d) the order of recording does not change the final verdict (no
//!     eviction, no expiry);
//! (e) no sequence of calls panics, and every verdict is consistent.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::RngSeed;
use stun_turn_discovery::{Mapping, MappingVerdict, NatStatus, ObservedAddresses};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nat {
    Independent,
    Dependent,
}

/// How the mapped address relates to the node's interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Own {
    /// The mapped IP address is not an interface address.
    Neither,
    /// It is, but the local port differs from the mapped one.
    Ip,
    /// Address and port are the node's own.
    IpAndPort,
}

#[derive(Debug, Clone)]
struct Scenario {
    nat: Nat,
    mapped_ip: IpAddr,
    /// The mapped port under an endpoint-independent NAT.
    port: u16,
    /// Honest observers with the port each sees under an endpoint-dependent
    /// NAT (distinct).
    honest: Vec<(IpAddr, u16)>,
    /// The order honest observers report in (indices into `honest`), each at
    /// least once.
    order: Vec<usize>,
    /// The liar's reports: before which honest report, and what.
    lies: Vec<(usize, SocketAddr)>,
    own: Own,
}

const LIAR: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x66));

/// A usable IPv4 address: first octet 1 to 223.
fn unicast_v4() -> impl Strategy<Value = u32> {
    0x0100_0000u32..0xE000_0000
}

fn mapped_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        unicast_v4().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        any::<u64>().prop_map(|low| IpAddr::V6(Ipv6Addr::from(
            (0x2001_0db8_0001u128 << 80) | u128::from(low)
        ))),
    ]
}

/// Any socket address at all, garbage included.
fn any_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<u32>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::from((Ipv4Addr::from(a), p))),
        (any::<u128>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::from((Ipv6Addr::from(a), p))),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..=20)
        .prop_flat_map(|h| {
            (
                prop_oneof![Just(Nat::Independent), Just(Nat::Dependent)],
                mapped_ip(),
                1u16..,
                prop::collection::btree_set(unicast_v4(), h..=h),
                prop::collection::btree_set(1u16.., h..=h),
                Just((0..h).collect::<Vec<_>>()).prop_shuffle(),
                prop::collection::vec(0..h, 0..8),
                prop::collection::vec((0usize..40, 0u8..4, any_addr(), 0..h), 0..4),
                prop_oneof![Just(Own::Neither), Just(Own::Ip), Just(Own::IpAndPort)],
            )
        })
        .prop_map(
            |(nat, mapped_ip, port, observers, ports, mut order, again, lies, own)| {
                let honest: Vec<(IpAddr, u16)> = observers
                    .into_iter()
                    .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
                    .zip(ports)
                    .collect();
                order.extend(again);
                let true_port = |i: usize| match nat {
                    Nat::Independent => port,
                    Nat::Dependent => honest[i].1,
                };
                // Random addresses rarely meet the mapped one: lie about the
                // port, or copy an honest observer, as often as at random.
                let lies = lies
                    .into_iter()
                    .map(|(at, how, any, i)| {
                        let lie = match how {
                            0 => any,
                            1 => SocketAddr::new(mapped_ip, any.port()),
                            2 => SocketAddr::new(mapped_ip, true_port(i)),
                            _ => SocketAddr::new(any.ip(), true_port(i)),
                        };
                        (at, lie)
                    })
                    .collect();
                Scenario {
                    nat,
                    mapped_ip,
                    port,
                    honest,
                    order,
                    lies,
                    own,
                }
            },
        )
}

impl Scenario {
    fn observed(&self, i: usize) -> SocketAddr {
        match self.nat {
            Nat::Independent => SocketAddr::new(self.mapped_ip, self.port),
            Nat::Dependent => SocketAddr::new(self.mapped_ip, self.honest[i].1),
        }
    }

    fn interfaces(&self) -> Vec<IpAddr> {
        match self.own {
            Own::Neither => Vec::new(),
            Own::Ip | Own::IpAndPort => vec![self.mapped_ip],
        }
    }

    fn local_port(&self) -> u16 {
        match self.own {
            Own::IpAndPort => self.port,
            Own::Neither | Own::Ip => self.port.wrapping_add(1).max(1),
        }
    }

    fn truth(&self) -> Mapping {
        match self.nat {
            Nat::Independent => Mapping::EndpointIndependent,
            Nat::Dependent => Mapping::EndpointDependent,
        }
    }

    fn public(&self) -> bool {
        self.nat == Nat::Independent && self.own == Own::IpAndPort
    }

    /// Checks a verdict against the truth, given how many honest observers
    /// it rests on.
    fn check(&self, v: &MappingVerdict, honest_current: usize) -> Result<(), TestCaseError> {
        let x = self.mapped_ip;
        let reflexive = SocketAddr::new(x, self.port);
        // (a) Never wrong.
        prop_assert!(v.mapped_ip.is_none() || v.mapped_ip == Some(x), "{v:?}");
        prop_assert!(
            v.mapping == Mapping::Unknown || v.mapping == self.truth(),
            "{v:?}"
        );
        if let Some(r) = v.reflexive {
            prop_assert_eq!(self.nat, Nat::Independent);
            prop_assert_eq!(r, reflexive);
        }
        match v.nat {
            Some(NatStatus::Public) => prop_assert!(self.public(), "{v:?}"),
            Some(NatStatus::BehindNat { reflexive: r }) => {
                prop_assert!(!self.public(), "{v:?}");
                prop_assert_eq!(r.ip(), x);
                if v.mapping == Mapping::EndpointIndependent {
                    prop_assert_eq!(r, reflexive);
                }
            }
            None => {}
        }
        // (b) Right once enough honest observers have reported.
        if honest_current >= 2 {
            prop_assert_eq!(v.mapped_ip, Some(x));
            if self.own == Own::Neither {
                prop_assert!(v.nat.is_some_and(|n| n.is_behind_nat()), "{v:?}");
            }
        }
        if honest_current >= 3 {
            prop_assert_eq!(v.mapping, self.truth());
            let nat = if self.public() {
                NatStatus::Public
            } else {
                NatStatus::BehindNat { reflexive }
            };
            match self.nat {
                Nat::Independent => {
                    prop_assert_eq!(v.reflexive, Some(reflexive));
                    prop_assert_eq!(v.nat, Some(nat));
                }
                Nat::Dependent => {
                    prop_assert_eq!(v.reflexive, None);
                    prop_assert!(v.nat.is_some_and(|n| n.is_behind_nat()), "{v:?}");
                }
            }
        }
        Ok(())
    }
}

/// Verdict fields consistent with one another and with the observations.
fn consistent(
    o: &ObservedAddresses,
    now: Instant,
    v: &MappingVerdict,
) -> Result<(), TestCaseError> {
    prop_assert!(o.len() <= ObservedAddresses::CAPACITY);
    prop_assert_eq!(usize::from(v.current), o.current(now).count());
    prop_assert!(v.observers <= v.current);
    prop_assert_eq!(
        v.reflexive.is_some(),
        v.mapping == Mapping::EndpointIndependent
    );
    match v.mapped_ip {
        None => {
            prop_assert_eq!(v.mapping, Mapping::Unknown);
            prop_assert_eq!(v.nat, None);
            prop_assert_eq!(v.observers, 0);
        }
        Some(ip) => {
            prop_assert!(v.observers >= 2);
            prop_assert!(2 * v.observers > v.current || v.reflexive.is_some());
            let at_ip = o.current(now).filter(|c| c.observed.ip() == ip).count();
            prop_assert!(2 * at_ip > usize::from(v.current));
        }
    }
    if v.mapping != Mapping::Unknown {
        prop_assert!(v.observers >= 3);
    }
    if let Some(r) = v.reflexive {
        prop_assert_eq!(Some(r.ip()), v.mapped_ip);
        let at_r = o.current(now).filter(|c| c.observed == r).count();
        prop_assert_eq!(at_r, usize::from(v.observers));
    }
    if v.nat == Some(NatStatus::Public) {
        prop_assert_eq!(v.mapping, Mapping::EndpointIndependent);
    }
    Ok(())
}

/// 512 cases per property from a fixed seed, so every run checks the same
/// cases; `PROPTEST_RNG_SEED` picks other ones.
fn proptest_config() -> ProptestConfig {
    let default = ProptestConfig::default();
    let rng_seed = if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
        default.rng_seed
    } else {
        RngSeed::Fixed(0x0b5e_12ed)
    };
    ProptestConfig {
        cases: 512,
        rng_seed,
        ..default
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    /// (a), (b): honest observers of either NAT and one liar reporting
    /// anything at any point; up to 20 honest observers, so the oldest are
    /// evicted too.
    #[test]
    fn one_liar_never_makes_a_verdict_wrong_nor_keeps_a_right_one_away(s in scenario()) {
        let t0 = Instant::now();
        let mut o = ObservedAddresses::default();
        let honest: BTreeSet<IpAddr> = s.honest.iter().map(|h| h.0).collect();
        let mut step = 0u64;
        let mut lies = s.lies.clone();
        lies.sort_by_key(|l| l.0);
        let mut lies = lies.into_iter().peekable();
        for (k, &i) in s.order.iter().enumerate() {
            let mut reports = Vec::new();
            while let Some(&(at, lie)) = lies.peek() {
                if at > k {
                    break;
                }
                reports.push((LIAR, lie));
                let _ = lies.next();
            }
            reports.push((s.honest[i].0, s.observed(i)));
            for (observer, observed) in reports {
                step += 1;
                let now = t0 + Duration::from_secs(step);
                let _ = o.record(now, observer, observed);
                let v = o.verdict(now, s.interfaces(), s.local_port());
                let honest_current = o.current(now).filter(|c| honest.contains(&c.observer)).count();
                consistent(&o, now, &v)?;
                s.check(&v, honest_current)?;
            }
        }
        for (_, lie) in lies {
            step += 1;
            let now = t0 + Duration::from_secs(step);
            let _ = o.record(now, LIAR, lie);
            let v = o.verdict(now, s.interfaces(), s.local_port());
            let honest_current = o.current(now).filter(|c| honest.contains(&c.observer)).count();
            consistent(&o, now, &v)?;
            s.check(&v, honest_current)?;
        }
        // Every honest observer reported; as many are current as fit beside
        // the liar.
        let now = t0 + Duration::from_secs(step);
        let honest_current = o.current(now).filter(|c| honest.contains(&c.observer)).count();
        let liar = o.current(now).filter(|c| c.observer == LIAR).count();
        prop_assert!(liar <= 1);
        prop_assert_eq!(honest_current, s.honest.len().min(ObservedAddresses::CAPACITY - liar));
    }

    /// (c): one observer, whatever it reports, written as IPv4 or as
    /// IPv4-mapped IPv6, yields nothing.
    #[test]
    fn a_lone_observer_never_yields_a_verdict(
        observer in unicast_v4(),
        reports in prop::collection::vec((any::<bool>(), 0u64..600, any_addr()), 1..40),
        interfaces in prop::collection::vec(any_addr(), 0..3),
        local_port in any::<u16>(),
    ) {
        let t0 = Instant::now();
        let v4 = Ipv4Addr::from(observer);
        let mut o = ObservedAddresses::default();
        for (mapped, at, observed) in reports {
            let who = if mapped { IpAddr::V6(v4.to_ipv6_mapped()) } else { IpAddr::V4(v4) };
            let now = t0 + Duration::from_secs(at);
            let _ = o.record(now, who, observed);
            let v = o.verdict(now, interfaces.iter().map(|a| a.ip()), local_port);
            prop_assert!(o.len() <= 1);
            prop_assert_eq!(v.mapped_ip, None);
            prop_assert_eq!(v.reflexive, None);
            prop_assert_eq!(v.nat, None);
            prop_assert_eq!(v.mapping, Mapping::Unknown);
            prop_assert_eq!(v.observers, 0);
        }
    }

    /// (d): the same reports in another order give the same verdict. The
    /// observed addresses come from a small pool so that they agree often.
    #[test]
    fn the_order_of_recording_does_not_matter(
        reports in prop::collection::btree_map(
            unicast_v4(),
            (select(vec!["203.0.113.7", "203.0.113.8", "::ffff:203.0.113.7"]), 1u16..4),
            0..=16,
        ).prop_map(|m| m.into_iter().collect::<Vec<_>>()).prop_shuffle(),
        own in select(vec![None, Some(("203.0.113.7", 1u16)), Some(("203.0.113.7", 2))]),
    ) {
        let t0 = Instant::now();
        let record = |reports: &[(u32, (&str, u16))]| {
            let mut o = ObservedAddresses::default();
            for (k, (observer, (ip, port))) in reports.iter().enumerate() {
                let observed = SocketAddr::new(ip.parse().unwrap(), *port);
                let _ = o.record(t0 + Duration::from_secs(k as u64), Ipv4Addr::from(*observer).into(), observed);
            }
            o
        };
        let (ifaces, local_port): (Vec<IpAddr>, u16) = match own {
            Some((ip, port)) => (vec![ip.parse().unwrap()], port),
            None => (Vec::new(), 1),
        };
        let now = t0 + Duration::from_secs(20);
        let shuffled = record(&reports).verdict(now, ifaces.clone(), local_port);
        let mut sorted = reports.clone();
        sorted.sort();
        let in_order = record(&sorted).verdict(now, ifaces.clone(), local_port);
        prop_assert_eq!(shuffled, in_order);
        sorted.reverse();
        prop_assert_eq!(record(&sorted).verdict(now, ifaces, local_port), in_order);
    }

    /// (e): any sequence of calls, with times in any order, any lifetime and
    /// any addresses, panics nowhere and gives consistent verdicts.
    #[test]
    fn no_input_panics(
        lifetime in 0u64..120,
        ops in prop::collection::vec(
            (0u8..10, 0u64..300, prop_oneof![unicast_v4().prop_map(|a| IpAddr::V4(a.into())), any_addr().prop_map(|a| a.ip())], any_addr()),
            0..80,
        ),
        interfaces in prop::collection::vec(any_addr(), 0..3),
        local_port in any::<u16>(),
    ) {
        let t0 = Instant::now();
        let mut o = ObservedAddresses::new(Duration::from_secs(lifetime));
        for (op, at, observer, observed) in ops {
            let now = t0 + Duration::from_secs(at);
            match op {
                0 => { let _ = o.forget(observer); }
                1 if at % 7 == 0 => o.clear(),
                2 => { let _ = o.expire(now); }
                // Few distinct mapped addresses, so that verdicts form.
                3 | 4 => {
                    let pooled = SocketAddr::new([203, 0, 113, op - 3].into(), observed.port() % 3 + 1);
                    let _ = o.record(now, observer, pooled);
                }
                // The node's own address, so that it can be public.
                5 => {
                    let own = interfaces.first().map_or(IpAddr::from([203, 0, 113, 0]), |i| i.ip());
                    let _ = o.record(now, observer, SocketAddr::new(own, local_port));
                }
                _ => { let _ = o.record(now, observer, observed); }
            }
            let v = o.verdict(now, interfaces.iter().map(|a| a.ip()), local_port);
            consistent(&o, now, &v)?;
            let _ = v.to_string();
        }
    }
}

#[cfg(feature = "serde")]
#[test]
fn a_verdict_round_trips_through_serde() {
    let now = Instant::now();
    let mut o = ObservedAddresses::default();
    let mapped: SocketAddr = "203.0.113.7:40000".parse().unwrap();
    for hop in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let _ = o.record(now, hop.parse().unwrap(), mapped);
    }
    for v in [
        o.verdict(now, ["10.0.0.2".parse().unwrap()], 5000),
        o.verdict(now, [mapped.ip()], mapped.port()),
        ObservedAddresses::default().verdict(now, [], 5000),
    ] {
        let json = serde_json::to_string(&v).unwrap();
        let back: MappingVerdict = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
    }
    let json = serde_json::to_string(&Mapping::EndpointDependent).unwrap();
    assert_eq!(json, "\"EndpointDependent\"");
}
