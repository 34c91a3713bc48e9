//! Any bytes as a whole RELOAD message: `wire::find_option` and
//! `IntermediatePeer::on_reload_request` return a value or a typed error,
//! never panic; a refused message is left byte for byte as it was; an
//! accepted one still holds exactly one option of the type, which decodes,
//! and its length fields agree with its size. The requester is named by its
//! transport address, so a first-hop option also gets the observed-address
//! option; when the peer added one, it decodes to that address.
#![no_main]

use std::time::Instant;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use stun_turn_discovery::peer::Requester;
use stun_turn_discovery::wire::{self, WireConfig};
use stun_turn_discovery::{
    AddressPolicy, Candidate, IntermediatePeer, MessageKind, PeerConfig, Services, Source,
    TransportAddress,
};

fuzz_target!(|data: &[u8]| {
    let cfg = WireConfig::default();
    let _ = wire::find_option(data, &cfg);
    let now = Instant::now();
    let mut peer = IntermediatePeer::new(
        PeerConfig::default().with_address_policy(AddressPolicy::permissive()),
    );
    let _ = peer.table_mut().sync_source(
        now,
        Source::RoutingTable,
        (1..=12u8).map(|i| {
            Candidate::peer(
                TransportAddress::udp(format!("45.0.0.{i}:3478").parse().unwrap()),
                Services::BOTH,
            )
        }),
    );
    let mut message = BytesMut::from(data);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let from = TransportAddress::udp("198.51.100.9:40001".parse().unwrap());
    // An observed-address option already there, sound or not (on a message
    // the peer accepts, an error here can only come from that option).
    let had_observed = !matches!(wire::find_observed_option(data, &cfg), Ok(None));
    match peer.on_reload_request(
        now,
        MessageKind::Join,
        Some(Requester::Transport(from)),
        &mut message,
        &cfg,
        &mut rng,
    ) {
        Err(_) | Ok(None) => assert_eq!(
            &message[..],
            data,
            "a refused or optionless message is untouched"
        ),
        Ok(Some(report)) => {
            let length = u32::from_be_bytes([message[16], message[17], message[18], message[19]]);
            assert_eq!(length as usize, message.len());
            let range = wire::find_option(&message, &cfg)
                .expect("the patched message still parses")
                .expect("and still holds the option");
            wire::decode_option(&mut &message[range], &cfg).expect("and the option decodes");
            if report.observed.is_some() && !had_observed {
                assert_eq!(
                    wire::find_observed_option(&message, &cfg),
                    Ok(Some(from)),
                    "the observed address went in"
                );
            }
        }
    }
});
