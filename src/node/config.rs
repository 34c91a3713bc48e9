//! Configuration of the sending node (§4.1, §5.1, §6.1): what it asks for,
//! and how its cache keeps and ranks what comes back.

use core::time::Duration;

use crate::address_policy::AddressPolicy;
use crate::config_error::ConfigError;
use crate::filter::Filter;
use crate::key::UniquenessKey;
use crate::known::KnownKeys;
use crate::n::N;
use crate::share::PerHopShare;

/// Configuration of a [`SendingNode`](super::SendingNode). Small and `Copy`.
///
/// ```
/// use std::time::Duration;
/// use stun_turn_discovery::{Filter, NodeConfig, Services, N};
/// let config = NodeConfig::default()
///     .with_wanted(N::new(4)?)
///     .with_filter(Filter::services(Services::TURN))
///     .with_failure_backoff(Duration::from_secs(5))?;
/// assert_eq!(config.wanted().get(), 4);
/// assert!(NodeConfig::default().with_cache_capacity(0).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "RawNodeConfig", into = "RawNodeConfig")
)]
pub struct NodeConfig {
    wanted: N,
    filter: Filter,
    key: UniquenessKey,
    per_hop_share: PerHopShare,
    address_policy: AddressPolicy,
    cache_capacity: u8,
    entry_lifetime: Duration,
    failure_backoff: Duration,
    max_failures: u8,
    known_hint: u8,
}

impl Default for NodeConfig {
    /// Wants 10 candidates of any kind, unique by IP address; counts at
    /// most 50 % of them from one hop; public Internet addresses only; a
    /// cache of 64 whose entries live 10 minutes; a 30 s back-off after a
    /// failure, doubling, and eviction after 3 failures in a row; tells the
    /// hops of up to 16 candidates it holds.
    fn default() -> Self {
        Self {
            wanted: N::DEFAULT,
            filter: Filter::ANY,
            key: UniquenessKey::Ip,
            per_hop_share: PerHopShare::HALF,
            address_policy: AddressPolicy::default(),
            cache_capacity: 64,
            entry_lifetime: Duration::from_secs(600),
            failure_backoff: Duration::from_secs(30),
            max_failures: 3,
            known_hint: 16,
        }
    }
}

impl NodeConfig {
    /// How many candidates the node wants: the N it puts in its requests,
    /// and the bound it judges every response by. Default 10.
    pub fn wanted(&self) -> N {
        self.wanted
    }

    /// With `n` candidates wanted.
    #[must_use]
    pub fn with_wanted(mut self, n: N) -> Self {
        self.wanted = n;
        self
    }

    /// Filter the node puts in its requests and applies to what comes back.
    /// Default: any.
    pub fn filter(&self) -> Filter {
        self.filter
    }

    /// With filter `filter`.
    #[must_use]
    pub fn with_filter(mut self, filter: Filter) -> Self {
        self.filter = filter;
        self
    }

    /// Uniqueness key the node asks for and keeps its cache by. Default
    /// [`UniquenessKey::Ip`].
    pub fn key(&self) -> UniquenessKey {
        self.key
    }

    /// With uniqueness key `key`.
    #[must_use]
    pub fn with_key(mut self, key: UniquenessKey) -> Self {
        self.key = key;
        self
    }

    /// Most of N counted from one hop: what a hop sends beyond it is kept
    /// as reserve, ranked after the rest and not counted as wanted
    /// candidates. Default 50 %; [`PerHopShare::WHOLE`] counts everything.
    pub fn per_hop_share(&self) -> PerHopShare {
        self.per_hop_share
    }

    /// With per-hop share `share`.
    #[must_use]
    pub fn with_per_hop_share(mut self, share: PerHopShare) -> Self {
        self.per_hop_share = share;
        self
    }

    /// Address policy applied to every candidate a response carries.
    /// Default: public Internet only.
    pub fn address_policy(&self) -> AddressPolicy {
        self.address_policy
    }

    /// With address policy `p`.
    #[must_use]
    pub fn with_address_policy(mut self, p: AddressPolicy) -> Self {
        self.address_policy = p;
        self
    }

    /// Most candidates the cache holds. Default 64.
    pub fn cache_capacity(&self) -> u8 {
        self.cache_capacity
    }

    /// With cache capacity `n`, not zero.
    pub fn with_cache_capacity(mut self, n: u8) -> Result<Self, ConfigError> {
        if n == 0 {
            return Err(ConfigError::Zero("cache capacity"));
        }
        self.cache_capacity = n;
        Ok(self)
    }

    /// How long a cached candidate lives unless seen again or working.
    /// Default 10 minutes.
    pub fn entry_lifetime(&self) -> Duration {
        self.entry_lifetime
    }

    /// With entry lifetime `d`, not zero.
    pub fn with_entry_lifetime(mut self, d: Duration) -> Result<Self, ConfigError> {
        if d.is_zero() {
            return Err(ConfigError::Zero("entry lifetime"));
        }
        self.entry_lifetime = d;
        Ok(self)
    }

    /// Back-off after the first failure reported for a cached candidate;
    /// doubles with each further failure. Default 30 s.
    pub fn failure_backoff(&self) -> Duration {
        self.failure_backoff
    }

    /// With failure back-off `d`, not zero.
    pub fn with_failure_backoff(mut self, d: Duration) -> Result<Self, ConfigError> {
        if d.is_zero() {
            return Err(ConfigError::Zero("failure back-off"));
        }
        self.failure_backoff = d;
        Ok(self)
    }

    /// Failures in a row after which a cached candidate is evicted. Default 3.
    pub fn max_failures(&self) -> u8 {
        self.max_failures
    }

    /// With `n` failures before eviction, not zero.
    pub fn with_max_failures(mut self, n: u8) -> Result<Self, ConfigError> {
        if n == 0 {
            return Err(ConfigError::Zero("max failures"));
        }
        self.max_failures = n;
        Ok(self)
    }
}

impl NodeConfig {
    /// Most candidates the node names, in each request, as held already so
    /// hops skip them ([`KnownKeys`], two bytes each on the wire; WIRE.md).
    /// Default 16; 0 names none.
    pub fn known_hint(&self) -> u8 {
        self.known_hint
    }

    /// With a known hint of `n`, at most [`KnownKeys::MAX`].
    pub fn with_known_hint(mut self, n: u8) -> Result<Self, ConfigError> {
        if usize::from(n) > KnownKeys::MAX {
            return Err(ConfigError::AboveMax {
                what: "known hint",
                value: u32::from(n),
                max: KnownKeys::MAX as u32,
            });
        }
        self.known_hint = n;
        Ok(self)
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RawNodeConfig {
    wanted: N,
    filter: Filter,
    key: UniquenessKey,
    per_hop_share: PerHopShare,
    address_policy: AddressPolicy,
    cache_capacity: u8,
    entry_lifetime: Duration,
    failure_backoff: Duration,
    max_failures: u8,
    known_hint: u8,
}

#[cfg(feature = "serde")]
impl TryFrom<RawNodeConfig> for NodeConfig {
    type Error = ConfigError;
    fn try_from(r: RawNodeConfig) -> Result<Self, ConfigError> {
        Self::default()
            .with_wanted(r.wanted)
            .with_filter(r.filter)
            .with_key(r.key)
            .with_per_hop_share(r.per_hop_share)
            .with_address_policy(r.address_policy)
            .with_cache_capacity(r.cache_capacity)?
            .with_entry_lifetime(r.entry_lifetime)?
            .with_failure_backoff(r.failure_backoff)?
            .with_max_failures(r.max_failures)?
            .with_known_hint(r.known_hint)
    }
}

#[cfg(feature = "serde")]
impl From<NodeConfig> for RawNodeConfig {
    fn from(c: NodeConfig) -> Self {
        Self {
            wanted: c.wanted,
            filter: c.filter,
            key: c.key,
            per_hop_share: c.per_hop_share,
            address_policy: c.address_policy,
            cache_capacity: c.cache_capacity,
            entry_lifetime: c.entry_lifetime,
            failure_backoff: c.failure_backoff,
            max_failures: c.max_failures,
            known_hint: c.known_hint,
        }
    }
}
