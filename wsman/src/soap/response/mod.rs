//! Response parsers: a response body in, a typed view out ([DSP0226],
//! [MS-WSMV] 3.1.4). Parsing is streaming (quick-xml, no DOM) and bounded
//! (see [`super::xml`]). Every parser first checks for a SOAP fault and
//! returns [`Error::Fault`] with the parsed [`Fault`](crate::fault::Fault)
//! when the body is one.
//!
//! One private module per operation, everything re-exported here:
//! `identify`, `resource` (Get, Put, custom actions), `enumerate`
//! (Enumerate, Pull), `shell` (shell properties, Create, Command, Connect),
//! `receive`, and `fault`. This module holds the envelope framing they share.
//!
//! [DSP0226]: https://www.dmtf.org/standards/published_documents/DSP0226_1.2.0.pdf
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
mod enumerate;
mod fault;
mod identify;
mod receive;
mod resource;
mod shell;

pub use enumerate::{parse_enumerate, parse_pull, Enumeration};
pub use fault::parse_fault;
pub use identify::{parse_identify, Identify};
pub use receive::{parse_receive, CommandState, Received, StreamData};
pub use resource::{parse_get, Resource};
pub use shell::{
    parse_command, parse_connect, parse_create, parse_shell, CommandResponse, Connected, Created,
    ShellInfo,
};

use super::ns;
use super::xml::{as_text, protocol, Ev, Reader, Start};
use crate::error::{Error, Result};

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
pub(super) struct Body<'a> {
    r: Reader<'a>,
    info: EnvelopeInfo,
    /// Depth of the Body element's children.
    child_depth: usize,
    done: bool,
}

pub(super) fn is_soap(s: &Start) -> bool {
    matches!(s.ns.as_deref(), Some(ns::SOAP) | Some(ns::SOAP11))
}

pub(super) fn open(input: &[u8]) -> Result<Body<'_>> {
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
                        let fault = fault::read_fault(&mut self.r)?;
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
    fn children(&mut self, f: impl FnMut(&mut Reader<'a>, Start) -> Result<()>) -> Result<()> {
        each_child(&mut self.r, "element", f)
    }
}

/// Calls `f` for each child element of the element whose start tag `r`
/// just read, until that element's end; `f` must consume the child (read
/// its text or skip it). Text between children is ignored. `what` names
/// the element in the error when the document ends first.
pub(super) fn each_child<'a>(
    r: &mut Reader<'a>,
    what: &str,
    mut f: impl FnMut(&mut Reader<'a>, Start) -> Result<()>,
) -> Result<()> {
    let depth = r.depth();
    loop {
        match r.next()? {
            Some(Ev::Start(s)) => f(r, s)?,
            Some(Ev::End { .. }) if r.depth() < depth => return Ok(()),
            Some(_) => {}
            None => return Err(protocol(format!("{what} not closed"))),
        }
    }
}

pub(super) fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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

/// The addressing and robust-connection headers of any response (an
/// answer or a fault), without reading its body.
///
/// Only the envelope up to its Body's start tag is read (and checked as
/// UTF-8), so a Receive's answer of a megabyte is not gone through once
/// more for its header; should that part not parse on its own (a header
/// element named `Body`, a comment holding one), the whole is read.
pub fn parse_header(input: &[u8]) -> Result<EnvelopeInfo> {
    if let Some(end) = body_start_end(input) {
        if let Ok(body) = open(&input[..end]) {
            return Ok(body.info);
        }
    }
    Ok(open(input)?.info)
}

/// Where the first start tag named `Body` (with or without a prefix) ends.
fn body_start_end(input: &[u8]) -> Option<usize> {
    memchr::memmem::find_iter(input, b"Body").find_map(|at| {
        let next = *input.get(at + 4)?;
        if !(next == b'>' || next == b'/' || next.is_ascii_whitespace()) {
            return None;
        }
        let before = &input[..at];
        let lt = memchr::memrchr(b'<', before)?;
        let prefix = &before[lt + 1..];
        let named = prefix.is_empty()
            || (prefix.ends_with(b":")
                && prefix[..prefix.len() - 1]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')));
        named.then(|| memchr::memchr(b'>', &input[at..]).map(|gt| at + gt + 1))?
    })
}

#[cfg(test)]
mod tests {
    use super::receive::parse_receive_checked;
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

    /// The header is read without the body: bytes there that are not UTF-8
    /// do not stop it (the body's own parse refuses them); a header element
    /// named Body sends it back to reading the whole envelope.
    #[test]
    fn the_header_is_read_without_the_body() {
        let head = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header><p:OperationID>uuid:AB</p:OperationID><p:SequenceId>3</p:SequenceId></s:Header><s:Body>"#;
        let mut answer = head.as_bytes().to_vec();
        answer.extend_from_slice(b"<x>\xff\xfe</x></s:Body></s:Envelope>");
        let i = parse_header(&answer).unwrap();
        assert_eq!(
            (i.operation_id.as_deref(), i.sequence_id),
            (Some("uuid:AB"), Some(3))
        );
        assert!(parse_receive(&answer).is_err(), "the body is still checked");
        let odd = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header><p:Body>x</p:Body><p:SequenceId>4</p:SequenceId></s:Header><s:Body/></s:Envelope>"#;
        assert_eq!(parse_header(odd.as_bytes()).unwrap().sequence_id, Some(4));
        assert_eq!(body_start_end(b"<a><Bodyx/><s:Body >"), Some(20));
        assert_eq!(body_start_end(b"<a>no body</a>"), None);
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
