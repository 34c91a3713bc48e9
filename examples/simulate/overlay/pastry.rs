//! pastry: to be written.
