//! The command line (clap), as notes/udp_contract.md fixes it: `peer`,
//! `node` and `attack`.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

/// A UDP overlay that discovers STUN/TURN servers with stun-turn-discovery.
#[derive(Debug, Parser)]
#[command(name = "udp_overlay")]
pub(crate) struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The three roles.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// A ring peer. Prints `ready <bind>` once bound (and joined), and
    /// `peer <id> stopped` on SIGTERM/SIGINT.
    Peer {
        /// The overlay address to bind.
        #[arg(long)]
        bind: SocketAddr,
        /// A ring peer to join through (none: the first peer).
        #[arg(long)]
        bootstrap: Option<SocketAddr>,
        /// Ring id (default: a hash of --bind).
        #[arg(long)]
        id: Option<u64>,
        /// Advertise the STUN server at --stun-server.
        #[arg(long, requires = "stun_server")]
        willing: bool,
        /// Where this peer's STUN/TURN server (a coturn it does not start) listens.
        #[arg(long, requires = "willing")]
        stun_server: Option<SocketAddr>,
        /// The server also relays (TURN).
        #[arg(long, requires = "willing")]
        turn: bool,
        /// Log level (error, warn, info, debug, trace).
        #[arg(long, default_value = "info")]
        log: tracing::Level,
    },
    /// The sending node: discovers candidates through the ring and uses them.
    Node {
        /// The node's address to bind.
        #[arg(long)]
        bind: SocketAddr,
        /// A ring peer to send requests through.
        #[arg(long)]
        bootstrap: SocketAddr,
        /// TURN long-term credentials, NAME:PASS.
        #[arg(long, value_parser = credentials)]
        turn_user: (String, String),
        /// The TURN realm.
        #[arg(long)]
        realm: String,
        /// Seconds to wait at `waiting` and at `attack-window`.
        #[arg(long, default_value_t = 5)]
        rounds_gap: u64,
        /// Log level (error, warn, info, debug, trace).
        #[arg(long, default_value = "info")]
        log: tracing::Level,
    },
    /// Bad input for one peer: garbage, a truncated option, N = 255, a K
    /// mismatch, then a flood of valid requests from one source.
    Attack {
        /// The peer to attack.
        #[arg(long)]
        target: SocketAddr,
        /// Valid requests in the flood.
        #[arg(long, default_value_t = 10_000)]
        flood: u32,
        /// Log level (error, warn, info, debug, trace).
        #[arg(long, default_value = "info")]
        log: tracing::Level,
    },
}

impl Command {
    /// The log level asked for.
    pub(crate) fn log(&self) -> tracing::Level {
        match self {
            Self::Peer { log, .. } | Self::Node { log, .. } | Self::Attack { log, .. } => *log,
        }
    }
}

fn credentials(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((user, pass)) if !user.is_empty() => Ok((user.to_string(), pass.to_string())),
        _ => Err("expected NAME:PASS".to_string()),
    }
}
