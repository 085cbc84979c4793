//! Request builders: each appends one complete SOAP envelope to the caller's
//! `String` ([DSP0226] 6, [MS-WSMV] 3.1.4). Text and attribute values are
//! XML-escaped; `*_xml` arguments are caller-supplied XML fragments written
//! as they are.
//!
//! [DSP0226]: https://www.dmtf.org/standards/published_documents/DSP0226_1.2.0.pdf
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::xml::{escape_attr_into as esc_attr, escape_into as esc};
use super::{format_duration, ns, Header, Selector, WsOption};

const ENVELOPE_OPEN: &str = concat!(
    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"",
    " xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\"",
    " xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\"",
    " xmlns:wsmv=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\"",
    " xmlns:wsen=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\"",
    " xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\">"
);

fn text_el(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    esc(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn selector_set(out: &mut String, selectors: &[Selector]) {
    out.push_str("<wsman:SelectorSet>");
    for s in selectors {
        out.push_str("<wsman:Selector Name=\"");
        esc_attr(out, &s.name);
        out.push_str("\">");
        esc(out, &s.value);
        out.push_str("</wsman:Selector>");
    }
    out.push_str("</wsman:SelectorSet>");
}

/// Writes `<s:Envelope ...><s:Header>...</s:Header><s:Body>`.
fn open(h: &Header, action: &str, out: &mut String) {
    out.reserve(1536);
    out.push_str(ENVELOPE_OPEN);
    out.push_str("<s:Header>");
    text_el(out, "wsa:To", &h.to);
    out.push_str("<wsa:ReplyTo><wsa:Address s:mustUnderstand=\"true\">");
    out.push_str(ns::ADDRESS_ANONYMOUS);
    out.push_str("</wsa:Address></wsa:ReplyTo>");
    out.push_str("<wsa:Action s:mustUnderstand=\"true\">");
    esc(out, action);
    out.push_str("</wsa:Action>");
    text_el(out, "wsa:MessageID", &h.message_id);
    out.push_str("<wsman:ResourceURI s:mustUnderstand=\"true\">");
    esc(out, &h.resource_uri);
    out.push_str("</wsman:ResourceURI>");
    out.push_str("<wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">");
    out.push_str(&h.max_envelope_size.to_string());
    out.push_str("</wsman:MaxEnvelopeSize>");
    if let Some(t) = h.operation_timeout {
        text_el(out, "wsman:OperationTimeout", &format_duration(t));
    }
    if let Some(l) = &h.locale {
        out.push_str("<wsman:Locale xml:lang=\"");
        esc_attr(out, l);
        out.push_str("\" s:mustUnderstand=\"false\"/>");
    }
    if let Some(l) = &h.data_locale {
        out.push_str("<wsmv:DataLocale xml:lang=\"");
        esc_attr(out, l);
        out.push_str("\" s:mustUnderstand=\"false\"/>");
    }
    if let Some(id) = &h.session_id {
        out.push_str("<wsmv:SessionId s:mustUnderstand=\"false\">");
        esc(out, id);
        out.push_str("</wsmv:SessionId>");
    }
    if let Some(id) = &h.operation_id {
        out.push_str(if h.retransmission {
            "<wsmv:OperationID s:mustUnderstand=\"true\">"
        } else {
            "<wsmv:OperationID s:mustUnderstand=\"false\">"
        });
        esc(out, id);
        out.push_str("</wsmv:OperationID>");
        out.push_str("<wsmv:SequenceId s:mustUnderstand=\"false\">1</wsmv:SequenceId>");
    }
    if !h.selectors.is_empty() {
        selector_set(out, &h.selectors);
    }
    if !h.options.is_empty() {
        out.push_str("<wsman:OptionSet s:mustUnderstand=\"true\">");
        for o in &h.options {
            out.push_str("<wsman:Option Name=\"");
            esc_attr(out, &o.name);
            out.push('"');
            if let Some(m) = o.must_comply {
                out.push_str(if m {
                    " MustComply=\"true\""
                } else {
                    " MustComply=\"false\""
                });
            }
            if let Some(t) = &o.type_ {
                out.push_str(" Type=\"");
                esc_attr(out, t);
                out.push('"');
            }
            out.push('>');
            esc(out, &o.value);
            out.push_str("</wsman:Option>");
        }
        out.push_str("</wsman:OptionSet>");
    }
    out.push_str("</s:Header><s:Body>");
}

fn close(out: &mut String) {
    out.push_str("</s:Body></s:Envelope>");
}

fn empty_body(h: &Header, action: &str, out: &mut String) {
    open(h, action, out);
    close(out);
}

/// WS-Management Identify (DSP0226 11): no addressing headers, the body is
/// `wsmid:Identify`. Sent without authentication it reveals the protocol
/// and product versions.
pub fn identify(out: &mut String) {
    out.push_str(concat!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"",
        " xmlns:wsmid=\"http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd\">",
        "<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"
    ));
}

/// WS-Transfer Get of the resource the header addresses (DSP0226 7.3).
pub fn get(h: &Header, out: &mut String) {
    empty_body(h, ns::action::GET, out);
}

/// WS-Transfer Put (DSP0226 7.4): `body_xml` is the new representation, an
/// XML fragment written as is.
pub fn put(h: &Header, body_xml: &str, out: &mut String) {
    invoke(h, ns::action::PUT, body_xml, out);
}

/// WS-Transfer Create of a resource (DSP0226 7.5): `body_xml` is the
/// initial representation, an XML fragment written as is. Shells have
/// [`create_shell`].
pub fn create(h: &Header, body_xml: &str, out: &mut String) {
    invoke(h, ns::action::CREATE, body_xml, out);
}

/// WS-Transfer Delete (DSP0226 7.6); with a ShellId selector on a shell
/// resource URI it deletes the shell ([MS-WSMV] 3.1.4.6).
pub fn delete(h: &Header, out: &mut String) {
    empty_body(h, ns::action::DELETE, out);
}

/// A custom action (e.g. a WMI method: the action is the resource URI plus
/// `/MethodName`, DSP0226 9) with `body_xml` written as is.
pub fn invoke(h: &Header, action: &str, body_xml: &str, out: &mut String) {
    open(h, action, out);
    out.push_str(body_xml);
    close(out);
}

/// An enumeration filter (DSP0226 8.3, [MS-WSMV] 3.1.4.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// A WQL query (`Dialect` = [`ns::dialect::WQL`]).
    Wql(String),
    /// Instances whose keys match these selectors (`Dialect` =
    /// [`ns::dialect::SELECTOR`]).
    Selectors(Vec<Selector>),
    /// Any dialect with its filter text.
    Other {
        /// `@Dialect`.
        dialect: String,
        /// Filter text (escaped when written).
        text: String,
    },
}

/// What an Enumerate returns per item (DSP0226 8.7, `wsman:EnumerationMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumerationMode {
    /// Endpoint references only.
    EnumerateEpr,
    /// Each object and its endpoint reference.
    EnumerateObjectAndEpr,
}

impl EnumerationMode {
    /// The text of `wsman:EnumerationMode`.
    pub fn as_str(self) -> &'static str {
        match self {
            EnumerationMode::EnumerateEpr => "EnumerateEPR",
            EnumerationMode::EnumerateObjectAndEpr => "EnumerateObjectAndEPR",
        }
    }
}

/// The body of a WS-Enumeration Enumerate (DSP0226 8.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enumerate {
    /// `wsman:OptimizeEnumeration`: return the first items in the response.
    pub optimize: bool,
    /// `wsman:MaxElements` (only with `optimize`).
    pub max_elements: Option<u32>,
    /// `wsman:Filter`.
    pub filter: Option<Filter>,
    /// `wsman:EnumerationMode`.
    pub mode: Option<EnumerationMode>,
}

/// WS-Enumeration Enumerate (DSP0226 8.2).
pub fn enumerate(h: &Header, e: &Enumerate, out: &mut String) {
    open(h, ns::action::ENUMERATE, out);
    out.push_str("<wsen:Enumerate>");
    if e.optimize {
        out.push_str("<wsman:OptimizeEnumeration/>");
    }
    if let Some(n) = e.max_elements {
        text_el(out, "wsman:MaxElements", &n.to_string());
    }
    if let Some(mode) = e.mode {
        text_el(out, "wsman:EnumerationMode", mode.as_str());
    }
    match &e.filter {
        None => {}
        Some(Filter::Wql(q)) => {
            out.push_str("<wsman:Filter Dialect=\"");
            out.push_str(ns::dialect::WQL);
            out.push_str("\">");
            esc(out, q);
            out.push_str("</wsman:Filter>");
        }
        Some(Filter::Selectors(sel)) => {
            out.push_str("<wsman:Filter Dialect=\"");
            out.push_str(ns::dialect::SELECTOR);
            out.push_str("\">");
            selector_set(out, sel);
            out.push_str("</wsman:Filter>");
        }
        Some(Filter::Other { dialect, text }) => {
            out.push_str("<wsman:Filter Dialect=\"");
            esc_attr(out, dialect);
            out.push_str("\">");
            esc(out, text);
            out.push_str("</wsman:Filter>");
        }
    }
    out.push_str("</wsen:Enumerate>");
    close(out);
}

/// WS-Enumeration Pull of the next items (DSP0226 8.4).
pub fn pull(h: &Header, context: &str, max_elements: Option<u32>, out: &mut String) {
    open(h, ns::action::PULL, out);
    out.push_str("<wsen:Pull>");
    text_el(out, "wsen:EnumerationContext", context);
    if let Some(n) = max_elements {
        text_el(out, "wsen:MaxElements", &n.to_string());
    }
    out.push_str("</wsen:Pull>");
    close(out);
}

/// WS-Enumeration Release of an unfinished enumeration (DSP0226 8.5).
pub fn release(h: &Header, context: &str, out: &mut String) {
    open(h, ns::action::RELEASE, out);
    out.push_str("<wsen:Release>");
    text_el(out, "wsen:EnumerationContext", context);
    out.push_str("</wsen:Release>");
    close(out);
}

/// The `rsp:Shell` body of a shell Create ([MS-WSMV] 2.2.4.37, 3.1.4.5;
/// [MS-PSRP] 3.1.5.3.2 for PowerShell).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellCreate {
    /// `@ShellId`: PowerShell sets it to the RunspacePool id.
    pub shell_id: Option<String>,
    /// `rsp:Name`: the session name shown by Get-PSSession.
    pub name: Option<String>,
    /// `rsp:WorkingDirectory`.
    pub working_directory: Option<String>,
    /// `rsp:Environment/rsp:Variable` pairs.
    pub environment: Vec<(String, String)>,
    /// `rsp:Lifetime`.
    pub lifetime: Option<Duration>,
    /// `rsp:IdleTimeOut`.
    pub idle_timeout: Option<Duration>,
    /// `rsp:InputStreams` (`stdin`, or `stdin pr` for PowerShell).
    pub input_streams: String,
    /// `rsp:OutputStreams` (`stdout stderr`, or `stdout` for PowerShell).
    pub output_streams: String,
    /// `creationXml` (namespace [`ns::POWERSHELL`]): PSRP fragments,
    /// written base64-encoded.
    pub creation_xml: Option<Vec<u8>>,
}

impl ShellCreate {
    /// A WinRS cmd shell: `stdin` in, `stdout stderr` out.
    pub fn winrs() -> Self {
        ShellCreate {
            input_streams: "stdin".into(),
            output_streams: "stdout stderr".into(),
            ..Default::default()
        }
    }

    /// A PowerShell RunspacePool shell: ShellId = RPID, `stdin pr` in,
    /// `stdout` out, and the SESSION_CAPABILITY + INIT_RUNSPACEPOOL
    /// fragments as `creationXml`.
    pub fn powershell(shell_id: &str, creation_xml: Vec<u8>) -> Self {
        ShellCreate {
            shell_id: Some(shell_id.into()),
            input_streams: "stdin pr".into(),
            output_streams: "stdout".into(),
            creation_xml: Some(creation_xml),
            ..Default::default()
        }
    }
}

/// Shell Create ([MS-WSMV] 3.1.4.5.2). Options such as `WINRS_NOPROFILE`,
/// `WINRS_CODEPAGE` or `protocolversion` go in the header.
pub fn create_shell(h: &Header, s: &ShellCreate, out: &mut String) {
    open(h, ns::action::CREATE, out);
    out.push_str("<rsp:Shell");
    if let Some(id) = &s.shell_id {
        out.push_str(" ShellId=\"");
        esc_attr(out, id);
        out.push('"');
    }
    out.push('>');
    if let Some(n) = &s.name {
        text_el(out, "rsp:Name", n);
    }
    text_el(out, "rsp:InputStreams", &s.input_streams);
    text_el(out, "rsp:OutputStreams", &s.output_streams);
    if let Some(d) = &s.working_directory {
        text_el(out, "rsp:WorkingDirectory", d);
    }
    if !s.environment.is_empty() {
        out.push_str("<rsp:Environment>");
        for (k, v) in &s.environment {
            out.push_str("<rsp:Variable Name=\"");
            esc_attr(out, k);
            out.push_str("\">");
            esc(out, v);
            out.push_str("</rsp:Variable>");
        }
        out.push_str("</rsp:Environment>");
    }
    if let Some(t) = s.lifetime {
        text_el(out, "rsp:Lifetime", &format_duration(t));
    }
    if let Some(t) = s.idle_timeout {
        text_el(out, "rsp:IdleTimeOut", &format_duration(t));
    }
    if let Some(x) = &s.creation_xml {
        out.push_str("<creationXml xmlns=\"http://schemas.microsoft.com/powershell\">");
        out.push_str(&B64.encode(x));
        out.push_str("</creationXml>");
    }
    out.push_str("</rsp:Shell>");
    close(out);
}

/// The `rsp:CommandLine` body of a Command ([MS-WSMV] 2.2.4.8, 3.1.4.11).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// `@CommandId`: PowerShell sets it to the pipeline id.
    pub command_id: Option<String>,
    /// `rsp:Command` (PowerShell: empty or ` `; the pipeline travels in the
    /// arguments). `None` omits the element.
    pub command: Option<String>,
    /// `rsp:Arguments`, one element each (PowerShell: the base64 of the
    /// CREATE_PIPELINE fragments).
    pub arguments: Vec<String>,
}

/// Shell Command ([MS-WSMV] 3.1.4.11). Options `WINRS_CONSOLEMODE_STDIN` and
/// `WINRS_SKIP_CMD_SHELL` go in the header; the header selects the shell.
pub fn command(h: &Header, c: &CommandLine, out: &mut String) {
    open(h, ns::action::COMMAND, out);
    out.push_str("<rsp:CommandLine");
    if let Some(id) = &c.command_id {
        out.push_str(" CommandId=\"");
        esc_attr(out, id);
        out.push('"');
    }
    out.push('>');
    if let Some(cmd) = &c.command {
        text_el(out, "rsp:Command", cmd);
    }
    for a in &c.arguments {
        text_el(out, "rsp:Arguments", a);
    }
    out.push_str("</rsp:CommandLine>");
    close(out);
}

/// One `rsp:Stream` of a Send ([MS-WSMV] 2.2.4.39).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendStream<'a> {
    /// `@Name`: `stdin`, or `pr` for a PowerShell host response.
    pub name: &'a str,
    /// `@CommandId`; `None` sends to the shell itself (PowerShell pool data).
    pub command_id: Option<&'a str>,
    /// `@End="true"`: this is the last input of the stream.
    pub end: bool,
    /// The bytes, written base64-encoded.
    pub data: &'a [u8],
}

/// Shell Send of input ([MS-WSMV] 3.1.4.13).
pub fn send(h: &Header, streams: &[SendStream<'_>], out: &mut String) {
    open(h, ns::action::SEND, out);
    out.push_str("<rsp:Send>");
    for s in streams {
        out.push_str("<rsp:Stream Name=\"");
        esc_attr(out, s.name);
        out.push('"');
        if let Some(id) = s.command_id {
            out.push_str(" CommandId=\"");
            esc_attr(out, id);
            out.push('"');
        }
        if s.end {
            out.push_str(" End=\"true\"");
        }
        out.push('>');
        // straight into the envelope, no intermediate String
        base64_simd::STANDARD.encode_append(s.data, out);
        out.push_str("</rsp:Stream>");
    }
    out.push_str("</rsp:Send>");
    close(out);
}

/// Shell Receive ([MS-WSMV] 3.1.4.14): `streams` is the space-separated
/// `rsp:DesiredStream` list (`stdout stderr`, `stdout`); `command_id`
/// `None` receives the shell's own output (a PowerShell RunspacePool).
/// `WSMAN_CMDSHELL_OPTION_KEEPALIVE` goes in the header options.
pub fn receive(h: &Header, command_id: Option<&str>, streams: &str, out: &mut String) {
    open(h, ns::action::RECEIVE, out);
    out.push_str("<rsp:Receive><rsp:DesiredStream");
    if let Some(id) = command_id {
        out.push_str(" CommandId=\"");
        esc_attr(out, id);
        out.push('"');
    }
    out.push('>');
    esc(out, streams);
    out.push_str("</rsp:DesiredStream></rsp:Receive>");
    close(out);
}

/// Shell Signal ([MS-WSMV] 3.1.4.12): `code` is one of [`ns::signal`];
/// `command_id` `None` signals the shell (PowerShell pool).
pub fn signal(h: &Header, command_id: Option<&str>, code: &str, out: &mut String) {
    open(h, ns::action::SIGNAL, out);
    out.push_str("<rsp:Signal");
    if let Some(id) = command_id {
        out.push_str(" CommandId=\"");
        esc_attr(out, id);
        out.push('"');
    }
    out.push('>');
    text_el(out, "rsp:Code", code);
    out.push_str("</rsp:Signal>");
    close(out);
}

/// Output buffering of a disconnected shell ([MS-WSMV] 2.2.5.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferMode {
    /// Pause the pipeline when the buffer fills.
    Block,
    /// Discard the oldest output when the buffer fills.
    Drop,
}

impl BufferMode {
    /// The text Windows uses.
    pub fn as_str(self) -> &'static str {
        match self {
            BufferMode::Block => "Block",
            BufferMode::Drop => "Drop",
        }
    }
}

/// Shell Disconnect ([MS-WSMV] 3.1.4.15, [MS-PSRP] 3.1.5.3.16) with an
/// optional new idle timeout and buffer mode.
pub fn disconnect(
    h: &Header,
    idle_timeout: Option<Duration>,
    buffer_mode: Option<BufferMode>,
    out: &mut String,
) {
    open(h, ns::action::DISCONNECT, out);
    if idle_timeout.is_none() && buffer_mode.is_none() {
        out.push_str("<rsp:Disconnect/>");
    } else {
        out.push_str("<rsp:Disconnect>");
        if let Some(b) = buffer_mode {
            text_el(out, "rsp:BufferMode", b.as_str());
        }
        if let Some(t) = idle_timeout {
            text_el(out, "rsp:IdleTimeOut", &format_duration(t));
        }
        out.push_str("</rsp:Disconnect>");
    }
    close(out);
}

/// Shell Reconnect from the client that disconnected ([MS-WSMV] 3.1.4.16).
/// Windows accepts (and pypsrp sends) an empty body.
pub fn reconnect(h: &Header, out: &mut String) {
    empty_body(h, ns::action::RECONNECT, out);
}

/// Shell Connect from another client ([MS-WSMV] 3.1.4.17, [MS-PSRP]
/// 3.1.5.3.18): for the shell, `connect_xml` carries SESSION_CAPABILITY +
/// CONNECT_RUNSPACEPOOL (base64-encoded when written); for a command,
/// `command_id` names it.
pub fn connect(h: &Header, command_id: Option<&str>, connect_xml: Option<&[u8]>, out: &mut String) {
    open(h, ns::action::CONNECT, out);
    out.push_str("<rsp:Connect");
    if let Some(id) = command_id {
        out.push_str(" CommandId=\"");
        esc_attr(out, id);
        out.push('"');
    }
    match connect_xml {
        None => out.push_str("/>"),
        Some(x) => {
            out.push_str("><connectXml xmlns=\"http://schemas.microsoft.com/powershell\">");
            out.push_str(&B64.encode(x));
            out.push_str("</connectXml></rsp:Connect>");
        }
    }
    close(out);
}

/// The header options of a WinRS shell Create as Windows' own client sends
/// them ([MS-WSMV] 3.1.4.5.2): `WINRS_NOPROFILE` and, when given,
/// `WINRS_CODEPAGE` (65001 for UTF-8 output).
pub fn winrs_shell_options(no_profile: bool, codepage: Option<u32>) -> Vec<WsOption> {
    let mut v = vec![WsOption::flag(ns::option::WINRS_NOPROFILE, no_profile)];
    if let Some(cp) = codepage {
        v.push(WsOption::new(ns::option::WINRS_CODEPAGE, cp.to_string()));
    }
    v
}

/// The header options of a WinRS Command ([MS-WSMV] 3.1.4.11):
/// `WINRS_CONSOLEMODE_STDIN` and `WINRS_SKIP_CMD_SHELL`.
pub fn winrs_command_options(console_mode_stdin: bool, skip_cmd_shell: bool) -> Vec<WsOption> {
    vec![
        WsOption::flag(ns::option::WINRS_CONSOLEMODE_STDIN, console_mode_stdin),
        WsOption::flag(ns::option::WINRS_SKIP_CMD_SHELL, skip_cmd_shell),
    ]
}

/// The header option of a WinRS Receive that keeps the shell alive while
/// the Receive is pending (`WSMAN_CMDSHELL_OPTION_KEEPALIVE`).
pub fn keepalive_option() -> WsOption {
    WsOption::new(ns::option::KEEPALIVE, "TRUE")
}

/// Bytes kept free below MaxEnvelopeSize for what the transport may add
/// and for rounding (Windows counts the whole envelope).
pub const ENVELOPE_MARGIN: usize = 1024;

/// How many payload bytes fit, base64-encoded, into one envelope whose
/// other content is `envelope_len` bytes, under `max_envelope_size`
/// ([MS-WSMV] 2.2.4.24 MaxEnvelopeSize; base64 grows data by 4/3).
pub fn base64_capacity(max_envelope_size: u32, envelope_len: usize) -> usize {
    let room = (max_envelope_size as usize).saturating_sub(envelope_len + ENVELOPE_MARGIN);
    room / 4 * 3
}

/// How many input bytes one Send to `stream`/`command_id` can carry with
/// this header ([MS-PSRP] 3.1.5.3.7: PSRP fragments are sized from this).
pub fn send_capacity(h: &Header, stream: &str, command_id: Option<&str>) -> usize {
    let mut probe = String::new();
    let s = [SendStream {
        name: stream,
        command_id,
        end: true,
        data: b"",
    }];
    send(h, &s, &mut probe);
    base64_capacity(h.max_envelope_size, probe.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_id_marks_a_retransmission_with_must_understand() {
        let mut h = Header::new("http://h/wsman", ns::uri::SHELL_CMD).with_selector("ShellId", "S");
        let mut out = String::new();
        delete(&h, &mut out);
        assert!(!out.contains("OperationID"), "none unless asked: {out}");
        h.operation_id = Some("uuid:AB".into());
        out.clear();
        delete(&h, &mut out);
        assert!(out.contains(
            "<wsmv:OperationID s:mustUnderstand=\"false\">uuid:AB</wsmv:OperationID>\
             <wsmv:SequenceId s:mustUnderstand=\"false\">1</wsmv:SequenceId>"
        ));
        h.retransmission = true;
        out.clear();
        delete(&h, &mut out);
        assert!(
            out.contains("<wsmv:OperationID s:mustUnderstand=\"true\">uuid:AB</wsmv:OperationID>")
        );
        let back = crate::soap::inspect::parse_request(out.as_bytes()).unwrap();
        assert_eq!(back.header.operation_id.as_deref(), Some("uuid:AB"));
        assert!(back.header.retransmission);
    }

    #[test]
    fn header_carries_every_common_field() {
        let mut h = Header::new("https://h:5986/wsman", ns::uri::SHELL_CMD)
            .with_selector("ShellId", "A&B")
            .with_option(WsOption::protocol_version("2.3"));
        h.session_id = Some("uuid:1".into());
        let mut out = String::new();
        delete(&h, &mut out);
        for needle in [
            "<wsa:To>https://h:5986/wsman</wsa:To>",
            "<wsa:Action s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete</wsa:Action>",
            "<wsa:Address s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>",
            "<wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">512000</wsman:MaxEnvelopeSize>",
            "<wsman:OperationTimeout>PT20.000S</wsman:OperationTimeout>",
            "<wsman:Locale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>",
            "<wsmv:DataLocale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>",
            "<wsmv:SessionId s:mustUnderstand=\"false\">uuid:1</wsmv:SessionId>",
            "<wsman:Selector Name=\"ShellId\">A&amp;B</wsman:Selector>",
            "<wsman:Option Name=\"protocolversion\" MustComply=\"true\">2.3</wsman:Option>",
        ] {
            assert!(out.contains(needle), "missing {needle} in {out}");
        }
        assert!(out.contains(&format!("<wsa:MessageID>{}</wsa:MessageID>", h.message_id)));
    }

    #[test]
    fn send_capacity_fills_the_envelope_without_passing_it() {
        let mut h = Header::new("https://h:5986/wsman", ns::uri::POWERSHELL_DEFAULT)
            .with_selector("ShellId", "B6631D8E-65A0-49F2-9053-A1B156C95777");
        h.max_envelope_size = 153_600;
        let id = "C1E5B9A3-0000-4000-8000-000000000000";
        let cap = send_capacity(&h, "stdin", Some(id));
        assert!(cap > 110_000 && cap < 115_200, "{cap}");
        let data = vec![0xA5u8; cap];
        let mut out = String::new();
        let s = [SendStream {
            name: "stdin",
            command_id: Some(id),
            end: true,
            data: &data,
        }];
        send(&h, &s, &mut out);
        assert!(out.len() <= 153_600 - ENVELOPE_MARGIN + 3, "{}", out.len());
        assert!(out.len() > 150_000, "{}", out.len());
        assert_eq!(base64_capacity(1000, 5000), 0);
    }

    #[test]
    fn winrs_option_sets() {
        let o = winrs_shell_options(true, Some(65001));
        assert_eq!(o[0], WsOption::new("WINRS_NOPROFILE", "TRUE"));
        assert_eq!(o[1], WsOption::new("WINRS_CODEPAGE", "65001"));
        let c = winrs_command_options(true, false);
        assert_eq!(c[1], WsOption::new("WINRS_SKIP_CMD_SHELL", "FALSE"));
        assert_eq!(keepalive_option().name, "WSMAN_CMDSHELL_OPTION_KEEPALIVE");
    }

    #[test]
    fn escapes_user_text() {
        let h = Header::new("x", ns::uri::SHELL_CMD);
        let mut out = String::new();
        let c = CommandLine {
            command: Some("echo <a & \"b\">".into()),
            arguments: vec!["]]>".into()],
            ..Default::default()
        };
        command(&h, &c, &mut out);
        assert!(out.contains("<rsp:Command>echo &lt;a &amp; &quot;b&quot;&gt;</rsp:Command>"));
        assert!(out.contains("<rsp:Arguments>]]&gt;</rsp:Arguments>"));
    }
}
