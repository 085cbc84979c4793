//! Request parsing: any WS-Management request envelope back into its parts
//! (action, [`Header`] fields, body elements). Test servers use it to
//! answer our requests; the fixture tests use it to take recorded requests
//! apart and compare our rebuilt ones structurally.
//!
//! The body is returned as a small bounded tree of [`Node`]s: requests are
//! small and their bodies are what a server needs whole.
use super::xml::{as_text, protocol, Ev, Reader};
use super::{ns, parse_duration, Header, Selector, WsOption};
use crate::error::Result;

/// One element of a request body, namespaces resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// Namespace URI (`None` when unqualified).
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// Attributes as (namespace URI, local name, value), in document order,
    /// namespace declarations excluded.
    pub attrs: Vec<(Option<String>, String, String)>,
    /// Concatenated direct text content (untrimmed).
    pub text: String,
    /// Child elements.
    pub children: Vec<Node>,
}

impl Node {
    /// The value of attribute `local` (any namespace).
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(_, n, _)| n == local)
            .map(|(_, _, v)| v.as_str())
    }

    /// The first child named `local` (any namespace).
    pub fn child(&self, local: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == local)
    }

    /// Every child named `local`.
    pub fn children_named<'a>(&'a self, local: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == local)
    }
}

/// A request taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `wsa:Action` (empty for Identify, which has none).
    pub action: String,
    /// The header fields. A missing MaxEnvelopeSize is 0; a missing
    /// MessageID empty; missing optional fields `None`.
    pub header: Header,
    /// Whether `wsa:ReplyTo` was the anonymous address.
    pub reply_to_anonymous: bool,
    /// `wsman:OperationTimeout` as written when it is not a duration the
    /// header can hold (e.g. a negative `PT-1S`); `header.operation_timeout`
    /// is then `None`.
    pub operation_timeout_unparsed: Option<String>,
    /// Body child elements.
    pub body: Vec<Node>,
}

/// Parses a request envelope into its parts.
pub fn parse_request(input: &[u8]) -> Result<Request> {
    let text = as_text(input)?;
    let mut r = Reader::new(text);
    match r.next()? {
        Some(Ev::Start(s)) if s.local == "Envelope" => {}
        _ => return Err(protocol("request is not a SOAP envelope")),
    }
    let mut req = Request {
        action: String::new(),
        header: Header {
            to: String::new(),
            resource_uri: String::new(),
            message_id: String::new(),
            max_envelope_size: 0,
            operation_timeout: None,
            locale: None,
            data_locale: None,
            session_id: None,
            selectors: Vec::new(),
            options: Vec::new(),
            operation_id: None,
            retransmission: false,
        },
        reply_to_anonymous: false,
        operation_timeout_unparsed: None,
        body: Vec::new(),
    };
    while let Some(ev) = r.next()? {
        let Ev::Start(s) = ev else { continue };
        match s.local.as_str() {
            "Header" => {
                let Some(Node { children, .. }) = read_node_rest(&mut r, s.ns, s.local)? else {
                    continue;
                };
                for h in children {
                    header_field(&mut req, h)?;
                }
            }
            "Body" => {
                if let Some(b) = read_node_rest(&mut r, s.ns, s.local)? {
                    req.body = b.children;
                }
            }
            _ => {
                r.skip()?;
            }
        }
    }
    Ok(req)
}

fn header_field(req: &mut Request, n: Node) -> Result<()> {
    let h = &mut req.header;
    let text = n.text.trim().to_owned();
    let lang = || {
        n.attrs
            .iter()
            .find(|(ns_, l, _)| l == "lang" && ns_.as_deref() == Some(ns::XML))
            .map(|(_, _, v)| v.clone())
            .unwrap_or_default()
    };
    match n.name.as_str() {
        "Action" => req.action = text,
        "To" => h.to = text,
        "MessageID" => h.message_id = text,
        "ReplyTo" => {
            req.reply_to_anonymous = n
                .child("Address")
                .is_some_and(|a| a.text.trim() == ns::ADDRESS_ANONYMOUS)
        }
        "ResourceURI" => h.resource_uri = text,
        "MaxEnvelopeSize" => {
            h.max_envelope_size = text
                .parse()
                .map_err(|_| protocol(format!("bad MaxEnvelopeSize {text:?}")))?
        }
        "OperationTimeout" => match parse_duration(&text) {
            Some(d) => h.operation_timeout = Some(d),
            None => req.operation_timeout_unparsed = Some(text),
        },
        "Locale" => h.locale = Some(lang()),
        "OperationID" => {
            h.retransmission = n
                .attrs
                .iter()
                .any(|(_, l, v)| l == "mustUnderstand" && matches!(v.trim(), "true" | "1"));
            h.operation_id = Some(text);
        }
        "DataLocale" => h.data_locale = Some(lang()),
        "SessionId" => h.session_id = Some(text),
        "SelectorSet" => {
            for s in n.children_named("Selector") {
                h.selectors.push(Selector::new(
                    s.attr("Name").unwrap_or_default(),
                    s.text.trim(),
                ));
            }
        }
        "OptionSet" => {
            for o in n.children_named("Option") {
                h.options.push(WsOption {
                    name: o.attr("Name").unwrap_or_default().to_owned(),
                    value: o.text.trim().to_owned(),
                    must_comply: o
                        .attr("MustComply")
                        .map(|v| v.trim().eq_ignore_ascii_case("true")),
                    type_: o.attr("Type").map(str::to_owned),
                });
            }
        }
        _ => {}
    }
    Ok(())
}

/// Reads the rest of an element whose start tag was just read, as a Node.
fn read_node_rest(r: &mut Reader<'_>, ns_: Option<String>, name: String) -> Result<Option<Node>> {
    let mut stack = vec![Node {
        ns: ns_,
        name,
        ..Node::default()
    }];
    while let Some(ev) = r.next()? {
        match ev {
            Ev::Start(s) => stack.push(Node {
                ns: s.ns,
                name: s.local,
                attrs: s
                    .attrs
                    .into_iter()
                    .map(|a| (a.ns, a.local, a.value))
                    .collect(),
                ..Node::default()
            }),
            Ev::Text(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t);
                }
            }
            Ev::End { .. } => {
                let n = stack.pop().ok_or_else(|| protocol("unbalanced XML"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(n),
                    None => return Ok(Some(n)),
                }
            }
        }
    }
    Err(protocol("request envelope truncated"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::request;
    use std::time::Duration;

    #[test]
    fn parses_what_the_builder_writes() {
        let h = Header::new("https://h/wsman", ns::uri::SHELL_CMD)
            .with_selector("ShellId", "S1")
            .with_option(WsOption::flag(ns::option::WINRS_SKIP_CMD_SHELL, false));
        let mut out = String::new();
        request::signal(&h, Some("C1"), ns::signal::CTRL_C, &mut out);
        let req = parse_request(out.as_bytes()).unwrap();
        assert_eq!(req.action, ns::action::SIGNAL);
        assert_eq!(req.header, h);
        assert!(req.reply_to_anonymous);
        assert_eq!(req.header.operation_timeout, Some(Duration::from_secs(20)));
        let sig = &req.body[0];
        assert_eq!(
            (sig.name.as_str(), sig.attr("CommandId")),
            ("Signal", Some("C1"))
        );
        assert_eq!(sig.child("Code").unwrap().text, ns::signal::CTRL_C);
    }
}
