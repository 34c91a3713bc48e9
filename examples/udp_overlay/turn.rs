//! A TURN allocation (RFC 8656) with `turn-client-proto`, a sans-IO
//! client: this file owns the socket and the clock, the library every
//! TURN byte. Long-term credentials: `--turn-user NAME:PASS`; the realm
//! and nonce come from the server's 401 challenge, which the client
//! answers on its own (`--realm` names the realm the node expects, and is
//! logged next to the result).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use thiserror::Error;
use turn_client_proto::api::{TurnConfig, TurnEvent, TurnPollRet, TurnRecvRet};
use turn_client_proto::prelude::*;
use turn_client_proto::stun::agent::Transmit;
use turn_client_proto::types::{TransportType, TurnCredentials};
use turn_client_proto::udp::TurnClientUdp;

use crate::peer::quiet;

type SansInstant = turn_client_proto::types::Instant;

/// Why no relay came back.
#[derive(Debug, Error)]
pub(crate) enum TurnError {
    /// The server refused the allocation (wrong credentials, quota, ...).
    #[error("allocation refused by {0}")]
    Refused(SocketAddr),
    /// The client gave up (retransmissions exhausted).
    #[error("TURN client closed without an allocation from {0}")]
    Closed(SocketAddr),
    /// No allocation within the time given.
    #[error("no allocation from {0} within {1:?}")]
    Timeout(SocketAddr, Duration),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A relay allocated on a TURN server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Relay {
    /// The relayed transport address.
    pub(crate) relayed: SocketAddr,
    /// From the first request to the allocation.
    pub(crate) rtt: Duration,
}

/// Allocates a UDP relay on `server` from a fresh socket on `ip`, then
/// deletes it again (a Refresh with lifetime 0), since the node only shows
/// that it can.
pub(crate) fn allocate(
    ip: IpAddr,
    server: SocketAddr,
    user: &str,
    pass: &str,
    timeout: Duration,
) -> Result<Relay, TurnError> {
    let sock = UdpSocket::bind((ip, 0))?;
    let local = sock.local_addr()?;
    let base = Instant::now();
    let now = || SansInstant::from_std(base);
    let config = TurnConfig::new(TurnCredentials::new(user, pass));
    let mut client = TurnClientUdp::allocate(local, server, config);
    let deadline = base + timeout;
    let mut buf = vec![0u8; 2048];
    loop {
        let wake = match client.poll(now()) {
            TurnPollRet::WaitUntil(t) => t.to_std(base),
            TurnPollRet::Closed => return Err(TurnError::Closed(server)),
            _ => Instant::now() + Duration::from_millis(50),
        };
        while let Some(t) = client.poll_transmit(now()) {
            sock.send_to(t.data.as_ref(), t.to)?;
        }
        while let Some(event) = client.poll_event() {
            match event {
                TurnEvent::AllocationCreated(_, relayed) => {
                    let rtt = base.elapsed();
                    release(&mut client, &sock, base);
                    return Ok(Relay { relayed, rtt });
                }
                TurnEvent::AllocationCreateFailed(_) => return Err(TurnError::Refused(server)),
                other => tracing::debug!(?other, "TURN event"),
            }
        }
        let at = Instant::now();
        if at >= deadline {
            return Err(TurnError::Timeout(server, timeout));
        }
        let wait = wake.min(deadline).saturating_duration_since(at);
        sock.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        match sock.recv_from(&mut buf) {
            Ok((len, from)) => {
                let transmit = Transmit::new(&buf[..len], TransportType::Udp, from, local);
                if let TurnRecvRet::Ignored(_) = client.recv(transmit, now()) {
                    tracing::debug!(%from, "datagram ignored by the TURN client");
                }
            }
            Err(e) if quiet(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Deletes the allocation, best effort: the Refresh goes out, its answer
/// is not waited for (the server frees the relay either way when its
/// lifetime ends).
fn release(client: &mut TurnClientUdp, sock: &UdpSocket, base: Instant) {
    let now = SansInstant::from_std(base);
    if client.delete(now).is_ok() {
        while let Some(t) = client.poll_transmit(now) {
            let _ = sock.send_to(t.data.as_ref(), t.to);
        }
    }
}
