//! The records a pipeline writes besides output: ErrorRecord
//! ([MS-PSRP] 2.2.3.15), InformationalRecord for debug, verbose and warning
//! ([MS-PSRP] 2.2.3.16), ProgressRecord ([MS-PSRP] 2.2.2.25) and
//! InformationRecord ([MS-PSRP] 2.2.5.1.26).
//!
//! Each keeps the properties it does not model (the flattened
//! `InvocationInfo_*` members and the like) in `extra`, in order, so that a
//! record decodes and encodes without loss.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use std::sync::Arc;

use crate::clixml::Value;
use crate::error::Result;
use crate::obj::{as_string, Builder, Obj};
use crate::types::enums::{error_category_name, ProgressRecordType};

/// The category part of an ErrorRecord ([MS-PSRP] 2.2.3.15,
/// `ErrorCategory_*`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ErrorCategoryInfo {
    /// `ErrorCategory_Category`: the ErrorCategory value.
    pub category: i32,
    /// `ErrorCategory_Activity`.
    pub activity: Option<String>,
    /// `ErrorCategory_Reason`.
    pub reason: Option<String>,
    /// `ErrorCategory_TargetName`.
    pub target_name: Option<String>,
    /// `ErrorCategory_TargetType`.
    pub target_type: Option<String>,
    /// `ErrorCategory_Message`: the category line PowerShell prints.
    pub message: Option<String>,
}

impl ErrorCategoryInfo {
    /// The .NET name of the category, e.g. `ObjectNotFound`.
    pub fn category_name(&self) -> Option<&'static str> {
        error_category_name(self.category)
    }
}

/// An ErrorRecord ([MS-PSRP] 2.2.3.15): an error written by a pipeline or
/// the reason a pipeline or pool failed.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRecord {
    /// The type names, normally `System.Management.Automation.ErrorRecord`.
    pub type_names: Option<Arc<[String]>>,
    /// `ToString`: the message PowerShell shows.
    pub to_string: Option<String>,
    /// `Exception`: the exception object (its `Message` property holds the
    /// text).
    pub exception: Value,
    /// `TargetObject`.
    pub target_object: Value,
    /// `FullyQualifiedErrorId`.
    pub fully_qualified_error_id: String,
    /// `InvocationInfo`: where the error happened, `Null` when absent.
    pub invocation_info: Value,
    /// `ErrorCategory_*`.
    pub category: ErrorCategoryInfo,
    /// `ErrorDetails_Message`.
    pub error_details_message: Option<String>,
    /// `ErrorDetails_RecommendedAction`.
    pub error_details_recommended_action: Option<String>,
    /// `ErrorDetails_ScriptStackTrace`: the script stack trace.
    pub script_stack_trace: Option<String>,
    /// `SerializeExtendedInfo`: whether the `InvocationInfo_*` members are
    /// present.
    pub serialize_extended_info: bool,
    /// The other extended properties, in order.
    pub extra: Vec<(String, Value)>,
}

const ERROR_KNOWN: &[&str] = &[
    "Exception",
    "TargetObject",
    "FullyQualifiedErrorId",
    "InvocationInfo",
    "ErrorCategory_Category",
    "ErrorCategory_Activity",
    "ErrorCategory_Reason",
    "ErrorCategory_TargetName",
    "ErrorCategory_TargetType",
    "ErrorCategory_Message",
    "ErrorDetails_Message",
    "ErrorDetails_RecommendedAction",
    "ErrorDetails_ScriptStackTrace",
    "SerializeExtendedInfo",
];

impl ErrorRecord {
    /// A minimal record, as a host reports a failed host call.
    pub fn new(message: &str, fully_qualified_error_id: &str, category: i32) -> Self {
        let exception = Builder::new()
            .types(&["System.Exception", "System.Object"])
            .display(message)
            .adapted(vec![("Message".into(), Value::String(message.into()))])
            .build();
        ErrorRecord {
            type_names: crate::obj::type_names(&[
                "System.Management.Automation.ErrorRecord",
                "System.Object",
            ]),
            to_string: Some(message.to_string()),
            exception,
            target_object: Value::Null,
            fully_qualified_error_id: fully_qualified_error_id.to_string(),
            invocation_info: Value::Null,
            category: ErrorCategoryInfo {
                category,
                message: error_category_name(category).map(|c| format!("{c}: (:) [], Exception")),
                ..Default::default()
            },
            error_details_message: None,
            error_details_recommended_action: None,
            script_stack_trace: None,
            serialize_extended_info: false,
            extra: Vec::new(),
        }
    }

    /// The record a Windows client sends when its host fails a host call
    /// ([MS-PSRP] 3.1.4.8 / 2.2.2.16: the `me` of a host response): an
    /// exception of `exception_type` (such as
    /// `System.Management.Automation.Host.HostException`) with all its
    /// properties, every `ErrorCategory_*` member (empty strings where
    /// there is nothing to say, as Windows serializes them),
    /// `SerializeExtendedInfo` false.
    pub fn host_exception(
        message: &str,
        exception_type: &str,
        fully_qualified_error_id: &str,
        category: i32,
    ) -> Self {
        let short = exception_type.rsplit('.').next().unwrap_or(exception_type);
        let data = Builder::new()
            .types(&["System.Collections.ListDictionaryInternal", "System.Object"])
            .content(crate::clixml::Content::Dictionary(Vec::new()))
            .build();
        let exception = Builder::new()
            .types(&[
                exception_type,
                "System.SystemException",
                "System.Exception",
                "System.Object",
            ])
            .display(format!("{exception_type}: {message}"))
            .adapted(vec![
                ("Message".into(), Value::String(message.into())),
                ("Data".into(), data),
                ("InnerException".into(), Value::Null),
                ("StackTrace".into(), Value::Null),
                ("HelpLink".into(), Value::Null),
                ("Source".into(), Value::Null),
                ("HResult".into(), Value::I32(-2146233087)),
            ])
            .build();
        let category_name = error_category_name(category).unwrap_or("NotSpecified");
        let mut record = ErrorRecord::new(message, fully_qualified_error_id, category);
        record.exception = exception;
        record.category = ErrorCategoryInfo {
            category,
            activity: Some(String::new()),
            reason: Some(short.to_string()),
            target_name: Some(String::new()),
            target_type: Some(String::new()),
            message: Some(format!("{category_name}: (:) [], {short}")),
        };
        record
    }

    /// The message a user should see: the error details, else the
    /// exception's message, else `ToString`.
    pub fn message(&self) -> &str {
        if let Some(m) = &self.error_details_message {
            return m;
        }
        if let Ok(o) = Obj::of(&self.exception, "Exception") {
            if let Some(m) = o.get("Message").and_then(as_string) {
                return m;
            }
        }
        if let Some(s) = &self.to_string {
            return s;
        }
        self.category.message.as_deref().unwrap_or("")
    }

    /// Encodes the record.
    pub fn to_value(&self) -> Value {
        let c = &self.category;
        Builder::new()
            .type_list(self.type_names.clone())
            .display_opt(self.to_string.clone())
            .prop("Exception", self.exception.clone())
            .prop("TargetObject", self.target_object.clone())
            .prop(
                "FullyQualifiedErrorId",
                self.fully_qualified_error_id.as_str(),
            )
            .prop("InvocationInfo", self.invocation_info.clone())
            .prop("ErrorCategory_Category", c.category)
            .maybe("ErrorCategory_Activity", c.activity.clone())
            .maybe("ErrorCategory_Reason", c.reason.clone())
            .maybe("ErrorCategory_TargetName", c.target_name.clone())
            .maybe("ErrorCategory_TargetType", c.target_type.clone())
            .maybe("ErrorCategory_Message", c.message.clone())
            .maybe("ErrorDetails_Message", self.error_details_message.clone())
            .maybe(
                "ErrorDetails_RecommendedAction",
                self.error_details_recommended_action.clone(),
            )
            .maybe(
                "ErrorDetails_ScriptStackTrace",
                self.script_stack_trace.clone(),
            )
            .prop("SerializeExtendedInfo", self.serialize_extended_info)
            .props(&self.extra)
            .build()
    }

    /// Decodes a record.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "ErrorRecord")?;
        Ok(ErrorRecord {
            type_names: o.o.type_names.clone(),
            to_string: o.o.to_string.clone(),
            exception: o.value("Exception"),
            target_object: o.value("TargetObject"),
            fully_qualified_error_id: o.opt_string("FullyQualifiedErrorId")?.unwrap_or_default(),
            invocation_info: o.value("InvocationInfo"),
            category: ErrorCategoryInfo {
                category: o.opt_i32("ErrorCategory_Category")?.unwrap_or(0),
                activity: o.opt_string("ErrorCategory_Activity")?,
                reason: o.opt_string("ErrorCategory_Reason")?,
                target_name: o.opt_string("ErrorCategory_TargetName")?,
                target_type: o.opt_string("ErrorCategory_TargetType")?,
                message: o.opt_string("ErrorCategory_Message")?,
            },
            error_details_message: o.opt_string("ErrorDetails_Message")?,
            error_details_recommended_action: o.opt_string("ErrorDetails_RecommendedAction")?,
            script_stack_trace: o.opt_string("ErrorDetails_ScriptStackTrace")?,
            serialize_extended_info: o.opt_bool("SerializeExtendedInfo")?.unwrap_or(false),
            extra: o.rest(ERROR_KNOWN),
        })
    }
}

/// An InformationalRecord ([MS-PSRP] 2.2.3.16): the body of DEBUG_RECORD,
/// VERBOSE_RECORD and WARNING_RECORD.
#[derive(Debug, Clone, PartialEq)]
pub struct InformationalRecord {
    /// The type names (DebugRecord, VerboseRecord or WarningRecord).
    pub type_names: Option<Arc<[String]>>,
    /// `ToString`.
    pub to_string: Option<String>,
    /// `InformationalRecord_Message`.
    pub message: String,
    /// `InformationalRecord_SerializeInvocationInfo`.
    pub serialize_invocation_info: bool,
    /// `InformationalRecord_PipelineIterationInfo`, when present.
    pub pipeline_iteration_info: Option<Value>,
    /// The other extended properties (`InvocationInfo_*`, `CommandInfo_*`).
    pub extra: Vec<(String, Value)>,
}

impl InformationalRecord {
    /// A record with just a message, of the given kind (`Debug`, `Verbose`
    /// or `Warning`).
    pub fn new(kind: &str, message: &str) -> Self {
        let own = format!("System.Management.Automation.{kind}Record");
        InformationalRecord {
            type_names: crate::obj::type_names(&[
                &own,
                "System.Management.Automation.InformationalRecord",
                "System.Object",
            ]),
            to_string: Some(message.to_string()),
            message: message.to_string(),
            serialize_invocation_info: false,
            pipeline_iteration_info: None,
            extra: Vec::new(),
        }
    }

    /// Encodes the record.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .type_list(self.type_names.clone())
            .display_opt(self.to_string.clone())
            .prop("InformationalRecord_Message", self.message.as_str())
            .prop(
                "InformationalRecord_SerializeInvocationInfo",
                self.serialize_invocation_info,
            )
            .maybe(
                "InformationalRecord_PipelineIterationInfo",
                self.pipeline_iteration_info.clone(),
            )
            .props(&self.extra)
            .build()
    }

    /// Decodes a record.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "InformationalRecord")?;
        Ok(InformationalRecord {
            type_names: o.o.type_names.clone(),
            to_string: o.o.to_string.clone(),
            message: o
                .opt_string("InformationalRecord_Message")?
                .unwrap_or_default(),
            serialize_invocation_info: o
                .opt_bool("InformationalRecord_SerializeInvocationInfo")?
                .unwrap_or(false),
            pipeline_iteration_info: o.get("InformationalRecord_PipelineIterationInfo").cloned(),
            extra: o.rest(&[
                "InformationalRecord_Message",
                "InformationalRecord_SerializeInvocationInfo",
                "InformationalRecord_PipelineIterationInfo",
            ]),
        })
    }
}

/// A ProgressRecord ([MS-PSRP] 2.2.2.25): what `Write-Progress` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressRecord {
    /// `Activity`.
    pub activity: Option<String>,
    /// `ActivityId`.
    pub activity_id: i32,
    /// `StatusDescription`.
    pub status_description: Option<String>,
    /// `CurrentOperation`.
    pub current_operation: Option<String>,
    /// `ParentActivityId`, -1 for none.
    pub parent_activity_id: i32,
    /// `PercentComplete`, -1 when unknown.
    pub percent_complete: i32,
    /// `Type`: processing or completed.
    pub record_type: ProgressRecordType,
    /// `SecondsRemaining`, -1 when unknown.
    pub seconds_remaining: i32,
    /// Other extended properties.
    pub extra: Vec<(String, Value)>,
}

const PROGRESS_KNOWN: &[&str] = &[
    "Activity",
    "ActivityId",
    "StatusDescription",
    "CurrentOperation",
    "ParentActivityId",
    "PercentComplete",
    "Type",
    "SecondsRemaining",
];

impl ProgressRecord {
    /// Encodes the record.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .nil_or("Activity", self.activity.clone())
            .prop("ActivityId", self.activity_id)
            .nil_or("StatusDescription", self.status_description.clone())
            .nil_or("CurrentOperation", self.current_operation.clone())
            .prop("ParentActivityId", self.parent_activity_id)
            .prop("PercentComplete", self.percent_complete)
            .prop("Type", self.record_type.to_value())
            .prop("SecondsRemaining", self.seconds_remaining)
            .props(&self.extra)
            .build()
    }

    /// Decodes a record.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "ProgressRecord")?;
        Ok(ProgressRecord {
            activity: o.opt_string("Activity")?,
            activity_id: o.opt_i32("ActivityId")?.unwrap_or(0),
            status_description: o.opt_string("StatusDescription")?,
            current_operation: o.opt_string("CurrentOperation")?,
            parent_activity_id: o.opt_i32("ParentActivityId")?.unwrap_or(-1),
            percent_complete: o.opt_i32("PercentComplete")?.unwrap_or(-1),
            record_type: match o.opt("Type") {
                Some(t) => ProgressRecordType::from_value(t)?,
                None => ProgressRecordType::Processing,
            },
            seconds_remaining: o.opt_i32("SecondsRemaining")?.unwrap_or(-1),
            extra: o.rest(PROGRESS_KNOWN),
        })
    }
}

/// An InformationRecord ([MS-PSRP] 2.2.5.1.26): what `Write-Information`
/// and `Write-Host` write (protocol 2.3 and later).
#[derive(Debug, Clone, PartialEq)]
pub struct InformationRecord {
    /// The type names when sent as a typed object.
    pub type_names: Option<Arc<[String]>>,
    /// `ToString`.
    pub to_string: Option<String>,
    /// `MessageData`: any value; `Write-Host` sends a HostInformationMessage.
    pub message_data: Value,
    /// `Source`.
    pub source: Option<String>,
    /// `TimeGenerated`, as sent.
    pub time_generated: Option<String>,
    /// `Tags`.
    pub tags: Vec<String>,
    /// `User`.
    pub user: Option<String>,
    /// `Computer`.
    pub computer: Option<String>,
    /// `ProcessId`.
    pub process_id: Option<u32>,
    /// `NativeThreadId`.
    pub native_thread_id: Option<u32>,
    /// `ManagedThreadId`.
    pub managed_thread_id: Option<u32>,
    /// Other properties (e.g. `WriteInformationStream`).
    pub extra: Vec<(String, Value)>,
}

const INFO_KNOWN: &[&str] = &[
    "MessageData",
    "Source",
    "TimeGenerated",
    "Tags",
    "User",
    "Computer",
    "ProcessId",
    "NativeThreadId",
    "ManagedThreadId",
];

impl InformationRecord {
    /// The message as text: `MessageData` if a string, or its `Message`
    /// property (HostInformationMessage), or its `ToString`.
    pub fn message(&self) -> Option<&str> {
        if let Some(s) = as_string(&self.message_data) {
            return Some(s);
        }
        let o = Obj::of(&self.message_data, "MessageData").ok()?;
        o.get("Message")
            .and_then(as_string)
            .or(o.o.to_string.as_deref())
    }

    /// Encodes the record.
    pub fn to_value(&self) -> Value {
        let tags = crate::obj::list(
            &[
                "System.Collections.Generic.List`1[[System.String, mscorlib, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089]]",
                "System.Object",
            ],
            self.tags.iter().map(|t| Value::String(t.clone())).collect(),
        );
        let opt_u32 = |v: Option<u32>| v.map(Value::U32);
        Builder::new()
            .type_list(self.type_names.clone())
            .display_opt(self.to_string.clone())
            .prop("MessageData", self.message_data.clone())
            .nil_or("Source", self.source.clone())
            .nil_or(
                "TimeGenerated",
                self.time_generated.clone().map(Value::DateTime),
            )
            .prop("Tags", tags)
            .nil_or("User", self.user.clone())
            .nil_or("Computer", self.computer.clone())
            .nil_or("ProcessId", opt_u32(self.process_id))
            .nil_or("NativeThreadId", opt_u32(self.native_thread_id))
            .nil_or("ManagedThreadId", opt_u32(self.managed_thread_id))
            .props(&self.extra)
            .build()
    }

    /// Decodes a record.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "InformationRecord")?;
        let u32_of = |name: &str| -> Result<Option<u32>> {
            Ok(match o.opt(name) {
                None => None,
                Some(v) => crate::obj::as_i64(v).and_then(|n| u32::try_from(n).ok()),
            })
        };
        let tags = o
            .opt("Tags")
            .and_then(crate::obj::as_list)
            .map(|l| l.iter().filter_map(as_string).map(str::to_string).collect())
            .unwrap_or_default();
        let mut extra = o.rest(INFO_KNOWN);
        // Adapted members the spec's example shows besides MS.
        for (n, v) in &o.o.adapted {
            if !INFO_KNOWN.iter().any(|k| k.eq_ignore_ascii_case(n)) {
                extra.push((n.clone(), v.clone()));
            }
        }
        Ok(InformationRecord {
            type_names: o.o.type_names.clone(),
            to_string: o.o.to_string.clone(),
            message_data: o.value("MessageData"),
            source: o.opt_string("Source")?,
            time_generated: match o.opt("TimeGenerated") {
                Some(Value::DateTime(s)) => Some(s.clone()),
                Some(other) => as_string(other).map(str::to_string),
                None => None,
            },
            tags,
            user: o.opt_string("User")?,
            computer: o.opt_string("Computer")?,
            process_id: u32_of("ProcessId")?,
            native_thread_id: u32_of("NativeThreadId")?,
            managed_thread_id: u32_of("ManagedThreadId")?,
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host's failure carries every member a Windows ErrorRecord has
    /// (psrpcore's server reads each `ErrorCategory_*` one).
    #[test]
    fn host_exception_has_every_member_windows_sends() {
        let r = ErrorRecord::host_exception(
            "no answer",
            "System.Management.Automation.Host.HostException",
            "HostException",
            0,
        );
        let v = r.to_value();
        let o = v.as_object().unwrap();
        for name in [
            "ErrorCategory_Category",
            "ErrorCategory_Activity",
            "ErrorCategory_Reason",
            "ErrorCategory_TargetName",
            "ErrorCategory_TargetType",
            "ErrorCategory_Message",
            "SerializeExtendedInfo",
            "FullyQualifiedErrorId",
            "TargetObject",
        ] {
            assert!(o.property(name).is_some(), "{name} is missing");
        }
        assert_eq!(
            o.get_str("ErrorCategory_Message"),
            Some("NotSpecified: (:) [], HostException")
        );
        let e = o.get_object("Exception").unwrap();
        assert_eq!(e.get_str("Message"), Some("no answer"));
        assert!(e.property("HResult").is_some() && e.property("Data").is_some());
        let back = ErrorRecord::from_value(&v).unwrap();
        assert_eq!(back.message(), "no answer");
        assert_eq!(back.fully_qualified_error_id, "HostException");
    }
}
