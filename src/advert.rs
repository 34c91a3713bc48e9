//! The willingness advertisement (§3.3.1 item 1: "Each peer could indicate
//! to other peers whether it is willing to be a STUN/TURN server. So it is
//! easily for the peer to store other peers' features with the routing
//! state"; items 2 and 3 for the peer itself and its clients).
//!
//! A peer or client attaches one to the messages that build routing state
//! (JOIN, routing maintenance such as RELOAD Update, Attach and its answer);
//! a peer that receives it stores it with the advertiser's routing entry
//! and feeds it to its candidate table
//! ([`CandidateTable::advertised`](crate::CandidateTable::advertised)). A
//! willing node's STUN/TURN server usually listens on its own transport
//! address, not on the overlay port, so the advertisement carries the
//! server addresses themselves.

use thiserror::Error;

use crate::candidate::{Candidate, TransportAddress};

/// A node's willingness to serve: the STUN/TURN servers it offers, with
/// their services, transports and optional priority and capacity hints.
/// No server means not willing, which withdraws an earlier advertisement.
///
/// ```
/// use stun_turn_discovery::{Advertisement, Candidate, Services, TransportAddress};
/// let stun = Candidate::peer(TransportAddress::udp("203.0.113.9:3478".parse().unwrap()), Services::BOTH)
///     .with_priority(500);
/// let advert = Advertisement::new([stun])?;
/// assert!(advert.is_willing());
/// assert!(!Advertisement::not_willing().is_willing());
/// # Ok::<(), stun_turn_discovery::error::AdvertError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "Vec<Candidate>", into = "Vec<Candidate>")
)]
pub struct Advertisement {
    servers: Vec<Candidate>,
}

/// An advertisement that cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AdvertError {
    /// More servers than [`Advertisement::MAX_SERVERS`].
    #[error(
        "{count} servers advertised, at most {} allowed",
        Advertisement::MAX_SERVERS
    )]
    TooMany {
        /// Servers offered.
        count: usize,
    },
    /// A server that offers neither STUN nor TURN.
    #[error("{address} offers neither STUN nor TURN")]
    NoService {
        /// Its address.
        address: TransportAddress,
    },
    /// Two servers at the same transport address.
    #[error("{address} is advertised twice")]
    Duplicate {
        /// The address.
        address: TransportAddress,
    },
}

impl Advertisement {
    /// Most servers one node advertises (STUN and TURN on UDP, TCP, TLS
    /// and DTLS, for IPv4 and IPv6, fit).
    pub const MAX_SERVERS: usize = 8;

    /// Not willing: no server.
    pub const fn not_willing() -> Self {
        Self {
            servers: Vec::new(),
        }
    }

    /// Willing to serve at `servers`: at most [`Self::MAX_SERVERS`], each
    /// offering a service, each at its own transport address.
    pub fn new(servers: impl IntoIterator<Item = Candidate>) -> Result<Self, AdvertError> {
        let mut list: Vec<Candidate> = Vec::new();
        for c in servers {
            if list.len() == Self::MAX_SERVERS {
                return Err(AdvertError::TooMany {
                    count: Self::MAX_SERVERS + 1,
                });
            }
            if c.services.is_empty() {
                return Err(AdvertError::NoService { address: c.address });
            }
            if list.iter().any(|o| o.address == c.address) {
                return Err(AdvertError::Duplicate { address: c.address });
            }
            list.push(c);
        }
        Ok(Self { servers: list })
    }

    /// Whether the node is willing to serve.
    pub fn is_willing(&self) -> bool {
        !self.servers.is_empty()
    }

    /// The servers offered.
    pub fn servers(&self) -> &[Candidate] {
        &self.servers
    }
}

impl TryFrom<Vec<Candidate>> for Advertisement {
    type Error = AdvertError;
    fn try_from(servers: Vec<Candidate>) -> Result<Self, AdvertError> {
        Self::new(servers)
    }
}

impl From<Advertisement> for Vec<Candidate> {
    fn from(a: Advertisement) -> Self {
        a.servers
    }
}
