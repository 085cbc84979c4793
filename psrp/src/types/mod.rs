//! The complex types of [MS-PSRP] 2.2.3 that message bodies carry.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

pub mod command;
pub mod enums;
pub mod host;
pub mod metadata;
pub mod records;

pub use command::{Command, Parameter, PowerShell};
pub use enums::{
    ApartmentState, CommandOrigin, CommandTypes, PSInvocationState, PSThreadOptions,
    PipelineResultTypes, ProgressRecordType, RemoteStreamOptions, RunspacePoolState,
};
pub use host::{Coordinates, HostDefaultData, HostInfo, HostMethodIdentifier, KeyInfo, Size};
pub use metadata::{CommandMetadata, CommandMetadataCount, ParameterMetadata};
pub use records::{
    ErrorCategoryInfo, ErrorRecord, InformationRecord, InformationalRecord, ProgressRecord,
};

use crate::clixml::{Content, Value};
use crate::error::{Error, Result};
use crate::obj::{kind, Builder};

/// PSPrimitiveDictionary ([MS-PSRP] 2.2.3.18): a hashtable of primitive
/// values, used for application arguments and application private data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrimitiveDictionary(pub Vec<(Value, Value)>);

impl PrimitiveDictionary {
    /// The .NET type names.
    pub const TYPE_NAMES: [&'static str; 3] = [
        "System.Management.Automation.PSPrimitiveDictionary",
        "System.Collections.Hashtable",
        "System.Object",
    ];

    /// The value for a string key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(key)))
            .map(|(_, v)| v)
    }

    /// Encodes the dictionary.
    pub fn to_value(&self) -> Value {
        Builder::new()
            .types(&Self::TYPE_NAMES)
            .content(Content::Dictionary(self.0.clone()))
            .build()
    }

    /// Decodes any dictionary object.
    pub fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Object(o) => match &o.content {
                Content::Dictionary(d) => Ok(PrimitiveDictionary(d.clone())),
                _ => Err(Error::clixml(
                    "PSPrimitiveDictionary",
                    "the object is not a dictionary",
                )),
            },
            other => Err(Error::clixml(
                "PSPrimitiveDictionary",
                format!("expected a dictionary, found {}", kind(other)),
            )),
        }
    }
}
