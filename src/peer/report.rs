//! What an intermediate peer reports about one request (§4.2 steps 3 and
//! 7 say why it stops), and what the host does next.

use core::fmt;

use crate::candidate::TransportAddress;
use crate::n::N;
use crate::option::{MessageKind, RoutingMode};
use crate::set::CandidateSet;
use crate::wire::AnswerInfo;

use super::Requester;

/// Why an intermediate peer stopped adding candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Stop {
    /// §4.2 step 3: "If the number K in STUN/TURN candidate set equals or
    /// exceeds N, peers don't do anything".
    AlreadyFull,
    /// §4.2 step 7: "K equals N".
    ReachedN,
    /// §4.2 step 7: "all server candidates in the candidate table has been
    /// examined".
    TableExhausted,
    /// This hop added its per-hop share of N (SECURITY.md).
    HopCap,
    /// The requester is over its [`RequestLimit`](super::RequestLimit):
    /// nothing added (SECURITY.md).
    Limited,
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::AlreadyFull => "set already full (§4.2 step 3)",
            Self::ReachedN => "reached N (§4.2 step 7)",
            Self::TableExhausted => "table exhausted (§4.2 step 7)",
            Self::HopCap => "per-hop share reached",
            Self::Limited => "requester over its limit",
        })
    }
}

/// What one intermediate peer did to a set. Reports the crate makes never
/// have K after below K before; one read back with serde may, and
/// [`added`](Self::added) then says 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct HopReport {
    /// The request's kind.
    pub kind: MessageKind,
    /// The option's routing mode.
    pub mode: RoutingMode,
    /// N this peer worked to (§4.2 step 2): the request's, else its
    /// default, never above its N cap.
    pub n: N,
    /// K before this peer.
    pub k_before: u8,
    /// K after this peer.
    pub k_after: u8,
    /// This peer's hop position, stamped on what it added.
    pub hop: u8,
    /// Why it stopped.
    pub stop: Stop,
    /// The transport address the request came from, when it came straight
    /// from the sending node (every hop in iterative mode, the first in
    /// recursive mode) and the host named it
    /// ([`Requester::Transport`](super::Requester::Transport)): what the
    /// host sends back so the node learns its NAT mapping (in the
    /// observed-address extension of an iterative response,
    /// [`wire::encode_observed_extension`](crate::wire::encode_observed_extension);
    /// in recursive mode as an option of the request,
    /// [`wire::encode_observed_option`](crate::wire::encode_observed_option),
    /// which [`IntermediatePeer::on_reload_request`](super::IntermediatePeer::on_reload_request)
    /// adds itself).
    pub observed: Option<TransportAddress>,
}

impl HopReport {
    /// What [`observed`](Self::observed) is for a request from `from` in
    /// `mode` at `hop`: the transport address it came from, when the host
    /// named one and this hop received the request from the sending node
    /// itself (iterative mode, or hop 1 in recursive mode).
    #[inline]
    pub(crate) fn observed_from(
        from: Option<Requester>,
        mode: RoutingMode,
        hop: u8,
    ) -> Option<TransportAddress> {
        let direct = mode == RoutingMode::Iterative || hop == 1;
        match from {
            Some(Requester::Transport(t)) if direct => Some(t),
            _ => None,
        }
    }

    /// Candidates this peer added (§4.2 step 6: K = K + 1 for each).
    pub fn added(&self) -> u8 {
        self.k_after.saturating_sub(self.k_before)
    }

    /// What an iterative-mode answer says besides its set: this peer's hop
    /// and the N it worked to, for [`wire::encode_answer`](crate::wire::encode_answer).
    pub fn answer_info(&self) -> AnswerInfo {
        AnswerInfo {
            hop: self.hop,
            n: self.n,
        }
    }
}

impl fmt::Display for HopReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} at hop {}: K {} -> {} of N = {}, {}",
            self.mode, self.kind, self.hop, self.k_before, self.k_after, self.n, self.stop
        )
    }
}

/// What the host does with a request after
/// [`IntermediatePeer::on_request`](super::IntermediatePeer::on_request).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "in iterative mode the answer must go into the response"]
pub enum Outcome {
    /// Recursive mode: the set in the request was filled in place; forward
    /// the request as usual.
    Filled(HopReport),
    /// Iterative mode: put this set in the immediate response (§3.3.2 step
    /// 2: "candidate set will be returned to the sending node in response
    /// immediately").
    Answer(CandidateSet, HopReport),
}

impl Outcome {
    /// The hop report.
    pub fn report(&self) -> &HopReport {
        match self {
            Self::Filled(r) | Self::Answer(_, r) => r,
        }
    }
}
