//! Turning a host call ([MS-PSRP] 2.2.3.17) into a call on the
//! [`Host`](crate::host::Host) and its answer into a response value.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::sync::Arc;

use psrp::clixml::{Content, PsObject, Value};
use psrp::messages::HostCall;
use psrp::types::host::string_argument;
use psrp::types::{ErrorRecord, HostMethodIdentifier as M, ProgressRecord};
use psrp::RunspacePool;

use crate::format::to_inline;
use crate::host::{Host, HostStream};

/// What to answer: `None` for methods that return nothing.
pub(crate) type Answer = Option<std::result::Result<Option<Value>, ErrorRecord>>;

fn text_arg(args: &[Value], i: usize) -> String {
    match args.get(i) {
        Some(v) => string_argument(args, i)
            .map(str::to_string)
            .unwrap_or_else(|| to_inline(v)),
        None => String::new(),
    }
}

fn choice_labels(v: Option<&Value>) -> Vec<String> {
    let items: &[Value] = match v.and_then(|v| v.as_list()) {
        Some(items) => items,
        None => return Vec::new(),
    };
    items
        .iter()
        .map(|c| {
            c.as_object()
                .and_then(|o| o.get_str("Label").or(o.get_str("label")))
                .map(str::to_string)
                .unwrap_or_else(|| to_inline(c))
        })
        .collect()
}

fn credential(pool: &RunspacePool, user: String, password: &str) -> Result<Value, String> {
    let secure = pool
        .secure_string(password)
        .map_err(|e| format!("cannot send the password: {e}"))?;
    let obj = PsObject {
        type_names: Some(Arc::from(vec![
            "System.Management.Automation.PSCredential".to_string(),
            "System.Object".to_string(),
        ])),
        adapted: vec![
            ("UserName".into(), Value::String(user)),
            ("Password".into(), secure),
        ],
        ..Default::default()
    };
    Ok(Value::Object(Box::new(obj)))
}

fn host_error(message: &str) -> ErrorRecord {
    // Category 0 = NotSpecified.
    ErrorRecord::new(message, "RemoteHostCallFailed", 0)
}

/// Performs `call` on `host`; returns what to send back, if anything.
pub(crate) fn dispatch(host: &mut dyn Host, pool: &RunspacePool, call: &HostCall) -> Answer {
    let a = &call.parameters;
    let reply = |v: Option<Value>| Some(Ok(v));
    match call.method {
        M::Write1 => host.write(HostStream::Output, &text_arg(a, 0), false),
        M::Write2 => host.write(HostStream::Output, &text_arg(a, 2), false),
        M::WriteLine1 => host.write(HostStream::Output, "", true),
        M::WriteLine2 => host.write(HostStream::Output, &text_arg(a, 0), true),
        M::WriteLine3 => host.write(HostStream::Output, &text_arg(a, 2), true),
        M::WriteErrorLine => host.write(HostStream::Error, &text_arg(a, 0), true),
        M::WriteDebugLine => host.write(HostStream::Debug, &text_arg(a, 0), true),
        M::WriteVerboseLine => host.write(HostStream::Verbose, &text_arg(a, 0), true),
        M::WriteWarningLine => host.write(HostStream::Warning, &text_arg(a, 0), true),
        M::WriteProgress => {
            if let Some(Ok(r)) = a.get(1).map(ProgressRecord::from_value) {
                host.progress(&r);
            }
        }
        M::ReadLine => {
            return match host.read_line(None) {
                Some(line) => reply(Some(Value::String(line))),
                None => Some(Err(host_error("the host has no input to read"))),
            }
        }
        M::ReadLineAsSecureString => {
            return match host.read_line_secret() {
                Some(line) => match pool.secure_string(&line) {
                    Ok(v) => reply(Some(v)),
                    Err(e) => Some(Err(host_error(&format!(
                        "cannot send the SecureString: {e}"
                    )))),
                },
                None => Some(Err(host_error("the host has no input to read"))),
            }
        }
        M::PromptForCredential1 | M::PromptForCredential2 => {
            let user = string_argument(a, 2);
            return match host.prompt_for_credential(&text_arg(a, 0), &text_arg(a, 1), user) {
                Some((u, p)) => match credential(pool, u, &p) {
                    Ok(v) => reply(Some(v)),
                    Err(e) => Some(Err(host_error(&e))),
                },
                None => Some(Err(host_error("no credential was given"))),
            };
        }
        M::PromptForChoice => {
            let labels = choice_labels(a.get(2));
            let default = a.get(3).and_then(Value::as_i32).unwrap_or(-1);
            return match host.prompt_for_choice(&text_arg(a, 0), &text_arg(a, 1), &labels, default)
            {
                Some(i) => reply(Some(Value::I32(i))),
                None => Some(Err(host_error("no choice was made"))),
            };
        }
        M::Prompt => {
            // One answer per field description, as a Hashtable.
            let fields: Vec<String> = a
                .get(2)
                .and_then(|v| v.as_list())
                .unwrap_or(&[])
                .iter()
                .map(|d| {
                    d.as_object()
                        .and_then(|o| o.get_str("name").or(o.get_str("Name")))
                        .unwrap_or("")
                        .to_string()
                })
                .collect();
            let mut pairs = Vec::new();
            for f in fields {
                let answer = host.read_line(Some(&f)).unwrap_or_default();
                pairs.push((Value::String(f), Value::String(answer)));
            }
            let obj = PsObject {
                type_names: Some(Arc::from(vec![
                    "System.Collections.Hashtable".to_string(),
                    "System.Object".to_string(),
                ])),
                content: Content::Dictionary(pairs),
                ..Default::default()
            };
            return reply(Some(Value::Object(Box::new(obj))));
        }
        M::GetName => return reply(Some(Value::String("wsman".into()))),
        M::GetVersion => return reply(Some(Value::Version(env!("CARGO_PKG_VERSION").into()))),
        M::GetInstanceId => return reply(Some(Value::Guid(uuid::Uuid::new_v4()))),
        M::GetCurrentCulture | M::GetCurrentUICulture => {
            return reply(Some(Value::String("en-US".into())))
        }
        m if m.returns_value() => {
            return Some(Err(host_error(&format!(
                "the host does not implement {}",
                m.name()
            ))))
        }
        _ => {}
    }
    if call.method.returns_value() {
        Some(Ok(None))
    } else {
        None
    }
}
