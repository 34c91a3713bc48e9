//! Any bytes: `decode_option` returns a value or a typed error, never
//! panics; what decodes re-encodes to bytes that decode to the same value,
//! and decoding into a reused option agrees with decoding fresh.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stun_turn_discovery::wire::{self, Direction, WireConfig};
use stun_turn_discovery::{Filter, PiggybackOption, UniquenessKey};

fuzz_target!(|data: &[u8]| {
    let cfg = WireConfig::default();
    let fresh = wire::decode_option(&mut &data[..], &cfg);
    let mut reused = PiggybackOption::recursive(Some(10), Filter::ANY, UniquenessKey::Ip).unwrap();
    let into = wire::decode_option_into(&mut &data[..], &cfg, &mut reused);
    assert_eq!(fresh.is_ok(), into.is_ok());
    if let Ok(option) = fresh {
        assert_eq!(reused, option);
        let mut buf = Vec::new();
        wire::encode_option(&option, Direction::Request, &cfg, &mut buf).unwrap();
        assert_eq!(buf.len(), wire::option_len(&option));
        assert_eq!(wire::decode_option(&mut &buf[..], &cfg).unwrap(), option);
    }
});
