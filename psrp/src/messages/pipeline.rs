//! Pipeline and host messages ([MS-PSRP] 2.2.2.10, 2.2.2.15 to 2.2.2.28).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use crate::clixml::Value;
use crate::error::{Error, Result};
use crate::obj::{as_list, list, Builder, Obj};
use crate::types::{
    ApartmentState, ErrorRecord, HostInfo, HostMethodIdentifier, PSInvocationState, PowerShell,
    RemoteStreamOptions,
};

/// CREATE_PIPELINE ([MS-PSRP] 2.2.2.10): the pipeline to run.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatePipeline {
    /// `NoInput`: no PIPELINE_INPUT will follow.
    pub no_input: bool,
    /// `ApartmentState`.
    pub apartment_state: ApartmentState,
    /// `RemoteStreamOptions`.
    pub remote_stream_options: RemoteStreamOptions,
    /// `AddToHistory`.
    pub add_to_history: bool,
    /// `HostInfo`.
    pub host_info: HostInfo,
    /// `PowerShell`: the statements and commands.
    pub power_shell: PowerShell,
    /// `IsNested`.
    pub is_nested: bool,
}

impl CreatePipeline {
    /// A pipeline with the defaults PowerShell uses for `Invoke-Command`:
    /// no input, no host, InvocationInfo on every record.
    pub fn new(power_shell: PowerShell) -> Self {
        CreatePipeline {
            no_input: true,
            apartment_state: ApartmentState::Unknown,
            remote_stream_options: RemoteStreamOptions::AddInvocationInfo,
            add_to_history: false,
            host_info: HostInfo::none(),
            power_shell,
            is_nested: false,
        }
    }

    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .prop("NoInput", self.no_input)
            .prop("ApartmentState", self.apartment_state.to_value())
            .prop("RemoteStreamOptions", self.remote_stream_options.to_value())
            .prop("AddToHistory", self.add_to_history)
            .prop("HostInfo", self.host_info.to_value())
            .prop("PowerShell", self.power_shell.to_value())
            .prop("IsNested", self.is_nested)
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "CREATE_PIPELINE")?;
        Ok(CreatePipeline {
            no_input: o.bool("NoInput")?,
            apartment_state: ApartmentState::from_value(o.req("ApartmentState")?)?,
            remote_stream_options: RemoteStreamOptions::from_value(o.req("RemoteStreamOptions")?)?,
            add_to_history: o.bool("AddToHistory")?,
            host_info: HostInfo::from_value(o.req("HostInfo")?)?,
            power_shell: PowerShell::from_value(o.req("PowerShell")?)?,
            is_nested: o.opt_bool("IsNested")?.unwrap_or(false),
        })
    }
}

/// RUNSPACEPOOL_HOST_CALL ([MS-PSRP] 2.2.2.15) and PIPELINE_HOST_CALL
/// ([MS-PSRP] 2.2.2.27): the server calls a method of the client's host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostCall {
    /// `ci`: the call id; [`HostCall::NO_RESPONSE`] for a method that returns
    /// nothing.
    pub ci: i64,
    /// `mi`: the method.
    pub method: HostMethodIdentifier,
    /// `mp`: the arguments, in the order of
    /// [`HostMethodIdentifier::parameters`].
    pub parameters: Vec<Value>,
}

const ARRAY_LIST: [&str; 2] = ["System.Collections.ArrayList", "System.Object"];

impl HostCall {
    /// The call id of a method that returns nothing: no response is sent
    /// ([MS-PSRP] 2.2.2.15, 3.1.4.5).
    pub const NO_RESPONSE: i64 = -100;

    /// Whether the server waits for a RUNSPACEPOOL_HOST_RESPONSE /
    /// PIPELINE_HOST_RESPONSE to this call.
    pub fn wants_response(&self) -> bool {
        self.ci != Self::NO_RESPONSE
    }

    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .prop("ci", self.ci)
            .prop("mi", self.method.to_value())
            .prop("mp", list(&ARRAY_LIST, self.parameters.clone()))
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "HOST_CALL")?;
        let parameters = match o.opt("mp") {
            None => Vec::new(),
            Some(mp) => as_list(mp)
                .ok_or_else(|| Error::clixml("HOST_CALL", "mp is not a list"))?
                .to_vec(),
        };
        Ok(HostCall {
            ci: o.i64("ci")?,
            method: HostMethodIdentifier::from_value(o.req("mi")?)?,
            parameters,
        })
    }
}

/// RUNSPACEPOOL_HOST_RESPONSE ([MS-PSRP] 2.2.2.16) and
/// PIPELINE_HOST_RESPONSE ([MS-PSRP] 2.2.2.28): the client's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HostResponse {
    /// `ci`: the call answered.
    pub ci: i64,
    /// `mi`: the method called.
    pub method: HostMethodIdentifier,
    /// `mr`: the return value.
    pub result: Option<Value>,
    /// `me`: the error the host raised instead.
    pub error: Option<ErrorRecord>,
}

impl HostResponse {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .prop("ci", self.ci)
            .prop("mi", self.method.to_value())
            .maybe("mr", self.result.clone())
            .maybe("me", self.error.as_ref().map(ErrorRecord::to_value))
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "HOST_RESPONSE")?;
        Ok(HostResponse {
            ci: o.i64("ci")?,
            method: HostMethodIdentifier::from_value(o.req("mi")?)?,
            result: o.get("mr").cloned(),
            error: o.opt("me").map(ErrorRecord::from_value).transpose()?,
        })
    }
}

/// PIPELINE_STATE ([MS-PSRP] 2.2.2.21).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineStateMessage {
    /// `PipelineState`.
    pub state: PSInvocationState,
    /// `ExceptionAsErrorRecord`: why the pipeline failed or stopped.
    pub error: Option<ErrorRecord>,
}

impl PipelineStateMessage {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .prop("PipelineState", self.state.value())
            .maybe(
                "ExceptionAsErrorRecord",
                self.error.as_ref().map(ErrorRecord::to_value),
            )
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "PIPELINE_STATE")?;
        Ok(PipelineStateMessage {
            state: PSInvocationState::from_value(o.req("PipelineState")?)?,
            error: o
                .opt("ExceptionAsErrorRecord")
                .map(ErrorRecord::from_value)
                .transpose()?,
        })
    }
}
