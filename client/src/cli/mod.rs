//! The `wsman` command-line client: argument syntax ([`args`]), then the
//! commands. `main` only turns [`run`]'s result into an exit code.
pub mod args;

pub use args::Cli;
