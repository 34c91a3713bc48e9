//! Five intermediate peers on a path. A NATed node joins with the piggyback
//! option in recursive mode (§4), then sends a GET in iterative mode (§6),
//! and prints which STUN/TURN candidates it learned and from which hop.
//!
//! Run with `cargo run --example quickstart`.

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::{
    AddressPolicy, Candidate, Feedback, IntermediatePeer, MessageKind, NatStatus, NodeConfig,
    Outcome, PeerConfig, PerformanceHints, Role, SendingNode, Services, Source, TransportAddress,
    N,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Documentation addresses (RFC 5737) stand in for public ones here, so
    // both roles allow them on top of the default (public Internet only).
    let policy = AddressPolicy::default().with_documentation(true);
    let peer_config = PeerConfig::default().with_address_policy(policy);
    // The NATed node wants 12 candidates.
    let node_config = NodeConfig::default()
        .with_wanted(N::new(12)?)
        .with_address_policy(policy);
    println!(
        "intermediate peers: default N = {}, per-hop share {} (at most {} of the node's N = {} per hop), {} selection",
        peer_config.default_n(),
        peer_config.per_hop_share(),
        peer_config.per_hop_share().cap(node_config.wanted()),
        node_config.wanted(),
        peer_config.selection(),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(2007);
    let now = Instant::now();

    // Five peers, each with its own view of willing nodes (§3.3.1). Peer 3
    // knows none: its table is empty, as §2 allows.
    let willing: [&[&str]; 5] = [
        &["192.0.2.10:3478", "192.0.2.11:3478"],
        &[
            "198.51.100.20:3478",
            "192.0.2.10:3478",
            "198.51.100.21:5349",
        ],
        &[],
        &[
            "203.0.113.40:3478",
            "203.0.113.41:3478",
            "203.0.113.42:3478",
        ],
        &["203.0.113.50:3478"],
    ];
    let mut path: Vec<IntermediatePeer> = Vec::new();
    for (i, addrs) in willing.iter().enumerate() {
        let mut peer = IntermediatePeer::new(peer_config);
        let routing = addrs.iter().map(|a| {
            let hints = PerformanceHints {
                capacity: 100,
                bandwidth_kbps: 10_000,
                load_percent: (i as u8) * 10,
            };
            Candidate::peer(TransportAddress::udp(a.parse().unwrap()), Services::BOTH)
                .with_hints(hints)
        });
        let report = peer
            .table_mut()
            .sync_source(now, Source::RoutingTable, routing);
        // Peer 5 also serves STUN itself (§3.3.1 item 2) and has a willing
        // client (item 3).
        if i == 4 {
            let own = Candidate::peer(
                TransportAddress::udp("203.0.113.5:3478".parse()?),
                Services::STUN,
            );
            let _ = peer.table_mut().set_local_peer(now, [own]);
            let client = Candidate::client(
                TransportAddress::udp("192.0.2.99:3478".parse()?),
                Services::TURN,
            );
            let _ = peer.table_mut().upsert(now, Source::Client, client)?;
        }
        println!(
            "peer {}: {} candidate(s) in its table ({} from routing state)",
            i + 1,
            peer.table().len(),
            report.added
        );
        path.push(peer);
    }

    // The joining node learns it is behind NAT (§4.1): its STUN Binding
    // came back with an address that is not its own.
    let nat = NatStatus::detect(["10.0.0.7".parse()?], 5060, "198.51.100.77:61000".parse()?);
    match nat {
        NatStatus::BehindNat { reflexive } => {
            println!("\njoining node: behind NAT (the STUN server saw it as {reflexive})");
        }
        NatStatus::Public => println!("\njoining node: not behind NAT"),
    }
    let mut node = SendingNode::new(node_config);

    // JOIN, recursive routing: the set rides in the request (§4.1, §4.2).
    let mut option = node.recursive_option();
    let n = option
        .n()
        .map_or_else(|| "unset".to_owned(), |n| n.to_string());
    println!("\nJOIN (recursive), N = {n}");
    for peer in &mut path {
        let outcome = peer.on_request(now, MessageKind::Join, None, &mut option, &mut rng);
        println!("  {}", outcome.report());
    }
    // The response comes back hop by hop, untouched (§4.2 step 1).
    for peer in path.iter_mut().rev() {
        peer.on_response(MessageKind::Join);
    }
    let saved = node.on_response(now, MessageKind::Join, &option)?;
    println!("  node: {saved}");

    // Meanwhile peer 3 learns two willing peers for its routing table.
    let learned = ["198.51.100.30:3478", "198.51.100.31:3478"]
        .map(|a| Candidate::peer(TransportAddress::udp(a.parse().unwrap()), Services::TURN));
    let _ = path[2]
        .table_mut()
        .sync_source(now, Source::RoutingTable, learned);

    // GET, iterative routing: the node asks each hop itself and every hop
    // answers at once (§6.1, §3.3.2).
    println!("\nGET (iterative)");
    for (i, peer) in path.iter_mut().enumerate() {
        if node.shortfall(now) == 0 {
            break;
        }
        let hop = i as u8 + 1;
        let mut option = node.iterative_option(hop);
        if let Outcome::Answer(answer, report) =
            peer.on_request(now, MessageKind::Get, None, &mut option, &mut rng)
        {
            let saved = node.on_answer(now, MessageKind::Get, hop, &answer)?;
            println!("  {report}");
            println!("    node: {saved}");
        }
    }

    println!("\nlearned candidates, best first:");
    for c in node.best(now, usize::MAX) {
        let role = match c.candidate().role {
            Role::Peer => "peer",
            Role::Client => "client",
        };
        let reserve = if c.is_reserve() { " (reserve)" } else { "" };
        println!(
            "  {:<26} {:<6} {:<9} priority {:>3} from hop {}{reserve}",
            c.candidate().address.to_string(),
            role,
            c.candidate().services.to_string(),
            c.candidate().priority.unwrap_or(0),
            c.hop()
        );
    }

    // Using the candidates: report how they went; the ranking follows.
    let best = node.best(now, 2);
    let (first, second) = (best[0].candidate().address, best[1].candidate().address);
    let _ = node.feedback(now, &first, Feedback::Failed);
    let _ = node.feedback(
        now,
        &second,
        Feedback::Worked {
            rtt: Duration::from_millis(23),
        },
    );
    let top = node.best(now, 1)[0].candidate().address;
    println!("\nafter feedback ({first} failed, {second} worked): best is {top}");
    Ok(())
}
