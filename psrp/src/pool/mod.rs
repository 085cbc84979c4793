//! The client RunspacePool ([MS-PSRP] 3.1): the state machine that opens,
//! connects, runs pipelines on and closes one pool, without I/O.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use std::collections::HashMap;

use uuid::Uuid;

mod events;
mod receive;

use events::EventQueue;

use crate::clixml::Value;
use crate::crypto::{ExchangeKey, SessionKey};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::fragment::{Outgoing, Packer, Reassembler, Stream, DEFAULT_MAX_BUFFERED};
use crate::message::{Destination, Message};
use crate::messages::{
    Body, CallId, ConnectRunspacePool, CreatePipeline, GetCommandMetadata, HostResponse,
    InitRunspacePool, PublicKey, SessionCapability, SetRunspaces,
};
use crate::pipeline::Pipeline;
use crate::random::{self, RandomSource};
use crate::types::{
    ApartmentState, ErrorRecord, HostInfo, HostMethodIdentifier, PSInvocationState,
    PSThreadOptions, PrimitiveDictionary, RunspacePoolState,
};

/// How a client RunspacePool is set up ([MS-PSRP] 2.2.2.2).
#[derive(Debug, Clone)]
pub struct RunspacePoolConfig {
    /// MinRunspaces (default 1).
    pub min_runspaces: i32,
    /// MaxRunspaces (default 1).
    pub max_runspaces: i32,
    /// PSThreadOptions (default Default).
    pub thread_options: PSThreadOptions,
    /// ApartmentState (default Unknown).
    pub apartment_state: ApartmentState,
    /// The client's host (default: none).
    pub host_info: HostInfo,
    /// ApplicationArguments (default none).
    pub application_arguments: Option<PrimitiveDictionary>,
    /// Our SESSION_CAPABILITY (default protocol 2.3).
    pub capability: SessionCapability,
    /// The most bytes held for incomplete incoming messages (default 64 MiB).
    pub max_buffered: usize,
}

impl Default for RunspacePoolConfig {
    fn default() -> Self {
        RunspacePoolConfig {
            min_runspaces: 1,
            max_runspaces: 1,
            thread_options: PSThreadOptions::Default,
            apartment_state: ApartmentState::Unknown,
            host_info: HostInfo::none(),
            application_arguments: None,
            capability: SessionCapability::default(),
            max_buffered: DEFAULT_MAX_BUFFERED,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum PendingCall {
    SetMax(i32),
    SetMin(i32),
    GetAvailable,
    Reset,
}

#[derive(Debug)]
enum KeyState {
    None,
    Requested(Box<ExchangeKey>),
    Ready(SessionKey),
}

/// A client RunspacePool ([MS-PSRP] 3.1.1.2): commands queue messages, the
/// transport drains them with [`data_to_send`](Self::data_to_send), feeds
/// what it receives to [`receive_data`](Self::receive_data) and polls
/// [`next_event`](Self::next_event).
#[derive(Debug)]
pub struct RunspacePool {
    id: Uuid,
    state: RunspacePoolState,
    config: RunspacePoolConfig,
    their_capability: Option<SessionCapability>,
    application_private_data: Option<PrimitiveDictionary>,
    pipelines: HashMap<Uuid, Pipeline>,
    packer: Packer,
    reassembler: Reassembler,
    events: EventQueue,
    next_ci: i64,
    pending: HashMap<i64, PendingCall>,
    host_calls: HashMap<i64, (Option<Uuid>, HostMethodIdentifier)>,
    key: KeyState,
    exchange_key: Option<Box<ExchangeKey>>,
    random: RandomSource,
}

impl RunspacePool {
    /// A pool in state BeforeOpen with a new random id.
    pub fn new(config: RunspacePoolConfig) -> Self {
        Self::with_random(config, random::os())
    }

    /// A pool in state BeforeOpen whose ids and keys come from `random`
    /// (see [`crate::random`]): a seeded source makes a run repeatable.
    pub fn with_random(config: RunspacePoolConfig, mut random: RandomSource) -> Self {
        let id = random::uuid(&mut *random);
        let mut pool = Self::with_id(id, config);
        pool.random = random;
        pool
    }

    /// A pool with a known id: the RPID, which is also the WS-Man ShellId.
    /// Use it to connect to a disconnected pool ([MS-PSRP] 3.1.4.10).
    pub fn with_id(id: Uuid, config: RunspacePoolConfig) -> Self {
        RunspacePool {
            id,
            state: RunspacePoolState::BeforeOpen,
            reassembler: Reassembler::new(config.max_buffered),
            config,
            their_capability: None,
            application_private_data: None,
            pipelines: HashMap::new(),
            packer: Packer::new(),
            events: EventQueue::default(),
            next_ci: 1,
            pending: HashMap::new(),
            host_calls: HashMap::new(),
            key: KeyState::None,
            exchange_key: None,
            random: random::os(),
        }
    }

    /// The RunspacePool id (RPID, [MS-PSRP] 2.2.1), also the WS-Man ShellId.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The current state ([MS-PSRP] 3.1.1.2.2).
    pub fn state(&self) -> RunspacePoolState {
        self.state
    }

    /// MinRunspaces as last agreed.
    pub fn min_runspaces(&self) -> i32 {
        self.config.min_runspaces
    }

    /// MaxRunspaces as last agreed.
    pub fn max_runspaces(&self) -> i32 {
        self.config.max_runspaces
    }

    /// The server's SESSION_CAPABILITY, once received.
    pub fn their_capability(&self) -> Option<&SessionCapability> {
        self.their_capability.as_ref()
    }

    /// APPLICATION_PRIVATE_DATA, once received.
    pub fn application_private_data(&self) -> Option<&PrimitiveDictionary> {
        self.application_private_data.as_ref()
    }

    /// The state of a pipeline of this pool.
    pub fn pipeline_state(&self, pipeline_id: Uuid) -> Option<PSInvocationState> {
        self.pipelines.get(&pipeline_id).map(|p| p.state)
    }

    /// The ids of the pipelines in the pipeline table.
    pub fn pipeline_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.pipelines.keys().copied()
    }

    /// Whether the session key is ready for SecureStrings.
    pub fn has_session_key(&self) -> bool {
        matches!(self.key, KeyState::Ready(_))
    }

    fn expect(&self, action: &'static str, allowed: &[RunspacePoolState]) -> Result<()> {
        if allowed.contains(&self.state) {
            return Ok(());
        }
        let expected: Vec<&dyn std::fmt::Debug> =
            allowed.iter().map(|s| s as &dyn std::fmt::Debug).collect();
        Err(Error::state(action, self.state, &expected))
    }

    fn set_state(&mut self, state: RunspacePoolState, error: Option<ErrorRecord>) {
        if self.state != state || error.is_some() {
            self.state = state;
            self.events
                .push_back(Event::RunspacePoolState { state, error });
        }
    }

    fn queue(&mut self, body: &Body, pipeline_id: Option<Uuid>) {
        let t = body.message_type();
        let msg = Message {
            destination: Destination::Server,
            message_type: t,
            rpid: self.id,
            pid: pipeline_id,
            data: body.encode(),
        };
        let stream = if t.is_prompt_response() {
            Stream::PromptResponse
        } else {
            Stream::Default
        };
        self.packer.push(msg.encode(), stream, pipeline_id);
    }

    fn take_ci(&mut self) -> i64 {
        let ci = self.next_ci;
        self.next_ci += 1;
        ci
    }

    // ----- commands ---------------------------------------------------

    /// Opens the pool ([MS-PSRP] 3.1.4.1): BeforeOpen → Opening, queues
    /// SESSION_CAPABILITY and INIT_RUNSPACEPOOL. The first packet (see
    /// [`creation_payload`](Self::creation_payload)) goes in the WS-Man
    /// Create's `creationXml`.
    pub fn open(&mut self) -> Result<()> {
        self.expect("open the RunspacePool", &[RunspacePoolState::BeforeOpen])?;
        let cap = Body::SessionCapability(self.config.capability.clone());
        self.queue(&cap, None);
        let init = Body::InitRunspacePool(InitRunspacePool {
            min_runspaces: self.config.min_runspaces,
            max_runspaces: self.config.max_runspaces,
            thread_options: self.config.thread_options,
            apartment_state: self.config.apartment_state,
            host_info: self.config.host_info.clone(),
            application_arguments: self.config.application_arguments.clone(),
        });
        self.queue(&init, None);
        self.set_state(RunspacePoolState::Opening, None);
        Ok(())
    }

    /// Connects to a disconnected pool from a new client ([MS-PSRP]
    /// 3.1.4.10): BeforeOpen or Disconnected → Connecting, queues
    /// SESSION_CAPABILITY and CONNECT_RUNSPACEPOOL for the WS-Man Connect's
    /// `connectXml` (see [`connect_payload`](Self::connect_payload)). The
    /// response's `connectResponseXml` goes to
    /// [`receive_data`](Self::receive_data); RUNSPACEPOOL_INIT_DATA opens
    /// the pool.
    pub fn connect(&mut self) -> Result<()> {
        self.expect(
            "connect to the RunspacePool",
            &[
                RunspacePoolState::BeforeOpen,
                RunspacePoolState::Disconnected,
            ],
        )?;
        // The server sends the pool's state again with an ObjectId this
        // pool may have seen before the disconnection.
        self.reassembler.forget_seen();
        let cap = Body::SessionCapability(self.config.capability.clone());
        self.queue(&cap, None);
        self.queue(
            &Body::ConnectRunspacePool(ConnectRunspacePool::default()),
            None,
        );
        self.set_state(RunspacePoolState::Connecting, None);
        Ok(())
    }

    /// Everything queued for the pool itself as one payload of at most
    /// `max_size` bytes: after [`open`](Self::open) the `creationXml` of the
    /// WS-Man Create ([MS-PSRP] 3.1.5.3.1). Fails if it does not fit.
    pub fn creation_payload(&mut self, max_size: usize) -> Result<Vec<u8>> {
        // All of it goes in one element: check before taking anything.
        let needed = self.packer.whole_size_for(None);
        if needed > max_size {
            return Err(Error::Misuse(format!(
                "the opening messages need {needed} bytes, more than the {max_size} allowed"
            )));
        }
        Ok(self
            .packer
            .next_packet_for(max_size.max(crate::fragment::MIN_PACKET_SIZE), None)?
            .map(|p| p.data)
            .unwrap_or_default())
    }

    /// After [`connect`](Self::connect): the `connectXml` of the WS-Man
    /// Connect ([MS-PSRP] 3.1.5.3.14), like
    /// [`creation_payload`](Self::creation_payload).
    pub fn connect_payload(&mut self, max_size: usize) -> Result<Vec<u8>> {
        self.creation_payload(max_size)
    }

    /// The transport started a WS-Man Disconnect ([MS-PSRP] 3.1.4.9):
    /// Opened → Disconnecting.
    pub fn begin_disconnect(&mut self) -> Result<()> {
        self.expect("disconnect the RunspacePool", &[RunspacePoolState::Opened])?;
        self.set_state(RunspacePoolState::Disconnecting, None);
        Ok(())
    }

    /// The WS-Man Disconnect succeeded (or the server disconnected an idle
    /// pool): → Disconnected, and every running pipeline → Disconnected
    /// ([MS-PSRP] 3.1.4.9).
    pub fn disconnected(&mut self) -> Result<()> {
        self.expect(
            "mark the RunspacePool disconnected",
            &[
                RunspacePoolState::Opened,
                RunspacePoolState::Disconnecting,
                RunspacePoolState::Disconnected,
            ],
        )?;
        self.set_state(RunspacePoolState::Disconnected, None);
        let ids: Vec<Uuid> = self.pipelines.keys().copied().collect();
        for id in ids {
            let p = self.pipelines.get_mut(&id).expect("present");
            if matches!(
                p.state,
                PSInvocationState::Running | PSInvocationState::Stopping
            ) {
                p.state = PSInvocationState::Disconnected;
                self.events.push_back(Event::PipelineState {
                    pipeline_id: id,
                    state: PSInvocationState::Disconnected,
                    error: None,
                });
            }
        }
        Ok(())
    }

    /// The same client reconnected (WS-Man Reconnect, [MS-PSRP] 3.1.4.9):
    /// Disconnected → Opened, disconnected pipelines → Running.
    pub fn reconnected(&mut self) -> Result<()> {
        self.expect(
            "reconnect the RunspacePool",
            &[RunspacePoolState::Disconnected],
        )?;
        self.reassembler.forget_seen();
        self.set_state(RunspacePoolState::Opened, None);
        let ids: Vec<Uuid> = self.pipelines.keys().copied().collect();
        for id in ids {
            let p = self.pipelines.get_mut(&id).expect("present");
            if p.state == PSInvocationState::Disconnected {
                p.state = PSInvocationState::Running;
                self.events.push_back(Event::PipelineState {
                    pipeline_id: id,
                    state: PSInvocationState::Running,
                    error: None,
                });
            }
        }
        Ok(())
    }

    /// After a connect from a new client, adopts a pipeline that is still
    /// running on the server (found by WS-Man Enumerate of the shell's
    /// commands) so its output can be received ([MS-PSRP] 3.1.4.10).
    pub fn adopt_pipeline(&mut self, pipeline_id: Uuid) -> Result<()> {
        self.expect(
            "adopt a pipeline",
            &[RunspacePoolState::Opened, RunspacePoolState::Connecting],
        )?;
        self.pipelines.insert(
            pipeline_id,
            Pipeline::new(PSInvocationState::Running, false),
        );
        Ok(())
    }

    /// The transport started a WS-Man Delete ([MS-PSRP] 3.1.1.2.2):
    /// → Closing. Pipelines still running are the caller's to stop first.
    pub fn begin_close(&mut self) -> Result<()> {
        self.expect(
            "close the RunspacePool",
            &[
                RunspacePoolState::Opened,
                RunspacePoolState::Disconnected,
                RunspacePoolState::Broken,
                RunspacePoolState::Opening,
                RunspacePoolState::Connecting,
            ],
        )?;
        self.set_state(RunspacePoolState::Closing, None);
        Ok(())
    }

    /// The WS-Man Delete succeeded: → Closed ([MS-PSRP] 3.1.4.2).
    pub fn closed(&mut self) -> Result<()> {
        self.expect(
            "mark the RunspacePool closed",
            &[RunspacePoolState::Closing, RunspacePoolState::Closed],
        )?;
        self.set_state(RunspacePoolState::Closed, None);
        Ok(())
    }

    /// The transport failed for good: → Broken, every unfinished pipeline
    /// → Failed.
    pub fn set_broken(&mut self, error: Option<ErrorRecord>) {
        self.set_state(RunspacePoolState::Broken, error);
        self.fail_pipelines();
    }

    fn fail_pipelines(&mut self) {
        let ids: Vec<Uuid> = self.pipelines.keys().copied().collect();
        for id in ids {
            let p = self.pipelines.get_mut(&id).expect("present");
            if !p.state.is_terminal() && p.state != PSInvocationState::NotStarted {
                p.state = PSInvocationState::Failed;
                self.events.push_back(Event::PipelineState {
                    pipeline_id: id,
                    state: PSInvocationState::Failed,
                    error: None,
                });
            }
        }
    }

    /// Creates and starts a pipeline ([MS-PSRP] 3.1.4.4): queues
    /// CREATE_PIPELINE, whose first packet goes in the WS-Man Command's
    /// `rsp:Arguments` with CommandId = the returned pipeline id, and the
    /// rest in Sends.
    pub fn create_pipeline(&mut self, pipeline: CreatePipeline) -> Result<Uuid> {
        let id = random::uuid(&mut *self.random);
        self.create_pipeline_with_id(id, pipeline)
    }

    /// A fresh id from the pool's random source, for a pipeline the caller
    /// names before creating it
    /// ([`create_pipeline_with_id`](Self::create_pipeline_with_id)); a
    /// seeded pool gives the same ids run after run ([MS-PSRP] 2.2.1 PID).
    pub fn new_pipeline_id(&mut self) -> Uuid {
        random::uuid(&mut *self.random)
    }

    /// [`create_pipeline`](Self::create_pipeline) with a chosen id.
    pub fn create_pipeline_with_id(
        &mut self,
        pipeline_id: Uuid,
        pipeline: CreatePipeline,
    ) -> Result<Uuid> {
        self.expect("create a pipeline", &[RunspacePoolState::Opened])?;
        if self.pipelines.contains_key(&pipeline_id) {
            return Err(Error::Misuse(format!(
                "pipeline {pipeline_id} already exists"
            )));
        }
        let mut pipeline = pipeline;
        if let Some(their) = &self.their_capability {
            let (major, minor) = their.protocol();
            for statement in &mut pipeline.power_shell.statements {
                for c in statement.iter_mut() {
                    *c = c.clone().for_protocol(major, minor);
                }
            }
        }
        let no_input = pipeline.no_input;
        self.queue(&Body::CreatePipeline(pipeline), Some(pipeline_id));
        self.pipelines.insert(
            pipeline_id,
            Pipeline::new(PSInvocationState::Running, !no_input),
        );
        self.events.push_back(Event::PipelineState {
            pipeline_id,
            state: PSInvocationState::Running,
            error: None,
        });
        Ok(pipeline_id)
    }

    /// Asks for command metadata ([MS-PSRP] 3.1.4.14): a pipeline whose
    /// output is a count then one CommandMetadata per command.
    pub fn get_command_metadata(&mut self, request: GetCommandMetadata) -> Result<Uuid> {
        self.expect("get command metadata", &[RunspacePoolState::Opened])?;
        let pipeline_id = random::uuid(&mut *self.random);
        self.queue(&Body::GetCommandMetadata(request), Some(pipeline_id));
        self.pipelines.insert(
            pipeline_id,
            Pipeline::new(PSInvocationState::Running, false),
        );
        self.events.push_back(Event::PipelineState {
            pipeline_id,
            state: PSInvocationState::Running,
            error: None,
        });
        Ok(pipeline_id)
    }

    fn running_pipeline(
        &mut self,
        action: &'static str,
        pipeline_id: Uuid,
    ) -> Result<&mut Pipeline> {
        let p = self
            .pipelines
            .get_mut(&pipeline_id)
            .ok_or_else(|| Error::Misuse(format!("no pipeline {pipeline_id} in this pool")))?;
        if p.state != PSInvocationState::Running {
            return Err(Error::state(
                action,
                p.state,
                &[&PSInvocationState::Running],
            ));
        }
        Ok(p)
    }

    /// Sends one input object to a running pipeline ([MS-PSRP] 3.1.4.5).
    pub fn send_input(&mut self, pipeline_id: Uuid, value: Value) -> Result<()> {
        self.check_input_open(pipeline_id)?;
        self.queue(&Body::PipelineInput(value), Some(pipeline_id));
        Ok(())
    }

    /// Fails unless the pipeline is running and takes input.
    fn check_input_open(&mut self, pipeline_id: Uuid) -> Result<()> {
        let p = self.running_pipeline("send pipeline input", pipeline_id)?;
        if !p.input_open {
            return Err(Error::Misuse(format!(
                "pipeline {pipeline_id} takes no more input (created with no_input, or input closed)"
            )));
        }
        Ok(())
    }

    /// Ends a pipeline's input ([MS-PSRP] 3.1.4.5): END_OF_PIPELINE_INPUT.
    pub fn close_input(&mut self, pipeline_id: Uuid) -> Result<()> {
        let p = self.running_pipeline("close pipeline input", pipeline_id)?;
        if !p.input_open {
            return Ok(());
        }
        p.input_open = false;
        self.queue(&Body::EndOfPipelineInput, Some(pipeline_id));
        Ok(())
    }

    /// Marks a pipeline Stopping ([MS-PSRP] 3.1.4.6). No message: the
    /// transport sends the WS-Man Signal (`powershell/signal/crtl_c`); the
    /// server answers with PIPELINE_STATE Stopped.
    pub fn stop(&mut self, pipeline_id: Uuid) -> Result<()> {
        let p = self.running_pipeline("stop the pipeline", pipeline_id)?;
        p.state = PSInvocationState::Stopping;
        self.events.push_back(Event::PipelineState {
            pipeline_id,
            state: PSInvocationState::Stopping,
            error: None,
        });
        Ok(())
    }

    /// Forgets a finished pipeline (after the transport's WS-Man Signal
    /// terminate).
    pub fn close_pipeline(&mut self, pipeline_id: Uuid) -> Result<()> {
        let p = self
            .pipelines
            .get(&pipeline_id)
            .ok_or_else(|| Error::Misuse(format!("no pipeline {pipeline_id} in this pool")))?;
        if !p.state.is_terminal() && p.state != PSInvocationState::NotStarted {
            return Err(Error::state(
                "close the pipeline",
                p.state,
                &[
                    &PSInvocationState::Stopped,
                    &PSInvocationState::Completed,
                    &PSInvocationState::Failed,
                ],
            ));
        }
        self.pipelines.remove(&pipeline_id);
        Ok(())
    }

    fn size_request(&mut self, max: bool, value: i32) -> Result<Option<i64>> {
        if self.state == RunspacePoolState::BeforeOpen {
            if max {
                self.config.max_runspaces = value;
            } else {
                self.config.min_runspaces = value;
            }
            return Ok(None);
        }
        self.expect(
            if max {
                "set MaxRunspaces"
            } else {
                "set MinRunspaces"
            },
            &[RunspacePoolState::Opened],
        )?;
        let ci = self.take_ci();
        let body = SetRunspaces { value, ci };
        if max {
            self.pending.insert(ci, PendingCall::SetMax(value));
            self.queue(&Body::SetMaxRunspaces(body), None);
        } else {
            self.pending.insert(ci, PendingCall::SetMin(value));
            self.queue(&Body::SetMinRunspaces(body), None);
        }
        Ok(Some(ci))
    }

    /// Changes MaxRunspaces ([MS-PSRP] 3.1.4.2.1, SET_MAX_RUNSPACES).
    /// Before open it only changes the configuration (`None`); when open it
    /// returns the call id the RUNSPACE_AVAILABILITY event carries.
    pub fn set_max_runspaces(&mut self, value: i32) -> Result<Option<i64>> {
        self.size_request(true, value)
    }

    /// Changes MinRunspaces ([MS-PSRP] 3.1.4.2.2, SET_MIN_RUNSPACES).
    pub fn set_min_runspaces(&mut self, value: i32) -> Result<Option<i64>> {
        self.size_request(false, value)
    }

    /// Asks how many runspaces are free ([MS-PSRP] 3.1.4.2.3,
    /// GET_AVAILABLE_RUNSPACES); returns the call id.
    pub fn get_available_runspaces(&mut self) -> Result<i64> {
        self.expect("get available runspaces", &[RunspacePoolState::Opened])?;
        let ci = self.take_ci();
        self.pending.insert(ci, PendingCall::GetAvailable);
        self.queue(&Body::GetAvailableRunspaces(CallId { ci }), None);
        Ok(ci)
    }

    /// Resets the runspace state ([MS-PSRP] 3.1.4.13, RESET_RUNSPACE_STATE,
    /// protocol 2.3 and later); returns the call id.
    pub fn reset_runspace_state(&mut self) -> Result<i64> {
        self.expect("reset the runspace state", &[RunspacePoolState::Opened])?;
        if let Some(their) = &self.their_capability {
            if their.protocol() < (2, 3) {
                return Err(Error::Misuse(format!(
                    "RESET_RUNSPACE_STATE needs protocol 2.3; the server speaks {}",
                    their.protocol_version
                )));
            }
        }
        let ci = self.take_ci();
        self.pending.insert(ci, PendingCall::Reset);
        self.queue(&Body::ResetRunspaceState(CallId { ci }), None);
        Ok(ci)
    }

    /// Answers a host call ([MS-PSRP] 3.1.4.8): RUNSPACEPOOL_HOST_RESPONSE
    /// or PIPELINE_HOST_RESPONSE on the `pr` stream, with the return value
    /// or the error the host raised.
    pub fn host_response(
        &mut self,
        ci: i64,
        result: std::result::Result<Option<Value>, ErrorRecord>,
    ) -> Result<()> {
        let (pipeline_id, method) = *self
            .host_calls
            .get(&ci)
            .ok_or_else(|| Error::Misuse(format!("no host call {ci} is waiting for an answer")))?;
        if let Some(pid) = pipeline_id {
            self.running_pipeline("answer a pipeline host call", pid)?;
        } else {
            self.expect("answer a host call", &[RunspacePoolState::Opened])?;
        }
        self.host_calls.remove(&ci);
        let (result, error) = match result {
            Ok(v) => (v, None),
            Err(e) => (None, Some(e)),
        };
        let response = HostResponse {
            ci,
            method,
            result,
            error,
        };
        let body = match pipeline_id {
            Some(_) => Body::PipelineHostResponse(response),
            None => Body::RunspacePoolHostResponse(response),
        };
        self.queue(&body, pipeline_id);
        Ok(())
    }

    /// Starts the session key exchange ([MS-PSRP] 3.1.4.3.1): generates an
    /// RSA-2048 key and queues PUBLIC_KEY. [`Event::KeyExchanged`] follows
    /// the server's ENCRYPTED_SESSION_KEY. Does nothing if already started.
    pub fn exchange_key(&mut self) -> Result<()> {
        if !matches!(self.key, KeyState::None) {
            return Ok(());
        }
        let key = match self.exchange_key.take() {
            Some(k) => *k,
            None => ExchangeKey::generate_with(&mut *self.random)?,
        };
        self.exchange_key_with(key)
    }

    /// [`exchange_key`](Self::exchange_key) with a given key pair.
    pub fn exchange_key_with(&mut self, key: ExchangeKey) -> Result<()> {
        self.expect("exchange the session key", &[RunspacePoolState::Opened])?;
        use base64::Engine;
        let blob = base64::engine::general_purpose::STANDARD.encode(key.public_key_blob());
        self.queue(&Body::PublicKey(PublicKey { public_key: blob }), None);
        self.key = KeyState::Requested(Box::new(key));
        Ok(())
    }

    /// Sets the key pair used when the server asks for the public key
    /// (PUBLIC_KEY_REQUEST), instead of generating one then.
    pub fn set_exchange_key(&mut self, key: ExchangeKey) {
        self.exchange_key = Some(Box::new(key));
    }

    /// Encrypts text for a `<SS>` argument ([MS-PSRP] 2.2.5.1.24). Needs the
    /// session key.
    pub fn secure_string(&self, text: &str) -> Result<Value> {
        match &self.key {
            KeyState::Ready(k) => Ok(Value::SecureString(k.encrypt(text))),
            _ => Err(Error::Misuse(
                "no session key yet: call exchange_key and wait for KeyExchanged".into(),
            )),
        }
    }

    /// Decrypts a `<SS>` value received from the server.
    pub fn decrypt_secure_string(&self, value: &Value) -> Result<zeroize::Zeroizing<String>> {
        let Value::SecureString(c) = value else {
            return Err(Error::Misuse("the value is not a SecureString".into()));
        };
        match &self.key {
            KeyState::Ready(k) => k.decrypt(c),
            _ => Err(Error::Misuse("no session key yet".into())),
        }
    }

    // ----- data plane -------------------------------------------------

    /// The next packet to send, of at most `max_size` bytes (at least 22),
    /// or `None`. Its `pipeline_id` says which WS-Man Send (CommandId) or
    /// Command carries it ([MS-PSRP] 3.1.5.3.5, 3.1.5.3.3); `stream` says
    /// `stdin` or `pr`.
    pub fn data_to_send(&mut self, max_size: usize) -> Result<Option<Outgoing>> {
        self.packer.next_packet(max_size)
    }

    /// The next packet for one target only (`None`: the pool itself).
    pub fn data_to_send_for(
        &mut self,
        max_size: usize,
        pipeline_id: Option<Uuid>,
    ) -> Result<Option<Outgoing>> {
        self.packer.next_packet_for(max_size, pipeline_id)
    }
}

// Pipeline input written straight into its message (a file copy's chunks).
mod input;
