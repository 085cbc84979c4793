//! The PowerShell Remoting Protocol ([MS-PSRP]) without I/O: fragments,
//! messages, CLIXML, the runspace-pool and pipeline state machines, host calls
//! and the session key used for SecureString.
//!
//! No sockets, no async runtime, no clock: a transport feeds received bytes in
//! and drains what the protocol wants to send.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
#![forbid(unsafe_code)]
#![warn(missing_docs)]
pub mod clixml;
pub mod error;
pub mod fragment;
pub mod message;

pub use error::{Error, Result};
pub mod messages;
mod obj;
pub mod types;
