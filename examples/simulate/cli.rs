//! The command line (clap): every flag, what it means, and its check. A bad
//! value is a clap error (exit code 2), never a panic; what parses becomes a
//! [`Plan`]: the list of scenarios, in the order their rows are written.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};
use stun_turn_discovery::{PerHopShare, N};

use crate::network::MAX_NODES;
use crate::scenario::{Mechanism, Mode, Policy, Scenario};

/// Reproduces the draft's §3.3.3 (draft-jiang-p2psip-stun-turn-discovery-00):
/// NATed nodes discover STUN/TURN servers by piggybacking on routine
/// overlay requests, with every hop running this crate's own §4.2 code.
///
/// Prints the §3.3.3 table (routing-table entries, hops, candidates met at
/// f = 10 % and 2 %) next to the draft's figures, one summary line per
/// scenario, with --mechanism all (or a baseline) piggybacking against the
/// baselines it is compared with (extra messages, hottest peer, success,
/// candidates, hand-outs, registration traffic), and with --csv one CSV row
/// per scenario. Comma-separated lists (--willing, --per-hop-share,
/// --churn, --adversaries, --mechanism, --overlay) and the values `all`
/// sweep: every combination is one scenario.
#[derive(Debug, Parser)]
#[command(name = "simulate", version, after_long_help = CSV_HELP)]
pub(crate) struct Cli {
    /// Overlay(s) to route over: Pastry (b = 4, leaf set 16, the draft's
    /// setting), Kademlia (k = 20), Chord (fingers + successor list), or
    /// all three; a comma-separated list runs several.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "pastry")]
    pub(crate) overlay: Vec<OverlayArg>,

    /// Discovery mechanism: `piggyback` (the draft's), or a baseline it is
    /// compared with in the same overlays: `single-key` (every provider
    /// stored at the root of one key, every discovery a GET to it that
    /// returns a random N: the draft's §1), `turn-density` (RELOAD's TURN
    /// Server Usage, RFC 6940 §9: providers at H(Node-ID ‖ d), d =
    /// 1..turn-density; a discovery Finds a random Resource-ID and Fetches
    /// what the Find names, one provider, or on an empty answer tries
    /// another random Resource-ID, up to 10 Finds), or
    /// `redir` (RFC 7374, branching factor 10, starting level 2: a lookup
    /// of a few Fetches; the node takes up to N from the tree nodes it
    /// fetched); `all` runs the four; a comma-separated list runs several.
    /// The baselines model a healthy overlay (--churn and --adversaries
    /// must be 0 with them), ignore --policy and --per-hop-share (one row,
    /// with the first share), and route alike in both modes.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "piggyback")]
    pub(crate) mechanism: Vec<MechanismArg>,

    /// turn-density of the TURN Server Usage (RFC 6940 §11.1): the
    /// Resource-IDs each provider stores at (1 to 1000000). By default
    /// about 1 / f, as §11.1 advises: round(1/f) for each f swept (1 at
    /// f = 0). The RFC's own default is 1.
    #[arg(long, value_parser = parse_density)]
    pub(crate) turn_density: Option<u32>,

    /// Peers in the overlay (2 to 16777216). The default is the draft's
    /// 10^6. Peers are built lazily: only those a route touches get a
    /// candidate table.
    #[arg(long, default_value_t = 1_000_000, value_parser = parse_nodes)]
    pub(crate) nodes: usize,

    /// Sending nodes per scenario. Each is a fresh NATed peer: its first
    /// request is measured, then it keeps sending routine requests while
    /// it is short of N (up to --fill-cap).
    #[arg(long, default_value_t = 10_000, value_parser = parse_requests)]
    pub(crate) requests: u64,

    /// f, the share of peers willing to be STUN/TURN servers, in [0, 1];
    /// a comma-separated list sweeps (e.g. 0.005,0.01,0.02,0.05,0.1,0.2,0.33).
    /// The default runs the draft's two figures, 10 % and 2 %.
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.02", value_parser = parse_willing)]
    pub(crate) willing: Vec<f64>,

    /// N, the candidates a sending node asks for (1 to 64; the draft's
    /// example is 10, §4.2 step 2).
    #[arg(long = "n", default_value = "10", value_parser = parse_n)]
    pub(crate) n: N,

    /// Routing mode (§3.3.2): recursive (the set rides in the request and
    /// comes back in the response), iterative (each hop answers the
    /// sending node at once), or all (both).
    #[arg(long, value_enum, default_value = "recursive")]
    pub(crate) mode: ModeArg,

    /// How intermediate peers choose candidates from their tables (§4.2
    /// step 4): the crate's SelectionPolicy.
    #[arg(long, value_enum, default_value = "load-spreading")]
    pub(crate) policy: Policy,

    /// Per-hop share of N in percent (1 to 100): most of N one honest peer
    /// adds, and most the node counts from one hop (the rest is reserve).
    /// 100 is the draft to the letter (no share); a list sweeps, e.g.
    /// 50,100 for with and without.
    #[arg(long, value_delimiter = ',', default_value = "50", value_parser = parse_share)]
    pub(crate) per_hop_share: Vec<PerHopShare>,

    /// Share of peers dead, in [0, 1): they neither route nor serve, but
    /// their entries still sit in others' routing state and candidate
    /// tables. Measures the share of handed-out candidates alive, before
    /// and after one round of feedback. A list sweeps.
    #[arg(long, value_delimiter = ',', default_value = "0", value_parser = parse_below_one)]
    pub(crate) churn: Vec<f64>,

    /// Share of peers adversarial, in [0, 1): their candidate table holds
    /// bogus addresses only and they fill every set they see with them, up
    /// to all of N. Measures the share of bogus candidates handed out. A
    /// list sweeps.
    #[arg(long, value_delimiter = ',', default_value = "0", value_parser = parse_below_one)]
    pub(crate) adversaries: Vec<f64>,

    /// Seed of everything random: overlay ids, who is willing, dead or
    /// adversarial, senders, keys, and the peers' random choices. Each
    /// scenario's stream depends on the seed and the scenario's index only.
    #[arg(long, default_value_t = 2007)]
    pub(crate) seed: u64,

    /// Threads running scenarios (default: the machine's parallelism). The
    /// CSV is byte-identical whatever the number, timing columns aside.
    #[arg(long, value_parser = parse_threads)]
    pub(crate) threads: Option<usize>,

    /// Write one CSV row per scenario to this file.
    #[arg(long, value_name = "PATH")]
    pub(crate) csv: Option<PathBuf>,

    /// Write SVG plots of the scenarios to this directory (created if
    /// needed): candidates per request against f, messages to fill N, and
    /// the load per mechanism, each when the run has the scenarios for it.
    #[arg(long, value_name = "DIR")]
    pub(crate) plots: Option<PathBuf>,

    /// Most routine requests a fresh node sends to fill its cache to N;
    /// a node still short after them counts as this many in
    /// messages_to_fill_mean. With a baseline: most discoveries a node
    /// makes (messages_to_fill_mean counts the requests they sent).
    #[arg(long, default_value_t = 32, value_parser = parse_fill_cap)]
    pub(crate) fill_cap: u32,

    /// Share of the sending nodes' NATs that map endpoint-dependently (a
    /// public port per destination, RFC 4787 §4.1; "symmetric"), in
    /// [0, 1]; the others map endpoint-independently (one port for every
    /// destination). Which nodes, from the seed. Every hop that receives a
    /// request straight from the node (iterative: every hop; recursive:
    /// the first) reports the address it saw, and the node classifies its
    /// mapping from them (the nat_* columns).
    #[arg(long, default_value_t = 0.2, value_parser = parse_willing)]
    pub(crate) nat_dependent: f64,

    /// Most routine requests a node attaches its option to while its NAT
    /// mapping is still unknown, its fill requests included (in iterative
    /// mode every hop of them is asked). 0 (the default): the option only
    /// while the node is short of N, as the drive loop has it, so the
    /// verdict comes for free; above 0 nodes send more option-carrying
    /// requests (and receive more candidates), which changes every column
    /// but the scenario's.
    #[arg(long, default_value_t = 0, value_parser = parse_fill_cap_or_zero)]
    pub(crate) nat_discoveries: u32,

    /// Write 0 in the timing columns (seconds, peak_rss_mb), so CSVs of
    /// two runs compare byte for byte.
    #[arg(long)]
    pub(crate) no_timing: bool,
}

/// What `--help` says of the CSV columns.
const CSV_HELP: &str = "\
CSV columns (one row per scenario; shares are fractions):
  overlay .. adversaries   the scenario (per_hop_share 1 = no share, the draft to the letter)
  table_mean               routing-state entries per peer (routing table + neighbour set)
  hops_mean                hops of a first request, destination included
  met_mean                 unique willing candidates in the candidate tables of the live peers
                           on the path, destination included, sending node not (§3.3.3; independent of N)
  candidates_mean, _p5     candidates the first response brought the sending node (mean, 5th percentile)
  filled_share             first requests after which the node held N (shortfall 0)
  empty_share              first requests that brought nothing (§3.3.3's NULL set)
  messages_to_fill_mean    routine requests until the node held N (a node still short after
                           --fill-cap counts as --fill-cap)
  extra_messages_mean      messages sent only for discovery: 0 for piggybacking; for a baseline the
                           routed requests of a node's first discovery, each counted once
  hottest_load_ratio       busiest peer's on_request calls over the mean over all peers (baselines:
                           requests handled, forwarded or answered, by every peer on their routes)
  handout_max_ratio, _gini how evenly best(N) hands out the willing servers (max over mean; Gini)
  alive_share              handed-out candidates that answer (alive, not bogus)
  bogus_share              handed-out candidates that are an adversary's bogus ones
  then: alive_share_after_feedback, routing_entries_mean, candidate_table_mean, fill_cap,
  fill_capped_share, load_mean, handout_mean, built_peers, peer_heap_bytes, peer_allocations,
  extra_hop_messages_mean  hops of those requests (each one's route length, answering peer included)
  setup_messages           routed requests the providers send to register once (Stores; ReDiR's
                           Fetches too), for the whole overlay, every registration lifetime: not
                           part of extra_messages_mean; 0 for piggybacking
  load_max                 the busiest peer's count (single key: every request of the scenario)
  tries_mean               baselines: Finds (turn-density), Fetches (redir), GETs (single-key) of a
                           node's first discovery
  turn_density             the turn-density used (turn-density rows only)
  nat_dependent, nat_discoveries   the scenario's --nat-dependent and --nat-discoveries
  nat_ip_known_1.._3       share of sending nodes whose mapped IP address is known (nat_verdict)
                           after their 1st, 2nd, 3rd discovery (request carrying the option; a node
                           that stopped earlier counts as it stayed)
  nat_mapping_known_1.._6  share whose mapping (endpoint-independent or dependent) is known after
                           their 1st .. 6th discovery
  nat_mapping_known_final  the same after each node's last discovery
  nat_discoveries_mean     discoveries a node made; nat_discoveries_to_mapping_mean: the discovery
                           after which the mapping was first known, over the nodes that learned it
  nat_first_observers_mean distinct observers after a node's first discovery
  nat_wrong_share          nodes whose verdict said something false at some point (adversaries all
                           report one made-up address, colluding)
  observed_bytes_mean      bytes the observed addresses add per discovery, each message once
                           (recursive: option in request and response; iterative: one extension per
                           hop asked); observed_link_bytes_mean: counted on every link crossed
  stun_messages_saved_mean RFC 5780 section 4.3 messages per node that its final verdict stands in
                           for: 2 per Binding request/response pair, 2 pairs (tests I, II) for a
                           known endpoint-independent mapping, 3 (I, II, III) for a dependent one,
                           1 (I) for the mapped IP address alone
  The nat_* and observed_* columns are empty in a baseline's rows.
  A baseline's discoveries: hops_mean is the mean route length of the requests of a node's first
  discovery, candidates_* and filled/empty_share are of that discovery,
  messages_to_fill_mean the requests of the discoveries it makes until it holds N (at most
  --fill-cap discoveries); the columns of piggybacking's candidate tables (table_mean, met_mean,
  routing_entries_mean, candidate_table_mean, built_peers, peer_*) are empty in its rows.
  And last the only columns that vary between runs with the same seed: seconds (the scenario's
  wall time) and peak_rss_mb (VmHWM: the whole process's peak so far, not the scenario's own);
  --no-timing writes 0 in both.";

/// `--overlay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OverlayArg {
    /// Pastry, b = 4, leaf set 16.
    Pastry,
    /// Kademlia, k = 20.
    Kademlia,
    /// Chord, fingers and successor list.
    Chord,
    /// All three.
    All,
}

/// An overlay a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum OverlayKind {
    /// Pastry.
    Pastry,
    /// Kademlia.
    Kademlia,
    /// Chord.
    Chord,
}

impl OverlayKind {
    /// `pastry`, `kademlia` or `chord`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Pastry => "pastry",
            Self::Kademlia => "kademlia",
            Self::Chord => "chord",
        }
    }
}

/// `--mechanism`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MechanismArg {
    /// The draft's piggybacking.
    Piggyback,
    /// Every provider stored under one key (the draft's §1 comparison).
    SingleKey,
    /// RELOAD TURN Server Usage (RFC 6940 §9).
    TurnDensity,
    /// ReDiR (RFC 7374).
    Redir,
    /// All of the above.
    All,
}

impl MechanismArg {
    /// The mechanisms this value names, in run order.
    fn mechanisms(self) -> &'static [Mechanism] {
        match self {
            Self::Piggyback => &[Mechanism::Piggyback],
            Self::SingleKey => &[Mechanism::SingleKey],
            Self::TurnDensity => &[Mechanism::TurnDensity],
            Self::Redir => &[Mechanism::Redir],
            Self::All => &[
                Mechanism::Piggyback,
                Mechanism::SingleKey,
                Mechanism::TurnDensity,
                Mechanism::Redir,
            ],
        }
    }
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// Recursive routing.
    Recursive,
    /// Iterative routing.
    Iterative,
    /// Both.
    All,
}

/// What a command line asks for.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The overlays, in run order.
    pub(crate) overlays: Vec<OverlayKind>,
    /// Every scenario, in row order (overlays outermost, then mechanisms,
    /// f innermost).
    pub(crate) scenarios: Vec<Scenario>,
    /// The seed.
    pub(crate) seed: u64,
    /// Worker threads.
    pub(crate) threads: usize,
    /// CSV output file.
    /// Where to write SVG plots, if anywhere.
    pub(crate) plots: Option<PathBuf>,
    pub(crate) csv: Option<PathBuf>,
    /// Zero the timing columns.
    pub(crate) no_timing: bool,
}

/// Parses and checks a command line (`args[0]` is the program name).
pub(crate) fn plan_from<I, T>(args: I) -> Result<Plan, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args)?.plan()
}

impl Cli {
    /// The scenarios this command line asks for, or the error saying what
    /// it asks for that does not exist yet.
    pub(crate) fn plan(self) -> Result<Plan, clap::Error> {
        let mut mechanisms = Vec::new();
        for m in &self.mechanism {
            for k in m.mechanisms() {
                if !mechanisms.contains(k) {
                    mechanisms.push(*k);
                }
            }
        }
        let baseline = mechanisms.iter().find(|&&m| m != Mechanism::Piggyback);
        if let Some(baseline) = baseline {
            let unhealthy = |v: &[f64]| v.iter().any(|&x| x > 0.0);
            if unhealthy(&self.churn) || unhealthy(&self.adversaries) {
                return Err(Self::command().error(
                    ErrorKind::ArgumentConflict,
                    format!(
                        "--mechanism {}: the baselines model a healthy overlay, so --churn and \
--adversaries must be 0 with them (run --mechanism piggyback for churn and adversaries)",
                        baseline.name()
                    ),
                ));
            }
        }
        let mut overlays = Vec::new();
        for o in &self.overlay {
            let kinds: &[OverlayKind] = match o {
                OverlayArg::Pastry => &[OverlayKind::Pastry],
                OverlayArg::Kademlia => &[OverlayKind::Kademlia],
                OverlayArg::Chord => &[OverlayKind::Chord],
                OverlayArg::All => &[
                    OverlayKind::Pastry,
                    OverlayKind::Kademlia,
                    OverlayKind::Chord,
                ],
            };
            for k in kinds {
                if !overlays.contains(k) {
                    overlays.push(*k);
                }
            }
        }
        let modes: &[Mode] = match self.mode {
            ModeArg::Recursive => &[Mode::Recursive],
            ModeArg::Iterative => &[Mode::Iterative],
            ModeArg::All => &[Mode::Recursive, Mode::Iterative],
        };
        let mut scenarios = Vec::new();
        for overlay in &overlays {
            for &mechanism in &mechanisms {
                // Only piggybacking has a per-hop share.
                let shares = if mechanism == Mechanism::Piggyback {
                    &self.per_hop_share[..]
                } else {
                    &self.per_hop_share[..1]
                };
                for &mode in modes {
                    for &per_hop_share in shares {
                        for &churn in &self.churn {
                            for &adversaries in &self.adversaries {
                                for &willing in &self.willing {
                                    scenarios.push(Scenario {
                                        overlay: overlay.name(),
                                        mechanism,
                                        mode,
                                        nodes: self.nodes,
                                        requests: self.requests,
                                        willing,
                                        n: self.n,
                                        policy: self.policy,
                                        per_hop_share,
                                        churn,
                                        adversaries,
                                        fill_cap: self.fill_cap,
                                        turn_density: (mechanism == Mechanism::TurnDensity)
                                            .then_some(self.turn_density)
                                            .flatten(),
                                        nat_dependent: self.nat_dependent,
                                        nat_discoveries: self.nat_discoveries,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(Plan {
            overlays,
            scenarios,
            seed: self.seed,
            threads,
            csv: self.csv,
            plots: self.plots,
            no_timing: self.no_timing,
        })
    }
}

fn parse_count(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let v: u64 = s
        .trim()
        .parse()
        .map_err(|e| format!("`{s}` is not a whole number ({e})"))?;
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is outside {min}..={max}"))
    }
}

fn parse_nodes(s: &str) -> Result<usize, String> {
    parse_count(s, 2, MAX_NODES as u64).map(|v| v as usize)
}

fn parse_requests(s: &str) -> Result<u64, String> {
    parse_count(s, 1, u64::from(u32::MAX))
}

fn parse_threads(s: &str) -> Result<usize, String> {
    parse_count(s, 1, 1024).map(|v| v as usize)
}

fn parse_fill_cap(s: &str) -> Result<u32, String> {
    parse_count(s, 1, 1_000_000).map(|v| v as u32)
}

fn parse_fill_cap_or_zero(s: &str) -> Result<u32, String> {
    parse_count(s, 0, 1_000_000).map(|v| v as u32)
}

fn parse_density(s: &str) -> Result<u32, String> {
    parse_count(s, 1, 1_000_000).map(|v| v as u32)
}

fn parse_n(s: &str) -> Result<N, String> {
    let v = parse_count(s, 0, 255)?;
    N::new(v as u8).map_err(|e| e.to_string())
}

fn parse_share(s: &str) -> Result<PerHopShare, String> {
    let v = parse_count(s, 0, 255)?;
    PerHopShare::new(v as u8).map_err(|e| e.to_string())
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|e| format!("`{s}` is not a number ({e})"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("`{s}` is not a finite number"))
    }
}

fn parse_willing(s: &str) -> Result<f64, String> {
    let v = parse_fraction(s)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("f = {v} is not a share: it must lie in [0, 1]"))
    }
}

fn parse_below_one(s: &str) -> Result<f64, String> {
    let v = parse_fraction(s)?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not a share below 1: it must lie in [0, 1)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(args: &[&str]) -> clap::Error {
        let mut all = vec!["simulate"];
        all.extend_from_slice(args);
        plan_from(all).expect_err("must be refused")
    }

    #[test]
    fn bad_values_are_errors_with_exit_code_2() {
        for args in [
            &["--willing", "1.5"][..],
            &["--willing", "0.1,-0.2"],
            &["--willing", "NaN"],
            &["--nodes", "0"],
            &["--nodes", "lots"],
            &["--requests", "0"],
            &["--n", "0"],
            &["--n", "65"],
            &["--per-hop-share", "0"],
            &["--per-hop-share", "101"],
            &["--churn", "1"],
            &["--adversaries", "-0.1"],
            &["--threads", "0"],
            &["--overlay", "can"],
            &["--mode", "sideways"],
        ] {
            let e = err(args);
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
            assert_ne!(e.kind(), ErrorKind::DisplayHelp);
        }
        let e = err(&["--n", "65"]);
        assert!(e.to_string().contains("outside 1..=64"), "{e}");
        let e = err(&["--willing", "1.5"]);
        assert!(e.to_string().contains("[0, 1]"), "{e}");
    }

    #[test]
    fn plots_go_to_the_directory_given() {
        let plan = plan_from(["simulate", "--plots", "out"]).unwrap();
        assert_eq!(plan.plots.as_deref(), Some(std::path::Path::new("out")));
    }

    #[test]
    fn baselines_run_on_a_healthy_overlay_only() {
        for m in ["single-key", "turn-density", "redir", "all"] {
            let plan = plan_from(["simulate", "--mechanism", m]).unwrap();
            assert!(!plan.scenarios.is_empty());
            for flag in ["--churn", "--adversaries"] {
                let e = err(&["--mechanism", m, flag, "0,0.1"]);
                assert_eq!(e.exit_code(), 2);
                assert!(e.to_string().contains("healthy overlay"), "{e}");
            }
        }
        assert!(plan_from(["simulate", "--churn", "0.1"]).is_ok());
        for args in [&["--turn-density", "0"][..], &["--turn-density", "x"]] {
            assert_eq!(err(args).exit_code(), 2);
        }
    }

    #[test]
    fn mechanisms_come_after_overlays_and_baselines_take_one_share() {
        let plan = plan_from([
            "simulate",
            "--mechanism",
            "all",
            "--overlay",
            "pastry,chord",
            "--per-hop-share",
            "50,100",
            "--turn-density",
            "7",
        ])
        .unwrap();
        // Per overlay: piggyback 2 shares × 2 f, each baseline 1 × 2 f.
        assert_eq!(plan.scenarios.len(), 2 * (4 + 3 * 2));
        let names: Vec<_> = plan.scenarios[..10]
            .iter()
            .map(|s| (s.overlay, s.mechanism.name(), s.per_hop_share.percent()))
            .collect();
        assert_eq!(names[0], ("pastry", "piggyback", 50));
        assert_eq!(names[3], ("pastry", "piggyback", 100));
        assert_eq!(names[4], ("pastry", "single-key", 50));
        assert_eq!(names[9], ("pastry", "redir", 50));
        assert_eq!(plan.scenarios[10].overlay, "chord");
        for s in &plan.scenarios {
            let density = (s.mechanism == Mechanism::TurnDensity).then_some(7);
            assert_eq!(s.turn_density, density);
        }
        // Without the flag: about 1/f.
        let plan = plan_from(["simulate", "--mechanism", "turn-density"]).unwrap();
        let densities: Vec<u32> = plan.scenarios.iter().map(Scenario::turn_density).collect();
        assert_eq!(densities, [10, 50]);
    }

    #[test]
    fn sweeps_multiply_in_row_order() {
        let plan = plan_from([
            "simulate",
            "--overlay",
            "all",
            "--mode",
            "all",
            "--willing",
            "0.1,0.02,0.005",
            "--per-hop-share",
            "50,100",
        ])
        .unwrap();
        assert_eq!(plan.overlays.len(), 3);
        assert_eq!(plan.scenarios.len(), 3 * 2 * 3 * 2);
        let first: Vec<f64> = plan.scenarios[..3].iter().map(|s| s.willing).collect();
        assert_eq!(first, [0.1, 0.02, 0.005]);
        assert_eq!(plan.scenarios[0].overlay, "pastry");
        assert_eq!(plan.scenarios.last().unwrap().overlay, "chord");
        let defaults = plan_from(["simulate"]).unwrap();
        assert_eq!(defaults.scenarios.len(), 2);
        assert_eq!(defaults.scenarios[0].n, N::DEFAULT);
    }
}
