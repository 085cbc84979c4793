//! RunspacePool messages ([MS-PSRP] 2.2.2.1 to 2.2.2.16, 2.2.2.29 to
//! 2.2.2.31).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use crate::clixml::Value;
use crate::error::{Error, Result};
use crate::obj::{as_i64, as_list, as_string, list, Builder, Obj};
use crate::types::{
    ApartmentState, CommandTypes, ErrorRecord, HostInfo, PSThreadOptions, PrimitiveDictionary,
    RunspacePoolState,
};

fn version(o: &Obj<'_>, name: &str) -> Result<String> {
    match o.req(name)? {
        Value::Version(v) | Value::String(v) => Ok(v.clone()),
        _ => Err(Error::clixml(
            "SESSION_CAPABILITY",
            format!("{name} is not a Version"),
        )),
    }
}

/// SESSION_CAPABILITY ([MS-PSRP] 2.2.2.1): the versions each side speaks.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionCapability {
    /// `protocolversion`, e.g. `2.3`.
    pub protocol_version: String,
    /// `PSVersion`, e.g. `2.0`.
    pub ps_version: String,
    /// `SerializationVersion`, e.g. `1.1.0.1`.
    pub serialization_version: String,
    /// `TimeZone`: the client's serialized time zone, optional.
    pub time_zone: Option<Vec<u8>>,
}

impl SessionCapability {
    /// The protocol version this implementation speaks ([MS-PSRP] 2.2.3.12:
    /// 2.3 is PowerShell 3 and later), announced in SESSION_CAPABILITY and
    /// in the WS-Man `protocolversion` option of Create and Connect.
    pub const PROTOCOL_VERSION: &'static str = "2.3";
}

impl Default for SessionCapability {
    fn default() -> Self {
        SessionCapability {
            protocol_version: Self::PROTOCOL_VERSION.into(),
            ps_version: "2.0".into(),
            serialization_version: "1.1.0.1".into(),
            time_zone: None,
        }
    }
}

impl SessionCapability {
    /// The protocol version as (major, minor); (2, 0) if it does not parse.
    pub fn protocol(&self) -> (u32, u32) {
        let mut it = self
            .protocol_version
            .split('.')
            .map(|p| p.parse().unwrap_or(0));
        (it.next().unwrap_or(2), it.next().unwrap_or(0))
    }

    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .prop(
                "protocolversion",
                Value::Version(self.protocol_version.clone()),
            )
            .prop("PSVersion", Value::Version(self.ps_version.clone()))
            .prop(
                "SerializationVersion",
                Value::Version(self.serialization_version.clone()),
            )
            .maybe("TimeZone", self.time_zone.clone().map(Value::Bytes))
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "SESSION_CAPABILITY")?;
        Ok(SessionCapability {
            protocol_version: version(&o, "protocolversion")?,
            ps_version: version(&o, "PSVersion")?,
            serialization_version: version(&o, "SerializationVersion")?,
            time_zone: match o.opt("TimeZone") {
                Some(Value::Bytes(b)) => Some(b.clone()),
                _ => None,
            },
        })
    }
}

/// INIT_RUNSPACEPOOL ([MS-PSRP] 2.2.2.2): the pool the client asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct InitRunspacePool {
    /// `MinRunspaces`.
    pub min_runspaces: i32,
    /// `MaxRunspaces`.
    pub max_runspaces: i32,
    /// `PSThreadOptions`.
    pub thread_options: PSThreadOptions,
    /// `ApartmentState`.
    pub apartment_state: ApartmentState,
    /// `HostInfo`.
    pub host_info: HostInfo,
    /// `ApplicationArguments`: `$PSSenderInfo.ApplicationArguments` on the
    /// server.
    pub application_arguments: Option<PrimitiveDictionary>,
}

impl InitRunspacePool {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .prop("MinRunspaces", self.min_runspaces)
            .prop("MaxRunspaces", self.max_runspaces)
            .prop("PSThreadOptions", self.thread_options.to_value())
            .prop("ApartmentState", self.apartment_state.to_value())
            .prop("HostInfo", self.host_info.to_value())
            .nil_or(
                "ApplicationArguments",
                self.application_arguments
                    .as_ref()
                    .map(PrimitiveDictionary::to_value),
            )
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "INIT_RUNSPACEPOOL")?;
        Ok(InitRunspacePool {
            min_runspaces: o.i32("MinRunspaces")?,
            max_runspaces: o.i32("MaxRunspaces")?,
            thread_options: PSThreadOptions::from_value(o.req("PSThreadOptions")?)?,
            apartment_state: ApartmentState::from_value(o.req("ApartmentState")?)?,
            host_info: HostInfo::from_value(o.req("HostInfo")?)?,
            application_arguments: o
                .opt("ApplicationArguments")
                .map(PrimitiveDictionary::from_value)
                .transpose()?,
        })
    }
}

fn single_string(v: &Value, what: &'static str, name: &str) -> Result<String> {
    Obj::of(v, what)?.string(name)
}

/// PUBLIC_KEY ([MS-PSRP] 2.2.2.3): the client's RSA key, base64 of a CAPI
/// PUBLICKEYBLOB.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicKey {
    /// `PublicKey`.
    pub public_key: String,
}

impl PublicKey {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .prop("PublicKey", self.public_key.as_str())
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        Ok(PublicKey {
            public_key: single_string(v, "PUBLIC_KEY", "PublicKey")?,
        })
    }
}

/// ENCRYPTED_SESSION_KEY ([MS-PSRP] 2.2.2.4): the AES session key
/// encrypted with the client's public key, base64 of a CAPI SIMPLEBLOB.
#[derive(Debug, Clone, PartialEq)]
pub struct EncryptedSessionKey {
    /// `EncryptedSessionKey`.
    pub encrypted_session_key: String,
}

impl EncryptedSessionKey {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .prop("EncryptedSessionKey", self.encrypted_session_key.as_str())
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        Ok(EncryptedSessionKey {
            encrypted_session_key: single_string(
                v,
                "ENCRYPTED_SESSION_KEY",
                "EncryptedSessionKey",
            )?,
        })
    }
}

/// CONNECT_RUNSPACEPOOL ([MS-PSRP] 2.2.2.29): connect to a disconnected
/// pool, optionally changing its size.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectRunspacePool {
    /// `MinRunspaces`, if changed.
    pub min_runspaces: Option<i32>,
    /// `MaxRunspaces`, if changed.
    pub max_runspaces: Option<i32>,
}

impl ConnectRunspacePool {
    /// Encodes the message body: an empty `<S />` when nothing changes.
    pub fn to_value(&self) -> Value {
        if self.min_runspaces.is_none() && self.max_runspaces.is_none() {
            return Value::String(String::new());
        }
        Builder::new()
            .maybe("MinRunspaces", self.min_runspaces)
            .maybe("MaxRunspaces", self.max_runspaces)
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::String(_) | Value::Null => Ok(ConnectRunspacePool::default()),
            _ => {
                let o = Obj::of(v, "CONNECT_RUNSPACEPOOL")?;
                Ok(ConnectRunspacePool {
                    min_runspaces: o.opt_i32("MinRunspaces")?,
                    max_runspaces: o.opt_i32("MaxRunspaces")?,
                })
            }
        }
    }
}

/// SET_MAX_RUNSPACES ([MS-PSRP] 2.2.2.6) and SET_MIN_RUNSPACES
/// ([MS-PSRP] 2.2.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetRunspaces {
    /// `MaxRunspaces` or `MinRunspaces`.
    pub value: i32,
    /// `ci`: the call id the RUNSPACE_AVAILABILITY answer carries.
    pub ci: i64,
}

impl SetRunspaces {
    /// Encodes; `max` selects `MaxRunspaces` over `MinRunspaces`.
    pub fn to_value(&self, max: bool) -> Value {
        let name = if max { "MaxRunspaces" } else { "MinRunspaces" };
        Builder::new()
            .prop(name, self.value)
            .prop("ci", self.ci)
            .build()
    }

    /// Decodes; `max` selects `MaxRunspaces` over `MinRunspaces`.
    pub fn from_value(v: &Value, max: bool) -> Result<Self> {
        let (what, name) = if max {
            ("SET_MAX_RUNSPACES", "MaxRunspaces")
        } else {
            ("SET_MIN_RUNSPACES", "MinRunspaces")
        };
        let o = Obj::of(v, what)?;
        Ok(SetRunspaces {
            value: o.i32(name)?,
            ci: o.i64("ci")?,
        })
    }
}

/// A message whose only content is a call id: GET_AVAILABLE_RUNSPACES
/// ([MS-PSRP] 2.2.2.11) and RESET_RUNSPACE_STATE ([MS-PSRP] 2.2.2.31).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallId {
    /// `ci`.
    pub ci: i64,
}

impl CallId {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new().prop("ci", self.ci).build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        Ok(CallId {
            ci: Obj::of(v, "call id message")?.i64("ci")?,
        })
    }
}

/// The answer in RUNSPACE_AVAILABILITY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// To SET_MAX_RUNSPACES, SET_MIN_RUNSPACES, RESET_RUNSPACE_STATE:
    /// whether it worked.
    Success(bool),
    /// To GET_AVAILABLE_RUNSPACES: how many runspaces are free.
    Count(i64),
}

/// RUNSPACE_AVAILABILITY ([MS-PSRP] 2.2.2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunspaceAvailability {
    /// `SetMinMaxRunspacesResponse`.
    pub response: Availability,
    /// `ci`: the call it answers.
    pub ci: i64,
}

impl RunspaceAvailability {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        let r = match self.response {
            Availability::Success(b) => Value::Bool(b),
            // Windows sends the count as an I32.
            Availability::Count(n) => match i32::try_from(n) {
                Ok(n) => Value::I32(n),
                Err(_) => Value::I64(n),
            },
        };
        Builder::new()
            .prop("SetMinMaxRunspacesResponse", r)
            .prop("ci", self.ci)
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "RUNSPACE_AVAILABILITY")?;
        let response = match o.req("SetMinMaxRunspacesResponse")? {
            Value::Bool(b) => Availability::Success(*b),
            other => Availability::Count(as_i64(other).ok_or_else(|| {
                Error::clixml(
                    "RUNSPACE_AVAILABILITY",
                    "SetMinMaxRunspacesResponse is neither a boolean nor a count",
                )
            })?),
        };
        Ok(RunspaceAvailability {
            response,
            ci: o.i64("ci")?,
        })
    }
}

/// RUNSPACEPOOL_STATE ([MS-PSRP] 2.2.2.9).
#[derive(Debug, Clone, PartialEq)]
pub struct RunspacePoolStateMessage {
    /// `RunspaceState`.
    pub state: RunspacePoolState,
    /// `ExceptionAsErrorRecord`: why the pool broke or closed.
    pub error: Option<ErrorRecord>,
}

impl RunspacePoolStateMessage {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .prop("RunspaceState", self.state.value().unwrap_or(5))
            .maybe(
                "ExceptionAsErrorRecord",
                self.error.as_ref().map(ErrorRecord::to_value),
            )
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "RUNSPACEPOOL_STATE")?;
        let n = o.i32("RunspaceState")?;
        Ok(RunspacePoolStateMessage {
            state: RunspacePoolState::from_i32(n).ok_or_else(|| {
                Error::clixml("RUNSPACEPOOL_STATE", format!("unknown RunspaceState {n}"))
            })?,
            error: o
                .opt("ExceptionAsErrorRecord")
                .map(ErrorRecord::from_value)
                .transpose()?,
        })
    }
}

/// USER_EVENT ([MS-PSRP] 2.2.2.12): an event forwarded from the server.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    /// `PSEventArgs.EventIdentifier`.
    pub event_identifier: Option<i32>,
    /// `PSEventArgs.SourceIdentifier`.
    pub source_identifier: Option<String>,
    /// `PSEventArgs.TimeGenerated`, as sent.
    pub time_generated: Option<String>,
    /// `PSEventArgs.Sender`.
    pub sender: Value,
    /// `PSEventArgs.SourceArgs`.
    pub source_args: Value,
    /// `PSEventArgs.MessageData`.
    pub message_data: Value,
    /// `PSEventArgs.ComputerName`.
    pub computer_name: Option<String>,
    /// `PSEventArgs.RunspaceId`.
    pub runspace_id: Option<uuid::Uuid>,
}

impl UserEvent {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .nil_or("PSEventArgs.EventIdentifier", self.event_identifier)
            .nil_or(
                "PSEventArgs.SourceIdentifier",
                self.source_identifier.clone(),
            )
            .nil_or(
                "PSEventArgs.TimeGenerated",
                self.time_generated.clone().map(Value::DateTime),
            )
            .prop("PSEventArgs.Sender", self.sender.clone())
            .prop("PSEventArgs.SourceArgs", self.source_args.clone())
            .prop("PSEventArgs.MessageData", self.message_data.clone())
            .nil_or("PSEventArgs.ComputerName", self.computer_name.clone())
            .nil_or("PSEventArgs.RunspaceId", self.runspace_id.map(Value::Guid))
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "USER_EVENT")?;
        Ok(UserEvent {
            event_identifier: o.opt_i32("PSEventArgs.EventIdentifier")?,
            source_identifier: o.opt_string("PSEventArgs.SourceIdentifier")?,
            time_generated: match o.opt("PSEventArgs.TimeGenerated") {
                Some(Value::DateTime(s)) => Some(s.clone()),
                Some(other) => as_string(other).map(str::to_string),
                None => None,
            },
            sender: o.value("PSEventArgs.Sender"),
            source_args: o.value("PSEventArgs.SourceArgs"),
            message_data: o.value("PSEventArgs.MessageData"),
            computer_name: o.opt_string("PSEventArgs.ComputerName")?,
            runspace_id: match o.opt("PSEventArgs.RunspaceId") {
                Some(Value::Guid(g)) => Some(*g),
                _ => None,
            },
        })
    }
}

/// APPLICATION_PRIVATE_DATA ([MS-PSRP] 2.2.2.13): data the server's
/// application passes to the client (PSVersionTable and the like).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApplicationPrivateData {
    /// `ApplicationPrivateData`, `None` for `<Nil>`.
    pub data: Option<PrimitiveDictionary>,
}

impl ApplicationPrivateData {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .nil_or(
                "ApplicationPrivateData",
                self.data.as_ref().map(PrimitiveDictionary::to_value),
            )
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "APPLICATION_PRIVATE_DATA")?;
        Ok(ApplicationPrivateData {
            data: o
                .opt("ApplicationPrivateData")
                .map(PrimitiveDictionary::from_value)
                .transpose()?,
        })
    }
}

/// GET_COMMAND_METADATA ([MS-PSRP] 2.2.2.14): which commands to describe.
#[derive(Debug, Clone, PartialEq)]
pub struct GetCommandMetadata {
    /// `Name`: wildcard patterns of command names.
    pub names: Vec<String>,
    /// `CommandType`.
    pub command_type: CommandTypes,
    /// `Namespace`: wildcard patterns of module names.
    pub namespace: Option<Vec<String>>,
    /// `ArgumentList`.
    pub argument_list: Option<Vec<Value>>,
}

const STRING_ARRAY: [&str; 3] = ["System.String[]", "System.Array", "System.Object"];
const OBJECT_ARRAY: [&str; 3] = ["System.Object[]", "System.Array", "System.Object"];

impl GetCommandMetadata {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        let strings = |v: &[String]| {
            list(
                &STRING_ARRAY,
                v.iter().map(|s| Value::String(s.clone())).collect(),
            )
        };
        Builder::new()
            .prop("Name", strings(&self.names))
            .prop("CommandType", self.command_type.to_value())
            .nil_or("Namespace", self.namespace.as_deref().map(strings))
            .nil_or(
                "ArgumentList",
                self.argument_list.clone().map(|a| list(&OBJECT_ARRAY, a)),
            )
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "GET_COMMAND_METADATA")?;
        let strings = |name: &str| -> Option<Vec<String>> {
            o.opt(name).map(|v| match as_list(v) {
                Some(l) => l.iter().filter_map(as_string).map(str::to_string).collect(),
                None => as_string(v)
                    .map(|s| vec![s.to_string()])
                    .unwrap_or_default(),
            })
        };
        Ok(GetCommandMetadata {
            names: strings("Name").unwrap_or_default(),
            command_type: match o.opt("CommandType") {
                Some(t) => CommandTypes::from_value(t)?,
                None => CommandTypes::All,
            },
            namespace: strings("Namespace"),
            argument_list: o
                .opt("ArgumentList")
                .and_then(as_list)
                .map(<[Value]>::to_vec),
        })
    }
}

/// RUNSPACEPOOL_INIT_DATA ([MS-PSRP] 2.2.2.30): the size of a pool the
/// client connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunspacePoolInitData {
    /// `MinRunspaces`.
    pub min_runspaces: i32,
    /// `MaxRunspaces`.
    pub max_runspaces: i32,
}

impl RunspacePoolInitData {
    /// Encodes the message body.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .prop("MinRunspaces", self.min_runspaces)
            .prop("MaxRunspaces", self.max_runspaces)
            .build()
    }

    /// Decodes the message body.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "RUNSPACEPOOL_INIT_DATA")?;
        Ok(RunspacePoolInitData {
            min_runspaces: o.i32("MinRunspaces")?,
            max_runspaces: o.i32("MaxRunspaces")?,
        })
    }
}
