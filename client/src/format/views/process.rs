//! DotNetTypes.format.ps1xml's `process` view of System.Diagnostics.Process
//! (`Get-Process`), as Windows PowerShell 5.1 shows it:
//! `Handles  NPM(K)    PM(K)      WS(K)     CPU(s)     Id  SI ProcessName`.
//!
//! Columns (all right-aligned but the last): Handles 7 (`HandleCount`),
//! NPM(K) 7, PM(K) 8 and WS(K) 10 (`[long]($_.NPM / 1024)`: the `[long]`
//! cast of the quotient rounds half to even), CPU(s) 10
//! (`$_.CPU.ToString("N")`: two decimals rounded half away from zero, digits
//! grouped by thousands; empty when the process has no CPU time), Id 6,
//! SI 3, then ProcessName. The test host's `format_views.py` has the same
//! view, so `wsman invoke 'Get-Process'` prints what the host's
//! `Get-Process | Out-String` does.
use psrp::clixml::{PsObject, Value};

use super::{cell, property, View, ViewColumn};

/// The `process` view's columns.
pub(crate) static PROCESS: View = View {
    columns: &[
        right("Handles", 7),
        right("NPM(K)", 7),
        right("PM(K)", 8),
        right("WS(K)", 10),
        right("CPU(s)", 10),
        right("Id", 6),
        right("SI", 3),
        ViewColumn {
            label: "ProcessName",
            width: None,
            right: false,
        },
    ],
};

const fn right(label: &'static str, width: usize) -> ViewColumn {
    ViewColumn {
        label,
        width: Some(width),
        right: true,
    }
}

/// The cells of a process's row.
pub(crate) fn cells(obj: &PsObject) -> Vec<String> {
    vec![
        cell(property(obj, "HandleCount").or_else(|| property(obj, "Handles"))),
        kilobytes(property(obj, "NPM")),
        kilobytes(property(obj, "PM")),
        kilobytes(property(obj, "WS")),
        property(obj, "CPU")
            .and_then(number)
            .map_or_else(String::new, seconds),
        cell(property(obj, "Id")),
        cell(property(obj, "SI")),
        cell(property(obj, "ProcessName")),
    ]
}

/// A numeric property's value (a byte count, a number of seconds).
fn number(value: &Value) -> Option<f64> {
    Some(match value {
        Value::I32(n) => f64::from(*n),
        Value::U32(n) => f64::from(*n),
        Value::I64(n) => *n as f64,
        Value::U64(n) => *n as f64,
        Value::F64(n) => *n,
        Value::F32(n) => f64::from(*n),
        _ => return None,
    })
}

/// `[long]($_.X / 1024)`: empty for $null (PowerShell's cast of $null / 1024
/// would be 0, but the properties are never $null on a process).
fn kilobytes(value: Option<&Value>) -> String {
    value
        .and_then(number)
        .map(|bytes| format!("{}", (bytes / 1024.0).round_ties_even()))
        .unwrap_or_default()
}

/// `Double.ToString("N")` in en-US: `1,234.56`.
fn seconds(value: f64) -> String {
    let hundredths = (value.abs() * 100.0).round();
    if !hundredths.is_finite() {
        return value.to_string();
    }
    let whole = (hundredths / 100.0).trunc() as u64;
    let cents = (hundredths % 100.0) as u64;
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if value < 0.0 && hundredths > 0.0 {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}.{cents:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_are_grouped_with_two_decimals() {
        assert_eq!(seconds(1238.4375), "1,238.44");
        assert_eq!(seconds(0.125), "0.13"); // half away from zero, as .NET's "N"
        assert_eq!(seconds(1234567.0), "1,234,567.00");
        assert_eq!(seconds(3.0), "3.00");
    }

    #[test]
    fn kilobytes_round_half_to_even() {
        assert_eq!(kilobytes(Some(&Value::I64(512))), "0");
        assert_eq!(kilobytes(Some(&Value::I64(1536))), "2");
        assert_eq!(kilobytes(Some(&Value::I64(2560))), "2");
        assert_eq!(kilobytes(Some(&Value::I64(33_360_000))), "32578");
        assert_eq!(kilobytes(None), "");
    }
}
