//! N, the number of candidates a candidate set is filled to (§4.2 step 2:
//! "If the sending peer has set the number of candidate it wants in the
//! message, set the N to this number ... we MAY choose a default value for
//! N, for example, 10").
//!
//! N is checked once, when it is made; every option, configuration and
//! decoder holds an [`N`], so nothing downstream checks its range again.

use core::fmt;

use thiserror::Error;

/// N: how many candidates a set holds at most, in `1..=64`.
///
/// The upper bound keeps a full set far below RELOAD's 5000-byte default
/// message size (64 entries of at most 68 bytes, RFC 6940 §11.1) and bounds
/// what one request can make a path return (SECURITY.md, amplification).
///
/// ```
/// use stun_turn_discovery::N;
/// let n = N::new(12)?;
/// assert_eq!(n.get(), 12);
/// assert_eq!(N::DEFAULT.get(), 10);
/// assert!(N::new(0).is_err());
/// assert!(N::new(65).is_err());
/// # Ok::<(), stun_turn_discovery::error::InvalidN>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u8", into = "u8"))]
pub struct N(u8);

/// An N outside `1..=64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[error("N = {0} is outside 1..={max}", max = N::MAX.0)]
pub struct InvalidN(pub u8);

impl N {
    /// The smallest N, 1.
    pub const MIN: Self = Self(1);
    /// The N used when nobody says (§4.2 step 2's example), 10.
    pub const DEFAULT: Self = Self(10);
    /// The largest N, 64: the most candidates a [`CandidateSet`](crate::CandidateSet) holds.
    pub const MAX: Self = Self(64);

    /// `n` as an N, if it is in `1..=64`.
    pub const fn new(n: u8) -> Result<Self, InvalidN> {
        if n >= Self::MIN.0 && n <= Self::MAX.0 {
            Ok(Self(n))
        } else {
            Err(InvalidN(n))
        }
    }

    /// The value.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The value as a length.
    pub(crate) const fn len(self) -> usize {
        self.0 as usize
    }
}

impl Default for N {
    /// [`N::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u8> for N {
    type Error = InvalidN;
    fn try_from(n: u8) -> Result<Self, InvalidN> {
        Self::new(n)
    }
}

impl From<N> for u8 {
    fn from(n: N) -> Self {
        n.0
    }
}

impl fmt::Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_checked_once_here() {
        assert_eq!(N::new(0), Err(InvalidN(0)));
        assert_eq!(N::new(1), Ok(N::MIN));
        assert_eq!(N::new(64), Ok(N::MAX));
        assert_eq!(N::new(65), Err(InvalidN(65)));
        assert_eq!(N::new(255), Err(InvalidN(255)));
        assert_eq!(N::try_from(10), Ok(N::DEFAULT));
        assert_eq!(u8::from(N::DEFAULT), 10);
        assert_eq!(N::default().to_string(), "10");
    }
}
