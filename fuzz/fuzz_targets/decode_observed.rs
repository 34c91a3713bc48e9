//! Any bytes: the observed-address decoders (the recursive-mode option and
//! the iterative-mode extension) return an address or a typed error, never
//! panic; what decodes re-encodes to bytes that decode to the same
//! address, and to the very bytes it came from (but for the flags) unless
//! it was an IPv4-mapped IPv6 address, which is kept as the IPv4 address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stun_turn_discovery::wire::{self, Direction, WireConfig};

fuzz_target!(|data: &[u8]| {
    let cfg = WireConfig::default();
    if let Ok(address) = wire::decode_observed_option(&mut &data[..], &cfg) {
        let mut buf = Vec::new();
        wire::encode_observed_option(&address, Direction::Request, &cfg, &mut buf).unwrap();
        assert_eq!(buf.len(), wire::observed_option_len(&address));
        assert_eq!(
            wire::decode_observed_option(&mut &buf[..], &cfg),
            Ok(address)
        );
        if buf.len() == data.len() {
            assert_eq!(&buf[2..], &data[2..], "only the flags may differ");
        } else {
            assert!(address.ip().is_ipv4(), "only a mapped address shrinks");
        }
    }
    if let Ok(address) = wire::decode_observed_extension(&mut &data[..], &cfg) {
        let mut buf = Vec::new();
        wire::encode_observed_extension(&address, &cfg, &mut buf).unwrap();
        assert_eq!(buf.len(), wire::observed_extension_len(&address));
        assert_eq!(
            wire::decode_observed_extension(&mut &buf[..], &cfg),
            Ok(address)
        );
        if buf.len() == data.len() {
            assert_eq!(&buf[..2], &data[..2]);
            assert_eq!(&buf[3..], &data[3..], "only the critical flag may differ");
        } else {
            assert!(address.ip().is_ipv4(), "only a mapped address shrinks");
        }
    }
});
