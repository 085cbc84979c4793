//! Typed bodies of every PSRP message ([MS-PSRP] 2.2.2), each with
//! `to_value()` and `from_value()` over [`clixml::Value`],
//! and [`Body`], the tagged union a [`Message`](crate::message::Message)'s
//! data decodes into.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

mod pipeline;
mod pool;

pub use pipeline::{CreatePipeline, HostCall, HostResponse, PipelineStateMessage};
pub use pool::{
    ApplicationPrivateData, Availability, CallId, ConnectRunspacePool, EncryptedSessionKey,
    GetCommandMetadata, InitRunspacePool, PublicKey, RunspaceAvailability, RunspacePoolInitData,
    RunspacePoolStateMessage, SessionCapability, SetRunspaces, UserEvent,
};

use crate::clixml::{self, Value};
use crate::error::{Error, Result};
use crate::message::MessageType;
use crate::types::{ErrorRecord, InformationRecord, InformationalRecord, ProgressRecord};

/// The decoded body of a PSRP message, one variant per message type.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Body {
    SessionCapability(SessionCapability),
    InitRunspacePool(InitRunspacePool),
    PublicKey(PublicKey),
    EncryptedSessionKey(EncryptedSessionKey),
    /// PUBLIC_KEY_REQUEST ([MS-PSRP] 2.2.2.5): an empty string.
    PublicKeyRequest,
    ConnectRunspacePool(ConnectRunspacePool),
    SetMaxRunspaces(SetRunspaces),
    SetMinRunspaces(SetRunspaces),
    RunspaceAvailability(RunspaceAvailability),
    RunspacePoolState(RunspacePoolStateMessage),
    CreatePipeline(CreatePipeline),
    GetAvailableRunspaces(CallId),
    UserEvent(UserEvent),
    ApplicationPrivateData(ApplicationPrivateData),
    GetCommandMetadata(GetCommandMetadata),
    RunspacePoolInitData(RunspacePoolInitData),
    ResetRunspaceState(CallId),
    RunspacePoolHostCall(HostCall),
    RunspacePoolHostResponse(HostResponse),
    /// PIPELINE_INPUT ([MS-PSRP] 2.2.2.17): one input object.
    PipelineInput(Value),
    /// END_OF_PIPELINE_INPUT ([MS-PSRP] 2.2.2.18): no data.
    EndOfPipelineInput,
    /// PIPELINE_OUTPUT ([MS-PSRP] 2.2.2.19): one output object.
    PipelineOutput(Value),
    ErrorRecord(ErrorRecord),
    PipelineState(PipelineStateMessage),
    DebugRecord(InformationalRecord),
    VerboseRecord(InformationalRecord),
    WarningRecord(InformationalRecord),
    ProgressRecord(ProgressRecord),
    InformationRecord(InformationRecord),
    PipelineHostCall(HostCall),
    PipelineHostResponse(HostResponse),
}

impl Body {
    /// The message type of this body.
    pub fn message_type(&self) -> MessageType {
        use MessageType as T;
        match self {
            Body::SessionCapability(_) => T::SESSION_CAPABILITY,
            Body::InitRunspacePool(_) => T::INIT_RUNSPACEPOOL,
            Body::PublicKey(_) => T::PUBLIC_KEY,
            Body::EncryptedSessionKey(_) => T::ENCRYPTED_SESSION_KEY,
            Body::PublicKeyRequest => T::PUBLIC_KEY_REQUEST,
            Body::ConnectRunspacePool(_) => T::CONNECT_RUNSPACEPOOL,
            Body::SetMaxRunspaces(_) => T::SET_MAX_RUNSPACES,
            Body::SetMinRunspaces(_) => T::SET_MIN_RUNSPACES,
            Body::RunspaceAvailability(_) => T::RUNSPACE_AVAILABILITY,
            Body::RunspacePoolState(_) => T::RUNSPACEPOOL_STATE,
            Body::CreatePipeline(_) => T::CREATE_PIPELINE,
            Body::GetAvailableRunspaces(_) => T::GET_AVAILABLE_RUNSPACES,
            Body::UserEvent(_) => T::USER_EVENT,
            Body::ApplicationPrivateData(_) => T::APPLICATION_PRIVATE_DATA,
            Body::GetCommandMetadata(_) => T::GET_COMMAND_METADATA,
            Body::RunspacePoolInitData(_) => T::RUNSPACEPOOL_INIT_DATA,
            Body::ResetRunspaceState(_) => T::RESET_RUNSPACE_STATE,
            Body::RunspacePoolHostCall(_) => T::RUNSPACEPOOL_HOST_CALL,
            Body::RunspacePoolHostResponse(_) => T::RUNSPACEPOOL_HOST_RESPONSE,
            Body::PipelineInput(_) => T::PIPELINE_INPUT,
            Body::EndOfPipelineInput => T::END_OF_PIPELINE_INPUT,
            Body::PipelineOutput(_) => T::PIPELINE_OUTPUT,
            Body::ErrorRecord(_) => T::ERROR_RECORD,
            Body::PipelineState(_) => T::PIPELINE_STATE,
            Body::DebugRecord(_) => T::DEBUG_RECORD,
            Body::VerboseRecord(_) => T::VERBOSE_RECORD,
            Body::WarningRecord(_) => T::WARNING_RECORD,
            Body::ProgressRecord(_) => T::PROGRESS_RECORD,
            Body::InformationRecord(_) => T::INFORMATION_RECORD,
            Body::PipelineHostCall(_) => T::PIPELINE_HOST_CALL,
            Body::PipelineHostResponse(_) => T::PIPELINE_HOST_RESPONSE,
        }
    }

    /// The body as a CLIXML value; `None` for END_OF_PIPELINE_INPUT, whose
    /// data is empty.
    pub fn to_value(&self) -> Option<Value> {
        Some(match self {
            Body::SessionCapability(b) => b.to_value(),
            Body::InitRunspacePool(b) => b.to_value(),
            Body::PublicKey(b) => b.to_value(),
            Body::EncryptedSessionKey(b) => b.to_value(),
            Body::PublicKeyRequest => Value::String(String::new()),
            Body::ConnectRunspacePool(b) => b.to_value(),
            Body::SetMaxRunspaces(b) => b.to_value(true),
            Body::SetMinRunspaces(b) => b.to_value(false),
            Body::RunspaceAvailability(b) => b.to_value(),
            Body::RunspacePoolState(b) => b.to_value(),
            Body::CreatePipeline(b) => b.to_value(),
            Body::GetAvailableRunspaces(b) => b.to_value(),
            Body::UserEvent(b) => b.to_value(),
            Body::ApplicationPrivateData(b) => b.to_value(),
            Body::GetCommandMetadata(b) => b.to_value(),
            Body::RunspacePoolInitData(b) => b.to_value(),
            Body::ResetRunspaceState(b) => b.to_value(),
            Body::RunspacePoolHostCall(b) | Body::PipelineHostCall(b) => b.to_value(),
            Body::RunspacePoolHostResponse(b) | Body::PipelineHostResponse(b) => b.to_value(),
            Body::PipelineInput(v) | Body::PipelineOutput(v) => v.clone(),
            Body::EndOfPipelineInput => return None,
            Body::ErrorRecord(b) => b.to_value(),
            Body::PipelineState(b) => b.to_value(),
            Body::DebugRecord(b) | Body::VerboseRecord(b) | Body::WarningRecord(b) => b.to_value(),
            Body::ProgressRecord(b) => b.to_value(),
            Body::InformationRecord(b) => b.to_value(),
        })
    }

    /// Decodes a body of the given type from its CLIXML value.
    pub fn from_value(t: MessageType, v: &Value) -> Result<Body> {
        use MessageType as T;
        Ok(match t {
            T::SESSION_CAPABILITY => Body::SessionCapability(SessionCapability::from_value(v)?),
            T::INIT_RUNSPACEPOOL => Body::InitRunspacePool(InitRunspacePool::from_value(v)?),
            T::PUBLIC_KEY => Body::PublicKey(PublicKey::from_value(v)?),
            T::ENCRYPTED_SESSION_KEY => {
                Body::EncryptedSessionKey(EncryptedSessionKey::from_value(v)?)
            }
            T::PUBLIC_KEY_REQUEST => Body::PublicKeyRequest,
            T::CONNECT_RUNSPACEPOOL => {
                Body::ConnectRunspacePool(ConnectRunspacePool::from_value(v)?)
            }
            T::SET_MAX_RUNSPACES => Body::SetMaxRunspaces(SetRunspaces::from_value(v, true)?),
            T::SET_MIN_RUNSPACES => Body::SetMinRunspaces(SetRunspaces::from_value(v, false)?),
            T::RUNSPACE_AVAILABILITY => {
                Body::RunspaceAvailability(RunspaceAvailability::from_value(v)?)
            }
            T::RUNSPACEPOOL_STATE => {
                Body::RunspacePoolState(RunspacePoolStateMessage::from_value(v)?)
            }
            T::CREATE_PIPELINE => Body::CreatePipeline(CreatePipeline::from_value(v)?),
            T::GET_AVAILABLE_RUNSPACES => Body::GetAvailableRunspaces(CallId::from_value(v)?),
            T::USER_EVENT => Body::UserEvent(UserEvent::from_value(v)?),
            T::APPLICATION_PRIVATE_DATA => {
                Body::ApplicationPrivateData(ApplicationPrivateData::from_value(v)?)
            }
            T::GET_COMMAND_METADATA => Body::GetCommandMetadata(GetCommandMetadata::from_value(v)?),
            T::RUNSPACEPOOL_INIT_DATA => {
                Body::RunspacePoolInitData(RunspacePoolInitData::from_value(v)?)
            }
            T::RESET_RUNSPACE_STATE => Body::ResetRunspaceState(CallId::from_value(v)?),
            T::RUNSPACEPOOL_HOST_CALL => Body::RunspacePoolHostCall(HostCall::from_value(v)?),
            T::RUNSPACEPOOL_HOST_RESPONSE => {
                Body::RunspacePoolHostResponse(HostResponse::from_value(v)?)
            }
            T::PIPELINE_INPUT => Body::PipelineInput(v.clone()),
            T::END_OF_PIPELINE_INPUT => Body::EndOfPipelineInput,
            T::PIPELINE_OUTPUT => Body::PipelineOutput(v.clone()),
            T::ERROR_RECORD => Body::ErrorRecord(ErrorRecord::from_value(v)?),
            T::PIPELINE_STATE => Body::PipelineState(PipelineStateMessage::from_value(v)?),
            T::DEBUG_RECORD => Body::DebugRecord(InformationalRecord::from_value(v)?),
            T::VERBOSE_RECORD => Body::VerboseRecord(InformationalRecord::from_value(v)?),
            T::WARNING_RECORD => Body::WarningRecord(InformationalRecord::from_value(v)?),
            T::PROGRESS_RECORD => Body::ProgressRecord(ProgressRecord::from_value(v)?),
            T::INFORMATION_RECORD => Body::InformationRecord(InformationRecord::from_value(v)?),
            T::PIPELINE_HOST_CALL => Body::PipelineHostCall(HostCall::from_value(v)?),
            T::PIPELINE_HOST_RESPONSE => Body::PipelineHostResponse(HostResponse::from_value(v)?),
        })
    }

    /// The value of a PIPELINE_OUTPUT ([MS-PSRP] 2.2.2.19), `$null` when
    /// the message has no data: [`decode`](Self::decode) without the
    /// [`Body`] around it, for the bulk of a large Receive.
    pub fn decode_output(data: &[u8]) -> Result<Value> {
        if data.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        clixml::from_slice(data).map_err(|source| Error::Decode {
            what: MessageType::PIPELINE_OUTPUT.name(),
            source,
        })
    }

    /// Decodes a body from a message's data (UTF-8 CLIXML, BOM already
    /// removed). Empty data is allowed for END_OF_PIPELINE_INPUT and, as
    /// `$null`, for PIPELINE_INPUT and PIPELINE_OUTPUT.
    pub fn decode(t: MessageType, data: &[u8]) -> Result<Body> {
        if t == MessageType::PIPELINE_OUTPUT {
            return Body::decode_output(data).map(Body::PipelineOutput);
        }
        let trimmed = data.iter().all(u8::is_ascii_whitespace);
        if trimmed {
            return match t {
                MessageType::END_OF_PIPELINE_INPUT => Ok(Body::EndOfPipelineInput),
                MessageType::PIPELINE_OUTPUT => Ok(Body::PipelineOutput(Value::Null)),
                MessageType::PIPELINE_INPUT => Ok(Body::PipelineInput(Value::Null)),
                MessageType::PUBLIC_KEY_REQUEST => Ok(Body::PublicKeyRequest),
                _ => Err(Error::clixml(t.name(), "the message has no data")),
            };
        }
        if t == MessageType::END_OF_PIPELINE_INPUT {
            return Ok(Body::EndOfPipelineInput);
        }
        let v = clixml::from_slice(data).map_err(|source| Error::Decode {
            what: t.name(),
            source,
        })?;
        match t {
            // the value is the body: moved, not cloned
            MessageType::PIPELINE_OUTPUT => Ok(Body::PipelineOutput(v)),
            MessageType::PIPELINE_INPUT => Ok(Body::PipelineInput(v)),
            _ => Body::from_value(t, &v),
        }
    }

    /// Encodes the body as message data: compact UTF-8 CLIXML, or nothing
    /// for END_OF_PIPELINE_INPUT.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            // Serialized where it is: pipeline input can be a file copy's
            // chunk of hundreds of KB, not worth a clone.
            Body::PipelineInput(v) | Body::PipelineOutput(v) => clixml::to_string(v).into_bytes(),
            _ => match self.to_value() {
                Some(v) => clixml::to_string(&v).into_bytes(),
                None => Vec::new(),
            },
        }
    }
}
