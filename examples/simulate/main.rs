//! The simulator: reproduces the draft's §3.3.3 argument (a request meets
//! about f × 75 × 5 STUN/TURN candidates on a 10^6-node Pastry overlay) on
//! Pastry, Kademlia and Chord, driving the crate's own code at every hop.
//!
//! `cargo run --release --example simulate` runs the defaults and prints
//! the §3.3.3 table next to the draft's figures; `-- --help` explains every
//! flag. The parts, one concept per file:
//!
//! - `cli`: the command line and the list of scenarios it asks for;
//! - `overlay/`: the overlays (routing state by kind, routes to a key);
//! - `nat`: the sending nodes' NATs (endpoint-independent or
//!   dependent mapping), what the hops observe, and the nodes' verdicts;
//! - `network`: who is willing, dead or adversarial, server addresses, and
//!   the peers' candidate tables built lazily from their routing state
//!   (§3.3.1);
//! - `scenario`: one scenario's requests, every hop calling
//!   `IntermediatePeer::on_request` (§4.2) and the requester a
//!   `SendingNode` (§4.1, §5.1, §6.1);
//! - `baselines/`: what piggybacking is compared with, in the same
//!   harness: a single key (§1), RELOAD's TURN Server Usage (RFC 6940 §9)
//!   and ReDiR (RFC 7374);
//! - `metrics`: means, percentiles, Gini;
//! - `memory`: heap per built peer and peak RSS;
//! - `output`: the CSV and the §3.3.3 table;
//! - this file: orchestration (overlays, threads, progress).

mod baselines;
mod cli;
mod memory;
mod metrics;
mod nat;
mod network;
mod output;
mod overlay;
mod plots;
mod scenario;
#[cfg(test)]
mod test_ring;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{OverlayKind, Plan};
use crate::overlay::Overlay;
use crate::scenario::{Measured, Mechanism, Scenario};

fn main() -> ExitCode {
    let plan = match cli::plan_from(std::env::args_os()) {
        Ok(plan) => plan,
        Err(e) => e.exit(),
    };
    match run(&plan) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The overlay `kind` of `nodes` peers, from `seed`.
fn build_overlay(kind: OverlayKind, nodes: usize, seed: u64) -> Box<dyn Overlay> {
    match kind {
        OverlayKind::Pastry => Box::new(overlay::pastry::Pastry::new(nodes, seed)),
        OverlayKind::Kademlia => Box::new(overlay::kademlia::Kademlia::new(nodes, seed)),
        OverlayKind::Chord => Box::new(overlay::chord::Chord::new(nodes, seed)),
    }
}

/// A progress bar on stderr that shows itself once the run has taken a
/// few seconds (and never when stderr is not a terminal).
struct Progress {
    bar: ProgressBar,
    start: Instant,
    shown: AtomicBool,
}

impl Progress {
    const AFTER: Duration = Duration::from_secs(2);

    fn new(total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} requests, eta {eta}",
        ) {
            bar.set_style(style);
        }
        Self {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
        }
    }

    fn advance(&self, requests: u64) {
        self.bar.inc(requests);
        self.show_if_slow();
    }

    fn show_if_slow(&self) {
        if !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() >= Self::AFTER
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
}

fn run(plan: &Plan) -> Result<(), String> {
    let total = plan.scenarios.iter().map(|s| s.requests).sum();
    let progress = Progress::new(total);
    let mut results: Vec<Option<Measured>> = vec![None; plan.scenarios.len()];
    let nodes = plan.scenarios.first().map_or(0, |s| s.nodes);
    for &kind in &plan.overlays {
        progress
            .bar
            .set_message(format!("building {}", kind.name()));
        progress.show_if_slow();
        let t = Instant::now();
        let overlay = build_overlay(kind, nodes, plan.seed);
        progress.bar.suspend(|| {
            eprintln!(
                "{} overlay of {} peers built in {:.2} s",
                kind.name(),
                overlay.len(),
                t.elapsed().as_secs_f64()
            );
        });
        let indices: Vec<usize> = (0..plan.scenarios.len())
            .filter(|&i| plan.scenarios[i].overlay == kind.name())
            .collect();
        progress.bar.set_message(kind.name());
        let advance = |k| progress.advance(k);
        for (i, result) in run_scenarios(
            &*overlay,
            &plan.scenarios,
            &indices,
            plan.seed,
            plan.threads,
            &advance,
        ) {
            results[i] = Some(result?);
        }
    }
    progress.bar.finish_and_clear();
    let rows: Vec<(&Scenario, &Measured)> = plan
        .scenarios
        .iter()
        .zip(&results)
        .filter_map(|(s, m)| m.as_ref().map(|m| (s, m)))
        .collect();
    if let Some(path) = &plan.csv {
        std::fs::write(path, output::csv(&rows, plan.no_timing))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("wrote {} row(s) to {}", rows.len(), path.display());
    }
    if let Some(dir) = &plan.plots {
        let written = plots::write_plots(dir, &output::csv(&rows, plan.no_timing))
            .map_err(|e| format!("cannot write plots to {}: {e}", dir.display()))?;
        for path in written {
            eprintln!("wrote {}", path.display());
        }
    }
    print!("{}", output::report(&rows));
    Ok(())
}

/// Runs the scenarios at `indices` over `overlay` on `threads` threads,
/// each taking the next scenario not yet taken; returns each index with its
/// result, in index order. A scenario's result depends on the seed and its
/// index only, never on the thread that ran it.
fn run_scenarios(
    overlay: &dyn Overlay,
    scenarios: &[Scenario],
    indices: &[usize],
    seed: u64,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<(usize, Result<Measured, String>)> {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(indices.len()));
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, indices.len().max(1)) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = indices.get(k) else { break };
                let sc = &scenarios[i];
                let run = match sc.mechanism {
                    Mechanism::Piggyback => scenario::run,
                    _ => baselines::run,
                };
                let result = run(overlay, sc, seed, i as u64, progress);
                done.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((i, result));
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::{PeerId, StateKind};
    use crate::scenario::{Mode, Policy};
    use crate::test_ring::Ring;
    use stun_turn_discovery::wire::{observed_extension_len, observed_option_len};
    use stun_turn_discovery::{PerHopShare, TransportAddress, N};

    fn scenario(nodes: usize, requests: u64, willing: f64) -> Scenario {
        Scenario {
            overlay: "ring",
            mechanism: Mechanism::Piggyback,
            mode: Mode::Recursive,
            nodes,
            requests,
            willing,
            n: N::DEFAULT,
            policy: Policy::LoadSpreading,
            per_hop_share: PerHopShare::HALF,
            churn: 0.0,
            adversaries: 0.0,
            fill_cap: 32,
            turn_density: None,
            nat_dependent: 0.2,
            nat_discoveries: 0,
        }
    }

    fn run_one(overlay: &dyn Overlay, sc: &Scenario) -> Measured {
        scenario::run(overlay, sc, 11, 0, &|_| {}).unwrap()
    }

    /// §3.3.3's arithmetic: a path of `hops` peers, each with a table of
    /// about f × `table_mean` willing peers (and itself when willing),
    /// meets about f × table_mean × hops candidates. The measured count is
    /// of unique candidates, so overlaps between the tables on a path (leaf
    /// sets and successor lists near the destination) pull it below the
    /// product: within 35 % of it, on a 4096-peer ring and on a 4096-peer
    /// Pastry overlay.
    #[test]
    fn met_is_about_f_times_table_times_hops() {
        let ring = Ring::new(4096, 5);
        let pastry = crate::overlay::pastry::Pastry::new(4096, 5);
        let overlays: [&dyn Overlay; 2] = [&ring, &pastry];
        for overlay in overlays {
            for f in [0.1, 0.3] {
                let m = run_one(overlay, &scenario(4096, 400, f));
                let product = f * m.table_mean * m.hops_mean;
                eprintln!(
                    "{} f = {f}: met {:.1}, f × table × hops = {product:.1}",
                    overlay.name(),
                    m.met_mean
                );
                assert!(m.hops_mean > 2.5 && m.table_mean > 15.0, "{m:?}");
                assert!(
                    (m.met_mean - product).abs() <= 0.35 * product,
                    "{} f = {f}: met {} against f × table × hops = {product}",
                    overlay.name(),
                    m.met_mean
                );
                // Never above the product plus the peers themselves.
                assert!(m.met_mean <= product + f * m.hops_mean + 1.0, "{m:?}");
            }
        }
    }

    /// When a path meets far more candidates than N, one request fills N:
    /// at f = 0.9 a path meets several times N, and every first response
    /// leaves the node with N (the per-hop share needs two hops for that, and
    /// nearly every path has them).
    #[test]
    fn n_is_filled_in_one_request_when_a_path_meets_many() {
        let ring = Ring::new(2048, 6);
        for mode in [Mode::Recursive, Mode::Iterative] {
            let sc = Scenario {
                mode,
                ..scenario(2048, 300, 0.9)
            };
            let m = run_one(&ring, &sc);
            assert!(
                0.9 * m.table_mean * m.hops_mean > 5.0 * 10.0,
                "{mode:?}: {m:?}"
            );
            assert!(m.filled_share > 0.97, "{mode:?}: {m:?}");
            assert!(m.messages_to_fill_mean < 1.05, "{mode:?}: {m:?}");
            assert_eq!(m.candidates_p5, 10, "{mode:?}: {m:?}");
            assert_eq!(m.extra_messages_mean, 0.0);
        }
    }

    #[test]
    fn same_seed_same_csv_whatever_the_threads() {
        let ring = Ring::new(3000, 7);
        let mut scenarios = Vec::new();
        for mode in [Mode::Recursive, Mode::Iterative] {
            for f in [0.02, 0.1, 0.2] {
                scenarios.push(Scenario {
                    mode,
                    churn: 0.1,
                    adversaries: 0.05,
                    nat_discoveries: 3,
                    ..scenario(3000, 150, f)
                });
            }
        }
        let indices: Vec<usize> = (0..scenarios.len()).collect();
        let csv_with = |threads| {
            let results = run_scenarios(&ring, &scenarios, &indices, 3, threads, &|_| {});
            let measured: Vec<Measured> = results.into_iter().map(|(_, r)| r.unwrap()).collect();
            let rows: Vec<_> = scenarios.iter().zip(&measured).collect();
            output::csv(&rows, true)
        };
        let one = csv_with(1);
        assert_eq!(one.lines().count(), 7);
        let cells = |l: &str| l.split(',').count();
        assert!(one.lines().all(|l| cells(l) == cells(output::CSV_HEADER)));
        assert_eq!(one, csv_with(3));
        assert_eq!(one, csv_with(2));
    }

    /// The baselines too: one sweep of the three over two shares and both
    /// modes gives the same CSV on 1, 2 and 3 threads.
    #[test]
    fn same_seed_same_baseline_csv_whatever_the_threads() {
        let ring = Ring::new(3000, 12);
        let mut scenarios = Vec::new();
        for mechanism in [
            Mechanism::SingleKey,
            Mechanism::TurnDensity,
            Mechanism::Redir,
        ] {
            for mode in [Mode::Recursive, Mode::Iterative] {
                for f in [0.02, 0.1] {
                    scenarios.push(Scenario {
                        mechanism,
                        mode,
                        ..scenario(3000, 100, f)
                    });
                }
            }
        }
        let indices: Vec<usize> = (0..scenarios.len()).collect();
        let csv_with = |threads| {
            let results = run_scenarios(&ring, &scenarios, &indices, 4, threads, &|_| {});
            let measured: Vec<Measured> = results.into_iter().map(|(_, r)| r.unwrap()).collect();
            let rows: Vec<_> = scenarios.iter().zip(&measured).collect();
            output::csv(&rows, true)
        };
        let one = csv_with(1);
        assert_eq!(one.lines().count(), 13);
        assert!(one.lines().skip(1).all(|l| !l.contains("piggyback")));
        let cells = |l: &str| l.split(',').count();
        assert!(one.lines().all(|l| cells(l) == cells(output::CSV_HEADER)));
        assert_eq!(one, csv_with(3));
        assert_eq!(one, csv_with(2));
    }

    /// Dead peers' servers stay in tables, so some handed-out candidates do
    /// not answer; one round of feedback backs them off and `best` then
    /// hands out live ones.
    #[test]
    fn churn_lowers_alive_share_and_feedback_raises_it() {
        let ring = Ring::new(3000, 8);
        let healthy = run_one(&ring, &scenario(3000, 300, 0.1));
        assert_eq!(healthy.alive_share, 1.0);
        let churned = run_one(
            &ring,
            &Scenario {
                churn: 0.3,
                ..scenario(3000, 300, 0.1)
            },
        );
        assert!(
            churned.alive_share < 0.8 && churned.alive_share > 0.55,
            "{churned:?}"
        );
        assert!(
            churned.alive_share_after_feedback > churned.alive_share + 0.15,
            "{churned:?}"
        );
    }

    /// An adversary fills every set it sees with bogus candidates, up to
    /// all of N. Without a per-hop share one adversary early on a path
    /// decides the whole set. With share s the node counts at most s × N
    /// from any one hop of a response and ranks the rest last (reserve), so
    /// one adversarial hop decides at most s of what `best` hands out
    /// (SECURITY.md: "a single hop does not decide what `best` hands out
    /// first"). With 10 % adversaries (about 0.46 of them per path) the
    /// bogus share stays below s = 0.5 and at least 15 % below the share
    /// without the cap, in both routing modes.
    #[test]
    fn per_hop_share_bounds_bogus_share() {
        let ring = Ring::new(3000, 9);
        let adversaries = 0.1;
        for mode in [Mode::Recursive, Mode::Iterative] {
            let attacked = |share| {
                run_one(
                    &ring,
                    &Scenario {
                        mode,
                        adversaries,
                        per_hop_share: PerHopShare::new(share).unwrap(),
                        ..scenario(3000, 400, 0.1)
                    },
                )
            };
            let without = attacked(100);
            let with = attacked(50);
            eprintln!(
                "{mode:?}: bogus {:.3} without the share, {:.3} with it",
                without.bogus_share, with.bogus_share
            );
            assert!(with.bogus_share > 0.0, "{mode:?}: {with:?}");
            assert!(with.bogus_share <= 0.5, "{mode:?}: {with:?}");
            assert!(
                with.bogus_share < 0.85 * without.bogus_share,
                "{mode:?}: with {} without {}",
                with.bogus_share,
                without.bogus_share
            );
        }
    }

    /// The ring, but every route from a peer starts at its successor: the
    /// first hop of a node's requests is always the same peer.
    struct ViaSuccessor(Ring);

    impl Overlay for ViaSuccessor {
        fn name(&self) -> &'static str {
            "ring-via-successor"
        }

        fn len(&self) -> usize {
            self.0.len()
        }

        fn id(&self, peer: PeerId) -> u64 {
            self.0.id(peer)
        }

        fn routing_state(&self, peer: PeerId, out: &mut Vec<(PeerId, StateKind)>) {
            self.0.routing_state(peer, out);
        }

        fn route(&self, from: PeerId, key: u64, out: &mut Vec<PeerId>) {
            let next = ((from as usize + 1) % self.0.len()) as PeerId;
            let mut rest = Vec::new();
            self.0.route(next, key, &mut rest);
            out.clear();
            out.push(next);
            out.extend(rest.into_iter().filter(|&p| p != next && p != from));
        }

        fn root(&self, key: u64) -> PeerId {
            self.0.root(key)
        }
    }

    fn seeking(mode: Mode, dependent: f64) -> Scenario {
        Scenario {
            mode,
            nat_dependent: dependent,
            nat_discoveries: 8,
            ..scenario(4096, 400, 0.1)
        }
    }

    /// Without adversaries every hop reports what the node's NAT showed it,
    /// so no verdict is ever wrong, under either mapping. Iterative mode
    /// asks every hop of a request directly (while the mapping is unknown,
    /// or the node short of N), and a path of three or more decides the
    /// mapping in the first discovery. Recursive mode has one observer per discovery (the first
    /// hop): the mapped IP address after two discoveries with different
    /// first hops, the mapping after three.
    #[test]
    fn nat_verdict_is_never_wrong_and_iterative_knows_after_one_discovery() {
        let ring = Ring::new(4096, 5);
        for dependent in [0.0, 0.5, 1.0] {
            let m = run_one(&ring, &seeking(Mode::Iterative, dependent));
            let it = &m.nat;
            eprintln!("iterative, {dependent}: {it:?}");
            assert_eq!(it.wrong_share, 0.0);
            // Every hop until the mapping is known (or the node is short).
            assert!(it.first_observers_mean >= 3.0, "{it:?}");
            assert!(it.first_observers_mean <= m.hops_mean, "{m:?}");
            assert!(m.hops_mean > 3.0 && it.mapping_known[0] > 0.9, "{it:?}");
            assert_eq!(it.mapping_known_final, 1.0, "{it:?}");
            let rec = run_one(&ring, &seeking(Mode::Recursive, dependent)).nat;
            eprintln!("recursive, {dependent}: {rec:?}");
            assert_eq!(rec.wrong_share, 0.0);
            assert_eq!(rec.first_observers_mean, 1.0);
            assert_eq!((rec.ip_known[0], rec.mapping_known[1]), (0.0, 0.0));
            // The farthest finger is the first hop for about half the keys,
            // so first hops repeat and many nodes need more than three.
            assert!(rec.ip_known[1] > 0.5, "{rec:?}");
            assert!(rec.mapping_known[2] > 0.2, "{rec:?}");
            assert!(rec.mapping_known_final > 0.8, "{rec:?}");
            assert!(rec.discoveries_to_mapping_mean >= 3.0, "{rec:?}");
            // Each message carries one observed address: the option in the
            // request and the response in recursive mode (none when the
            // node is the key's root itself), the extension of each hop
            // asked in iterative mode.
            let v4 = TransportAddress::udp("12.0.0.1:1024".parse().unwrap());
            let option = 2.0 * observed_option_len(&v4) as f64;
            assert!(
                rec.bytes_mean <= option && rec.bytes_mean > 0.97 * option,
                "{rec:?}"
            );
            let extension = observed_extension_len(&v4) as f64;
            assert!(
                it.bytes_mean >= 3.0 * extension * it.mapping_known[0],
                "{it:?}"
            );
        }
    }

    /// A node whose requests all leave through the same first hop has one
    /// observer in recursive mode, however many discoveries it makes: it
    /// never learns its mapped IP address, let alone its mapping. Iterative
    /// mode over the same routes still knows the mapping after one.
    #[test]
    fn recursive_never_knows_when_the_first_hop_is_always_the_same() {
        let via = ViaSuccessor(Ring::new(4096, 5));
        let rec = run_one(&via, &seeking(Mode::Recursive, 0.5)).nat;
        assert_eq!(rec.ip_known_final, 0.0, "{rec:?}");
        assert_eq!(rec.mapping_known_final, 0.0, "{rec:?}");
        assert!(rec.discoveries_mean >= 8.0, "{rec:?}");
        assert_eq!(rec.stun_messages_saved_mean, 0.0);
        let it = run_one(&via, &seeking(Mode::Iterative, 0.5)).nat;
        assert!(it.mapping_known[0] > 0.9, "{it:?}");
        assert_eq!(it.wrong_share, 0.0);
    }

    /// With --nat-discoveries 0 the option goes only where the drive loop
    /// sends it, so the NAT model changes nothing but the NAT columns:
    /// whatever share of the NATs is dependent, every other metric is the
    /// same.
    #[test]
    fn observed_addresses_alone_change_no_other_metric() {
        let ring = Ring::new(3000, 10);
        for mode in [Mode::Recursive, Mode::Iterative] {
            let other = |dependent| {
                let mut m = run_one(
                    &ring,
                    &Scenario {
                        mode,
                        nat_dependent: dependent,
                        adversaries: 0.05,
                        churn: 0.1,
                        ..scenario(3000, 300, 0.1)
                    },
                );
                m.nat = Default::default();
                (m.seconds, m.peak_rss_mb) = (0.0, 0.0);
                m
            };
            assert_eq!(other(0.0), other(1.0));
        }
    }

    /// Colluding adversaries (all reporting one made-up address) on a path
    /// can outnumber the honest observers of a node and make its verdict
    /// wrong: the simulator counts it, and it stays rare at 10 %.
    #[test]
    fn colluding_observers_can_make_a_verdict_wrong() {
        let ring = Ring::new(4096, 5);
        for mode in [Mode::Recursive, Mode::Iterative] {
            let m = run_one(
                &ring,
                &Scenario {
                    adversaries: 0.1,
                    ..seeking(mode, 0.5)
                },
            )
            .nat;
            eprintln!("{mode:?}: {m:?}");
            assert!(m.wrong_share < 0.1, "{mode:?}: {m:?}");
        }
    }
}
