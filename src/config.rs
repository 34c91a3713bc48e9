//! Configuration of both roles: the intermediate peer with its candidate
//! table (§3.3.1, §4.2) and the sending node with its cache (§4.1, §5.1,
//! §6.1). Every value has a documented default; setters that can refuse a
//! value return `Result`.

use core::time::Duration;

use thiserror::Error;

use crate::address_policy::AddressPolicy;
use crate::candidate::Source;
use crate::key::UniquenessKey;
use crate::option::Filter;
use crate::selection::SelectionPolicy;
use crate::set::{DEFAULT_N, MAX_N};

/// A configuration value out of its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An N (default N, N cap, or N wanted) outside `1..=MAX_N`.
    #[error("{what} = {value} is outside 1..={MAX_N}")]
    NOutOfRange {
        /// Which setting.
        what: &'static str,
        /// The value refused.
        value: u8,
    },
    /// The default N is above the N cap.
    #[error("default N = {default_n} is above the N cap {max_n}")]
    DefaultAboveCap {
        /// Default N.
        default_n: u8,
        /// N cap.
        max_n: u8,
    },
    /// The per-hop share is outside `1..=100` percent.
    #[error("per-hop share {0}% is outside 1..=100")]
    ShareOutOfRange(u8),
    /// A lifetime, backoff or capacity of zero.
    #[error("{0} must not be zero")]
    Zero(&'static str),
}

/// Default priority of a candidate by the source it was learned from
/// (§3.3.1: "routing state may has the highest priority, and associated
/// clients have the lowest"). Used when the candidate carries none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SourcePriorities {
    /// Routing table. Default 300.
    pub routing_table: u16,
    /// Neighbor table. Default 300.
    pub neighbor_table: u16,
    /// Connection table. Default 250.
    pub connection_table: u16,
    /// The local peer itself. Default 200.
    pub local_peer: u16,
    /// Associated clients. Default 100.
    pub client: u16,
}

impl Default for SourcePriorities {
    fn default() -> Self {
        Self {
            routing_table: 300,
            neighbor_table: 300,
            connection_table: 250,
            local_peer: 200,
            client: 100,
        }
    }
}

impl SourcePriorities {
    /// The priority for `source`.
    pub fn get(&self, source: Source) -> u16 {
        match source {
            Source::RoutingTable => self.routing_table,
            Source::NeighborTable => self.neighbor_table,
            Source::ConnectionTable => self.connection_table,
            Source::LocalPeer => self.local_peer,
            Source::Client => self.client,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Fields {
    default_n: u8,
    max_n: u8,
    per_hop_share: u8,
    selection: SelectionPolicy,
    source_priorities: SourcePriorities,
    entry_lifetime: Duration,
    max_table_entries: u32,
    address_policy: AddressPolicy,
    wanted: u8,
    filter: Filter,
    key: UniquenessKey,
    cache_capacity: u8,
    failure_backoff: Duration,
    max_failures: u8,
}

/// Configuration for [`IntermediatePeer`](crate::IntermediatePeer),
/// [`CandidateTable`](crate::CandidateTable) and
/// [`SendingNode`](crate::SendingNode).
///
/// ```
/// use stun_turn_discovery::{Config, SelectionPolicy};
/// let config = Config::default()
///     .with_default_n(8)?
///     .with_per_hop_share(100)?
///     .with_selection(SelectionPolicy::ByPriority);
/// assert_eq!(config.default_n(), 8);
/// assert!(Config::default().with_default_n(0).is_err());
/// # Ok::<(), stun_turn_discovery::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "Fields", into = "Fields"))]
pub struct Config {
    f: Fields,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            f: Fields {
                default_n: DEFAULT_N,
                max_n: MAX_N,
                per_hop_share: 50,
                selection: SelectionPolicy::LoadSpreading,
                source_priorities: SourcePriorities::default(),
                entry_lifetime: Duration::from_secs(600),
                max_table_entries: 65_536,
                address_policy: AddressPolicy::default(),
                wanted: DEFAULT_N,
                filter: Filter::ANY,
                key: UniquenessKey::Ip,
                cache_capacity: 64,
                failure_backoff: Duration::from_secs(30),
                max_failures: 3,
            },
        }
    }
}

impl Config {
    /// The draft read to the letter: the default above, but one intermediate
    /// peer may fill the whole set (per-hop share 100 %) and candidates are
    /// taken by priority (§4.2 step 4's first example).
    pub fn draft_literal() -> Self {
        let mut c = Self::default();
        c.f.per_hop_share = 100;
        c.f.selection = SelectionPolicy::ByPriority;
        c
    }

    // ---- intermediate peer and candidate table ----

    /// N used when a request does not carry one (§4.2 step 2). Default 10.
    pub fn default_n(&self) -> u8 {
        self.f.default_n
    }

    /// With default N `n`, in `1..=max_n`.
    pub fn with_default_n(mut self, n: u8) -> Result<Self, ConfigError> {
        check_n("default N", n)?;
        if n > self.f.max_n {
            return Err(ConfigError::DefaultAboveCap {
                default_n: n,
                max_n: self.f.max_n,
            });
        }
        self.f.default_n = n;
        Ok(self)
    }

    /// The N cap: an intermediate peer treats a larger N as this one, which
    /// bounds what one request can make the path return (SECURITY.md,
    /// amplification). Default [`MAX_N`] = 64.
    pub fn max_n(&self) -> u8 {
        self.f.max_n
    }

    /// With N cap `n`, in `1..=MAX_N` and not below the default N.
    pub fn with_max_n(mut self, n: u8) -> Result<Self, ConfigError> {
        check_n("N cap", n)?;
        if n < self.f.default_n {
            return Err(ConfigError::DefaultAboveCap {
                default_n: self.f.default_n,
                max_n: n,
            });
        }
        self.f.max_n = n;
        Ok(self)
    }

    /// Most of N, in percent, that one intermediate peer adds, and that the
    /// sending node accepts from one hop. Default 50; 100 is the draft's
    /// literal behaviour.
    pub fn per_hop_share(&self) -> u8 {
        self.f.per_hop_share
    }

    /// With per-hop share `percent`, in `1..=100`.
    pub fn with_per_hop_share(mut self, percent: u8) -> Result<Self, ConfigError> {
        if !(1..=100).contains(&percent) {
            return Err(ConfigError::ShareOutOfRange(percent));
        }
        self.f.per_hop_share = percent;
        Ok(self)
    }

    /// Most candidates one hop may add to a set of bound `n`:
    /// `⌈n × share / 100⌉`, at least 1.
    #[inline]
    pub fn per_hop_cap(&self, n: u8) -> u8 {
        let cap = (u16::from(n) * u16::from(self.f.per_hop_share)).div_ceil(100);
        cap.clamp(1, u16::from(n.max(1))) as u8
    }

    /// How an intermediate peer chooses candidates (§4.2 step 4). Default
    /// [`SelectionPolicy::LoadSpreading`].
    pub fn selection(&self) -> SelectionPolicy {
        self.f.selection
    }

    /// With selection policy `policy`.
    #[must_use]
    pub fn with_selection(mut self, policy: SelectionPolicy) -> Self {
        self.f.selection = policy;
        self
    }

    /// Default priorities by source.
    pub fn source_priorities(&self) -> SourcePriorities {
        self.f.source_priorities
    }

    /// With default priorities `p`.
    #[must_use]
    pub fn with_source_priorities(mut self, p: SourcePriorities) -> Self {
        self.f.source_priorities = p;
        self
    }

    /// How long a candidate-table entry or a cached candidate lives unless
    /// refreshed. Default 10 minutes.
    pub fn entry_lifetime(&self) -> Duration {
        self.f.entry_lifetime
    }

    /// With entry lifetime `d`, not zero.
    pub fn with_entry_lifetime(mut self, d: Duration) -> Result<Self, ConfigError> {
        if d.is_zero() {
            return Err(ConfigError::Zero("entry lifetime"));
        }
        self.f.entry_lifetime = d;
        Ok(self)
    }

    /// Most entries a candidate table holds. Default 65,536.
    pub fn max_table_entries(&self) -> u32 {
        self.f.max_table_entries
    }

    /// With table capacity `n`, not zero.
    pub fn with_max_table_entries(mut self, n: u32) -> Result<Self, ConfigError> {
        if n == 0 {
            return Err(ConfigError::Zero("table capacity"));
        }
        self.f.max_table_entries = n;
        Ok(self)
    }

    /// Address policy for candidates. Default: public Internet only.
    pub fn address_policy(&self) -> AddressPolicy {
        self.f.address_policy
    }

    /// With address policy `p`.
    #[must_use]
    pub fn with_address_policy(mut self, p: AddressPolicy) -> Self {
        self.f.address_policy = p;
        self
    }

    // ---- sending node ----

    /// How many candidates the sending node wants, and the N it puts in
    /// its requests. Default 10.
    pub fn wanted(&self) -> u8 {
        self.f.wanted
    }

    /// With `n` candidates wanted, in `1..=MAX_N`.
    pub fn with_wanted(mut self, n: u8) -> Result<Self, ConfigError> {
        check_n("N wanted", n)?;
        self.f.wanted = n;
        Ok(self)
    }

    /// Filter the sending node puts in its requests. Default: any.
    pub fn filter(&self) -> Filter {
        self.f.filter
    }

    /// With filter `filter`.
    #[must_use]
    pub fn with_filter(mut self, filter: Filter) -> Self {
        self.f.filter = filter;
        self
    }

    /// Uniqueness key the sending node asks for. Default [`UniquenessKey::Ip`].
    pub fn key(&self) -> UniquenessKey {
        self.f.key
    }

    /// With uniqueness key `key`.
    #[must_use]
    pub fn with_key(mut self, key: UniquenessKey) -> Self {
        self.f.key = key;
        self
    }

    /// Most candidates the sending node's cache holds. Default 64.
    pub fn cache_capacity(&self) -> u8 {
        self.f.cache_capacity
    }

    /// With cache capacity `n`, not zero.
    pub fn with_cache_capacity(mut self, n: u8) -> Result<Self, ConfigError> {
        if n == 0 {
            return Err(ConfigError::Zero("cache capacity"));
        }
        self.f.cache_capacity = n;
        Ok(self)
    }

    /// Back-off after the first failure reported for a cached candidate;
    /// doubles with each further failure. Default 30 s.
    pub fn failure_backoff(&self) -> Duration {
        self.f.failure_backoff
    }

    /// With failure back-off `d`, not zero.
    pub fn with_failure_backoff(mut self, d: Duration) -> Result<Self, ConfigError> {
        if d.is_zero() {
            return Err(ConfigError::Zero("failure back-off"));
        }
        self.f.failure_backoff = d;
        Ok(self)
    }

    /// Failures in a row after which a cached candidate is evicted. Default 3.
    pub fn max_failures(&self) -> u8 {
        self.f.max_failures
    }

    /// With `n` failures before eviction, not zero.
    pub fn with_max_failures(mut self, n: u8) -> Result<Self, ConfigError> {
        if n == 0 {
            return Err(ConfigError::Zero("max failures"));
        }
        self.f.max_failures = n;
        Ok(self)
    }
}

fn check_n(what: &'static str, value: u8) -> Result<(), ConfigError> {
    if value == 0 || value > MAX_N {
        Err(ConfigError::NOutOfRange { what, value })
    } else {
        Ok(())
    }
}

#[cfg(feature = "serde")]
impl TryFrom<Fields> for Config {
    type Error = ConfigError;
    fn try_from(f: Fields) -> Result<Self, ConfigError> {
        Self::default()
            .with_max_n(MAX_N)?
            .with_default_n(f.default_n)?
            .with_max_n(f.max_n)?
            .with_per_hop_share(f.per_hop_share)?
            .with_entry_lifetime(f.entry_lifetime)?
            .with_max_table_entries(f.max_table_entries)?
            .with_wanted(f.wanted)?
            .with_cache_capacity(f.cache_capacity)?
            .with_failure_backoff(f.failure_backoff)?
            .with_max_failures(f.max_failures)?;
        Ok(Self { f })
    }
}

#[cfg(feature = "serde")]
impl From<Config> for Fields {
    fn from(c: Config) -> Self {
        c.f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_hop_cap_rounds_up_and_is_at_least_one() {
        let c = Config::default();
        assert_eq!(c.per_hop_cap(10), 5);
        assert_eq!(c.per_hop_cap(3), 2);
        assert_eq!(c.per_hop_cap(1), 1);
        assert_eq!(Config::draft_literal().per_hop_cap(10), 10);
        let c = Config::default().with_per_hop_share(1).unwrap();
        assert_eq!(c.per_hop_cap(64), 1);
    }

    #[test]
    fn setters_refuse_out_of_range() {
        assert_eq!(
            Config::default().with_default_n(65),
            Err(ConfigError::NOutOfRange {
                what: "default N",
                value: 65
            })
        );
        assert_eq!(
            Config::default().with_max_n(5),
            Err(ConfigError::DefaultAboveCap {
                default_n: 10,
                max_n: 5
            })
        );
        assert_eq!(
            Config::default().with_per_hop_share(0),
            Err(ConfigError::ShareOutOfRange(0))
        );
        assert_eq!(
            Config::default().with_entry_lifetime(Duration::ZERO),
            Err(ConfigError::Zero("entry lifetime"))
        );
    }
}
