//! Conformance of the crate to draft-jiang-p2psip-stun-turn-discovery-00,
//! sentence by sentence: one test per numbered step and per MUST/SHOULD
//! sentence (and per definition) of §§2, 3.3.1, 3.3.2, 4.1, 4.2, 5.1, 5.2,
//! 6.1 and 6.2, one module per section. Each test is named after its section
//! and carries, right above it, the sentence of the draft it checks, quoted
//! verbatim.
//!
//! `PeerConfig::draft_literal()` is used where the draft's literal behaviour
//! is meant (one hop may fill the whole set, candidates taken by priority);
//! the default configurations where the crate's security defaults are shown.
//! Every address is a documentation address (RFC 5737, RFC 3849).

mod common;

mod s2_definitions;
mod s3_3_1_candidate_table;
mod s3_3_2_discovery_procedure;
mod s4_1_joining_peer;
mod s4_2_intermediate_peer_fetch_and_stop;
mod s4_2_intermediate_peer_n_and_k;
mod s5_maintenance;
mod s6_get_put;
