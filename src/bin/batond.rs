//! batond: the BGP speaker daemon.
fn main() {}
