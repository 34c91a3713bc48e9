//! The observed address in this host's framing: what a peer saw a request
//! come from (`HopReport::observed`), sent back to the sending node, which
//! records it (`SendingNode::observed`) to learn its NAT's mapping.
//!
//! - Recursive mode: the first hop puts the crate's observed-address
//!   ForwardingOption (RESPONSE_COPY set) in the request's observed slot;
//!   the responder copies it into the response with its flags cleared
//!   (RFC 6940 §6.3.2.3), as it does the piggyback option, and the hops on
//!   the way back forward it untouched.
//! - Iterative mode: every hop receives the request from the node itself
//!   and puts the crate's observed-address MessageExtension among its
//!   response's extensions, next to its answer.

use stun_turn_discovery::wire::{self, fwd_flags, Direction, WireError};
use stun_turn_discovery::TransportAddress;

use crate::config::WIRE;
use crate::framing::Frame;

/// The observed slot of a recursive request: `seen` as the observed
/// ForwardingOption, RESPONSE_COPY set.
pub(crate) fn request_option(seen: &TransportAddress) -> Result<Vec<u8>, WireError> {
    let mut b = Vec::with_capacity(wire::observed_option_len(seen));
    wire::encode_observed_option(seen, Direction::Request, &WIRE, &mut b)?;
    Ok(b)
}

/// What the responder puts in the response's observed slot for the
/// request's `slot`: the same address with the flags cleared when the
/// request asked for a copy (RESPONSE_COPY), else nothing. A malformed
/// slot is an error (and is not copied).
pub(crate) fn copied_back(slot: &[u8]) -> Result<Option<Vec<u8>>, WireError> {
    let seen = wire::decode_observed_option(&mut &slot[..], &WIRE)?;
    // The decoder read the 4-byte header, so the flags byte is there.
    if slot[1] & fwd_flags::RESPONSE_COPY == 0 {
        return Ok(None);
    }
    let mut b = Vec::with_capacity(slot.len());
    wire::encode_observed_option(&seen, Direction::Response, &WIRE, &mut b)?;
    Ok(Some(b))
}

/// The observed-address extension of an iterative response.
pub(crate) fn extension(seen: &TransportAddress) -> Result<Vec<u8>, WireError> {
    let mut b = Vec::with_capacity(wire::observed_extension_len(seen));
    wire::encode_observed_extension(seen, &WIRE, &mut b)?;
    Ok(b)
}

/// Whether `ext`, one MessageExtension, is of the observed-address type
/// (its first two bytes, RFC 6940 §6.3.3), so that it is not taken for an
/// iterative answer or an advert.
pub(crate) fn is_extension(ext: &[u8]) -> bool {
    matches!(ext, [hi, lo, ..] if u16::from_be_bytes([*hi, *lo]) == WIRE.observed_extension_type)
}

/// The address the peer that sent response `f` saw the request come from:
/// from the observed slot (recursive mode), else from an observed-address
/// extension (iterative mode). `Ok(None)`: neither is there.
pub(crate) fn in_response(f: &Frame) -> Result<Option<TransportAddress>, WireError> {
    if let Some(slot) = &f.observed {
        return wire::decode_observed_option(&mut &slot[..], &WIRE).map(Some);
    }
    match f.extensions.iter().find(|e| is_extension(e)) {
        Some(ext) => wire::decode_observed_extension(&mut &ext[..], &WIRE).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::{Body, Code};
    use stun_turn_discovery::bytes::BytesMut;
    use stun_turn_discovery::wire::AnswerInfo;
    use stun_turn_discovery::{CandidateSet, Filter, PiggybackOption, UniquenessKey, N};

    fn seen() -> TransportAddress {
        TransportAddress::udp("172.31.0.1:6084".parse().unwrap())
    }

    /// A request through the framing and back: what the first hop puts in,
    /// the responder copies and the node reads, byte for byte.
    #[test]
    fn recursive_slot_goes_there_and_back() {
        let option = request_option(&seen()).unwrap();
        assert_eq!(
            option,
            [
                WIRE.observed_option_type,
                fwd_flags::RESPONSE_COPY,
                0,
                10,   // length
                0x21, // format: observed address, version 1
                1,    // UDP
                1,
                6,
                172,
                31,
                0,
                1, // IPv4 172.31.0.1
                0x17,
                0xc4, // port 6084
            ]
        );
        let mut request = Frame::request(Code::Join, 1, 2, 3);
        request.route.push("172.31.0.1:6084".parse().unwrap());
        request.observed = Some(option);
        let request = Frame::decode(&request.encode().unwrap()).unwrap();

        let mut response = request.response(4, &Body::Empty);
        response.observed = copied_back(request.observed.as_deref().unwrap()).unwrap();
        let copy = response.observed.as_deref().unwrap();
        assert_eq!(copy[1], 0, "flags cleared in a response");
        assert_eq!(copy[2..], request.observed.as_deref().unwrap()[2..]);
        let response = Frame::decode(&response.encode().unwrap()).unwrap();
        assert_eq!(in_response(&response), Ok(Some(seen())));
    }

    #[test]
    fn copied_only_when_asked_and_well_formed() {
        let mut option = request_option(&seen()).unwrap();
        option[1] = 0;
        assert_eq!(copied_back(&option), Ok(None));
        let option = request_option(&seen()).unwrap();
        assert!(matches!(
            copied_back(&option[..option.len() - 1]),
            Err(WireError::Truncated { .. })
        ));
        assert!(copied_back(&[]).is_err());
        let mut wrong = option.clone();
        wrong[0] = WIRE.option_type;
        assert!(matches!(
            copied_back(&wrong),
            Err(WireError::WrongType { .. })
        ));
    }

    #[test]
    fn iterative_extension_is_found_next_to_the_answer() {
        let mut answer = Vec::new();
        wire::encode_answer(
            &CandidateSet::new(UniquenessKey::IpPort),
            AnswerInfo {
                hop: 1,
                n: N::DEFAULT,
            },
            &WIRE,
            &mut answer,
        )
        .unwrap();
        let ext = extension(&seen()).unwrap();
        assert!(is_extension(&ext));
        assert!(!is_extension(&answer));
        assert!(!is_extension(&[]));
        assert!(!is_extension(&[0]));

        let mut response = Frame::request(Code::Get, 1, 2, 3).response(4, &Body::NotFound);
        response.extensions = vec![answer, ext];
        let mut response = Frame::decode(&response.encode().unwrap()).unwrap();
        assert_eq!(in_response(&response), Ok(Some(seen())));

        // An IPv6 observer's view, and a response with nothing observed.
        let v6 = TransportAddress::udp("[2001:db8::7]:40001".parse().unwrap());
        response.extensions = vec![extension(&v6).unwrap()];
        assert_eq!(in_response(&response), Ok(Some(v6)));
        response.extensions.clear();
        assert_eq!(in_response(&response), Ok(None));
    }

    #[test]
    fn malformed_observations_are_errors() {
        let mut response = Frame::request(Code::Get, 1, 2, 3).response(4, &Body::NotFound);
        let mut ext = extension(&seen()).unwrap();
        ext.pop();
        response.extensions = vec![ext];
        assert!(matches!(
            in_response(&response),
            Err(WireError::Truncated { .. })
        ));
        let mut slot = request_option(&seen()).unwrap();
        slot[4] = 0x31; // another format
        response.observed = Some(slot);
        assert_eq!(in_response(&response), Err(WireError::UnknownVersion(0x31)));
        // The piggyback option in the observed slot is not an observation.
        let mut option = BytesMut::new();
        wire::encode_option(
            &PiggybackOption::recursive(None, Filter::ANY, UniquenessKey::IpPort),
            Direction::Request,
            &WIRE,
            &mut option,
        )
        .unwrap();
        response.observed = Some(option.to_vec());
        assert!(matches!(
            in_response(&response),
            Err(WireError::WrongType { .. })
        ));
    }
}
