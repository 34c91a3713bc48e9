//! What a candidate table is configured with (§3.3.1): default priorities
//! by source, entry lifetime, capacity and the address policy.

use core::time::Duration;

use crate::address_policy::AddressPolicy;
use crate::candidate::Source;
use crate::config_error::ConfigError;

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

/// Configuration of a [`CandidateTable`](super::CandidateTable). Small and
/// `Copy`: a host simulating many peers gives each its own at no cost.
///
/// ```
/// use std::time::Duration;
/// use stun_turn_discovery::peer::TableConfig;
/// use stun_turn_discovery::AddressPolicy;
/// let config = TableConfig::default()
///     .with_address_policy(AddressPolicy::permissive())
///     .with_entry_lifetime(Duration::from_secs(120))?;
/// assert_eq!(config.max_entries(), 512);
/// assert!(TableConfig::default().with_max_entries(0).is_err());
/// # Ok::<(), stun_turn_discovery::error::ConfigError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "RawTableConfig", into = "RawTableConfig")
)]
pub struct TableConfig {
    source_priorities: SourcePriorities,
    entry_lifetime: Lifetime,
    max_entries: u32,
    address_policy: AddressPolicy,
    trust_advertisements: bool,
}

/// A [`Duration`] in three `u32`s, so the configuration (held by every
/// peer and every table, a million of each in a simulation) is 32 bytes,
/// aligned to 4, rather than 40: the whole range, and the same value back.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Lifetime {
    secs_low: u32,
    secs_high: u32,
    nanos: u32,
}

impl Lifetime {
    const fn new(d: Duration) -> Self {
        let secs = d.as_secs();
        Self {
            secs_low: secs as u32,
            secs_high: (secs >> 32) as u32,
            nanos: d.subsec_nanos(),
        }
    }

    const fn get(self) -> Duration {
        let secs = ((self.secs_high as u64) << 32) | self.secs_low as u64;
        Duration::new(secs, self.nanos)
    }
}

impl core::fmt::Debug for TableConfig {
    /// As derived from the fields, the lifetime as a [`Duration`].
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TableConfig")
            .field("source_priorities", &self.source_priorities)
            .field("entry_lifetime", &self.entry_lifetime())
            .field("max_entries", &self.max_entries)
            .field("address_policy", &self.address_policy)
            .field("trust_advertisements", &self.trust_advertisements)
            .finish()
    }
}

impl Default for TableConfig {
    /// Default priorities, 10-minute lifetime, 512 entries, public Internet
    /// addresses only.
    fn default() -> Self {
        Self {
            source_priorities: SourcePriorities::default(),
            entry_lifetime: Lifetime::new(Duration::from_secs(600)),
            max_entries: 512,
            address_policy: AddressPolicy::default(),
            trust_advertisements: false,
        }
    }
}

impl TableConfig {
    /// Default priorities by source.
    pub fn source_priorities(&self) -> SourcePriorities {
        self.source_priorities
    }

    /// With default priorities `p`.
    #[must_use]
    pub fn with_source_priorities(mut self, p: SourcePriorities) -> Self {
        self.source_priorities = p;
        self
    }

    /// How long an entry lives unless refreshed. Default 10 minutes; the
    /// host re-syncs each source at least this often
    /// ([`CandidateTable::sync_source`](super::CandidateTable::sync_source)).
    pub fn entry_lifetime(&self) -> Duration {
        self.entry_lifetime.get()
    }

    /// With entry lifetime `d`, not zero.
    pub fn with_entry_lifetime(mut self, d: Duration) -> Result<Self, ConfigError> {
        if d.is_zero() {
            return Err(ConfigError::Zero("entry lifetime"));
        }
        self.entry_lifetime = Lifetime::new(d);
        Ok(self)
    }

    /// Most entries the table holds. Default 512: the draft's tables hold
    /// a few hundred at most (§3.3.3: about 75 routing entries at 10^6
    /// peers), and a host with larger routing state raises it.
    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }

    /// With capacity `n`, not zero.
    pub fn with_max_entries(mut self, n: u32) -> Result<Self, ConfigError> {
        if n == 0 {
            return Err(ConfigError::Zero("table capacity"));
        }
        self.max_entries = n;
        Ok(self)
    }

    /// Whether [`CandidateTable::advertised`](super::CandidateTable::advertised)
    /// keeps the priority and performance hints an advertiser claims for
    /// its own servers. Default `false`: they are the advertiser's word, so
    /// its servers get their source's default priority and no hints, and
    /// one advertiser cannot make itself every pick (SECURITY.md). An
    /// overlay whose peers are vouched for may trust them.
    pub fn trusts_advertisements(&self) -> bool {
        self.trust_advertisements
    }

    /// With advertised priorities and hints trusted or not.
    #[must_use]
    pub fn with_trusted_advertisements(mut self, trust: bool) -> Self {
        self.trust_advertisements = trust;
        self
    }

    /// Address policy applied to every candidate entering the table.
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
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RawTableConfig {
    source_priorities: SourcePriorities,
    entry_lifetime: Duration,
    max_entries: u32,
    address_policy: AddressPolicy,
    #[serde(default)]
    trust_advertisements: bool,
}

#[cfg(feature = "serde")]
impl TryFrom<RawTableConfig> for TableConfig {
    type Error = ConfigError;
    fn try_from(r: RawTableConfig) -> Result<Self, ConfigError> {
        Self::default()
            .with_source_priorities(r.source_priorities)
            .with_address_policy(r.address_policy)
            .with_trusted_advertisements(r.trust_advertisements)
            .with_entry_lifetime(r.entry_lifetime)?
            .with_max_entries(r.max_entries)
    }
}

#[cfg(feature = "serde")]
impl From<TableConfig> for RawTableConfig {
    fn from(c: TableConfig) -> Self {
        Self {
            source_priorities: c.source_priorities,
            entry_lifetime: c.entry_lifetime(),
            max_entries: c.max_entries,
            address_policy: c.address_policy,
            trust_advertisements: c.trust_advertisements,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_round_trips_and_config_is_small() {
        for d in [
            Duration::from_nanos(1),
            Duration::from_secs(600),
            Duration::new(u64::from(u32::MAX) + 7, 999_999_999),
            Duration::MAX,
        ] {
            let c = TableConfig::default().with_entry_lifetime(d).unwrap();
            assert_eq!(c.entry_lifetime(), d);
        }
        assert_eq!(size_of::<TableConfig>(), 32);
        assert_eq!(
            format!("{:?}", TableConfig::default()),
            "TableConfig { source_priorities: SourcePriorities { routing_table: 300, \
             neighbor_table: 300, connection_table: 250, local_peer: 200, client: 100 }, \
             entry_lifetime: 600s, max_entries: 512, address_policy: AddressPolicy { \
             loopback: false, link_local: false, private: false, documentation: false }, \
             trust_advertisements: false }"
        );
    }
}
