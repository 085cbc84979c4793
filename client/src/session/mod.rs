//! PSSessions: a RunspacePool that lives on the host ([MS-PSRP] 3.1.4),
//! driven over one WS-Management connection ([MS-PSRP] 3.1.5.3).
//!
//! [`PsSession::open`] creates one (New-PSSession), [`PsSession::connect`]
//! attaches to one that is disconnected, also from another process or
//! machine (Connect-PSSession), [`PsSession::list`] lists those the host
//! keeps for this user (Get-PSSession -ComputerName). A session runs
//! pipelines ([`PsSession::invoke`]) whose events stream as they arrive,
//! disconnects and reconnects, and is removed with [`PsSession::close`].
//!
//! Round trips: opening is Create + Receive; connecting is Connect +
//! Receive ([MS-PSRP] 3.1.4.10.3); a pipeline is Command + Receive (+ Send
//! for input or a CREATE_PIPELINE that does not fit); the Signal that
//! releases a finished pipeline is not waited for at its end but sent
//! before the session's next Command, Connect of a pipeline or Disconnect,
//! and never before Delete, which releases everything (see
//! [`PsSession::release_pending`]); listing is one Enumerate of shells plus one of each
//! session's pipelines.
//!
//! A session held idle is kept alive with [`PsSession::keep_alive`] (the
//! host disconnects sessions that send nothing for their idle timeout); a
//! Receive whose connection dropped is tried again for a bounded time,
//! then the session is left on the host to connect to later (see
//! `recovery.rs` and [`PsSession::keep_alive`], [`SessionOptions::reconnect_window`]).
//!
//! Until the host's SESSION_CAPABILITY says it speaks protocol 2.2 or later
//! a session's envelopes stay within 150 KiB, what PowerShell 2 hosts take;
//! then the configured MaxEnvelopeSize applies, as PowerShell does. The
//! CommandId of a pipeline is its id unless the host chose another (WinRM
//! 2.0 does).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
mod concurrent;
mod host_calls;
mod pipeline;
mod pool_ops;
mod raw_ui;
mod recovery;

use std::time::Duration;

use base64::Engine;
use psrp::messages::CreatePipeline;
use psrp::types::{Command, HostInfo, PSInvocationState, PowerShell, RunspacePoolState};
use psrp::{Event, Outgoing, RunspacePool, RunspacePoolConfig};
use uuid::Uuid;
use wsman::client::Client as WsmanClient;
use wsman::soap::request::{BufferMode, CommandLine, SendStream, ShellCreate};
use wsman::soap::response::ShellInfo;
use wsman::soap::{ns, WsOption};

use crate::binding::{self, guid_text, CommandIds};
use crate::host::{Host, NullHost};
use crate::{ConnectionInfo, Error, Result};

pub use concurrent::ConcurrentPipelines;
pub use pipeline::{Pipeline, PipelineEvent, PipelineResult};
pub use psrp::types::HostDefaultData;
pub use recovery::DEFAULT_RECONNECT_WINDOW;

/// How a new PSSession is set up (New-PSSession's parameters and
/// `New-PSSessionOption`).
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// The session's name, shown by Get-PSSession (`rsp:Name`).
    pub name: Option<String>,
    /// How long the host keeps the session while disconnected
    /// (`rsp:IdleTimeOut`); the host's default when `None`. A connected
    /// session that sends nothing for this long is disconnected by the host
    /// too: see [`PsSession::keep_alive`].
    pub idle_timeout: Option<Duration>,
    /// How long a Receive keeps trying to reach the host again after the
    /// network dropped, with backoff, before it gives up and leaves the
    /// session on the host (see [`PsSession::set_reconnect_window`]);
    /// [`DEFAULT_RECONNECT_WINDOW`] when `None`.
    pub reconnect_window: Option<Duration>,
    /// MinRunspaces (default 1).
    pub min_runspaces: Option<i32>,
    /// MaxRunspaces (default 1).
    pub max_runspaces: Option<i32>,
    /// `$PSSenderInfo.ApplicationArguments`.
    pub application_arguments: Option<psrp::types::PrimitiveDictionary>,
    /// Do not load the user profile (`WINRS_NOPROFILE`).
    pub no_profile: bool,
    /// A raw UI (console) to announce: the host then answers
    /// `$host.UI.RawUI` from it, and its Set* calls update it
    /// ([`PsSession::raw_ui`]).
    pub raw_ui: Option<HostDefaultData>,
    /// Seeds the session's randomness: the RunspacePool id (= ShellId),
    /// pipeline ids ([MS-PSRP] 2.2.1 RPID, PID) and the RSA key of the
    /// session key exchange ([MS-PSRP] 3.1.4.3.1) come from
    /// [`psrp::random::seeded`], so the same seed puts the same PSRP bytes
    /// on the wire run after run (WS-Man's own message ids stay random).
    /// The operating system's generator when `None` (the default).
    ///
    /// For tests and recordings only: the key exchange is then predictable,
    /// and two sessions opened at once with one seed would ask the host for
    /// the same ShellId. It is an option of the session, not of
    /// [`ConnectionInfo`], for that reason. [`PsSession::connect`] keeps
    /// the id it is given and uses the system's generator.
    pub random_seed: Option<u64>,
}

/// How a pipeline is started: the settings of CREATE_PIPELINE ([MS-PSRP]
/// 2.2.2.10) a caller chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvokeOptions {
    /// The pipeline takes input (`NoInput` false) until
    /// [`Pipeline::close_input`].
    pub input: bool,
    /// `AddToHistory`: the host records the pipeline in the session's
    /// history (Get-History).
    pub add_to_history: bool,
    /// `RemoteStreamOptions` AddInvocationInfo: error, warning, verbose and
    /// debug records carry the InvocationInfo of the command that wrote
    /// them (default true, as Invoke-Command).
    pub invocation_info: bool,
}

impl Default for InvokeOptions {
    fn default() -> Self {
        InvokeOptions {
            input: false,
            add_to_history: false,
            invocation_info: true,
        }
    }
}

/// A PSSession the host keeps, as `Get-PSSession -ComputerName` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSession {
    /// The InstanceId: RunspacePool id = ShellId.
    pub instance_id: Uuid,
    /// Its name.
    pub name: Option<String>,
    /// `Connected` / `Disconnected` as the host reports it.
    pub state: String,
    /// The session configuration's resource URI.
    pub resource_uri: String,
    /// Owner (`DOMAIN\user`).
    pub owner: Option<String>,
    /// How long the host keeps it while disconnected.
    pub idle_timeout: Option<Duration>,
    /// Everything the host said about the shell.
    pub shell: ShellInfo,
    /// The pipelines (CommandIds) the host keeps in it, to receive after
    /// [`PsSession::connect`] with [`PsSession::receive_pipeline`].
    pub pipelines: Vec<Uuid>,
}

/// An open PSSession on one connection.
///
/// Dropping a `PsSession` sends nothing: the RunspacePool stays on the host
/// as it was (Opened, pipelines still running), the host disconnects it once
/// its idle timeout passes with no request, and keeps it, disconnected,
/// until its MaxIdleTimeout; meanwhile [`PsSession::connect`] (also from
/// another process) takes it back. To remove it call [`PsSession::close`];
/// to leave it for later on purpose, [`PsSession::disconnect`].
///
/// A finished pipeline's release (Signal terminate, [MS-PSRP] 3.1.5.3.9)
/// is held on the session and sent before its next operation that needs
/// the host to have freed it; dropping a session with releases pending
/// leaves those finished pipelines counted on the host against
/// MaxConcurrentCommandsPerShell until the session is removed or times
/// out. A caller that leaves a session on the host calls
/// [`PsSession::release_pending`] or [`PsSession::disconnect`] (which sends
/// them) first.
pub struct PsSession {
    info: ConnectionInfo,
    wsman: WsmanClient,
    pool: RunspacePool,
    shell_id: String,
    resource_uri: String,
    name: Option<String>,
    host: Box<dyn Host>,
    /// Largest PSRP packet per WS-Man message (before base64).
    max_packet: usize,
    /// The MaxEnvelopeSize asked for, used once the host is known to speak
    /// protocol 2.2 or later.
    configured_envelope: u32,
    /// The exit code a script asked for with `$host.SetShouldExit`.
    should_exit: Option<i32>,
    /// RUNSPACE_AVAILABILITY answers not yet claimed, by call id.
    availability: Vec<(i64, psrp::messages::Availability)>,
    /// CommandIds the host chose instead of the pipeline id: WinRM 2.0
    /// (PowerShell 2 hosts) ignores the client's `CommandId` attribute.
    command_ids: CommandIds,
    /// The raw UI announced, kept up to date by the host's Set* calls.
    raw_ui: Option<HostDefaultData>,
    /// Where ReadKey gets its keys.
    key_reader: Option<KeyReader>,
    /// The host's `rsp:IdleTimeOut` for this shell, when known.
    idle_timeout: Option<Duration>,
    /// How long a Receive tries to reach the host again after the network
    /// dropped.
    reconnect_window: Duration,
    /// Host calls met while sorting events, answered before the next
    /// Send/Receive ([`PsSession::answer_pending_host_calls`]).
    pending_host_calls: std::collections::VecDeque<psrp::messages::HostCall>,
    /// When a Receive last found the host unreachable: a Receive that then
    /// finds the session Disconnected (the host's idle timeout passed
    /// during the outage) takes it back, even when the answer lost in the
    /// outage came back by retransmission first.
    last_outage: Option<std::time::Instant>,
    /// CommandIds of finished pipelines whose release (Signal terminate)
    /// is not sent yet: see [`PsSession::release_pending`].
    pending_releases: Vec<String>,
}

/// Gives `$host.UI.RawUI.ReadKey(options)` its key ([MS-PSRP] 2.2.3.3).
pub type KeyReader = Box<dyn FnMut(i32) -> Option<psrp::types::KeyInfo> + Send>;

impl std::fmt::Debug for PsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PsSession")
            .field("computer", &self.info.computer_name())
            .field("instance_id", &self.shell_id)
            .field("name", &self.name)
            .field("state", &self.pool.state())
            .finish()
    }
}

fn pool_config(host: &dyn Host, opts: &SessionOptions) -> RunspacePoolConfig {
    let mut config = RunspacePoolConfig::default();
    if let Some(n) = opts.min_runspaces {
        config.min_runspaces = n;
    }
    if let Some(n) = opts.max_runspaces {
        config.max_runspaces = n;
    }
    config.application_arguments = opts.application_arguments.clone();
    config.host_info = host_info(host, opts.raw_ui.as_ref());
    config
}

/// What HostInfo says about the client's host ([MS-PSRP] 2.2.3.14).
fn host_info(host: &dyn Host, raw_ui: Option<&HostDefaultData>) -> HostInfo {
    if host.is_interactive() || raw_ui.is_some() {
        HostInfo::interactive(raw_ui.map(HostDefaultData::to_entries))
    } else {
        HostInfo::none()
    }
}

/// A WS-Management client for `info` whose envelopes stay within what any
/// host takes until the protocol version is known; returns it with the
/// configured size to use once the host speaks protocol 2.2 or later.
fn first_contact_client(info: &ConnectionInfo) -> Result<(WsmanClient, u32)> {
    let mut wsman = info.wsman_client()?;
    let configured = wsman.options().max_envelope_size;
    wsman.options_mut().max_envelope_size = binding::envelope_size(configured, None);
    Ok((wsman, configured))
}

/// After the answer to a Create was lost: the shell `shell_id` as the host
/// lists it if the Create was carried out, `None` if the host has no such
/// shell, the original error if the host cannot be asked.
async fn created_after_lost_answer(
    wsman: &mut wsman::client::Client,
    shell_id: &str,
    lost: wsman::Error,
) -> Result<Option<wsman::soap::response::Created>> {
    tracing::info!(error = %lost, "the answer to Create was lost; asking the host whether it created the shell");
    let shells = match wsman.enumerate_shells().await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(error = %e, "cannot list the shells");
            return Err(lost.into());
        }
    };
    match shells
        .into_iter()
        .find(|s| s.shell_id.eq_ignore_ascii_case(shell_id))
    {
        Some(shell) => Ok(Some(wsman::soap::response::Created {
            selectors: vec![wsman::soap::Selector::new("ShellId", shell_id)],
            shell: Some(shell),
            ..Default::default()
        })),
        None => {
            tracing::info!("the host has no such shell: creating it");
            Ok(None)
        }
    }
}

impl PsSession {
    /// Creates a PSSession on the host (New-PSSession): WS-Man Create with
    /// SESSION_CAPABILITY + INIT_RUNSPACEPOOL, then Receive until the pool
    /// is Opened ([MS-PSRP] 3.1.4.1, 3.1.5.3.1).
    pub async fn open(
        info: &ConnectionInfo,
        opts: SessionOptions,
        host: Box<dyn Host>,
    ) -> Result<PsSession> {
        let (mut wsman, configured_envelope) = first_contact_client(info)?;
        let random = match opts.random_seed {
            Some(seed) => psrp::random::seeded(seed),
            None => psrp::random::os(),
        };
        let mut pool = RunspacePool::with_random(pool_config(host.as_ref(), &opts), random);
        let max_packet = binding::max_packet(wsman.options().max_envelope_size);
        pool.open()?;
        let creation = pool.creation_payload(max_packet)?;
        let shell_id = guid_text(pool.id());
        let mut create = ShellCreate::powershell(&shell_id, creation);
        create.name = opts.name.clone();
        create.idle_timeout = opts.idle_timeout;
        let resource_uri = info.resource_uri();
        let mut options = vec![WsOption::protocol_version(binding::PROTOCOL_VERSION)];
        if opts.no_profile {
            options.push(WsOption::flag(ns::option::WINRS_NOPROFILE, true));
        }
        let created = match wsman
            .create_shell(&resource_uri, &create, options.clone())
            .await
        {
            Ok(c) => c,
            // The answer was lost: the ShellId is ours, so the host tells
            // whether the Create was carried out (then its pool messages
            // wait in the shell's output); only a shell it does not have
            // is created again.
            Err(e) if wsman::transport::maybe_delivered(&e) => {
                match created_after_lost_answer(&mut wsman, &shell_id, e).await? {
                    Some(c) => c,
                    None => wsman.create_shell(&resource_uri, &create, options).await?,
                }
            }
            Err(e) => return Err(e.into()),
        };
        let shell_id = created.shell_id().map(str::to_string).unwrap_or(shell_id);
        let idle_timeout = created
            .shell
            .as_ref()
            .and_then(|s| s.idle_timeout)
            .or(opts.idle_timeout);
        let mut session = PsSession {
            info: info.clone(),
            wsman,
            pool,
            shell_id,
            resource_uri,
            raw_ui: opts.raw_ui.clone(),
            name: opts.name,
            host,
            max_packet,
            configured_envelope,
            should_exit: None,
            availability: Vec::new(),
            command_ids: CommandIds::default(),
            key_reader: None,
            idle_timeout,
            reconnect_window: opts.reconnect_window.unwrap_or(DEFAULT_RECONNECT_WINDOW),
            pending_host_calls: Default::default(),
            last_outage: None,
            pending_releases: Vec::new(),
        };
        session.wait_for_pool(RunspacePoolState::Opened).await?;
        Ok(session)
    }

    /// Connects to a disconnected PSSession, also one made by another
    /// client (Connect-PSSession): WS-Man Connect with SESSION_CAPABILITY +
    /// CONNECT_RUNSPACEPOOL; the answer's RUNSPACEPOOL_INIT_DATA opens it
    /// ([MS-PSRP] 3.1.4.10).
    pub async fn connect(
        info: &ConnectionInfo,
        instance_id: Uuid,
        host: Box<dyn Host>,
    ) -> Result<PsSession> {
        let (mut wsman, configured_envelope) = first_contact_client(info)?;
        let config = pool_config(host.as_ref(), &SessionOptions::default());
        let mut pool = RunspacePool::with_id(instance_id, config);
        let max_packet = binding::max_packet(wsman.options().max_envelope_size);
        pool.connect()?;
        let payload = pool.connect_payload(max_packet)?;
        let shell_id = guid_text(instance_id);
        let resource_uri = info.resource_uri();
        let connected = wsman
            .connect(
                &resource_uri,
                &shell_id,
                None,
                Some(&payload),
                vec![WsOption::protocol_version(binding::PROTOCOL_VERSION)],
            )
            .await
            .map_err(|e| not_found_as(e, instance_id, info))?;
        let data = connected.connect_response_xml.ok_or_else(|| {
            Error::Broken(format!(
                "{} answered Connect without connectResponseXml",
                info.computer_name()
            ))
        })?;
        pool.receive_data(&data)?;
        let mut session = PsSession {
            info: info.clone(),
            wsman,
            pool,
            shell_id,
            resource_uri,
            raw_ui: None,
            name: None,
            host,
            max_packet,
            configured_envelope,
            should_exit: None,
            availability: Vec::new(),
            command_ids: CommandIds::default(),
            key_reader: None,
            idle_timeout: None,
            reconnect_window: DEFAULT_RECONNECT_WINDOW,
            pending_host_calls: Default::default(),
            last_outage: None,
            pending_releases: Vec::new(),
        };
        session.drain_pool_events().await?;
        if session.pool.state() == RunspacePoolState::Opened {
            // [MS-PSRP] 3.1.4.10.3: the client then sends a Receive; Windows
            // answers it with RUNSPACEPOOL_STATE Opened.
            session.receive(None).await?;
            session.drain_pool_events().await?;
        } else {
            // Some hosts send the init data by Receive rather than in the
            // Connect response.
            session.wait_for_pool(RunspacePoolState::Opened).await?;
        }
        Ok(session)
    }

    /// The PSSessions the host keeps for this user on `info`'s session
    /// configuration (Get-PSSession -ComputerName): WS-Man Enumerate of
    /// shells, then of each PowerShell shell's commands ([MS-PSRP]
    /// 3.1.4.10.1), as PowerShell does to find the pipelines to receive.
    pub async fn list(info: &ConnectionInfo) -> Result<Vec<RemoteSession>> {
        let (mut wsman, _) = first_contact_client(info)?;
        let shells = wsman.enumerate_shells().await?;
        let mut sessions: Vec<RemoteSession> = shells
            .into_iter()
            .filter(|s| {
                s.resource_uri
                    .as_deref()
                    .is_some_and(|u| u.starts_with(ns::uri::POWERSHELL_PREFIX))
            })
            .filter_map(|s| {
                let instance_id = s.shell_id.parse::<Uuid>().ok()?;
                Some(RemoteSession {
                    instance_id,
                    name: s.name.clone(),
                    state: s.state.clone().unwrap_or_else(|| "Unknown".into()),
                    resource_uri: s.resource_uri.clone().unwrap_or_default(),
                    owner: s.owner.clone(),
                    idle_timeout: s.idle_timeout,
                    shell: s,
                    pipelines: Vec::new(),
                })
            })
            .collect();
        for s in &mut sessions {
            let ids = match wsman.enumerate_commands(&s.shell.shell_id).await {
                Ok(ids) => ids,
                // Removed since the first Enumerate: no pipelines to list.
                Err(wsman::Error::Fault(f))
                    if f.kind() == wsman::fault::FaultKind::ShellNotFound =>
                {
                    Vec::new()
                }
                Err(e) => return Err(e.into()),
            };
            s.pipelines = ids.iter().filter_map(|i| i.parse().ok()).collect();
        }
        Ok(sessions)
    }

    /// The CommandIds of the pipelines the host keeps in this session: a
    /// WS-Man Enumerate of the shell's commands ([MS-WSMV] 3.1.4.8), as
    /// [MS-PSRP] 3.1.5.3.14 finds what to connect to.
    pub async fn remote_pipelines(&mut self) -> Result<Vec<Uuid>> {
        let ids = self.wsman.enumerate_commands(&self.shell_id).await?;
        Ok(ids.iter().filter_map(|i| i.parse().ok()).collect())
    }

    /// The InstanceId: the RunspacePool id, which is also the ShellId.
    pub fn instance_id(&self) -> Uuid {
        self.pool.id()
    }

    /// The session's name, when known.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The RunspacePool's state.
    pub fn state(&self) -> RunspacePoolState {
        self.pool.state()
    }

    /// The connection settings.
    pub fn connection(&self) -> &ConnectionInfo {
        &self.info
    }

    /// Transport counters (connections, handshakes, requests).
    pub fn stats(&self) -> wsman::transport::Stats {
        self.wsman.stats()
    }

    /// The raw UI announced with [`SessionOptions::raw_ui`], as the
    /// host's Set* calls left it (`$host.UI.RawUI.WindowTitle = ...`).
    pub fn raw_ui(&self) -> Option<&HostDefaultData> {
        self.raw_ui.as_ref()
    }

    /// Announces `raw_ui` (or no raw UI) in the HostInfo of the pipelines
    /// started from now on ([MS-PSRP] 2.2.3.14), as a console that was
    /// resized does: the host formats `Out-Default` and `Out-String` at its
    /// BufferSize width. The pool's HostInfo, sent when the session opened,
    /// is not changed.
    pub fn set_raw_ui(&mut self, raw_ui: Option<HostDefaultData>) {
        self.raw_ui = raw_ui;
    }

    /// Sets where `$host.UI.RawUI.ReadKey()` gets its keys; without one it
    /// fails on the host.
    pub fn set_key_reader(&mut self, reader: KeyReader) {
        self.key_reader = Some(reader);
    }

    /// Replaces the host that answers host calls.
    pub fn set_host(&mut self, host: Box<dyn Host>) {
        self.host = host;
    }

    /// Starts a script and returns its pipeline, whose events stream as
    /// the host sends them (Invoke-Command -Session).
    pub async fn invoke(&mut self, script: &str) -> Result<Pipeline<'_>> {
        let ps = PowerShell::new(vec![Command::script(script)]);
        self.invoke_powershell(ps, false).await
    }

    /// Starts a pipeline of commands with parameters. With `input`, the
    /// pipeline takes input objects ([`Pipeline::send_input`]) until
    /// [`Pipeline::close_input`].
    pub async fn invoke_powershell(
        &mut self,
        power_shell: PowerShell,
        input: bool,
    ) -> Result<Pipeline<'_>> {
        let options = InvokeOptions {
            input,
            ..Default::default()
        };
        self.invoke_with(power_shell, options).await
    }

    /// Starts a pipeline with the CREATE_PIPELINE settings of `options`
    /// ([MS-PSRP] 2.2.2.10): input, history, InvocationInfo on records.
    pub async fn invoke_with(
        &mut self,
        power_shell: PowerShell,
        options: InvokeOptions,
    ) -> Result<Pipeline<'_>> {
        let id = self.start_pipeline_as(None, power_shell, options).await?;
        Ok(Pipeline::new(self, id))
    }

    /// Runs `power_shell` again under the id of an earlier pipeline that has
    /// finished: .NET's PowerShell object keeps its InstanceId when invoked
    /// again, so PowerShell sends the same PID and CommandId each time
    /// ([MS-PSRP] 3.1.4.4).
    pub async fn reinvoke(
        &mut self,
        pipeline_id: Uuid,
        power_shell: PowerShell,
        input: bool,
    ) -> Result<Pipeline<'_>> {
        let options = InvokeOptions {
            input,
            ..Default::default()
        };
        let id = self
            .start_pipeline_as(Some(pipeline_id), power_shell, options)
            .await?;
        Ok(Pipeline::new(self, id))
    }

    /// Runs a script to the end and collects everything it produced.
    pub async fn run(&mut self, script: &str) -> Result<PipelineResult> {
        self.invoke(script).await?.collect().await
    }

    /// Starts a script and leaves it running: for Invoke-Command
    /// -InDisconnectedSession, disconnect next. Returns the pipeline id
    /// (= CommandId) to receive its output later.
    pub async fn start(&mut self, script: &str) -> Result<Uuid> {
        let ps = PowerShell::new(vec![Command::script(script)]);
        self.start_pipeline_as(None, ps, InvokeOptions::default())
            .await
    }

    /// [`start`](Self::start) for a pipeline of commands with parameters,
    /// such as a script with its arguments (Invoke-Command
    /// -InDisconnectedSession -ArgumentList): started and left running.
    /// Returns the pipeline id (= CommandId).
    pub async fn start_powershell(&mut self, power_shell: PowerShell) -> Result<Uuid> {
        self.start_pipeline_as(None, power_shell, InvokeOptions::default())
            .await
    }

    async fn start_pipeline_as(
        &mut self,
        pipeline_id: Option<Uuid>,
        power_shell: PowerShell,
        options: InvokeOptions,
    ) -> Result<Uuid> {
        let is_nested = power_shell.is_nested;
        let mut create = CreatePipeline::new(power_shell);
        create.is_nested = is_nested;
        create.no_input = !options.input;
        create.add_to_history = options.add_to_history;
        if !options.invocation_info {
            create.remote_stream_options = psrp::types::RemoteStreamOptions::default();
        }
        create.host_info = host_info(self.host.as_ref(), self.raw_ui.as_ref());
        let id = match pipeline_id {
            Some(id) => self.pool.create_pipeline_with_id(id, create)?,
            None => self.pool.create_pipeline(create)?,
        };
        self.send_command(id).await?;
        Ok(id)
    }

    /// Starts pipeline `id`, whose first message the pool has queued: a
    /// WS-Man Command carrying its first packet, then Sends for the rest.
    pub(crate) async fn send_command(&mut self, id: Uuid) -> Result<()> {
        // MaxConcurrentCommandsPerShell counts the finished pipelines not
        // yet released: free them before this one.
        self.release_pending().await?;
        let first = self
            .pool
            .data_to_send_for(self.max_packet, Some(id))?
            .ok_or_else(|| Error::Broken("the pipeline has nothing to send".into()))?;
        // [MS-PSRP] 3.1.5.3.3: rsp:Command "MUST be empty" (but present),
        // the first fragment in rsp:Arguments; WINRS_SKIP_CMD_SHELL off, as
        // the clients Windows is used to send.
        let line = CommandLine {
            command_id: Some(guid_text(id)),
            command: Some(String::new()),
            arguments: vec![base64::engine::general_purpose::STANDARD.encode(&first.data)],
        };
        let options = vec![WsOption::new(ns::option::WINRS_SKIP_CMD_SHELL, "False")];
        let chosen = line.command_id.as_deref().unwrap_or_default();
        let command_id = match self
            .wsman
            .command(&self.resource_uri, &self.shell_id, &line, options)
            .await
        {
            Ok(c) => c,
            Err(e) if wsman::transport::maybe_delivered(&e) => {
                self.command_delivered(chosen, e).await?
            }
            Err(e) => return Err(e.into()),
        };
        self.command_ids.record(id, &command_id);
        self.flush().await
    }

    /// After a Command whose connection dropped once it was written (not
    /// sent again, see `wsman::transport`): the host has it if its
    /// CommandId is among the shell's commands, and the pipeline goes on;
    /// otherwise `cause` is the error, as nothing proves it never arrived.
    async fn command_delivered(&mut self, command_id: &str, cause: wsman::Error) -> Result<String> {
        let listed = match self.wsman.enumerate_commands(&self.shell_id).await {
            Ok(ids) => ids,
            Err(_) => return Err(cause.into()),
        };
        if listed.iter().any(|c| c.eq_ignore_ascii_case(command_id)) {
            tracing::info!(
                command_id,
                "the connection dropped after the Command; the host has it, so it is not sent again"
            );
            Ok(command_id.to_string())
        } else {
            Err(cause.into())
        }
    }

    /// Sends everything the pool has queued (rest of CREATE_PIPELINE,
    /// input, host responses), one WS-Man Send per packet.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        while let Some(Outgoing {
            data,
            stream,
            pipeline_id,
        }) = self.pool.data_to_send(self.max_packet)?
        {
            let command_id = pipeline_id.map(|p| self.command_id(p));
            let s = SendStream {
                name: binding::send_stream(stream),
                command_id: command_id.as_deref(),
                end: false,
                data: &data,
            };
            self.wsman
                .send(&self.resource_uri, &self.shell_id, &[s])
                .await?;
            // its buffer is the next packet's
            self.pool.recycle(data);
        }
        Ok(())
    }

    /// One Receive for the pool (`None`) or a pipeline, fed to the pool.
    /// Returns whether the host reported the command Done.
    pub(crate) async fn receive(&mut self, pipeline_id: Option<Uuid>) -> Result<bool> {
        Ok(self.receive_some(pipeline_id).await?.0)
    }

    /// [`receive`](Self::receive), also telling whether any PSRP data came.
    pub(crate) async fn receive_some(&mut self, pipeline_id: Option<Uuid>) -> Result<(bool, bool)> {
        let r = self.receive_recovering(pipeline_id, None).await?;
        self.take_received(r)
    }

    /// Feeds a Receive's PSRP data to the pool; returns whether the host
    /// reported the command Done and whether any data came.
    fn take_received(
        &mut self,
        r: Option<wsman::soap::response::Received>,
    ) -> Result<(bool, bool)> {
        let Some(r) = r else {
            return Ok((false, false));
        };
        let data = r.streams.iter().any(|s| !s.data.is_empty());
        let pieces = r.streams.iter().map(|s| &s.data[..]);
        if let Err(e) = self.pool.receive_all(pieces) {
            return Err(self.stream_error(e));
        }
        // a large stream's memory goes back for the next answer's
        for s in r.streams {
            wsman::transport::body_pool::recycle(s.data);
        }
        Ok((r.command_state.is_some_and(|c| c.is_done()), data))
    }

    /// Handles the pool-level events queued so far (host calls answered,
    /// states noted); pipeline events are left to their pipeline.
    async fn drain_pool_events(&mut self) -> Result<()> {
        while let Some(ev) = self.pool.next_event() {
            self.handle_pool_event(ev)?;
        }
        self.answer_pending_host_calls().await.map(|_| ())
    }

    /// Notes a pool event; a host call is queued for
    /// [`answer_pending_host_calls`](Self::answer_pending_host_calls).
    pub(crate) fn handle_pool_event(&mut self, ev: Event) -> Result<()> {
        match ev {
            Event::HostCall { call, .. } => self.pending_host_calls.push_back(call),
            Event::RunspaceAvailability { ci, response } => self.availability.push((ci, response)),
            Event::SessionCapability(c) => self.adjust_for_protocol(c.protocol()),
            Event::RunspacePoolState {
                state: RunspacePoolState::Broken,
                error,
            } => {
                let why = error
                    .map(|e| e.message().to_string())
                    .unwrap_or_else(|| "the host broke the RunspacePool".into());
                return Err(Error::Broken(why));
            }
            _ => {}
        }
        Ok(())
    }

    /// Answers the host calls queued by
    /// [`handle_pool_event`](Self::handle_pool_event); whether there were any.
    pub(crate) async fn answer_pending_host_calls(&mut self) -> Result<bool> {
        let any = !self.pending_host_calls.is_empty();
        while let Some(call) = self.pending_host_calls.pop_front() {
            self.answer_host_call(call).await?;
        }
        Ok(any)
    }

    /// Once the host's protocol version is known: hosts newer than
    /// PowerShell 2 (protocol 2.2 and later) take the configured
    /// MaxEnvelopeSize ([MS-PSRP] 3.1.4.1, [MS-WSMV] 2.2.4.19).
    fn adjust_for_protocol(&mut self, protocol: (u32, u32)) {
        let size = binding::envelope_size(self.configured_envelope, Some(protocol));
        self.wsman.options_mut().max_envelope_size = size;
        self.max_packet = binding::max_packet(size);
    }

    /// Answers one host call ([MS-PSRP] 3.1.4.8): the host is asked on a
    /// blocking thread (it may wait for a person); a SecureString answer
    /// gets the session key exchanged first when there is none
    /// ([MS-PSRP] 3.1.4.3); a host that does not answer makes the remote
    /// call fail with an ErrorRecord.
    pub(crate) async fn answer_host_call(&mut self, call: psrp::messages::HostCall) -> Result<()> {
        if call.method == psrp::types::HostMethodIdentifier::SetShouldExit {
            self.should_exit = call
                .parameters
                .first()
                .and_then(psrp::clixml::Value::as_i32);
        }
        let raw = match (&mut self.raw_ui, &mut self.key_reader) {
            (Some(ui), Some(reader)) => raw_ui::handle(ui, &call, reader.as_mut()),
            (Some(ui), None) => raw_ui::handle(ui, &call, &mut |_| None),
            (None, _) => None,
        };
        let answer = match raw {
            Some(answer) => answer,
            None => {
                let mut key_error = None;
                if host_calls::needs_session_key(&call) && !self.pool.has_session_key() {
                    if let Err(e) = self.exchange_key_in_pipeline().await {
                        match e {
                            Error::Wsman(_) | Error::Broken(_) => return Err(e),
                            other => key_error = Some(other.to_string()),
                        }
                    }
                }
                match key_error {
                    Some(why) => Some(Err(host_calls::host_error(&format!(
                        "Cannot exchange the session key for the SecureString: {why}"
                    )))),
                    None => {
                        let asked = self.ask_host(&call).await?;
                        host_calls::encode(&self.pool, asked)
                    }
                }
            }
        };
        if let Some(answer) = answer {
            if call.wants_response() {
                self.pool.host_response(call.ci, answer)?;
            }
        }
        Ok(())
    }

    /// Calls the host on a blocking thread, so a prompt never blocks the
    /// runtime.
    async fn ask_host(&mut self, call: &psrp::messages::HostCall) -> Result<host_calls::Asked> {
        let mut host = std::mem::replace(&mut self.host, null_host());
        let call = call.clone();
        let (host, asked) = tokio::task::spawn_blocking(move || {
            let asked = host_calls::ask(host.as_mut(), &call);
            (host, asked)
        })
        .await
        .map_err(|e| Error::Usage(format!("the host failed while answering a host call: {e}")))?;
        self.host = host;
        Ok(asked)
    }

    async fn wait_for_pool(&mut self, target: RunspacePoolState) -> Result<()> {
        loop {
            self.drain_pool_events().await?;
            let state = self.pool.state();
            if state == target {
                return Ok(());
            }
            if matches!(state, RunspacePoolState::Broken | RunspacePoolState::Closed) {
                return Err(Error::Broken(format!(
                    "the RunspacePool became {state:?} instead of {target:?}"
                )));
            }
            self.flush().await?;
            self.receive(None).await?;
        }
    }

    /// Disconnects (Disconnect-PSSession, [MS-PSRP] 3.1.4.9): the session
    /// and its running pipelines stay on the host, buffering output, for
    /// `idle_timeout`.
    pub async fn disconnect(
        &mut self,
        idle_timeout: Option<Duration>,
        buffer_mode: Option<BufferMode>,
    ) -> Result<()> {
        self.release_pending().await?;
        self.pool.begin_disconnect()?;
        self.wsman
            .disconnect(
                &self.resource_uri,
                &self.shell_id,
                idle_timeout,
                buffer_mode,
            )
            .await?;
        self.pool.disconnected()?;
        Ok(())
    }

    /// Reconnects after [`disconnect`](Self::disconnect) from this same
    /// client (WS-Man Reconnect, [MS-PSRP] 3.1.4.10.2).
    pub async fn reconnect(&mut self) -> Result<()> {
        self.wsman
            .reconnect(&self.resource_uri, &self.shell_id)
            .await?;
        self.pool.reconnected()?;
        Ok(())
    }

    /// After [`connect`](Self::connect) from a new client: attaches to a
    /// pipeline still kept on the host (WS-Man Connect with its CommandId)
    /// and returns it to receive its buffered and further output
    /// ([MS-PSRP] 3.1.4.10).
    pub async fn receive_pipeline(&mut self, pipeline_id: Uuid) -> Result<Pipeline<'_>> {
        self.release_pending().await?;
        self.pool.adopt_pipeline(pipeline_id)?;
        let id = guid_text(pipeline_id);
        self.wsman
            .connect(
                &self.resource_uri,
                &self.shell_id,
                Some(&id),
                None,
                Vec::new(),
            )
            .await?;
        Ok(Pipeline::new(self, pipeline_id))
    }

    /// Stops a pipeline running on the host, such as one left running by
    /// [`start`](Self::start) (Stop-Job): the stop Signal of [MS-PSRP]
    /// 3.1.4.6 and 3.1.5.3.9. Its end (Stopped) is received with
    /// [`receive_pipeline`](Self::receive_pipeline) or not at all.
    pub async fn stop(&mut self, pipeline_id: Uuid) -> Result<()> {
        self.signal_stop(pipeline_id).await
    }

    /// Stops a running pipeline (PowerShell's stop signal).
    pub(crate) async fn signal_stop(&mut self, pipeline_id: Uuid) -> Result<()> {
        self.pool.stop(pipeline_id)?;
        let id = self.command_id(pipeline_id);
        self.wsman
            .signal(
                &self.resource_uri,
                &self.shell_id,
                Some(&id),
                ns::signal::PS_CTRL_C,
            )
            .await?;
        Ok(())
    }

    /// Marks a finished pipeline for release on the host (Signal
    /// terminate, as PowerShell sends after a pipeline ends): the Signal
    /// goes out with [`release_pending`](Self::release_pending), before
    /// the session's next operation that needs it, so the caller sees the
    /// pipeline's end a round trip earlier.
    pub(crate) fn release_pipeline(&mut self, pipeline_id: Uuid) {
        let id = self.command_id(pipeline_id);
        self.command_ids.forget(pipeline_id);
        let _ = self.pool.close_pipeline(pipeline_id);
        if !self.pending_releases.contains(&id) {
            self.pending_releases.push(id);
        }
    }

    /// Sends the releases (Signal terminate, [MS-PSRP] 3.1.5.3.9, [MS-WSMV]
    /// 3.1.4.12) of the pipelines that finished since the last one: the
    /// host counts a command against MaxConcurrentCommandsPerShell until
    /// it is terminated, whether or not it finished. The session sends
    /// them itself before a Command, a pipeline's Connect and Disconnect,
    /// and not before Delete ([`close`](Self::close)), which frees every
    /// command of the shell. Call it before leaving a session on the host
    /// by dropping it.
    ///
    /// A release whose answer was lost is sent once more; one the host
    /// refuses with a fault (the command is gone, for instance because
    /// the first copy was carried out) is done; one that still cannot
    /// reach the host stays pending and the error is returned.
    ///
    /// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
    /// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
    pub async fn release_pending(&mut self) -> Result<()> {
        let mut asked_again = false;
        while let Some(id) = self.pending_releases.first().cloned() {
            let r = self
                .wsman
                .signal(
                    &self.resource_uri,
                    &self.shell_id,
                    Some(&id),
                    ns::signal::TERMINATE,
                )
                .await;
            match r {
                Ok(_) => {}
                Err(wsman::Error::Fault(f)) => {
                    tracing::debug!(command_id = %id, fault = %f, "the host refused the release of a finished pipeline; it is taken as released");
                }
                // The answer was lost: the Signal is sent once more; a
                // host that carried out the first answers with a fault.
                Err(e) if wsman::transport::maybe_delivered(&e) && !asked_again => {
                    tracing::info!(command_id = %id, error = %e, "the answer to a release was lost; sending it again");
                    asked_again = true;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            asked_again = false;
            self.pending_releases.remove(0);
        }
        Ok(())
    }

    /// The CommandIds of finished pipelines whose release is not sent yet
    /// (see [`release_pending`](Self::release_pending)).
    pub fn pending_releases(&self) -> &[String] {
        &self.pending_releases
    }

    /// The WS-Man CommandId of a pipeline: its id, unless the host chose
    /// another ([MS-PSRP] 3.1.5.3.5).
    fn command_id(&self, pipeline_id: Uuid) -> String {
        self.command_ids.get(pipeline_id)
    }

    /// The state the pool knows a pipeline in.
    pub fn pipeline_state(&self, pipeline_id: Uuid) -> Option<PSInvocationState> {
        self.pool.pipeline_state(pipeline_id)
    }

    /// Removes the session from the host (Remove-PSSession): WS-Man Delete
    /// ([MS-PSRP] 3.1.4.2, 3.1.5.3.11). Pending releases are not sent:
    /// the Delete frees every command of the shell.
    pub async fn close(mut self) -> Result<()> {
        self.pending_releases.clear();
        self.pool.begin_close()?;
        self.wsman
            .delete_shell(&self.resource_uri, &self.shell_id)
            .await?;
        self.pool.closed()?;
        Ok(())
    }

    pub(crate) fn pool_mut(&mut self) -> &mut RunspacePool {
        &mut self.pool
    }
}

/// A Connect to a shell the host does not have becomes SessionNotFound.
fn not_found_as(e: wsman::Error, id: Uuid, info: &ConnectionInfo) -> Error {
    match &e {
        wsman::Error::Fault(f) if f.kind() == wsman::fault::FaultKind::ShellNotFound => {
            Error::SessionNotFound(format!(
                "{} has no session {id} for this user (it may have been removed or timed out): {e}",
                info.computer_name()
            ))
        }
        _ if wsman::transport::maybe_delivered(&e) => Error::Wsman(wsman::Error::Transport {
            message: format!(
                "the answer to Connect from {} was lost with the connection; session {id} is \
                 still on the host, its output kept there: connect to it again (`wsman session \
                 receive {id}` or `session connect {id}`, PsSession::connect)",
                info.computer_name()
            ),
            source: Some(Box::new(e)),
        }),
        _ => Error::Wsman(e),
    }
}

/// A host that answers nothing, for sessions opened without one.
pub fn null_host() -> Box<dyn Host> {
    Box::new(NullHost)
}
