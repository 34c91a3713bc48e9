//! A real UDP overlay host for stun-turn-discovery: each peer is its own
//! process with a UDP socket on a Chord-like ring; a sending node (NATed,
//! in the end-to-end run) discovers STUN/TURN servers through it with the
//! piggyback option, then uses them with a real STUN client (`stun-types`)
//! and a real TURN client (`turn-client-proto`). The command line and
//! stdout are fixed by notes/udp_contract.md, for scripts/e2e-nat.sh.
//!
//! One concept per file:
//! - `cli`: the command line (`peer`, `node`, `attack`);
//! - `config`: how the host configures the crate (code points, address
//!   policy, uniqueness key, per-source limit, ids, message kinds);
//! - `framing`: the example's datagram framing around the crate's
//!   encodings, with its unit tests;
//! - `observed`: where the observed address goes in that framing (a peer
//!   sends it back, the node reads it);
//! - `ring`: the ring as one peer sees it (routing state, next hop);
//! - `peer`: a ring peer: routing, maintenance with willingness adverts,
//!   and the crate at every hop;
//! - `node`: the sending node's phases and the `e2e:` line;
//! - `stun`, `turn`: the Binding and the allocation;
//! - `attack`: bad input for one peer;
//! - `signals`: the stop on SIGTERM/SIGINT.
//!
//! # A loopback run by hand
//!
//! Two coturn servers on 127.0.0.1 (see ../shared/NOTES.md for the
//! flags), five peers of which two are willing (each pointing at its own
//! coturn), the node on 127.0.0.1 (so `nated=false` and the reflexive
//! address is the node's own `127.0.0.1:5000`; every peer is at one IP
//! address, one observer, so the mapping stays `unknown` and the node
//! relies on its TURN relay), the first coturn stopped
//! at `waiting`, the attack on peer 4001 at `attack-window`, then a clean
//! stop. Stop each process by the pid you started, never by name.
//!
//! ```sh
//! cargo build --release --example udp_overlay
//! B=$PWD/target/release/examples/udp_overlay
//! mkdir -p /tmp/uo && cd /tmp/uo
//! # Two coturn servers on 127.0.0.1 (user test:secret, realm lab).
//! for i in 1 2; do
//!   turnserver --lt-cred-mech --user test:secret --realm lab --no-tls --no-dtls --no-cli \
//!     --listening-ip 127.0.0.1 --listening-port 34${i}1 --relay-ip 127.0.0.1 \
//!     --min-port 4${i}000 --max-port 4${i}099 --allow-loopback-peers \
//!     --no-stdout-log --log-file turn$i.log --simple-log > /dev/null &
//!   echo $! > turn$i.pid
//! done
//! # Five ring peers; 4002 and 4004 are willing, each advertising its own coturn.
//! $B peer --bind 127.0.0.1:4001 > p1.out 2> p1.err & echo $! > p1.pid
//! sleep 0.3
//! $B peer --bind 127.0.0.1:4002 --bootstrap 127.0.0.1:4001 --willing --stun-server 127.0.0.1:3411 --turn > p2.out 2> p2.err & echo $! > p2.pid
//! $B peer --bind 127.0.0.1:4003 --bootstrap 127.0.0.1:4001 > p3.out 2> p3.err & echo $! > p3.pid
//! $B peer --bind 127.0.0.1:4004 --bootstrap 127.0.0.1:4001 --willing --stun-server 127.0.0.1:3421 --turn > p4.out 2> p4.err & echo $! > p4.pid
//! $B peer --bind 127.0.0.1:4005 --bootstrap 127.0.0.1:4001 > p5.out 2> p5.err & echo $! > p5.pid
//! sleep 4
//! # The node; at `waiting` stop the first coturn, at `attack-window` attack peer 4001.
//! $B node --bind 127.0.0.1:5000 --bootstrap 127.0.0.1:4001 --turn-user test:secret --realm lab 2> node.err |
//!   while read -r line; do
//!     echo "$line"
//!     case $line in
//!       waiting) kill "$(cat turn1.pid)" ;;
//!       attack-window)
//!         grep VmRSS /proc/"$(cat p1.pid)"/status
//!         $B attack --target 127.0.0.1:4001 2> attack.err
//!         grep VmRSS /proc/"$(cat p1.pid)"/status ;;
//!     esac
//!   done
//! # A clean stop: every peer prints `peer <id> stopped` and exits 0.
//! kill $(cat p1.pid p2.pid p3.pid p4.pid p5.pid) "$(cat turn2.pid)"
//! sleep 0.5; cat p*.out
//! ```
//!
//! Its output (coturn also says `socket: Protocol not supported` a few
//! times on stderr, for the transports it cannot open here):
//!
//! ```text
//! discovered 127.0.0.1:3411
//! discovered 127.0.0.1:3421
//! waiting
//! attack-window
//! VmRSS:        3404 kB
//! garbage: sent 22 datagrams to 127.0.0.1:4001 (16 of random bytes; frames with a bad magic, a bad version, an unknown code, cut in half, with trailing bytes; a lone byte)
//! truncated-option: sent 1 GET whose 10-byte option is cut to 8 bytes; answered without an option
//! n-255: sent 1 GET whose option says N = 255; answered without an option
//! k-mismatch: sent 1 GET whose option says K = 3 but holds no entry; answered without an option
//! flood: sent 10000 valid GET requests with the recursive option from one socket (port 54397) in 432.62ms; 10000 answered, 185 of them with candidates (each peer on the path adds candidates for one source 50 times at once, then 20 a second)
//! VmRSS:        3468 kB
//! e2e: discovered=2 stun_ok=2 reflexive=127.0.0.1:5000 nated=false mapping=unknown observers=0 turn_relay=127.0.0.1:42075 relied_on=turn iterative_discovered=2 dead_dropped=true garbage_survived=true
//! ready 127.0.0.1:4001
//! peer 4254805881810021208 stopped
//! ready 127.0.0.1:4002
//! peer 12649185167721742154 stopped
//! ...
//! ```
//!
//! `node.err` has the phases (`phase: join` … `phase: after-attack`), each
//! hop's report and the crate's events; `p1.err` has one `WARN` per bad
//! input with its typed error, e.g. `malformed piggyback option: forwarded
//! untouched … error_kind=InvalidN(InvalidN(255))`, `… KMismatch { k: 3,
//! found: 0 }`, `… Truncated { what: "option value" }`, and `malformed
//! frame dropped … error_kind=BadMagic(…)`; its last record, `peer
//! stopping`, has the peer's `PeerStats` (`limited` counts the flood's
//! requests that got nothing added).

mod attack;
mod cli;
mod config;
mod framing;
mod node;
mod observed;
mod peer;
mod ring;
mod signals;
mod stun;
mod turn;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use stun_turn_discovery::Services;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Every event at the level asked for (the crate's included), except
    // that the STUN/TURN libraries' info events (one per poll) show only
    // from debug on.
    let level = cli.command.log();
    let quieter = if level == Level::INFO {
        Level::WARN
    } else {
        level
    };
    let filter = Targets::new()
        .with_default(level)
        .with_target("turn_client_proto", quieter)
        .with_target("stun_proto", quieter)
        .with_target("turn_types", quieter)
        .with_target("stun_types", quieter);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .init();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = %e, "failed");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let stop = signals::stop_flag()?;
    match command {
        Command::Peer {
            bind,
            bootstrap,
            id,
            willing,
            stun_server,
            turn,
            ..
        } => {
            let services = if turn { Services::BOTH } else { Services::STUN };
            let server = stun_server.filter(|_| willing).map(|s| (s, services));
            let opts = peer::PeerOptions {
                bind,
                bootstrap,
                id: id.unwrap_or_else(|| config::id_of(&bind)),
                server,
            };
            let mut peer = peer::Peer::new(opts)?;
            peer.run(&stop)?;
            println!("peer {} stopped", peer.id());
            Ok(ExitCode::SUCCESS)
        }
        Command::Node {
            bind,
            bootstrap,
            turn_user: (user, pass),
            realm,
            rounds_gap,
            ..
        } => {
            let opts = node::NodeOptions {
                bind,
                bootstrap,
                user,
                pass,
                realm,
                gap: Duration::from_secs(rounds_gap),
            };
            let summary = node::run(opts, &stop)?;
            println!("{}", summary.line());
            Ok(if summary.all_worked() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Attack { target, flood, .. } => {
            attack::run(target, flood)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
