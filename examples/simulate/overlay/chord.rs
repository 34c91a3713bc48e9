//! chord: to be written.
