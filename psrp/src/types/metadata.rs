//! What a GET_COMMAND_METADATA pipeline outputs ([MS-PSRP] 3.1.4.14):
//! first a CommandMetadataCount ([MS-PSRP] 2.2.3.21), then one
//! CommandMetadata ([MS-PSRP] 2.2.3.22) per command, whose parameters are
//! ParameterMetadata ([MS-PSRP] 2.2.3.23).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use crate::clixml::{Content, Value};
use crate::error::{Error, Result};
use crate::obj::{as_list, as_string, list, Builder, Obj};
use crate::types::enums::CommandTypes;

/// CommandMetadataCount: how many CommandMetadata objects follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandMetadataCount {
    /// `Count`.
    pub count: i32,
}

impl CommandMetadataCount {
    /// Encodes as PowerShell does (a `Selected.GenericMeasureInfo`).
    pub fn to_value(&self) -> Value {
        Builder::new()
            .types(&[
                "Selected.Microsoft.PowerShell.Commands.GenericMeasureInfo",
                "System.Management.Automation.PSCustomObject",
                "System.Object",
            ])
            .prop("Count", self.count)
            .build()
    }

    /// Decodes the first output object.
    pub fn from_value(v: &Value) -> Result<Self> {
        Ok(CommandMetadataCount {
            count: Obj::of(v, "CommandMetadataCount")?.i32("Count")?,
        })
    }
}

/// ParameterMetadata: one parameter of a command.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterMetadata {
    /// `Name`.
    pub name: String,
    /// `ParameterType`: the .NET type name.
    pub parameter_type: String,
    /// `Aliases`.
    pub aliases: Vec<String>,
    /// `IsDynamic`.
    pub is_dynamic: bool,
    /// `SwitchParameter`.
    pub switch_parameter: bool,
}

/// CommandMetadata: a command's name, type and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandMetadata {
    /// The type names (`Selected.System.Management.Automation.CmdletInfo`
    /// and the like), `None` for the default.
    pub type_names: Option<std::sync::Arc<[String]>>,
    /// `Name`.
    pub name: String,
    /// `Namespace`: the module.
    pub namespace: Option<String>,
    /// `HelpUri`.
    pub help_uri: Option<String>,
    /// `CommandType`.
    pub command_type: CommandTypes,
    /// `ResolvedCommandName` (aliases).
    pub resolved_command_name: Option<String>,
    /// `OutputType`: type names.
    pub output_type: Vec<String>,
    /// `Parameters`, in order.
    pub parameters: Vec<ParameterMetadata>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(as_list)
        .map(|l| l.iter().filter_map(as_string).map(str::to_string).collect())
        .unwrap_or_default()
}

impl CommandMetadata {
    /// Encodes as PowerShell does.
    pub fn to_value(&self) -> Value {
        let params = self
            .parameters
            .iter()
            .map(|p| {
                let meta = Builder::new()
                    .types(&[
                        "System.Management.Automation.ParameterMetadata",
                        "System.Object",
                    ])
                    .adapted(vec![
                        ("Name".into(), Value::String(p.name.clone())),
                        (
                            "ParameterType".into(),
                            Value::String(p.parameter_type.clone()),
                        ),
                        (
                            "Aliases".into(),
                            list(
                                &[
                                    "System.Collections.ObjectModel.Collection`1[[System.String]]",
                                    "System.Object",
                                ],
                                p.aliases.iter().cloned().map(Value::String).collect(),
                            ),
                        ),
                        ("IsDynamic".into(), Value::Bool(p.is_dynamic)),
                        ("SwitchParameter".into(), Value::Bool(p.switch_parameter)),
                    ])
                    .build();
                (Value::String(p.name.clone()), meta)
            })
            .collect();
        let b = match &self.type_names {
            Some(t) => Builder::new().type_list(Some(t.clone())),
            None => Builder::new().types(&[
                "Selected.System.Management.Automation.CommandInfo",
                "System.Management.Automation.PSCustomObject",
                "System.Object",
            ]),
        };
        b.prop("Name", self.name.as_str())
            .nil_or("Namespace", self.namespace.clone())
            .nil_or("HelpUri", self.help_uri.clone())
            .prop("CommandType", self.command_type.to_value())
            .nil_or("ResolvedCommandName", self.resolved_command_name.clone())
            .prop(
                "OutputType",
                list(
                    &["System.Collections.ObjectModel.ReadOnlyCollection`1[[System.Management.Automation.PSTypeName]]", "System.Object"],
                    self.output_type.iter().cloned().map(Value::String).collect(),
                ),
            )
            .prop(
                "Parameters",
                Builder::new()
                    .types(&["System.Collections.Generic.Dictionary`2[[System.String],[System.Management.Automation.ParameterMetadata]]", "System.Object"])
                    .content(Content::Dictionary(params))
                    .build(),
            )
            .build()
    }

    /// Decodes one output object after the count.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "CommandMetadata")?;
        let mut parameters = Vec::new();
        if let Some(Value::Object(p)) = o.opt("Parameters") {
            let Content::Dictionary(entries) = &p.content else {
                return Err(Error::clixml(
                    "CommandMetadata",
                    "Parameters is not a dictionary",
                ));
            };
            for (k, v) in entries {
                let m = Obj::of(v, "ParameterMetadata")?;
                parameters.push(ParameterMetadata {
                    name: match m.opt_string("Name")? {
                        Some(n) => n,
                        None => as_string(k).unwrap_or_default().to_string(),
                    },
                    parameter_type: m.opt_string("ParameterType")?.unwrap_or_default(),
                    aliases: strings(m.opt("Aliases")),
                    is_dynamic: m.opt_bool("IsDynamic")?.unwrap_or(false),
                    switch_parameter: m.opt_bool("SwitchParameter")?.unwrap_or(false),
                });
            }
        }
        Ok(CommandMetadata {
            type_names: o.o.type_names.clone(),
            name: o.string("Name")?,
            namespace: o.opt_string("Namespace")?,
            help_uri: o.opt_string("HelpUri")?,
            command_type: match o.opt("CommandType") {
                Some(t) => CommandTypes::from_value(t)?,
                None => CommandTypes::default(),
            },
            resolved_command_name: o.opt_string("ResolvedCommandName")?,
            output_type: strings(o.opt("OutputType")),
            parameters,
        })
    }
}
