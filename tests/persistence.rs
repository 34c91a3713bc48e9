//! A sending node keeps what it learned across a restart: `export` turns
//! its cache into plain values with wall-clock times, `import` puts them
//! back with feedback, back-off and reserve state, judged by the node's
//! current lifetime, filter and address policy, never by the per-hop share.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant, SystemTime};

use stun_turn_discovery::node::{CacheSnapshot, ImportReport};
use stun_turn_discovery::*;

fn addr(i: u32) -> TransportAddress {
    TransportAddress::new(
        IpAddr::V4(Ipv4Addr::from(0x0b00_0000 | i)),
        3478,
        Transport::Udp,
    )
}

fn entry(i: u32, hop: u8) -> SetEntry {
    SetEntry {
        candidate: Candidate::peer(addr(i), Services::BOTH).with_priority(100),
        hop,
    }
}

fn response(entries: impl IntoIterator<Item = SetEntry>, next_hop: u8) -> PiggybackOption {
    let set = CandidateSet::from_entries(UniquenessKey::Ip, entries).unwrap();
    PiggybackOption::from_parts(
        RoutingMode::Recursive,
        Some(N::DEFAULT),
        Filter::ANY,
        next_hop,
        set,
    )
    .unwrap()
}

/// The state worth keeping: a node with 5 in-share and 5 reserve
/// candidates (one hop sent 10), one that worked, one backing off.
fn learned(t0: Instant) -> SendingNode {
    let mut node = SendingNode::new(NodeConfig::default());
    let r = node
        .on_response(
            t0,
            MessageKind::Join,
            &response((0..10).map(|i| entry(i, 1)), 2),
        )
        .unwrap();
    assert_eq!((r.saved, r.reserved), (5, 5));
    assert!(node.feedback(
        t0,
        &addr(0),
        Feedback::Worked {
            rtt: Duration::from_millis(30)
        }
    ));
    assert!(node.feedback(t0, &addr(1), Feedback::Failed));
    node
}

fn import_report(r: ImportReport) -> [u32; 5] {
    [r.restored, r.expired, r.refused, r.duplicate, r.no_room]
}

#[test]
fn a_restart_keeps_state_reserve_and_back_off() {
    let t0 = Instant::now();
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let node = learned(t0);
    let later = t0 + Duration::from_secs(10);
    let snapshot = node.export(later, wall0 + Duration::from_secs(10));
    assert_eq!(snapshot.candidates.len(), 10);

    // The process restarts: a new Instant base, wall clock 20 s on.
    let t1 = t0 + Duration::from_secs(3_600);
    let wall1 = wall0 + Duration::from_secs(20);
    let mut restarted = SendingNode::new(NodeConfig::default());
    let report = restarted.import(t1, wall1, &snapshot);
    assert_eq!(import_report(report), [10, 0, 0, 0, 0]);

    // Nothing dropped by the per-hop share: 5 reserve again, shortfall as before.
    assert_eq!(restarted.candidates().filter(|c| c.is_reserve()).count(), 5);
    assert_eq!(restarted.shortfall(t1), node.shortfall(later));
    // The one that worked is still best, with its RTT.
    let best = restarted.best(t1, 1)[0];
    assert_eq!(
        (best.candidate().address, best.srtt()),
        (addr(0), Some(Duration::from_millis(30)))
    );
    // Back-off survives: 30 s from the failure at wall0, i.e. 10 s after wall1.
    let backing_off = restarted.get(&addr(1)).unwrap();
    assert_eq!(backing_off.failures(), 1);
    assert!(!backing_off.is_usable(t1 + Duration::from_secs(9)));
    assert!(backing_off.is_usable(t1 + Duration::from_secs(10)));
    // Refreshed times carried over: the entries are 20 s old at wall1.
    assert_eq!(
        restarted.get(&addr(5)).unwrap().refreshed(),
        t1 - Duration::from_secs(20)
    );
}

#[test]
fn entries_past_their_lifetime_are_left_out() {
    let t0 = Instant::now();
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let snapshot = learned(t0).export(t0, wall0);
    let mut restarted = SendingNode::new(NodeConfig::default());
    // Default lifetime 10 minutes: an hour later everything has expired.
    let report = restarted.import(t0, wall0 + Duration::from_secs(3_600), &snapshot);
    assert_eq!(import_report(report), [0, 10, 0, 0, 0]);
    assert!(restarted.is_empty());
}

#[test]
fn the_current_filter_and_policy_apply() {
    let t0 = Instant::now();
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut snapshot = learned(t0).export(t0, wall);
    snapshot.candidates[0].candidate.address =
        TransportAddress::udp("10.0.0.1:3478".parse().unwrap());
    snapshot.candidates[1].candidate.services = Services::STUN;
    let config = NodeConfig::default().with_filter(Filter::services(Services::TURN));
    let mut restarted = SendingNode::new(config);
    let report = restarted.import(t0, wall, &snapshot);
    assert_eq!(import_report(report), [8, 0, 2, 0, 0]);
}

#[test]
fn known_candidates_keep_their_state_and_capacity_holds() {
    let t0 = Instant::now();
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let snapshot = learned(t0).export(t0, wall);
    let mut node = SendingNode::new(NodeConfig::default().with_cache_capacity(6).unwrap());
    let _ = node
        .on_response(t0, MessageKind::Get, &response([entry(0, 1)], 2))
        .unwrap();
    let report = node.import(t0, wall, &snapshot);
    // addr(0) is known already; 5 more fit; the other 4 rank below.
    assert_eq!(import_report(report), [5, 0, 0, 1, 4]);
    assert_eq!(node.len(), 6);
    assert_eq!(
        node.get(&addr(0)).unwrap().srtt(),
        None,
        "the live entry kept its own state"
    );
}

#[test]
fn an_empty_snapshot_restores_nothing() {
    let mut node = SendingNode::new(NodeConfig::default());
    let report = node.import(Instant::now(), SystemTime::now(), &CacheSnapshot::default());
    assert_eq!(import_report(report), [0; 5]);
}

#[cfg(feature = "serde")]
#[test]
fn a_snapshot_survives_json() {
    let t0 = Instant::now();
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let snapshot = learned(t0).export(t0, wall);
    let json = serde_json::to_string(&snapshot).unwrap();
    let back: CacheSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snapshot);
}

/// A host picks by service, transport and family, and gets owned values.
#[test]
fn best_for_picks_by_service_transport_and_family() {
    let now = Instant::now();
    let mut node = SendingNode::new(NodeConfig::default().with_per_hop_share(PerHopShare::WHOLE));
    let tls = TransportAddress::new(IpAddr::V4(Ipv4Addr::new(11, 0, 1, 1)), 5349, Transport::Tls);
    let v6 = TransportAddress::new("2a00:1::7".parse().unwrap(), 3478, Transport::Udp);
    let entries = [
        SetEntry {
            candidate: Candidate::peer(addr(1), Services::STUN),
            hop: 1,
        },
        SetEntry {
            candidate: Candidate::peer(tls, Services::TURN),
            hop: 1,
        },
        SetEntry {
            candidate: Candidate::peer(v6, Services::BOTH),
            hop: 1,
        },
    ];
    let _ = node
        .on_response(now, MessageKind::Join, &response(entries, 2))
        .unwrap();
    let pick = |f: Filter| -> Vec<TransportAddress> {
        node.best_for(now, 10, &f)
            .iter()
            .map(|c| c.candidate().address)
            .collect()
    };
    assert_eq!(
        pick(Filter::services(Services::TURN).with_transport(Transport::Tls)),
        [tls]
    );
    assert_eq!(pick(Filter::ANY.with_family(IpFamily::V6)), [v6]);
    let mut stun = pick(Filter::services(Services::STUN));
    stun.sort();
    assert_eq!(stun, [addr(1), v6]);
    // Owned: the node can change while the host holds them.
    let held = node.best_for(now, 1, &Filter::ANY.with_transport(Transport::Tls));
    assert!(node.forget(&tls).is_some());
    assert_eq!(held[0].candidate().address, tls);
    assert!(node
        .best_for(now, 1, &Filter::ANY.with_transport(Transport::Tls))
        .is_empty());
}

/// A snapshot claiming refresh times after the import's wall clock (a
/// clock stepped back, or an edited file) cannot make entries outlive
/// their lifetime.
#[test]
fn refresh_times_in_the_future_count_as_now() {
    let t0 = Instant::now();
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut snapshot = learned(t0).export(t0, wall);
    for c in &mut snapshot.candidates {
        c.refreshed = wall + Duration::from_secs(86_400);
    }
    let mut node = SendingNode::new(NodeConfig::default());
    let report = node.import(t0, wall, &snapshot);
    assert_eq!(report.restored, 10);
    let lifetime = node.config().entry_lifetime();
    assert_eq!(node.best(t0 + lifetime, 64).len(), 0);
    assert_eq!(node.expire(t0 + lifetime), 10);
}

/// Entries past their lifetime are neither handed out nor counted, even
/// before `expire` removes them.
#[test]
fn cached_candidates_past_their_lifetime_are_not_handed_out() {
    let t0 = Instant::now();
    let node = learned(t0);
    let lifetime = node.config().entry_lifetime();
    assert_eq!(
        node.best(t0 + lifetime - Duration::from_millis(1), 64)
            .len(),
        10
    );
    assert!(node.best(t0 + lifetime, 64).is_empty());
    assert_eq!(node.shortfall(t0 + lifetime), 10);
    assert_eq!(node.len(), 10, "still there until expire");
}
