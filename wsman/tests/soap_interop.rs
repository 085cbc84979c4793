//! Our SOAP codec paired with someone else's: every request builder's output
//! is read by Python's ElementTree through the independent test host's
//! request parser (`fixtures/testhost/testhost/soap.py`), and the faults
//! that test host writes are read by our response parser.
//!
//! Needs the project's Python environment (`/work/main/.venv`, made by
//! `scripts/setup.sh`); skips with a message when it is missing.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use wsman::fault::FaultKind;
use wsman::soap::inspect::{parse_request, Node};
use wsman::soap::request::{self as rq, BufferMode, EnumerationMode, Filter, SendStream};
use wsman::soap::{ns, response as rs, Header, Selector, WsOption};
use wsman::Error;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> Option<PathBuf> {
    let p = root().join(".venv/bin/python");
    p.exists().then_some(p)
}

/// Reads each envelope with the test host's parser (header fields) and
/// ElementTree (the body as a tree), or writes the named faults.
const SCRIPT: &str = r#"
import json, sys
import xml.etree.ElementTree as ET
sys.path.insert(0, sys.argv[1])
from testhost import soap

def tree(el):
    ns, _, local = el.tag[1:].partition('}') if el.tag.startswith('{') else ('', '', el.tag)
    attrs = []
    for k, v in el.attrib.items():
        ans, _, al = k[1:].partition('}') if k.startswith('{') else ('', '', k)
        attrs.append([ans or None, al, v])
    return {"ns": ns or None, "name": local, "attrs": attrs, "text": el.text or "",
            "children": [tree(c) for c in el]}

job = json.load(sys.stdin)
out = {"requests": [], "faults": []}
for env in job["requests"]:
    r = soap.parse_request(env.encode("utf-8"))
    out["requests"].append({
        "action": r.action, "resource_uri": r.resource_uri, "selectors": r.selectors,
        "options": r.options, "message_id": r.message_id, "timeout": r.operation_timeout,
        "max_envelope_size": r.max_envelope_size, "locale": r.locale, "to": r.to,
        "body": [tree(c) for c in r.body],
    })
faults = {"timed_out": soap.timed_out(), "invalid_selectors": soap.invalid_selectors(),
          "unknown_command_id": soap.unknown_command_id(),
          "provider": soap.WSManFault(5, "w:AccessDenied", "Access is denied. ", "Denied <here> & there",
                                      provider="Shell cmd plugin", provider_path="C:\\x.dll")}
for name, f in faults.items():
    out["faults"].append([name, soap.fault_response(f, None).decode("utf-8")])
json.dump(out, sys.stdout)
"#;

fn run_python(py: &Path, input: &Value) -> Value {
    let mut child = Command::new(py)
        .arg("-c")
        .arg(SCRIPT)
        .arg(root().join("fixtures/testhost"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python json")
}

fn node_json(n: &Node) -> Value {
    json!({
        "ns": n.ns, "name": n.name,
        "attrs": n.attrs.iter().map(|(a, b, c)| json!([a, b, c])).collect::<Vec<_>>(),
        "text": n.text,
        "children": n.children.iter().map(node_json).collect::<Vec<_>>(),
    })
}

/// Tricky text: markup characters, quotes, non-ASCII, a CR.
const TRICKY: &str = "a<b>&c\"d'e \u{e9}\u{4e2d}\r\n\tz";

fn envelopes() -> Vec<(&'static str, Header, String)> {
    let mut h = Header::new("https://host:5986/wsman?x=1&y=2", ns::uri::SHELL_CMD)
        .with_selector("ShellId", "S-1")
        .with_option(WsOption::flag(ns::option::WINRS_NOPROFILE, true))
        .with_option(WsOption::new(ns::option::WINRS_CODEPAGE, "65001"))
        .with_option(WsOption {
            type_: Some("xs:boolean".into()),
            ..WsOption::protocol_version("2.3")
        });
    h.session_id = Some(wsman::soap::new_message_id());
    h.operation_timeout = Some(Duration::from_millis(60_500));
    h.locale = Some("de-DE".into());
    let mut v = Vec::new();
    let mut add = |name: &'static str, h: &Header, f: &dyn Fn(&Header, &mut String)| {
        let mut s = String::new();
        f(h, &mut s);
        v.push((name, h.clone(), s));
    };
    add("get", &h, &|h, o| rq::get(h, o));
    add("delete", &h, &|h, o| rq::delete(h, o));
    add("put", &h, &|h, o| {
        rq::put(
            h,
            "<cfg:Config xmlns:cfg=\"urn:c\"><cfg:A>1</cfg:A></cfg:Config>",
            o,
        )
    });
    add("invoke", &h, &|h, o| {
        rq::invoke(
            h,
            "urn:method/StopService",
            "<p:StopService_INPUT xmlns:p=\"urn:p\"/>",
            o,
        )
    });
    add("enumerate wql", &h, &|h, o| {
        let e = rq::Enumerate {
            optimize: true,
            max_elements: Some(32000),
            filter: Some(Filter::Wql(format!(
                "SELECT * FROM Win32_Service WHERE Name = '{TRICKY}'"
            ))),
            mode: Some(EnumerationMode::EnumerateObjectAndEpr),
        };
        rq::enumerate(h, &e, o)
    });
    add("enumerate selectors", &h, &|h, o| {
        let e = rq::Enumerate {
            filter: Some(Filter::Selectors(vec![Selector::new("Name", TRICKY)])),
            ..Default::default()
        };
        rq::enumerate(h, &e, o)
    });
    add("pull", &h, &|h, o| rq::pull(h, "uuid:CTX&1", Some(10), o));
    add("release", &h, &|h, o| rq::release(h, "uuid:CTX", o));
    add("create winrs", &h, &|h, o| {
        let s = rq::ShellCreate {
            environment: vec![("PATH".into(), TRICKY.into()), (TRICKY.into(), "1".into())],
            working_directory: Some("C:\\Temp & <stuff>".into()),
            idle_timeout: Some(Duration::from_secs(7200)),
            lifetime: Some(Duration::from_secs(60)),
            name: Some(TRICKY.into()),
            ..rq::ShellCreate::winrs()
        };
        rq::create_shell(h, &s, o)
    });
    add("create powershell", &h, &|h, o| {
        let s =
            rq::ShellCreate::powershell("B6631D8E-65A0-49F2-9053-A1B156C95777", vec![0, 1, 2, 255]);
        rq::create_shell(h, &s, o)
    });
    add("command", &h, &|h, o| {
        let c = rq::CommandLine {
            command_id: Some("C-1".into()),
            command: Some(TRICKY.into()),
            arguments: vec!["/c".into(), TRICKY.into()],
        };
        rq::command(h, &c, o)
    });
    add("send", &h, &|h, o| {
        let s = [
            SendStream {
                name: "stdin",
                command_id: Some("C-1"),
                end: false,
                data: b"x\x00y",
            },
            SendStream {
                name: "pr",
                command_id: None,
                end: true,
                data: b"",
            },
        ];
        rq::send(h, &s, o)
    });
    add("receive", &h, &|h, o| {
        rq::receive(h, Some("C-1"), "stdout stderr", o)
    });
    add("signal", &h, &|h, o| {
        rq::signal(h, Some("C-1"), ns::signal::PS_CTRL_C, o)
    });
    add("disconnect", &h, &|h, o| {
        rq::disconnect(h, Some(Duration::from_secs(240)), Some(BufferMode::Drop), o)
    });
    add("disconnect bare", &h, &|h, o| {
        rq::disconnect(h, None, None, o)
    });
    add("reconnect", &h, &|h, o| rq::reconnect(h, o));
    add("connect", &h, &|h, o| {
        rq::connect(h, None, Some(b"\x00\x01connect"), o)
    });
    add("connect command", &h, &|h, o| {
        rq::connect(h, Some("C-1"), None, o)
    });
    v
}

#[test]
fn testhost_reads_our_requests_and_we_read_its_faults() {
    let Some(py) = python() else {
        println!("skipped: no Python environment at .venv (run scripts/setup.sh)");
        return;
    };
    let envs = envelopes();
    let input = json!({"requests": envs.iter().map(|(_, _, s)| s.clone()).collect::<Vec<_>>()});
    let out = run_python(&py, &input);
    let theirs = out["requests"].as_array().unwrap();
    assert_eq!(theirs.len(), envs.len());
    for ((name, h, env), t) in envs.iter().zip(theirs) {
        let ours = parse_request(env.as_bytes()).unwrap();
        assert_eq!(t["action"], json!(ours.action), "{name}");
        assert_eq!(t["resource_uri"], json!(h.resource_uri), "{name}");
        assert_eq!(t["to"], json!(h.to), "{name}");
        assert_eq!(t["message_id"], json!(h.message_id), "{name}");
        assert_eq!(t["timeout"], json!(60.5), "{name}");
        assert_eq!(t["max_envelope_size"], json!(h.max_envelope_size), "{name}");
        assert_eq!(t["locale"], json!("de-DE"), "{name}");
        assert_eq!(t["selectors"], json!({"ShellId": "S-1"}), "{name}");
        assert_eq!(
            t["options"],
            json!({"WINRS_NOPROFILE": "TRUE", "WINRS_CODEPAGE": "65001", "protocolversion": "2.3"}),
            "{name}"
        );
        let mine: Vec<Value> = ours.body.iter().map(node_json).collect();
        assert_eq!(
            t["body"],
            json!(mine),
            "{name}: ElementTree and our inspector disagree"
        );
    }
    // ElementTree reads back exactly what we escaped.
    let create = &theirs[8]["body"][0];
    let env_var = &create["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Environment")
        .unwrap()["children"][0];
    assert_eq!(env_var["text"], json!(TRICKY));
    assert_eq!(env_var["attrs"][0][2], json!("PATH"));
    // Tab, CR and LF survive in an attribute value (no normalisation to spaces).
    let env_var2 = &create["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Environment")
        .unwrap()["children"][1];
    assert_eq!(env_var2["attrs"][0][2], json!(TRICKY));
    println!(
        "{} request envelopes read identically by ElementTree/testhost and by us",
        envs.len()
    );

    let mut kinds = Vec::new();
    for pair in out["faults"].as_array().unwrap() {
        let name = pair[0].as_str().unwrap();
        let body = pair[1].as_str().unwrap();
        let Err(Error::Fault(f)) = rs::parse_receive(body.as_bytes()) else {
            panic!("{name}: not read as a fault")
        };
        let want = match name {
            "timed_out" => FaultKind::TimedOut,
            "invalid_selectors" | "unknown_command_id" => FaultKind::ShellNotFound,
            _ => FaultKind::AccessDenied,
        };
        assert_eq!(f.kind(), want, "{name}: {f:?}");
        assert!(f.reason.is_some() && f.machine.is_some(), "{name}: {f:?}");
        if name == "invalid_selectors" {
            assert_eq!(
                f.fault_detail.as_deref(),
                Some("http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors")
            );
        }
        assert!(matches!(
            rs::parse_ack(body.as_bytes()),
            Err(Error::Fault(_))
        ));
        if name == "provider" {
            assert_eq!(f.message.as_deref(), Some("Denied <here> & there"));
            assert_eq!(f.wsman_code, Some(5));
        }
        kinds.push(format!("{name}: {:?}", f.kind()));
    }
    println!("testhost faults read by us: {kinds:?}");
}
