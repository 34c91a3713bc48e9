//! What a run prints and writes: the CSV (one row per scenario, the columns
//! of issue 9 item 5 in that order, then a few more, then the two timing
//! columns last), and on stdout the §3.3.3 table next to the draft's
//! figures, one line per scenario, and what a built peer costs.

use std::fmt::Write as _;
use std::mem::size_of;

use stun_turn_discovery::peer::{PeerStats, TableEntry};
use stun_turn_discovery::{CandidateTable, IntermediatePeer, PeerConfig};

use crate::scenario::{Measured, Mechanism, Mode, Scenario};

/// The CSV header. The columns up to `bogus_share` are issue 9's list in
/// its order; `seconds` and `peak_rss_mb` are the only columns that change
/// from run to run (zeroed by `--no-timing`), and come last.
pub(crate) const CSV_HEADER: &str = "overlay,mechanism,mode,nodes,requests,willing,n,policy,\
per_hop_share,churn,adversaries,table_mean,hops_mean,met_mean,candidates_mean,\
candidates_p5,filled_share,empty_share,messages_to_fill_mean,extra_messages_mean,\
hottest_load_ratio,handout_max_ratio,handout_gini,alive_share,bogus_share,\
alive_share_after_feedback,routing_entries_mean,candidate_table_mean,fill_cap,\
fill_capped_share,load_mean,handout_mean,built_peers,peer_heap_bytes,peer_allocations,\
extra_hop_messages_mean,setup_messages,load_max,tries_mean,turn_density,nat_dependent,\
nat_discoveries,nat_ip_known_1,nat_ip_known_2,nat_ip_known_3,nat_mapping_known_1,\
nat_mapping_known_2,nat_mapping_known_3,nat_mapping_known_4,nat_mapping_known_5,\
nat_mapping_known_6,nat_mapping_known_final,nat_discoveries_mean,\
nat_discoveries_to_mapping_mean,nat_first_observers_mean,nat_wrong_share,observed_bytes_mean,\
observed_link_bytes_mean,stun_messages_saved_mean,seconds,peak_rss_mb";

/// One CSV row (no newline). Shares are fractions (`per_hop_share` 1 is
/// no share, the draft to the letter). A baseline's row leaves the columns
/// of piggybacking's candidate tables empty; piggybacking's leaves
/// `tries_mean` empty; only turn-density rows fill `turn_density`; the NAT
/// columns are piggybacking's.
pub(crate) fn csv_row(sc: &Scenario, m: &Measured, no_timing: bool) -> String {
    let (seconds, rss) = if no_timing {
        (0.0, 0.0)
    } else {
        (m.seconds, m.peak_rss_mb)
    };
    let tables = sc.mechanism == Mechanism::Piggyback;
    // `value` with `precision` decimals where it applies, else nothing.
    let cell = |applies: bool, value: f64, precision: usize| {
        if applies {
            format!("{value:.precision$}")
        } else {
            String::new()
        }
    };
    let density = if sc.mechanism == Mechanism::TurnDensity {
        sc.turn_density().to_string()
    } else {
        String::new()
    };
    let nat = if tables {
        let v = &m.nat;
        let mut cells = vec![sc.nat_dependent.to_string(), sc.nat_discoveries.to_string()];
        cells.extend(v.ip_known[..3].iter().map(|x| format!("{x:.4}")));
        cells.extend(v.mapping_known.iter().map(|x| format!("{x:.4}")));
        for x in [
            v.mapping_known_final,
            v.discoveries_mean,
            v.discoveries_to_mapping_mean,
            v.first_observers_mean,
            v.wrong_share,
            v.bytes_mean,
            v.link_bytes_mean,
            v.stun_messages_saved_mean,
        ] {
            cells.push(format!("{x:.4}"));
        }
        cells.join(",")
    } else {
        ",".repeat(NAT_COLUMNS - 1)
    };
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{:.4},{},{:.4},{},{:.4},{:.4},{:.4},{:.4},\
{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{},{},{},{:.4},{:.4},{:.4},{},{},{},{:.4},{},{},{},{},{},{:.3},{:.1}",
        sc.overlay,
        sc.mechanism.name(),
        sc.mode.name(),
        sc.nodes,
        sc.requests,
        sc.willing,
        sc.n,
        sc.policy.name(),
        f64::from(sc.per_hop_share.percent()) / 100.0,
        sc.churn,
        sc.adversaries,
        cell(tables, m.table_mean, 4),
        m.hops_mean,
        cell(tables, m.met_mean, 4),
        m.candidates_mean,
        m.candidates_p5,
        m.filled_share,
        m.empty_share,
        m.messages_to_fill_mean,
        m.extra_messages_mean,
        m.hottest_load_ratio,
        m.handout_max_ratio,
        m.handout_gini,
        m.alive_share,
        m.bogus_share,
        m.alive_share_after_feedback,
        cell(tables, m.routing_entries_mean, 4),
        cell(tables, m.candidate_table_mean, 4),
        sc.fill_cap,
        m.fill_capped_share,
        m.load_mean,
        m.handout_mean,
        cell(tables, m.built_peers as f64, 0),
        cell(tables, m.peer_heap_bytes, 1),
        cell(tables, m.peer_allocations, 2),
        m.extra_hop_messages_mean,
        m.setup_messages,
        m.load_max,
        cell(!tables, m.tries_mean, 4),
        density,
        nat,
        seconds,
        rss,
    )
}

/// The NAT columns, `nat_dependent` to `stun_messages_saved_mean`.
const NAT_COLUMNS: usize = 19;

/// The whole CSV: header and one row per scenario, in scenario order.
pub(crate) fn csv(rows: &[(&Scenario, &Measured)], no_timing: bool) -> String {
    let mut out = String::with_capacity(CSV_HEADER.len() + 300 * rows.len());
    out.push_str(CSV_HEADER);
    out.push('\n');
    for (sc, m) in rows {
        out.push_str(&csv_row(sc, m, no_timing));
        out.push('\n');
    }
    out
}

/// The draft's §3.3.3 figures: Pastry, b = 4, 10^6 nodes.
const DRAFT_NODES: usize = 1_000_000;
const DRAFT_ENTRIES: f64 = 75.0;
const DRAFT_HOPS: f64 = 5.0;
/// (f, candidate-table entries, candidates met) as the draft gives them.
const DRAFT_MET: [(f64, &str, &str); 2] = [(0.10, "7.5", "38"), (0.02, "1.5", "7")];

fn pct(x: f64) -> String {
    let p = x * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{p}%")
    }
}

/// The report printed on stdout: for each group of scenarios that differ
/// only in f, the §3.3.3 table (draft against measured), then one line per
/// scenario, then the memory a built peer holds.
pub(crate) fn report(rows: &[(&Scenario, &Measured)]) -> String {
    let mut out = String::new();
    let piggyback: Vec<(&Scenario, &Measured)> = rows
        .iter()
        .copied()
        .filter(|(s, _)| s.mechanism == Mechanism::Piggyback)
        .collect();
    let mut i = 0;
    while i < piggyback.len() {
        let head = piggyback[i].0;
        let mut j = i + 1;
        while j < piggyback.len() && same_group(head, piggyback[j].0) {
            j += 1;
        }
        table(&mut out, &piggyback[i..j]);
        i = j;
    }
    comparison(&mut out, rows);
    if !piggyback.is_empty() {
        memory(&mut out, &piggyback);
    }
    out
}

/// What a comparison groups by: everything but the mechanism and what only
/// piggybacking has (policy, per-hop share).
type Setting = (&'static str, Mode, usize, u64, u8, u64, u32);

fn setting(s: &Scenario) -> Setting {
    (
        s.overlay,
        s.mode,
        s.nodes,
        s.requests,
        s.n.get(),
        s.willing.to_bits(),
        s.fill_cap,
    )
}

/// Piggybacking against the baselines: for every setting a baseline ran
/// in, one line per mechanism (piggybacking's healthy rows, one per
/// per-hop share).
fn comparison(out: &mut String, rows: &[(&Scenario, &Measured)]) {
    let mut settings: Vec<Setting> = Vec::new();
    for (s, _) in rows {
        if s.mechanism != Mechanism::Piggyback && !settings.contains(&setting(s)) {
            settings.push(setting(s));
        }
    }
    if settings.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "piggybacking against the baselines: extra = requests a node's first discovery sends only \
for discovery (hops: their route lengths summed); tries = its Finds / Fetches / GETs; hottest = \
busiest peer's requests handled over the mean over all peers (its count in brackets); got = \
candidates the first discovery (piggyback: first request) brought, mean (p5); to fill = \
requests until the node held N; hand-outs = the most handed-out server over the mean (Gini); \
setup = routed requests the providers send to register, once a lifetime for the whole overlay, \
not in extra"
    );
    for key in settings {
        let group: Vec<&(&Scenario, &Measured)> = rows
            .iter()
            .filter(|(s, _)| setting(s) == key && s.churn == 0.0 && s.adversaries == 0.0)
            .collect();
        let sc = group[0].0;
        let _ = writeln!(
            out,
            "{} overlay, {} routing, {} nodes, {} sending nodes, N = {}, f = {}",
            sc.overlay,
            sc.mode.name(),
            sc.nodes,
            sc.requests,
            sc.n,
            pct(sc.willing),
        );
        let _ = writeln!(
            out,
            "  {:<26} {:>6} {:>7} {:>6} {:>22} {:>11} {:>7} {:>6} {:>8} {:>15} {:>9}",
            "mechanism",
            "extra",
            "hops",
            "tries",
            "hottest (requests)",
            "got (p5)",
            "filled",
            "empty",
            "to fill",
            "hand-outs",
            "setup"
        );
        for (s, m) in group {
            let label = match s.mechanism {
                Mechanism::Piggyback => format!("piggyback (share {})", s.per_hop_share),
                Mechanism::TurnDensity => format!("turn-density (d = {})", s.turn_density()),
                other => other.name().to_owned(),
            };
            let tries = if s.mechanism == Mechanism::Piggyback {
                "-".to_owned()
            } else {
                format!("{:.2}", m.tries_mean)
            };
            let _ = writeln!(
                out,
                "  {label:<26} {:>6.2} {:>7.1} {tries:>6} {:>22} {:>11} {:>7} {:>6} {:>8.2} {:>15} \
{:>9}",
                m.extra_messages_mean,
                m.extra_hop_messages_mean,
                format!("{:.1}× ({})", m.hottest_load_ratio, m.load_max),
                format!("{:.2} ({})", m.candidates_mean, m.candidates_p5),
                pct1(m.filled_share),
                pct1(m.empty_share),
                m.messages_to_fill_mean,
                format!("{:.1}× ({:.2})", m.handout_max_ratio, m.handout_gini),
                m.setup_messages,
            );
        }
        out.push('\n');
    }
}

fn same_group(a: &Scenario, b: &Scenario) -> bool {
    Scenario {
        willing: b.willing,
        ..a.clone()
    } == *b
}

fn table(out: &mut String, group: &[(&Scenario, &Measured)]) {
    let sc = group[0].0;
    let _ = writeln!(
        out,
        "{} overlay, {} routing, {} nodes, {} sending nodes per scenario, N = {}, per-hop share \
{}, {} selection, churn {}, adversaries {}",
        sc.overlay,
        sc.mode.name(),
        sc.nodes,
        sc.requests,
        sc.n,
        sc.per_hop_share,
        sc.policy.name(),
        pct(sc.churn),
        pct(sc.adversaries),
    );
    // §3.3.3 assumes every peer alive and honest.
    if sc.churn == 0.0 && sc.adversaries == 0.0 {
        draft_table(out, group);
    }
    let _ = writeln!(
        out,
        "  per scenario: met = unique willing candidates in the path's tables; got = candidates \
the first response brought (mean, 5th percentile); filled = share holding N after it; load and \
hand-out ratios are max over mean (mean per peer / per willing server in brackets)"
    );
    for (s, m) in group {
        let _ = writeln!(
            out,
            "  f = {:>5}: met {:>5.1}, got {:>5.2} (p5 {:>2}), filled {:>6}, empty {:>5}, \
requests to fill {:.2} ({} capped at {}), hottest peer {:.1}× ({:.3}), hand-outs {:.1}× ({:.2}) \
gini {:.2}, alive {} → {} after feedback, bogus {}, {:.2} s",
            pct(s.willing),
            m.met_mean,
            m.candidates_mean,
            m.candidates_p5,
            pct1(m.filled_share),
            pct1(m.empty_share),
            m.messages_to_fill_mean,
            pct1(m.fill_capped_share),
            s.fill_cap,
            m.hottest_load_ratio,
            m.load_mean,
            m.handout_max_ratio,
            m.handout_mean,
            m.handout_gini,
            pct1(m.alive_share),
            pct1(m.alive_share_after_feedback),
            pct1(m.bogus_share),
            m.seconds,
        );
    }
    nat_lines(out, group);
    out.push('\n');
}

/// The NAT verdicts of a group's scenarios: one line each, after the
/// assumption behind the RFC 5780 count.
fn nat_lines(out: &mut String, group: &[(&Scenario, &Measured)]) {
    let sc = group[0].0;
    let option = if sc.nat_discoveries == 0 {
        "the option only while short of N".to_owned()
    } else {
        format!(
            "the option kept while the mapping is unknown, up to {} requests",
            sc.nat_discoveries
        )
    };
    let _ = writeln!(
        out,
        "  NAT mapping from observed addresses ({} of the nodes' NATs endpoint-dependent; {option}): \
share of nodes whose mapped IP / mapping is known after their 1st, 2nd, 3rd .. discovery; RFC 5780 \
§4.3 assumed: tests I and II (2 Binding request/response pairs) for an endpoint-independent \
mapping, I to III (3) for a dependent one, I (1) for the mapped IP alone, to a server with two \
addresses",
        pct(sc.nat_dependent)
    );
    for (s, m) in group {
        let v = &m.nat;
        let shares = |xs: &[f64]| xs.iter().map(|&x| pct1(x)).collect::<Vec<_>>().join(" ");
        let _ = writeln!(
            out,
            "  f = {:>5}: mapped IP {}; mapping {} (last: {}); wrong {}; {:.1} observers after the \
1st; {:.1} B per discovery ({:.1} B over the links); {:.2} RFC 5780 messages saved per node",
            pct(s.willing),
            shares(&v.ip_known[..3]),
            shares(&v.mapping_known),
            pct1(v.mapping_known_final),
            pct1(v.wrong_share),
            v.first_observers_mean,
            v.bytes_mean,
            v.link_bytes_mean,
            v.stun_messages_saved_mean,
        );
    }
}

/// The §3.3.3 table: the draft's figures next to the measured ones.
fn draft_table(out: &mut String, group: &[(&Scenario, &Measured)]) {
    let sc = group[0].0;
    let _ = writeln!(
        out,
        "  §3.3.3 reproduced {:<27} {:>8} {:>10}",
        "(draft: Pastry b = 4, 10^6)", "draft", "measured"
    );
    let first = group[0].1;
    let _ = writeln!(
        out,
        "  {:<46} {:>8} {:>10.1}   (with the neighbour set: {:.1})",
        "routing-table entries per peer",
        DRAFT_ENTRIES,
        first.routing_entries_mean,
        first.table_mean
    );
    let hops = group.iter().map(|(_, m)| m.hops_mean).sum::<f64>() / group.len() as f64;
    let _ = writeln!(
        out,
        "  {:<46} {:>8} {:>10.2}",
        "routing hops per request", DRAFT_HOPS, hops
    );
    for (f, entries, met) in DRAFT_MET {
        let found = group.iter().find(|(s, _)| (s.willing - f).abs() < 1e-12);
        let label = format!("candidate-table entries per peer, f = {}", pct(f));
        match found {
            Some((_, m)) => {
                let _ = writeln!(
                    out,
                    "  {label:<46} {entries:>8} {:>10.1}",
                    m.candidate_table_mean
                );
            }
            None => {
                let _ = writeln!(out, "  {label:<46} {entries:>8} {:>10}", "not run");
            }
        }
        let label = format!("candidates met on a path, f = {}", pct(f));
        match found {
            Some((_, m)) => {
                let _ = writeln!(
                    out,
                    "  {label:<46} {met:>8} {:>10.1}   (f × table × hops = {:.1})",
                    m.met_mean,
                    f * m.table_mean * m.hops_mean
                );
            }
            None => {
                let _ = writeln!(out, "  {label:<46} {met:>8} {:>10}", "not run");
            }
        }
    }
    if sc.nodes != DRAFT_NODES || sc.overlay != "pastry" {
        let _ = writeln!(
            out,
            "  (the draft's figures are Pastry's at {DRAFT_NODES} nodes; table sizes and hops \
depend on the overlay and grow with log(nodes))"
        );
    }
}

fn pct1(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn memory(out: &mut String, rows: &[(&Scenario, &Measured)]) {
    let peers: u64 = rows.iter().map(|(_, m)| m.built_peers).sum();
    let bytes: f64 = rows
        .iter()
        .map(|(_, m)| m.peer_heap_bytes * m.built_peers as f64)
        .sum();
    let allocs: f64 = rows
        .iter()
        .map(|(_, m)| m.peer_allocations * m.built_peers as f64)
        .sum();
    let peers_f = peers.max(1) as f64;
    let candidates: f64 = rows
        .iter()
        .map(|(_, m)| m.candidate_table_mean * m.built_peers as f64)
        .sum();
    let _ = writeln!(
        out,
        "memory: {peers} peers built over {} scenario(s) (only those a route touched), {:.1} \
candidate-table entries each; each peer holds {:.0} B of heap in {:.1} allocations (its \
CandidateTable), plus {} B inline (IntermediatePeer: PeerConfig {} B, CandidateTable {} B, \
PeerStats {} B; TableEntry {} B); the simulator adds a 4 B index entry per overlay peer. Peak RSS: \
{:.1} MiB (the whole process, all scenarios).",
        rows.len(),
        candidates / peers_f,
        bytes / peers_f,
        allocs / peers_f,
        size_of::<IntermediatePeer>(),
        size_of::<PeerConfig>(),
        size_of::<CandidateTable>(),
        size_of::<PeerStats>(),
        size_of::<TableEntry>(),
        crate::memory::peak_rss_mb(),
    );
}
