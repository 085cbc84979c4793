//! The PSSession client against recorded real Windows traffic, as a
//! table: each row names a pypsrp recording
//! (`fixtures/recordings/pypsrp/.../test_psrp_*.yml`), how it is served
//! and judged ([`integration_tests::replay::Row`]), and the scenario that
//! drives `pssession::session::PsSession` at the replay and checks what a
//! user would see (output, records, states). After each scenario the
//! replay checks that our requests matched the recorded ones.
//!
//! Adding a recording is one row; a recording of a plain script needs no
//! new scenario (`script_prints`).
use fixtures::MatchMode;
use integration_tests::replay_tests;

replay_tests! {
    open_runspace: "test_psrp_open_runspace" => scenarios::open_runspace();
    multiple_invocations_of_one_powershell: "test_psrp_multiple_invocations"
        => scenarios::multiple_invocations_of_one_powershell();
    every_stream_in_the_order_windows_wrote_it: "test_psrp_stream_output_invocation"
        => scenarios::every_stream_in_the_order_windows_wrote_it();
    pipeline_input_in_one_send: "test_psrp_with_input" => scenarios::pipeline_input_in_one_send();
    terminating_error_fails_the_pipeline: "test_psrp_error_failed"
        => scenarios::terminating_error_fails_the_pipeline();
    jea_endpoint_runs_only_what_it_allows: "test_psrp_with_jea_configuration"
        => scenarios::jea_endpoint_runs_only_what_it_allows();
    /// PowerShell 2 on Windows 7.
    protocol_version_2_1: "test_psrp_run_protocol_version_2.1"
        => scenarios::protocol_version("2.1", "2.0");
    protocol_version_2_2: "test_psrp_run_protocol_version_2.2"
        => scenarios::protocol_version("2.2", "2.0");
    protocol_version_2_3: "test_psrp_run_protocol_version_2.3"
        => scenarios::protocol_version("2.3", "5.1.14393.2248");
    /// pypsrp reused one WS-Man client for the second Create (request 7)
    /// and its first Receive (8), and another for both Connects (16), after
    /// the first session had raised its MaxEnvelopeSize to 512000; each of
    /// our sessions starts at 153600 until its host's SESSION_CAPABILITY,
    /// as PowerShell does. The sizes asked for later match the recording.
    disconnect_reconnect_list_and_connect_from_new_clients: "test_psrp_disconnect_runspaces" {
        allow: &[(7, "MaxEnvelopeSize"), (8, "MaxEnvelopeSize"), (16, "MaxEnvelopeSize")],
    } => scenarios::disconnect_reconnect_list_and_connect_from_new_clients();
    host_methods_reach_the_client: "test_psrp_pshost_methods"
        => scenarios::host_methods_reach_the_client();
    secure_strings_both_ways_after_the_key_exchange: "test_psrp_multiple_commands"
        => scenarios::secure_strings_both_ways_after_the_key_exchange();
    key_exchange_without_an_answer_is_an_error: "test_psrp_key_exchange_timeout"
        => scenarios::key_exchange_without_an_answer_is_an_error();
    long_running_pipeline_across_receive_timeouts: "test_psrp_long_running_cmdlet"
        => scenarios::long_running_pipeline_across_receive_timeouts();
    application_arguments_reach_the_session: "test_psrp_application_args"
        => scenarios::application_arguments_reach_the_session();
    no_profile_session: "test_psrp_no_profile" => scenarios::no_profile_session();
    /// The ReadKey answer (PIPELINE_HOST_RESPONSE) goes to the pipeline: our
    /// Send names its CommandId, as [MS-PSRP] 3.1.5.3.5 requires of a Send
    /// targeted to a pipeline; the pypsrp of 2018 sent it to the shell.
    raw_ui_state_and_read_key: "test_psrp_pshost_raw_ui_mocked_methods" {
        allow: &[(5, "Send CommandId")],
    } => scenarios::raw_ui_state_and_read_key();
    command_metadata: "test_psrp_get_command_metadata" => scenarios::command_metadata();
    runspace_pool_sizes: "test_psrp_set_runspaces" { call_ids_from_one: true }
        => scenarios::runspace_pool_sizes();
    reset_runspace_state: "test_psrp_reset_runspace_state" { call_ids_from_one: true }
        => scenarios::reset_runspace_state();
    reset_runspace_state_refused: "test_psrp_reset_runspace_state_fail" { call_ids_from_one: true }
        => scenarios::reset_runspace_state_refused();
    /// The stop Signal (request 6; the nested pipeline's release is left to
    /// the Delete): we send MS-PSRP's powershell/signal/crtl_c (3.1.5.3.9),
    /// pypsrp sent MS-WSMV's powershell/signal/ctrl_c; Windows takes both.
    nested_pipeline_beside_a_running_one_then_stop: "test_psrp_nested_command" {
        allow: &[(6, "Signal code")],
    } => scenarios::nested_pipeline_beside_a_running_one_then_stop();
    history_kept_when_asked: "test_psrp_with_history"
        => scenarios::history_only_when_asked(true);
    history_not_kept_unless_asked: "test_psrp_with_no_history"
        => scenarios::history_only_when_asked(false);
    records_with_invocation_info: "test_psrp_stream_output_invocation"
        => scenarios::records_with_and_without_invocation_info(true);
    records_without_invocation_info: "test_psrp_stream_no_output_invocation"
        => scenarios::records_with_and_without_invocation_info(false);
    merged_streams_arrive_as_output: "test_psrp_merge_commands"
        => scenarios::merged_streams_arrive_as_output();
    /// pypsrp first read the host's MaxEnvelopeSizekb from winrm/config
    /// (request 0, a Get); our client takes the size from ConnectionInfo.
    small_envelopes_fragment_the_pipeline_both_ways: "test_psrp_small_msg_size" {
        mode: MatchMode::SkipToAction,
        allow: &[(0, "skipped")],
    } => scenarios::small_envelopes_fragment_the_pipeline_both_ways();
    host_state_of_a_session: "test_psrp_is_alive_state_disconnected"
        => scenarios::host_state_of_a_session();
    host_state_of_a_removed_session: "test_psrp_is_alive_invalid_selectors"
        => scenarios::host_state_of_a_removed_session();
    host_state_fault_is_reported: "test_psrp_is_alive_other_wsman_error"
        => scenarios::host_state_fault_is_reported();
    /// The host closed the connection without answering (request 4): the
    /// transport reconnects and sends the Get once more (request 5), which
    /// the recording has no answer for.
    host_state_dropped_connection_is_an_error: "test_psrp_is_alive_http_error" {
        allow: &[(5, "unexpected request")],
    } => scenarios::host_state_dropped_connection_is_an_error();
    /// A plain script after the pool opened (pypsrp cleared the commands of
    /// a PowerShell object first; nothing of that goes on the wire).
    plain_script: "test_psrp_clear_commands"
        => scenarios::script_prints("echo new", &["new"]);
}

/// What a session seeded with `seed` sends to the replay of
/// `test_psrp_open_runspace` (open, then close): the request bodies
/// with WS-Man's own message ids (`uuid:...`, random by design) and the
/// replay server's address (its port is the system's choice) blanked, and
/// the session's InstanceId.
async fn seeded_requests(seed: u64) -> (Vec<String>, uuid::Uuid) {
    use pssession::host::NullHost;
    use pssession::session::{PsSession, SessionOptions};
    let row = integration_tests::replay::Row {
        recording: "test_psrp_open_runspace",
        ..integration_tests::replay::Row::DEFAULT
    };
    let (server, info) = row.start().await;
    let opts = SessionOptions {
        random_seed: Some(seed),
        ..Default::default()
    };
    let s = PsSession::open(&info, opts, Box::new(NullHost))
        .await
        .unwrap();
    let id = s.instance_id();
    s.close().await.unwrap();
    let url = server.url();
    let requests = server
        .requests()
        .iter()
        .map(|r| blank_message_ids(&r.replace(&url, "URL")))
        .collect();
    row.check(server);
    (requests, id)
}

fn blank_message_ids(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(at) = rest.find("uuid:") {
        out.push_str(&rest[..at]);
        out.push_str("uuid:*");
        let after = &rest[at + 5..];
        let len = after
            .find(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
            .unwrap_or(after.len());
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// `SessionOptions::random_seed`: two sessions with one seed send the same
/// bytes (the same ShellId, the same PSRP messages in the Create and every
/// request after it); another seed gives another session.
#[tokio::test]
async fn a_seeded_session_sends_the_same_bytes_twice() {
    let (first, id) = seeded_requests(7).await;
    let (second, id_again) = seeded_requests(7).await;
    assert_eq!(id, id_again);
    assert!(first.len() >= 3, "{first:?}");
    assert!(first[0].contains("creationXml"), "{}", first[0]);
    assert_eq!(first, second, "same seed, same requests");
    let (other, other_id) = seeded_requests(8).await;
    assert_ne!(other_id, id);
    assert_ne!(other[0], first[0], "another seed, another Create");
}

/// What each row runs and what the user must see.
mod scenarios {
    use psrp::clixml::{Content, PsObject, Value};
    use psrp::types::{Command, PSInvocationState, PowerShell, RunspacePoolState};
    use pssession::host::{Host, NullHost};
    use pssession::session::{
        HostDefaultData, InvokeOptions, PipelineEvent, PsSession, SessionOptions,
    };
    use pssession::ConnectionInfo;

    fn text(v: &Value) -> String {
        pssession::format::to_text(v)
    }

    fn texts(values: &[Value]) -> Vec<String> {
        values.iter().map(text).collect()
    }

    async fn open(info: &pssession::ConnectionInfo) -> PsSession {
        let s = PsSession::open(info, SessionOptions::default(), Box::new(NullHost))
            .await
            .unwrap();
        assert_eq!(s.state(), RunspacePoolState::Opened);
        s
    }

    fn ps_version(s: &PsSession) -> String {
        let data = s
            .application_private_data()
            .expect("APPLICATION_PRIVATE_DATA");
        let table = data
            .get("PSVersionTable")
            .expect("PSVersionTable")
            .as_dictionary()
            .expect("a dictionary")
            .to_vec();
        let version = table
            .iter()
            .find(|(k, _)| k.as_str() == Some("PSVersion"))
            .expect("PSVersion");
        text(&version.1)
    }

    pub async fn open_runspace(info: ConnectionInfo) {
        let s = open(&info).await;
        assert_eq!(ps_version(&s), "5.1.14393.2248");
        assert_eq!(
            s.server_capability().unwrap().protocol_version.to_string(),
            "2.3"
        );
        s.close().await.unwrap();
    }

    fn list_of(type_name: &str, items: Vec<Value>) -> Value {
        Value::Object(Box::new(PsObject {
            type_names: Some(std::sync::Arc::from(vec![
                type_name.to_string(),
                "System.Array".to_string(),
                "System.Object".to_string(),
            ])),
            content: Content::List(items),
            ..Default::default()
        }))
    }

    fn hashtable(pairs: &[(&str, &str)]) -> Value {
        Value::Object(Box::new(PsObject {
            type_names: Some(std::sync::Arc::from(vec![
                "System.Collections.Hashtable".to_string(),
                "System.Object".to_string(),
            ])),
            content: Content::Dictionary(
                pairs
                    .iter()
                    .map(|(k, v)| (Value::String(k.to_string()), Value::String(v.to_string())))
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    fn type_name(v: &Value) -> Option<&str> {
        v.as_object().and_then(|o| o.type_name())
    }

    pub async fn multiple_invocations_of_one_powershell(info: ConnectionInfo) {
        let mut s = open(&info).await;
        assert_eq!(ps_version(&s), "5.1.26236.5000");
        let ps = || PowerShell::new(vec![Command::script("1+1")]);
        let mut p = s.invoke_powershell(ps(), false).await.unwrap();
        let id = p.id();
        let mut out = Vec::new();
        while let Some(e) = p.next().await.unwrap() {
            out.push(e);
        }
        assert_eq!(
            out,
            [
                PipelineEvent::Output(Value::I32(2)),
                PipelineEvent::Finished {
                    state: PSInvocationState::Completed,
                    error: None
                }
            ]
        );
        // The same PowerShell invoked again keeps its id, as pypsrp's did.
        let r = s
            .reinvoke(id, ps(), false)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(r.output, [Value::I32(2)]);
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        assert!(!r.had_errors());
        s.close().await.unwrap();
    }

    const ALL_STREAMS: &str = "$DebugPreference = 'Continue'
                $VerbosePreference = 'Continue'
                Write-Debug 'debug stream'
                Write-Verbose 'verbose stream'
                Write-Error 'error stream'
                Write-Output 'output stream'
                Write-Warning 'warning stream'
                Write-Information 'information stream'
                ";

    pub async fn every_stream_in_the_order_windows_wrote_it(info: ConnectionInfo) {
        let mut s = open(&info).await;
        let mut p = s.invoke(ALL_STREAMS).await.unwrap();
        let mut kinds = Vec::new();
        let mut events = Vec::new();
        while let Some(e) = p.next().await.unwrap() {
            kinds.push(match &e {
                PipelineEvent::Output(_) => "output",
                PipelineEvent::Error(_) => "error",
                PipelineEvent::Warning(_) => "warning",
                PipelineEvent::Verbose(_) => "verbose",
                PipelineEvent::Debug(_) => "debug",
                PipelineEvent::Information(_) => "information",
                PipelineEvent::Progress(_) => "progress",
                PipelineEvent::Finished { .. } => "finished",
            });
            events.push(e);
        }
        assert_eq!(
            kinds,
            [
                "progress",
                "debug",
                "verbose",
                "error",
                "output",
                "warning",
                "information",
                "finished"
            ]
        );
        for e in &events {
            match e {
                PipelineEvent::Progress(p) => {
                    assert_eq!(
                        p.activity.as_deref(),
                        Some("Preparing modules for first use.")
                    );
                    assert_eq!(p.percent_complete, -1);
                }
                PipelineEvent::Debug(r) => assert_eq!(r.message, "debug stream"),
                PipelineEvent::Verbose(r) => assert_eq!(r.message, "verbose stream"),
                PipelineEvent::Warning(r) => assert_eq!(r.message, "warning stream"),
                PipelineEvent::Error(r) => {
                    assert_eq!(r.message(), "error stream");
                    assert_eq!(
                        r.fully_qualified_error_id,
                        "Microsoft.PowerShell.Commands.WriteErrorException"
                    );
                    assert_eq!(r.category.activity.as_deref(), Some("Write-Error"));
                }
                PipelineEvent::Output(v) => assert_eq!(v, &Value::String("output stream".into())),
                PipelineEvent::Information(i) => {
                    assert_eq!(text(&i.message_data), "information stream");
                    assert_eq!(i.source.as_deref(), Some("Write-Information"));
                    assert_eq!(i.user.as_deref(), Some("WIN-NNMU24VVKJ0\\vagrant"));
                    assert_eq!(i.process_id, Some(2780));
                }
                PipelineEvent::Finished { state, error } => {
                    assert_eq!(*state, PSInvocationState::Completed);
                    assert!(error.is_none());
                }
            }
        }
        s.close().await.unwrap();
    }

    pub async fn pipeline_input_in_one_send(info: ConnectionInfo) {
        let mut s = open(&info).await;
        let script = "begin {
                    $DebugPreference = 'Continue'
                    Write-Debug \"Start Block\"
                }
                process {
                    $input
                }
                end {
                    Write-Debug \"End Block\"
                }";
        let ps = PowerShell::new(vec![Command::script(script)]);
        let mut p = s.invoke_powershell(ps, true).await.unwrap();
        p.send_all_input([
            Value::String("1".into()),
            Value::I32(2),
            hashtable(&[("a", "b")]),
            list_of(
                "System.Object[]",
                vec![Value::String("a".into()), Value::String("b".into())],
            ),
        ])
        .await
        .unwrap();
        let r = p.collect().await.unwrap();
        assert_eq!(r.output.len(), 4);
        assert_eq!(r.output[0], Value::String("1".into()));
        assert_eq!(r.output[1], Value::I32(2));
        // Windows sends back deserialized copies.
        assert_eq!(
            type_name(&r.output[2]),
            Some("Deserialized.System.Collections.Hashtable")
        );
        let dict = r.output[2].as_dictionary().unwrap();
        assert_eq!(
            dict,
            [(Value::String("a".into()), Value::String("b".into()))]
        );
        assert_eq!(
            type_name(&r.output[3]),
            Some("Deserialized.System.Object[]")
        );
        assert_eq!(texts(r.output[3].as_list().unwrap()), ["a", "b"]);
        let debug: Vec<&str> = r.debug.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(debug, ["Start Block", "End Block"]);
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        s.close().await.unwrap();
    }

    pub async fn terminating_error_fails_the_pipeline(info: ConnectionInfo) {
        let mut s = open(&info).await;
        let r = s
            .run("$ErrorActionPreference = 'Stop'; Write-Output before; Write-Error error; Write-Output after")
            .await
            .unwrap();
        assert_eq!(r.output, [Value::String("before".into())]);
        assert_eq!(r.state, Some(PSInvocationState::Failed));
        let e = r.error.as_ref().expect("the terminating error");
        assert_eq!(e.message(), "error");
        assert_eq!(
            e.fully_qualified_error_id,
            "Microsoft.PowerShell.Commands.WriteErrorException"
        );
        assert!(r.had_errors());
        s.close().await.unwrap();
    }

    pub async fn jea_endpoint_runs_only_what_it_allows(mut info: ConnectionInfo) {
        info.configuration = "JEARole".into();
        assert_eq!(
            info.resource_uri(),
            "http://schemas.microsoft.com/powershell/JEARole"
        );
        let mut s = open(&info).await;

        let get = Command::new("Get-Item").parameter(
            "Path",
            Value::String("WSMan:\\localhost\\Service\\AllowUnencrypted".into()),
        );
        let r = s
            .invoke_powershell(PowerShell::new(vec![get]), false)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(r.output.len(), 1);
        let item = r.output[0].as_object().unwrap();
        assert_eq!(
            item.to_string.as_deref(),
            Some("Microsoft.WSMan.Management.WSManConfigLeafElement")
        );
        assert!(!r.had_errors());

        // Two statements: a cmdlet the role allows on a path it does not, and
        // a script, which a no-language runspace refuses.
        let mut ps = PowerShell::new(vec![
            Command::new("Get-Item").parameter("Path", Value::String("C:\\Windows".into()))
        ]);
        ps.statements.push(vec![Command::script(
            "Set-Item -Path WSMan:\\localhost\\Service\\AllowUnencrypted -Value $false",
        )]);
        let r = s
            .invoke_powershell(ps, false)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert!(r.output.is_empty());
        assert_eq!(r.errors.len(), 1);
        assert_eq!(
            r.errors[0].message(),
            "Cannot find a provider with the name 'FileSystem'."
        );
        assert_eq!(r.state, Some(PSInvocationState::Failed));
        assert_eq!(
            r.error.as_ref().unwrap().message(),
            "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode."
        );
        s.close().await.unwrap();
    }

    const VERSION_SCRIPT: &str = "begin {
        $DebugPreference = 'Continue'
        Write-Debug \"Start Block\"
        Write-Error \"error\"
    }
    process {
        $input
    }
    end {
        Write-Debug \"End Block\"
    }";

    /// A pipeline with input and merged error output against a host of each
    /// protocol version (2.1 = PowerShell 2 on Windows 7).
    pub async fn protocol_version(info: ConnectionInfo, version: &str, ps_version_expected: &str) {
        let mut s = open(&info).await;
        assert_eq!(s.server_capability().unwrap().protocol_version, version);
        assert_eq!(ps_version(&s), ps_version_expected);
        let ps = PowerShell::new(vec![Command::script(VERSION_SCRIPT).merge_error_to_output()]);
        let mut p = s.invoke_powershell(ps, true).await.unwrap();
        p.send_all_input([
            Value::String("message 1".into()),
            Value::I32(2),
            list_of(
                "System.Object[]",
                vec![Value::String("3".into()), Value::I32(3)],
            ),
        ])
        .await
        .unwrap();
        let r = p.collect().await.unwrap();
        // 2>&1: the error record arrives as output, before the input echoed.
        assert_eq!(r.output.len(), 4, "{:?}", r.output);
        assert_eq!(
            type_name(&r.output[0]),
            Some("System.Management.Automation.ErrorRecord")
        );
        let merged = psrp::types::ErrorRecord::from_value(&r.output[0]).unwrap();
        assert_eq!(merged.message(), "error");
        assert_eq!(merged.category.activity.as_deref(), Some("Write-Error"));
        assert_eq!(r.output[1], Value::String("message 1".into()));
        assert_eq!(r.output[2], Value::I32(2));
        assert_eq!(texts(r.output[3].as_list().unwrap()), ["3", "3"]);
        assert!(r.errors.is_empty());
        let debug: Vec<&str> = r.debug.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(debug, ["Start Block", "End Block"]);
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        s.close().await.unwrap();
    }

    /// Disconnect, reconnect from the same client, disconnect again; a second
    /// session opened and disconnected; both listed as Disconnected from a new
    /// client, connected to from new clients, and removed (Disconnect-,
    /// Connect-, Get-, Remove-PSSession).
    pub async fn disconnect_reconnect_list_and_connect_from_new_clients(info: ConnectionInfo) {
        let mut a = open(&info).await;
        a.disconnect(None, None).await.unwrap();
        assert_eq!(a.state(), RunspacePoolState::Disconnected);
        a.reconnect().await.unwrap();
        assert_eq!(a.state(), RunspacePoolState::Opened);
        a.disconnect(None, None).await.unwrap();
        assert_eq!(a.state(), RunspacePoolState::Disconnected);

        let mut b = open(&info).await;
        b.disconnect(None, None).await.unwrap();
        let (a_id, b_id) = (a.instance_id(), b.instance_id());
        // The clients that made them are gone.
        drop((a, b));

        let listed = PsSession::list(&info).await.unwrap();
        assert_eq!(listed.len(), 2);
        for (r, id) in listed.iter().zip([a_id, b_id]) {
            assert_eq!(r.instance_id, id);
            assert_eq!(r.state, "Disconnected");
            assert_eq!(
                r.resource_uri,
                "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"
            );
            assert_eq!(r.owner.as_deref(), Some("WIN-NNMU24VVKJ0\\vagrant"));
            assert_eq!(r.idle_timeout, Some(std::time::Duration::from_secs(7200)));
            assert!(r.pipelines.is_empty());
        }

        let mut connected = Vec::new();
        for r in &listed {
            let s = PsSession::connect(&info, r.instance_id, Box::new(NullHost))
                .await
                .unwrap();
            assert_eq!(s.state(), RunspacePoolState::Opened);
            assert_eq!(s.instance_id(), r.instance_id);
            assert_eq!((s.min_runspaces(), s.max_runspaces()), (1, 1));
            connected.push(s);
        }
        for s in connected {
            s.close().await.unwrap();
        }
    }

    /// A host that says it is interactive (a UI, as pypsrp's PSHost): the
    /// server then forwards `$host` calls to it.
    struct InteractiveHost;

    impl Host for InteractiveHost {
        fn is_interactive(&self) -> bool {
            true
        }
    }

    pub async fn host_methods_reach_the_client(info: ConnectionInfo) {
        let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(InteractiveHost))
            .await
            .unwrap();
        assert_eq!(s.should_exit(), None);
        let r = s
            .run("$host.CurrentCulture; $host.SetShouldExit(1)")
            .await
            .unwrap();
        assert_eq!(r.output.len(), 1);
        let culture = r.output[0].as_object().unwrap();
        assert_eq!(
            culture.type_name(),
            Some("System.Globalization.CultureInfo")
        );
        assert_eq!(culture.to_string.as_deref(), Some("en-US"));
        assert_eq!(culture.get_i64("LCID"), Some(1033));
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        // SetShouldExit is a host call without an answer (ci -100).
        assert_eq!(s.should_exit(), Some(1));
        s.close().await.unwrap();
    }

    /// The RSA key pair pypsrp's tests substitute for a generated one
    /// (`gen_rsa_keypair` in pypsrp's `tests/tests_pypsrp/test_powershell.py`,
    /// MIT, see fixtures/recordings/PROVENANCE.md): the recorded
    /// ENCRYPTED_SESSION_KEY was encrypted to it, so with it our client can
    /// read the session key Windows chose. Test data, not a secret.
    fn pypsrp_exchange_key() -> psrp::crypto::ExchangeKey {
        let n = |s: &str| rsa::BigUint::parse_bytes(s.as_bytes(), 10).unwrap();
        let p = n("174331130742537243408330955079815843963035167715989214203198624738597363753422194561659111132445142920926993058833709875440980890363712769908141629896643845627776407469038077862709547359496382776626050712560846670587394813048350142683947903572416102765283173128172045224943986952459084128294017448217886823253");
        let q = n("141639112913055250372907285405879139487409354087944702421480687298597773645578986399236760591500655922107321654521995138945695777437048045372013886449237695348272152351631535441304559114954968164429007883070066144736528002854651716726263900736377199146896337887655964419309789253989248300176824884184363216819");
        let key = rsa::RsaPrivateKey::from_p_q(p, q, rsa::BigUint::from(65_537u32)).unwrap();
        psrp::crypto::ExchangeKey::from_private_key(key).unwrap()
    }

    /// Ten statements in one pipeline, a SecureString sent as a parameter and
    /// one received as output, after the session key exchange.
    pub async fn secure_strings_both_ways_after_the_key_exchange(info: ConnectionInfo) {
        let mut s = open(&info).await;
        assert!(s.secure_string("x").is_err(), "no session key yet");
        s.exchange_key_with(pypsrp_exchange_key()).await.unwrap();
        let secret = s.secure_string("Hello World").unwrap();
        assert!(matches!(secret, Value::SecureString(_)));

        let set = |name: &str, value: Value| {
            vec![Command::new("Set-Variable")
                .parameter("Name", Value::String(name.into()))
                .parameter("Value", value)]
        };
        let script = |text: &str| vec![Command::script(text)];
        let unicode = "こんにちは - actual_x000A_string\nnewline: \u{10437}";
        let statements = vec![
            set("sec_string", secret),
            script("[System.Runtime.InteropServices.marshal]::PtrToStringAuto([System.Runtime.InteropServices.marshal]::SecureStringToBSTR($sec_string))"),
            vec![Command::new("ConvertTo-SecureString")
                .parameter("String", Value::String("abc".into()))
                .switch("AsPlainText")
                .switch("Force")],
            set("unicode_string", Value::String(unicode.into())),
            script("$unicode_string"),
            vec![Command::new("cmd.exe").argument(Value::String("/c echo hi".into()))],
            vec![Command::new("whoami.exe")],
            set("integer", Value::I32(123)),
            script("$integer"),
            vec![Command::new("Get-Service").parameter("Name", Value::String("winrm".into()))],
        ];
        let mut ps = PowerShell::new(Vec::new());
        ps.statements = statements;
        let r = s
            .invoke_powershell(ps, false)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        assert_eq!(r.output.len(), 7, "{:?}", r.output);
        assert_eq!(r.output[0], Value::String("Hello World".into()));
        assert_eq!(
            s.decrypt_secure_string(&r.output[1]).unwrap().as_str(),
            "abc"
        );
        assert_eq!(r.output[2], Value::String(unicode.into()));
        assert_eq!(r.output[3], Value::String("hi\"".into()));
        assert_eq!(
            r.output[4],
            Value::String("win-nnmu24vvkj0\\vagrant".into())
        );
        assert_eq!(r.output[5], Value::I32(123));
        let service = r.output[6].as_object().unwrap();
        assert_eq!(
            service.type_name(),
            Some("System.ServiceProcess.ServiceController")
        );
        assert_eq!(service.to_string.as_deref(), Some("winrm"));
        assert_eq!(
            service.get_str("DisplayName"),
            Some("Windows Remote Management (WS-Management)")
        );
        s.close().await.unwrap();
    }

    /// A host that never answers the key exchange: an error the user can read,
    /// and the session still closes.
    pub async fn key_exchange_without_an_answer_is_an_error(info: ConnectionInfo) {
        let mut s = open(&info).await;
        let e = s
            .exchange_key_with(pypsrp_exchange_key())
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("did not send the session key"),
            "{e}"
        );
        assert!(s.secure_string("x").is_err());
        s.close().await.unwrap();
    }

    /// A pipeline that outlasts the OperationTimeout: Windows answers the
    /// Receives with w:TimedOut faults (HTTP 500) until it is done; the client
    /// keeps receiving and loses nothing.
    pub async fn long_running_pipeline_across_receive_timeouts(info: ConnectionInfo) {
        let mut s = open(&info).await;
        let sleep = || vec![Command::new("Start-Sleep").parameter("Seconds", Value::I32(10))];
        let mut ps = PowerShell::new(Vec::new());
        ps.statements = vec![sleep(), vec![Command::script("echo hi")], sleep()];
        let r = s
            .invoke_powershell(ps, false)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(r.output, [Value::String("hi".into())]);
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        s.close().await.unwrap();
    }

    /// `$PSSenderInfo.ApplicationArguments` is what the client sent in
    /// INIT_RUNSPACEPOOL (New-PSSessionOption -ApplicationArguments).
    pub async fn application_arguments_reach_the_session(info: ConnectionInfo) {
        let args = psrp::types::PrimitiveDictionary(vec![(
            Value::String("test_var".into()),
            Value::String("abcdef12345".into()),
        )]);
        let opts = SessionOptions {
            application_arguments: Some(args.clone()),
            ..Default::default()
        };
        let mut s = PsSession::open(&info, opts, Box::new(NullHost))
            .await
            .unwrap();
        let r = s.run("$PSSenderInfo.ApplicationArguments").await.unwrap();
        assert_eq!(r.output.len(), 1);
        let back = psrp::types::PrimitiveDictionary::from_value(&r.output[0]).unwrap();
        assert_eq!(back, args);
        s.close().await.unwrap();
    }

    /// WINRS_NOPROFILE on the Create: the session runs without the user's
    /// profile (here the account's profile is the system one).
    pub async fn no_profile_session(info: ConnectionInfo) {
        let opts = SessionOptions {
            no_profile: true,
            ..Default::default()
        };
        let mut s = PsSession::open(&info, opts, Box::new(NullHost))
            .await
            .unwrap();
        let r = s.run("$env:USERPROFILE.ToUpperInvariant()").await.unwrap();
        assert_eq!(
            r.output,
            [Value::String(
                "C:\\WINDOWS\\SYSTEM32\\CONFIG\\SYSTEMPROFILE".into()
            )]
        );
        s.close().await.unwrap();
    }

    const RAW_UI_SCRIPT: &str = r#"$host.UI.RawUI.ForegroundColor
    $host.UI.RawUI.ForegroundColor = [System.ConsoleColor]::Green
    $host.UI.RawUI.ForegroundColor

    $host.UI.RawUI.BackgroundColor
    $host.UI.RawUI.BackgroundColor = [System.ConsoleColor]::Red
    $host.UI.RawUI.BackgroundColor

    $host.UI.RawUI.CursorPosition
    $host.UI.RawUI.CursorPosition = (New-Object -TypeName System.Management.Automation.Host.Coordinates -ArgumentList 11, 12)
    $host.UI.RawUI.CursorPosition

    $host.UI.RawUI.WindowPosition
    $host.UI.RawUI.WindowPosition = (New-Object -TypeName System.Management.Automation.Host.Coordinates -ArgumentList 13, 14)
    $host.UI.RawUI.WindowPosition

    $host.UI.RawUI.CursorSize
    $host.UI.RawUI.CursorSize = 25
    $host.UI.RawUI.CursorSize

    $host.UI.RawUI.BufferSize
    $host.UI.RawUI.BufferSize = (New-Object -TypeName System.Management.Automation.Host.Size -ArgumentList 8, 9)
    $host.UI.RawUI.BufferSize

    $host.UI.RawUI.WindowSize
    $host.UI.RawUI.WindowSize = (New-Object -TypeName System.Management.Automation.Host.Size -ArgumentList 8, 9)
    $host.UI.RawUI.WindowSize

    $host.UI.RawUI.WindowTitle
    $host.UI.RawUI.WindowTitle = "New Window Title"
    $host.UI.RawUI.WindowTitle

    $host.UI.RawUI.ReadKey()
    "#;

    /// `$host.UI.RawUI`: Windows answers the properties from the console
    /// state the client announced, tells the client each change, and asks it
    /// for a key.
    pub async fn raw_ui_state_and_read_key(info: ConnectionInfo) {
        use psrp::types::{Coordinates, KeyInfo, Size};
        let square = Size {
            width: 80,
            height: 80,
        };
        // What pypsrp's test host announced.
        let announced = HostDefaultData {
            foreground_color: 15,
            background_color: 9,
            cursor_position: Coordinates { x: 1, y: 2 },
            window_position: Coordinates { x: 3, y: 4 },
            cursor_size: 50,
            buffer_size: square,
            window_size: square,
            max_window_size: square,
            max_physical_window_size: square,
            window_title: "pypsrp window".into(),
        };
        let opts = SessionOptions {
            raw_ui: Some(announced.clone()),
            ..Default::default()
        };
        let mut s = PsSession::open(&info, opts, Box::new(InteractiveHost))
            .await
            .unwrap();
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = asked.clone();
        s.set_key_reader(Box::new(move |options| {
            log.lock().unwrap().push(options);
            Some(KeyInfo {
                virtual_key_code: 65,
                character: u16::from(b'a'),
                control_key_state: 0x80, // CapsLockOn
                key_down: true,
            })
        }));
        // The recorded script goes on with buffer calls after ReadKey.
        let script = format!(
            "{RAW_UI_SCRIPT}\n$host.UI.RawUI.FlushInputBuffer()\n\n{}",
            "$buffer_cell = New-Object -TypeName System.Management.Automation.Host.BufferCell -ArgumentList \"Z\", ([System.ConsoleColor]::Red), ([System.ConsoleColor]::Green), ([System.Management.Automation.Host.BufferCellType]::Complete)"
        );
        let r = s.run(&script).await.unwrap();
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        let shown: Vec<String> = r
            .output
            .iter()
            .map(|v| match v.as_object().and_then(|o| o.to_string.clone()) {
                Some(t) => t,
                None => text(v),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "White",
                "Green",
                "Blue",
                "Red",
                "1,2",
                "11,12",
                "3,4",
                "13,14",
                "50",
                "25",
                "80,80",
                "8,9",
                "80,80",
                "8,9",
                "pypsrp window",
                "New Window Title",
                "65,a,CapsLockOn,True",
            ]
        );
        // ReadKey() without arguments is IncludeKeyDown (4).
        assert_eq!(*asked.lock().unwrap(), [4]);
        let now = s.raw_ui().unwrap();
        assert_eq!(
            *now,
            HostDefaultData {
                foreground_color: 10,
                background_color: 12,
                cursor_position: Coordinates { x: 11, y: 12 },
                window_position: Coordinates { x: 13, y: 14 },
                cursor_size: 25,
                buffer_size: Size {
                    width: 8,
                    height: 9
                },
                window_size: Size {
                    width: 8,
                    height: 9
                },
                window_title: "New Window Title".into(),
                ..announced
            }
        );
        s.close().await.unwrap();
        // The ReadKey answer (PIPELINE_HOST_RESPONSE) goes to the pipeline: our
        // Send names its CommandId, as [MS-PSRP] 3.1.5.3.5 requires of a Send
        // targeted to a pipeline; the pypsrp of 2018 sent it to the shell.
    }

    /// Get-Command through GET_COMMAND_METADATA: by name pattern, by command
    /// type, and by module.
    pub async fn command_metadata(info: ConnectionInfo) {
        use psrp::messages::GetCommandMetadata;
        use psrp::types::CommandTypes;
        let mut s = open(&info).await;
        let ask = |names: &[&str], types: i32, namespace: Option<Vec<String>>| GetCommandMetadata {
            names: names.iter().map(|n| n.to_string()).collect(),
            command_type: CommandTypes(types),
            namespace,
            argument_list: None,
        };
        let requests = [
            ask(&["new-pssession*"], 511, None),
            ask(&["new-*"], 2, None),
            ask(
                &["Get-*"],
                511,
                Some(vec!["Microsoft.WSMan.Management".into()]),
            ),
        ];
        let expected: [&[&str]; 3] = [
            &[
                "New-PSSession",
                "New-PSSessionConfigurationFile",
                "New-PSSessionOption",
            ],
            &["New-Guid", "New-TemporaryFile"],
            &["Get-WSManCredSSP", "Get-WSManInstance"],
        ];
        for (request, names) in requests.into_iter().zip(expected) {
            let r = s
                .get_command_metadata(request)
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            assert_eq!(r.state, Some(PSInvocationState::Completed));
            let (count, commands) = r.output.split_first().unwrap();
            let count = count.as_object().unwrap().get_i64("Count");
            assert_eq!(count, Some(names.len() as i64));
            let got: Vec<&str> = commands
                .iter()
                .map(|c| c.as_object().unwrap().get_str("Name").unwrap())
                .collect();
            assert_eq!(got, names);
        }
        s.close().await.unwrap();
    }

    /// The pool's size while open: GET_AVAILABLE_RUNSPACES, SET_MAX_RUNSPACES
    /// and SET_MIN_RUNSPACES, accepted and refused ([MS-PSRP] 3.1.4.2).
    pub async fn runspace_pool_sizes(info: ConnectionInfo) {
        let mut s = open(&info).await;
        assert_eq!(s.get_available_runspaces().await.unwrap(), 1);
        assert!(s.set_max_runspaces(5).await.unwrap());
        assert_eq!(s.max_runspaces(), 5);
        assert_eq!(s.get_available_runspaces().await.unwrap(), 5);
        assert!(s.set_min_runspaces(2).await.unwrap());
        assert_eq!(s.min_runspaces(), 2);
        assert!(!s.set_min_runspaces(-1).await.unwrap(), "refused");
        assert_eq!(s.min_runspaces(), 2, "unchanged when refused");
        assert!(!s.set_max_runspaces(-1).await.unwrap(), "refused");
        assert_eq!(s.max_runspaces(), 5);
        s.close().await.unwrap();
    }

    /// RESET_RUNSPACE_STATE ([MS-PSRP] 3.1.4.13): after it the history is
    /// empty.
    pub async fn reset_runspace_state(info: ConnectionInfo) {
        let mut s = open(&info).await;
        let r = s.run("echo hi").await.unwrap();
        assert_eq!(r.output, [Value::String("hi".into())]);
        assert!(s.reset_runspace_state().await.unwrap());
        let r = s
            .invoke_powershell(PowerShell::new(vec![Command::new("Get-History")]), false)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert!(r.output.is_empty());
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        s.close().await.unwrap();
    }

    /// A host that cannot reset the runspace state says so.
    pub async fn reset_runspace_state_refused(info: ConnectionInfo) {
        let mut s = open(&info).await;
        assert!(!s.reset_runspace_state().await.unwrap(), "refused");
        s.close().await.unwrap();
    }

    /// A nested pipeline runs while another one is busy (`$host.EnterNestedPrompt`
    /// style, IsNested), sees its variables, and the busy one is stopped.
    pub async fn nested_pipeline_beside_a_running_one_then_stop(info: ConnectionInfo) {
        let mut s = open(&info).await;
        let busy = s.start("$i = 0; while ($true) { $i++ }").await.unwrap();
        let mut nested = PowerShell::new(vec![
            Command::new("Get-Variable").parameter("Name", Value::String("i".into()))
        ]);
        nested.is_nested = true;
        let r = s
            .invoke_powershell(nested, false)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        assert_eq!(r.output.len(), 1);
        let variable = r.output[0].as_object().unwrap();
        assert_eq!(
            variable.type_name(),
            Some("System.Management.Automation.PSVariable")
        );
        assert_eq!(variable.get_str("Name"), Some("i"));
        assert_eq!(s.pipeline_state(busy), Some(PSInvocationState::Running));
        s.stop(busy).await.unwrap();
        assert_eq!(s.pipeline_state(busy), Some(PSInvocationState::Stopping));
        s.close().await.unwrap();
    }

    /// AddToHistory: Get-History lists the pipeline only when it asked to be
    /// recorded.
    pub async fn history_only_when_asked(info: ConnectionInfo, add_to_history: bool) {
        let mut s = open(&info).await;
        let ps = PowerShell::new(vec![Command::script("Write-Output 1; Write-Output 2")]);
        let options = InvokeOptions {
            add_to_history,
            ..Default::default()
        };
        let r = s
            .invoke_with(ps, options)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(r.output, [Value::I32(1), Value::I32(2)]);
        let r = s.run("Get-History").await.unwrap();
        let lines: Vec<&str> = r
            .output
            .iter()
            .map(|h| h.as_object().unwrap().get_str("CommandLine").unwrap())
            .collect();
        if add_to_history {
            assert_eq!(lines, ["Write-Output 1; Write-Output 2"]);
        } else {
            assert!(lines.is_empty(), "{lines:?}");
        }
        s.close().await.unwrap();
    }

    /// RemoteStreamOptions: without AddInvocationInfo Windows sends the records
    /// bare; with it, each says where it was written.
    pub async fn records_with_and_without_invocation_info(
        info: ConnectionInfo,
        invocation_info: bool,
    ) {
        let mut s = open(&info).await;
        let ps = PowerShell::new(vec![Command::script(ALL_STREAMS)]);
        let options = InvokeOptions {
            invocation_info,
            ..Default::default()
        };
        let r = s
            .invoke_with(ps, options)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(r.output, [Value::String("output stream".into())]);
        for record in r.debug.iter().chain(&r.verbose).chain(&r.warnings) {
            assert_eq!(record.serialize_invocation_info, invocation_info);
        }
        assert_eq!(r.debug[0].message, "debug stream");
        assert_eq!(r.errors[0].message(), "error stream");
        s.close().await.unwrap();
    }

    /// Every stream merged into output (`*>&1`) in one statement, none in the
    /// next: the records arrive as output objects, then on their own streams.
    pub async fn merged_streams_arrive_as_output(info: ConnectionInfo) {
        use psrp::types::PipelineResultTypes as R;
        let mut s = open(&info).await;
        let mut merged = Command::script(ALL_STREAMS);
        merged.merge_my_result = R::Error;
        merged.merge_to_result = R::Output;
        merged.merge_previous_results = R::from_i32(3).unwrap(); // Output, Error
        for m in [
            &mut merged.merge_error,
            &mut merged.merge_warning,
            &mut merged.merge_verbose,
            &mut merged.merge_debug,
            &mut merged.merge_information,
        ] {
            *m = Some(R::Output);
        }
        let mut ps = PowerShell::new(Vec::new());
        ps.statements = vec![vec![merged], vec![Command::script(ALL_STREAMS)]];
        let r = s
            .invoke_powershell(ps, false)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let kinds: Vec<String> = r
            .output
            .iter()
            .map(|v| match type_name(v) {
                Some(t) => t.rsplit('.').next().unwrap().to_string(),
                None => text(v),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "DebugRecord",
                "VerboseRecord",
                "ErrorRecord",
                "output stream",
                "WarningRecord",
                "InformationRecord",
                "output stream",
            ]
        );
        assert_eq!(
            (
                r.debug.len(),
                r.verbose.len(),
                r.errors.len(),
                r.warnings.len(),
                r.information.len()
            ),
            (1, 1, 1, 1, 1)
        );
        s.close().await.unwrap();
    }

    /// A host with a small MaxEnvelopeSize (32 KiB): a 30 KB CREATE_PIPELINE is
    /// cut into a Command and a Send, and 30,000 characters of output come
    /// back in pieces that are put together.
    pub async fn small_envelopes_fragment_the_pipeline_both_ways(mut info: ConnectionInfo) {
        info.options.max_envelope_size = 32_768;
        let mut s = open(&info).await;
        let big = "a".repeat(30_000);
        let script = format!(
            "begin {{\n    $big_var = '{big}'\n}} process {{\n    $input\n}} end {{\n    $big_var[0..19999] -join \"\"\n    $big_var[20000..30000] -join \"\"\n}}"
        );
        let ps = PowerShell::new(vec![Command::script(script)]);
        let mut p = s.invoke_powershell(ps, true).await.unwrap();
        p.send_all_input([Value::String("input".into())])
            .await
            .unwrap();
        let r = p.collect().await.unwrap();
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        assert_eq!(r.output.len(), 3);
        assert_eq!(r.output[0], Value::String("input".into()));
        assert_eq!(r.output[1], Value::String("a".repeat(20_000)));
        assert_eq!(r.output[2], Value::String("a".repeat(10_000)));
        s.close().await.unwrap();
    }

    /// Asking the host how a session is: Connected, then Disconnected (it
    /// was disconnected elsewhere).
    pub async fn host_state_of_a_session(info: ConnectionInfo) {
        let mut s = open(&info).await;
        let shell = s.host_state().await.unwrap();
        assert_eq!(shell.state.as_deref(), Some("Connected"));
        assert_eq!(
            shell.shell_id.parse::<uuid::Uuid>().unwrap(),
            s.instance_id()
        );
        let shell = s.host_state().await.unwrap();
        assert_eq!(shell.state.as_deref(), Some("Disconnected"));
    }

    /// Asking the host how a session is: Connected, then gone (the host
    /// answers w:InvalidSelectors).
    pub async fn host_state_of_a_removed_session(info: ConnectionInfo) {
        let mut s = open(&info).await;
        assert_eq!(
            s.host_state().await.unwrap().state.as_deref(),
            Some("Connected")
        );
        let e = s.host_state().await.unwrap_err();
        assert!(matches!(e, pssession::Error::SessionNotFound(_)), "{e:?}");
    }

    /// Failures on the way do not leave the session unusable: a fault to a Get
    /// is reported and the session still closes.
    pub async fn host_state_fault_is_reported(info: ConnectionInfo) {
        let mut s = open(&info).await;
        let e = s.host_state().await.unwrap_err();
        assert!(e.to_string().contains("invalid timeout field"), "{e}");
        s.close().await.unwrap();
    }

    /// A connection the host drops without answering is an error, not a hang.
    pub async fn host_state_dropped_connection_is_an_error(info: ConnectionInfo) {
        let mut s = open(&info).await;
        assert_eq!(
            s.host_state().await.unwrap().state.as_deref(),
            Some("Connected")
        );
        assert!(s.host_state().await.is_err());
    }

    /// A script whose output is the given strings, without errors.
    pub async fn script_prints(info: ConnectionInfo, script: &str, expected: &[&str]) {
        let mut s = open(&info).await;
        let r = s.run(script).await.unwrap();
        assert_eq!(texts(&r.output), expected);
        assert!(
            r.output.iter().all(|v| matches!(v, Value::String(_))),
            "{:?}",
            r.output
        );
        assert!(!r.had_errors());
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        s.close().await.unwrap();
    }
}
