//! The receiving half of the client RunspacePool: reassembly, decoding
//! and the reaction to each server message ([MS-PSRP] 3.1.5.4).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use uuid::Uuid;

use super::{KeyState, PendingCall, RunspacePool};
use crate::crypto::ExchangeKey;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::message::{Destination, MessageRef, MessageType};
use crate::messages::{Availability, Body, PublicKey};
use crate::types::RunspacePoolState;

impl RunspacePool {
    /// Feeds received bytes: the base64-decoded content of one `rsp:Stream`
    /// (or of `connectResponseXml`, or an out-of-process `<Data>`). Events
    /// become available through [`next_event`](Self::next_event).
    ///
    /// An error means the peer sent something this pool cannot accept; the
    /// events of the messages before it are still queued.
    pub fn receive_data(&mut self, data: &[u8]) -> Result<()> {
        self.receive_all([data])
    }

    /// [`receive_data`](Self::receive_data) of several pieces in order: the
    /// `rsp:Stream`s of one Receive ([MS-PSRP] 3.1.5.4.1), thousands when a
    /// pipeline has much output (a Windows host sends each fragment in its
    /// own, as every recorded answer in `fixtures/recordings` does).
    pub fn receive_all<'a>(&mut self, pieces: impl IntoIterator<Item = &'a [u8]>) -> Result<()> {
        // Taken out for the call (`process` never touches it): each message
        // is processed as the reassembler completes it, one that came whole
        // in a fragment straight from the piece, without a copy.
        let mut reassembler = std::mem::take(&mut self.reassembler);
        let result = pieces.into_iter().try_for_each(|data| {
            reassembler.feed_with(data, |_, raw| self.process(MessageRef::decode(&raw)?))
        });
        self.reassembler = reassembler;
        result
    }

    /// The next event, or `None` until more data is received.
    ///
    /// Once every event is taken, the room a burst needed (thousands of
    /// outputs from one Receive) is kept only for a burst as large: a
    /// session does not keep its largest burst for the rest of its life.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn process(&mut self, msg: MessageRef<'_>) -> Result<()> {
        if msg.destination != Destination::Client {
            return Err(Error::Protocol(format!(
                "{} addressed to the server arrived at the client",
                msg.message_type.name()
            )));
        }
        // Windows sends its SESSION_CAPABILITY with an empty RPID.
        if msg.rpid != self.id && !msg.rpid.is_nil() {
            return Err(Error::Protocol(format!(
                "{} for RunspacePool {} arrived at pool {}",
                msg.message_type.name(),
                msg.rpid,
                self.id
            )));
        }
        if let (MessageType::PIPELINE_OUTPUT, Some(pid)) = (msg.message_type, msg.pid) {
            // the bulk of a large Receive: the value is queued without the
            // Body and Event around it
            if !self.pipelines.contains_key(&pid) {
                return Err(Error::Protocol(format!(
                    "{} for unknown pipeline {pid}",
                    msg.message_type.name()
                )));
            }
            let value = Body::decode_output(msg.data)?;
            self.events.push_output(pid, value);
            return Ok(());
        }
        let body = Body::decode(msg.message_type, msg.data)?;
        match msg.pid {
            None => self.process_pool(body),
            Some(pid) => self.process_pipeline(pid, body),
        }
    }

    fn process_pool(&mut self, body: Body) -> Result<()> {
        match body {
            Body::SessionCapability(c) => {
                self.their_capability = Some(c.clone());
                self.events.push_back(Event::SessionCapability(c));
            }
            Body::ApplicationPrivateData(d) => {
                self.application_private_data = d.data.clone();
                self.events.push_back(Event::ApplicationPrivateData(d.data));
            }
            Body::RunspacePoolInitData(d) => {
                self.config.min_runspaces = d.min_runspaces;
                self.config.max_runspaces = d.max_runspaces;
                self.events.push_back(Event::RunspacePoolInitData {
                    min_runspaces: d.min_runspaces,
                    max_runspaces: d.max_runspaces,
                });
                if self.state == RunspacePoolState::Connecting {
                    self.set_state(RunspacePoolState::Opened, None);
                }
            }
            Body::RunspacePoolState(s) => {
                let allowed = match s.state {
                    RunspacePoolState::Opened => matches!(
                        self.state,
                        RunspacePoolState::Opening
                            | RunspacePoolState::Connecting
                            | RunspacePoolState::Opened
                    ),
                    RunspacePoolState::Broken | RunspacePoolState::Closed => true,
                    _ => false,
                };
                if !allowed {
                    return Err(Error::Protocol(format!(
                        "RUNSPACEPOOL_STATE {:?} while the pool is {:?}",
                        s.state, self.state
                    )));
                }
                let broken = s.state == RunspacePoolState::Broken;
                self.set_state(s.state, s.error);
                if broken {
                    self.fail_pipelines();
                }
            }
            Body::RunspaceAvailability(a) => {
                let call = self.pending.remove(&a.ci).ok_or_else(|| {
                    Error::Protocol(format!(
                        "RUNSPACE_AVAILABILITY answers call {} that was never made",
                        a.ci
                    ))
                })?;
                match (call, a.response) {
                    (PendingCall::SetMax(v), Availability::Success(true)) => {
                        self.config.max_runspaces = v
                    }
                    (PendingCall::SetMin(v), Availability::Success(true)) => {
                        self.config.min_runspaces = v
                    }
                    _ => {}
                }
                self.events.push_back(Event::RunspaceAvailability {
                    ci: a.ci,
                    response: a.response,
                });
            }
            Body::UserEvent(e) => self.events.push_back(Event::UserEvent(e)),
            Body::PublicKeyRequest => {
                // The server wants SecureStrings (protocol 2.1 and 2.2 hosts
                // ask; later ones leave it to the client).
                if matches!(self.key, KeyState::None) {
                    let key = match self.exchange_key.take() {
                        Some(k) => k,
                        None => Box::new(ExchangeKey::generate_with(&mut *self.random)?),
                    };
                    use base64::Engine;
                    let blob =
                        base64::engine::general_purpose::STANDARD.encode(key.public_key_blob());
                    self.queue(&Body::PublicKey(PublicKey { public_key: blob }), None);
                    self.key = KeyState::Requested(key);
                }
            }
            Body::EncryptedSessionKey(k) => {
                let KeyState::Requested(exchange) = &self.key else {
                    return Err(Error::Protocol(
                        "ENCRYPTED_SESSION_KEY without a PUBLIC_KEY".into(),
                    ));
                };
                use base64::Engine;
                let blob = base64::engine::general_purpose::STANDARD
                    .decode(k.encrypted_session_key.trim())
                    .map_err(|e| Error::Crypto(format!("the session key is not base64: {e}")))?;
                let session = exchange.decrypt_session_key(&blob)?;
                self.key = KeyState::Ready(session);
                self.events.push_back(Event::KeyExchanged);
            }
            Body::RunspacePoolHostCall(call) => {
                if call.wants_response() {
                    self.host_calls.insert(call.ci, (None, call.method));
                }
                self.events.push_back(Event::HostCall {
                    pipeline_id: None,
                    call,
                });
            }
            other => {
                return Err(Error::Protocol(format!(
                    "the server sent {} to the RunspacePool",
                    other.message_type().name()
                )))
            }
        }
        Ok(())
    }

    fn process_pipeline(&mut self, pipeline_id: Uuid, body: Body) -> Result<()> {
        let Some(p) = self.pipelines.get_mut(&pipeline_id) else {
            return Err(Error::Protocol(format!(
                "{} for unknown pipeline {pipeline_id}",
                body.message_type().name()
            )));
        };
        let event = match body {
            Body::PipelineOutput(value) => Event::Output { pipeline_id, value },
            Body::ErrorRecord(record) => Event::Error {
                pipeline_id,
                record,
            },
            Body::WarningRecord(record) => Event::Warning {
                pipeline_id,
                record,
            },
            Body::VerboseRecord(record) => Event::Verbose {
                pipeline_id,
                record,
            },
            Body::DebugRecord(record) => Event::Debug {
                pipeline_id,
                record,
            },
            Body::InformationRecord(record) => Event::Information {
                pipeline_id,
                record,
            },
            Body::ProgressRecord(record) => Event::Progress {
                pipeline_id,
                record,
            },
            Body::PipelineState(s) => {
                p.state = s.state;
                if s.state.is_terminal() {
                    p.input_open = false;
                    self.host_calls
                        .retain(|_, (pid, _)| *pid != Some(pipeline_id));
                }
                Event::PipelineState {
                    pipeline_id,
                    state: s.state,
                    error: s.error,
                }
            }
            Body::PipelineHostCall(call) => {
                if call.wants_response() {
                    self.host_calls
                        .insert(call.ci, (Some(pipeline_id), call.method));
                }
                Event::HostCall {
                    pipeline_id: Some(pipeline_id),
                    call,
                }
            }
            other => {
                return Err(Error::Protocol(format!(
                    "the server sent {} to a pipeline",
                    other.message_type().name()
                )))
            }
        };
        self.events.push_back(event);
        Ok(())
    }
}
