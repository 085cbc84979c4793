//! The PSSession API: joins the `wsman` transport and the `psrp` protocol
//! engine into async (tokio) sessions that can be created, used, disconnected,
//! reconnected, connected from elsewhere and removed, plus the `wsman` binary.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod connection;
pub mod copy;
pub mod error;
pub mod fanout;
pub mod format;
pub mod host;
pub mod session;
pub mod store;
mod tty;
pub mod winrs;
pub use connection::ConnectionInfo;
pub use error::{Error, Result};
pub use session::{PsSession, SessionOptions};
