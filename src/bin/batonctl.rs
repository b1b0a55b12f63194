//! batonctl: the command-line client.
fn main() {}
