//! The client RunspacePool state machine driven by hand-made server
//! messages: the states, events, streams and errors a transport relies on.

use psrp::clixml::Value;
use psrp::crypto::{encrypt_session_key, ExchangeKey, SessionKey};
use psrp::fragment::{Fragment, Reassembler};
use psrp::message::{Destination, Message, MessageType};
use psrp::messages::{
    ApplicationPrivateData, Availability, Body, CreatePipeline, EncryptedSessionKey, HostCall,
    PipelineStateMessage, RunspaceAvailability, RunspacePoolInitData, RunspacePoolStateMessage,
    SessionCapability,
};
use psrp::types::{
    Command, ErrorRecord, HostMethodIdentifier, InformationalRecord, PSInvocationState, PowerShell,
    RunspacePoolState,
};
use psrp::{Error, Event, RunspacePool, RunspacePoolConfig, Stream};
use uuid::Uuid;

/// One server message as the bytes of an `rsp:Stream`. The server numbers
/// its messages with one counter (ObjectIds never repeat; the opened pool
/// has seen 1 to 3).
fn from_server(rpid: Uuid, pid: Option<Uuid>, body: Body, object_id: u64) -> Vec<u8> {
    let msg = Message {
        destination: Destination::Client,
        message_type: body.message_type(),
        rpid,
        pid,
        data: body.encode(),
    }
    .encode();
    let mut out = Vec::new();
    Fragment {
        object_id,
        fragment_id: 0,
        start: true,
        end: true,
        data: &msg,
    }
    .encode_into(&mut out);
    out
}

/// Decodes what the client sent.
fn client_messages(bytes: &[u8]) -> Vec<(MessageType, Option<Uuid>, Body)> {
    let mut r = Reassembler::default();
    r.feed(bytes)
        .unwrap()
        .into_iter()
        .map(|(_, raw)| {
            let m = Message::decode(&raw).unwrap();
            assert_eq!(m.destination, Destination::Server);
            let body = Body::decode(m.message_type, &m.data).unwrap();
            (m.message_type, m.pid, body)
        })
        .collect()
}

fn events(pool: &mut RunspacePool) -> Vec<Event> {
    std::iter::from_fn(|| pool.next_event()).collect()
}

fn opened_pool() -> RunspacePool {
    open(RunspacePool::new(RunspacePoolConfig::default()))
}

/// Drives `pool` to Opened with a server's answers.
fn open(mut pool: RunspacePool) -> RunspacePool {
    pool.open().unwrap();
    let creation = pool.creation_payload(153_600).unwrap();
    let sent = client_messages(&creation);
    assert_eq!(
        sent.iter().map(|m| m.0).collect::<Vec<_>>(),
        [
            MessageType::SESSION_CAPABILITY,
            MessageType::INIT_RUNSPACEPOOL
        ]
    );
    let id = pool.id();
    let mut wire = from_server(
        id,
        None,
        Body::SessionCapability(SessionCapability::default()),
        1,
    );
    wire.extend(from_server(
        id,
        None,
        Body::ApplicationPrivateData(ApplicationPrivateData::default()),
        2,
    ));
    wire.extend(from_server(
        id,
        None,
        Body::RunspacePoolState(RunspacePoolStateMessage {
            state: RunspacePoolState::Opened,
            error: None,
        }),
        3,
    ));
    pool.receive_data(&wire).unwrap();
    assert_eq!(pool.state(), RunspacePoolState::Opened);
    events(&mut pool);
    pool
}

#[test]
fn open_produces_the_creation_payload_and_reaches_opened() {
    let mut pool = RunspacePool::new(RunspacePoolConfig::default());
    assert_eq!(pool.state(), RunspacePoolState::BeforeOpen);
    pool.open().unwrap();
    assert_eq!(pool.state(), RunspacePoolState::Opening);
    // Too small for both messages: a clear error, not a partial payload.
    assert!(matches!(pool.creation_payload(100), Err(Error::Misuse(_))));
    let mut pool = opened_pool();
    assert!(pool.data_to_send(1000).unwrap().is_none());
    assert!(matches!(
        pool.open(),
        Err(Error::InvalidState { ref current, ref expected, .. })
            if current == "Opened" && expected == "BeforeOpen"
    ));
}

#[test]
fn calls_in_the_wrong_state_name_both_states() {
    let mut pool = RunspacePool::new(RunspacePoolConfig::default());
    let err = pool
        .create_pipeline(CreatePipeline::new(PowerShell::new(vec![Command::new(
            "Get-Date",
        )])))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot create a pipeline: the state is BeforeOpen, it must be Opened"
    );
    assert!(pool.get_available_runspaces().is_err());
    assert!(pool.begin_disconnect().is_err());
}

#[test]
fn pipeline_output_records_and_state_become_events() {
    let mut pool = opened_pool();
    let id = pool.id();
    let mut create = CreatePipeline::new(PowerShell::new(vec![
        Command::new("Get-Item").parameter("Path", Value::String("C:\\".into()))
    ]));
    create.no_input = false;
    let pid = pool.create_pipeline(create).unwrap();
    pool.send_input(pid, Value::I32(1)).unwrap();
    pool.close_input(pid).unwrap();
    assert!(pool.send_input(pid, Value::I32(2)).is_err());
    let out = pool.data_to_send(100_000).unwrap().unwrap();
    assert_eq!(out.pipeline_id, Some(pid));
    assert_eq!(out.stream, Stream::Default);
    let sent = client_messages(&out.data);
    assert_eq!(
        sent.iter().map(|m| m.0).collect::<Vec<_>>(),
        [
            MessageType::CREATE_PIPELINE,
            MessageType::PIPELINE_INPUT,
            MessageType::END_OF_PIPELINE_INPUT
        ]
    );
    assert!(sent.iter().all(|m| m.1 == Some(pid)));
    events(&mut pool);

    let mut wire = from_server(
        id,
        Some(pid),
        Body::PipelineOutput(Value::String("a".into())),
        4,
    );
    wire.extend(from_server(
        id,
        Some(pid),
        Body::WarningRecord(InformationalRecord::new("Warning", "careful")),
        5,
    ));
    wire.extend(from_server(
        id,
        Some(pid),
        Body::ErrorRecord(ErrorRecord::new("boom", "Boom,Id", 7)),
        6,
    ));
    wire.extend(from_server(
        id,
        Some(pid),
        Body::PipelineState(PipelineStateMessage {
            state: PSInvocationState::Completed,
            error: None,
        }),
        7,
    ));
    // Split anywhere: the pool reassembles.
    for chunk in wire.chunks(7) {
        pool.receive_data(chunk).unwrap();
    }
    let ev = events(&mut pool);
    assert_eq!(ev.len(), 4, "{ev:?}");
    assert_eq!(
        ev[0],
        Event::Output {
            pipeline_id: pid,
            value: Value::String("a".into())
        }
    );
    assert!(matches!(&ev[1], Event::Warning { record, .. } if record.message == "careful"));
    assert!(
        matches!(&ev[2], Event::Error { record, .. } if record.message() == "boom"
        && record.fully_qualified_error_id == "Boom,Id")
    );
    assert!(matches!(
        &ev[3],
        Event::PipelineState {
            state: PSInvocationState::Completed,
            ..
        }
    ));
    assert_eq!(pool.pipeline_state(pid), Some(PSInvocationState::Completed));
    pool.close_pipeline(pid).unwrap();
    assert_eq!(pool.pipeline_state(pid), None);
}

#[test]
fn host_calls_are_answered_on_the_prompt_response_stream() {
    let mut pool = opened_pool();
    let id = pool.id();
    let pid = pool
        .create_pipeline(CreatePipeline::new(PowerShell::new(vec![Command::new(
            "Read-Host",
        )])))
        .unwrap();
    pool.data_to_send(100_000).unwrap();
    events(&mut pool);
    let call = HostCall {
        ci: 3,
        method: HostMethodIdentifier::ReadLine,
        parameters: vec![],
    };
    pool.receive_data(&from_server(
        id,
        Some(pid),
        Body::PipelineHostCall(call.clone()),
        4,
    ))
    .unwrap();
    let ev = events(&mut pool);
    assert_eq!(
        ev,
        vec![Event::HostCall {
            pipeline_id: Some(pid),
            call
        }]
    );
    assert!(pool.host_response(4, Ok(None)).is_err());
    pool.host_response(3, Ok(Some(Value::String("typed".into()))))
        .unwrap();
    let out = pool.data_to_send(100_000).unwrap().unwrap();
    assert_eq!(out.stream, Stream::PromptResponse);
    assert_eq!(out.pipeline_id, Some(pid));
    let sent = client_messages(&out.data);
    match &sent[0].2 {
        Body::PipelineHostResponse(r) => {
            assert_eq!(r.ci, 3);
            assert_eq!(r.method, HostMethodIdentifier::ReadLine);
            assert_eq!(r.result, Some(Value::String("typed".into())));
        }
        other => panic!("{other:?}"),
    }
    // Answered once only.
    assert!(pool.host_response(3, Ok(None)).is_err());
}

#[test]
fn stop_disconnect_reconnect_and_close_follow_the_spec_states() {
    let mut pool = opened_pool();
    let id = pool.id();
    let a = pool
        .create_pipeline(CreatePipeline::new(PowerShell::new(vec![Command::new(
            "Start-Sleep",
        )])))
        .unwrap();
    let b = pool
        .create_pipeline(CreatePipeline::new(PowerShell::new(vec![Command::new(
            "Get-Date",
        )])))
        .unwrap();
    while pool.data_to_send(100_000).unwrap().is_some() {}
    pool.stop(a).unwrap();
    assert_eq!(pool.pipeline_state(a), Some(PSInvocationState::Stopping));
    assert!(
        pool.data_to_send(100_000).unwrap().is_none(),
        "stop sends no PSRP message"
    );
    pool.receive_data(&from_server(
        id,
        Some(a),
        Body::PipelineState(PipelineStateMessage {
            state: PSInvocationState::Stopped,
            error: Some(ErrorRecord::new(
                "The pipeline has been stopped.",
                "PipelineStopped",
                14,
            )),
        }),
        4,
    ))
    .unwrap();
    assert_eq!(pool.pipeline_state(a), Some(PSInvocationState::Stopped));

    pool.begin_disconnect().unwrap();
    assert_eq!(pool.state(), RunspacePoolState::Disconnecting);
    pool.disconnected().unwrap();
    assert_eq!(pool.state(), RunspacePoolState::Disconnected);
    assert_eq!(
        pool.pipeline_state(b),
        Some(PSInvocationState::Disconnected)
    );
    assert!(pool
        .create_pipeline(CreatePipeline::new(PowerShell::new(vec![])))
        .is_err());
    pool.reconnected().unwrap();
    assert_eq!(pool.state(), RunspacePoolState::Opened);
    assert_eq!(pool.pipeline_state(b), Some(PSInvocationState::Running));
    pool.begin_close().unwrap();
    pool.closed().unwrap();
    assert_eq!(pool.state(), RunspacePoolState::Closed);
}

#[test]
fn connect_from_a_new_client_uses_connect_xml_and_init_data() {
    let rpid = Uuid::new_v4();
    let mut pool = RunspacePool::with_id(rpid, RunspacePoolConfig::default());
    pool.connect().unwrap();
    assert_eq!(pool.state(), RunspacePoolState::Connecting);
    let connect_xml = pool.connect_payload(153_600).unwrap();
    let sent = client_messages(&connect_xml);
    assert_eq!(
        sent.iter().map(|m| m.0).collect::<Vec<_>>(),
        [
            MessageType::SESSION_CAPABILITY,
            MessageType::CONNECT_RUNSPACEPOOL
        ]
    );
    let mut response = from_server(
        rpid,
        None,
        Body::SessionCapability(SessionCapability::default()),
        1,
    );
    response.extend(from_server(
        rpid,
        None,
        Body::RunspacePoolInitData(RunspacePoolInitData {
            min_runspaces: 1,
            max_runspaces: 4,
        }),
        2,
    ));
    pool.receive_data(&response).unwrap();
    assert_eq!(pool.state(), RunspacePoolState::Opened);
    assert_eq!(pool.max_runspaces(), 4);
    let running = Uuid::new_v4();
    pool.adopt_pipeline(running).unwrap();
    pool.receive_data(&from_server(
        rpid,
        Some(running),
        Body::PipelineOutput(Value::I32(5)),
        3,
    ))
    .unwrap();
    assert!(events(&mut pool).contains(&Event::Output {
        pipeline_id: running,
        value: Value::I32(5)
    }));
}

#[test]
fn set_max_runspaces_is_applied_when_the_server_agrees() {
    let mut pool = opened_pool();
    let id = pool.id();
    let ci = pool.set_max_runspaces(5).unwrap().unwrap();
    let out = pool.data_to_send(10_000).unwrap().unwrap();
    assert_eq!(
        client_messages(&out.data)[0].0,
        MessageType::SET_MAX_RUNSPACES
    );
    assert_eq!(pool.max_runspaces(), 1);
    pool.receive_data(&from_server(
        id,
        None,
        Body::RunspaceAvailability(RunspaceAvailability {
            response: Availability::Success(true),
            ci,
        }),
        4,
    ))
    .unwrap();
    assert_eq!(pool.max_runspaces(), 5);
    // An answer to a call never made is the server's fault.
    let err = pool
        .receive_data(&from_server(
            id,
            None,
            Body::RunspaceAvailability(RunspaceAvailability {
                response: Availability::Count(1),
                ci: 99,
            }),
            5,
        ))
        .unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err}");
}

#[test]
fn key_exchange_decrypts_the_session_key_and_secure_strings_round_trip() {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let pem = include_str!("data/exchange_key.pem");
    let private = rsa::RsaPrivateKey::from_pkcs1_pem(pem).unwrap();
    let mut pool = opened_pool();
    let id = pool.id();
    assert!(pool.secure_string("x").is_err());
    pool.exchange_key_with(ExchangeKey::from_private_key(private).unwrap())
        .unwrap();
    let out = pool.data_to_send(10_000).unwrap().unwrap();
    let Body::PublicKey(pk) = &client_messages(&out.data)[0].2 else {
        panic!("not PUBLIC_KEY")
    };
    use base64::Engine;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(&pk.public_key)
        .unwrap();
    assert_eq!(blob.len(), 276);
    assert_eq!(&blob[8..12], b"RSA1");
    let server_key = SessionKey::generate();
    let encrypted = encrypt_session_key(&blob, &server_key).unwrap();
    pool.receive_data(&from_server(
        id,
        None,
        Body::EncryptedSessionKey(EncryptedSessionKey {
            encrypted_session_key: base64::engine::general_purpose::STANDARD.encode(encrypted),
        }),
        4,
    ))
    .unwrap();
    assert_eq!(events(&mut pool), vec![Event::KeyExchanged]);
    let ss = pool.secure_string("hunter2").unwrap();
    let Value::SecureString(cipher) = &ss else {
        panic!()
    };
    assert_eq!(&*server_key.decrypt(cipher).unwrap(), "hunter2");
    let back = Value::SecureString(server_key.encrypt("from server"));
    assert_eq!(&*pool.decrypt_secure_string(&back).unwrap(), "from server");
}

#[test]
fn hostile_or_misdirected_data_is_an_error_not_a_panic() {
    let mut pool = opened_pool();
    let other = Uuid::new_v4();
    let err = pool
        .receive_data(&from_server(other, None, Body::PublicKeyRequest, 4))
        .unwrap_err();
    assert!(matches!(err, Error::Protocol(_)));
    let unknown = Uuid::new_v4();
    let err = pool
        .receive_data(&from_server(
            pool.id(),
            Some(unknown),
            Body::PipelineOutput(Value::Null),
            5,
        ))
        .unwrap_err();
    assert!(err.to_string().contains("unknown pipeline"), "{err}");
    let mut bad = vec![0u8; 21];
    bad[16] = 3;
    bad[17..21].copy_from_slice(&4u32.to_be_bytes());
    bad.extend_from_slice(b"abcd");
    assert!(pool.receive_data(&bad).is_err());
}

/// Everything the client sends, for a pool whose randomness is seeded:
/// its id, a pipeline's id, and the PUBLIC_KEY of a key exchange.
fn seeded_run(seed: u64) -> (Uuid, Uuid, Vec<u8>) {
    use rand::SeedableRng;
    let random = Box::new(rand::rngs::StdRng::seed_from_u64(seed));
    let mut pool = open(RunspacePool::with_random(
        RunspacePoolConfig::default(),
        random,
    ));
    let pipeline = CreatePipeline::new(PowerShell::new(vec![Command::script("1")]));
    let pid = pool.create_pipeline(pipeline).unwrap();
    pool.exchange_key().unwrap();
    let mut sent = Vec::new();
    while let Some(out) = pool.data_to_send(153_600).unwrap() {
        sent.extend(out.data);
    }
    (pool.id(), pid, sent)
}

#[test]
fn an_injected_random_source_makes_ids_and_keys_repeatable() {
    let a = seeded_run(42);
    assert_eq!(a, seeded_run(42), "same seed, same bytes on the wire");
    let b = seeded_run(43);
    assert_ne!(a.0, b.0);
    assert_ne!(a.1, b.1);
    assert_ne!(a.2, b.2);
}

#[test]
fn base64_input_is_the_message_of_the_same_string_and_buffers_are_reused() {
    let mut pool = opened_pool();
    let mut create = CreatePipeline::new(PowerShell::new(vec![Command::new("Out-Null")]));
    create.no_input = false;
    let pid = pool.create_pipeline(create).unwrap();
    pool.data_to_send(100_000).unwrap().unwrap();
    let drain = |pool: &mut RunspacePool| {
        let out = pool.data_to_send(100_000).unwrap().unwrap();
        assert!(pool.data_to_send(100_000).unwrap().is_none());
        out.data
    };
    let big = (0..=255u8).cycle().take(50_000).collect::<Vec<u8>>();
    for bytes in [&b""[..], b"a", b"ab", b"abc", &[0xff; 1000][..], &big[..]] {
        let text = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
        pool.send_input(pid, Value::String(text.clone())).unwrap();
        let plain = drain(&mut pool);
        pool.send_input_base64(pid, bytes).unwrap();
        let fast = drain(&mut pool);
        // The same fragment but for its ObjectId (the first 8 bytes).
        assert_eq!(plain[8..], fast[8..], "{} bytes", bytes.len());
        let sent = client_messages(&fast);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, MessageType::PIPELINE_INPUT);
        assert_eq!(sent[0].2, Body::PipelineInput(Value::String(text)));
        // A packet given back is the buffer of the next one.
        let at = fast.as_ptr();
        pool.recycle(fast);
        pool.send_input(pid, Value::I32(7)).unwrap();
        let again = drain(&mut pool);
        assert_eq!(again.as_ptr(), at, "the packet given back was not reused");
        assert_eq!(
            client_messages(&again)[0].2,
            Body::PipelineInput(Value::I32(7))
        );
    }
    pool.close_input(pid).unwrap();
    assert!(pool.send_input_base64(pid, b"late").is_err());
}
