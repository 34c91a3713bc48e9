//! The one error a configuration setter returns.

use thiserror::Error;

/// A configuration value out of its range. Ranges of N and of the per-hop
/// share are checked by their own types ([`N`](crate::N),
/// [`PerHopShare`](crate::PerHopShare)) before they reach a setter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A lifetime, back-off, capacity or count of zero.
    #[error("{0} must not be zero")]
    Zero(&'static str),
    /// A value above its maximum.
    #[error("{what} = {value} is above the maximum of {max}")]
    AboveMax {
        /// Which setting.
        what: &'static str,
        /// The value refused.
        value: u32,
        /// The maximum.
        max: u32,
    },
}
