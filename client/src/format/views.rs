//! The table views of PowerShell's built-in format data that objects from
//! a host commonly need (files and folders, dictionary entries, services,
//! processes, versions, history, WMI classes: views/cim.rs) (Windows PowerShell 5.1's `FileSystem.format.ps1xml`
//! and `DotNetTypes.format.ps1xml`): an object whose type has a view is
//! shown in it, not in the default table or list. A deserialized object
//! (`Deserialized.System.IO.FileInfo`, [MS-PSRP] 2.2.5.2.3) takes its
//! type's view, as it does in PowerShell.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use psrp::clixml::{PsObject, Value};

use super::number::DateParts;
use super::to_inline;

mod cim;
mod process;

pub(crate) use cim::displayed;

/// A column of a view: its label, its width when the view fixes one (else
/// sized from the rows, as default tables are) and its alignment.
#[derive(Debug)]
pub(crate) struct ViewColumn {
    pub label: &'static str,
    pub width: Option<usize>,
    pub right: bool,
}

/// A table view of PowerShell's format data (objects shown by the same
/// view share one table).
#[derive(Debug)]
pub(crate) struct View {
    pub columns: &'static [ViewColumn],
}

/// FileSystem.format.ps1xml's `children` view of FileInfo and DirectoryInfo,
/// grouped by the folder (`    Directory: C:\dir`).
pub(crate) static FILE_SYSTEM: View = View {
    columns: &[
        ViewColumn {
            label: "Mode",
            width: Some(7),
            right: false,
        },
        ViewColumn {
            label: "LastWriteTime",
            width: Some(25),
            right: true,
        },
        ViewColumn {
            label: "Length",
            width: Some(14),
            right: true,
        },
        ViewColumn {
            label: "Name",
            width: None,
            right: false,
        },
    ],
};

/// DotNetTypes.format.ps1xml's `Dictionary` view of a DictionaryEntry (a
/// hashtable's entries, `Get-ChildItem Env:`): Name 30 wide, then Value.
pub(crate) static DICTIONARY: View = View {
    columns: &[
        ViewColumn {
            label: "Name",
            width: Some(30),
            right: false,
        },
        ViewColumn {
            label: "Value",
            width: None,
            right: false,
        },
    ],
};

/// DotNetTypes.format.ps1xml's `service` view of a ServiceController
/// (`Get-Service`): Status 8 wide, Name 18, DisplayName 38.
pub(crate) static SERVICE: View = View {
    columns: &[
        ViewColumn {
            label: "Status",
            width: Some(8),
            right: false,
        },
        ViewColumn {
            label: "Name",
            width: Some(18),
            right: false,
        },
        ViewColumn {
            label: "DisplayName",
            width: Some(38),
            right: false,
        },
    ],
};

/// DotNetTypes.format.ps1xml's `System.Version` view
/// (`$PSVersionTable.PSVersion`): Major, Minor, Build 6 wide, Revision 8.
pub(crate) static VERSION: View = View {
    columns: &[
        ViewColumn {
            label: "Major",
            width: Some(6),
            right: false,
        },
        ViewColumn {
            label: "Minor",
            width: Some(6),
            right: false,
        },
        ViewColumn {
            label: "Build",
            width: Some(6),
            right: false,
        },
        ViewColumn {
            label: "Revision",
            width: Some(8),
            right: false,
        },
    ],
};

/// PowerShellCore.format.ps1xml's `history` view of a HistoryInfo
/// (`Get-History`): Id 4 wide on the right, then CommandLine.
pub(crate) static HISTORY: View = View {
    columns: &[
        ViewColumn {
            label: "Id",
            width: Some(4),
            right: true,
        },
        ViewColumn {
            label: "CommandLine",
            width: None,
            right: false,
        },
    ],
};

/// The view for `obj`'s type, if it has one here.
pub(crate) fn select(obj: &PsObject) -> Option<&'static View> {
    let first = obj.type_names.as_ref()?.first()?;
    let name = first.strip_prefix("Deserialized.").unwrap_or(first);
    match name {
        "System.IO.FileInfo" | "System.IO.DirectoryInfo" => Some(&FILE_SYSTEM),
        "System.Collections.DictionaryEntry" => Some(&DICTIONARY),
        "System.ServiceProcess.ServiceController" => Some(&SERVICE),
        "System.Version" => Some(&VERSION),
        "Microsoft.PowerShell.Commands.HistoryInfo" => Some(&HISTORY),
        "System.Diagnostics.Process" => Some(&process::PROCESS),
        _ => cim::select(name),
    }
}

/// A hashtable's entry as the DictionaryEntry Out-Default enumerates it
/// into: Key and Value (and Name, the alias PowerShell's type data adds).
pub(crate) fn dictionary_entry(key: &Value, value: &Value) -> PsObject {
    PsObject {
        type_names: Some(std::sync::Arc::from(vec![
            "System.Collections.DictionaryEntry".to_string(),
            "System.ValueType".to_string(),
            "System.Object".to_string(),
        ])),
        adapted: vec![("Key".into(), key.clone()), ("Value".into(), value.clone())],
        extended: vec![("Name".into(), key.clone())],
        ..Default::default()
    }
}

/// A `<Version>` (`5.1.17763.1`) as the System.Version object its view
/// shows: Major, Minor, Build, Revision, a missing part -1.
pub(crate) fn version(text: &str) -> PsObject {
    let mut parts = text.trim().split('.');
    let mut next = || Value::I32(parts.next().and_then(|p| p.parse().ok()).unwrap_or(-1));
    let adapted = ["Major", "Minor", "Build", "Revision"]
        .into_iter()
        .map(|n| (n.to_string(), next()))
        .collect();
    PsObject {
        type_names: Some(std::sync::Arc::from(vec![
            "System.Version".to_string(),
            "System.Object".to_string(),
        ])),
        adapted,
        to_string: Some(text.to_string()),
        ..Default::default()
    }
}

/// A property of `obj` by name (adapted first, then extended; names are
/// case-insensitive in PowerShell).
pub(crate) fn property<'a>(obj: &'a PsObject, name: &str) -> Option<&'a Value> {
    obj.adapted
        .iter()
        .chain(obj.extended.iter())
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The cells of `obj`'s row in `view`.
pub(crate) fn cells(view: &View, obj: &PsObject) -> Vec<String> {
    if std::ptr::eq(view, &FILE_SYSTEM) {
        return file_system_cells(obj);
    }
    if std::ptr::eq(view, &process::PROCESS) {
        return process::cells(obj);
    }
    if cim::is_cim(view) {
        return cim::cells(view, obj);
    }
    if std::ptr::eq(view, &SERVICE) {
        let names = ["Status", "Name", "DisplayName"];
        return names.iter().map(|n| cell(property(obj, n))).collect();
    }
    if std::ptr::eq(view, &VERSION) || std::ptr::eq(view, &HISTORY) {
        let labels = view.columns.iter().map(|c| property(obj, c.label));
        return labels.map(cell).collect();
    }
    let name = property(obj, "Name").or_else(|| property(obj, "Key"));
    let value = property(obj, "Value");
    vec![cell(name), cell(value)]
}

/// The text a view's column shows of a property (empty for $null).
fn cell(value: Option<&Value>) -> String {
    value.map(to_inline).unwrap_or_default()
}

/// Mode, LastWriteTime (`{0,10}  {1,8}` of the short date and time, as
/// the view's script writes it), Length (empty for a folder), Name.
fn file_system_cells(obj: &PsObject) -> Vec<String> {
    let when = match property(obj, "LastWriteTime") {
        Some(Value::DateTime(t)) => match DateParts::parse(t) {
            Some(d) => format!("{:>10}  {:>8}", d.short_date(), d.short_time()),
            None => t.clone(),
        },
        other => cell(other),
    };
    vec![
        cell(property(obj, "Mode")),
        when,
        cell(property(obj, "Length")),
        cell(property(obj, "Name")),
    ]
}

/// The group an object of `view` belongs to: a file's folder (the view
/// groups by PSParentPath without its provider prefix); None for views
/// that do not group.
pub(crate) fn group(view: &View, obj: &PsObject) -> Option<String> {
    if !std::ptr::eq(view, &FILE_SYSTEM) {
        return None;
    }
    let text = |name: &str| match property(obj, name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.as_str()),
        _ => None,
    };
    if let Some(parent) = text("PSParentPath") {
        let folder = parent.split_once("::").map_or(parent, |(_, path)| path);
        return Some(folder.to_string());
    }
    if let Some(dir) = text("DirectoryName") {
        return Some(dir.to_string());
    }
    let full = text("FullName").or(obj.to_string.as_deref())?;
    let (folder, _) = full.trim_end_matches('\\').rsplit_once('\\')?;
    // A drive's root keeps its backslash: `C:\`.
    Some(if folder.ends_with(':') {
        format!("{folder}\\")
    } else {
        folder.to_string()
    })
}
