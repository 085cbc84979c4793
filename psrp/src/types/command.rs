//! The pipeline a CREATE_PIPELINE carries ([MS-PSRP] 2.2.3.11 PowerShell,
//! 2.2.3.12 Command, 2.2.3.13 Command Parameter).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use crate::clixml::Value;
use crate::error::{Error, Result};
use crate::obj::{as_list, list, Builder, Obj};
use crate::types::enums::PipelineResultTypes;

/// The type names of the `List<PSObject>` lists in a pipeline.
pub(crate) const PSOBJECT_LIST: [&str; 2] = [
    "System.Collections.Generic.List`1[[System.Management.Automation.PSObject, System.Management.Automation, Version=1.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]",
    "System.Object",
];

/// A parameter or positional argument of a command ([MS-PSRP] 2.2.3.13).
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// `N`: the parameter name, `None` for a positional argument.
    pub name: Option<String>,
    /// `V`: the value (`Bool(true)` for a switch).
    pub value: Value,
}

/// One command of a pipeline ([MS-PSRP] 2.2.3.12).
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// `Cmd`: the command name, or the script text when `is_script`.
    pub cmd: String,
    /// `IsScript`.
    pub is_script: bool,
    /// `UseLocalScope`, `None` for the default.
    pub use_local_scope: Option<bool>,
    /// `MergeMyResult`: which of this command's streams is merged
    /// (protocol 2.1: only Error or None).
    pub merge_my_result: PipelineResultTypes,
    /// `MergeToResult`: the stream it is merged into.
    pub merge_to_result: PipelineResultTypes,
    /// `MergePreviousResults`: merge the previous command's error output.
    pub merge_previous_results: PipelineResultTypes,
    /// `MergeError` (protocol 2.2 and later).
    pub merge_error: Option<PipelineResultTypes>,
    /// `MergeWarning` (protocol 2.2 and later).
    pub merge_warning: Option<PipelineResultTypes>,
    /// `MergeVerbose` (protocol 2.2 and later).
    pub merge_verbose: Option<PipelineResultTypes>,
    /// `MergeDebug` (protocol 2.2 and later).
    pub merge_debug: Option<PipelineResultTypes>,
    /// `MergeInformation` (protocol 2.3 and later).
    pub merge_information: Option<PipelineResultTypes>,
    /// `Args`: parameters and arguments, in order.
    pub args: Vec<Parameter>,
}

impl Command {
    /// A command (cmdlet, function, executable) by name, with the merge
    /// flags of protocol 2.3 all set to None.
    pub fn new(name: impl Into<String>) -> Self {
        Command {
            cmd: name.into(),
            is_script: false,
            use_local_scope: None,
            merge_my_result: PipelineResultTypes::None,
            merge_to_result: PipelineResultTypes::None,
            merge_previous_results: PipelineResultTypes::None,
            merge_error: Some(PipelineResultTypes::None),
            merge_warning: Some(PipelineResultTypes::None),
            merge_verbose: Some(PipelineResultTypes::None),
            merge_debug: Some(PipelineResultTypes::None),
            merge_information: Some(PipelineResultTypes::None),
            args: Vec::new(),
        }
    }

    /// A script (`IsScript` true).
    pub fn script(text: impl Into<String>) -> Self {
        Command {
            is_script: true,
            ..Command::new(text)
        }
    }

    /// Adds a named parameter.
    pub fn parameter(mut self, name: impl Into<String>, value: Value) -> Self {
        self.args.push(Parameter {
            name: Some(name.into()),
            value,
        });
        self
    }

    /// Adds a switch parameter (`-Name`).
    pub fn switch(self, name: impl Into<String>) -> Self {
        self.parameter(name, Value::Bool(true))
    }

    /// Adds a positional argument.
    pub fn argument(mut self, value: Value) -> Self {
        self.args.push(Parameter { name: None, value });
        self
    }

    /// Merges the error stream into output (`2>&1`).
    pub fn merge_error_to_output(mut self) -> Self {
        self.merge_my_result = PipelineResultTypes::Error;
        self.merge_to_result = PipelineResultTypes::Output;
        self.merge_error = Some(PipelineResultTypes::Output);
        self
    }

    /// Drops the merge flags a protocol version does not know: none before
    /// 2.2, MergeInformation before 2.3.
    pub fn for_protocol(mut self, major: u32, minor: u32) -> Self {
        if (major, minor) < (2, 2) {
            self.merge_error = None;
            self.merge_warning = None;
            self.merge_verbose = None;
            self.merge_debug = None;
        }
        if (major, minor) < (2, 3) {
            self.merge_information = None;
        }
        self
    }

    /// Encodes the command.
    pub fn to_value(&self) -> Value {
        let args = self
            .args
            .iter()
            .map(|p| {
                Builder::new()
                    .nil_or("N", p.name.clone())
                    .prop("V", p.value.clone())
                    .build()
            })
            .collect();
        let m = |v: Option<PipelineResultTypes>| v.map(PipelineResultTypes::to_value);
        Builder::new()
            .prop("Cmd", self.cmd.as_str())
            .prop("IsScript", self.is_script)
            .nil_or("UseLocalScope", self.use_local_scope)
            .prop("MergeMyResult", self.merge_my_result.to_value())
            .prop("MergeToResult", self.merge_to_result.to_value())
            .prop(
                "MergePreviousResults",
                self.merge_previous_results.to_value(),
            )
            .prop("Args", list(&PSOBJECT_LIST, args))
            .maybe("MergeError", m(self.merge_error))
            .maybe("MergeWarning", m(self.merge_warning))
            .maybe("MergeVerbose", m(self.merge_verbose))
            .maybe("MergeDebug", m(self.merge_debug))
            .maybe("MergeInformation", m(self.merge_information))
            .build()
    }

    /// Decodes a command.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "Command")?;
        let merge = |name: &str| -> Result<Option<PipelineResultTypes>> {
            o.opt(name).map(PipelineResultTypes::from_value).transpose()
        };
        let mut args = Vec::new();
        if let Some(a) = o.opt("Args") {
            let items = as_list(a).ok_or_else(|| Error::clixml("Command", "Args is not a list"))?;
            for item in items {
                let p = Obj::of(item, "Command parameter")?;
                args.push(Parameter {
                    name: p.opt_string("N")?,
                    value: p.value("V"),
                });
            }
        }
        Ok(Command {
            cmd: o.string("Cmd")?,
            is_script: o.bool("IsScript")?,
            use_local_scope: o.opt_bool("UseLocalScope")?,
            merge_my_result: merge("MergeMyResult")?.unwrap_or(PipelineResultTypes::None),
            merge_to_result: merge("MergeToResult")?.unwrap_or(PipelineResultTypes::None),
            merge_previous_results: merge("MergePreviousResults")?
                .unwrap_or(PipelineResultTypes::None),
            merge_error: merge("MergeError")?,
            merge_warning: merge("MergeWarning")?,
            merge_verbose: merge("MergeVerbose")?,
            merge_debug: merge("MergeDebug")?,
            merge_information: merge("MergeInformation")?,
            args,
        })
    }
}

/// The PowerShell object of CREATE_PIPELINE ([MS-PSRP] 2.2.3.11): one or
/// more statements, each a pipeline of commands.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerShell {
    /// The statements; the first is `Cmds`, and when there are more than
    /// one, all of them are in `ExtraCmds` too.
    pub statements: Vec<Vec<Command>>,
    /// `IsNested`.
    pub is_nested: bool,
    /// `History`: the history string, `None` for the default.
    pub history: Option<String>,
    /// `RedirectShellErrorOutputPipe`.
    pub redirect_shell_error_output_pipe: bool,
}

impl PowerShell {
    /// A pipeline of one statement.
    pub fn new(commands: Vec<Command>) -> Self {
        PowerShell {
            statements: vec![commands],
            is_nested: false,
            history: None,
            redirect_shell_error_output_pipe: true,
        }
    }

    /// Encodes the PowerShell object.
    pub fn to_value(&self) -> Value {
        let cmds = |s: &[Command]| list(&PSOBJECT_LIST, s.iter().map(Command::to_value).collect());
        let first = self
            .statements
            .first()
            .map(|s| cmds(s))
            .unwrap_or_else(|| cmds(&[]));
        let extra = (self.statements.len() > 1).then(|| {
            list(
                &PSOBJECT_LIST,
                self.statements
                    .iter()
                    .map(|s| Builder::new().prop("Cmds", cmds(s)).build())
                    .collect(),
            )
        });
        Builder::new()
            .prop("IsNested", self.is_nested)
            .nil_or("ExtraCmds", extra)
            .prop("Cmds", first)
            .nil_or("History", self.history.clone())
            .prop(
                "RedirectShellErrorOutputPipe",
                self.redirect_shell_error_output_pipe,
            )
            .build()
    }

    /// Decodes the PowerShell object.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "PowerShell")?;
        let commands = |v: &Value| -> Result<Vec<Command>> {
            as_list(v)
                .ok_or_else(|| Error::clixml("PowerShell", "Cmds is not a list"))?
                .iter()
                .map(Command::from_value)
                .collect()
        };
        let mut statements = Vec::new();
        if let Some(extra) = o.opt("ExtraCmds") {
            let items = as_list(extra)
                .ok_or_else(|| Error::clixml("PowerShell", "ExtraCmds is not a list"))?;
            for s in items {
                statements.push(commands(Obj::of(s, "PowerShell statement")?.req("Cmds")?)?);
            }
        }
        if statements.is_empty() {
            statements.push(commands(o.req("Cmds")?)?);
        }
        Ok(PowerShell {
            statements,
            is_nested: o.opt_bool("IsNested")?.unwrap_or(false),
            history: o.opt_string("History")?,
            redirect_shell_error_output_pipe: o
                .opt_bool("RedirectShellErrorOutputPipe")?
                .unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_round_trip() {
        let ps = PowerShell {
            statements: vec![
                vec![Command::new("Get-Item").parameter("Path", Value::String("C:\\".into()))],
                vec![
                    Command::script("1 + 1"),
                    Command::new("Out-String").switch("Stream"),
                ],
            ],
            is_nested: false,
            history: Some("h".into()),
            redirect_shell_error_output_pipe: false,
        };
        assert_eq!(PowerShell::from_value(&ps.to_value()).unwrap(), ps);
        let one = PowerShell::new(vec![Command::new("Get-Date").argument(Value::I32(1))]);
        assert_eq!(PowerShell::from_value(&one.to_value()).unwrap(), one);
    }
}
