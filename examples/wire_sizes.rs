//! Prints WIRE.md's table of encoded sizes: `cargo run --example wire_sizes`;
//! with `-- --write` it replaces the table in WIRE.md.
//! `tests/wire_vectors.rs` checks that WIRE.md holds exactly this output.

use stun_turn_discovery::wire::{self, AnswerInfo};
use stun_turn_discovery::{
    Candidate, CandidateSet, Filter, KnownKeys, NodeConfig, NodeId, PerformanceHints,
    PiggybackOption, RoutingMode, Services, SetEntry, TransportAddress, UniquenessKey, N,
};

/// RELOAD's default maximum message size (RFC 6940 §11.1).
const RELOAD_MAX_MESSAGE: usize = 5000;

/// A set of `n` candidates, IPv6 or IPv4, with hints and a node id of
/// `id_len` bytes when `rich`.
fn set(n: u8, v6: bool, rich: Option<usize>) -> CandidateSet {
    CandidateSet::from_entries(
        UniquenessKey::Ip,
        (0..n).map(|i| {
            let ip = if v6 {
                format!("2001:db8::{:x}", u16::from(i) + 1)
            } else {
                format!("192.0.2.{}", u16::from(i) + 1)
            };
            let mut c = Candidate::peer(
                TransportAddress::udp(std::net::SocketAddr::new(ip.parse().unwrap(), 3478)),
                Services::BOTH,
            )
            .with_priority(300);
            if let Some(id_len) = rich {
                c = c
                    .with_hints(PerformanceHints {
                        capacity: 100,
                        bandwidth_kbps: 10_000,
                        load_percent: 10,
                    })
                    .with_node_id(NodeId::new(&vec![0xab; id_len]).unwrap());
            }
            SetEntry {
                candidate: c,
                hop: 1 + i % 5,
            }
        }),
    )
    .unwrap()
}

/// The markdown table.
pub(crate) fn table() -> String {
    let cases: [(&str, u8, bool, Option<usize>); 6] = [
        ("N = 10, IPv4", 10, false, None),
        ("N = 10, IPv6", 10, true, None),
        ("N = 10, IPv6, hints, 16-byte node id", 10, true, Some(16)),
        ("N = 64, IPv4", 64, false, None),
        ("N = 64, IPv6", 64, true, None),
        (
            "N = 64, IPv6, hints, 32-byte node id (largest possible)",
            64,
            true,
            Some(32),
        ),
    ];
    let mut out = String::from(
        "| set | request option (bytes) | iterative answer (bytes) | share of 5000 bytes |\n|---|---:|---:|---:|\n",
    );
    for (name, n, v6, rich) in cases {
        let s = set(n, v6, rich);
        let n = N::new(n).unwrap();
        let option =
            PiggybackOption::from_parts(RoutingMode::Recursive, Some(n), Filter::ANY, 6, s.clone())
                .unwrap();
        let opt_len = wire::option_len(&option);
        let ans_len = wire::answer_len(&s);
        let mut check = Vec::new();
        wire::encode_answer(
            &s,
            AnswerInfo { hop: 1, n },
            &Default::default(),
            &mut check,
        )
        .unwrap();
        assert_eq!(check.len(), ans_len);
        out.push_str(&format!(
            "| {name} | {opt_len} | {ans_len} | {:.1} % |\n",
            opt_len as f64 * 100.0 / RELOAD_MAX_MESSAGE as f64
        ));
    }
    // The known list: bytes it adds to an option, against the smallest
    // entry a hop would otherwise send again.
    let bare = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip);
    let smallest = wire::option_len(
        &PiggybackOption::from_parts(
            RoutingMode::Recursive,
            Some(N::DEFAULT),
            Filter::ANY,
            2,
            CandidateSet::from_entries(
                UniquenessKey::Ip,
                [SetEntry {
                    candidate: Candidate::peer(
                        TransportAddress::udp("192.0.2.1:3478".parse().unwrap()),
                        Services::BOTH,
                    ),
                    hop: 1,
                }],
            )
            .unwrap(),
        )
        .unwrap(),
    ) - wire::option_len(&bare);
    out.push_str(
        "\n| known list naming | bytes added to the option | entries it must save to pay for itself |\n|---|---:|---:|\n",
    );
    let default_hint = usize::from(NodeConfig::default().known_hint());
    for (label, count) in [
        ("10 candidates", 10),
        ("16 candidates (the default hint)", default_hint),
        ("64 candidates (the most)", KnownKeys::MAX),
    ] {
        let addresses: Vec<TransportAddress> = (0..count)
            .map(|i| TransportAddress::udp(format!("192.0.2.{}:3478", i + 1).parse().unwrap()))
            .collect();
        let with = PiggybackOption::recursive(Some(N::DEFAULT), Filter::ANY, UniquenessKey::Ip)
            .with_known(KnownKeys::of(UniquenessKey::Ip, &addresses));
        let added = wire::option_len(&with) - wire::option_len(&bare);
        out.push_str(&format!(
            "| {label} | {added} | {} |\n",
            added.div_ceil(smallest)
        ));
    }
    out.push_str(&format!(
        "\nThe smallest entry (IPv4, no priority, hints or node id) is {smallest} bytes.\n"
    ));
    // The observed address: what a first hop adds to a recursive-mode
    // request (copied into the response), and what each hop adds to its
    // iterative-mode response.
    out.push_str(
        "\n| observed address | recursive: option on the request and its copy in the response (bytes, each) | iterative: extension in each hop's response (bytes) |\n|---|---:|---:|\n",
    );
    for (label, a) in [("IPv4", "192.0.2.1:40001"), ("IPv6", "[2001:db8::1]:40001")] {
        let a = TransportAddress::udp(a.parse().unwrap());
        out.push_str(&format!(
            "| {label} | {} | {} |\n",
            wire::observed_option_len(&a),
            wire::observed_extension_len(&a)
        ));
    }
    out
}

/// Markers around the table in WIRE.md.
pub(crate) const BEGIN: &str = "<!-- wire_sizes:begin -->\n";
/// End marker.
pub(crate) const END: &str = "<!-- wire_sizes:end -->";

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    let table = table();
    print!("{table}");
    if std::env::args().any(|a| a == "--write") {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/WIRE.md");
        let md = std::fs::read_to_string(path)?;
        let (Some(start), Some(stop)) = (md.find(BEGIN), md.find(END)) else {
            return Err(std::io::Error::other("WIRE.md has no wire_sizes markers"));
        };
        let updated = format!("{}{BEGIN}{table}{}", &md[..start], &md[stop..]);
        std::fs::write(path, updated)?;
        eprintln!("wrote the table into {path}");
    }
    Ok(())
}
