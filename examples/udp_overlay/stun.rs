//! A STUN Binding (RFC 8489) with `stun-types`: the request is built and
//! the answer parsed by the library, no STUN byte written by hand. The
//! node sends it from its overlay socket, so the XOR-MAPPED-ADDRESS is
//! the address its overlay traffic leaves the NAT with.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use stun_types::attribute::XorMappedAddress;
use stun_types::message::{
    Message, MessageClass, MessageWrite, MessageWriteExt, MessageWriteVec, BINDING,
};
use thiserror::Error;

use crate::peer::quiet;

/// Why a Binding did not give a reflexive address.
#[derive(Debug, Error)]
pub(crate) enum StunError {
    /// No answer within the tries.
    #[error("no answer from {server} after {tries} tries")]
    Timeout {
        /// The server.
        server: SocketAddr,
        /// Requests sent.
        tries: u32,
    },
    /// The server answered with an error response.
    #[error("error response from {0}")]
    ErrorResponse(SocketAddr),
    /// A success response without a usable XOR-MAPPED-ADDRESS.
    #[error("success response from {0} without XOR-MAPPED-ADDRESS: {1}")]
    NoMappedAddress(SocketAddr, String),
    /// The request could not be built.
    #[error("request not built: {0}")]
    Build(String),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What one Binding learned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding {
    /// The server-reflexive address.
    pub(crate) reflexive: SocketAddr,
    /// Request to response.
    pub(crate) rtt: Duration,
}

/// Sends Binding requests from `sock` to `server` (a new transaction per
/// try, waiting `timeout` for each) until one is answered. Datagrams that
/// are not the answer (overlay frames, late answers) are skipped.
pub(crate) fn binding(
    sock: &UdpSocket,
    server: SocketAddr,
    timeout: Duration,
    tries: u32,
) -> Result<Binding, StunError> {
    let mut buf = vec![0u8; 2048];
    for _ in 0..tries {
        let mut request = Message::builder_request(BINDING, MessageWriteVec::new());
        request
            .add_fingerprint()
            .map_err(|e| StunError::Build(e.to_string()))?;
        let txid = request.transaction_id();
        let bytes = request.finish();
        let sent = Instant::now();
        sock.send_to(&bytes, server)?;
        let deadline = sent + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sock.set_read_timeout(Some(left))?;
            let (len, from) = match sock.recv_from(&mut buf) {
                Ok(got) => got,
                Err(e) if quiet(&e) => continue,
                Err(e) => return Err(e.into()),
            };
            if from != server {
                continue;
            }
            let Ok(msg) = Message::from_bytes(&buf[..len]) else {
                continue;
            };
            if msg.transaction_id() != txid || !msg.has_method(BINDING) {
                continue;
            }
            if msg.has_class(MessageClass::Error) {
                return Err(StunError::ErrorResponse(server));
            }
            let mapped = msg
                .attribute::<XorMappedAddress>()
                .map_err(|e| StunError::NoMappedAddress(server, e.to_string()))?;
            return Ok(Binding {
                reflexive: mapped.addr(txid),
                rtt: sent.elapsed(),
            });
        }
    }
    Err(StunError::Timeout { server, tries })
}

/// Whether `bytes` look like a STUN message (top two bits 0, magic
/// cookie), so an overlay socket can tell them from frames.
pub(crate) fn is_stun(bytes: &[u8]) -> bool {
    bytes.len() >= 20 && bytes[0] & 0xc0 == 0 && bytes[4..8] == [0x21, 0x12, 0xa4, 0x42]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_request_is_stun_and_a_frame_is_not() {
        let request = Message::builder_request(BINDING, MessageWriteVec::new()).finish();
        assert!(is_stun(&request));
        let frame = crate::framing::Frame::request(crate::framing::Code::Get, 1, 2, 3);
        assert!(!is_stun(&frame.encode().unwrap()));
    }
}
