//! A per-requester limit on what one node can make this peer hand out.
//!
//! The draft's §7 is empty. A node that floods a peer with requests
//! carrying the piggyback option learns, request by request, every
//! candidate in the peer's table, and makes the peer work for each
//! (SECURITY.md, "draining a table"). With a [`RequestLimit`] set, a peer
//! keeps a token bucket per requester, driven by the `now` the host passes;
//! a requester over its limit gets nothing added (the request itself is
//! still forwarded or answered: limiting discovery never breaks routing).

use core::fmt;
use core::net::IpAddr;
use std::collections::BTreeMap;
use std::time::Instant;

use crate::candidate::TransportAddress;
use crate::config_error::ConfigError;
use crate::node_id::NodeId;

/// Who sent a request, as far as the host can tell: the address it came
/// from (the sending node itself in iterative mode and at the first hop),
/// or an overlay node id (e.g. the first entry of a RELOAD via list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Requester {
    /// The IP address the request came from.
    Address(IpAddr),
    /// The requesting node's overlay id.
    Node(NodeId),
    /// The transport address the request came from, as the host saw it
    /// (source IP address and port, and the transport it came over). Limited
    /// by its IP address, like [`Requester::Address`]; a hop that received
    /// the request from the sending node itself (every hop in iterative
    /// mode, the first in recursive mode) also reports it back as the
    /// observed address ([`HopReport::observed`](super::HopReport::observed)).
    Transport(TransportAddress),
}

impl fmt::Display for Requester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(ip) => write!(f, "{ip}"),
            Self::Node(id) => write!(f, "node {id}"),
            Self::Transport(t) => write!(f, "{t}"),
        }
    }
}

/// How many requests one requester may have served: `burst` at once, then
/// `per_minute` a minute, for at most `requesters` requesters tracked at a
/// time (the least recently seen is forgotten first).
///
/// ```
/// use stun_turn_discovery::peer::RequestLimit;
/// let limit = RequestLimit::new(60, 10)?;
/// assert_eq!((limit.per_minute(), limit.burst(), limit.requesters()), (60, 10, 1024));
/// assert!(RequestLimit::new(0, 10).is_err());
/// # Ok::<(), stun_turn_discovery::error::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawLimit", into = "RawLimit"))]
pub struct RequestLimit {
    per_minute: u32,
    burst: u32,
    requesters: u32,
}

impl RequestLimit {
    /// `per_minute` requests a minute with bursts of `burst`, both at least
    /// 1; 1024 requesters tracked.
    pub fn new(per_minute: u32, burst: u32) -> Result<Self, ConfigError> {
        if per_minute == 0 {
            return Err(ConfigError::Zero("requests per minute"));
        }
        if burst == 0 {
            return Err(ConfigError::Zero("request burst"));
        }
        Ok(Self {
            per_minute,
            burst,
            requesters: 1024,
        })
    }

    /// This limit tracking at most `n` requesters, at least 1.
    pub fn with_requesters(mut self, n: u32) -> Result<Self, ConfigError> {
        if n == 0 {
            return Err(ConfigError::Zero("requesters tracked"));
        }
        self.requesters = n;
        Ok(self)
    }

    /// Requests a minute, once the burst is spent.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Requests at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Requesters tracked at most.
    pub fn requesters(&self) -> u32 {
        self.requesters
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RawLimit {
    per_minute: u32,
    burst: u32,
    requesters: u32,
}

#[cfg(feature = "serde")]
impl TryFrom<RawLimit> for RequestLimit {
    type Error = ConfigError;
    fn try_from(r: RawLimit) -> Result<Self, ConfigError> {
        Self::new(r.per_minute, r.burst)?.with_requesters(r.requesters)
    }
}

#[cfg(feature = "serde")]
impl From<RequestLimit> for RawLimit {
    fn from(l: RequestLimit) -> Self {
        Self {
            per_minute: l.per_minute,
            burst: l.burst,
            requesters: l.requesters,
        }
    }
}

/// One requester's bucket, in thousandths of a request.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli: u64,
    at: Instant,
}

/// The token buckets of one peer.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    limit: RequestLimit,
    buckets: BTreeMap<Requester, Bucket>,
}

impl Limiter {
    pub(crate) fn new(limit: RequestLimit) -> Self {
        Self {
            limit,
            buckets: BTreeMap::new(),
        }
    }

    /// Whether `requester` may be served at `now`; spends one request if so.
    pub(crate) fn allow(&mut self, now: Instant, requester: Requester) -> bool {
        let full = u64::from(self.limit.burst) * 1000;
        if !self.buckets.contains_key(&requester)
            && self.buckets.len() >= self.limit.requesters as usize
        {
            self.forget_least_recent();
        }
        let bucket = self.buckets.entry(requester).or_insert(Bucket {
            milli: full,
            at: now,
        });
        // Refill: per_minute requests per 60,000 ms is per_minute / 60
        // thousandths of a request per millisecond.
        let elapsed_ms = now.saturating_duration_since(bucket.at).as_millis();
        let refill = elapsed_ms.saturating_mul(u128::from(self.limit.per_minute)) / 60;
        bucket.milli = (u128::from(bucket.milli) + refill).min(u128::from(full)) as u64;
        if now > bucket.at {
            bucket.at = now;
        }
        if bucket.milli >= 1000 {
            bucket.milli -= 1000;
            true
        } else {
            false
        }
    }

    /// Forgets the requester seen least recently.
    fn forget_least_recent(&mut self) {
        let oldest = self
            .buckets
            .iter()
            .min_by_key(|(r, b)| (b.at, **r))
            .map(|(r, _)| *r);
        if let Some(r) = oldest {
            self.buckets.remove(&r);
        }
    }

    /// Requesters tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    fn ip(last: u8) -> Requester {
        Requester::Address(IpAddr::from([11, 0, 0, last]))
    }

    #[test]
    fn burst_then_rate() {
        let mut l = Limiter::new(RequestLimit::new(60, 3).unwrap());
        let t0 = Instant::now();
        assert!((0..3).all(|_| l.allow(t0, ip(1))));
        assert!(!l.allow(t0, ip(1)));
        // Another requester has its own bucket.
        assert!(l.allow(t0, ip(2)));
        // 60 a minute: one more a second.
        assert!(!l.allow(t0 + Duration::from_millis(999), ip(1)));
        assert!(l.allow(t0 + Duration::from_millis(1000), ip(1)));
        assert!(!l.allow(t0 + Duration::from_millis(1000), ip(1)));
        // A long pause refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(3_600);
        assert!((0..3).all(|_| l.allow(later, ip(1))));
        assert!(!l.allow(later, ip(1)));
    }

    #[test]
    fn tracks_a_bounded_number_of_requesters() {
        let limit = RequestLimit::new(1, 1).unwrap().with_requesters(2).unwrap();
        let mut l = Limiter::new(limit);
        let t0 = Instant::now();
        assert!(l.allow(t0, ip(1)));
        assert!(l.allow(t0 + Duration::from_millis(1), ip(2)));
        assert!(l.allow(t0 + Duration::from_millis(2), ip(3)));
        assert_eq!(l.tracked(), 2);
        // ip(1) was forgotten: it starts afresh. ip(3) is still limited.
        assert!(!l.allow(t0 + Duration::from_millis(3), ip(3)));
    }

    #[test]
    fn time_going_backwards_does_not_refill() {
        let mut l = Limiter::new(RequestLimit::new(60_000, 1).unwrap());
        let t0 = Instant::now() + Duration::from_secs(10);
        assert!(l.allow(t0, ip(1)));
        assert!(!l.allow(t0 - Duration::from_secs(5), ip(1)));
    }
}
