//! Any bytes: `decode_advert` returns an advertisement or a typed error,
//! never panics; what decodes re-encodes to exactly `advert_len` bytes that
//! decode to the same advertisement, and keeps the advertisement's own
//! invariants (at most `MAX_SERVERS` servers, each offering a service, no
//! address twice).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stun_turn_discovery::wire::{self, WireConfig};
use stun_turn_discovery::Advertisement;

fuzz_target!(|data: &[u8]| {
    let cfg = WireConfig::default();
    let Ok(advert) = wire::decode_advert(&mut &data[..], &cfg) else {
        return;
    };
    let servers = advert.servers();
    assert!(servers.len() <= Advertisement::MAX_SERVERS);
    assert_eq!(advert.is_willing(), !servers.is_empty());
    for (i, s) in servers.iter().enumerate() {
        assert!(!s.services.is_empty(), "{s:?}");
        assert!(
            servers[..i].iter().all(|o| o.address != s.address),
            "{advert:?}"
        );
    }
    let mut buf = Vec::new();
    wire::encode_advert(&advert, &cfg, &mut buf).unwrap();
    assert_eq!(buf.len(), wire::advert_len(&advert));
    assert!(buf.len() <= data.len(), "{} > {}", buf.len(), data.len());
    assert_eq!(wire::decode_advert(&mut &buf[..], &cfg).unwrap(), advert);
    // The answer decoder refuses it by its format byte.
    assert_eq!(
        wire::decode_answer(&mut &buf[..], &cfg),
        Err(wire::WireError::UnknownVersion(0x11))
    );
});
