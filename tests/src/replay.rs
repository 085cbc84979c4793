//! Replays of recorded real Windows traffic as rows of a table: a
//! [`Row`] names the recording (`fixtures/recordings/pypsrp/.../*.yml`),
//! how it is adapted to our client and which divergences it may show; the
//! [`replay_tests!`](crate::replay_tests) macro turns each row and its
//! scenario (what to run, what the user must see) into a test.
//!
//! The recordings were made by pypsrp, so a few things legitimately differ
//! and are allowed (see [`HARMLESS`], [`with_release_signals`] and
//! [`with_call_ids_from_one`]).
use fixtures::{
    Delivery, Divergence, MatchMode, RecordedMessage, Recording, ReplayOptions, ReplayReport,
    ReplayServer,
};

use crate::helpers::replay_connection;

/// Divergences that change nothing on the wire that Windows acts on:
/// `OperationTimeout` is the same 20 seconds written `PT20.000S` by us and
/// `PT20S` by pypsrp (both xs:duration, [MS-WSMV] 2.2.4.36).
pub const HARMLESS: &[&str] = &["OperationTimeout"];

/// One replay: the recording and how to serve and judge it. Build it with
/// struct update syntax from [`Row::DEFAULT`].
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// The recording's name (`Recording::load`).
    pub recording: &'static str,
    /// Serve RUNSPACE_AVAILABILITY answers with call ids counted from one
    /// ([`with_call_ids_from_one`]).
    pub call_ids_from_one: bool,
    /// How the replay server matches our requests to recorded ones.
    pub mode: MatchMode,
    /// Divergences allowed besides the harmless ones: the recorded request
    /// index and the field (each row says why in a comment).
    pub allow: &'static [(usize, &'static str)],
}

impl Row {
    /// A strict replay of no recording, allowing nothing but [`HARMLESS`].
    pub const DEFAULT: Row = Row {
        recording: "",
        call_ids_from_one: false,
        mode: MatchMode::Strict,
        allow: &[],
    };

    /// The recording as served: with the release Signals our client sends
    /// and, when asked, call ids counted from one.
    pub fn recording(&self) -> Recording {
        let rec = Recording::load(self.recording)
            .unwrap_or_else(|e| panic!("recording {}: {e}", self.recording));
        let rec = with_release_signals(rec);
        if self.call_ids_from_one {
            with_call_ids_from_one(rec)
        } else {
            rec
        }
    }

    /// Starts the replay server and returns it with the connection settings
    /// that reach it.
    pub async fn start(&self) -> (ReplayServer, pssession::ConnectionInfo) {
        let options = ReplayOptions {
            mode: self.mode,
            ..Default::default()
        };
        let server = ReplayServer::start_with(self.recording(), options).await;
        let info = replay_connection(&server.url());
        (server, info)
    }

    /// Ends the replay: every recorded message served (or skipped), and no
    /// divergence but harmless ones and those the row allows.
    pub fn check(&self, server: ReplayServer) -> ReplayReport {
        check_except(server, self.allow)
    }
}

/// Declares one `#[tokio::test]` per row:
/// `name: "recording" { fields } => scenario(args);` starts the row's
/// replay, awaits `scenario(connection_info, args...)` and then checks the
/// replay ([`Row::check`]). The optional fields are those of [`Row`]
/// besides `recording`: `name: "test_psrp_x" { allow: &[(5, "field")] }`.
#[macro_export]
macro_rules! replay_tests {
    ($(
        $(#[$meta:meta])*
        $name:ident: $recording:literal $({ $($field:ident: $value:expr),* $(,)? })?
            => $($scenario:ident)::+ ( $($arg:expr),* $(,)? );
    )*) => {$(
        $(#[$meta])*
        #[tokio::test]
        async fn $name() {
            let row = $crate::replay::Row {
                recording: $recording,
                $($($field: $value,)*)?
                ..$crate::replay::Row::DEFAULT
            };
            let (server, info) = row.start().await;
            $($scenario)::+(info, $($arg),*).await;
            row.check(server);
        }
    )*};
}

fn attribute<'a>(xml: &'a str, after: &str, name: &str) -> Option<&'a str> {
    let start = xml.find(after)?;
    let rest = &xml[start..];
    let key = format!("{name}=\"");
    let at = rest.find(&key)? + key.len();
    let end = rest[at..].find('"')?;
    Some(&rest[at..at + end])
}

fn selector_shell_id(xml: &str) -> Option<&str> {
    let key = "Name=\"ShellId\">";
    let at = xml.find(key)? + key.len();
    let end = xml[at..].find('<')?;
    Some(&xml[at..at + end])
}

fn element<'a>(xml: &'a str, local: &str) -> Option<&'a str> {
    let at = xml.find(&format!(":{local} "))?;
    let open = xml[at..].find('>')? + at + 1;
    let end = xml[open..].find('<')?;
    Some(&xml[open..open + end])
}

fn resource_uri(xml: &str) -> Option<&str> {
    let at = xml.find("ResourceURI")?;
    let open = xml[at..].find('>')? + at + 1;
    let end = xml[open..].find('<')?;
    Some(&xml[open..open + end])
}

/// The recording with the release Signals our client sends, where it
/// sends them.
///
/// Our client releases a finished pipeline with a WS-Man Signal
/// `.../signal/Terminate` ([MS-WSMV] 3.1.4.12), as PowerShell does and as
/// pypsrp 0.8 and later do (`test_psrp_multiple_invocations` recorded it),
/// but not at the pipeline's end: before the session's next Command,
/// Disconnect or Connect of a pipeline, and not at all before the shell's
/// Delete, which frees every command (the older pypsrp that made most
/// recordings left them all to the Delete, and Windows took it). So:
/// for each command a Receive reported Done, the Signal and the
/// SignalResponse Windows sent in `test_psrp_multiple_invocations`
/// (request 5) are inserted before that shell's next Command, Disconnect
/// or pipeline Connect (that recording's ShellId, CommandId and resource
/// URI replaced by this one's), unless the recording releases it itself;
/// a recorded release followed by the shell's Delete is left out.
/// Everything else is served as recorded.
pub fn with_release_signals(rec: Recording) -> Recording {
    let template = Recording::load("test_psrp_multiple_invocations").unwrap();
    let signal = &template.messages[5];
    let (t_shell, t_command) = (
        "B2DDE5BA-F22F-4493-9B8E-8B565073F563",
        "5B1BE6C6-ECFA-4BA8-806B-8DD7C290A0FA",
    );
    assert!(signal.request.contains(t_command) && signal.request.contains("signal/Terminate"));
    let t_uri = resource_uri(&signal.request).unwrap().to_string();
    let t_envelope = element(&signal.request, "MaxEnvelopeSize").unwrap();
    let release = |before: &RecordedMessage, shell_id: &str, command_id: &str| {
        let uri = resource_uri(&before.request).unwrap().to_string();
        let envelope = element(&before.request, "MaxEnvelopeSize")
            .unwrap()
            .to_string();
        let fix = |x: &str| {
            x.replace(t_shell, shell_id)
                .replace(t_command, command_id)
                .replace(&t_uri, &uri)
                .replace(
                    &format!(">{t_envelope}</wsman:MaxEnvelopeSize>"),
                    &format!(">{envelope}</wsman:MaxEnvelopeSize>"),
                )
        };
        RecordedMessage {
            request: fix(&signal.request),
            response: signal.response.as_deref().map(fix),
            delivery: Delivery::Ok,
            delay: None,
        }
    };
    let is_release = |m: &RecordedMessage| {
        m.request.contains("/shell/Signal<")
            && m.request.to_lowercase().contains("signal/terminate")
    };
    // (ShellId, CommandId) of the commands that ended and are not released.
    let mut pending: Vec<(String, String)> = Vec::new();
    let mut out: Vec<RecordedMessage> = Vec::with_capacity(rec.messages.len());
    let messages = rec.messages;
    for (i, m) in messages.iter().enumerate() {
        let shell_id = selector_shell_id(&m.request).map(str::to_string);
        let needs_release = m.request.contains("/shell/Command<")
            || m.request.contains("/shell/Disconnect<")
            || (m.request.contains("/shell/Connect<")
                && attribute(&m.request, ":Connect", "CommandId").is_some());
        if is_release(m) {
            let command = attribute(&m.request, ":Signal", "CommandId").unwrap_or_default();
            pending.retain(|(_, c)| !c.eq_ignore_ascii_case(command));
            let then_delete = messages
                .get(i + 1)
                .is_some_and(|n| n.request.contains("transfer/Delete<"));
            if then_delete {
                continue;
            }
        } else if m.request.contains("transfer/Delete<") {
            pending.retain(|(s, _)| Some(s) != shell_id.as_ref());
        } else if needs_release {
            let (now, later): (Vec<_>, Vec<_>) = pending
                .drain(..)
                .partition(|(s, _)| Some(s) == shell_id.as_ref());
            pending = later;
            for (s, c) in now {
                out.push(release(m, &s, &c));
            }
        }
        let done = m.response.as_deref().and_then(|r| {
            let state = attribute(r, "<rsp:CommandState", "State")?;
            state
                .ends_with("CommandState/Done")
                .then(|| attribute(r, "<rsp:CommandState", "CommandId"))
                .flatten()
        });
        if let (Some(c), Some(s)) = (done, shell_id.as_ref()) {
            if !pending.iter().any(|(_, p)| p.eq_ignore_ascii_case(c)) {
                pending.push((s.clone(), c.to_string()));
            }
        }
        out.push(m.clone());
    }
    Recording {
        messages: out,
        ..rec
    }
}

/// The recording with the call ids (`ci`) of its RUNSPACE_AVAILABILITY
/// answers raised by one.
///
/// A call id is the client's choice, like the RPID and PID the replay
/// server maps, but it travels inside the CLIXML, which the server does not
/// rewrite: pypsrp numbers its calls from 0, PowerShell (its DispatchTable)
/// and our client from 1. Only the number changes; every other byte of
/// Windows' answer is served as recorded.
pub fn with_call_ids_from_one(mut rec: Recording) -> Recording {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let shift_packet = |text: &str| -> String {
        let data = b64.decode(text.trim()).unwrap();
        let mut out = Vec::new();
        let mut i = 0;
        while i + 21 <= data.len() {
            let len = u32::from_be_bytes(data[i + 17..i + 21].try_into().unwrap()) as usize;
            let (head, body) = (&data[i..i + 21], &data[i + 21..i + 21 + len]);
            i += 21 + len;
            let whole = head[16] & 3 == 3;
            let availability = body.len() > 40 && body[4..8] == 0x0002_1004u32.to_le_bytes();
            if !(whole && availability) {
                out.extend_from_slice(head);
                out.extend_from_slice(body);
                continue;
            }
            let xml = String::from_utf8(body[40..].to_vec()).unwrap();
            let open = "<I64 N=\"ci\">";
            let at = xml.find(open).unwrap() + open.len();
            let end = xml[at..].find('<').unwrap() + at;
            let ci: i64 = xml[at..end].parse().unwrap();
            let xml = format!("{}{}{}", &xml[..at], ci + 1, &xml[end..]);
            let mut message = body[..40].to_vec();
            message.extend_from_slice(xml.as_bytes());
            out.extend_from_slice(&head[..17]);
            out.extend_from_slice(&(message.len() as u32).to_be_bytes());
            out.extend_from_slice(&message);
        }
        b64.encode(out)
    };
    for m in &mut rec.messages {
        let Some(r) = m.response.as_deref() else {
            continue;
        };
        let mut out = String::new();
        let mut rest = r;
        while let Some(i) = rest.find("<rsp:Stream") {
            let start = rest[i..].find('>').unwrap() + i + 1;
            let end = rest[start..].find("</rsp:Stream>").unwrap() + start;
            out.push_str(&rest[..start]);
            out.push_str(&shift_packet(&rest[start..end]));
            rest = &rest[end..];
        }
        out.push_str(rest);
        m.response = Some(out);
    }
    rec
}

/// Whether a divergence is one of the harmless kinds: [`HARMLESS`] fields,
/// and the Signal code `.../signal/terminate`, which we write in lower case
/// as the SignalCodeEnumeration of [MS-WSMV] 2.2.5.6 does, while recent
/// pypsrp writes `Terminate` (Windows accepts both).
pub fn harmless(d: &Divergence) -> bool {
    HARMLESS.contains(&d.field.as_str())
        || (d.field == "Signal code"
            && d.expected.eq_ignore_ascii_case(&d.got)
            && d.got.ends_with("/signal/terminate"))
}

/// Ends a replay: every recorded message served, and no divergence but
/// harmless ones and those of `field` at the recorded request indexes in
/// `also`.
pub fn check_except(server: ReplayServer, also: &[(usize, &str)]) -> ReplayReport {
    let report = server.finish();
    println!("{report}");
    let remaining: Vec<String> = report
        .details
        .iter()
        .filter(|d| !harmless(d) && !also.contains(&(d.index, d.field.as_str())))
        .map(|d| d.to_string())
        .collect();
    assert!(
        remaining.is_empty(),
        "{}: {} divergence(s):\n  {}",
        report.name,
        remaining.len(),
        remaining.join("\n  ")
    );
    // Requests past the end of the recording show as "unexpected request".
    let extra = report
        .details
        .iter()
        .filter(|d| d.field == "unexpected request")
        .count();
    assert!(
        report.served + report.skipped == report.total && report.received == report.served + extra,
        "{report}"
    );
    report
}
