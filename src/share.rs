//! The per-hop share: how much of N one intermediate peer may contribute.
//!
//! The draft lets one intermediate peer fill the whole set (§4.2 steps
//! 4–7); its §7 is empty. This crate bounds what one hop contributes, so no
//! single peer on the path decides every candidate a sending node gets
//! (SECURITY.md). The bound is computed here and nowhere else: the
//! intermediate peer stops adding at it, and the sending node ranks what a
//! hop sent beyond it as reserve.

use core::fmt;

use thiserror::Error;

use crate::n::N;

/// Most of N, in percent, that one hop contributes: `1..=100`. 100 is the
/// draft read to the letter (one peer may fill all of N); the default, 50,
/// needs at least two peers to fill a set.
///
/// ```
/// use stun_turn_discovery::{PerHopShare, N};
/// let half = PerHopShare::default();
/// assert_eq!(half.cap(N::DEFAULT), 5);
/// assert_eq!(PerHopShare::new(30)?.cap(N::new(3)?), 1); // ⌈0.9⌉
/// assert_eq!(PerHopShare::WHOLE.cap(N::DEFAULT), 10);
/// assert!(PerHopShare::new(0).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u8", into = "u8"))]
pub struct PerHopShare(u8);

/// A per-hop share outside `1..=100` percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[error("per-hop share {0}% is outside 1..=100")]
pub struct InvalidShare(pub u8);

impl PerHopShare {
    /// 100 %: one hop may fill all of N, as the draft allows.
    pub const WHOLE: Self = Self(100);
    /// 50 %, the default.
    pub const HALF: Self = Self(50);

    /// `percent` as a share, if it is in `1..=100`.
    pub const fn new(percent: u8) -> Result<Self, InvalidShare> {
        if percent >= 1 && percent <= 100 {
            Ok(Self(percent))
        } else {
            Err(InvalidShare(percent))
        }
    }

    /// The share in percent.
    pub const fn percent(self) -> u8 {
        self.0
    }

    /// Most candidates one hop contributes to a set of bound `n`:
    /// `⌈n × share / 100⌉`, so at least 1 and at most `n`.
    #[inline]
    pub const fn cap(self, n: N) -> u8 {
        // n ≤ 64 and share ≤ 100: the product fits u16, the result is in 1..=n.
        ((n.get() as u16 * self.0 as u16).div_ceil(100)) as u8
    }
}

impl Default for PerHopShare {
    /// [`PerHopShare::HALF`].
    fn default() -> Self {
        Self::HALF
    }
}

impl TryFrom<u8> for PerHopShare {
    type Error = InvalidShare;
    fn try_from(percent: u8) -> Result<Self, InvalidShare> {
        Self::new(percent)
    }
}

impl From<PerHopShare> for u8 {
    fn from(s: PerHopShare) -> Self {
        s.0
    }
}

impl fmt::Display for PerHopShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_rounds_up_and_stays_in_one_to_n() {
        for share in 1..=100 {
            let s = PerHopShare::new(share).unwrap();
            for n in 1..=64 {
                let n = N::new(n).unwrap();
                let cap = s.cap(n);
                assert!((1..=n.get()).contains(&cap), "{s} of {n} gave {cap}");
                assert_eq!(
                    u32::from(cap),
                    (u32::from(n.get()) * u32::from(share)).div_ceil(100)
                );
            }
        }
        assert_eq!(PerHopShare::HALF.cap(N::new(3).unwrap()), 2);
        assert_eq!(PerHopShare::new(1).unwrap().cap(N::MAX), 1);
        assert_eq!(PerHopShare::new(101), Err(InvalidShare(101)));
    }
}
