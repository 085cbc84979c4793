//! Shell operations: the shell properties, CreateResponse,
//! CommandResponse and ConnectResponse ([MS-WSMV] 3.1.4.5, 3.1.4.11,
//! 3.1.4.17).
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::{each_child, open, EnvelopeInfo};
use crate::error::Result;
use crate::soap::xml::{as_text, protocol, Ev, Reader, Start};
use crate::soap::{ns, parse_duration, Selector};

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

pub(super) fn shell_of(xml: &str) -> Result<Option<ShellInfo>> {
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
/// enumeration, or [`Resource::xml`](super::Resource::xml) of a Get of a shell ([MS-WSMV]
/// 3.1.4.2.1).
pub fn parse_shell(xml: &str) -> Result<ShellInfo> {
    shell_of(xml)?.ok_or_else(|| protocol("not an rsp:Shell element"))
}

fn read_shell(r: &mut Reader<'_>, _start: &Start) -> Result<ShellInfo> {
    let mut sh = ShellInfo::default();
    each_child(r, "rsp:Shell", |r, s| {
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
        Ok(())
    })?;
    Ok(sh)
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
