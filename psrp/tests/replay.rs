//! Real Windows sessions replayed through the client state machine: for each
//! pypsrp recording, the WS-Man operations the client made (Create,
//! Command, Signal, Disconnect, Reconnect, Connect, Delete) drive a
//! RunspacePool per shell, and every server payload (Receive streams,
//! `connectResponseXml`) is fed to it. Windows' own message sequences must
//! be accepted without error and bring each pool to Opened and each
//! pipeline to a final state.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use psrp::crypto::ExchangeKey;
use psrp::types::{PSInvocationState, RunspacePoolState};
use psrp::{Event, RunspacePool, RunspacePoolConfig};
use uuid::Uuid;

struct Exchange {
    request: String,
    response: String,
}

/// The `{request, response}` pairs of a pypsrp recording. Plain YAML
/// scalars fold lines into spaces, which XML and base64 (whitespace is
/// dropped) do not mind.
fn exchanges(text: &str) -> Vec<Exchange> {
    let mut out: Vec<Exchange> = Vec::new();
    let mut key = "";
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("- request: ") {
            out.push(Exchange {
                request: v.to_string(),
                response: String::new(),
            });
            key = "request";
        } else if let Some(v) = line.strip_prefix("  response: ") {
            if let Some(ex) = out.last_mut() {
                ex.response = v.to_string();
            }
            key = "response";
        } else if let Some(v) = line.strip_prefix("    ") {
            // A folded continuation of the current value.
            if let Some(ex) = out.last_mut() {
                let target = if key == "request" {
                    &mut ex.request
                } else if key == "response" {
                    &mut ex.response
                } else {
                    continue;
                };
                target.push(' ');
                target.push_str(v);
            }
        } else {
            key = "";
        }
    }
    out
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = text.find(start)? + start.len();
    let j = text[i..].find(end)?;
    Some(&text[i..i + j])
}

fn action(request: &str) -> &str {
    let open = request.find("Action").expect("wsa:Action");
    let text = &request[open..];
    let value = &text[text.find('>').unwrap() + 1..];
    let value = &value[..value.find('<').unwrap()];
    value.rsplit('/').next().unwrap()
}

fn shell_id(request: &str, response: &str) -> Option<Uuid> {
    between(request, "Name=\"ShellId\">", "<")
        .or_else(|| between(request, "ShellId=\"", "\""))
        .or_else(|| between(response, "<rsp:ShellId>", "<"))
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
}

/// Base64 payloads from the server: `rsp:Stream` of a ReceiveResponse and
/// `connectResponseXml`, in document order.
fn server_payloads(response: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = response;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let tag = if rest.starts_with("rsp:Stream ") || rest.starts_with("rsp:Stream>") {
            "rsp:Stream"
        } else if rest.starts_with("connectResponseXml") {
            "connectResponseXml"
        } else {
            continue;
        };
        let Some(gt) = rest.find('>') else { break };
        if rest[..gt].ends_with('/') {
            continue;
        }
        let close = format!("</{tag}>");
        let Some(end) = rest[gt..].find(&close) else {
            break;
        };
        let body: String = rest[gt + 1..gt + end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !body.is_empty() {
            out.push(
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .expect("base64"),
            );
        }
        rest = &rest[gt + end..];
    }
    out
}

/// The RPID and PID in the header of the first message of a request's
/// `creationXml`, `connectXml` or `rsp:Arguments`. Older pypsrp versions
/// wrote the GUIDs in RFC byte order where MS-PSRP 2.2.1 has .NET's, and
/// Windows echoes whatever bytes the client sent, so the replay takes the
/// ids from the headers rather than from ShellId and CommandId.
fn header_ids(request: &str) -> Option<(Uuid, Option<Uuid>)> {
    let body = ["creationXml", "connectXml", "rsp:Arguments"]
        .iter()
        .find_map(|t| {
            let i = request.find(&format!("<{t}"))?;
            let rest = &request[i..];
            let gt = rest.find('>')?;
            let end = rest[gt..].find('<')?;
            Some(rest[gt + 1..gt + end].to_string())
        })?;
    let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean)
        .ok()?;
    let (f, _) = psrp::fragment::Fragment::decode(&bytes).ok()??;
    let mut header = f.data.get(..40)?.to_vec();
    header.push(b' ');
    let m = psrp::message::Message::decode(&header).ok()?;
    Some((m.rpid, m.pid))
}

fn key() -> ExchangeKey {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let private =
        rsa::RsaPrivateKey::from_pkcs1_pem(include_str!("data/exchange_key.pem")).unwrap();
    ExchangeKey::from_private_key(private).unwrap()
}

#[derive(Default)]
struct Tally {
    opened: usize,
    pipelines_finished: usize,
    outputs: usize,
}

/// Replays one recording; `Err` on the first thing our pool refuses.
fn replay(text: &str, tally: &mut Tally) -> Result<(), String> {
    let mut pools: HashMap<Uuid, RunspacePool> = HashMap::new();
    // CommandId to the PID in the messages' headers.
    let mut aliases: HashMap<Uuid, Uuid> = HashMap::new();
    for (n, ex) in exchanges(text).iter().enumerate() {
        let act = action(&ex.request);
        let Some(shell) = shell_id(&ex.request, &ex.response) else {
            continue; // Enumerate of all shells, Identify, ...
        };
        let at = |e: psrp::Error| format!("exchange {n} ({act}): {e}");
        match act {
            "Create" if ex.request.contains("schemas.microsoft.com/powershell/") => {
                let mut pool = RunspacePool::with_id(
                    header_ids(&ex.request).map_or(shell, |ids| ids.0),
                    RunspacePoolConfig::default(),
                );
                pool.set_exchange_key(key());
                pool.open().map_err(at)?;
                pool.creation_payload(1 << 20).map_err(at)?;
                pools.insert(shell, pool);
            }
            "Connect" if ex.request.contains("connectXml") => {
                let mut pool = RunspacePool::with_id(
                    header_ids(&ex.request).map_or(shell, |ids| ids.0),
                    RunspacePoolConfig::default(),
                );
                pool.set_exchange_key(key());
                pool.connect().map_err(at)?;
                pool.connect_payload(1 << 20).map_err(at)?;
                pools.insert(shell, pool);
            }
            _ => {}
        }
        let Some(pool) = pools.get_mut(&shell) else {
            continue;
        };
        let command =
            between(&ex.request, "CommandId=\"", "\"").and_then(|s| Uuid::parse_str(s).ok());
        match act {
            "Command" => {
                let pid = header_ids(&ex.request).and_then(|ids| ids.1).or(command);
                if let Some(pid) = pid {
                    aliases.insert(command.unwrap_or(pid), pid);
                    pool.adopt_pipeline(pid).map_err(at)?;
                }
            }
            "Signal" => {
                if let Some(pid) = command.map(|c| aliases.get(&c).copied().unwrap_or(c)) {
                    let state = pool.pipeline_state(pid);
                    if ex.request.contains("terminate") {
                        if state.is_some_and(|s| s.is_terminal()) {
                            pool.close_pipeline(pid).map_err(at)?;
                        }
                    } else if state == Some(PSInvocationState::Running) {
                        pool.stop(pid).map_err(at)?;
                    }
                }
            }
            "Disconnect" => {
                pool.begin_disconnect().map_err(at)?;
                pool.disconnected().map_err(at)?;
            }
            "Reconnect" => pool.reconnected().map_err(at)?,
            "Delete" => {
                pool.begin_close().map_err(at)?;
                pool.closed().map_err(at)?;
            }
            _ => {}
        }
        for payload in server_payloads(&ex.response) {
            pool.receive_data(&payload).map_err(at)?;
        }
        while let Some(event) = pool.next_event() {
            match event {
                Event::RunspacePoolState {
                    state: RunspacePoolState::Opened,
                    ..
                } => tally.opened += 1,
                Event::RunspacePoolState {
                    state: RunspacePoolState::Broken,
                    error,
                } => return Err(format!("exchange {n}: Broken: {error:?}")),
                Event::PipelineState { state, .. } if state.is_terminal() => {
                    tally.pipelines_finished += 1
                }
                Event::Output { .. } => tally.outputs += 1,
                _ => {}
            }
        }
    }
    Ok(())
}

#[test]
fn recorded_windows_sessions_drive_the_client_state_machine() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/recordings/pypsrp/tests/tests_pypsrp/responses");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    names.sort();
    let mut tally = Tally::default();
    let mut replayed = 0;
    let mut skipped = Vec::new();
    let mut failures = Vec::new();
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !text.contains("schemas.microsoft.com/powershell/") {
            continue;
        }
        // The replies to SET_MAX/MIN_RUNSPACES, GET_AVAILABLE_RUNSPACES and
        // RESET_RUNSPACE_STATE answer pypsrp's call ids, and the session key
        // was encrypted for pypsrp's RSA key: those sessions cannot be
        // replayed by another client.
        let messages = message_types(&text);
        if let Some(t) = messages.iter().find(|t| {
            matches!(
                t.as_str(),
                "RUNSPACE_AVAILABILITY" | "ENCRYPTED_SESSION_KEY"
            )
        }) {
            skipped.push(format!("{name} ({t})"));
            continue;
        }
        replayed += 1;
        let result = replay(&text, &mut tally);
        if let Some((_, why)) = SPLICED.iter().find(|(f, _)| *f == name) {
            // Must be refused, and for that reason.
            match result {
                Err(e) if e.contains(why) => {}
                other => failures.push(format!(
                    "{name}: expected an error about {why}, got {other:?}"
                )),
            }
            continue;
        }
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    eprintln!(
        "replayed {replayed} sessions: {} pools opened, {} pipelines finished, {} outputs; skipped {skipped:?}",
        tally.opened, tally.pipelines_finished, tally.outputs
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(replayed >= 30, "only {replayed} sessions replayed");
    assert!(tally.opened >= replayed, "{} pools opened", tally.opened);
    assert!(tally.pipelines_finished >= 40);
    assert!(tally.outputs >= 100);
    assert!(skipped.len() <= 6, "{skipped:?}");
}

/// Recordings whose server messages were pasted in from another session:
/// a message names a RunspacePool that is not the shell's. The pool must
/// refuse it.
const SPLICED: &[(&str, &str)] = &[(
    "test_client_copy_file_warning.yml",
    "WARNING_RECORD for RunspacePool c196f63f-fc8f-4b77-89ee-a44e6ddc62fc",
)];

/// The PSRP message types a recording carries (both directions).
fn message_types(text: &str) -> Vec<String> {
    use psrp::fragment::Fragment;
    use psrp::message::Message;
    let mut types = Vec::new();
    for ex in exchanges(text) {
        for part in [&ex.request, &ex.response] {
            for tag in [
                "rsp:Stream",
                "connectResponseXml",
                "creationXml",
                "rsp:Arguments",
            ] {
                let mut rest = part.as_str();
                while let Some(i) = rest.find(&format!("<{tag}")) {
                    rest = &rest[i + 1..];
                    let Some(gt) = rest.find('>') else { break };
                    let Some(end) = rest[gt..].find('<') else {
                        break;
                    };
                    let body: String = rest[gt + 1..gt + end]
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect();
                    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(body) else {
                        continue;
                    };
                    // Only start fragments carry the message header.
                    let mut data = &bytes[..];
                    while let Ok(Some((f, used))) = Fragment::decode(data) {
                        if f.start && f.data.len() >= 40 {
                            let mut header = f.data[..40].to_vec();
                            header.extend_from_slice(b" ");
                            if let Ok(m) = Message::decode(&header) {
                                types.push(m.message_type.name().to_string());
                            }
                        }
                        data = &data[used..];
                    }
                }
            }
        }
    }
    types
}
