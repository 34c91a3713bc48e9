//! A forwarding peer in recursive mode adds its candidates to an option
//! that is already encoded, without decoding and re-encoding the entries
//! already there: it reads only their addresses (for §4.2 step 5's
//! comparison), appends its own entries at the end, and patches K, the hop
//! position and the option's length.

use std::time::Instant;

use bytes::BytesMut;
use rand::Rng;

use super::field::fwd;
use super::{entry, reader, value, WireConfig, WireError};
use crate::candidate::Candidate;
use crate::intermediate::{HopReport, IntermediatePeer, MessageKind, Sink};
use crate::key::{KeyValue, UniquenessKey};
use crate::option::RoutingMode;
use crate::set::{SetEntry, MAX_N};

/// Processes an encoded recursive-mode option in place, exactly as
/// [`IntermediatePeer::on_request`] would the decoded one (the same seed
/// gives the same bytes as decode, `on_request`, encode).
///
/// `option` holds one whole ForwardingOption. The entries already there
/// are read for their keys but not rewritten; new entries go at the end, and
/// the K, hop and length fields are patched. Returns the hop report; the
/// option grew by `option.len()` minus its length before, which the host
/// adds to its message's length fields. No heap allocation when `option`
/// has spare capacity for the entries added.
///
/// ```
/// use std::time::Instant;
/// use bytes::BytesMut;
/// use rand::SeedableRng;
/// use stun_turn_discovery::wire::{self, Direction, WireConfig};
/// use stun_turn_discovery::*;
///
/// let config = Config::default().with_address_policy(AddressPolicy::permissive());
/// let mut peer = IntermediatePeer::new(config);
/// let now = Instant::now();
/// let c = Candidate::peer(TransportAddress::udp("192.0.2.1:6084".parse().unwrap()), Services::STUN);
/// let _ = peer.table_mut().upsert(now, Source::RoutingTable, c)?;
///
/// let option = PiggybackOption::recursive(Some(10), Filter::ANY, UniquenessKey::Ip)?;
/// let mut buf = BytesMut::with_capacity(256);
/// wire::encode_option(&option, Direction::Request, &WireConfig::default(), &mut buf)?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
/// let report = wire::append_in_place(&peer, now, MessageKind::Join, &mut buf, &WireConfig::default(), &mut rng)?;
/// assert_eq!(report.added(), 1);
/// let decoded = wire::decode_option(&mut &buf[..], &WireConfig::default())?;
/// assert_eq!(decoded.set().entries()[0].candidate.address, c.address);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn append_in_place<R: Rng + ?Sized>(
    peer: &IntermediatePeer,
    now: Instant,
    kind: MessageKind,
    option: &mut BytesMut,
    config: &WireConfig,
    rng: &mut R,
) -> Result<HopReport, WireError> {
    // Check the whole option first: nothing is written unless it is sound.
    let mut rd = &option[..];
    let _ = super::option_value_len(&mut rd, config)?;
    let h = value::decode_header(&mut rd)?;
    if h.mode != RoutingMode::Recursive {
        return Err(WireError::WrongMode {
            expected: "recursive option",
        });
    }
    let mut keys = [KeyValue::default(); MAX_N as usize];
    let mut known = 0usize;
    for index in 0..h.k {
        if rd.is_empty() {
            return Err(WireError::KMismatch {
                k: h.k,
                found: index,
            });
        }
        if let Some(e) = entry::decode(&mut rd, index)? {
            let kv = h.key.of(&e.candidate.address);
            if keys[..known].contains(&kv) {
                return Err(WireError::DuplicateKey { index });
            }
            keys[known] = kv;
            known += 1;
        }
    }
    reader::end(&rd, "entries")?;
    let mut sink = AppendSink {
        key: h.key,
        keys,
        known,
        k: usize::from(h.k),
        buf: option,
    };

    let n = peer.effective_n(h.n);
    let policy = peer.config().selection();
    let report = peer.fill(
        &policy,
        now,
        kind,
        RoutingMode::Recursive,
        n,
        h.filter,
        h.hop,
        &mut sink,
        rng,
    );
    let k = sink.k as u8;
    let buf = sink.buf;
    buf[fwd::HEADER_LEN + value::K_OFFSET] = k;
    buf[fwd::HEADER_LEN + value::HOP_OFFSET] = h.hop.saturating_add(1);
    // At most 6 + 64 × 68 bytes: fits u16.
    let new_len = (buf.len() - fwd::HEADER_LEN) as u16;
    buf[fwd::LENGTH..fwd::LENGTH + 2].copy_from_slice(&new_len.to_be_bytes());
    Ok(report)
}

/// The encoded option as a [`Sink`]: keys of the entries present, new
/// entries written at the end.
struct AppendSink<'a> {
    key: UniquenessKey,
    keys: [KeyValue; MAX_N as usize],
    known: usize,
    k: usize,
    buf: &'a mut BytesMut,
}

impl Sink for AppendSink<'_> {
    fn len(&self) -> usize {
        self.k
    }

    fn add(&mut self, candidate: &Candidate, priority: u16, hop: u8) -> bool {
        if self.k >= usize::from(MAX_N) || self.known >= usize::from(MAX_N) {
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
        self.buf.reserve(entry::encoded_len(&e));
        entry::encode(&e, &mut *self.buf);
        true
    }
}
