//! Any bytes: `decode_answer` returns a value or a typed error, never
//! panics; what decodes re-encodes to bytes that decode to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stun_turn_discovery::wire::{self, WireConfig};

fuzz_target!(|data: &[u8]| {
    let cfg = WireConfig::default();
    if let Ok((info, set)) = wire::decode_answer(&mut &data[..], &cfg) {
        let mut buf = Vec::new();
        wire::encode_answer(&set, info, &cfg, &mut buf).unwrap();
        assert_eq!(buf.len(), wire::answer_len(&set));
        assert_eq!(
            wire::decode_answer(&mut &buf[..], &cfg).unwrap(),
            (info, set)
        );
    }
});
