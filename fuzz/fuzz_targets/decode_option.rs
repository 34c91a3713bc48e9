//! Any bytes: `decode_option` returns a value or a typed error, never
//! panics; what decodes re-encodes to bytes that decode to the same value;
//! decoding into a reused option that holds 3 entries gives the same result,
//! and on error leaves its set empty and its mode, N, filter and hop as they
//! were (the `_into` decoders' clear-on-error contract).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stun_turn_discovery::wire::{self, Direction, WireConfig};
use stun_turn_discovery::{
    Candidate, CandidateSet, Filter, IpFamily, PiggybackOption, RoutingMode, Services, SetEntry,
    TransportAddress, UniquenessKey, N,
};

/// A recursive option with 3 entries and a header no seed decodes to.
fn prefilled() -> PiggybackOption {
    let set = CandidateSet::from_entries(
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
    .unwrap();
    PiggybackOption::from_parts(
        RoutingMode::Recursive,
        N::new(5).ok(),
        Filter::services(Services::TURN).with_family(IpFamily::V6),
        7,
        set,
    )
    .unwrap()
}

fuzz_target!(|data: &[u8]| {
    let cfg = WireConfig::default();
    let fresh = wire::decode_option(&mut &data[..], &cfg);
    let mut reused = prefilled();
    assert_eq!(reused.set().len(), 3);
    let header = (reused.mode(), reused.n(), reused.filter(), reused.hop());
    let into = wire::decode_option_into(&mut &data[..], &cfg, &mut reused);
    match (&fresh, into) {
        (Ok(option), Ok(())) => {
            assert_eq!(&reused, option);
            let mut buf = Vec::new();
            wire::encode_option(option, Direction::Request, &cfg, &mut buf).unwrap();
            assert_eq!(buf.len(), wire::option_len(option));
            assert_eq!(&wire::decode_option(&mut &buf[..], &cfg).unwrap(), option);
        }
        (Err(e), Err(i)) => {
            assert_eq!(*e, i);
            assert!(reused.set().is_empty(), "{i:?} left {:?}", reused.set());
            assert_eq!(
                (reused.mode(), reused.n(), reused.filter(), reused.hop()),
                header,
                "{i:?} changed the header"
            );
        }
        (f, i) => panic!("decode_option {f:?}, decode_option_into {i:?}"),
    }
});
