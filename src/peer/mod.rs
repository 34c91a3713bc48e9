//! The intermediate peer (§4.2, §5.2, §6.2): "all peers on the path from
//! the sending node to the message destination, including the peer which is
//! the message destination" (§2). The host calls
//! [`IntermediatePeer::on_request`] (or, on the encoded option,
//! [`IntermediatePeer::on_encoded_request`]) for every request it processes
//! that carries the piggyback option, and [`IntermediatePeer::on_response`]
//! for every response; each is a pure function of its arguments and the
//! peer's candidate table.

mod alias;
mod config;
mod encoded;
mod fill;
mod limiter;
mod report;
mod selection;
mod stats;
mod table;
mod table_config;

use std::time::Instant;

use bytes::BytesMut;
use rand::Rng;

use crate::option::{MessageKind, PiggybackOption, RoutingMode};
use crate::set::CandidateSet;
use crate::wire::{WireConfig, WireError};

pub use config::PeerConfig;
pub use limiter::{RequestLimit, Requester};
pub use report::{HopReport, Outcome, Stop};
pub use selection::SelectionPolicy;
pub use stats::PeerStats;
pub use table::{CandidateTable, SyncReport, TableEntry, TableError, Upserted};
pub use table_config::{SourcePriorities, TableConfig};

use fill::{fill, finish, Request};
use limiter::Limiter;

/// An intermediate peer: its configuration and candidate table.
///
/// ```
/// use std::time::Instant;
/// use rand::SeedableRng;
/// use stun_turn_discovery::*;
///
/// let config = PeerConfig::default().with_address_policy(AddressPolicy::default().with_documentation(true));
/// let mut peer = IntermediatePeer::new(config);
/// let now = Instant::now();
/// let _ = peer.table_mut().sync_source(now, Source::RoutingTable, (1..=8).map(|i| {
///     Candidate::peer(TransportAddress::udp(format!("192.0.2.{i}:3478").parse().unwrap()), Services::BOTH)
/// }));
///
/// let mut option = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let Outcome::Filled(report) = peer.on_request(now, MessageKind::Join, None, &mut option, &mut rng) else {
///     unreachable!("a recursive option is filled in place")
/// };
/// // The default per-hop share lets one peer add half of N.
/// assert_eq!((report.k_before, report.k_after), (0, 5));
/// assert_eq!(option.set().len(), 5);
/// ```
#[derive(Debug, Clone)]
pub struct IntermediatePeer {
    config: PeerConfig,
    table: CandidateTable,
    /// Boxed: most peers have no limit, and a simulator holds a million
    /// peers.
    limiter: Option<Box<Limiter>>,
    stats: PeerStats,
}

impl IntermediatePeer {
    /// A peer with an empty candidate table.
    pub fn new(config: PeerConfig) -> Self {
        Self {
            table: CandidateTable::new(config.table()),
            limiter: config.request_limit().map(|l| Box::new(Limiter::new(l))),
            stats: PeerStats::default(),
            config,
        }
    }

    /// What this peer has done so far.
    pub fn stats(&self) -> &PeerStats {
        &self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// The candidate table.
    pub fn table(&self) -> &CandidateTable {
        &self.table
    }

    /// The candidate table, for the host to keep in sync with its routing
    /// state, itself and its clients (§3.3.1).
    pub fn table_mut(&mut self) -> &mut CandidateTable {
        &mut self.table
    }

    /// Processes a request that carries the piggyback option (§4.2 steps
    /// 2–7).
    ///
    /// `from` names the requester, if the host knows it (the address a
    /// request came from, or the requesting node's id): with a
    /// [`RequestLimit`] configured, a requester over its limit gets nothing
    /// added ([`Stop::Limited`]); the request is forwarded or answered all
    /// the same. `None` is never limited.
    ///
    /// In recursive mode the set carried in `option` is filled in place and
    /// the option's hop position advances; filling a set whose capacity
    /// covers N does not allocate (tracking a requester the limiter has not
    /// seen does). In iterative mode the returned answer goes in the
    /// immediate response.
    pub fn on_request<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        kind: MessageKind,
        from: Option<Requester>,
        option: &mut PiggybackOption,
        rng: &mut R,
    ) -> Outcome {
        let limiter = &mut self.limiter;
        let allowed = || allow(limiter, now, from);
        let mut req = Request {
            kind,
            mode: option.mode(),
            n: self.config.effective_n(option.n()),
            filter: option.filter(),
            hop: option.hop(),
            from,
        };
        match req.mode {
            RoutingMode::Recursive => {
                let (set, hop, known) = option.parts_mut();
                req.hop = *hop;
                let filled = fill(
                    &self.config,
                    &self.table,
                    now,
                    req,
                    known,
                    set,
                    rng,
                    allowed,
                );
                *hop = hop.saturating_add(1);
                let report = finish(&req, filled);
                self.stats.record(&report);
                Outcome::Filled(report)
            }
            RoutingMode::Iterative => {
                let mut answer = CandidateSet::with_capacity(option.key(), req.n);
                let filled = fill(
                    &self.config,
                    &self.table,
                    now,
                    req,
                    option.known(),
                    &mut answer,
                    rng,
                    allowed,
                );
                let report = finish(&req, filled);
                self.stats.record(&report);
                Outcome::Answer(answer, report)
            }
        }
    }

    /// [`on_request`](Self::on_request) on a recursive-mode option that is
    /// still encoded: `option` holds one whole ForwardingOption
    /// ([`wire::encode_option`](crate::wire::encode_option)). The entries
    /// already there are read for their keys but not rewritten; new entries
    /// go at the end, and the K, hop and length fields are patched. The
    /// same seed gives the same bytes as decode, `on_request`, encode, for
    /// an option whose entries all have address types this crate knows:
    /// an entry of another type is kept (and counted in K) in place, where
    /// decoding would drop it; reserved flag bits are kept likewise.
    ///
    /// The option grew by its new length minus its old one, which the host
    /// adds to its message's length fields. No heap allocation when
    /// `option` has spare capacity for the entries added. On error nothing
    /// was written.
    ///
    /// ```
    /// use std::time::Instant;
    /// use bytes::BytesMut;
    /// use rand::SeedableRng;
    /// use stun_turn_discovery::wire::{self, Direction, WireConfig};
    /// use stun_turn_discovery::*;
    ///
    /// let mut peer = IntermediatePeer::new(PeerConfig::default().with_address_policy(AddressPolicy::permissive()));
    /// let now = Instant::now();
    /// let c = Candidate::peer(TransportAddress::udp("192.0.2.1:6084".parse().unwrap()), Services::STUN);
    /// let _ = peer.table_mut().upsert(now, Source::RoutingTable, c)?;
    ///
    /// let option = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
    /// let mut buf = BytesMut::with_capacity(256);
    /// wire::encode_option(&option, Direction::Request, &WireConfig::default(), &mut buf)?;
    /// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    /// let report = peer.on_encoded_request(now, MessageKind::Join, None, &mut buf, &WireConfig::default(), &mut rng)?;
    /// assert_eq!(report.added(), 1);
    /// let decoded = wire::decode_option(&mut &buf[..], &WireConfig::default())?;
    /// assert_eq!(decoded.set().entries()[0].candidate.address, c.address);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn on_encoded_request<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        kind: MessageKind,
        from: Option<Requester>,
        option: &mut BytesMut,
        wire_config: &WireConfig,
        rng: &mut R,
    ) -> Result<HopReport, WireError> {
        let limiter = &mut self.limiter;
        let allowed = || allow(limiter, now, from);
        let result = encoded::on_encoded_request(
            &self.config,
            &self.table,
            now,
            kind,
            option,
            wire_config,
            rng,
            (from, allowed),
        );
        self.record(result.as_ref());
        result
    }

    /// [`on_encoded_request`](Self::on_encoded_request) on the option inside
    /// `message`, one whole RELOAD message (RFC 6940 §6.3.2) as received: the
    /// option is found in the ForwardingHeader's options list
    /// ([`wire::find_option`](crate::wire::find_option)), the new entries go
    /// in behind it, and the option length, the options-list length and the
    /// message length are patched. `Ok(None)`: the message carries no
    /// piggyback option. No heap allocation when `message` has spare
    /// capacity for the entries added; on error nothing was changed.
    ///
    /// An iterative-mode option is not appended to (`WireError::WrongMode`):
    /// decode it (`wire::decode_option` on the range `find_option` gives)
    /// and answer with [`on_request`](Self::on_request).
    #[allow(clippy::too_many_arguments)]
    pub fn on_reload_request<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        kind: MessageKind,
        from: Option<Requester>,
        message: &mut BytesMut,
        wire_config: &WireConfig,
        rng: &mut R,
    ) -> Result<Option<HopReport>, WireError> {
        let limiter = &mut self.limiter;
        let allowed = || allow(limiter, now, from);
        let result = encoded::on_reload_request(
            &self.config,
            &self.table,
            now,
            kind,
            message,
            wire_config,
            rng,
            (from, allowed),
        );
        match &result {
            Ok(Some(report)) => self.stats.record(report),
            // An iterative option is the host's to decode and answer with
            // on_request, which counts it.
            Ok(None) | Err(WireError::WrongMode { .. }) => {}
            Err(_) => self.stats.malformed += 1,
        }
        result
    }

    fn record(&mut self, result: Result<&HopReport, &WireError>) {
        match result {
            Ok(r) => self.stats.record(r),
            Err(WireError::WrongMode { .. }) => {}
            Err(_) => self.stats.malformed += 1,
        }
    }

    /// Processes a response (§4.2 step 1: "If the message is a response,
    /// intermediate peers don't do additional processing beyond
    /// forwarding"): the host forwards it untouched, option included. This
    /// call only records the event in the trace.
    pub fn on_response(&mut self, kind: MessageKind) {
        self.stats.responses += 1;
        tracing::debug!(?kind, "piggyback response: forward unchanged (§4.2 step 1)");
    }
}

/// Whether the limiter lets `from` be served at `now`; a request that names
/// no requester, or a peer with no limit, always is.
fn allow(limiter: &mut Option<Box<Limiter>>, now: Instant, from: Option<Requester>) -> bool {
    match (limiter, from) {
        (Some(l), Some(r)) => {
            // One bucket per address, however it is spelled.
            let r = match r {
                Requester::Address(ip) => Requester::Address(ip.to_canonical()),
                Requester::Transport(t) => Requester::Address(t.ip().to_canonical()),
                node => node,
            };
            let ok = l.allow(now, r);
            if !ok {
                tracing::debug!(requester = %r, "requester over its limit: nothing added");
            }
            ok
        }
        _ => true,
    }
}
