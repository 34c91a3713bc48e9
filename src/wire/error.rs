//! Everything the decoder and encoder refuse, one variant per fault.

use thiserror::Error;

use crate::n::{InvalidN, N};

/// A wire-format fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// The input ends inside `what`.
    #[error("input ends inside the {what}")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// Bytes follow the last field.
    #[error("{count} byte(s) after the end of the {what}")]
    TrailingBytes {
        /// What ended.
        what: &'static str,
        /// How many bytes follow.
        count: usize,
    },
    /// The option or extension type is not the configured code point.
    #[error("type {found} is not the configured code point {expected}")]
    WrongType {
        /// Configured code point.
        expected: u16,
        /// Code point found.
        found: u16,
    },
    /// A value version this crate does not speak; the whole value is
    /// rejected (a forwarding peer then forwards the option untouched, as
    /// RFC 6940 §6.3.2.3 has it for options it does not understand).
    #[error("unknown version {0}")]
    UnknownVersion(u8),
    /// An observed address of an address type other than IPv4 (1) or IPv6
    /// (2).
    #[error("unknown address type {0}")]
    UnknownAddressType(u8),
    /// The value's mode is not the one this call handles.
    #[error("expected a {expected} value")]
    WrongMode {
        /// What was expected.
        expected: &'static str,
    },
    /// The reserved uniqueness-key code 3.
    #[error("unknown uniqueness key code {0}")]
    UnknownKey(u8),
    /// The reserved address-family code 3.
    #[error("unknown address family code {0}")]
    UnknownFamily(u8),
    /// An N above [`N::MAX`] (0 means "not set" on the wire).
    #[error(transparent)]
    InvalidN(#[from] InvalidN),
    /// K above N (or above [`N::MAX`] when N is not set).
    #[error("K = {k} is above N = {n}")]
    KAboveN {
        /// K found.
        k: u8,
        /// N (or [`N::MAX`]).
        n: N,
    },
    /// The value ends after fewer entries than K announces.
    #[error("K = {k} but the value holds {found} entries")]
    KMismatch {
        /// K announced.
        k: u8,
        /// Entries found.
        found: u8,
    },
    /// Two entries with the same uniqueness key.
    #[error("entry {index} duplicates the key of an earlier entry")]
    DuplicateKey {
        /// Position of the second entry.
        index: u8,
    },
    /// An entry's length is shorter than the fields it declares.
    #[error("entry {index} declares {declared} bytes but its fields need more")]
    EntryLength {
        /// Position of the entry.
        index: u8,
        /// Length declared.
        declared: u8,
    },
    /// An IPv4 or IPv6 IpAddressPort with the wrong length.
    #[error("address type {kind} with length {len}")]
    BadAddressLength {
        /// Address type.
        kind: u8,
        /// Length found.
        len: u8,
    },
    /// A transport code other than 1 to 4.
    #[error("unknown transport code {0}")]
    UnknownTransport(u8),
    /// A role code other than 1 or 2.
    #[error("unknown role code {0}")]
    UnknownRole(u8),
    /// A node id longer than [`NodeId::MAX_LEN`](crate::NodeId::MAX_LEN).
    #[error("node id of {0} bytes is too long")]
    NodeIdTooLong(u8),
    /// A message that does not start with RELOAD's token 0xd2454c4f.
    #[error("not a RELOAD message (no relo_token)")]
    NotReload,
    /// A RELOAD message whose length field is not the bytes given.
    #[error("RELOAD message length field says {declared} bytes, {actual} given")]
    MessageLength {
        /// The length field.
        declared: u32,
        /// The bytes given.
        actual: usize,
    },
    /// Appending would overflow a length field of `what`.
    #[error("the {what} would grow past what its length field can hold")]
    TooLong {
        /// What would overflow.
        what: &'static str,
    },
    /// The caller's buffer has no room for the encoding.
    #[error("buffer has room for {available} bytes, {needed} needed")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The decoded advertisement breaks an invariant of
    /// [`Advertisement`](crate::Advertisement).
    #[error(transparent)]
    Advert(#[from] crate::advert::AdvertError),
    /// The decoded option breaks an invariant of
    /// [`PiggybackOption`](crate::option::PiggybackOption).
    #[error(transparent)]
    Option(#[from] crate::option::OptionError),
}
