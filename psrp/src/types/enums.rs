//! Enumerations of [MS-PSRP] 2.2.3 and the .NET enums the messages carry.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use crate::clixml::Value;
use crate::error::{Error, Result};
use crate::obj::{as_i64, enum_value, kind};

macro_rules! ps_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $dotnet:literal,
        { $($(#[$vmeta:meta])* $var:ident = $val:literal => $text:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $var = $val,)*
        }

        impl $name {
            /// The .NET type name.
            pub const DOTNET_TYPE: &'static str = $dotnet;

            /// The wire value.
            pub fn value(self) -> i32 {
                self as i32
            }

            /// The variant with this wire value.
            pub fn from_i32(value: i32) -> Option<Self> {
                match value {
                    $($val => Some($name::$var),)*
                    _ => None,
                }
            }

            /// The .NET name (what `ToString` gives).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$var => $text,)*
                }
            }

            /// The enum as a CLIXML object: type names, `ToString` and `<I32>`.
            pub fn to_value(self) -> Value {
                enum_value($dotnet, self.name().to_string(), self.value())
            }

            /// Reads an `<I32>` or an enum object.
            pub fn from_value(v: &Value) -> Result<Self> {
                let n = as_i64(v).ok_or_else(|| {
                    Error::clixml(stringify!($name), format!("expected an enum value, found {}", kind(v)))
                })?;
                i32::try_from(n).ok().and_then(Self::from_i32).ok_or_else(|| {
                    Error::clixml(stringify!($name), format!("unknown value {n}"))
                })
            }
        }
    };
}

ps_enum! {
    /// PSInvocationState ([MS-PSRP] 2.2.3.5): the state of a pipeline.
    PSInvocationState, "System.Management.Automation.PSInvocationState", {
        /// Not yet started.
        NotStarted = 0 => "NotStarted",
        /// Running.
        Running = 1 => "Running",
        /// Stopping after a stop request.
        Stopping = 2 => "Stopping",
        /// Stopped by a stop request.
        Stopped = 3 => "Stopped",
        /// Completed.
        Completed = 4 => "Completed",
        /// Failed; the PIPELINE_STATE carries the reason.
        Failed = 5 => "Failed",
        /// Disconnected ([MS-PSRP] 3.1.4.9).
        Disconnected = 6 => "Disconnected",
    }
}

impl PSInvocationState {
    /// Whether the pipeline has finished (Stopped, Completed or Failed).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            PSInvocationState::Stopped | PSInvocationState::Completed | PSInvocationState::Failed
        )
    }
}

ps_enum! {
    /// PSThreadOptions ([MS-PSRP] 2.2.3.6).
    PSThreadOptions, "System.Management.Automation.Runspaces.PSThreadOptions", {
        /// The server's default.
        Default = 0 => "Default",
        /// A new thread for each invocation.
        UseNewThread = 1 => "UseNewThread",
        /// One thread reused for every invocation.
        ReuseThread = 2 => "ReuseThread",
        /// The calling thread.
        UseCurrentThread = 3 => "UseCurrentThread",
    }
}

ps_enum! {
    /// ApartmentState ([MS-PSRP] 2.2.3.7).
    ApartmentState, "System.Management.Automation.Runspaces.ApartmentState", {
        /// Single-threaded apartment.
        STA = 0 => "STA",
        /// Multi-threaded apartment.
        MTA = 1 => "MTA",
        /// Not set: the server decides.
        Unknown = 2 => "Unknown",
    }
}

ps_enum! {
    /// ProgressRecordType ([MS-PSRP] 2.2.3.16 `Type`).
    ProgressRecordType, "System.Management.Automation.ProgressRecordType", {
        /// The operation is in progress.
        Processing = 0 => "Processing",
        /// The operation is complete.
        Completed = 1 => "Completed",
    }
}

ps_enum! {
    /// PipelineResultTypes ([MS-PSRP] 2.2.3.31): the streams a command's
    /// output can be merged from and to.
    PipelineResultTypes, "System.Management.Automation.Runspaces.PipelineResultTypes", {
        /// No merge.
        None = 0 => "None",
        /// The output stream.
        Output = 1 => "Output",
        /// The error stream.
        Error = 2 => "Error",
        /// The warning stream.
        Warning = 3 => "Warning",
        /// The verbose stream.
        Verbose = 4 => "Verbose",
        /// The debug stream.
        Debug = 5 => "Debug",
        /// The information stream.
        Information = 6 => "Information",
        /// All streams.
        All = 7 => "All",
        /// Discarded.
        Null = 8 => "Null",
    }
}

ps_enum! {
    /// CommandOrigin ([MS-PSRP] 2.2.3.30).
    CommandOrigin, "System.Management.Automation.CommandOrigin", {
        /// Called by the runspace.
        Runspace = 0 => "Runspace",
        /// Called from inside the session.
        Internal = 1 => "Internal",
    }
}

ps_enum! {
    /// RunspacePoolAvailability: what `Get-PSSession` shows of a pool found
    /// by a WS-Man Enumerate (never a PSRP field; GET_AVAILABLE_RUNSPACES
    /// answers with a count).
    RunspacePoolAvailability, "System.Management.Automation.Runspaces.RunspacePoolAvailability", {
        /// Not opened.
        None = 0 => "None",
        /// Opened and available.
        Available = 1 => "Available",
        /// Connected to another client.
        Busy = 2 => "Busy",
    }
}

/// RunspacePoolState ([MS-PSRP] 2.2.3.4) with the spec's wire values, plus
/// the client-only `Disconnecting` ([MS-PSRP] 3.1.4.9), which never travels.
///
/// Note: the .NET enum numbers the last states differently (Disconnecting 6,
/// Disconnected 7, Connecting 8); a server only ever sends Opened, Closed and
/// Broken, whose values agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunspacePoolState {
    /// 0: created, not yet opened.
    BeforeOpen,
    /// 1: SESSION_CAPABILITY and INIT_RUNSPACEPOOL sent.
    Opening,
    /// 2: ready for pipelines.
    Opened,
    /// 3: closed.
    Closed,
    /// 4: closing.
    Closing,
    /// 5: broken by an error; the state message may carry the reason.
    Broken,
    /// 6: server side: SESSION_CAPABILITY sent.
    NegotiationSent,
    /// 7: server side: capabilities agreed.
    NegotiationSucceeded,
    /// 8: connecting to a disconnected pool ([MS-PSRP] 3.1.4.10).
    Connecting,
    /// 9: disconnected ([MS-PSRP] 3.1.4.9).
    Disconnected,
    /// Client only: a disconnect was asked for and not yet confirmed.
    Disconnecting,
}

impl RunspacePoolState {
    /// The wire value, `None` for the client-only `Disconnecting`.
    pub fn value(self) -> Option<i32> {
        use RunspacePoolState::*;
        Some(match self {
            BeforeOpen => 0,
            Opening => 1,
            Opened => 2,
            Closed => 3,
            Closing => 4,
            Broken => 5,
            NegotiationSent => 6,
            NegotiationSucceeded => 7,
            Connecting => 8,
            Disconnected => 9,
            Disconnecting => return None,
        })
    }

    /// The state with this wire value.
    pub fn from_i32(value: i32) -> Option<Self> {
        use RunspacePoolState::*;
        Some(match value {
            0 => BeforeOpen,
            1 => Opening,
            2 => Opened,
            3 => Closed,
            4 => Closing,
            5 => Broken,
            6 => NegotiationSent,
            7 => NegotiationSucceeded,
            8 => Connecting,
            9 => Disconnected,
            _ => return None,
        })
    }
}

macro_rules! ps_flags {
    (
        $(#[$meta:meta])*
        $name:ident, $dotnet:literal, $none:literal,
        { $($(#[$vmeta:meta])* $var:ident = $val:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub i32);

        #[allow(non_upper_case_globals)]
        impl $name {
            $($(#[$vmeta])* pub const $var: $name = $name($val);)*
            const NAMES: &'static [(&'static str, i32)] = &[$((stringify!($var), $val),)*];

            /// The .NET type name.
            pub const DOTNET_TYPE: &'static str = $dotnet;

            /// Whether every bit of `other` is set.
            pub fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// What .NET's `ToString` gives: the name of an exact value, else
            /// the names of the flags set, largest first, joined by `", "`.
            pub fn name(self) -> String {
                if self.0 == 0 {
                    return $none.to_string();
                }
                if let Some((n, _)) = Self::NAMES.iter().find(|(_, v)| *v == self.0) {
                    return n.to_string();
                }
                let mut left = self.0;
                let mut parts = Vec::new();
                let mut names: Vec<_> = Self::NAMES.iter().filter(|(_, v)| *v != 0).collect();
                names.sort_by_key(|(_, v)| std::cmp::Reverse(*v));
                for (n, v) in names {
                    if left & v == *v {
                        parts.push(*n);
                        left &= !v;
                    }
                }
                if left != 0 {
                    return self.0.to_string();
                }
                parts.reverse();
                parts.join(", ")
            }

            /// The flags as a CLIXML enum object.
            pub fn to_value(self) -> Value {
                enum_value($dotnet, self.name(), self.0)
            }

            /// Reads an `<I32>` or an enum object.
            pub fn from_value(v: &Value) -> Result<Self> {
                let n = as_i64(v).ok_or_else(|| {
                    Error::clixml(stringify!($name), format!("expected flags, found {}", kind(v)))
                })?;
                i32::try_from(n)
                    .map($name)
                    .map_err(|_| Error::clixml(stringify!($name), format!("value {n} out of range")))
            }
        }

        impl std::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                $name(self.0 | rhs.0)
            }
        }
    };
}

ps_flags! {
    /// RemoteStreamOptions ([MS-PSRP] 2.2.3.8): which records get their
    /// InvocationInfo.
    RemoteStreamOptions, "System.Management.Automation.Runspaces.RemoteStreamOptions", "None", {
        /// To error records.
        AddInvocationInfoToErrorRecord = 1,
        /// To warning records.
        AddInvocationInfoToWarningRecord = 2,
        /// To debug records.
        AddInvocationInfoToDebugRecord = 4,
        /// To verbose records.
        AddInvocationInfoToVerboseRecord = 8,
        /// To all of them.
        AddInvocationInfo = 15,
    }
}

ps_flags! {
    /// CommandTypes ([MS-PSRP] 2.2.3.19), used by GET_COMMAND_METADATA.
    CommandTypes, "System.Management.Automation.CommandTypes", "0", {
        /// Aliases.
        Alias = 1,
        /// Functions.
        Function = 2,
        /// Filters.
        Filter = 4,
        /// Cmdlets.
        Cmdlet = 8,
        /// Script files.
        ExternalScript = 16,
        /// Executables.
        Application = 32,
        /// Scripts.
        Script = 64,
        /// Workflows.
        Workflow = 128,
        /// DSC configurations.
        Configuration = 256,
        /// Everything.
        All = 511,
    }
}

/// ErrorCategory ([MS-PSRP] 2.2.3.15 `ErrorCategory_Category`): the .NET
/// names of the values.
pub fn error_category_name(value: i32) -> Option<&'static str> {
    const NAMES: [&str; 32] = [
        "NotSpecified",
        "OpenError",
        "CloseError",
        "DeviceError",
        "DeadlockDetected",
        "InvalidArgument",
        "InvalidData",
        "InvalidOperation",
        "InvalidResult",
        "InvalidType",
        "MetadataError",
        "NotImplemented",
        "NotInstalled",
        "ObjectNotFound",
        "OperationStopped",
        "OperationTimeout",
        "SyntaxError",
        "ParserError",
        "PermissionDenied",
        "ResourceBusy",
        "ResourceExists",
        "ResourceUnavailable",
        "ReadError",
        "WriteError",
        "FromStdErr",
        "SecurityError",
        "ProtocolError",
        "ConnectionError",
        "AuthenticationError",
        "LimitsExceeded",
        "QuotaExceeded",
        "NotEnabled",
    ];
    usize::try_from(value)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_print_like_dotnet() {
        assert_eq!(RemoteStreamOptions(15).name(), "AddInvocationInfo");
        assert_eq!(RemoteStreamOptions(0).name(), "None");
        assert_eq!(
            RemoteStreamOptions(3).name(),
            "AddInvocationInfoToErrorRecord, AddInvocationInfoToWarningRecord"
        );
        assert_eq!(CommandTypes(511).name(), "All");
    }

    #[test]
    fn enums_read_plain_and_wrapped_values() {
        let v = ApartmentState::MTA.to_value();
        assert_eq!(ApartmentState::from_value(&v).unwrap(), ApartmentState::MTA);
        assert_eq!(
            PSInvocationState::from_value(&Value::I32(4)).unwrap(),
            PSInvocationState::Completed
        );
        assert!(PSThreadOptions::from_value(&Value::I32(9)).is_err());
        assert_eq!(
            RunspacePoolState::from_i32(9),
            Some(RunspacePoolState::Disconnected)
        );
        assert_eq!(RunspacePoolState::Disconnecting.value(), None);
    }
}
