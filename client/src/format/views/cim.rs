//! The views Windows PowerShell 5.1 shows WMI classes in (`Get-CimInstance`,
//! `Get-WmiObject`), keyed on the type names a serialized object carries
//! ([MS-PSRP] 2.2.5.2.3; a receiving PowerShell applies its own format and
//! type data to `Deserialized.*` names, as this client does):
//!
//! * DotNetTypes.format.ps1xml's table views of CIM instances
//!   (`Microsoft.Management.Infrastructure.CimInstance#root/cimv2/<class>`):
//!   Win32_OperatingSystem `SystemDirectory Organization BuildNumber
//!   RegisteredUser SerialNumber Version`; Win32_Service `ProcessId Name
//!   StartMode State Status ExitCode` (Name 16 wide); Win32_Process
//!   `ProcessId Name HandleCount WorkingSetSize VirtualSize` (Name 16 wide).
//!   The other columns have no width: they are sized from the rows. No
//!   column sets an alignment: all are left-aligned, numbers too.
//! * types.ps1xml's DefaultDisplayPropertySet of WMI objects
//!   (`System.Management.ManagementObject#root\cimv2\<class>`, which have no
//!   format view): the properties shown, in that order, as a table for up
//!   to 4 and a list from 5 on, like any object's. Win32_Service: ExitCode,
//!   Name, ProcessId, StartMode, State, Status; Win32_OperatingSystem:
//!   SystemDirectory, Organization, BuildNumber, RegisteredUser,
//!   SerialNumber, Version (Win32_Process has none: it shows every property).
//!
//! The test host's `format_views.py` has the same views and sets.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use psrp::clixml::PsObject;

use super::{cell, property, View, ViewColumn};

const CIM: &str = "Microsoft.Management.Infrastructure.CimInstance#root/cimv2/";
const WMI: &str = "System.Management.ManagementObject#root\\cimv2\\";

/// A column sized from the rows, aligned left.
const fn auto(label: &'static str) -> ViewColumn {
    ViewColumn {
        label,
        width: None,
        right: false,
    }
}

/// A column `width` wide, aligned left.
const fn fixed(label: &'static str, width: usize) -> ViewColumn {
    ViewColumn {
        label,
        width: Some(width),
        right: false,
    }
}

/// The view of a CIM Win32_OperatingSystem.
pub(crate) static OPERATING_SYSTEM: View = View {
    columns: &[
        auto("SystemDirectory"),
        auto("Organization"),
        auto("BuildNumber"),
        auto("RegisteredUser"),
        auto("SerialNumber"),
        auto("Version"),
    ],
};

/// The view of a CIM Win32_Service.
pub(crate) static SERVICE: View = View {
    columns: &[
        auto("ProcessId"),
        fixed("Name", 16),
        auto("StartMode"),
        auto("State"),
        auto("Status"),
        auto("ExitCode"),
    ],
};

/// The view of a CIM Win32_Process.
pub(crate) static PROCESS: View = View {
    columns: &[
        auto("ProcessId"),
        fixed("Name", 16),
        auto("HandleCount"),
        auto("WorkingSetSize"),
        auto("VirtualSize"),
    ],
};

/// The WMI class a type name (without `Deserialized.`) names, under `prefix`.
fn class<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &name[prefix.len()..])
}

/// The view of a CIM instance's class (its first type name), if it has one.
pub(crate) fn select(name: &str) -> Option<&'static View> {
    let class = class(name, CIM)?;
    [
        ("Win32_OperatingSystem", &OPERATING_SYSTEM),
        ("Win32_Service", &SERVICE),
        ("Win32_Process", &PROCESS),
    ]
    .into_iter()
    .find(|(c, _)| c.eq_ignore_ascii_case(class))
    .map(|(_, v)| v)
}

/// Whether `view` is one of these views.
pub(crate) fn is_cim(view: &View) -> bool {
    [&OPERATING_SYSTEM, &SERVICE, &PROCESS]
        .into_iter()
        .any(|v| std::ptr::eq(view, v))
}

/// The cells of a row: each column's property of the same name.
pub(crate) fn cells(view: &View, obj: &PsObject) -> Vec<String> {
    let labels = view.columns.iter().map(|c| property(obj, c.label));
    labels.map(cell).collect()
}

/// The DefaultDisplayPropertySet of a WMI object's class, if it has one.
fn display_set(obj: &PsObject) -> Option<&'static [&'static str]> {
    let first = obj.type_names.as_ref()?.first()?;
    let name = first.strip_prefix("Deserialized.").unwrap_or(first);
    let class = class(name, WMI)?;
    let sets: [(&str, &'static [&'static str]); 2] = [
        (
            "Win32_Service",
            &[
                "ExitCode",
                "Name",
                "ProcessId",
                "StartMode",
                "State",
                "Status",
            ],
        ),
        (
            "Win32_OperatingSystem",
            &[
                "SystemDirectory",
                "Organization",
                "BuildNumber",
                "RegisteredUser",
                "SerialNumber",
                "Version",
            ],
        ),
    ];
    sets.into_iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(class))
        .map(|(_, set)| set)
}

/// `obj` with only its DefaultDisplayPropertySet's properties, in the
/// set's order (as Out-Default shows it); None when its type has no set.
/// A property the object lacks is left out.
pub(crate) fn displayed(obj: &PsObject) -> Option<PsObject> {
    let set = display_set(obj)?;
    let adapted = set
        .iter()
        .filter_map(|n| {
            let (name, value) = obj
                .adapted
                .iter()
                .chain(obj.extended.iter())
                .find(|(p, _)| p.eq_ignore_ascii_case(n))?;
            Some((name.clone(), value.clone()))
        })
        .collect();
    Some(PsObject {
        adapted,
        extended: Vec::new(),
        ..obj.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use psrp::clixml::Value;

    fn object(type_name: &str, props: &[(&str, Value)]) -> PsObject {
        PsObject {
            type_names: Some(std::sync::Arc::from(vec![
                type_name.to_string(),
                "System.Object".to_string(),
            ])),
            adapted: props
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn cim_classes_take_their_views_and_others_none() {
        let os = format!("{CIM}Win32_OperatingSystem");
        assert!(std::ptr::eq(select(&os).unwrap(), &OPERATING_SYSTEM));
        let svc = format!("{CIM}win32_service");
        assert!(std::ptr::eq(select(&svc).unwrap(), &SERVICE));
        assert!(select(&format!("{CIM}Win32_BIOS")).is_none());
        assert!(select(&format!("{WMI}Win32_Service")).is_none());
    }

    #[test]
    fn a_wmi_service_keeps_its_display_set_in_order() {
        let obj = object(
            &format!("Deserialized.{WMI}Win32_Service"),
            &[
                ("__CLASS", Value::String("Win32_Service".into())),
                ("Name", Value::String("WinRM".into())),
                ("State", Value::String("Running".into())),
                ("ExitCode", Value::U32(0)),
                ("Caption", Value::String("Windows Remote Management".into())),
            ],
        );
        let shown = displayed(&obj).unwrap();
        let names: Vec<&str> = shown.adapted.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["ExitCode", "Name", "State"]);
        let cim = object(&format!("{CIM}Win32_Service"), &[]);
        assert!(displayed(&cim).is_none());
    }
}
