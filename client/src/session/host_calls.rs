//! Turning a host call ([MS-PSRP] 2.2.3.17) into a call on the
//! [`Host`](crate::host::Host) and its answer into a response value.
//!
//! Two steps, so the host can block (a person typing) on a blocking
//! thread while the session stays on the runtime: [`ask`] calls the host
//! (no session needed), [`encode`] turns the answer into the response,
//! encrypting secrets with the session key ([MS-PSRP] 2.2.5.1.24).
//! [`needs_session_key`] says beforehand whether the answer will hold a
//! SecureString, so the session can exchange the key first.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::sync::Arc;

use psrp::clixml::{Content, PsObject, Value};
use psrp::messages::HostCall;
use psrp::types::host::string_argument;
use psrp::types::{ErrorRecord, HostMethodIdentifier as M, ProgressRecord};
use psrp::RunspacePool;
use zeroize::Zeroizing;

use crate::format::to_inline;
use crate::host::{Choice, FieldAnswer, FieldKind, Host, HostStream, PromptField};

/// What to answer: `None` for methods that return nothing.
pub(crate) type Answer = Option<std::result::Result<Option<Value>, ErrorRecord>>;

/// What the host said, before encoding.
pub(crate) enum Asked {
    /// A method without a return value.
    Nothing,
    /// A ready answer.
    Ready(Option<Value>),
    /// The host call fails with this record.
    Failed(Box<ErrorRecord>),
    /// ReadLineAsSecureString.
    Secret(Option<Zeroizing<String>>),
    /// PromptForCredential1/2.
    Credential(Option<(String, Zeroizing<String>)>),
    /// Prompt: the field names and the answers.
    Prompt(Vec<String>, Option<Vec<FieldAnswer>>),
}

fn text_arg(args: &[Value], i: usize) -> String {
    match args.get(i) {
        Some(Value::Null) | None => String::new(),
        Some(v) => string_argument(args, i)
            .map(str::to_string)
            .unwrap_or_else(|| to_inline(v)),
    }
}

fn objects(v: Option<&Value>) -> Vec<&PsObject> {
    v.and_then(|v| v.as_list())
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_object)
        .collect()
}

fn choices(v: Option<&Value>) -> Vec<Choice> {
    objects(v)
        .into_iter()
        .map(|o| Choice {
            label: o.get_str("label").unwrap_or("").to_string(),
            help_message: o.get_str("helpMessage").unwrap_or("").to_string(),
        })
        .collect()
}

/// The fields of a Prompt call, from their FieldDescriptions.
fn fields(v: Option<&Value>) -> Vec<PromptField> {
    objects(v)
        .into_iter()
        .map(|o| {
            let name = o.get_str("name").unwrap_or("").to_string();
            let label = o.get_str("label").unwrap_or("").to_string();
            let kind = match o.get_str("parameterTypeFullName").unwrap_or("") {
                "System.Security.SecureString" => FieldKind::Secret,
                "System.Management.Automation.PSCredential" => FieldKind::Credential,
                _ => FieldKind::Text,
            };
            PromptField {
                name,
                label,
                help_message: o.get_str("helpMessage").unwrap_or("").to_string(),
                kind,
            }
        })
        .collect()
}

/// Whether the answer to `call` holds a SecureString, so needs the
/// session key ([MS-PSRP] 3.1.4.3).
pub(crate) fn needs_session_key(call: &HostCall) -> bool {
    match call.method {
        M::ReadLineAsSecureString | M::PromptForCredential1 | M::PromptForCredential2 => true,
        M::Prompt => fields(call.parameters.get(2))
            .iter()
            .any(|f| f.kind != FieldKind::Text),
        _ => false,
    }
}

/// The ErrorRecord sent when the host does not answer, shaped as Windows
/// shapes a HostException's.
pub(crate) fn host_error(message: &str) -> ErrorRecord {
    // Category 0 = NotSpecified.
    ErrorRecord::host_exception(
        message,
        "System.Management.Automation.Host.HostException",
        "HostException",
        0,
    )
}

fn declined(what: &str) -> ErrorRecord {
    host_error(&format!(
        "{what}: the host did not answer (the prompt was cancelled, there was no input, \
         or there is no one to ask)."
    ))
}

/// Calls the host for `call`. May block (a person typing).
pub(crate) fn ask(host: &mut dyn Host, call: &HostCall) -> Asked {
    let a = &call.parameters;
    let ready = Asked::Ready;
    let failed = |e: ErrorRecord| Asked::Failed(Box::new(e));
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
                Some(line) => ready(Some(Value::String(line))),
                None => failed(declined("ReadLine")),
            }
        }
        M::ReadLineAsSecureString => return Asked::Secret(host.read_line_secret()),
        M::PromptForCredential1 | M::PromptForCredential2 => {
            let user = string_argument(a, 2);
            return Asked::Credential(host.prompt_for_credential(
                &text_arg(a, 0),
                &text_arg(a, 1),
                user,
            ));
        }
        M::PromptForChoice => {
            let choices = choices(a.get(2));
            let default = a.get(3).and_then(Value::as_i32).unwrap_or(-1);
            return match host.prompt_for_choice(&text_arg(a, 0), &text_arg(a, 1), &choices, default)
            {
                Some(i) if usize::try_from(i).is_ok_and(|i| i < choices.len()) => {
                    ready(Some(Value::I32(i)))
                }
                Some(i) => failed(host_error(&format!(
                    "PromptForChoice: the host chose {i}, which is not one of the {} choices.",
                    choices.len()
                ))),
                None => failed(declined("PromptForChoice")),
            };
        }
        M::PromptForChoiceMultipleSelection => {
            let choices = choices(a.get(2));
            let defaults: Vec<i32> = a
                .get(3)
                .and_then(|v| v.as_list())
                .unwrap_or(&[])
                .iter()
                .filter_map(Value::as_i32)
                .collect();
            let in_range = |i: &i32| usize::try_from(*i).is_ok_and(|i| i < choices.len());
            return match host.prompt_for_multiple_choice(
                &text_arg(a, 0),
                &text_arg(a, 1),
                &choices,
                &defaults,
            ) {
                Some(picked) if picked.iter().all(in_range) => ready(Some(int_list(picked))),
                Some(_) => failed(host_error(
                    "PromptForChoice: the host chose an index that is not one of the choices.",
                )),
                None => failed(declined("PromptForChoice")),
            };
        }
        M::Prompt => {
            let fields = fields(a.get(2));
            let names = fields.iter().map(|f| f.name.clone()).collect();
            let answers = host
                .prompt(&text_arg(a, 0), &text_arg(a, 1), &fields)
                .filter(|v| v.len() == fields.len());
            return Asked::Prompt(names, answers);
        }
        M::GetName => return ready(Some(Value::String("wsman".into()))),
        M::GetVersion => return ready(Some(Value::Version(env!("CARGO_PKG_VERSION").into()))),
        M::GetInstanceId => return ready(Some(Value::Guid(uuid::Uuid::new_v4()))),
        M::GetCurrentCulture | M::GetCurrentUICulture => {
            return ready(Some(Value::String("en-US".into())))
        }
        m if m.returns_value() => {
            return failed(host_error(&format!(
                "The host does not implement {}.",
                m.name()
            )))
        }
        _ => {}
    }
    if call.method.returns_value() {
        ready(None)
    } else {
        Asked::Nothing
    }
}

/// A `Collection<int>` answer.
fn int_list(items: Vec<i32>) -> Value {
    Value::Object(Box::new(PsObject {
        type_names: Some(Arc::from(vec![
            "System.Collections.ObjectModel.Collection`1[[System.Int32, mscorlib, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089]]".to_string(),
            "System.Object".to_string(),
        ])),
        content: Content::List(items.into_iter().map(Value::I32).collect()),
        ..Default::default()
    }))
}

fn credential(pool: &RunspacePool, user: String, password: &str) -> Result<Value, String> {
    let secure = secure(pool, password)?;
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

fn secure(pool: &RunspacePool, text: &str) -> Result<Value, String> {
    pool.secure_string(text)
        .map_err(|e| format!("Cannot send the SecureString: {e}"))
}

/// Turns what the host said into the response to send.
pub(crate) fn encode(pool: &RunspacePool, asked: Asked) -> Answer {
    let result = match asked {
        Asked::Nothing => return None,
        Asked::Ready(v) => Ok(v),
        Asked::Failed(e) => return Some(Err(*e)),
        Asked::Secret(Some(s)) => secure(pool, &s).map(Some),
        Asked::Secret(None) => return Some(Err(declined("ReadLineAsSecureString"))),
        Asked::Credential(Some((u, p))) => credential(pool, u, &p).map(Some),
        Asked::Credential(None) => return Some(Err(declined("PromptForCredential"))),
        Asked::Prompt(_, None) => return Some(Err(declined("Prompt"))),
        Asked::Prompt(names, Some(answers)) => names
            .into_iter()
            .zip(answers)
            .map(|(name, answer)| {
                let value = match answer {
                    FieldAnswer::Text(t) => Ok(Value::String(t)),
                    FieldAnswer::Secret(s) => secure(pool, &s),
                    FieldAnswer::Credential(u, p) => credential(pool, u, &p),
                };
                value.map(|v| (Value::String(name), v))
            })
            .collect::<Result<Vec<_>, String>>()
            .map(|pairs| {
                Some(Value::Object(Box::new(PsObject {
                    type_names: Some(Arc::from(vec![
                        "System.Collections.Hashtable".to_string(),
                        "System.Object".to_string(),
                    ])),
                    content: Content::Dictionary(pairs),
                    ..Default::default()
                })))
            }),
    };
    Some(result.map_err(|e| host_error(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::NullHost;

    fn note(o: &mut PsObject, name: &str, v: &str) {
        o.extended.push((name.into(), Value::String(v.into())));
    }

    fn list(items: Vec<PsObject>) -> Value {
        Value::Object(Box::new(PsObject {
            content: Content::List(
                items
                    .into_iter()
                    .map(|o| Value::Object(Box::new(o)))
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    fn field(name: &str, type_name: &str) -> PsObject {
        let mut o = PsObject::default();
        note(&mut o, "name", name);
        note(&mut o, "label", "");
        note(&mut o, "parameterTypeFullName", type_name);
        o
    }

    fn call(method: M, parameters: Vec<Value>) -> HostCall {
        HostCall {
            ci: 7,
            method,
            parameters,
        }
    }

    fn confirm_call() -> HostCall {
        let choice = |label: &str| {
            let mut o = PsObject::default();
            note(&mut o, "label", label);
            note(&mut o, "helpMessage", "help");
            o
        };
        call(
            M::PromptForChoice,
            vec![
                "Confirm".into(),
                "Sure?".into(),
                list(vec![choice("&Yes"), choice("&No")]),
                Value::I32(0),
            ],
        )
    }

    #[test]
    fn a_host_without_ui_declines_a_confirm_with_a_host_exception() {
        match ask(&mut NullHost, &confirm_call()) {
            Asked::Failed(r) => {
                assert_eq!(r.fully_qualified_error_id, "HostException");
                assert!(r.message().contains("PromptForChoice"));
            }
            _ => panic!("a NullHost must not answer a choice"),
        }
    }

    struct Picks(i32);

    impl Host for Picks {
        fn prompt_for_choice(&mut self, _: &str, _: &str, c: &[Choice], _: i32) -> Option<i32> {
            assert_eq!(c[1].hotkey().as_deref(), Some("N"));
            Some(self.0)
        }
    }

    #[test]
    fn a_choice_out_of_range_is_refused_not_sent() {
        assert!(matches!(
            ask(&mut Picks(1), &confirm_call()),
            Asked::Ready(Some(Value::I32(1)))
        ));
        assert!(matches!(
            ask(&mut Picks(5), &confirm_call()),
            Asked::Failed(_)
        ));
    }

    #[test]
    fn secret_answers_need_the_session_key_first() {
        let prompt = |t: &str| {
            call(
                M::Prompt,
                vec![
                    "c".into(),
                    "m".into(),
                    list(vec![field("Name", "System.String"), field("P", t)]),
                ],
            )
        };
        assert!(needs_session_key(&prompt("System.Security.SecureString")));
        assert!(needs_session_key(&prompt(
            "System.Management.Automation.PSCredential"
        )));
        assert!(!needs_session_key(&prompt("System.String")));
        assert!(needs_session_key(&call(M::ReadLineAsSecureString, vec![])));
        assert!(!needs_session_key(&call(M::ReadLine, vec![])));
        let f = fields(prompt("System.Security.SecureString").parameters.get(2));
        assert_eq!(f[1].kind, FieldKind::Secret);
        assert_eq!(f[0].name, "Name");
    }
}
