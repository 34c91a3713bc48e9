//! kademlia: to be written.
