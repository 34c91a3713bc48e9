//! A decoder nobody here wrote: Wireshark's RELOAD dissector (tshark) reads
//! a complete RELOAD JoinReq carrying the request option as a
//! ForwardingOption and an iterative answer as a MessageExtension, and
//! reports both with the right type, flags and length, and no malformed
//! packet or expert warning; and it reads the same JoinReq after an
//! intermediate peer appended to the option in place
//! (`IntermediatePeer::on_reload_request`), with the option, options-list
//! and message lengths it patched; and the observed address, as the
//! ForwardingOption a first hop adds and the MessageExtension an iterative
//! hop sends.
//!
//! Needs `tshark` and `text2pcap` (Debian package `tshark`). `.ci/run`
//! installs them; elsewhere the test is skipped with a note when they are
//! missing, unless `CI` is set, when it fails.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use bytes::BytesMut;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::wire::{self, AnswerInfo, Direction, WireConfig};
use stun_turn_discovery::*;

const NODE_ID: [u8; 16] = [0x11; 16];

fn entry(addr: &str, services: Services, priority: u16, hop: u8) -> SetEntry {
    let sa: SocketAddr = addr.parse().unwrap();
    SetEntry {
        candidate: Candidate::peer(TransportAddress::udp(sa), services).with_priority(priority),
        hop,
    }
}

/// The request option after two hops and an iterative answer.
fn option_and_answer() -> (Vec<u8>, Vec<u8>) {
    let set = CandidateSet::from_entries(
        UniquenessKey::Ip,
        [
            entry("192.0.2.1:6084", Services::BOTH, 300, 1),
            entry("[2001:db8::7]:3478", Services::STUN, 200, 2),
        ],
    )
    .unwrap();
    let option = PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(N::DEFAULT),
        Filter::ANY,
        3,
        set,
    )
    .unwrap();
    let mut opt = Vec::new();
    wire::encode_option(
        &option,
        Direction::Request,
        &WireConfig::default(),
        &mut opt,
    )
    .unwrap();
    let answer = CandidateSet::from_entries(
        UniquenessKey::Ip,
        [entry("203.0.113.9:3478", Services::TURN, 250, 3)],
    )
    .unwrap();
    let mut ext = Vec::new();
    wire::encode_answer(
        &answer,
        AnswerInfo {
            hop: 3,
            n: N::DEFAULT,
        },
        &WireConfig::default(),
        &mut ext,
    )
    .unwrap();
    (opt, ext)
}

/// A whole RELOAD message (RFC 6940 §6.3): ForwardingHeader with one
/// destination and `option` in its options list, MessageContents with
/// `code` and `body` and `extension` in its extensions, and a SecurityBlock
/// with no certificate and an empty signature.
fn reload_message(code: u16, body: &[u8], option: &[u8], extension: &[u8]) -> Vec<u8> {
    let mut destination = vec![0x01, 0x10]; // Destination: type node, length 16
    destination.extend(NODE_ID);

    let mut contents = Vec::new();
    contents.extend(code.to_be_bytes()); // message_code
    contents.extend((body.len() as u32).to_be_bytes()); // message_body<0..2^32-1>
    contents.extend(body);
    contents.extend((extension.len() as u32).to_be_bytes()); // extensions<0..2^32-1>
    contents.extend(extension);

    let mut security = vec![
        0x00, 0x00, // certificates<0..2^16-1>: none
        0x04, 0x01, // SignatureAndHashAlgorithm: sha256, rsa
        0x01, 0x00, 0x22, // SignerIdentity: cert_hash, length 34
        0x04, 0x20, // hash_alg sha256, certificate_hash<0..2^8-1> of 32 bytes
    ];
    security.extend([0xcc; 32]);
    security.extend([0x00, 0x00]); // signature_value<0..2^16-1>: empty

    let header_len = 38;
    let total = header_len + destination.len() + option.len() + contents.len() + security.len();
    let mut m = Vec::with_capacity(total);
    m.extend(0xd245_4c4fu32.to_be_bytes()); // relo_token
    m.extend(0x0000_0001u32.to_be_bytes()); // overlay
    m.extend(1u16.to_be_bytes()); // configuration_sequence
    m.push(0x0a); // version 1.0
    m.push(100); // ttl
    m.extend(0xc000_0000u32.to_be_bytes()); // fragment: unfragmented, last
    m.extend((total as u32).to_be_bytes()); // length of the whole message
    m.extend(0x0102_0304_0506_0708u64.to_be_bytes()); // transaction_id
    m.extend(5000u32.to_be_bytes()); // max_response_length
    m.extend(0u16.to_be_bytes()); // via_list_length
    m.extend((destination.len() as u16).to_be_bytes()); // destination_list_length
    m.extend((option.len() as u16).to_be_bytes()); // options_length
    assert_eq!(m.len(), header_len);
    m.extend(destination);
    m.extend(option);
    m.extend(contents);
    m.extend(security);
    assert_eq!(m.len(), total);
    m
}

/// JoinReq (code 0x0f): joining_peer_id, then empty overlay_specific_data.
fn join_req(option: &[u8], extension: &[u8]) -> Vec<u8> {
    let mut body = NODE_ID.to_vec();
    body.extend(0u16.to_be_bytes());
    reload_message(0x000f, &body, option, extension)
}

/// JoinAns (code 0x10): empty overlay_specific_data.
fn join_ans(option: &[u8], extension: &[u8]) -> Vec<u8> {
    reload_message(0x0010, &0u16.to_be_bytes(), option, extension)
}

/// UpdateReq (code 0x13) of the CHORD-RELOAD topology plugin (RFC 6940
/// §10.4.1): a ChordUpdate of type peer_ready, after 600 s of uptime.
fn update_req(option: &[u8], extension: &[u8]) -> Vec<u8> {
    let mut body = 600u32.to_be_bytes().to_vec(); // uptime
    body.push(1); // ChordUpdateType: peer_ready
    reload_message(0x0013, &body, option, extension)
}

/// AttachReq (code 0x03, RFC 6940 §6.5.1.1): ICE ufrag, password and role,
/// one host candidate 192.0.2.1:6084 over DTLS-UDP-SR, send_update false.
fn attach_req(option: &[u8], extension: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for field in [&b"ufrg"[..], b"icepassword-0123456789", b"passive"] {
        body.push(field.len() as u8); // opaque<0..2^8-1>
        body.extend(field);
    }
    let mut candidate = vec![0x01, 0x06, 0xc0, 0x00, 0x02, 0x01, 0x17, 0xc4]; // IpAddressPort
    candidate.push(1); // OverlayLinkType: DTLS-UDP-SR
    candidate.extend([1, b'1']); // foundation<0..255>: "1"
    candidate.extend(2_130_706_431u32.to_be_bytes()); // priority
    candidate.push(1); // CandType: host
    candidate.extend(0u16.to_be_bytes()); // IceExtension extensions<0..2^16-1>: none
    body.extend((candidate.len() as u16).to_be_bytes()); // candidates<0..2^16-1>
    body.extend(candidate);
    body.push(0); // send_update: false
    reload_message(0x0003, &body, option, extension)
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn scratch_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tshark");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// tshark's verbose dissection of `messages`, each in one UDP datagram
/// 6084 → 6084; the files are `name.*` in the scratch directory.
fn dissect(name: &str, messages: &[Vec<u8>]) -> String {
    let dir = scratch_dir();
    let hex = dir.join(format!("{name}.txt"));
    let pcap = dir.join(format!("{name}.pcap"));
    let mut dump = String::new();
    for message in messages {
        for (i, chunk) in message.chunks(16).enumerate() {
            dump.push_str(&format!("{:06x}", i * 16));
            for b in chunk {
                dump.push_str(&format!(" {b:02x}"));
            }
            dump.push('\n');
        }
    }
    std::fs::write(&hex, dump).unwrap();
    let st = Command::new("text2pcap")
        .args(["-q", "-u", "6084,6084"])
        .arg(&hex)
        .arg(&pcap)
        .status()
        .unwrap();
    assert!(st.success(), "text2pcap failed");
    let out = Command::new("tshark")
        .args(["-n", "-V", "-r"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    std::fs::write(dir.join(format!("{name}.dissection.txt")), &text).unwrap();
    text
}

/// The dissection of frame `n` (1-based).
fn frame(text: &str, n: usize) -> &str {
    let starts: Vec<usize> = text
        .match_indices("Frame ")
        .filter(|(i, _)| *i == 0 || text.as_bytes()[i - 1] == b'\n')
        .map(|(i, _)| i)
        .collect();
    let start = starts[n - 1];
    let end = starts.get(n).copied().unwrap_or(text.len());
    &text[start..end]
}

fn assert_has(text: &str, needle: &str) {
    assert!(
        text.contains(needle),
        "tshark output lacks {needle:?}:\n{text}"
    );
}

/// `frames` frames, all RELOAD, fully dissected, with nothing malformed and
/// no expert note of any severity.
fn assert_clean(text: &str, frames: usize) {
    assert_eq!(
        text.matches("[Protocols in frame: eth:ethertype:ip:udp:reload]")
            .count(),
        frames,
        "{text}"
    );
    for bad in [
        "Malformed",
        "Expert Info",
        "malformed",
        "Dissector bug",
        "[BoundError]",
    ] {
        assert!(!text.contains(bad), "tshark reports {bad:?}:\n{text}");
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn tools_or_skip() -> bool {
    if have("tshark") && have("text2pcap") {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install tshark (Debian package `tshark`)"
    );
    eprintln!("skipped: tshark/text2pcap not installed (apt-get install tshark)");
    false
}

#[test]
fn wireshark_decodes_the_option_and_the_answer_in_reload_messages() {
    if !tools_or_skip() {
        return;
    }
    let (request_option, extension) = option_and_answer();
    // The option as copied into the response: flags cleared.
    let mut response_option = request_option.clone();
    response_option[1] = 0;
    let text = dissect(
        "reload",
        &[
            join_req(&request_option, &extension),
            join_ans(&response_option, &extension),
        ],
    );
    let value_len = request_option.len() - 4;
    let ext_value_len = extension.len() - 7;

    assert_clean(&text, 2);

    let req = frame(&text, 1);
    assert_has(req, "ForwardingHeader: Join Request");
    assert_has(
        req,
        &format!("options_length (uint16): {}", request_option.len()),
    );
    assert_has(
        req,
        &format!("ForwardingOption type=Unknown, flags=04, length={value_len}"),
    );
    assert_has(req, "type (ForwardingOptionType): Unknown (1)");
    assert_has(req, ".... .1.. = RESPONSE_COPY: Set");
    assert_has(req, ".... ..0. = DESTINATION_CRITICAL: Not set");
    assert_has(req, ".... ...0 = FORWARD_CRITICAL: Not set");
    assert_has(req, &format!("length (uint16): {value_len}"));
    assert_has(req, "message_code (uint16): 15 (join_req)");
    assert_has(req, "type (MessageExtensionType): exp-ext (1)");
    assert_has(req, "critical (Boolean): False");
    assert_has(req, &format!("length (uint32): {ext_value_len}"));
    let hex: String = request_option[4..]
        .iter()
        .take(32)
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_has(req, &format!("data (bytes): {hex}"));

    let ans = frame(&text, 2);
    assert_has(ans, "message_code (uint16): 16 (join_ans)");
    assert_has(
        ans,
        &format!("ForwardingOption type=Unknown, flags=00, length={value_len}"),
    );
    assert_has(ans, ".... .0.. = RESPONSE_COPY: Not set");
    assert_has(ans, "type (MessageExtensionType): exp-ext (1)");
}

#[test]
fn wireshark_decodes_a_join_request_after_on_reload_request() {
    let cfg = WireConfig::default();
    let (request_option, extension) = option_and_answer();
    let before = join_req(&request_option, &extension);
    // ForwardingHeader (38 bytes), then the one 18-byte destination.
    let option_at = 38 + 18;
    assert_eq!(
        wire::find_option(&before, &cfg).unwrap(),
        Some(option_at..option_at + request_option.len())
    );

    // The third peer on the path adds three candidates in place.
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(
        PeerConfig::default().with_address_policy(AddressPolicy::permissive()),
    );
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        ["203.0.113.1:3478", "203.0.113.2:3478", "203.0.113.3:3478"]
            .map(|a| Candidate::peer(TransportAddress::udp(a.parse().unwrap()), Services::BOTH)),
    );
    let mut message = BytesMut::from(&before[..]);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let report = peer
        .on_reload_request(now, MessageKind::Join, None, &mut message, &cfg, &mut rng)
        .unwrap()
        .expect("the JoinReq carries the option");
    assert_eq!((report.hop, report.k_before, report.k_after), (3, 2, 5));

    let range = wire::find_option(&message, &cfg).unwrap().unwrap();
    assert_eq!(range.start, option_at);
    let option = wire::decode_option(&mut &message[range.clone()], &cfg).unwrap();
    assert_eq!((option.set().len(), option.hop()), (5, 4));
    let grown = message.len() - before.len();
    assert_eq!(range.len(), request_option.len() + grown);
    // The bytes before the option, but for the two lengths, and after it
    // are as they were; the lengths grew by what the option grew.
    assert_eq!(&message[..16], &before[..16]);
    assert_eq!(&message[20..36], &before[20..36]);
    assert_eq!(&message[38..option_at], &before[38..option_at]);
    assert_eq!(
        &message[range.end..],
        &before[option_at + request_option.len()..]
    );
    assert_eq!(u32_at(&message, 16) as usize, message.len());
    assert_eq!(usize::from(u16_at(&message, 36)), range.len());

    if !tools_or_skip() {
        return;
    }
    let text = dissect("reload-appended", &[message.to_vec()]);
    assert_clean(&text, 1);
    assert_has(&text, "ForwardingHeader: Join Request");
    assert_has(&text, &format!("options_length (uint16): {}", range.len()));
    assert_has(
        &text,
        &format!(
            "ForwardingOption type=Unknown, flags=04, length={}",
            range.len() - 4
        ),
    );
    assert_has(&text, "message_code (uint16): 15 (join_req)");
    assert_has(&text, "type (MessageExtensionType): exp-ext (1)");
    assert_has(&text, &format!("length (uint32): {}", extension.len() - 7));
}

/// A willing node's advertisement: STUN and TURN over UDP on IPv4 with a
/// priority, and TURN over TLS on IPv6 with performance hints.
fn willing_advert() -> Advertisement {
    let udp = Candidate::peer(
        TransportAddress::udp("192.0.2.1:3478".parse().unwrap()),
        Services::BOTH,
    )
    .with_priority(500);
    let tls = Candidate::peer(
        TransportAddress::new("2001:db8::1".parse().unwrap(), 5349, Transport::Tls),
        Services::TURN,
    )
    .with_hints(PerformanceHints {
        capacity: 1000,
        bandwidth_kbps: 100_000,
        load_percent: 25,
    });
    Advertisement::new([udp, tls]).unwrap()
}

fn advert_extension(advert: &Advertisement) -> Vec<u8> {
    let mut ext = Vec::new();
    wire::encode_advert(advert, &WireConfig::default(), &mut ext).unwrap();
    assert_eq!(ext.len(), wire::advert_len(advert));
    ext
}

/// `message` with its ForwardingHeader's transaction_id (offset 20) set to
/// `id`: each request its own, an answer its request's.
fn with_transaction_id(mut message: Vec<u8>, id: u64) -> Vec<u8> {
    message[20..28].copy_from_slice(&id.to_be_bytes());
    message
}

/// Per frame of the scratch capture `name.pcap`, the MessageExtensions
/// tshark delimits (`-T fields`), as whole extensions again: type, critical
/// and `extension_content`, which tshark gives with its u32 length prefix.
fn extensions(name: &str) -> Vec<Vec<Vec<u8>>> {
    let pcap = scratch_dir().join(format!("{name}.pcap"));
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&pcap)
        .args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"])
        .args(["-e", "reload.message_extension.type"])
        .args(["-e", "reload.message_extension.critical"])
        .args(["-e", "reload.message_extension.content"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unhex = |h: &str| -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    };
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let cols: Vec<Vec<&str>> = line
                .split('\t')
                .map(|c| c.split(',').filter(|v| !v.is_empty()).collect())
                .collect();
            assert_eq!(cols.len(), 3, "{line}");
            assert_eq!(cols[0].len(), cols[1].len(), "{line}");
            assert_eq!(cols[0].len(), cols[2].len(), "{line}");
            (0..cols[0].len())
                .map(|i| {
                    let mut ext = cols[0][i].parse::<u16>().unwrap().to_be_bytes().to_vec();
                    ext.push(match cols[1][i] {
                        "0" | "False" => 0,
                        "1" | "True" => 1,
                        other => panic!("critical {other:?}"),
                    });
                    ext.extend(unhex(cols[2][i]));
                    ext
                })
                .collect()
        })
        .collect()
}

/// What tshark prints for one MessageExtension holding `ext` (an encoded
/// MessageExtension of the default code point): its type, critical flag,
/// content length and the start of the value (tshark elides long values
/// after 36 bytes).
fn assert_extension(frame: &str, ext: &[u8]) {
    let value = &ext[7..];
    assert_has(frame, "type (MessageExtensionType): exp-ext (1)");
    assert_has(frame, "critical (Boolean): False");
    assert_has(frame, &format!("(opaque<{}>)", value.len()));
    assert_has(frame, &format!("length (uint32): {}", value.len()));
    let hex: String = value.iter().take(32).map(|b| format!("{b:02x}")).collect();
    assert_has(frame, &format!("data (bytes): {hex}"));
}

/// The willingness advertisement (§3.3.1 item 1) in the whole RELOAD
/// messages a node sends while it builds routing state: a willing peer's
/// UpdateReq and AttachReq, a NATed (not willing) node's JoinReq that also
/// carries the request option, and the admitting peer's JoinAns with its
/// advertisement and an iterative answer side by side at the same code
/// point. Wireshark shows each as a non-critical `exp-ext` MessageExtension
/// of the right length, with nothing malformed around it, and the bytes it
/// delimits decode back to the advertisement (and the answer to the answer,
/// each refused by the other decoder by its first value byte).
///
/// Wireshark 4.0's AttachReqAns dissector prints an IceCandidate's priority
/// from the first 4 bytes of the candidate (the IpAddressPort), not from the
/// priority field, so that value is not asserted.
#[test]
fn wireshark_decodes_the_advertisement_in_routing_state_messages() {
    if !tools_or_skip() {
        return;
    }
    let cfg = WireConfig::default();
    let willing = willing_advert();
    let not_willing = Advertisement::not_willing();
    let willing_ext = advert_extension(&willing);
    let not_willing_ext = advert_extension(&not_willing);
    assert_eq!(willing_ext.len(), 7 + 52);
    assert_eq!(not_willing_ext, [0, 1, 0, 0, 0, 0, 3, 0x11, 0, 0]);
    let (request_option, answer) = option_and_answer();
    let mut response_option = request_option.clone();
    response_option[1] = 0;
    let mut two_extensions = willing_ext.clone();
    two_extensions.extend(&answer);
    let text = dissect(
        "reload-advert",
        &[
            with_transaction_id(update_req(&[], &willing_ext), 0x11),
            with_transaction_id(join_req(&request_option, &not_willing_ext), 0x22),
            with_transaction_id(attach_req(&[], &willing_ext), 0x33),
            with_transaction_id(join_ans(&response_option, &two_extensions), 0x22),
        ],
    );

    assert_clean(&text, 4);
    for n in 1..=4 {
        assert!(
            !frame(&text, n).contains("Duplicated"),
            "{}",
            frame(&text, n)
        );
    }

    let update = frame(&text, 1);
    assert_has(update, "message_code (uint16): 19 (update_req)");
    assert_has(update, "type (ChordUpdateType): peer_ready (1)");
    assert_has(update, "options_length (uint16): 0");
    assert_has(update, "extensions (1 elements)");
    assert_has(update, &format!("length (uint32): {}", willing_ext.len()));
    assert_extension(update, &willing_ext);

    let join = frame(&text, 2);
    assert_has(join, "message_code (uint16): 15 (join_req)");
    assert_has(
        join,
        &format!(
            "ForwardingOption type=Unknown, flags=04, length={}",
            request_option.len() - 4
        ),
    );
    assert_has(join, "extensions (1 elements)");
    assert_has(join, "length (uint32): 10");
    assert_has(join, "extension_content: 00000003110000 (opaque<3>)");
    assert_has(join, "data (bytes): 110000\n");
    assert_extension(join, &not_willing_ext);

    let attach = frame(&text, 3);
    assert_has(attach, "message_code (uint16): 3 (attach_req)");
    assert_has(attach, "data (string): passive");
    assert_has(attach, "candidates (IceCandidate<18>): 1 elements");
    assert_has(attach, "send_update (Boolean): False");
    assert_has(attach, "extensions (1 elements)");
    assert_extension(attach, &willing_ext);

    let ans = frame(&text, 4);
    assert_has(ans, "message_code (uint16): 16 (join_ans)");
    assert_has(ans, "[Request in: 2]");
    assert_has(ans, "ForwardingOption type=Unknown, flags=00");
    assert_has(ans, "extensions (2 elements)");
    assert_has(
        ans,
        &format!("length (uint32): {}", willing_ext.len() + answer.len()),
    );
    assert_eq!(ans.matches("\n            MessageExtension\n").count(), 2);
    assert_extension(ans, &willing_ext);
    assert_extension(ans, &answer);

    // The extensions as tshark delimits them are the bytes sent, and decode
    // to the advertisement (or the answer) again.
    let got = extensions("reload-advert");
    assert_eq!(
        got,
        [
            vec![willing_ext.clone()],
            vec![not_willing_ext.clone()],
            vec![willing_ext.clone()],
            vec![willing_ext.clone(), answer.clone()],
        ]
    );
    for (ext, advert) in [(&got[0][0], &willing), (&got[1][0], &not_willing)] {
        assert_eq!(&wire::decode_advert(&mut &ext[..], &cfg).unwrap(), advert);
        assert_eq!(
            wire::decode_answer(&mut &ext[..], &cfg),
            Err(wire::WireError::UnknownVersion(0x11))
        );
    }
    let (info, set) = wire::decode_answer(&mut &got[3][1][..], &cfg).unwrap();
    assert_eq!((info.hop, set.len()), (3, 1));
    assert_eq!(
        wire::decode_advert(&mut &got[3][1][..], &cfg),
        Err(wire::WireError::UnknownVersion(1))
    );
}

/// The observed address (WIRE.md, "The observed address") in whole RELOAD
/// messages: the first hop's `on_reload_request` adds it as a
/// ForwardingOption of its own behind the piggyback option of a JoinReq,
/// and the responder copies both into the JoinAns; an iterative-mode hop
/// puts it in a MessageExtension of its own next to its answer. Wireshark
/// reads each message with no expert note, shows the option with
/// RESPONSE_COPY and the extension as not critical, and the extension it
/// delimits decodes back to the address.
#[test]
fn wireshark_decodes_the_observed_address() {
    let cfg = WireConfig::default();
    let now = Instant::now();
    let seen = TransportAddress::udp("203.0.113.7:40001".parse().unwrap());
    // A JoinReq straight from the sending node: hop 1, an empty set.
    let fresh = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
    let mut request_option = Vec::new();
    wire::encode_option(&fresh, Direction::Request, &cfg, &mut request_option).unwrap();
    let before = join_req(&request_option, &[]);
    let mut peer = IntermediatePeer::new(
        PeerConfig::default().with_address_policy(AddressPolicy::permissive()),
    );
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        ["198.51.100.1:3478", "198.51.100.2:3478"]
            .map(|a| Candidate::peer(TransportAddress::udp(a.parse().unwrap()), Services::BOTH)),
    );
    let mut message = BytesMut::from(&before[..]);
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let report = peer
        .on_reload_request(
            now,
            MessageKind::Join,
            Some(peer::Requester::Transport(seen)),
            &mut message,
            &cfg,
            &mut rng,
        )
        .unwrap()
        .expect("the JoinReq carries the option");
    assert_eq!((report.hop, report.observed), (1, Some(seen)));
    assert_eq!(wire::find_observed_option(&message, &cfg), Ok(Some(seen)));
    assert_eq!(u32_at(&message, 16) as usize, message.len());
    // The same peer at hop 2 of another request reports nothing: the
    // request did not come from the sending node.
    let mut later = join_req(&request_option, &[]);
    later[38 + 18 + 4 + 4] = 2; // the value's hop byte
    let mut later = BytesMut::from(&later[..]);
    let report = peer
        .on_reload_request(
            now,
            MessageKind::Join,
            Some(peer::Requester::Transport(seen)),
            &mut later,
            &cfg,
            &mut rng,
        )
        .unwrap()
        .unwrap();
    assert_eq!(report.observed, None);
    assert_eq!(wire::find_observed_option(&later, &cfg), Ok(None));

    // The responder copies both options, flags cleared.
    let options_len = usize::from(u16_at(&message, 36));
    let mut options = message[38 + 18..38 + 18 + options_len].to_vec();
    let piggyback = wire::find_option(&message, &cfg).unwrap().unwrap();
    options[1] = 0;
    options[piggyback.len() + 1] = 0;
    // An iterative-mode answer with the observed-address extension beside it.
    let answer = CandidateSet::from_entries(
        UniquenessKey::Ip,
        [entry("198.51.100.1:3478", Services::BOTH, 300, 2)],
    )
    .unwrap();
    let mut exts = Vec::new();
    wire::encode_answer(
        &answer,
        AnswerInfo {
            hop: 2,
            n: N::DEFAULT,
        },
        &cfg,
        &mut exts,
    )
    .unwrap();
    let answer_len = exts.len();
    wire::encode_observed_extension(&seen, &cfg, &mut exts).unwrap();

    if !tools_or_skip() {
        return;
    }
    let text = dissect(
        "reload-observed",
        &[
            with_transaction_id(message.to_vec(), 0x44),
            with_transaction_id(join_ans(&options, &[]), 0x44),
            with_transaction_id(update_req(&[], &[]), 0x55),
            with_transaction_id(join_ans(&[], &exts), 0x55),
        ],
    );
    assert_clean(&text, 4);
    let observed_len = wire::observed_option_len(&seen) - 4;
    assert_has(
        frame(&text, 1),
        &format!("ForwardingOption type=Unknown, flags=04, length={observed_len}"),
    );
    assert_has(
        frame(&text, 2),
        &format!("ForwardingOption type=Unknown, flags=00, length={observed_len}"),
    );
    let got = extensions("reload-observed");
    assert_eq!(got[3].len(), 2, "the answer and the observed address");
    assert_eq!(got[3][0], exts[..answer_len]);
    assert_eq!(
        wire::decode_observed_extension(&mut &got[3][1][..], &cfg),
        Ok(seen)
    );
}
