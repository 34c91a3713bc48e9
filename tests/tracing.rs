//! The crate's `tracing` events: an intermediate peer reports each request
//! it processes (kind, mode, N, K before and after, hop, stop reason) and
//! each response it forwards, at DEBUG level.
//!
//! Each test installs its own capturing subscriber with
//! `tracing::subscriber::with_default`, so tests stay independent when run
//! in parallel.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::{
    AddressPolicy, Candidate, Filter, IntermediatePeer, MessageKind, NodeConfig, Outcome,
    PeerConfig, PiggybackOption, SelectionPolicy, SendingNode, Services, Source, TransportAddress,
    UniquenessKey, N,
};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// One captured event: level, target and fields as text (the message under
/// `message`).
#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    target: String,
    fields: BTreeMap<String, String>,
}

impl Captured {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// A layer that appends every event to a shared list.
struct Capture(Arc<Mutex<Vec<Captured>>>);

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields: fields.0,
        });
    }
}

/// Runs `f` with a capturing subscriber as this thread's default; returns
/// its result and the events it emitted.
fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<Captured>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry().with(Capture(Arc::clone(&events)));
    let out = tracing::subscriber::with_default(subscriber, f);
    let events = events.lock().unwrap().clone();
    (out, events)
}

/// The crate's DEBUG events that carry field `field`.
fn debug_with<'a>(events: &'a [Captured], field: &str) -> Vec<&'a Captured> {
    events
        .iter()
        .filter(|e| {
            e.level == Level::DEBUG
                && e.target.starts_with("stun_turn_discovery")
                && e.fields.contains_key(field)
        })
        .collect()
}

/// `n` as an [`N`].
fn n(n: u8) -> N {
    N::new(n).unwrap()
}

fn peer(n: u8) -> IntermediatePeer {
    let config = PeerConfig::default()
        .with_selection(SelectionPolicy::ByPriority)
        .with_address_policy(AddressPolicy::default().with_documentation(true));
    let mut peer = IntermediatePeer::new(config);
    let willing = (1..=n).map(|i| {
        let addr = TransportAddress::udp(format!("192.0.2.{i}:3478").parse().unwrap());
        Candidate::peer(addr, Services::BOTH)
    });
    let _ = peer
        .table_mut()
        .sync_source(Instant::now(), Source::RoutingTable, willing);
    peer
}

#[test]
fn on_request_emits_a_debug_event_with_kind_n_and_k() {
    let mut peer = peer(8);
    let mut option = PiggybackOption::recursive(Some(n(10)), Filter::ANY, UniquenessKey::Ip);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (outcome, events) = capture(|| {
        peer.on_request(
            Instant::now(),
            MessageKind::Join,
            None,
            &mut option,
            &mut rng,
        )
    });
    let report = *outcome.report();
    assert_eq!((report.k_before, report.k_after), (0, 5));

    let hops = debug_with(&events, "k_before");
    assert_eq!(hops.len(), 1, "{events:#?}");
    let e = hops[0];
    assert_eq!(e.get("kind"), Some("Join"));
    assert_eq!(e.get("mode"), Some("Recursive"));
    assert_eq!(e.get("n"), Some("10"));
    assert_eq!(e.get("k_before"), Some("0"));
    assert_eq!(e.get("k_after"), Some("5"));
    assert_eq!(e.get("hop"), Some("1"));
    assert_eq!(e.get("stop"), Some("HopCap"));
    assert!(e.get("message").is_some_and(|m| !m.is_empty()));

    // The next hop: K goes on from 5, with the default N when unset.
    let mut unset = PiggybackOption::recursive(None, Filter::ANY, UniquenessKey::Ip);
    let (_, events) = capture(|| {
        let _ = peer.on_request(Instant::now(), MessageKind::Get, None, &mut unset, &mut rng);
        peer.on_request(Instant::now(), MessageKind::Get, None, &mut unset, &mut rng)
    });
    let hops = debug_with(&events, "k_before");
    let seen: Vec<_> = hops
        .iter()
        .map(|e| {
            (
                e.get("kind").unwrap(),
                e.get("n").unwrap(),
                e.get("k_before").unwrap(),
                e.get("k_after").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("Get", "10", "0", "5"), ("Get", "10", "5", "8")],
        "{events:#?}"
    );
}

#[test]
fn already_full_and_iterative_requests_are_traced_too() {
    let mut peer = peer(3);
    let mut rng = ChaCha8Rng::seed_from_u64(2);

    // §4.2 step 3: a full set is left alone, and that is reported.
    let mut option = PiggybackOption::recursive(Some(n(1)), Filter::ANY, UniquenessKey::Ip);
    let (_, events) = capture(|| {
        let _ = peer.on_request(
            Instant::now(),
            MessageKind::Maintenance,
            None,
            &mut option,
            &mut rng,
        );
        peer.on_request(
            Instant::now(),
            MessageKind::Maintenance,
            None,
            &mut option,
            &mut rng,
        )
    });
    let hops = debug_with(&events, "k_before");
    assert_eq!(hops.len(), 2, "{events:#?}");
    assert_eq!(hops[1].get("k_before"), Some("1"));
    assert_eq!(hops[1].get("k_after"), Some("1"));
    assert_eq!(hops[1].get("stop"), Some("AlreadyFull"));
    assert_eq!(hops[1].get("kind"), Some("Maintenance"));

    // Iterative mode.
    let mut option = PiggybackOption::iterative(Some(n(4)), Filter::ANY, UniquenessKey::Ip, 3);
    let (outcome, events) = capture(|| {
        peer.on_request(
            Instant::now(),
            MessageKind::Put,
            None,
            &mut option,
            &mut rng,
        )
    });
    assert!(matches!(outcome, Outcome::Answer(..)));
    let hops = debug_with(&events, "k_before");
    assert_eq!(hops.len(), 1, "{events:#?}");
    let e = hops[0];
    assert_eq!(
        (
            e.get("kind"),
            e.get("mode"),
            e.get("n"),
            e.get("k_before"),
            e.get("k_after"),
            e.get("hop"),
        ),
        (
            Some("Put"),
            Some("Iterative"),
            Some("4"),
            Some("0"),
            Some("2"),
            Some("3")
        )
    );
}

#[test]
fn on_response_emits_a_debug_event() {
    let mut peer = peer(4);
    let mut option = PiggybackOption::recursive(Some(n(6)), Filter::ANY, UniquenessKey::Ip);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let _ = peer.on_request(
        Instant::now(),
        MessageKind::Join,
        None,
        &mut option,
        &mut rng,
    );

    let ((), events) = capture(|| peer.on_response(MessageKind::Join));
    let responses: Vec<_> = events
        .iter()
        .filter(|e| e.level == Level::DEBUG && e.target.starts_with("stun_turn_discovery"))
        .collect();
    assert_eq!(responses.len(), 1, "{events:#?}");
    let e = responses[0];
    assert_eq!(e.get("kind"), Some("Join"));
    assert!(e.get("message").is_some_and(|m| !m.is_empty()));
    // The response is forwarded unchanged: `on_response` sees only its
    // kind, so the event carries no mode or K (the option stays as the
    // request's last hop left it).
    assert_eq!((option.set().len(), option.hop()), (3, 2));
    // Forwarding a response does not process it as a request.
    assert!(debug_with(&events, "k_before").is_empty());
}

#[test]
fn sending_node_traces_what_it_saved() {
    let mut peer = peer(4);
    let config = NodeConfig::default()
        .with_address_policy(AddressPolicy::default().with_documentation(true));
    let mut node = SendingNode::new(config);
    let mut option = node.recursive_option();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let now = Instant::now();
    let _ = peer.on_request(now, MessageKind::Join, None, &mut option, &mut rng);
    let (report, events) = capture(|| node.on_response(now, MessageKind::Join, &option));
    let report = report.unwrap();
    assert_eq!((report.saved, report.shortfall), (4, 6));
    let saves = debug_with(&events, "shortfall");
    assert_eq!(saves.len(), 1, "{events:#?}");
    assert_eq!(saves[0].get("kind"), Some("Join"));
    assert_eq!(saves[0].get("saved"), Some("4"));
    assert_eq!(saves[0].get("shortfall"), Some("6"));
}

#[test]
fn capture_is_scoped_to_its_closure() {
    let mut peer = peer(2);
    let mut option = PiggybackOption::recursive(Some(n(2)), Filter::ANY, UniquenessKey::Ip);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (_, inner) = capture(|| {
        let _ = peer.on_request(
            Instant::now(),
            MessageKind::Join,
            None,
            &mut option,
            &mut rng,
        );
    });
    assert_eq!(debug_with(&inner, "k_before").len(), 1);
    // Outside the closure no subscriber of ours is installed: this request
    // reaches no capture, and nothing panics.
    let _ = peer.on_request(
        Instant::now(),
        MessageKind::Join,
        None,
        &mut option,
        &mut rng,
    );
    peer.on_response(MessageKind::Join);
    let (_, none) = capture(|| ());
    assert!(none.is_empty());
    assert_eq!(debug_with(&inner, "k_before").len(), 1);
}

/// A table sync that refuses candidates says so at WARN, with the reason,
/// so a host that drops the report still sees why a peer is missing.
#[test]
fn refused_table_entries_are_traced_at_warn() {
    let mut table =
        stun_turn_discovery::CandidateTable::new(stun_turn_discovery::peer::TableConfig::default());
    let private = Candidate::peer(
        TransportAddress::udp("10.0.0.7:3478".parse().unwrap()),
        Services::BOTH,
    );
    let public = Candidate::peer(
        TransportAddress::udp("11.0.0.7:3478".parse().unwrap()),
        Services::BOTH,
    );
    let (report, events) =
        capture(|| table.sync_source(Instant::now(), Source::RoutingTable, [private, public]));
    assert_eq!((report.added, report.refused.len()), (1, 1));
    let warns: Vec<&Captured> = events
        .iter()
        .filter(|e| e.level == Level::WARN && e.target.starts_with("stun_turn_discovery"))
        .collect();
    assert_eq!(warns.len(), 1);
    let error = warns[0].get("error").unwrap();
    assert!(
        error.contains("10.0.0.7:3478/udp") && error.contains("private"),
        "{error}"
    );
    assert_eq!(warns[0].get("source"), Some("RoutingTable"));
}
