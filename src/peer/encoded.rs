//! §4.2 on an option that is still encoded: a forwarding peer in recursive
//! mode reads the option through the codec's [`OptionView`], adds its
//! candidates at the end of the bytes, and patches K, the hop position and
//! the option's length, without decoding and re-encoding what earlier hops
//! wrote.

use std::time::Instant;

use bytes::BytesMut;
use rand::Rng;

use crate::candidate::Candidate;
use crate::key::{KeyValue, UniquenessKey};
use crate::n::N;
use crate::option::{MessageKind, RoutingMode};
use crate::set::SetEntry;
use crate::wire::{self, OptionView, WireConfig, WireError};

use super::fill::{fill, Request, Sink};
use super::report::HopReport;
use super::IntermediatePeer;

const MAX: usize = N::MAX.get() as usize;

/// [`IntermediatePeer::on_encoded_request`].
pub(crate) fn on_encoded_request<R: Rng + ?Sized>(
    peer: &IntermediatePeer,
    now: Instant,
    kind: MessageKind,
    option: &mut BytesMut,
    wire_config: &WireConfig,
    rng: &mut R,
) -> Result<HopReport, WireError> {
    // Check the whole option first: nothing is written unless it is sound.
    let view = OptionView::new_checked(&option[..], wire_config)?;
    if view.mode() != RoutingMode::Recursive {
        return Err(WireError::WrongMode {
            expected: "recursive option",
        });
    }
    let key = view.key();
    let mut keys = [KeyValue::default(); MAX];
    let mut known = 0usize;
    for (index, e) in view.entries().enumerate() {
        let kv = key.of(&e.candidate.address);
        if keys[..known].contains(&kv) {
            return Err(WireError::DuplicateKey { index: index as u8 });
        }
        keys[known] = kv;
        known += 1;
    }
    let req = Request {
        kind,
        mode: RoutingMode::Recursive,
        n: peer.config().effective_n(view.n()),
        filter: view.filter(),
        hop: view.hop(),
    };
    let k = usize::from(view.k());
    let mut sink = AppendSink {
        key,
        keys,
        known,
        k,
        buf: option,
    };
    let report = fill(peer.config(), peer.table(), now, req, &mut sink, rng);
    let k = sink.k as u8;
    let mut view = OptionView::new_unchecked(&mut option[..]);
    view.set_k(k);
    view.set_hop(req.hop.saturating_add(1));
    view.fit_length();
    Ok(report)
}

/// The encoded option as a [`Sink`]: keys of the entries present, new
/// entries written at the end.
struct AppendSink<'a> {
    key: UniquenessKey,
    keys: [KeyValue; MAX],
    known: usize,
    k: usize,
    buf: &'a mut BytesMut,
}

impl Sink for AppendSink<'_> {
    fn len(&self) -> usize {
        self.k
    }

    fn add(&mut self, candidate: &Candidate, priority: u16, hop: u8) -> bool {
        if self.k >= MAX || self.known >= MAX {
            return false;
        }
        let kv = self.key.of(&candidate.address);
        if self.keys[..self.known].contains(&kv) {
            return false;
        }
        self.keys[self.known] = kv;
        self.known += 1;
        self.k += 1;
        let mut e = SetEntry {
            candidate: *candidate,
            hop,
        };
        e.candidate.priority = Some(priority);
        wire::push_entry(self.buf, &e);
        true
    }
}
