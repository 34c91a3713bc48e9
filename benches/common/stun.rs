//! The reference every per-hop cost is read against: what a forwarding
//! host pays anyway for one STUN message (RFC 8489). A Binding success
//! response carrying XOR-MAPPED-ADDRESS and FINGERPRINT is encoded with
//! `stun-types` into a reused buffer and parsed back (header, attribute
//! walk, FINGERPRINT check, the mapped address read out), as
//! `examples/udp_overlay` builds and reads its Binding messages.
//!
//! Included by several benches (`#[path = "common/stun.rs"] mod stun;`) so
//! that each measures the reference in the same run as the rows it is
//! compared with, under the id `stun/{bench}`.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use stun_types::attribute::XorMappedAddress;
use stun_types::message::{
    Message, MessageClass, MessageType, MessageWrite, MessageWriteExt, MessageWriteMutSlice,
    TransactionId, BINDING,
};

/// Room for the response: a 20-byte header, XOR-MAPPED-ADDRESS (12 bytes
/// for IPv4) and FINGERPRINT (8 bytes) need 40.
const ROOM: usize = 128;

/// One Binding success response, encoded and parsed back per call, in a
/// buffer reused from call to call (no heap allocation).
pub(crate) struct StunMessage {
    transaction: TransactionId,
    mapped: SocketAddr,
    buf: [u8; ROOM],
}

impl StunMessage {
    /// A response to a fixed transaction, mapping an ordinary global IPv4
    /// address (45.0.0.1:3478, the range the per-hop tables use).
    pub(crate) fn new() -> Self {
        Self {
            transaction: TransactionId::from(0x0123_4567_89ab_cdef_0011_2233_u128),
            mapped: SocketAddr::new(Ipv4Addr::new(45, 0, 0, 1).into(), 3478),
            buf: [0; ROOM],
        }
    }

    /// Encodes the response and parses it back; returns the encoded length
    /// and the mapped address read from it.
    pub(crate) fn round_trip(&mut self) -> (usize, SocketAddr) {
        let mtype = MessageType::from_class_method(MessageClass::Success, BINDING);
        let mut write = Message::builder(
            mtype,
            self.transaction,
            MessageWriteMutSlice::new(&mut self.buf),
        );
        write
            .add_attribute(&XorMappedAddress::new(
                black_box(self.mapped),
                self.transaction,
            ))
            .expect("room for XOR-MAPPED-ADDRESS");
        write.add_fingerprint().expect("room for FINGERPRINT");
        let len = write.finish();
        let message = Message::from_bytes(&self.buf[..len]).expect("parses back");
        let mapped = message
            .attribute::<XorMappedAddress>()
            .expect("XOR-MAPPED-ADDRESS present")
            .addr(message.transaction_id());
        (len, mapped)
    }
}

/// Benchmarks [`StunMessage::round_trip`] as `stun/{bench}` (throughput:
/// one message), after checking the round trip gives back what went in.
pub(crate) fn bench_stun_message(c: &mut Criterion, bench: &str) {
    let mut message = StunMessage::new();
    let (len, mapped) = message.round_trip();
    assert_eq!(
        (len, mapped),
        (40, message.mapped),
        "the response round-trips"
    );
    let mut group: BenchmarkGroup<'_, WallTime> = c.benchmark_group("stun");
    group.throughput(Throughput::Elements(1));
    group.bench_function(bench, |b| b.iter(|| message.round_trip()));
    group.finish();
}
