//! The `wsman` command-line client.
#![forbid(unsafe_code)]

fn main() {
    println!("wsman {}", env!("CARGO_PKG_VERSION"));
}
