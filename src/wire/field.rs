//! Every byte position and code of the wire format in one place; WIRE.md
//! documents the same layout byte by byte.

/// RFC 6940 §6.3.2.3 ForwardingOption flags.
pub mod fwd_flags {
    /// FORWARD_CRITICAL: a forwarding peer that does not understand the
    /// option must reject the message. Never set by this crate.
    pub const FORWARD_CRITICAL: u8 = 0x01;
    /// DESTINATION_CRITICAL. Never set by this crate.
    pub const DESTINATION_CRITICAL: u8 = 0x02;
    /// RESPONSE_COPY: "any node generating a response MUST copy the option
    /// into the response" with the flags cleared. Set on every request.
    pub const RESPONSE_COPY: u8 = 0x04;
}

/// ForwardingOption header: `type u8` at 0, `flags u8` at 1, `length u16` at 2.
pub(crate) mod fwd {
    use core::ops::Range;
    pub(crate) const TYPE: usize = 0;
    pub(crate) const FLAGS: usize = 1;
    pub(crate) const LENGTH: Range<usize> = 2..4;
    pub(crate) const HEADER_LEN: usize = 4;
}

/// RFC 6940 §6.3.2 ForwardingHeader: `relo_token u32` at 0, `overlay u32`,
/// `configuration_sequence u16`, `version u8`, `ttl u8`, `fragment u32`,
/// `length u32` at 16, `transaction_id u64`, `max_response_length u32`,
/// `via_list_length u16` at 32, `destination_list_length u16` at 34,
/// `options_length u16` at 36; then the via list, the destination list and
/// the options.
pub(crate) mod reload {
    use core::ops::Range;
    pub(crate) const TOKEN: Range<usize> = 0..4;
    pub(crate) const RELO_TOKEN: u32 = 0xd245_4c4f;
    pub(crate) const LENGTH: Range<usize> = 16..20;
    pub(crate) const VIA_LIST_LENGTH: Range<usize> = 32..34;
    pub(crate) const DESTINATION_LIST_LENGTH: Range<usize> = 34..36;
    pub(crate) const OPTIONS_LENGTH: Range<usize> = 36..38;
    pub(crate) const HEADER_LEN: usize = 38;
}

/// MessageExtension header: `type u16, critical u8, length u32`.
pub(crate) mod ext {
    pub(crate) const HEADER_LEN: usize = 7;
}

/// The value shared by the option and the answer: `version` at 0, `flags`
/// at 1, `N` at 2, `filter` at 3, `hop` at 4, `K` at 5, entries from 6.
pub(crate) mod value {
    pub(crate) const FLAGS: usize = 1;
    pub(crate) const N: usize = 2;
    pub(crate) const FILTER: usize = 3;
    pub(crate) const HOP: usize = 4;
    pub(crate) const K: usize = 5;
    pub(crate) const HEADER_LEN: usize = 6;

    /// The only version this crate speaks.
    pub(crate) const CURRENT_VERSION: u8 = 1;

    /// flags bit 0: iterative mode.
    pub(crate) const FLAG_ITERATIVE: u8 = 0x01;
    /// flags bit 3: a known list follows the header (count u8, then count
    /// 16-bit fingerprints), before the entries.
    pub(crate) const FLAG_KNOWN: u8 = 0x08;
    /// flags bits 1–2: uniqueness key.
    pub(crate) const KEY_SHIFT: u8 = 1;
    pub(crate) const KEY_MASK: u8 = 0x06;
    pub(crate) const KEY_IP: u8 = 0;
    pub(crate) const KEY_IP_PORT: u8 = 1;
    pub(crate) const KEY_PREFIX: u8 = 2;

    /// filter bits 0–1: services required; bits 2–3: address family.
    pub(crate) const FILTER_SERVICES_MASK: u8 = 0x03;
    pub(crate) const FAMILY_SHIFT: u8 = 2;
    pub(crate) const FAMILY_MASK: u8 = 0x0c;
    pub(crate) const FAMILY_ANY: u8 = 0;
    pub(crate) const FAMILY_V4: u8 = 1;
    pub(crate) const FAMILY_V6: u8 = 2;
    /// filter bits 4–6: transport, 0 = any, else the entry's transport code.
    pub(crate) const TRANSPORT_SHIFT: u8 = 4;
    pub(crate) const TRANSPORT_MASK: u8 = 0x70;
}

/// The advertisement's value: `format` at 0, `flags` at 1, `count` at 2,
/// servers from 3 in the entry layout.
/// The observed-address value (src/wire/observed.rs).
pub(crate) mod observed {
    /// High nibble 2: observed address; low nibble: version 1.
    pub(crate) const FORMAT: u8 = 0x21;
    /// Format and transport code.
    pub(crate) const HEADER_LEN: usize = 2;
    /// The header and an IPv6 IpAddressPort.
    pub(crate) const MAX_VALUE_LEN: usize = HEADER_LEN + 2 + 18;
}

pub(crate) mod advert {
    /// Format byte: high nibble 1 (advertisement), low nibble version 1. A
    /// candidate-set value starts with its version, 1 (high nibble 0).
    pub(crate) const FORMAT: u8 = 0x11;
    pub(crate) const HEADER_LEN: usize = 3;
}

/// One entry: `length u8`, then these fields.
pub(crate) mod entry {
    /// flags, services, transport, role, hop.
    pub(crate) const FIXED_LEN: usize = 5;
    pub(crate) const FLAG_PRIORITY: u8 = 0x01;
    pub(crate) const FLAG_HINTS: u8 = 0x02;
    pub(crate) const FLAG_NODE_ID: u8 = 0x04;
    pub(crate) const PRIORITY_LEN: usize = 2;
    /// capacity u16, bandwidth u32, load u8.
    pub(crate) const HINTS_LEN: usize = 7;
    /// The shortest entry on the wire, length byte included: fixed fields
    /// and an IPv4 IpAddressPort.
    pub(crate) const MIN_LEN: usize = 1 + FIXED_LEN + 8;
    /// The longest: priority, hints, a 32-byte node id and an IPv6
    /// IpAddressPort.
    pub(crate) const MAX_LEN: usize = 1 + FIXED_LEN + PRIORITY_LEN + HINTS_LEN + 1 + 32 + 20;

    pub(crate) const UDP: u8 = 1;
    pub(crate) const TCP: u8 = 2;
    pub(crate) const TLS: u8 = 3;
    pub(crate) const DTLS: u8 = 4;
    pub(crate) const PEER: u8 = 1;
    pub(crate) const CLIENT: u8 = 2;
}

/// RFC 6940 §6.3.1 IpAddressPort: `type u8, length u8, address, port u16`.
pub(crate) mod addr {
    pub(crate) const IPV4: u8 = 1;
    pub(crate) const IPV6: u8 = 2;
    pub(crate) const IPV4_LEN: u8 = 6;
    pub(crate) const IPV6_LEN: u8 = 18;
}
