//! The PowerShell Remoting Protocol ([MS-PSRP]) without I/O: fragments,
//! messages, CLIXML, the runspace-pool and pipeline state machines, host calls
//! and the session key used for SecureString.
//!
//! No sockets, no async runtime, no clock: a transport feeds received bytes in
//! and drains what the protocol wants to send. The same engine runs over
//! WS-Management (WinRM) and over PowerShell's out-of-process framing (SSH).
//!
//! # Call order
//!
//! 1. Make a [`RunspacePool`] ([`RunspacePool::new`], or
//!    [`RunspacePool::with_id`] to connect to an existing one).
//! 2. Give it a command: [`open`](RunspacePool::open) (or
//!    [`connect`](RunspacePool::connect)). Commands only queue messages and
//!    change state; an illegal one returns [`Error::InvalidState`] naming
//!    the current and the expected state.
//! 3. Drain what to send: for a WS-Man Create,
//!    [`creation_payload`](RunspacePool::creation_payload) gives the
//!    `creationXml` bytes (base64 them); afterwards
//!    [`data_to_send`](RunspacePool::data_to_send) gives [`Outgoing`]
//!    packets, each saying its stream (`stdin` or `pr`) and its pipeline
//!    (the WS-Man CommandId, or `None` for the pool).
//! 4. Feed every received `rsp:Stream` (base64-decoded) to
//!    [`receive_data`](RunspacePool::receive_data), then poll
//!    [`next_event`](RunspacePool::next_event) until it returns `None`:
//!    [`Event`]s are state changes, output, records and host calls.
//! 5. Repeat 2 to 4: [`create_pipeline`](RunspacePool::create_pipeline),
//!    [`send_input`](RunspacePool::send_input),
//!    [`host_response`](RunspacePool::host_response), ... The WS-Man
//!    operations that carry no PSRP message (Signal to stop, Disconnect,
//!    Reconnect, Delete) are the transport's; it tells the pool with
//!    [`stop`](RunspacePool::stop),
//!    [`disconnected`](RunspacePool::disconnected),
//!    [`reconnected`](RunspacePool::reconnected),
//!    [`closed`](RunspacePool::closed).
//!
//! # Example
//!
//! A pool opened against an in-memory server whose answers are built with
//! the crate's own message types:
//!
//! ```
//! use psrp::fragment::Fragment;
//! use psrp::message::{Destination, Message};
//! use psrp::messages::{Body, CreatePipeline, PipelineStateMessage, RunspacePoolStateMessage,
//!     SessionCapability};
//! use psrp::types::{Command, PSInvocationState, PowerShell, RunspacePoolState};
//! use psrp::{clixml::Value, Event, RunspacePool, RunspacePoolConfig};
//!
//! // What a server would put in an rsp:Stream.
//! fn server(pool: &RunspacePool, pid: Option<uuid::Uuid>, body: Body, oid: u64) -> Vec<u8> {
//!     let msg = Message { destination: Destination::Client, message_type: body.message_type(),
//!         rpid: pool.id(), pid, data: body.encode() }.encode();
//!     let mut out = Vec::new();
//!     Fragment { object_id: oid, fragment_id: 0, start: true, end: true, data: &msg }
//!         .encode_into(&mut out);
//!     out
//! }
//!
//! let mut pool = RunspacePool::new(RunspacePoolConfig::default());
//! pool.open()?;
//! let creation_xml = pool.creation_payload(150 * 1024)?; // goes in wxf:Create
//! assert!(!creation_xml.is_empty());
//!
//! pool.receive_data(&server(&pool, None, Body::SessionCapability(SessionCapability::default()), 1))?;
//! pool.receive_data(&server(&pool, None, Body::RunspacePoolState(RunspacePoolStateMessage {
//!     state: RunspacePoolState::Opened, error: None }), 2))?;
//! assert_eq!(pool.state(), RunspacePoolState::Opened);
//!
//! let ps = PowerShell::new(vec![Command::new("Get-Date")]);
//! let pid = pool.create_pipeline(CreatePipeline::new(ps))?;
//! let command = pool.data_to_send(150 * 1024)?.expect("CREATE_PIPELINE");
//! assert_eq!(command.pipeline_id, Some(pid)); // wxf:Command with CommandId = pid
//!
//! pool.receive_data(&server(&pool, Some(pid), Body::PipelineOutput(Value::I32(42)), 3))?;
//! pool.receive_data(&server(&pool, Some(pid), Body::PipelineState(PipelineStateMessage {
//!     state: PSInvocationState::Completed, error: None }), 4))?;
//! let mut output = Vec::new();
//! while let Some(event) = pool.next_event() {
//!     if let Event::Output { value, .. } = event {
//!         output.push(value);
//!     }
//! }
//! assert_eq!(output, [Value::I32(42)]);
//! assert_eq!(pool.pipeline_state(pid), Some(PSInvocationState::Completed));
//! # Ok::<(), psrp::Error>(())
//! ```
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
#![forbid(unsafe_code)]
#![warn(missing_docs)]
pub mod clixml;
pub mod crypto;
pub mod error;
pub mod event;
pub mod fragment;
pub mod message;

pub use error::{Error, Result};
pub use event::Event;
pub use fragment::{Outgoing, Stream};
pub use pool::{RunspacePool, RunspacePoolConfig};
pub mod messages;
mod obj;
mod pipeline;
pub mod pool;
pub mod random;
pub mod types;
