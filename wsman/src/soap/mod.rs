//! The SOAP codec, free of I/O: WS-Management request envelopes built into a
//! buffer and responses parsed into typed views ([DSP0226], [MS-WSMV] 2.2).
//!
//! * [`Header`] holds what every request carries (`wsa:To`, `wsa:MessageID`,
//!   `wsman:ResourceURI`, `wsman:MaxEnvelopeSize`, `wsman:OperationTimeout`,
//!   locales, `wsmv:SessionId`, selectors and options); the `wsa:Action` is
//!   chosen by the operation.
//! * [`request`] appends one envelope per operation to a caller's `String`
//!   (Identify, Get, Put, Create, Delete, Enumerate, Pull, Release, a custom
//!   action, and the shell operations of [MS-WSMV] 3.1.4).
//! * [`response`] parses answers with a streaming, bounded reader into typed
//!   views; a SOAP fault becomes [`Error::Fault`](crate::Error::Fault).
//! * [`inspect`] parses any request envelope back into its parts (used by
//!   test servers and by the fixture tests that rebuild recorded requests).
//! * [`json`] turns a resource's XML (a Get body, an enumeration item) into
//!   JSON for `--json`.
//! * [`ns`] has the namespace, action, resource URI, signal and state constants.
//!
//! ```
//! use wsman::soap::{self, ns, request, response, Header, WsOption};
//!
//! let mut h = Header::new("https://host:5986/wsman", ns::uri::SHELL_CMD);
//! h.options.push(WsOption::new(ns::option::WINRS_CODEPAGE, "65001"));
//! let mut buf = String::new();
//! request::create_shell(&h, &request::ShellCreate::winrs(), &mut buf);
//! assert!(buf.contains("<rsp:InputStreams>stdin</rsp:InputStreams>"));
//!
//! let answer = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
//!   xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header/>
//!   <s:Body><rsp:CommandResponse><rsp:CommandId>C0FFEE</rsp:CommandId>
//!   </rsp:CommandResponse></s:Body></s:Envelope>"#;
//! assert_eq!(response::parse_command(answer).unwrap().command_id, "C0FFEE");
//! ```
//!
//! [DSP0226]: https://www.dmtf.org/standards/published_documents/DSP0226_1.2.0.pdf
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use std::time::Duration;

pub mod inspect;
pub mod json;
pub mod ns;
pub mod request;
pub mod response;
pub mod shared;
mod streams;
pub mod xml;

/// A `wsman:Selector` (DSP0226 7.3): one key of the addressed instance, e.g.
/// `ShellId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// `@Name`.
    pub name: String,
    /// Text value.
    pub value: String,
}

impl Selector {
    /// A selector `name` = `value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Selector {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A `wsman:Option` of the `wsman:OptionSet` (DSP0226 6.4, [MS-WSMV]
/// 3.1.4.5): `WINRS_NOPROFILE`, `WINRS_CODEPAGE`, `protocolversion`, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsOption {
    /// `@Name`.
    pub name: String,
    /// Text value.
    pub value: String,
    /// `@MustComply`, when present.
    pub must_comply: Option<bool>,
    /// `@Type` (a QName such as `xs:boolean`), when present.
    pub type_: Option<String>,
}

impl WsOption {
    /// An option without attributes besides `Name`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        WsOption {
            name: name.into(),
            value: value.into(),
            must_comply: None,
            type_: None,
        }
    }

    /// The PowerShell `protocolversion` option, `MustComply="true"`
    /// ([MS-PSRP] 3.1.5.3.3).
    pub fn protocol_version(version: &str) -> Self {
        WsOption {
            must_comply: Some(true),
            ..WsOption::new(ns::option::PROTOCOL_VERSION, version)
        }
    }

    /// A WinRS boolean option as Windows writes it (`TRUE`/`FALSE`).
    pub fn flag(name: &str, on: bool) -> Self {
        WsOption::new(name, if on { "TRUE" } else { "FALSE" })
    }
}

/// The common header of a WS-Management request ([DSP0226] 6, [MS-WSMV]
/// 2.2.4). The `wsa:Action` is set by each [`request`] builder; `wsa:ReplyTo`
/// is always the anonymous address with `mustUnderstand`.
///
/// [DSP0226]: https://www.dmtf.org/standards/published_documents/DSP0226_1.2.0.pdf
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `wsa:To`, the endpoint URL (`https://host:5986/wsman`).
    pub to: String,
    /// `wsman:ResourceURI`.
    pub resource_uri: String,
    /// `wsa:MessageID`, `uuid:` and an upper-case UUID ([`new_message_id`]).
    pub message_id: String,
    /// `wsman:MaxEnvelopeSize` in bytes.
    pub max_envelope_size: u32,
    /// `wsman:OperationTimeout`, written as `PT20.000S`; `None` omits it.
    pub operation_timeout: Option<Duration>,
    /// `wsman:Locale/@xml:lang` (mustUnderstand=false); `None` omits it.
    pub locale: Option<String>,
    /// `wsmv:DataLocale/@xml:lang` (mustUnderstand=false); `None` omits it.
    pub data_locale: Option<String>,
    /// `wsmv:SessionId` (`uuid:...`, mustUnderstand=false); `None` omits it.
    pub session_id: Option<String>,
    /// `wsman:SelectorSet`; empty omits it.
    pub selectors: Vec<Selector>,
    /// `wsman:OptionSet` (mustUnderstand=true); empty omits it.
    pub options: Vec<WsOption>,
    /// `wsmv:OperationID` ([MS-WSMV] 2.2.4.45, 3.1.4.1.39): asks for
    /// robust handling of this request; written with `wsmv:SequenceId` 1.
    /// `None` omits both.
    pub operation_id: Option<String>,
    /// The request is a retransmission of one whose answer was lost: the
    /// OperationID goes out with `s:mustUnderstand="true"` ([MS-WSMV]
    /// 3.2.5.3), so a host that kept the answer sends it again.
    pub retransmission: bool,
}

impl Header {
    /// A header for `to` and `resource_uri` with a fresh MessageID, a
    /// 500 KiB envelope (512000), 20 s operation timeout and `en-US` locales.
    pub fn new(to: impl Into<String>, resource_uri: impl Into<String>) -> Self {
        Header {
            to: to.into(),
            resource_uri: resource_uri.into(),
            message_id: new_message_id(),
            max_envelope_size: 512_000,
            operation_timeout: Some(Duration::from_secs(20)),
            locale: Some("en-US".into()),
            data_locale: Some("en-US".into()),
            session_id: None,
            selectors: Vec::new(),
            options: Vec::new(),
            operation_id: None,
            retransmission: false,
        }
    }

    /// Adds a selector (builder style).
    pub fn with_selector(mut self, name: &str, value: &str) -> Self {
        self.selectors.push(Selector::new(name, value));
        self
    }

    /// Adds an option (builder style).
    pub fn with_option(mut self, option: WsOption) -> Self {
        self.options.push(option);
        self
    }

    /// The value of selector `name`, if present.
    pub fn selector(&self, name: &str) -> Option<&str> {
        self.selectors
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .map(|s| s.value.as_str())
    }
}

/// A new `wsa:MessageID`: `uuid:` and a random upper-case UUID.
pub fn new_message_id() -> String {
    format!(
        "uuid:{}",
        uuid::Uuid::new_v4()
            .hyphenated()
            .encode_upper(&mut uuid::Uuid::encode_buffer())
    )
}

/// Formats a duration as the `xs:duration` Windows writes: `PT20.000S`.
pub fn format_duration(d: Duration) -> String {
    format!("PT{}.{:03}S", d.as_secs(), d.subsec_millis())
}

/// Parses an `xs:duration` of days, hours, minutes and seconds
/// (`PT20S`, `PT7200.000S`, `P0DT0H0M2S`). Years and months are refused
/// (their length is not fixed); so are negative durations.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total_ms: u128 = 0;
    let mut any = false;
    let mut num = String::new();
    for c in date.chars() {
        match c {
            '0'..='9' => num.push(c),
            'D' => {
                total_ms += num.parse::<u128>().ok()? * 86_400_000;
                num.clear();
                any = true;
            }
            _ => return None,
        }
    }
    if !num.is_empty() {
        return None;
    }
    if let Some(time) = time {
        if time.is_empty() {
            return None;
        }
        for c in time.chars() {
            match c {
                '0'..='9' | '.' => num.push(c),
                'H' | 'M' if !num.contains('.') => {
                    let unit = if c == 'H' { 3_600_000 } else { 60_000 };
                    total_ms += num.parse::<u128>().ok()? * unit;
                    num.clear();
                    any = true;
                }
                'S' => {
                    let (whole, frac) = num.split_once('.').unwrap_or((&num, ""));
                    if whole.is_empty() && frac.is_empty() {
                        return None;
                    }
                    let w: u128 = if whole.is_empty() {
                        0
                    } else {
                        whole.parse().ok()?
                    };
                    let mut f = frac.chars().take(3).collect::<String>();
                    if !f.chars().all(|c| c.is_ascii_digit()) {
                        return None;
                    }
                    while f.len() < 3 {
                        f.push('0');
                    }
                    total_ms += w * 1000 + f.parse::<u128>().ok()?;
                    num.clear();
                    any = true;
                }
                _ => return None,
            }
        }
        if !num.is_empty() {
            return None;
        }
    }
    if !any {
        return None;
    }
    u64::try_from(total_ms).ok().map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_in_windows_form() {
        assert_eq!(format_duration(Duration::from_secs(20)), "PT20.000S");
        assert_eq!(parse_duration("PT20S"), Some(Duration::from_secs(20)));
        assert_eq!(parse_duration("PT20.000S"), Some(Duration::from_secs(20)));
        assert_eq!(
            parse_duration("PT2147483.647S"),
            Some(Duration::from_millis(2_147_483_647))
        );
        assert_eq!(parse_duration("P0DT0H1M2S"), Some(Duration::from_secs(62)));
        assert_eq!(parse_duration("P1D"), Some(Duration::from_secs(86_400)));
        for bad in ["", "P", "PT", "20", "P1Y", "-PT1S", "PT1.5H", "PTS", "PT1"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn message_ids_are_unique_upper_case_uuids() {
        let a = new_message_id();
        assert!(a.starts_with("uuid:") && a.len() == 41, "{a}");
        assert_eq!(a, a.to_uppercase().replace("UUID:", "uuid:"));
        assert_ne!(a, new_message_id());
    }
}
