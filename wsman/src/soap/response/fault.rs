//! SOAP 1.2 and 1.1 faults in a response ([MS-WSMV] 2.2.4.17).
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use super::{collapse_ws, parse_ack};
use crate::error::{Error, Result};
use crate::fault::Fault;
use crate::soap::xml::{protocol, Ev, Reader};

/// Reads a SOAP 1.2 or 1.1 Fault whose start tag was just read.
pub(super) fn read_fault(r: &mut Reader<'_>) -> Result<Fault> {
    let base = r.depth();
    let mut fault = Fault::default();
    // Local names from the Fault element down to the current element.
    let mut path: Vec<String> = Vec::new();
    let mut in_wsman_message: Option<usize> = None;
    let mut message = String::new();
    let mut wmi_message: Option<String> = None;
    let mut wmi_code: Option<u32> = None;
    let mut wsman_fault_seen = false;
    loop {
        let ev = match r.next()? {
            Some(ev) => ev,
            None => return Err(protocol("SOAP Fault not closed")),
        };
        match ev {
            Ev::Start(s) => {
                if s.local == "WSManFault" && !wsman_fault_seen {
                    wsman_fault_seen = true;
                    fault.wsman_code = s.attr("Code").and_then(|c| c.trim().parse().ok());
                    fault.machine = s.attr("Machine").map(str::to_owned);
                }
                if s.local == "Message"
                    && in_wsman_message.is_none()
                    && path.last().map(String::as_str) == Some("WSManFault")
                {
                    in_wsman_message = Some(r.depth());
                }
                path.push(s.local);
            }
            Ev::Text(t) => {
                if in_wsman_message.is_some() {
                    if !message.is_empty() {
                        message.push(' ');
                    }
                    message.push_str(&t);
                    continue;
                }
                let names: Vec<&str> = path.iter().map(String::as_str).collect();
                let text = collapse_ws(&t);
                if text.is_empty() {
                    continue;
                }
                match names.as_slice() {
                    ["Code", "Value"] | ["faultcode"] if fault.code.is_empty() => fault.code = text,
                    ["Code", "Subcode", "Value"] if fault.subcode.is_none() => {
                        fault.subcode = Some(text)
                    }
                    ["Reason", "Text"] | ["faultstring"] if fault.reason.is_none() => {
                        fault.reason = Some(text)
                    }
                    [.., "MSFT_WmiError", "Message"] if wmi_message.is_none() => {
                        wmi_message = Some(text)
                    }
                    [.., "MSFT_WmiError", "error_Code"] => wmi_code = text.parse().ok(),
                    ["Detail", "FaultDetail"] if fault.fault_detail.is_none() => {
                        fault.fault_detail = Some(text)
                    }
                    _ => {}
                }
            }
            Ev::End { .. } => {
                if r.depth() < base {
                    break;
                }
                if in_wsman_message.is_some_and(|d| r.depth() < d) {
                    in_wsman_message = None;
                }
                path.pop();
            }
        }
    }
    let message = collapse_ws(&message);
    fault.message = if message.is_empty() {
        wmi_message
    } else {
        Some(message)
    };
    if fault.wsman_code.is_none() {
        fault.wsman_code = wmi_code;
    }
    if fault.code.is_empty() {
        fault.code = "unknown".into();
    }
    Ok(fault)
}
/// Parses a fault body into its [`Fault`], `None` when `input` is a valid
/// envelope but not a fault. For callers that hold an HTTP 500 body.
pub fn parse_fault(input: &[u8]) -> Result<Option<Fault>> {
    match parse_ack(input) {
        Ok(_) => Ok(None),
        Err(Error::Fault(f)) => Ok(Some(*f)),
        Err(e) => Err(e),
    }
}
