//! The one admission check: whether a candidate may enter a candidate set,
//! an encoded option or the sending node's cache, and whether it counts
//! within its hop's share of N.
//!
//! Every path that lets a candidate in goes through [`Admission::admit`]:
//! the intermediate peer filling a decoded set (§4.2 steps 4–7), the same
//! peer appending to an encoded option in place, and the sending node
//! saving a response's set (§4.1 step 2). It applies, in this order, the
//! filter of the request, the address policy (where the candidates do not
//! come from a candidate table, which applied it on entry), and the per-hop
//! share (§7 of this crate, SECURITY.md); the container then applies the
//! uniqueness of §4.2 step 5 ([`UniquenessKey`](crate::UniquenessKey)).
//! [`check_stamps`] checks the hop positions a set claims.

use crate::address_policy::{AddressClass, AddressPolicy};
use crate::candidate::Candidate;
use crate::filter::Filter;
use crate::n::N;
use crate::set::SetEntry;
use crate::share::PerHopShare;

/// What the container did with a candidate the admission let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// A new entry.
    New,
    /// An entry with the same key was there and was refreshed.
    Known,
    /// An entry with the same key was there; nothing changed (§4.2 step 5).
    Duplicate,
    /// No room.
    NoRoom,
}

/// The admission's decision about one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Passed filter and policy and went to the container: `in_share` says
    /// whether it falls within its hop's share of N.
    Admitted { in_share: bool, inserted: Inserted },
    /// Does not pass the request's filter.
    Filtered,
    /// Refused by the address policy.
    Refused(AddressClass),
}

/// The admission state for one set: its filter, address policy and per-hop
/// cap, and how many candidates the current hop has had admitted.
#[derive(Debug, Clone)]
pub(crate) struct Admission {
    filter: Filter,
    /// Whether the filter can refuse anything: not for candidates from a
    /// table (every entry offers a service) under [`Filter::ANY`].
    filtering: bool,
    policy: Option<AddressPolicy>,
    cap: u8,
    hop: Option<u8>,
    from_hop: u8,
}

impl Admission {
    /// For candidates that go into a set of bound `n` under `share`.
    /// `policy` is `None` where the candidates come from a candidate table,
    /// which has applied it already.
    #[inline]
    pub(crate) fn new(
        filter: Filter,
        policy: Option<AddressPolicy>,
        share: PerHopShare,
        n: N,
    ) -> Self {
        Self {
            filter,
            filtering: policy.is_some() || filter != Filter::ANY,
            policy,
            cap: share.cap(n),
            hop: None,
            from_hop: 0,
        }
    }

    /// Most candidates one hop contributes within its share.
    pub(crate) fn cap(&self) -> u8 {
        self.cap
    }

    /// Whether the hop last admitted has contributed its whole share.
    pub(crate) fn hop_full(&self) -> bool {
        self.from_hop >= self.cap
    }

    /// Judges `candidate`, stamped with `hop`, and hands it to the container
    /// through `insert` (told whether it is within its hop's share) when it
    /// passes. A candidate counts against its hop's share unless the
    /// container refused it as a duplicate.
    #[inline(always)]
    pub(crate) fn admit(
        &mut self,
        candidate: &Candidate,
        hop: u8,
        insert: impl FnOnce(bool) -> Inserted,
    ) -> Verdict {
        match self.judge(candidate, hop) {
            Ok(in_share) => self.record(in_share, insert(in_share)),
            Err(refusal) => refusal,
        }
    }

    /// [`admit`](Self::admit) in two halves, for a container that inserts
    /// inline: the filter, the address policy and the hop's share for
    /// `candidate` at `hop`; `Ok(in_share)` when it may go to the
    /// container, which must then be told to [`record`](Self::record) what
    /// it did.
    #[inline(always)]
    pub(crate) fn judge(&mut self, candidate: &Candidate, hop: u8) -> Result<bool, Verdict> {
        if self.filtering && !self.filter.accepts(candidate) {
            return Err(Verdict::Filtered);
        }
        if let Some(policy) = &self.policy {
            if let Err(class) = policy.check(&candidate.address) {
                return Err(Verdict::Refused(class));
            }
        }
        if self.hop != Some(hop) {
            self.hop = Some(hop);
            self.from_hop = 0;
        }
        Ok(self.from_hop < self.cap)
    }

    /// The second half of [`admit`](Self::admit): the container did
    /// `inserted` with the candidate [`judge`](Self::judge) passed.
    #[inline(always)]
    pub(crate) fn record(&mut self, in_share: bool, inserted: Inserted) -> Verdict {
        if inserted != Inserted::Duplicate {
            self.from_hop = self.from_hop.saturating_add(1);
        }
        Verdict::Admitted { in_share, inserted }
    }
}

/// A hop position a set claims that no intermediate peer could have
/// stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StampError {
    /// Entry `index` claims `hop`, outside `first..=last`.
    OutOfRange { index: usize, hop: u8 },
    /// Entry `index` has a lower hop than the one before it: hops append in
    /// path order, so the set was reordered.
    Order { index: usize },
}

/// Checks that every entry claims a hop in `first..=last` and that hops
/// never go down along the set.
pub(crate) fn check_stamps(entries: &[SetEntry], first: u8, last: u8) -> Result<(), StampError> {
    let mut prev = first;
    for (index, e) in entries.iter().enumerate() {
        if e.hop < first || e.hop > last {
            return Err(StampError::OutOfRange { index, hop: e.hop });
        }
        if e.hop < prev {
            return Err(StampError::Order { index });
        }
        prev = e.hop;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidate::{Services, TransportAddress};

    fn c(last: u8, services: Services) -> Candidate {
        Candidate::peer(
            TransportAddress::udp(format!("198.51.100.{last}:3478").parse().unwrap()),
            services,
        )
    }

    #[test]
    fn share_is_counted_per_hop_and_duplicates_do_not_count() {
        let mut a = Admission::new(Filter::ANY, None, PerHopShare::HALF, N::new(4).unwrap());
        assert_eq!(a.cap(), 2);
        let mut got = Vec::new();
        for (i, (hop, dup)) in [(1, false), (1, true), (1, false), (1, false), (2, false)]
            .into_iter()
            .enumerate()
        {
            let v = a.admit(&c(i as u8 + 1, Services::BOTH), hop, |in_share| {
                got.push(in_share);
                if dup {
                    Inserted::Duplicate
                } else {
                    Inserted::New
                }
            });
            assert!(matches!(v, Verdict::Admitted { .. }));
        }
        assert_eq!(got, [true, true, true, false, true]);
    }

    #[test]
    fn filter_then_policy_before_the_container() {
        let policy = Some(AddressPolicy::default());
        let mut a = Admission::new(
            Filter::services(Services::TURN),
            policy,
            PerHopShare::WHOLE,
            N::DEFAULT,
        );
        let v = a.admit(&c(1, Services::STUN), 1, |_| unreachable!("filtered first"));
        assert_eq!(v, Verdict::Filtered);
        let v = a.admit(&c(1, Services::TURN), 1, |_| unreachable!("refused first"));
        assert_eq!(v, Verdict::Refused(AddressClass::Documentation));
    }

    #[test]
    fn stamps() {
        let e = |hop| SetEntry {
            candidate: c(1, Services::BOTH),
            hop,
        };
        assert_eq!(check_stamps(&[e(1), e(1), e(3)], 1, 3), Ok(()));
        assert_eq!(
            check_stamps(&[e(1), e(4)], 1, 3),
            Err(StampError::OutOfRange { index: 1, hop: 4 })
        );
        assert_eq!(
            check_stamps(&[e(2), e(1)], 1, 3),
            Err(StampError::Order { index: 1 })
        );
        assert_eq!(
            check_stamps(&[e(1)], 1, 0),
            Err(StampError::OutOfRange { index: 0, hop: 1 })
        );
    }
}
