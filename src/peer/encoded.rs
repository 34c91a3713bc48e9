//! §4.2 on an option that is still encoded: a forwarding peer in recursive
//! mode reads the option through the codec's [`OptionView`], adds its
//! candidates at the end of the bytes, and patches K, the hop position and
//! the option's length, without decoding and re-encoding what earlier hops
//! wrote. Inside a whole RELOAD message the new entries are written at the
//! end of the buffer and rotated into place behind the option, so nothing
//! allocates when the buffer has room.

use core::ops::Range;
use std::time::Instant;

use bytes::BytesMut;
use rand::Rng;

use crate::admission::Inserted;
use crate::candidate::Candidate;
use crate::key::{KeyFilter, KeyList, KeyValue, UniquenessKey};
use crate::known::KnownKeys;
use crate::n::N;
use crate::option::{MessageKind, RoutingMode};
use crate::wire::{self, Direction, OptionView, WireConfig, WireError};

use super::config::PeerConfig;
use super::fill::{fill, finish, Filled, Request, Sink};
use super::limiter::Requester;
use super::report::HopReport;
use super::table::CandidateTable;

const MAX: usize = N::MAX.get() as usize;

/// [`IntermediatePeer::on_encoded_request`](super::IntermediatePeer::on_encoded_request).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn on_encoded_request<R: Rng + ?Sized>(
    config: &PeerConfig,
    table: &CandidateTable,
    now: Instant,
    kind: MessageKind,
    option: &mut BytesMut,
    wire_config: &WireConfig,
    rng: &mut R,
    requester: (Option<Requester>, impl FnOnce() -> bool),
) -> Result<HopReport, WireError> {
    let whole = 0..option.len();
    let peer = (config, table);
    let mut keys = Keys::new();
    check(&option[..], wire_config, &mut keys)?;
    let (req, filled, _) = append(peer, now, kind, option, whole, &mut keys, rng, requester);
    Ok(finish(&req, filled))
}

/// [`IntermediatePeer::on_reload_request`](super::IntermediatePeer::on_reload_request).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn on_reload_request<R: Rng + ?Sized>(
    config: &PeerConfig,
    table: &CandidateTable,
    now: Instant,
    kind: MessageKind,
    message: &mut BytesMut,
    wire_config: &WireConfig,
    rng: &mut R,
    (from, allowed): (Option<Requester>, impl FnOnce() -> bool),
) -> Result<Option<HopReport>, WireError> {
    let peer = (config, table);
    let Some(range) = wire::find_option(message, wire_config)? else {
        return Ok(None);
    };
    // Room first: the length fields can take the most one append adds, so
    // once `append` has checked the option (before the requester's token
    // is asked for), nothing can fail after bytes are written.
    wire::check_room(message)?;
    // Only a requester named by its transport address can be observed;
    // one observed address per message.
    let already = matches!(from, Some(Requester::Transport(_)))
        && wire::has_option(message, wire_config.observed_option_type);
    let end = range.end;
    let mut keys = Keys::new();
    check(&message[range.clone()], wire_config, &mut keys)?;
    let (req, filled, mut grown) = append(
        peer,
        now,
        kind,
        message,
        range,
        &mut keys,
        rng,
        (from, allowed),
    );
    let observed = HopReport::observed_from(req.from, req.mode, req.hop);
    if let (Some(seen), false) = (observed, already) {
        // The first hop tells the sending node where the request came from:
        // an option of its own behind the piggyback option, copied into the
        // response like it (RESPONSE_COPY).
        let at = end + grown;
        let len = wire::observed_option_len(&seen);
        message.reserve(len);
        wire::encode_observed_option(&seen, Direction::Request, wire_config, message)?;
        message[at..].rotate_right(len);
        grown += len;
    }
    wire::grow_lengths(message, grown);
    Ok(Some(finish(&req, filled)))
}

/// Checks the option in `bytes` (nothing is written unless it is sound)
/// and in the same pass takes its entries' keys into `keys`: a Bloom
/// filter of all of them, and the first few themselves. An entry is
/// compared with the ones before it only when the filter says its key may
/// be there. Apart from [`append`], which cannot fail: a report returned
/// inside a `Result` is copied out of it with loads wider than the stores
/// that wrote it, a stall the profile showed on every append.
#[inline(always)]
fn check(bytes: &[u8], wire_config: &WireConfig, keys: &mut Keys) -> Result<(), WireError> {
    let mut duplicate = None;
    let view = OptionView::new_checked_each(bytes, wire_config, |key, _, e| {
        let kv = key.of(&e.candidate.address);
        if duplicate.is_none() && keys.filter.may_contain(&kv) {
            let held = keys.held.contains(&kv)
                || keys.overflowed() && {
                    let view = OptionView::new_unchecked(bytes);
                    let mut before = view.entries().take(keys.count);
                    before.any(|p| key.of(&p.candidate.address) == kv)
                };
            if held {
                duplicate = Some(keys.count);
            }
        }
        keys.push(&kv);
    })?;
    if view.mode() != RoutingMode::Recursive {
        return Err(WireError::WrongMode {
            expected: "recursive option",
        });
    }
    if let Some(index) = duplicate {
        return Err(WireError::DuplicateKey { index: index as u8 });
    }
    Ok(())
}

/// Appends to the option at `range` of `buf`, which [`check`] passed
/// (filling `keys`): fills, writes the new entries behind it and patches
/// its K, hop and length. Returns the request and what the fill did, for
/// the report ([`finish`], which the caller calls last), and how many bytes
/// the option grew.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn append<R: Rng + ?Sized>(
    (config, table): (&PeerConfig, &CandidateTable),
    now: Instant,
    kind: MessageKind,
    buf: &mut BytesMut,
    range: Range<usize>,
    keys: &mut Keys,
    rng: &mut R,
    (from, allowed): (Option<Requester>, impl FnOnce() -> bool),
) -> (Request, Filled, usize) {
    let view = OptionView::new_unchecked(&buf[range.clone()]);
    let req = Request {
        kind,
        mode: RoutingMode::Recursive,
        n: config.effective_n(view.n()),
        filter: view.filter(),
        hop: view.hop(),
        from,
    };
    let key = view.key();
    let k = usize::from(view.k());
    // Most options name nothing the node holds: no list to build then.
    let listed;
    let held = if view.has_known() {
        listed = view.known();
        &listed
    } else {
        &NOTHING_HELD
    };
    let entries = range.start + view.entries_offset()..range.end;
    let old_len = buf.len();
    let mut sink = AppendSink {
        key,
        keys,
        entries,
        added: old_len,
        end: old_len,
        k,
        buf,
    };
    let filled = fill(config, table, now, req, held, &mut sink, rng, allowed);
    let k = sink.k as u8;
    let end = sink.end;
    buf.truncate(end);
    let grown = buf.len() - old_len;
    // New entries sit at the end of the buffer; move them behind the option
    // (already there when nothing follows it).
    if range.end < old_len {
        buf[range.end..].rotate_right(grown);
    }
    let mut view = OptionView::new_unchecked(&mut buf[range.start..range.end + grown]);
    view.set_k(k);
    view.set_hop(req.hop.saturating_add(1));
    view.fit_length();
    (req, filled, grown)
}

/// The known list of an option that carries none.
static NOTHING_HELD: KnownKeys = KnownKeys::new();

/// Keys held on the stack: an option holds at most N (10 by default);
/// past this many, keys are read back from the bytes.
const HELD: usize = 16;

/// The keys of an option's entries, present and added: a Bloom filter of
/// every one, and the first [`HELD`] themselves.
struct Keys {
    filter: KeyFilter,
    held: KeyList<HELD>,
    count: usize,
}

impl Keys {
    fn new() -> Self {
        Self {
            filter: KeyFilter::new(),
            held: KeyList::new(),
            count: 0,
        }
    }

    #[inline(always)]
    fn push(&mut self, kv: &KeyValue) {
        self.filter.insert(kv);
        self.held.push(kv);
        self.count += 1;
    }

    /// Whether some keys are not held and must be read back.
    fn overflowed(&self) -> bool {
        self.count > HELD
    }
}

/// The encoded option as a [`Sink`]: the keys of its entries, and new
/// entries written at the end of the buffer. A key the Bloom filter may
/// hold is compared with the keys held, and, past those, with the entries
/// themselves, read back from the bytes.
struct AppendSink<'a> {
    key: UniquenessKey,
    /// Borrowed, not moved: the keys are a few hundred bytes.
    keys: &'a mut Keys,
    /// Where the option's own entries lie in `buf`.
    entries: Range<usize>,
    /// Where the entries added lie in `buf`: `added..end`. Past `end`,
    /// `buf` may hold zeroed room for the next ones, cut off when the fill
    /// is done.
    added: usize,
    end: usize,
    k: usize,
    buf: &'a mut BytesMut,
}

impl AppendSink<'_> {
    /// Whether an entry present or added has the key `kv`.
    #[inline(always)]
    fn holds(&self, kv: &KeyValue) -> bool {
        self.keys.held.contains(kv) || self.keys.overflowed() && self.read_back(kv)
    }

    /// Whether an entry present or added, read back from the bytes, has
    /// the key `kv`.
    #[cold]
    fn read_back(&self, kv: &KeyValue) -> bool {
        let present = wire::entries_in(&self.buf[self.entries.clone()]);
        let added = wire::entries_in(&self.buf[self.added..self.end]);
        present
            .chain(added)
            .any(|e| self.key.of(&e.candidate.address) == *kv)
    }
}

impl Sink for AppendSink<'_> {
    fn len(&self) -> usize {
        self.k
    }

    #[inline(always)]
    fn add(
        &mut self,
        candidate: &Candidate,
        priority: u16,
        hop: u8,
        known: &KnownKeys,
    ) -> Inserted {
        if self.k >= MAX {
            return Inserted::Duplicate;
        }
        let kv = self.key.of(&candidate.address);
        if self.keys.filter.may_contain(&kv) && self.holds(&kv)
            || !known.is_empty() && known.contains(&kv)
        {
            return Inserted::Duplicate;
        }
        self.keys.push(&kv);
        self.k += 1;
        self.end = wire::put_table_entry(self.buf, self.end, candidate, priority, hop);
        Inserted::New
    }
}
