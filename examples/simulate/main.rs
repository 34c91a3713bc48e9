//! The simulator: reproduces the draft's §3.3.3 argument on Pastry,
//! Kademlia and Chord overlays, driving the crate's own code at every hop.
//! (Under construction: see the module docs for what each part does.)

mod overlay;

fn main() {
    let _ = overlay::StateKind::Routing;
}
