//! PSSessions over WinRM from Rust: what PowerShell's PSSession cmdlets do,
//! as an async (tokio) API. It joins the `wsman` transport (HTTP(S),
//! NTLM / Kerberos / Negotiate / Basic / certificate, message sealing) and
//! the `psrp` protocol engine (which does no I/O).
//!
//! ```no_run
//! use pssession::{host::NullHost, ConnectionInfo, PsSession, SessionOptions};
//! use pssession::session::PipelineEvent;
//!
//! # async fn demo() -> pssession::Result<()> {
//! let info = ConnectionInfo::builder("server01")        // http://server01:5985/wsman, sealed
//!     .user("CORP\\alice")
//!     .password("secret")
//!     .build()?;
//! // New-PSSession
//! let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost)).await?;
//! s.run("$x = 42").await?;                              // state persists between pipelines
//! let mut p = s.invoke("$x; Get-Service WinRM").await?; // events stream as they arrive
//! while let Some(event) = p.next().await? {
//!     if let PipelineEvent::Output(v) = event {
//!         println!("{}", pssession::format::to_text(&v));
//!     }
//! }
//! s.disconnect(None, None).await?;                      // Disconnect-PSSession: it stays on the host
//! let id = s.instance_id();
//! let s = PsSession::connect(&info, id, Box::new(NullHost)).await?; // Connect-PSSession, from anywhere
//! s.close().await?;                                     // Remove-PSSession
//! # Ok(()) }
//! ```
//!
//! Where to go next: [`session`] (the PSSession lifecycle, concurrent
//! pipelines, disconnected pipelines, keep-alive and recovery), [`fanout`]
//! (Invoke-Command on many hosts), [`group`] (a group of PSSessions on many hosts), [`copy`] (files to and from the host),
//! [`winrs`] (plain WinRS commands), [`host`] (answering Read-Host,
//! Get-Credential and other host calls). Runnable programs are in
//! `client/examples/`. The `wsman` command line is a separate crate
//! (`client/cli`, `wsman-cli`) built on this one.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod binding;
pub mod connection;
pub mod copy;
pub mod error;
pub mod fanout;
pub mod format;
pub mod group;
pub mod host;
pub mod session;
pub mod winrs;
pub use connection::ConnectionInfo;
pub use error::{Error, Result};
pub use session::{PsSession, SessionOptions};
