//! Configuration of the intermediate peer (§4.2): the N it works to, how
//! much of N it adds, how it chooses, and its candidate table's settings.

use core::time::Duration;

use crate::address_policy::AddressPolicy;
use crate::config_error::ConfigError;
use crate::n::N;
use crate::share::PerHopShare;

use super::limiter::RequestLimit;
use super::selection::SelectionPolicy;
use super::table_config::TableConfig;

/// Configuration of an [`IntermediatePeer`](super::IntermediatePeer).
/// Small and `Copy`.
///
/// ```
/// use stun_turn_discovery::{AddressPolicy, PeerConfig, PerHopShare, SelectionPolicy, N};
/// let config = PeerConfig::default()
///     .with_default_n(N::new(8)?)
///     .with_per_hop_share(PerHopShare::WHOLE)
///     .with_selection(SelectionPolicy::ByPriority)
///     .with_address_policy(AddressPolicy::permissive());
/// assert_eq!(config.effective_n(None), N::new(8)?);
/// assert_eq!(config.effective_n(Some(N::MAX)), N::MAX);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PeerConfig {
    default_n: N,
    max_n: N,
    per_hop_share: PerHopShare,
    selection: SelectionPolicy,
    table: TableConfig,
    request_limit: Option<RequestLimit>,
}

impl Default for PeerConfig {
    /// N = 10 when the request has none, no N cap below [`N::MAX`], a
    /// per-hop share of 50 %, load-spreading selection,
    /// [`TableConfig::default`], and no per-requester limit.
    fn default() -> Self {
        Self {
            default_n: N::DEFAULT,
            max_n: N::MAX,
            per_hop_share: PerHopShare::HALF,
            selection: SelectionPolicy::LoadSpreading,
            table: TableConfig::default(),
            request_limit: None,
        }
    }
}

impl PeerConfig {
    /// The draft read to the letter: one intermediate peer may fill the
    /// whole set (per-hop share 100 %) and candidates are taken by priority
    /// (§4.2 step 4's first example).
    pub fn draft_literal() -> Self {
        Self {
            per_hop_share: PerHopShare::WHOLE,
            selection: SelectionPolicy::ByPriority,
            ..Self::default()
        }
    }

    /// §4.2 step 2: "If the sending peer has set the number of candidate it
    /// wants in the message, set the N to this number. If it has not been
    /// set in the message, we MAY choose a default value for N". Never
    /// above the N cap.
    pub fn effective_n(&self, requested: Option<N>) -> N {
        requested.unwrap_or(self.default_n).min(self.max_n)
    }

    /// N used when a request does not carry one (§4.2 step 2). Default 10.
    pub fn default_n(&self) -> N {
        self.default_n
    }

    /// With default N `n`.
    #[must_use]
    pub fn with_default_n(mut self, n: N) -> Self {
        self.default_n = n;
        self
    }

    /// The N cap: a larger N in a request counts as this one, which bounds
    /// what one request can make the path return (SECURITY.md,
    /// amplification). Default [`N::MAX`].
    pub fn max_n(&self) -> N {
        self.max_n
    }

    /// With N cap `n`.
    #[must_use]
    pub fn with_max_n(mut self, n: N) -> Self {
        self.max_n = n;
        self
    }

    /// Most of N this peer adds to one set. Default 50 %.
    pub fn per_hop_share(&self) -> PerHopShare {
        self.per_hop_share
    }

    /// With per-hop share `share`.
    #[must_use]
    pub fn with_per_hop_share(mut self, share: PerHopShare) -> Self {
        self.per_hop_share = share;
        self
    }

    /// How this peer chooses candidates (§4.2 step 4). Default
    /// [`SelectionPolicy::LoadSpreading`].
    pub fn selection(&self) -> SelectionPolicy {
        self.selection
    }

    /// With selection policy `policy`.
    #[must_use]
    pub fn with_selection(mut self, policy: SelectionPolicy) -> Self {
        self.selection = policy;
        self
    }

    /// The per-requester limit, if any. Default none.
    pub fn request_limit(&self) -> Option<RequestLimit> {
        self.request_limit
    }

    /// With per-requester limit `limit`: requests that name their requester
    /// (the `from` argument of [`on_request`](super::IntermediatePeer::on_request)
    /// and its encoded forms) beyond it get nothing added.
    #[must_use]
    pub fn with_request_limit(mut self, limit: RequestLimit) -> Self {
        self.request_limit = Some(limit);
        self
    }

    /// The candidate table's configuration.
    pub fn table(&self) -> TableConfig {
        self.table
    }

    /// With table configuration `table`.
    #[must_use]
    pub fn with_table(mut self, table: TableConfig) -> Self {
        self.table = table;
        self
    }

    /// Shorthand for the table's [`TableConfig::with_address_policy`].
    #[must_use]
    pub fn with_address_policy(mut self, p: AddressPolicy) -> Self {
        self.table = self.table.with_address_policy(p);
        self
    }

    /// Shorthand for the table's [`TableConfig::with_entry_lifetime`].
    pub fn with_entry_lifetime(mut self, d: Duration) -> Result<Self, ConfigError> {
        self.table = self.table.with_entry_lifetime(d)?;
        Ok(self)
    }
}
