//! Cross-implementation: our client RunspacePool against psrpcore's server
//! (ServerRunspacePool, ServerPipeline), through `psrpcore_bridge.py`, which
//! speaks PowerShell's out-of-process framing on stdio (the framing
//! PowerShell uses over SSH). Skipped with a message when the project's
//! Python environment (/work/main/.venv, made by scripts/setup.sh) is
//! missing.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use base64::Engine;
use psrp::clixml::Value;
use psrp::messages::{Availability, CreatePipeline};
use psrp::types::{Command, PSInvocationState, PowerShell, RunspacePoolState};
use psrp::{Event, RunspacePool, RunspacePoolConfig, Stream};
use uuid::Uuid;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const MAX: usize = 32 * 1024;

fn python() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    if !venv.exists() {
        return None;
    }
    let ok = Process::new(&venv)
        .args(["-c", "import psrpcore"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ok.then_some(venv)
}

macro_rules! bridge_or_skip {
    () => {
        match Bridge::start() {
            Some(b) => b,
            None => {
                eprintln!(
                    "SKIPPED: psrpcore is not installed in /work/main/.venv (run scripts/setup.sh)"
                );
                return;
            }
        }
    };
}

/// The transport: the out-of-process framing over the bridge's stdio.
struct Bridge {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    commands: HashSet<Uuid>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn guid(id: Option<Uuid>) -> Uuid {
    id.unwrap_or(Uuid::nil())
}

impl Bridge {
    fn start() -> Option<Bridge> {
        let python = python()?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/psrpcore_bridge.py");
        let mut child = Process::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the bridge");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Some(Bridge {
            child,
            stdin,
            lines,
            commands: HashSet::new(),
        })
    }

    fn send_line(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn next_line(&mut self) -> String {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(20))
            .expect("the bridge answered within 20 s");
        if line.starts_with("<Error") {
            let b64 = line.split('>').nth(1).unwrap().split('<').next().unwrap();
            panic!(
                "the bridge failed: {}",
                String::from_utf8_lossy(&B64.decode(b64).unwrap())
            );
        }
        line
    }

    /// Reads packets until `ack` (e.g. "DataAck") for `id`, feeding every
    /// Data packet to the pool.
    fn until_ack(&mut self, pool: &mut RunspacePool, ack: &str, id: Uuid) {
        loop {
            let line = self.next_line();
            if line.starts_with(&format!("<{ack} PSGuid='{id}'")) {
                return;
            }
            self.feed(pool, &line);
        }
    }

    fn feed(&mut self, pool: &mut RunspacePool, line: &str) {
        if let Some(rest) = line.strip_prefix("<Data ") {
            let b64 = rest.split('>').nth(1).unwrap().split('<').next().unwrap();
            pool.receive_data(&B64.decode(b64).unwrap())
                .expect("our client accepts psrpcore's data");
        } else {
            panic!("unexpected packet {line}");
        }
    }

    /// Sends everything the pool has queued, each packet acknowledged.
    fn pump(&mut self, pool: &mut RunspacePool) {
        while let Some(out) = pool.data_to_send(MAX).unwrap() {
            let id = guid(out.pipeline_id);
            if let Some(pid) = out.pipeline_id {
                if self.commands.insert(pid) {
                    self.send_line(&format!("<Command PSGuid='{pid}' />"));
                    self.until_ack(pool, "CommandAck", pid);
                }
            }
            let stream = match out.stream {
                Stream::Default => "Default",
                Stream::PromptResponse => "PromptResponse",
            };
            assert_eq!(stream, out.stream.oop_name());
            self.send_line(&format!(
                "<Data Stream='{stream}' PSGuid='{id}'>{}</Data>",
                B64.encode(&out.data)
            ));
            self.until_ack(pool, "DataAck", id);
        }
    }

    /// Pumps, then reads until `done` holds for the events seen so far.
    fn run_until(
        &mut self,
        pool: &mut RunspacePool,
        seen: &mut Vec<Event>,
        done: impl Fn(&[Event]) -> bool,
    ) {
        loop {
            self.pump(pool);
            seen.extend(std::iter::from_fn(|| pool.next_event()));
            if done(seen) {
                return;
            }
            let line = self.next_line();
            self.feed(pool, &line);
        }
    }

    fn signal(&mut self, pool: &mut RunspacePool, pid: Uuid) {
        self.send_line(&format!("<Signal PSGuid='{pid}' />"));
        self.until_ack(pool, "SignalAck", pid);
    }
}

fn open_pool(bridge: &mut Bridge) -> (RunspacePool, Vec<Event>) {
    let mut pool = RunspacePool::new(RunspacePoolConfig::default());
    pool.open().unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, |ev| {
        ev.iter().any(|e| {
            matches!(
                e,
                Event::RunspacePoolState {
                    state: RunspacePoolState::Opened,
                    ..
                }
            )
        })
    });
    assert_eq!(pool.state(), RunspacePoolState::Opened);
    (pool, seen)
}

fn finished(pid: Uuid) -> impl Fn(&[Event]) -> bool {
    move |ev: &[Event]| {
        ev.iter().any(|e| {
            matches!(e, Event::PipelineState { pipeline_id, state, .. }
                if *pipeline_id == pid && state.is_terminal())
        })
    }
}

fn outputs(ev: &[Event], pid: Uuid) -> Vec<Value> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Output { pipeline_id, value } if *pipeline_id == pid => Some(value.clone()),
            _ => None,
        })
        .collect()
}

fn strings(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{v:?}"))
        })
        .collect()
}

fn run(bridge: &mut Bridge, pool: &mut RunspacePool, create: CreatePipeline) -> (Uuid, Vec<Event>) {
    let pid = pool.create_pipeline(create).unwrap();
    let mut seen = Vec::new();
    bridge.run_until(pool, &mut seen, finished(pid));
    (pid, seen)
}

#[test]
fn open_reports_capability_private_data_and_opened() {
    let mut bridge = bridge_or_skip!();
    let (pool, seen) = open_pool(&mut bridge);
    assert!(seen
        .iter()
        .any(|e| matches!(e, Event::SessionCapability(_))));
    assert!(seen
        .iter()
        .any(|e| matches!(e, Event::ApplicationPrivateData(_))));
    assert_eq!(pool.their_capability().unwrap().protocol(), (2, 3));
}

#[test]
fn a_pipeline_with_parameters_and_a_script_reaches_the_server() {
    let mut bridge = bridge_or_skip!();
    let (mut pool, _) = open_pool(&mut bridge);
    let ps = PowerShell::new(vec![
        Command::new("Echo-Arguments")
            .parameter("Path", Value::String("C:\\temp".into()))
            .parameter("Count", Value::I32(3))
            .switch("Force")
            .argument(Value::String("positional".into())),
        Command::script("Get-Date | Out-String"),
    ]);
    let (pid, seen) = run(&mut bridge, &mut pool, CreatePipeline::new(ps));
    assert_eq!(
        strings(&outputs(&seen, pid)),
        [
            "command:Echo-Arguments",
            "Path=C:\\temp",
            "Count=3",
            "Force=True",
            "=positional",
            "is_script:Get-Date | Out-String"
        ]
    );
    assert_eq!(pool.pipeline_state(pid), Some(PSInvocationState::Completed));
}

#[test]
fn pipeline_input_comes_back_as_output() {
    let mut bridge = bridge_or_skip!();
    let (mut pool, _) = open_pool(&mut bridge);
    let mut create = CreatePipeline::new(PowerShell::new(vec![Command::new("Echo-Input")]));
    create.no_input = false;
    let pid = pool.create_pipeline(create).unwrap();
    for i in 0..3 {
        pool.send_input(pid, Value::I32(i)).unwrap();
    }
    pool.send_input(pid, Value::String("ünïcödé _x000A_ line".into()))
        .unwrap();
    pool.close_input(pid).unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, finished(pid));
    assert_eq!(
        outputs(&seen, pid),
        [
            Value::I32(0),
            Value::I32(1),
            Value::I32(2),
            Value::String("ünïcödé _x000A_ line".into())
        ]
    );
}

#[test]
fn every_record_stream_arrives_typed() {
    let mut bridge = bridge_or_skip!();
    let (mut pool, _) = open_pool(&mut bridge);
    let (pid, seen) = run(
        &mut bridge,
        &mut pool,
        CreatePipeline::new(PowerShell::new(vec![Command::new("Write-Streams")])),
    );
    assert_eq!(strings(&outputs(&seen, pid)), ["output"]);
    let error = seen
        .iter()
        .find_map(|e| match e {
            Event::Error { record, .. } => Some(record),
            _ => None,
        })
        .expect("an error record");
    assert_eq!(error.message(), "error message");
    assert_eq!(error.fully_qualified_error_id, "Bridge.Error");
    assert_eq!(error.category.category_name(), Some("InvalidData"));
    let mut kinds = Vec::new();
    for e in &seen {
        match e {
            Event::Warning { record, .. } => kinds.push(format!("warning:{}", record.message)),
            Event::Verbose { record, .. } => kinds.push(format!("verbose:{}", record.message)),
            Event::Debug { record, .. } => kinds.push(format!("debug:{}", record.message)),
            Event::Information { record, .. } => {
                kinds.push(format!("information:{}", record.message().unwrap_or("?")))
            }
            Event::Progress { record, .. } => kinds.push(format!(
                "progress:{}:{}:{}",
                record.activity.as_deref().unwrap_or(""),
                record.activity_id,
                record.percent_complete
            )),
            _ => {}
        }
    }
    assert_eq!(
        kinds,
        [
            "warning:warning message",
            "verbose:verbose message",
            "debug:debug message",
            "information:information message",
            "progress:activity:7:50"
        ]
    );
}

#[test]
fn a_host_call_is_answered_and_a_void_one_needs_no_answer() {
    let mut bridge = bridge_or_skip!();
    let (mut pool, _) = open_pool(&mut bridge);
    let pid = pool
        .create_pipeline(CreatePipeline::new(PowerShell::new(vec![Command::new(
            "Read-Host",
        )])))
        .unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, |ev| {
        ev.iter().any(|e| matches!(e, Event::HostCall { .. }))
    });
    let call = seen
        .iter()
        .find_map(|e| match e {
            Event::HostCall { pipeline_id, call } => {
                assert_eq!(*pipeline_id, Some(pid));
                Some(call.clone())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(call.method, psrp::types::HostMethodIdentifier::ReadLine);
    pool.host_response(call.ci, Ok(Some(Value::String("typed by the user".into()))))
        .unwrap();
    bridge.run_until(&mut pool, &mut seen, finished(pid));
    assert_eq!(strings(&outputs(&seen, pid)), ["typed by the user"]);

    let (pid, seen) = run(
        &mut bridge,
        &mut pool,
        CreatePipeline::new(PowerShell::new(vec![Command::new("Write-Host")])),
    );
    let call = seen
        .iter()
        .find_map(|e| match e {
            Event::HostCall { call, .. } => Some(call.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(call.ci, -100);
    assert_eq!(call.method, psrp::types::HostMethodIdentifier::WriteLine2);
    assert_eq!(call.parameters, [Value::String("from the server".into())]);
    assert!(pool.host_response(-100, Ok(None)).is_err());
    assert_eq!(pool.pipeline_state(pid), Some(PSInvocationState::Completed));
}

#[test]
fn a_secure_string_argument_is_decrypted_by_the_server() {
    let mut bridge = bridge_or_skip!();
    let (mut pool, _) = open_pool(&mut bridge);
    // A fixed key: RSA key generation is slow in debug builds.
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let private =
        rsa::RsaPrivateKey::from_pkcs1_pem(include_str!("data/exchange_key.pem")).unwrap();
    pool.exchange_key_with(psrp::crypto::ExchangeKey::from_private_key(private).unwrap())
        .unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, |ev| ev.contains(&Event::KeyExchanged));
    let secret = pool.secure_string("P@ssw0rd ünicode").unwrap();
    let (pid, seen) = run(
        &mut bridge,
        &mut pool,
        CreatePipeline::new(PowerShell::new(vec![
            Command::new("Decrypt-Secure").parameter("Secret", secret)
        ])),
    );
    assert_eq!(strings(&outputs(&seen, pid)), ["P@ssw0rd ünicode"]);
}

#[test]
fn stop_ends_a_running_pipeline_as_stopped() {
    let mut bridge = bridge_or_skip!();
    let (mut pool, _) = open_pool(&mut bridge);
    let pid = pool
        .create_pipeline(CreatePipeline::new(PowerShell::new(vec![Command::new(
            "Wait-Stop",
        )])))
        .unwrap();
    bridge.pump(&mut pool);
    pool.stop(pid).unwrap();
    assert_eq!(pool.pipeline_state(pid), Some(PSInvocationState::Stopping));
    bridge.signal(&mut pool, pid);
    let mut seen: Vec<Event> = std::iter::from_fn(|| pool.next_event()).collect();
    bridge.run_until(&mut pool, &mut seen, finished(pid));
    let error = seen
        .iter()
        .find_map(|e| match e {
            Event::PipelineState {
                state: PSInvocationState::Stopped,
                error,
                ..
            } => Some(error.clone()),
            _ => None,
        })
        .expect("Stopped");
    assert_eq!(error.unwrap().fully_qualified_error_id, "PipelineStopped");
    pool.close_pipeline(pid).unwrap();
}

#[test]
fn a_failed_pipeline_carries_its_error() {
    let mut bridge = bridge_or_skip!();
    let (mut pool, _) = open_pool(&mut bridge);
    let (pid, seen) = run(
        &mut bridge,
        &mut pool,
        CreatePipeline::new(PowerShell::new(vec![Command::new("Fail")])),
    );
    assert_eq!(pool.pipeline_state(pid), Some(PSInvocationState::Failed));
    let err = seen
        .iter()
        .find_map(|e| match e {
            Event::PipelineState { error: Some(e), .. } => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(err.message(), "it failed");
}

#[test]
fn runspace_counts_are_set_and_queried() {
    let mut bridge = bridge_or_skip!();
    let (mut pool, _) = open_pool(&mut bridge);
    let ci = pool.set_max_runspaces(4).unwrap().unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, |ev| {
        ev.iter()
            .any(|e| matches!(e, Event::RunspaceAvailability { .. }))
    });
    assert!(seen.contains(&Event::RunspaceAvailability {
        ci,
        response: Availability::Success(true)
    }));
    assert_eq!(pool.max_runspaces(), 4);
    let ci = pool.set_min_runspaces(2).unwrap().unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, |ev| !ev.is_empty());
    assert_eq!(
        seen,
        [Event::RunspaceAvailability {
            ci,
            response: Availability::Success(true)
        }]
    );
    assert_eq!(pool.min_runspaces(), 2);
    let ci = pool.get_available_runspaces().unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, |ev| !ev.is_empty());
    assert_eq!(
        seen,
        [Event::RunspaceAvailability {
            ci,
            response: Availability::Count(4)
        }]
    );
}

#[test]
fn disconnect_then_connect_from_a_second_client() {
    let mut bridge = bridge_or_skip!();
    let (mut first, _) = open_pool(&mut bridge);
    let rpid = first.id();
    first.begin_disconnect().unwrap();
    bridge.send_line(&format!("<Disconnect PSGuid='{}' />", Uuid::nil()));
    bridge.until_ack(&mut first, "DisconnectAck", Uuid::nil());
    first.disconnected().unwrap();
    assert_eq!(first.state(), RunspacePoolState::Disconnected);

    // A new client that knows only the pool id (a WS-Man Enumerate would
    // give it) connects with SESSION_CAPABILITY + CONNECT_RUNSPACEPOOL.
    let mut second = RunspacePool::with_id(rpid, RunspacePoolConfig::default());
    second.connect().unwrap();
    let mut seen = Vec::new();
    bridge.commands.clear();
    bridge.run_until(&mut second, &mut seen, |ev| {
        ev.iter()
            .any(|e| matches!(e, Event::RunspacePoolInitData { .. }))
    });
    assert_eq!(second.state(), RunspacePoolState::Opened);
    let (pid, seen) = run(
        &mut bridge,
        &mut second,
        CreatePipeline::new(PowerShell::new(vec![Command::new("Echo-Arguments")])),
    );
    assert_eq!(strings(&outputs(&seen, pid)), ["command:Echo-Arguments"]);
    bridge.send_line(&format!("<Close PSGuid='{}' />", Uuid::nil()));
    bridge.until_ack(&mut second, "CloseAck", Uuid::nil());
}

#[test]
fn user_events_and_a_runspace_pool_host_call() {
    let mut bridge = bridge_or_skip!();
    let (mut pool, _) = open_pool(&mut bridge);
    let pid = pool
        .create_pipeline(CreatePipeline::new(PowerShell::new(vec![Command::new(
            "Pool-Events",
        )])))
        .unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, |ev| {
        finished(pid)(ev) && ev.iter().any(|e| matches!(e, Event::HostCall { .. }))
    });
    let first = seen
        .iter()
        .find_map(|e| match e {
            Event::UserEvent(u) => Some(u.clone()),
            _ => None,
        })
        .expect("a USER_EVENT");
    assert_eq!(first.event_identifier, Some(7));
    assert_eq!(first.source_identifier.as_deref(), Some("MySource"));
    assert_eq!(first.message_data, Value::String("event data".into()));
    assert_eq!(first.runspace_id, Some(pool.id()));
    let call = seen
        .iter()
        .find_map(|e| match e {
            Event::HostCall {
                pipeline_id: None,
                call,
            } => Some(call.clone()),
            _ => None,
        })
        .expect("a RUNSPACEPOOL_HOST_CALL");
    assert_eq!(call.method, psrp::types::HostMethodIdentifier::GetName);
    pool.host_response(call.ci, Ok(Some(Value::String("rust-client".into()))))
        .unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, |ev| {
        ev.iter().any(|e| matches!(e, Event::UserEvent(_)))
    });
    let Event::UserEvent(answer) = &seen[0] else {
        panic!("{seen:?}")
    };
    assert_eq!(answer.source_identifier.as_deref(), Some("HostResponse"));
    assert_eq!(answer.message_data, Value::String("rust-client".into()));
}

#[test]
fn command_metadata_and_reset_runspace_state() {
    use psrp::messages::GetCommandMetadata;
    use psrp::types::{CommandMetadata, CommandMetadataCount, CommandTypes};
    let mut bridge = bridge_or_skip!();
    let (mut pool, _) = open_pool(&mut bridge);
    let pid = pool
        .get_command_metadata(GetCommandMetadata {
            names: vec!["Get-Item".into(), "Set-Item".into()],
            command_type: CommandTypes::All,
            namespace: None,
            argument_list: None,
        })
        .unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, finished(pid));
    let out = outputs(&seen, pid);
    assert_eq!(CommandMetadataCount::from_value(&out[0]).unwrap().count, 2);
    let names: Vec<_> = out[1..]
        .iter()
        .map(|v| CommandMetadata::from_value(v).unwrap())
        .map(|m| {
            assert_eq!(m.command_type, CommandTypes::Cmdlet);
            assert_eq!(m.parameters.len(), 1);
            assert_eq!(m.parameters[0].parameter_type, "System.String");
            m.name
        })
        .collect();
    assert_eq!(names, ["Get-Item", "Set-Item"]);

    let ci = pool.reset_runspace_state().unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, |ev| !ev.is_empty());
    assert_eq!(
        seen,
        [Event::RunspaceAvailability {
            ci,
            response: Availability::Success(true)
        }]
    );
}

#[test]
fn the_server_can_ask_for_the_public_key() {
    let mut bridge = bridge_or_skip!();
    let (mut pool, _) = open_pool(&mut bridge);
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let private =
        rsa::RsaPrivateKey::from_pkcs1_pem(include_str!("data/exchange_key.pem")).unwrap();
    pool.set_exchange_key(psrp::crypto::ExchangeKey::from_private_key(private).unwrap());
    let pid = pool
        .create_pipeline(CreatePipeline::new(PowerShell::new(vec![Command::new(
            "Request-Key",
        )])))
        .unwrap();
    let mut seen = Vec::new();
    bridge.run_until(&mut pool, &mut seen, |ev| {
        finished(pid)(ev) && ev.contains(&Event::KeyExchanged)
    });
    assert!(pool.has_session_key());
    assert!(pool.secure_string("x").is_ok());
}
