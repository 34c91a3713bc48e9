//! Which candidates a sending node wants (§4.1 step 1: the node "express[es]
//! his demand"): services, and optionally one address family and one
//! transport.

use core::fmt;

use crate::candidate::{Candidate, Services, Transport};

/// IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum IpFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// Which candidates the sending node wants: the services they must offer
/// and, optionally, one address family and one transport.
///
/// ```
/// use stun_turn_discovery::{Candidate, Filter, IpFamily, Services, TransportAddress};
/// let turn_v4 = Filter::services(Services::TURN).with_family(IpFamily::V4);
/// assert_eq!(turn_v4.to_string(), "TURN over IPv4");
/// let c = Candidate::peer(TransportAddress::udp("203.0.113.7:3478".parse().unwrap()), Services::BOTH);
/// assert!(turn_v4.accepts(&c));
/// assert!(!Filter::ANY.with_family(IpFamily::V6).accepts(&c));
/// assert!(!Filter::ANY.with_transport(stun_turn_discovery::Transport::Tls).accepts(&c));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Filter {
    /// Services every candidate must offer ([`Services::NONE`]: any).
    pub services: Services,
    /// Address family every candidate must have (`None`: either).
    pub family: Option<IpFamily>,
    /// Transport every candidate must offer its service on (`None`: any).
    pub transport: Option<Transport>,
}

impl Filter {
    /// Any candidate.
    pub const ANY: Self = Self {
        services: Services::NONE,
        family: None,
        transport: None,
    };

    /// Candidates offering all of `services`.
    pub const fn services(services: Services) -> Self {
        Self {
            services,
            family: None,
            transport: None,
        }
    }

    /// This filter restricted to `transport`.
    #[must_use]
    pub const fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// This filter restricted to `family`.
    #[must_use]
    pub const fn with_family(mut self, family: IpFamily) -> Self {
        self.family = Some(family);
        self
    }

    /// Whether `candidate` passes the filter. A candidate offering no
    /// service at all never passes: it is not willing to serve (§2).
    #[inline]
    pub fn accepts(&self, candidate: &Candidate) -> bool {
        !candidate.services.is_empty()
            && candidate.services.contains(self.services)
            && match self.family {
                None => true,
                Some(IpFamily::V4) => candidate.address.ip().is_ipv4(),
                Some(IpFamily::V6) => candidate.address.ip().is_ipv6(),
            }
            && self
                .transport
                .is_none_or(|t| t == candidate.address.transport())
    }
}

impl fmt::Display for IpFamily {
    /// `IPv4` or `IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

impl fmt::Display for Filter {
    /// `any`, `TURN`, `STUN+TURN over IPv6`, `any over IPv4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.services.is_empty() {
            f.write_str("any")?;
        } else {
            write!(f, "{}", self.services)?;
        }
        if let Some(family) = self.family {
            write!(f, " over {family}")?;
        }
        if let Some(transport) = self.transport {
            write!(f, " on {transport}")?;
        }
        Ok(())
    }
}
