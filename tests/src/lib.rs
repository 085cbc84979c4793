//! Cross-crate integration tests and their helpers (starting the test host,
//! locating the `wsman` binary).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
