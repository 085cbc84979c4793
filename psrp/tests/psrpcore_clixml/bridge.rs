//! Shared by the CLIXML test binaries that talk to psrpcore: running the
//! bridge scripts beside this file, and the canonical JSON of our values
//! that `canon.py` also writes for psrpcore's ([MS-PSRP] 2.2.5).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
#![allow(dead_code)]
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use psrp::clixml::{Content, Value};
use serde_json::{json, Value as Json};

pub fn bridge_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/psrpcore_clixml")
}

/// The venv's Python when psrpcore is importable, else `None` (skip).
pub fn python() -> Option<PathBuf> {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import psrpcore"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some(py)
    } else {
        println!(
            "SKIPPED: {} with psrpcore not found (run scripts/setup.sh)",
            py.display()
        );
        None
    }
}

/// Runs a bridge script with `stdin`, returning its stdout as JSON.
pub fn run(py: &Path, script: &str, stdin: &str) -> Json {
    run_args(py, &[script], stdin)
}

/// Runs a bridge script with arguments (the script first) and `stdin`,
/// returning its stdout as JSON.
pub fn run_args(py: &Path, args: &[&str], stdin: &str) -> Json {
    let script = args[0];
    let mut child = Command::new(py)
        .args(args)
        .current_dir(bridge_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("bridge output is JSON")
}

fn prim(t: &str, v: impl Into<Json>) -> Json {
    json!({"t": t, "v": v.into()})
}

fn float(f: f64) -> Json {
    if f.is_nan() {
        json!("NaN")
    } else if f.is_infinite() {
        json!(if f > 0.0 { "INF" } else { "-INF" })
    } else {
        json!(f)
    }
}

fn members(m: &[(String, Value)]) -> Json {
    Json::Array(m.iter().map(|(n, v)| json!([n, canon(v)])).collect())
}

/// The canonical JSON of one of our values, as `canon.py` writes psrpcore's.
pub fn canon(v: &Value) -> Json {
    match v {
        Value::Null => json!({"t": "Nil"}),
        Value::String(s) => prim("S", s.as_str()),
        Value::Char(c) => prim("C", *c),
        Value::Bool(b) => prim("B", *b),
        Value::DateTime(s) => prim("DT", s.as_str()),
        Value::Duration(s) => prim("TS", s.as_str()),
        Value::U8(n) => prim("By", *n),
        Value::I8(n) => prim("SB", *n),
        Value::U16(n) => prim("U16", *n),
        Value::I16(n) => prim("I16", *n),
        Value::U32(n) => prim("U32", *n),
        Value::I32(n) => prim("I32", *n),
        Value::U64(n) => prim("U64", *n),
        Value::I64(n) => prim("I64", *n),
        Value::F32(f) => prim("Sg", float(f64::from(*f))),
        Value::F64(f) => prim("Db", float(*f)),
        Value::Decimal(d) => prim("D", d.as_str()),
        Value::Bytes(b) => prim("BA", base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Guid(g) => prim("G", g.hyphenated().to_string()),
        Value::Uri(s) => prim("URI", s.as_str()),
        Value::Version(s) => prim("Version", s.as_str()),
        Value::XmlDocument(s) => prim("XD", s.as_str()),
        Value::ScriptBlock(s) => prim("SBK", s.as_str()),
        // Encrypted with a session key the tests do not have: compared by
        // kind only.
        Value::SecureString(_) => json!({"t": "SS"}),
        Value::Object(o) => {
            let c = match &o.content {
                Content::None => Json::Null,
                Content::Primitive(p) => json!({"prim": canon(p)}),
                Content::List(items) => {
                    json!({"list": items.iter().map(canon).collect::<Vec<_>>()})
                }
                Content::Stack(items) => {
                    json!({"stack": items.iter().map(canon).collect::<Vec<_>>()})
                }
                Content::Queue(items) => {
                    json!({"queue": items.iter().map(canon).collect::<Vec<_>>()})
                }
                Content::Dictionary(d) => {
                    json!({"dict": d.iter().map(|(k, v)| json!([canon(k), canon(v)])).collect::<Vec<_>>()})
                }
            };
            let tn = match &o.type_names {
                Some(t) if !t.is_empty() => json!(t.to_vec()),
                _ => Json::Null,
            };
            json!({"t": "Obj", "tn": tn, "ts": o.to_string, "c": c,
                   "a": members(&o.adapted), "e": members(&o.extended)})
        }
    }
}
