//! The `attack` subcommand: bad input for one peer, per
//! notes/udp_contract.md. Garbage datagrams, a truncated option, an
//! option with N = 255, an option whose K disagrees with its entries (each
//! inside an otherwise valid frame, so the crate's decoder is what refuses
//! it), then a flood of valid requests from one source. One stdout line
//! per kind says what was sent and what came back: a peer that answers
//! the malformed requests (without a candidate set) is still serving.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::bytes::BytesMut;
use stun_turn_discovery::rand::{RngExt, SeedableRng};
use stun_turn_discovery::wire::{self, Direction};
use stun_turn_discovery::{Filter, PiggybackOption, UniquenessKey, N};

use crate::config::WIRE;
use crate::framing::{Body, Code, Frame, MAGIC, VERSION};

/// Offsets in an encoded option: 4 bytes of ForwardingOption header, then
/// the value's version, flags, N, filter, hop, K.
const N_AT: usize = 4 + 2;
const K_AT: usize = 4 + 5;

/// Sends the attack to `target`; `flood` valid requests at the end.
pub(crate) fn run(target: SocketAddr, flood: u32) -> Result<(), Box<dyn std::error::Error>> {
    let local = if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let sock = UdpSocket::bind(local)?;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let me = sock.local_addr()?;

    // Garbage: random bytes, and frames broken in each header field.
    let mut sent = 0;
    for _ in 0..16 {
        let len = rng.random_range(1..300);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        sock.send_to(&bytes, target)?;
        sent += 1;
    }
    let good = request(&mut rng, Code::Get, option_bytes()?).encode()?;
    let broken = [
        [&[b'X', b'Y'][..], &good[2..]].concat(), // bad magic
        [&MAGIC[..], &[VERSION + 1], &good[3..]].concat(), // bad version
        [&good[..3], &[0x7f], &good[4..]].concat(), // unknown code
        good[..good.len() / 2].to_vec(),          // truncated frame
        [&good[..], &[0, 0, 0]].concat(),         // trailing bytes
        vec![0x53],                               // one byte
    ];
    for b in &broken {
        sock.send_to(b, target)?;
        sent += 1;
    }
    println!(
        "garbage: sent {sent} datagrams to {target} (16 of random bytes; frames with a bad magic, a bad version, an unknown code, cut in half, with trailing bytes; a lone byte)"
    );

    // A truncated option: the ForwardingOption's length says more bytes
    // than the frame's option slot holds.
    let mut option = option_bytes()?;
    let full = option.len();
    option.truncate(full - 2);
    let answered = probe(&sock, &mut rng, target, option)?;
    println!(
        "truncated-option: sent 1 GET whose {full}-byte option is cut to {} bytes; {answered}",
        full - 2
    );

    // N = 255 (the crate's N is 1 to 64).
    let mut option = option_bytes()?;
    option[N_AT] = 255;
    let answered = probe(&sock, &mut rng, target, option)?;
    println!("n-255: sent 1 GET whose option says N = 255; {answered}");

    // K = 3 with no entry after it.
    let mut option = option_bytes()?;
    option[K_AT] = 3;
    let answered = probe(&sock, &mut rng, target, option)?;
    println!("k-mismatch: sent 1 GET whose option says K = 3 but holds no entry; {answered}");

    // The flood: valid GETs with a valid recursive option, one source.
    let answers = Arc::new(AtomicUsize::new(0));
    let with_candidates = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let sock = sock.try_clone()?;
        let (answers, with_candidates, done) =
            (answers.clone(), with_candidates.clone(), done.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            let _ = sock.set_read_timeout(Some(Duration::from_millis(100)));
            while !done.load(Ordering::Relaxed) {
                let Ok((len, _)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(f) = Frame::decode(&buf[..len]) else {
                    continue;
                };
                answers.fetch_add(1, Ordering::Relaxed);
                let k = f
                    .option
                    .as_deref()
                    .and_then(|o| wire::decode_option(&mut &o[..], &WIRE).ok())
                    .map_or(0, |o| o.set().len());
                if k > 0 {
                    with_candidates.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let start = Instant::now();
    for i in 0..flood {
        let frame = request(&mut rng, Code::Get, option_bytes()?);
        sock.send_to(&frame.encode()?, target)?;
        // Paced a little, so the flood is what the peer handles, not what
        // its socket buffer drops.
        if i % 50 == 49 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let took = start.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    done.store(true, Ordering::Relaxed);
    let _ = reader.join();
    println!(
        "flood: sent {flood} valid GET requests with the recursive option from one socket (port {}) in {took:.2?}; {} answered, {} of them with candidates (each peer on the path adds candidates for one source 50 times at once, then 20 a second)",
        me.port(),
        answers.load(Ordering::Relaxed),
        with_candidates.load(Ordering::Relaxed)
    );
    Ok(())
}

/// A valid recursive option, N = 10, unique by IP address and port.
fn option_bytes() -> Result<BytesMut, Box<dyn std::error::Error>> {
    let option = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::IpPort);
    let mut b = BytesMut::new();
    wire::encode_option(&option, Direction::Request, &WIRE, &mut b)?;
    Ok(b)
}

fn request(rng: &mut ChaCha8Rng, code: Code, option: BytesMut) -> Frame {
    let mut f = Frame::request(code, rng.random(), rng.random(), rng.random());
    f.option = Some(option);
    f.body = Body::Empty.encode();
    f
}

/// Sends one GET carrying `option` and waits a second for its answer.
fn probe(
    sock: &UdpSocket,
    rng: &mut ChaCha8Rng,
    target: SocketAddr,
    option: BytesMut,
) -> Result<String, Box<dyn std::error::Error>> {
    let frame = request(rng, Code::Get, option);
    sock.send_to(&frame.encode()?, target)?;
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut buf = vec![0u8; 65_536];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        let Ok((len, _)) = sock.recv_from(&mut buf) else {
            continue;
        };
        if let Ok(f) = Frame::decode(&buf[..len]) {
            if f.txid == frame.txid {
                let copied = if f.option.is_some() {
                    "with"
                } else {
                    "without"
                };
                return Ok(format!("answered {copied} an option"));
            }
        }
    }
    Ok("no answer within 1 s".to_string())
}
