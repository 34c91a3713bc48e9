//! How this host configures the crate: code points, address policy,
//! uniqueness key, the per-requester limit, ids and message kinds. Both
//! roles (peer and node) and the attacker use these, so they agree.

use std::net::SocketAddr;
use std::time::Duration;

use stun_turn_discovery::error::Error;
use stun_turn_discovery::peer::RequestLimit;
use stun_turn_discovery::wire::WireConfig;
use stun_turn_discovery::{
    AddressPolicy, MessageKind, NodeConfig, NodeId, PeerConfig, UniquenessKey,
};

use crate::framing::Code;

/// The experimental code points (RFC 6940 §14.12, §14.14); a deployment
/// registers its own.
pub(crate) const WIRE: WireConfig = WireConfig {
    option_type: 1,
    extension_type: 1,
    ..WireConfig::DEFAULT
};

/// Routing maintenance period.
pub(crate) const TICK: Duration = Duration::from_secs(1);

/// The address policy of every table and of the node. The end-to-end
/// script puts the overlay and the coturn servers on private addresses
/// (10.x and 172.x inside network namespaces, see scripts/e2e-nat.sh) and
/// the loopback variant on 127.0.0.1, both of which the crate's default
/// policy (public Internet only) refuses; this test-bed allows them.
/// Unspecified, multicast and broadcast addresses are still refused.
pub(crate) fn policy() -> AddressPolicy {
    AddressPolicy::permissive()
}

/// A peer: the test-bed policy, and at most a burst of 50 requests from
/// one source address, then 20 a second, that get candidates added (a
/// flood from one source learns the table once, not 10,000 times; the
/// requests are still routed and answered).
pub(crate) fn peer_config() -> Result<PeerConfig, Error> {
    let limit = RequestLimit::new(1200, 50)?;
    Ok(PeerConfig::default()
        .with_address_policy(policy())
        .with_request_limit(limit))
}

/// The sending node: the test-bed policy; candidates unique by IP address
/// and port, since several servers may share one IP (all of them on
/// 127.0.0.1 in the loopback variant); no known list, so the iterative
/// GET shows what each hop offers, not only what the node lacks; a server
/// that does not answer backs off for 30 s (so `best` stops handing it
/// out at once) and goes after 3 failures in a row.
pub(crate) fn node_config() -> Result<NodeConfig, Error> {
    Ok(NodeConfig::default()
        .with_address_policy(policy())
        .with_key(UniquenessKey::IpPort)
        .with_known_hint(0)?
        .with_failure_backoff(Duration::from_secs(30))?
        .with_max_failures(3)?)
}

/// The crate's Node-ID of a ring member.
pub(crate) fn node_id(id: u64) -> NodeId {
    NodeId::new(&id.to_be_bytes()).expect("8 bytes fit a node id")
}

/// The crate's name for a frame code.
pub(crate) fn kind_of(code: Code) -> MessageKind {
    match code {
        Code::Join => MessageKind::Join,
        Code::Update | Code::Find => MessageKind::Maintenance,
        Code::Get => MessageKind::Get,
        Code::Put => MessageKind::Put,
    }
}

/// A ring id from an address, when none is given: FNV-1a of its text,
/// then SplitMix64's finalizer so neighbouring ports land far apart.
pub(crate) fn id_of(addr: &SocketAddr) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in addr.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}
