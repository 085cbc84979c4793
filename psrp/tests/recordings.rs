//! Every PSRP message in the recorded Windows traffic of
//! `fixtures/recordings` decodes into its typed body, and the typed body
//! encodes back to CLIXML that is structurally equal to what Windows (or
//! pypsrp, for the client's side) sent.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use base64::Engine;
use psrp::clixml::{self, Content, Value};
use psrp::fragment::Reassembler;
use psrp::message::{Message, MessageType};
use psrp::messages::Body;

fn recordings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recordings")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "xml")) {
            out.push(p);
        }
    }
}

/// Recorded exchanges grouped as one session each: a yml file, or a
/// directory of `N-request.xml` / `N-response.xml` files in wire order.
fn sessions() -> Vec<(String, Vec<String>)> {
    let mut files = Vec::new();
    walk(&recordings_dir(), &mut files);
    let mut groups: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for f in files {
        let key = if f.extension().unwrap() == "yml" {
            f.clone()
        } else {
            f.parent().unwrap().to_path_buf()
        };
        groups.entry(key).or_default().push(f);
    }
    let order = |p: &PathBuf| {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let (n, rest) = name.split_once('-').unwrap_or(("0", &name));
        (
            n.parse::<u32>().unwrap_or(0),
            !rest.starts_with("request"),
            name.clone(),
        )
    };
    groups
        .into_iter()
        .filter_map(|(k, mut fs)| {
            fs.sort_by_key(order);
            let texts: Vec<String> = fs
                .iter()
                .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
                .collect();
            texts
                .iter()
                .any(|t| t.contains("schemas.microsoft.com/powershell/"))
                .then(|| (k.display().to_string(), texts))
        })
        .collect()
}

/// The base64 payloads of a text, with the reassembly key: who sent it and
/// which command (if any) it belongs to.
fn payloads(text: &str) -> Vec<((bool, String), Vec<u8>)> {
    const TAGS: [&str; 5] = [
        "rsp:Stream",
        "creationXml",
        "connectXml",
        "connectResponseXml",
        "rsp:Arguments",
    ];
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(off) = text[pos..].find('<') {
        let start = pos + off;
        pos = start + 1;
        let Some(tag) = TAGS.iter().find(|t| {
            text[start + 1..].starts_with(**t)
                && matches!(
                    text.as_bytes().get(start + 1 + t.len()),
                    Some(b' ' | b'\n' | b'\r' | b'\t' | b'>')
                )
        }) else {
            continue;
        };
        let Some(gt) = text[start..].find('>') else {
            break;
        };
        let open = &text[start..start + gt + 1];
        if open.ends_with("/>") {
            continue;
        }
        let body_start = start + gt + 1;
        let close = format!("</{tag}>");
        let Some(end) = text[body_start..].find(&close) else {
            continue;
        };
        let body: String = text[body_start..body_start + end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        pos = body_start + end;
        if body.is_empty() {
            continue;
        }
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&body) else {
            continue;
        };
        let attr = |name: &str| {
            open.find(&format!("{name}=\"")).map(|i| {
                let rest = &open[i + name.len() + 2..];
                rest[..rest.find('"').unwrap()].to_string()
            })
        };
        let from_client = match *tag {
            "rsp:Stream" => matches!(attr("Name").as_deref(), Some("stdin" | "pr")),
            "connectResponseXml" => false,
            _ => true,
        };
        let command = match *tag {
            "rsp:Stream" => attr("CommandId"),
            "rsp:Arguments" => {
                // The CommandId sits on the enclosing rsp:CommandLine.
                let before = &text[..start];
                before.rfind("<rsp:CommandLine").and_then(|i| {
                    let open = &before[i..];
                    let open = &open[..open.find('>').unwrap_or(open.len())];
                    open.find("CommandId=\"").map(|j| {
                        let rest = &open[j + 11..];
                        rest[..rest.find('"').unwrap()].to_string()
                    })
                })
            }
            _ => None,
        };
        out.push((
            (
                from_client,
                command.unwrap_or_default().to_ascii_lowercase(),
            ),
            bytes,
        ));
    }
    out
}

/// Structural equality of CLIXML values, as PowerShell deserializes them:
/// property names without case, adapted and extended members together, an
/// absent property equal to `<Nil>`, an enum object equal to its value,
/// `ToString` and type names compared when both sides have them (type names
/// of collections excepted).
fn same(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    fn unwrap(v: &Value) -> &Value {
        if let Value::Object(o) = v {
            if let Content::Primitive(p) = &o.content {
                if o.adapted.is_empty() && o.extended.is_empty() {
                    return unwrap(p);
                }
            }
        }
        v
    }
    let (a, b) = (unwrap(a), unwrap(b));
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            // Collections are rebuilt from their content whatever their type
            // names say (clients disagree on them: pywinrm writes
            // Version=3.0.0.0, pypsrp Object[] for string lists).
            let collection = !matches!(x.content, Content::None | Content::Primitive(_));
            if let (Some(t1), Some(t2), false) = (&x.type_names, &y.type_names, collection) {
                if t1 != t2 {
                    return Err(format!("{path}: type names {t1:?} != {t2:?}"));
                }
            }
            if let (Some(s1), Some(s2)) = (&x.to_string, &y.to_string) {
                if s1 != s2 {
                    return Err(format!("{path}: ToString {s1:?} != {s2:?}"));
                }
            }
            let props = |o: &clixml::PsObject| -> HashMap<String, Value> {
                o.adapted
                    .iter()
                    .chain(o.extended.iter())
                    .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                    .collect()
            };
            let (px, py) = (props(x), props(y));
            for k in px.keys().chain(py.keys()) {
                let vx = px.get(k).unwrap_or(&Value::Null);
                let vy = py.get(k).unwrap_or(&Value::Null);
                same(vx, vy, &format!("{path}.{k}"))?;
            }
            match (&x.content, &y.content) {
                (Content::None, Content::None) => Ok(()),
                (Content::Primitive(p), Content::Primitive(q)) => same(p, q, path),
                (Content::List(l), Content::List(m))
                | (Content::Stack(l), Content::Stack(m))
                | (Content::Queue(l), Content::Queue(m)) => {
                    if l.len() != m.len() {
                        return Err(format!("{path}: {} items != {}", l.len(), m.len()));
                    }
                    for (i, (p, q)) in l.iter().zip(m).enumerate() {
                        same(p, q, &format!("{path}[{i}]"))?;
                    }
                    Ok(())
                }
                (Content::Dictionary(l), Content::Dictionary(m)) => {
                    if l.len() != m.len() {
                        return Err(format!("{path}: {} entries != {}", l.len(), m.len()));
                    }
                    for (i, ((k1, v1), (k2, v2))) in l.iter().zip(m).enumerate() {
                        same(k1, k2, &format!("{path}{{key {i}}}"))?;
                        same(v1, v2, &format!("{path}{{{i}}}"))?;
                    }
                    Ok(())
                }
                (c1, c2) => Err(format!("{path}: content {c1:?} != {c2:?}")),
            }
        }
        (Value::Version(x), Value::String(y)) | (Value::String(x), Value::Version(y)) if x == y => {
            Ok(())
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a:?} != {b:?}")),
    }
}

#[test]
fn every_recorded_message_decodes_and_re_encodes() {
    let mut per_type: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut skipped_commands = 0;
    let mut metadata_checked = 0;
    let sessions = sessions();
    assert!(
        sessions.len() >= 40,
        "only {} PSRP sessions found",
        sessions.len()
    );
    for (name, texts) in &sessions {
        let mut reassemblers: HashMap<(bool, String), Reassembler> = HashMap::new();
        let mut not_psrp: Vec<(bool, String)> = Vec::new();
        let mut metadata_seen: HashMap<Option<uuid::Uuid>, usize> = HashMap::new();
        for text in texts {
            for (key, bytes) in payloads(text) {
                if not_psrp.contains(&key) {
                    continue;
                }
                if !reassemblers.contains_key(&key) && !starts_like_psrp(&bytes) {
                    // A WinRS command in the same recording (pypsrp's copy
                    // and fetch use cmd.exe too): its output is not PSRP.
                    not_psrp.push(key);
                    skipped_commands += 1;
                    continue;
                }
                if key.0 && opens_a_pool(&bytes) {
                    // A new RunspacePool (or a connection to one): the
                    // server numbers its messages afresh (or sends its state
                    // again), so the ObjectIds seen so far no longer count.
                    reassemblers.clear();
                }
                let r = reassemblers.entry(key.clone()).or_default();
                let messages = match r.feed(&bytes) {
                    Ok(m) => m,
                    Err(e) => {
                        failures.push(format!("{name} {key:?}: fragments: {e}"));
                        continue;
                    }
                };
                for (_, raw) in messages {
                    let msg = match Message::decode(&raw) {
                        Ok(m) => m,
                        Err(e) => {
                            failures.push(format!("{name}: message: {e}"));
                            continue;
                        }
                    };
                    let t = msg.message_type;
                    if std::env::var("PSRP_DUMP").is_ok() {
                        eprintln!(
                            "MSG {} {}",
                            name.rsplit("recordings/").next().unwrap(),
                            t.name()
                        );
                    }
                    *per_type.entry(t.name()).or_default() += 1;
                    if let Err(e) = check(&msg) {
                        failures.push(format!("{name}: {}: {e}", t.name()));
                    }
                    if t == MessageType::PIPELINE_OUTPUT && name.contains("get_command_metadata") {
                        let n = metadata_seen.entry(msg.pid).or_insert(0usize);
                        if let Err(e) = check_metadata(&msg, *n == 0) {
                            failures.push(format!("{name}: command metadata: {e}"));
                        }
                        *n += 1;
                        metadata_checked += 1;
                    }
                }
            }
        }
        for (key, r) in &reassemblers {
            if r.buffered() != 0 {
                failures.push(format!(
                    "{name} {key:?}: {} bytes left incomplete",
                    r.buffered()
                ));
            }
        }
    }
    let total: usize = per_type.values().sum();
    eprintln!("{total} messages: {per_type:?}; {skipped_commands} WinRS commands skipped");
    assert!(
        metadata_checked >= 4,
        "{metadata_checked} command metadata outputs checked"
    );
    assert!(
        skipped_commands <= 12,
        "{skipped_commands} commands did not look like PSRP"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= 717, "only {total} messages decoded");
    // Every type the recordings hold was seen; these at least.
    for t in [
        MessageType::SESSION_CAPABILITY,
        MessageType::INIT_RUNSPACEPOOL,
        MessageType::CREATE_PIPELINE,
        MessageType::PIPELINE_HOST_CALL,
        MessageType::ERROR_RECORD,
        MessageType::INFORMATION_RECORD,
        MessageType::RUNSPACEPOOL_INIT_DATA,
        MessageType::ENCRYPTED_SESSION_KEY,
    ] {
        assert!(
            per_type.contains_key(t.name()),
            "no {} in the recordings",
            t.name()
        );
    }
}

/// Whether a command's first payload starts with a PSRP start fragment.
/// Whether a client payload starts with SESSION_CAPABILITY: the opening
/// of a `creationXml` or `connectXml`.
fn opens_a_pool(bytes: &[u8]) -> bool {
    starts_like_psrp(bytes)
        && bytes.len() >= 29
        && u32::from_le_bytes(bytes[25..29].try_into().unwrap()) == 0x0001_0002
}

fn starts_like_psrp(bytes: &[u8]) -> bool {
    bytes.len() >= 21 && {
        let fragment_id = u64::from_be_bytes(bytes[8..16].try_into().unwrap());
        let flags = bytes[16];
        let len = u32::from_be_bytes(bytes[17..21].try_into().unwrap()) as usize;
        fragment_id == 0 && flags & 1 == 1 && flags <= 3 && len + 21 <= bytes.len()
    }
}

/// The output of GET_COMMAND_METADATA: a count, then CommandMetadata.
fn check_metadata(msg: &Message, first: bool) -> Result<(), String> {
    use psrp::types::{CommandMetadata, CommandMetadataCount};
    let v = clixml::from_slice(&msg.data).map_err(|e| e.to_string())?;
    let again = if first {
        let c = CommandMetadataCount::from_value(&v).map_err(|e| e.to_string())?;
        if c.count <= 0 {
            return Err(format!("count {}", c.count));
        }
        c.to_value()
    } else {
        let m = CommandMetadata::from_value(&v).map_err(|e| e.to_string())?;
        if m.name.is_empty() || m.parameters.is_empty() {
            return Err(format!("{m:?}"));
        }
        m.to_value()
    };
    let again = clixml::from_str(&clixml::to_string(&again)).map_err(|e| e.to_string())?;
    same(&v, &again, "$")
}

fn check(msg: &Message) -> Result<(), String> {
    let t = msg.message_type;
    let body = Body::decode(t, &msg.data).map_err(|e| format!("decode: {e}"))?;
    if body.message_type() != t {
        return Err(format!("decoded as {}", body.message_type().name()));
    }
    let re = body.encode();
    if msg.data.iter().all(u8::is_ascii_whitespace) {
        return if body.to_value().is_none() || matches!(body, Body::PipelineOutput(Value::Null)) {
            Ok(())
        } else {
            Err("empty data re-encoded as something".into())
        };
    }
    let original = clixml::from_slice(&msg.data).map_err(|e| format!("clixml: {e}"))?;
    let again = clixml::from_slice(&re).map_err(|e| format!("re-encoded clixml: {e}"))?;
    same(&original, &again, "$")?;
    let body2 = Body::decode(t, &re).map_err(|e| format!("decode of re-encoded: {e}"))?;
    if body2 != body {
        return Err("the re-encoded body decodes differently".into());
    }
    Ok(())
}

/// What our pool writes when it opens equals, structurally, the
/// SESSION_CAPABILITY and INIT_RUNSPACEPOOL of a creationXml that Windows
/// accepted (pypsrp's test_psrp_open_runspace.yml).
#[test]
fn our_opening_messages_match_an_accepted_creation_xml() {
    let path =
        recordings_dir().join("pypsrp/tests/tests_pypsrp/responses/test_psrp_open_runspace.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let recorded: Vec<Message> = payloads(&text)
        .into_iter()
        .filter(|((client, _), _)| *client)
        .take(1)
        .flat_map(|(_, bytes)| Reassembler::default().feed(&bytes).unwrap())
        .map(|(_, raw)| Message::decode(&raw).unwrap())
        .collect();
    assert_eq!(recorded.len(), 2);

    let mut pool = psrp::RunspacePool::new(psrp::RunspacePoolConfig::default());
    pool.open().unwrap();
    let ours: Vec<Message> = Reassembler::default()
        .feed(&pool.creation_payload(153_600).unwrap())
        .unwrap()
        .into_iter()
        .map(|(_, raw)| Message::decode(&raw).unwrap())
        .collect();
    assert_eq!(ours.len(), 2);
    for (a, b) in recorded.iter().zip(&ours) {
        assert_eq!(a.message_type, b.message_type);
        assert_eq!(a.destination, b.destination);
        let va = clixml::from_slice(&a.data).unwrap();
        let vb = clixml::from_slice(&b.data).unwrap();
        same(&va, &vb, a.message_type.name()).unwrap();
    }
}

/// A CREATE_PIPELINE built with our API equals, structurally, one Windows
/// ran (pypsrp's test_client_execute_ps.yml: `Invoke-Expression -Command
/// ... | Out-String -Stream`).
#[test]
fn our_create_pipeline_matches_an_accepted_one() {
    use psrp::messages::CreatePipeline;
    use psrp::types::{Command, PowerShell};
    let path =
        recordings_dir().join("pypsrp/tests/tests_pypsrp/responses/test_client_execute_ps.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = Reassembler::default();
    let recorded = payloads(&text)
        .into_iter()
        .filter(|((client, cmd), _)| *client && !cmd.is_empty())
        .flat_map(|(_, bytes)| r.feed(&bytes).unwrap())
        .map(|(_, raw)| Message::decode(&raw).unwrap())
        .find(|m| m.message_type == MessageType::CREATE_PIPELINE)
        .expect("a recorded CREATE_PIPELINE");
    let recorded = clixml::from_slice(&recorded.data).unwrap();
    let script = "$serv = Get-Service -Name winrm; $serv.Name; $serv.Status; $serv";
    let mut ps = PowerShell::new(vec![
        Command::new("Invoke-Expression").parameter("Command", Value::String(script.into())),
        Command::new("Out-String").parameter("Stream", Value::Null),
    ]);
    ps.redirect_shell_error_output_pipe = false;
    let ours = Body::CreatePipeline(CreatePipeline::new(ps)).encode();
    let ours = clixml::from_slice(&ours).unwrap();
    same(&recorded, &ours, "CREATE_PIPELINE").unwrap();
}
