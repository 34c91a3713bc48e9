//! Any bytes: `decode_answer` returns a value or a typed error, never
//! panics; what decodes re-encodes to bytes that decode to the same value;
//! decoding into a reused set that holds 3 entries gives the same result,
//! and on error leaves that set empty (the `_into` decoders' clear-on-error
//! contract).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stun_turn_discovery::wire::{self, WireConfig};
use stun_turn_discovery::{
    Candidate, CandidateSet, Services, SetEntry, TransportAddress, UniquenessKey,
};

/// A set of 3 entries under a key no seed uses.
fn prefilled() -> CandidateSet {
    CandidateSet::from_entries(
        UniquenessKey::IpPort,
        ["45.0.0.1:3478", "45.0.0.1:5349", "[2001:db8::9]:3478"]
            .into_iter()
            .map(|a| SetEntry {
                candidate: Candidate::peer(
                    TransportAddress::udp(a.parse().unwrap()),
                    Services::BOTH,
                ),
                hop: 1,
            }),
    )
    .unwrap()
}

fuzz_target!(|data: &[u8]| {
    let cfg = WireConfig::default();
    let fresh = wire::decode_answer(&mut &data[..], &cfg);
    let mut reused = prefilled();
    assert_eq!(reused.len(), 3);
    let into = wire::decode_answer_into(&mut &data[..], &cfg, &mut reused);
    match (fresh, into) {
        (Ok((info, set)), Ok(i)) => {
            assert_eq!((i, &reused), (info, &set));
            let mut buf = Vec::new();
            wire::encode_answer(&set, info, &cfg, &mut buf).unwrap();
            assert_eq!(buf.len(), wire::answer_len(&set));
            assert_eq!(
                wire::decode_answer(&mut &buf[..], &cfg).unwrap(),
                (info, set)
            );
        }
        (Err(e), Err(i)) => {
            assert_eq!(e, i);
            assert!(reused.is_empty(), "{i:?} left {reused:?}");
        }
        (f, i) => panic!("decode_answer {f:?}, decode_answer_into {i:?}"),
    }
});
