//! Response parsers: a response body in, a typed view out ([DSP0226],
//! [MS-WSMV] 3.1.4). Parsing is streaming (quick-xml, no DOM) and bounded
//! (see [`super::xml`]). Every parser first checks for a SOAP fault and
//! returns [`Error::Fault`] with the parsed [`Fault`] when the body is one.
//!
//! [DSP0226]: https://www.dmtf.org/standards/published_documents/DSP0226_1.2.0.pdf
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::xml::{as_text, protocol, Ev, Reader, Start};
use super::{ns, parse_duration, Selector};
use crate::error::{Error, Result};
use crate::fault::Fault;

/// The addressing headers of a response ([DSP0226] 6, WS-Addressing).
///
/// [DSP0226]: https://www.dmtf.org/standards/published_documents/DSP0226_1.2.0.pdf
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvelopeInfo {
    /// `wsa:Action`.
    pub action: Option<String>,
    /// `wsa:MessageID`.
    pub message_id: Option<String>,
    /// `wsa:RelatesTo`: the MessageID of the request this answers.
    pub relates_to: Option<String>,
    /// `wsmv:OperationID` ([MS-WSMV] 2.2.4.45): present when the host
    /// handles the request robustly (3.1.4.1.39); the request's value.
    pub operation_id: Option<String>,
    /// `wsmv:SequenceID` ([MS-WSMV] 2.2.4.46; Windows writes `SequenceId`):
    /// the number of this answer within its operation, from 1.
    pub sequence_id: Option<u64>,
}

impl EnvelopeInfo {
    /// Checks that the response answers the request `message_id`
    /// ([MS-WSMV] 3.1.4: a mismatched RelatesTo means a confused peer or a
    /// replayed message). A response without RelatesTo passes.
    pub fn check_relates_to(&self, message_id: &str) -> Result<()> {
        match &self.relates_to {
            Some(r) if !r.trim().eq_ignore_ascii_case(message_id.trim()) => Err(protocol(format!(
                "response RelatesTo {r} does not match the request MessageID {message_id}"
            ))),
            _ => Ok(()),
        }
    }
}

/// An open response: headers read, positioned inside `s:Body`.
struct Body<'a> {
    r: Reader<'a>,
    info: EnvelopeInfo,
    /// Depth of the Body element's children.
    child_depth: usize,
    done: bool,
}

fn is_soap(s: &Start) -> bool {
    matches!(s.ns.as_deref(), Some(ns::SOAP) | Some(ns::SOAP11))
}

fn open(input: &[u8]) -> Result<Body<'_>> {
    let text = as_text(input)?;
    let mut r = Reader::new(text);
    let root = match r.next()? {
        Some(Ev::Start(s)) => s,
        _ => return Err(protocol("response is not a SOAP envelope")),
    };
    if root.local != "Envelope" || !is_soap(&root) {
        return Err(protocol(format!(
            "response root is <{}>, not a SOAP Envelope",
            root.local
        )));
    }
    let mut info = EnvelopeInfo::default();
    loop {
        match r.next()? {
            Some(Ev::Start(s)) if s.local == "Header" && is_soap(&s) => {
                read_header(&mut r, &mut info)?;
            }
            Some(Ev::Start(s)) if s.local == "Body" && is_soap(&s) => {
                let child_depth = r.depth() + 1;
                return Ok(Body {
                    r,
                    info,
                    child_depth,
                    done: false,
                });
            }
            Some(Ev::Start(_)) => {
                r.skip()?;
            }
            Some(Ev::Text(t)) if t.trim().is_empty() => {}
            Some(Ev::Text(_)) => return Err(protocol("text directly inside the SOAP Envelope")),
            Some(Ev::End { .. }) | None => return Err(protocol("SOAP envelope has no Body")),
        }
    }
}

fn read_header(r: &mut Reader<'_>, info: &mut EnvelopeInfo) -> Result<()> {
    let depth = r.depth();
    loop {
        match r.next()? {
            Some(Ev::Start(s)) => {
                if s.ns.as_deref() == Some(ns::WSMV) {
                    match s.local.as_str() {
                        "OperationID" => {
                            info.operation_id = Some(r.text_content()?.trim().to_owned());
                        }
                        "SequenceId" | "SequenceID" => {
                            let t = r.text_content()?;
                            info.sequence_id = Some(t.trim().parse().map_err(|_| {
                                protocol(format!("wsmv:SequenceId {:?} is not a number", t.trim()))
                            })?);
                        }
                        _ => {
                            r.skip()?;
                        }
                    }
                    continue;
                }
                let slot = if s.ns.as_deref() == Some(ns::ADDRESSING) {
                    match s.local.as_str() {
                        "Action" => Some(&mut info.action),
                        "MessageID" => Some(&mut info.message_id),
                        "RelatesTo" => Some(&mut info.relates_to),
                        _ => None,
                    }
                } else {
                    None
                };
                match slot {
                    Some(slot) => *slot = Some(r.text_content()?.trim().to_owned()),
                    None => {
                        r.skip()?;
                    }
                }
            }
            Some(Ev::End { .. }) if r.depth() < depth => return Ok(()),
            Some(_) => {}
            None => return Err(protocol("SOAP Header not closed")),
        }
    }
}

impl<'a> Body<'a> {
    /// The next element directly in the Body; a SOAP Fault is parsed and
    /// returned as `Err(Error::Fault)`.
    fn next_child(&mut self) -> Result<Option<Start>> {
        if self.done {
            return Ok(None);
        }
        loop {
            match self.r.next()? {
                Some(Ev::Start(s)) => {
                    if s.local == "Fault" && is_soap(&s) {
                        let fault = read_fault(&mut self.r)?;
                        return Err(Error::Fault(Box::new(fault)));
                    }
                    return Ok(Some(s));
                }
                Some(Ev::Text(_)) => {}
                Some(Ev::End { .. }) => {
                    if self.r.depth() < self.child_depth - 1 {
                        self.done = true;
                        // Drain the rest so truncation after the Body is caught.
                        while self.r.next()?.is_some() {}
                        return Ok(None);
                    }
                }
                None => return Err(protocol("SOAP Body not closed")),
            }
        }
    }

    /// Skips every remaining child, still catching a fault.
    fn finish(mut self) -> Result<EnvelopeInfo> {
        while self.next_child()?.is_some() {
            self.r.skip()?;
        }
        Ok(self.info)
    }

    /// The first Body child named `local` in `ns_uri`; other children are
    /// skipped.
    fn find(&mut self, ns_uri: &str, local: &str) -> Result<Option<Start>> {
        while let Some(s) = self.next_child()? {
            if s.is(ns_uri, local) {
                return Ok(Some(s));
            }
            self.r.skip()?;
        }
        Ok(None)
    }

    fn expect(&mut self, ns_uri: &str, local: &str) -> Result<Start> {
        self.find(ns_uri, local)?
            .ok_or_else(|| protocol(format!("response Body has no {local} element")))
    }

    /// Calls `f` for each child element of the element just started; `f`
    /// must consume the child (read its text or skip it).
    fn children(&mut self, mut f: impl FnMut(&mut Reader<'a>, Start) -> Result<()>) -> Result<()> {
        let depth = self.r.depth();
        loop {
            match self.r.next()? {
                Some(Ev::Start(s)) => f(&mut self.r, s)?,
                Some(Ev::End { .. }) if self.r.depth() < depth => return Ok(()),
                Some(_) => {}
                None => return Err(protocol("element not closed")),
            }
        }
    }
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads a SOAP 1.2 or 1.1 Fault whose start tag was just read.
fn read_fault(r: &mut Reader<'_>) -> Result<Fault> {
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

/// Parses any response: the addressing headers, and the Body's child
/// elements as standalone XML strings. A fault is `Err(Error::Fault)`.
pub fn parse_envelope(input: &[u8]) -> Result<(EnvelopeInfo, Vec<String>)> {
    let mut b = open(input)?;
    let mut items = Vec::new();
    while let Some(s) = b.next_child()? {
        items.push(b.r.capture(&s)?);
    }
    Ok((b.info, items))
}

/// Returns `Err(Error::Fault)` when `input` is a SOAP fault, the fault-free
/// envelope headers otherwise. Use for acknowledgements with an empty or
/// ignorable body: Put, Delete, Send, Signal, Disconnect, Reconnect,
/// Release ([MS-WSMV] 3.1.4.6, 3.1.4.12-16).
pub fn parse_ack(input: &[u8]) -> Result<EnvelopeInfo> {
    open(input)?.finish()
}

/// The Identify response (DSP0226 11).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identify {
    /// Addressing headers (usually none for Identify).
    pub info: EnvelopeInfo,
    /// `wsmid:ProtocolVersion`.
    pub protocol_version: Option<String>,
    /// `wsmid:ProductVendor`.
    pub product_vendor: Option<String>,
    /// `wsmid:ProductVersion` (e.g. `OS: 10.0.17763 SP: 0.0 Stack: 3.0`).
    pub product_version: Option<String>,
    /// `wsmid:SecurityProfiles/wsmid:SecurityProfileName`.
    pub security_profiles: Vec<String>,
    /// Any other child (`name`, text), e.g. Windows' `InitiatorInfo`.
    pub other: Vec<(String, String)>,
}

/// Parses an Identify response.
pub fn parse_identify(input: &[u8]) -> Result<Identify> {
    let mut b = open(input)?;
    // By local name: the namespace is spelt two ways in the wild.
    loop {
        match b.next_child()? {
            Some(s) if s.local == "IdentifyResponse" => break,
            Some(_) => {
                b.r.skip()?;
            }
            None => return Err(protocol("response Body has no IdentifyResponse element")),
        }
    }
    let mut id = Identify::default();
    b.children(|r, s| {
        match s.local.as_str() {
            "ProtocolVersion" => id.protocol_version = Some(r.text_content()?.trim().into()),
            "ProductVendor" => id.product_vendor = Some(r.text_content()?.trim().into()),
            "ProductVersion" => id.product_version = Some(r.text_content()?.trim().into()),
            "SecurityProfiles" => {
                let depth = r.depth();
                loop {
                    match r.next()? {
                        Some(Ev::Start(p)) if p.local == "SecurityProfileName" => {
                            id.security_profiles.push(r.text_content()?.trim().into())
                        }
                        Some(Ev::Start(_)) => {
                            r.skip()?;
                        }
                        Some(Ev::End { .. }) if r.depth() < depth => break,
                        Some(_) => {}
                        None => return Err(protocol("element not closed")),
                    }
                }
            }
            other => {
                let name = other.to_owned();
                id.other.push((name, collapse_ws(&r.text_content()?)));
            }
        }
        Ok(())
    })?;
    id.info = b.finish()?;
    Ok(id)
}

/// A Get (or Put, or custom action) response: the resource representation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    /// Addressing headers.
    pub info: EnvelopeInfo,
    /// The first Body child as standalone XML (inherited namespace
    /// declarations added), empty when the Body is empty.
    pub xml: String,
}

impl Resource {
    /// The representation as JSON ([`super::json::xml_to_json`]).
    pub fn to_json(&self) -> Result<serde_json::Value> {
        if self.xml.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        super::json::xml_to_json(&self.xml)
    }
}

/// Parses a Get response (DSP0226 7.3), also fit for Put and custom actions.
pub fn parse_get(input: &[u8]) -> Result<Resource> {
    let mut b = open(input)?;
    let xml = match b.next_child()? {
        Some(s) => b.r.capture(&s)?,
        None => String::new(),
    };
    let info = b.finish()?;
    Ok(Resource { info, xml })
}

/// An EnumerateResponse or PullResponse (DSP0226 8.2, 8.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enumeration {
    /// Addressing headers.
    pub info: EnvelopeInfo,
    /// `EnumerationContext` for the next Pull; `None` or empty when done.
    pub context: Option<String>,
    /// The items, each as standalone XML.
    pub items: Vec<String>,
    /// `EndOfSequence` present: no more items.
    pub end_of_sequence: bool,
}

impl Enumeration {
    /// The items parsed as shells (Enumerate on [`ns::uri::SHELL`],
    /// [MS-WSMV] 3.1.4.8); items that are not `rsp:Shell` are left out.
    pub fn shells(&self) -> Result<Vec<ShellInfo>> {
        let mut out = Vec::new();
        for item in &self.items {
            if let Some(sh) = shell_of(item)? {
                out.push(sh);
            }
        }
        Ok(out)
    }

    /// True when no Pull is needed: end of sequence or no context.
    pub fn is_done(&self) -> bool {
        self.end_of_sequence || self.context.as_deref().is_none_or(|c| c.trim().is_empty())
    }
}

/// Parses an EnumerateResponse (optimized or not).
pub fn parse_enumerate(input: &[u8]) -> Result<Enumeration> {
    parse_enumeration(input, "EnumerateResponse")
}

/// Parses a PullResponse.
pub fn parse_pull(input: &[u8]) -> Result<Enumeration> {
    parse_enumeration(input, "PullResponse")
}

fn parse_enumeration(input: &[u8], element: &str) -> Result<Enumeration> {
    let mut b = open(input)?;
    b.expect(ns::ENUMERATION, element)?;
    let mut e = Enumeration::default();
    b.children(|r, s| {
        match s.local.as_str() {
            "EnumerationContext" => e.context = Some(r.text_content()?.trim().to_owned()),
            "EndOfSequence" => {
                e.end_of_sequence = true;
                r.skip()?;
            }
            "Items" => {
                let depth = r.depth();
                loop {
                    match r.next()? {
                        Some(Ev::Start(item)) => {
                            let xml = r.capture(&item)?;
                            e.items.push(xml);
                        }
                        Some(Ev::End { .. }) if r.depth() < depth => break,
                        Some(_) => {}
                        None => return Err(protocol("Items not closed")),
                    }
                }
            }
            _ => {
                r.skip()?;
            }
        }
        Ok(())
    })?;
    e.info = b.finish()?;
    Ok(e)
}

/// The properties of a shell ([MS-WSMV] 2.2.4.37): in a Create response, a
/// Get of the shell, or an Enumerate of shells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellInfo {
    /// `rsp:ShellId`.
    pub shell_id: String,
    /// `rsp:Name`: the session name.
    pub name: Option<String>,
    /// `rsp:ResourceUri`: which endpoint (cmd or PowerShell configuration).
    pub resource_uri: Option<String>,
    /// `rsp:Owner` (`DOMAIN\user`).
    pub owner: Option<String>,
    /// `rsp:ClientIP`.
    pub client_ip: Option<String>,
    /// `rsp:ProcessId` of the host process.
    pub process_id: Option<u32>,
    /// `rsp:IdleTimeOut`.
    pub idle_timeout: Option<Duration>,
    /// `rsp:InputStreams`.
    pub input_streams: Option<String>,
    /// `rsp:OutputStreams`.
    pub output_streams: Option<String>,
    /// `rsp:MaxIdleTimeOut`.
    pub max_idle_timeout: Option<Duration>,
    /// `rsp:Locale`.
    pub locale: Option<String>,
    /// `rsp:DataLocale`.
    pub data_locale: Option<String>,
    /// `rsp:CompressionMode`.
    pub compression_mode: Option<String>,
    /// `rsp:ProfileLoaded` (`Yes`/`No`).
    pub profile_loaded: Option<String>,
    /// `rsp:Encoding`.
    pub encoding: Option<String>,
    /// `rsp:BufferMode` (`Block`/`Drop`).
    pub buffer_mode: Option<String>,
    /// `rsp:State` (`Connected`, `Disconnected`, ...).
    pub state: Option<String>,
    /// `rsp:ShellRunTime` as written (`P0DT0H0M9S`).
    pub shell_run_time: Option<String>,
    /// `rsp:ShellInactivity` as written.
    pub shell_inactivity: Option<String>,
    /// `rsp:MemoryUsed` as written (`46MB`).
    pub memory_used: Option<String>,
    /// `rsp:ChildProcesses`.
    pub child_processes: Option<u32>,
}

fn shell_of(xml: &str) -> Result<Option<ShellInfo>> {
    let text = as_text(xml.as_bytes())?;
    let mut r = Reader::new(text);
    match r.next()? {
        Some(Ev::Start(s)) if s.is(ns::SHELL, "Shell") => {
            let sh = read_shell(&mut r, &s)?;
            while r.next()?.is_some() {}
            Ok(Some(sh))
        }
        _ => Ok(None),
    }
}

/// Parses a standalone `rsp:Shell` element: an item of a shell
/// enumeration, or [`Resource::xml`] of a Get of a shell ([MS-WSMV]
/// 3.1.4.2.1).
pub fn parse_shell(xml: &str) -> Result<ShellInfo> {
    shell_of(xml)?.ok_or_else(|| protocol("not an rsp:Shell element"))
}

fn read_shell(r: &mut Reader<'_>, _start: &Start) -> Result<ShellInfo> {
    let depth = r.depth();
    let mut sh = ShellInfo::default();
    loop {
        match r.next()? {
            Some(Ev::Start(s)) => {
                let text = r.text_content()?;
                let t = text.trim();
                let o = Some(t.to_owned());
                match s.local.as_str() {
                    "ShellId" => sh.shell_id = t.to_owned(),
                    "Name" => sh.name = o,
                    "ResourceUri" => sh.resource_uri = o,
                    "Owner" => sh.owner = o,
                    "ClientIP" => sh.client_ip = o,
                    "ProcessId" => sh.process_id = t.parse().ok(),
                    "IdleTimeOut" => sh.idle_timeout = parse_duration(t),
                    "InputStreams" => sh.input_streams = o,
                    "OutputStreams" => sh.output_streams = o,
                    "MaxIdleTimeOut" => sh.max_idle_timeout = parse_duration(t),
                    "Locale" => sh.locale = o,
                    "DataLocale" => sh.data_locale = o,
                    "CompressionMode" => sh.compression_mode = o,
                    "ProfileLoaded" => sh.profile_loaded = o,
                    "Encoding" => sh.encoding = o,
                    "BufferMode" => sh.buffer_mode = o,
                    "State" => sh.state = o,
                    "ShellRunTime" => sh.shell_run_time = o,
                    "ShellInactivity" => sh.shell_inactivity = o,
                    "MemoryUsed" => sh.memory_used = o,
                    "ChildProcesses" => sh.child_processes = t.parse().ok(),
                    _ => {}
                }
            }
            Some(Ev::End { .. }) if r.depth() < depth => return Ok(sh),
            Some(_) => {}
            None => return Err(protocol("rsp:Shell not closed")),
        }
    }
}

/// A CreateResponse (DSP0226 7.5; a shell: [MS-WSMV] 3.1.4.5.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Created {
    /// Addressing headers.
    pub info: EnvelopeInfo,
    /// `wsa:Address` of the new resource's endpoint reference.
    pub address: Option<String>,
    /// `wsman:ResourceURI` of the endpoint reference.
    pub resource_uri: Option<String>,
    /// `wsman:SelectorSet` of the endpoint reference (ShellId for shells).
    pub selectors: Vec<Selector>,
    /// The `rsp:Shell` Windows returns beside ResourceCreated (newer hosts).
    pub shell: Option<ShellInfo>,
}

impl Created {
    /// The ShellId: the selector, or the returned shell's id.
    pub fn shell_id(&self) -> Option<&str> {
        self.selectors
            .iter()
            .find(|s| s.name == "ShellId")
            .map(|s| s.value.as_str())
            .or(self.shell.as_ref().map(|s| s.shell_id.as_str()))
    }
}

/// Parses a CreateResponse: the `wst:ResourceCreated` endpoint reference and
/// any `rsp:Shell` beside it.
pub fn parse_create(input: &[u8]) -> Result<Created> {
    let mut b = open(input)?;
    let mut c = Created::default();
    while let Some(s) = b.next_child()? {
        if s.is(ns::TRANSFER, "ResourceCreated") {
            let depth = b.r.depth();
            loop {
                match b.r.next()? {
                    Some(Ev::Start(e)) => match e.local.as_str() {
                        "Address" => c.address = Some(b.r.text_content()?.trim().into()),
                        "ResourceURI" => c.resource_uri = Some(b.r.text_content()?.trim().into()),
                        "Selector" => {
                            let name = e.attr("Name").unwrap_or_default().to_owned();
                            let value = b.r.text_content()?.trim().to_owned();
                            c.selectors.push(Selector { name, value });
                        }
                        _ => {}
                    },
                    Some(Ev::End { .. }) if b.r.depth() < depth => break,
                    Some(_) => {}
                    None => return Err(protocol("ResourceCreated not closed")),
                }
            }
        } else if s.is(ns::SHELL, "Shell") {
            c.shell = Some(read_shell(&mut b.r, &s)?);
        } else {
            b.r.skip()?;
        }
    }
    c.info = b.info;
    if c.address.is_none() && c.selectors.is_empty() && c.shell.is_none() {
        return Err(protocol("CreateResponse has no ResourceCreated"));
    }
    Ok(c)
}

/// A CommandResponse ([MS-WSMV] 3.1.4.11).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandResponse {
    /// Addressing headers.
    pub info: EnvelopeInfo,
    /// `rsp:CommandId`.
    pub command_id: String,
}

/// Parses a CommandResponse.
pub fn parse_command(input: &[u8]) -> Result<CommandResponse> {
    let mut b = open(input)?;
    b.expect(ns::SHELL, "CommandResponse")?;
    let mut id = None;
    b.children(|r, s| {
        if s.local == "CommandId" {
            id = Some(r.text_content()?.trim().to_owned());
        } else {
            r.skip()?;
        }
        Ok(())
    })?;
    let info = b.finish()?;
    let command_id = id.ok_or_else(|| protocol("CommandResponse has no CommandId"))?;
    Ok(CommandResponse { info, command_id })
}

/// One `rsp:Stream` of a ReceiveResponse ([MS-WSMV] 2.2.4.39).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamData {
    /// `@Name`: `stdout`, `stderr`, `pr`.
    pub name: String,
    /// `@CommandId`; `None` for shell-level (RunspacePool) output.
    pub command_id: Option<String>,
    /// `@End="true"`: the stream is finished.
    pub end: bool,
    /// The base64-decoded bytes.
    pub data: Vec<u8>,
}

/// `rsp:CommandState` ([MS-WSMV] 2.2.4.7).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandState {
    /// `@CommandId`.
    pub command_id: Option<String>,
    /// `@State`: one of [`ns::state`].
    pub state: String,
    /// `rsp:ExitCode` when done.
    pub exit_code: Option<i64>,
}

impl CommandState {
    /// True when the state is `.../CommandState/Done`.
    pub fn is_done(&self) -> bool {
        self.state == ns::state::DONE || self.state.ends_with("/Done")
    }
}

/// A ReceiveResponse ([MS-WSMV] 3.1.4.14).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// Addressing headers.
    pub info: EnvelopeInfo,
    /// The streams in wire order.
    pub streams: Vec<StreamData>,
    /// The command state, when present.
    pub command_state: Option<CommandState>,
}

/// The addressing and robust-connection headers of any response (an
/// answer or a fault), without reading its body.
pub fn parse_header(input: &[u8]) -> Result<EnvelopeInfo> {
    Ok(open(input)?.info)
}

/// Decodes an `rsp:Stream`'s base64 text; whitespace (line breaks some
/// hosts insert) is dropped first, and only then is the text copied.
fn decode_stream(text: &str) -> std::result::Result<Vec<u8>, base64::DecodeError> {
    let bytes = text.as_bytes();
    let mut data = Vec::with_capacity(bytes.len() / 4 * 3 + 3);
    // usually one unbroken run; white space is looked for only when that fails
    if B64.decode_vec(bytes, &mut data).is_err() {
        data.clear();
        let compact: Vec<u8> = bytes
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        B64.decode_vec(&compact, &mut data)?;
    }
    Ok(data)
}

/// Parses a ReceiveResponse, decoding each stream's base64.
///
/// The run of plain `rsp:Stream` elements a large Receive is made of is
/// read by a strict scanner ([`streams`](super::streams)) and the rest by
/// the full parser, which checks that the scanner cut where it should.
pub fn parse_receive(input: &[u8]) -> Result<Received> {
    let text = as_text(input)?;
    if let Some(mut run) = super::streams::scan(text, decode_stream) {
        if run.streams.len() > super::xml::MAX_ELEMENTS {
            return Err(protocol(format!(
                "XML holds more than {} elements",
                super::xml::MAX_ELEMENTS
            )));
        }
        let mut skeleton = String::with_capacity(text.len() - (run.cut_end - run.cut_at));
        skeleton.push_str(&text[..run.cut_at]);
        skeleton.push_str(&text[run.cut_end..]);
        let cut = (run.element_at, run.cut_at);
        // Any doubt (a failed check, an error) and the whole document is
        // parsed again the full way, which then has the last word.
        if let Ok(Some(mut out)) = parse_receive_checked(skeleton.as_bytes(), Some(cut)) {
            run.streams.append(&mut out.streams);
            out.streams = run.streams;
            return Ok(out);
        }
    }
    Ok(parse_receive_checked(input, None)?.expect("no cut to check"))
}

/// The full parse; with `cut`, `None` unless the ReceiveResponse start tag
/// spans exactly `cut` (its `<` and the offset past its `>`).
fn parse_receive_checked(input: &[u8], cut: Option<(usize, usize)>) -> Result<Option<Received>> {
    let mut b = open(input)?;
    let start = b.expect(ns::SHELL, "ReceiveResponse")?;
    if let Some((at, end)) = cut {
        if start.pos != at || b.r.position() != end {
            return Ok(None);
        }
    }
    let mut out = Received::default();
    b.children(|r, s| {
        match s.local.as_str() {
            "Stream" => {
                let name = s.attr("Name").unwrap_or_default().to_owned();
                let command_id = s.attr("CommandId").map(str::to_owned);
                let end = s
                    .attr("End")
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case("true"));
                let text = r.text_content_cow()?;
                let data = decode_stream(&text)
                    .map_err(|e| protocol(format!("rsp:Stream {name} is not valid base64: {e}")))?;
                out.streams.push(StreamData {
                    name,
                    command_id,
                    end,
                    data,
                });
            }
            "CommandState" => {
                let mut st = CommandState {
                    command_id: s.attr("CommandId").map(str::to_owned),
                    state: s.attr("State").unwrap_or_default().to_owned(),
                    exit_code: None,
                };
                let depth = r.depth();
                loop {
                    match r.next()? {
                        Some(Ev::Start(e)) if e.local == "ExitCode" => {
                            let t = r.text_content()?;
                            st.exit_code = Some(t.trim().parse().map_err(|_| {
                                protocol(format!("rsp:ExitCode {:?} is not a number", t.trim()))
                            })?);
                        }
                        Some(Ev::Start(_)) => {
                            r.skip()?;
                        }
                        Some(Ev::End { .. }) if r.depth() < depth => break,
                        Some(_) => {}
                        None => return Err(protocol("CommandState not closed")),
                    }
                }
                out.command_state = Some(st);
            }
            _ => {
                r.skip()?;
            }
        }
        Ok(())
    })?;
    out.info = b.finish()?;
    Ok(Some(out))
}

/// A ConnectResponse ([MS-WSMV] 3.1.4.17, [MS-PSRP] 3.1.5.3.19).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connected {
    /// Addressing headers.
    pub info: EnvelopeInfo,
    /// `rsp:InputStreams`.
    pub input_streams: Option<String>,
    /// `rsp:OutputStreams`.
    pub output_streams: Option<String>,
    /// `connectResponseXml`, base64-decoded: SESSION_CAPABILITY +
    /// RUNSPACEPOOL_INIT_DATA fragments.
    pub connect_response_xml: Option<Vec<u8>>,
}

/// Parses a ConnectResponse (an empty one, for a command, is fine too).
pub fn parse_connect(input: &[u8]) -> Result<Connected> {
    let mut b = open(input)?;
    let mut c = Connected::default();
    if b.find(ns::SHELL, "ConnectResponse")?.is_some() {
        b.children(|r, s| {
            match s.local.as_str() {
                "InputStreams" => c.input_streams = Some(r.text_content()?.trim().into()),
                "OutputStreams" => c.output_streams = Some(r.text_content()?.trim().into()),
                "connectResponseXml" => {
                    let t: String = r.text_content()?.split_ascii_whitespace().collect();
                    c.connect_response_xml = Some(B64.decode(t.as_bytes()).map_err(|e| {
                        protocol(format!("connectResponseXml is not valid base64: {e}"))
                    })?);
                }
                _ => {
                    r.skip()?;
                }
            }
            Ok(())
        })?;
    }
    c.info = b.finish()?;
    Ok(c)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultKind;

    const ENV: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header><a:Action>A</a:Action><a:RelatesTo>uuid:1</a:RelatesTo></s:Header><s:Body>BODY</s:Body></s:Envelope>"#;

    fn env(body: &str) -> Vec<u8> {
        ENV.replace("BODY", body).into_bytes()
    }

    /// The scanner's fast path and the full parser agree on every
    /// ReceiveResponse, those the scanner cuts and those it must leave.
    #[test]
    fn fast_and_full_receive_parsing_agree() {
        let shell = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
        let state = r#"<rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"/>"#;
        let bodies = [
            format!(r#"<rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="C">aGk=</rsp:Stream> <rsp:Stream Name='stderr' CommandId="C" End="TRUE"/>{state}</rsp:ReceiveResponse>"#),
            r#"<rsp:ReceiveResponse xmlns:x="urn:x"><rsp:Stream Name="stdout">aG
k=</rsp:Stream><rsp:Stream Name="a&amp;b">aGk=</rsp:Stream><rsp:Stream Name="stdout">aGk=</rsp:Stream></rsp:ReceiveResponse>"#.to_string(),
            format!(r#"<ReceiveResponse xmlns="{shell}"><Stream Name="stdout">aGk=</Stream></ReceiveResponse>"#),
            r#"<ReceiveResponse xmlns="urn:other"><Stream Name="stdout">aGk=</Stream></ReceiveResponse><rsp:ReceiveResponse/>"#.to_string(),
            r#"<!--<rsp:ReceiveResponse><rsp:Stream Name="x">eHg=</rsp:Stream>--><rsp:ReceiveResponse><rsp:Stream Name="stdout">aGk=</rsp:Stream></rsp:ReceiveResponse>"#.to_string(),
            r#"<rsp:ReceiveResponse><rsp:Stream Name="stdout">a&#x47;k=</rsp:Stream></rsp:ReceiveResponse>"#.to_string(),
            r#"<rsp:ReceiveResponse><rsp:Stream Name="stdout">!!</rsp:Stream></rsp:ReceiveResponse>"#.to_string(),
            r#"<rsp:ReceiveResponse><rsp:Stream Name="stdout" xmlns:rsp="urn:other">aGk=</rsp:Stream></rsp:ReceiveResponse>"#.to_string(),
        ];
        for body in &bodies {
            let doc = env(body);
            let full = parse_receive_checked(&doc, None).map(|r| r.unwrap());
            let fast = parse_receive(&doc);
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{body}");
        }
        // the first body is cut by the scanner and keeps its order
        let r = parse_receive(&env(&bodies[0])).unwrap();
        assert_eq!(r.streams.len(), 2);
        assert_eq!(r.streams[0].data, b"hi");
        assert!(r.streams[1].end && r.streams[1].name == "stderr");
        assert!(r.command_state.unwrap().is_done());
        let r = parse_receive(&env(&bodies[1])).unwrap();
        assert_eq!(r.streams.len(), 3);
        assert_eq!(r.streams[1].name, "a&b");
        assert!(parse_receive(&env(&bodies[6])).is_err());
    }

    #[test]
    fn robust_headers_are_read_in_both_spellings() {
        let answer = |seq: &str| {
            format!(
                r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header><p:OperationID s:mustUnderstand="false">uuid:AB</p:OperationID>{seq}</s:Header><s:Body/></s:Envelope>"#
            )
        };
        let i = parse_header(answer("<p:SequenceId>1</p:SequenceId>").as_bytes()).unwrap();
        assert_eq!(i.operation_id.as_deref(), Some("uuid:AB"));
        assert_eq!(i.sequence_id, Some(1));
        let i = parse_header(answer("<p:SequenceID>7</p:SequenceID>").as_bytes()).unwrap();
        assert_eq!(i.sequence_id, Some(7));
        assert!(parse_header(answer("<p:SequenceId>x</p:SequenceId>").as_bytes()).is_err());
        let i = parse_header(&env("<rsp:ReceiveResponse/>")).unwrap();
        assert_eq!((i.operation_id, i.sequence_id), (None, None));
    }

    #[test]
    fn receive_decodes_streams_and_state() {
        let r = parse_receive(&env(
            r#"<rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="C">aGk=</rsp:Stream><rsp:Stream Name="stdout" CommandId="C" End="true"></rsp:Stream><rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>-1</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>"#,
        ))
        .unwrap();
        assert_eq!(r.streams[0].data, b"hi");
        assert!(r.streams[1].end && !r.streams[0].end);
        let st = r.command_state.unwrap();
        assert!(st.is_done());
        assert_eq!(st.exit_code, Some(-1));
        assert_eq!(r.info.relates_to.as_deref(), Some("uuid:1"));
        assert!(r.info.check_relates_to("uuid:1").is_ok());
        assert!(r.info.check_relates_to("uuid:2").is_err());
    }

    #[test]
    fn bad_base64_and_missing_elements_are_protocol_errors() {
        let bad = env(
            r#"<rsp:ReceiveResponse><rsp:Stream Name="stdout">@@@</rsp:Stream></rsp:ReceiveResponse>"#,
        );
        assert!(matches!(parse_receive(&bad), Err(Error::Protocol { .. })));
        assert!(matches!(
            parse_command(&env("")),
            Err(Error::Protocol { .. })
        ));
        assert!(matches!(
            parse_receive(b"<x/>"),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn fault_with_nested_provider_message_is_flattened() {
        let f = r#"<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:InternalError</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">outer</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858843" Machine="m"><f:Message><f:ProviderFault provider="p"><f:WSManFault Code="1" Machine="x"><f:Message>inner   text</f:Message></f:WSManFault></f:ProviderFault></f:Message></f:WSManFault></s:Detail></s:Fault>"#;
        let Err(Error::Fault(fault)) = parse_receive(&env(f)) else {
            panic!("not a fault")
        };
        assert_eq!(fault.code, "s:Receiver");
        assert_eq!(fault.subcode.as_deref(), Some("w:InternalError"));
        assert_eq!(fault.reason.as_deref(), Some("outer"));
        assert_eq!(fault.wsman_code, Some(2150858843));
        assert_eq!(fault.machine.as_deref(), Some("m"));
        assert_eq!(fault.message.as_deref(), Some("inner text"));
        assert_eq!(fault.kind(), FaultKind::ShellNotFound);
    }

    #[test]
    fn identify_response() {
        let doc = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xml:lang="en-US"><s:Header/><s:Body><wsmid:IdentifyResponse xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion><wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor><wsmid:ProductVersion>OS: 10.0.17763 SP: 0.0 Stack: 3.0</wsmid:ProductVersion><wsmid:SecurityProfiles><wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos</wsmid:SecurityProfileName></wsmid:SecurityProfiles></wsmid:IdentifyResponse></s:Body></s:Envelope>"#;
        let id = parse_identify(doc.as_bytes()).unwrap();
        assert_eq!(id.product_vendor.as_deref(), Some("Microsoft Corporation"));
        assert_eq!(id.protocol_version.as_deref(), Some(ns::WSMAN));
        assert!(id.product_version.unwrap().contains("Stack: 3.0"));
        assert_eq!(id.security_profiles.len(), 1);
        assert!(parse_identify(&env("<rsp:Other/>")).is_err());
    }

    #[test]
    fn soap11_fault() {
        let doc = r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><e:Fault><faultcode>e:Client</faultcode><faultstring>nope</faultstring></e:Fault></e:Body></e:Envelope>"#;
        let f = parse_fault(doc.as_bytes()).unwrap().unwrap();
        assert_eq!(
            (f.code.as_str(), f.reason.as_deref()),
            ("e:Client", Some("nope"))
        );
    }
}
