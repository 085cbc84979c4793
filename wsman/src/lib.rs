//! WS-Management ([DSP0226], [MS-WSMV]): SOAP envelopes and faults, the shell
//! operations (Create, Command, Send, Receive, Signal, Delete, Disconnect,
//! Reconnect, Connect), the HTTP(S) transport, authentication (Basic, NTLM,
//! Kerberos, Negotiate, CredSSP, client certificate), message encryption and
//! channel binding.
//!
//! [DSP0226]: https://www.dmtf.org/standards/published_documents/DSP0226_1.2.0.pdf
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod error;
pub mod fault;
mod robust;
pub mod soap;
pub mod transport;

pub use error::{Error, ErrorKind, Result};
pub use fault::{Fault, FaultKind};
