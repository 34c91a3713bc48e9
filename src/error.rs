//! Every error the crate returns, and [`Error`](enum@Error), one type a host can `?`
//! them all into.
//!
//! Each fallible call returns the small error of its own concern (a decoder
//! a [`WireError`], a setter a [`ConfigError`], ...), so a host can match on
//! exactly what can go wrong there; each converts into [`Error`](enum@Error).

use thiserror::Error;

pub use crate::advert::AdvertError;
pub use crate::config_error::ConfigError;
pub use crate::n::InvalidN;
pub use crate::node::ResponseError;
pub use crate::node_id::NodeIdTooLong;
pub use crate::option::OptionError;
pub use crate::peer::TableError;
pub use crate::set::SetError;
pub use crate::share::InvalidShare;
pub use crate::wire::WireError;

/// Any error of this crate.
///
/// ```
/// use stun_turn_discovery::{error::Error, N, PerHopShare};
/// fn settings(n: u8, share: u8) -> Result<(N, PerHopShare), Error> {
///     Ok((N::new(n)?, PerHopShare::new(share)?))
/// }
/// assert!(settings(10, 50).is_ok());
/// assert!(matches!(settings(0, 50), Err(Error::InvalidN(_))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// An N outside `1..=64`.
    #[error(transparent)]
    InvalidN(#[from] InvalidN),
    /// A per-hop share outside `1..=100`.
    #[error(transparent)]
    InvalidShare(#[from] InvalidShare),
    /// A configuration value out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An option whose parts contradict each other.
    #[error(transparent)]
    Option(#[from] OptionError),
    /// A candidate that cannot join a set.
    #[error(transparent)]
    Set(#[from] SetError),
    /// A candidate the candidate table refused.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A response the sending node refused.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// A wire-format fault.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// An advertisement that cannot be made.
    #[error(transparent)]
    Advert(#[from] AdvertError),
    /// A node id too long.
    #[error(transparent)]
    NodeId(#[from] NodeIdTooLong),
}
