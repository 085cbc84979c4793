//! Several pipelines running at once in one PSSession: a RunspacePool runs
//! up to MaxRunspaces pipelines at the same time, each in a runspace of its
//! own ([MS-PSRP] 3.1.4.2, 3.1.4.4), as `Invoke-Command -Session $s -AsJob`
//! started several times or `ForEach-Object -Parallel` in a pool.
//!
//! See [`ConcurrentPipelines`] for the connections, the queueing beyond
//! MaxRunspaces and what a failure ends.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::collections::VecDeque;

use psrp::types::{Command, ErrorRecord, PSInvocationState, PowerShell};
use psrp::Event;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;
use wsman::client::Client as WsmanClient;

use super::{InvokeOptions, PipelineEvent, PipelineResult, PsSession};
use crate::binding::RECEIVE_STREAM;
use crate::{Error, Result};

/// Reports in flight from the Receive tasks to the session: bounded, so a
/// caller that stops reading stops the Receives (the host buffers).
const CHANNEL_DEPTH: usize = 64;

/// ErrorCategory ConnectionError ([MS-PSRP] 2.2.3.15).
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
const CONNECTION_ERROR: i32 = 27;

/// What a pipeline's Receive task tells the session.
enum Report {
    /// The decoded bytes of one `rsp:Stream` of the pipeline, in wire
    /// order (its fragments carry the pipeline's id).
    Data(Vec<u8>),
    /// The host reported the command Done ([MS-WSMV] `CommandState`): no
    /// more data; the connection comes back for the next pipeline.
    Done(Uuid, Box<WsmanClient>),
    /// The pipeline's Receive failed; its connection is given up.
    Failed(Uuid, wsman::Error),
}

/// One pipeline of the group.
struct Member {
    id: Uuid,
    /// The script, until the pipeline is started.
    script: Option<String>,
    /// A Receive task runs for it.
    receiving: bool,
    /// Its [`PipelineEvent::Finished`] is queued.
    finished: bool,
    /// Released on the host (or given up): done with.
    released: bool,
}

impl Member {
    fn running(&self) -> bool {
        self.script.is_none() && !self.released
    }
}

/// Pipelines running at once in a [`PsSession`], started by
/// [`PsSession::invoke_many`]: their events stream as they arrive from any
/// of them, each tagged with its pipeline id ([`next`](Self::next)), or
/// are collected per pipeline ([`collect`](Self::collect)). Borrows the
/// session until dropped.
///
/// **Connections.** A Receive for a pipeline with nothing to say waits on
/// the host up to the OperationTimeout ([MS-WSMV] 3.1.4.14), and an HTTP/1.1
/// connection carries one request at a time, so pipelines cannot take
/// turns on one connection: PowerShell keeps one Receive outstanding per
/// running command. Here each running pipeline gets a connection of its own
/// (a new authenticated one, same ShellId and resource URI), used only for
/// that pipeline's Receives by a tokio task that forwards the `rsp:Stream`
/// bytes, in wire order, over a bounded channel. The session's own
/// connection stays free for what the client says: the Commands that start
/// the pipelines, the Sends that answer host calls, the Signals that release
/// finished pipelines. So host calls are answered at once, whichever
/// pipeline makes them, and N pipelines at once cost N extra connections
/// (each with its authentication); a connection whose pipeline ended is
/// reused for the next queued one of the same group, and closed when the
/// group is dropped.
///
/// **MaxRunspaces.** More scripts than the pool's MaxRunspaces
/// ([`PsSession::max_runspaces`]) are queued here, in order, and each
/// starts when an earlier one ended and was released: the host would run
/// no more at once anyway (it queues them itself), and a queued pipeline
/// would hold a connection for nothing.
///
/// **Failures.** A Receive connection that fails (beyond the transport's
/// own resend of a Receive on a new connection; there is no retrying within
/// the session's reconnect window here, unlike a single pipeline's
/// Receives) fails its pipeline only: it ends with
/// [`PipelineEvent::Finished`] in state Failed and an error record saying
/// why (FullyQualifiedErrorId `ReceiveConnectionFailed`), the host is told
/// to terminate it, and the others go on; the same for a Command the host
/// answered with a fault (`CommandRefused`). Malformed PSRP data, a broken
/// RunspacePool, or a failure of the session's own connection fail them
/// all (an `Err` from [`next`](Self::next)), as the pipelines share the
/// pool's reassembler and the session's connection.
///
/// Dropping it before the end stops its Receive tasks;
/// the pipelines still running are left on the host, as a dropped
/// [`Pipeline`](super::Pipeline) is.
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
pub struct ConcurrentPipelines<'a> {
    session: &'a mut PsSession,
    members: Vec<Member>,
    /// How many may run at once: the pool's MaxRunspaces.
    limit: usize,
    queued: VecDeque<(Uuid, PipelineEvent)>,
    tx: mpsc::Sender<Report>,
    rx: mpsc::Receiver<Report>,
    tasks: Vec<JoinHandle<()>>,
    /// Receive connections whose pipeline ended, for the next one.
    spare: Vec<WsmanClient>,
}

impl std::fmt::Debug for ConcurrentPipelines<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConcurrentPipelines")
            .field("ids", &self.ids())
            .field("limit", &self.limit)
            .finish()
    }
}

impl Drop for ConcurrentPipelines<'_> {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl PsSession {
    /// Starts `scripts` as pipelines that run at the same time, up to the
    /// pool's MaxRunspaces ([`max_runspaces`](Self::max_runspaces), set with
    /// [`SessionOptions::max_runspaces`](super::SessionOptions::max_runspaces)
    /// or [`set_max_runspaces`](Self::set_max_runspaces)); the rest are
    /// queued and start, in order, as earlier ones end. Each is a WS-Man
    /// Command on the session's connection; each running one receives on a
    /// connection of its own ([MS-PSRP] 3.1.4.4, 3.1.5.3.7), received by a
    /// task spawned on the current tokio runtime.
    ///
    /// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
    pub async fn invoke_many(&mut self, scripts: &[&str]) -> Result<ConcurrentPipelines<'_>> {
        let limit = usize::try_from(self.max_runspaces()).unwrap_or(1).max(1);
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let members = scripts
            .iter()
            .map(|s| Member {
                id: self.pool.new_pipeline_id(),
                script: Some((*s).to_string()),
                receiving: false,
                finished: false,
                released: false,
            })
            .collect();
        let mut group = ConcurrentPipelines {
            session: self,
            members,
            limit,
            queued: VecDeque::new(),
            tx,
            rx,
            tasks: Vec::new(),
            spare: Vec::new(),
        };
        group.start_queued().await?;
        Ok(group)
    }

    /// Runs `scripts` at once as [`invoke_many`](Self::invoke_many) does,
    /// to their ends; one result per script, in the order of the scripts,
    /// with its pipeline id.
    pub async fn run_many(&mut self, scripts: &[&str]) -> Result<Vec<(Uuid, PipelineResult)>> {
        self.invoke_many(scripts).await?.collect().await
    }

    /// A new connection for a pipeline's Receives, with this session's
    /// settings (OperationTimeout, MaxEnvelopeSize, locale, SessionId).
    fn receive_connection(&self) -> Result<WsmanClient> {
        let mut c = self.info.wsman_client()?;
        *c.options_mut() = self.wsman.options().clone();
        c.inherit_robust(&self.wsman);
        Ok(c)
    }
}

impl ConcurrentPipelines<'_> {
    /// The pipeline ids (= CommandIds unless the host chose others), in
    /// the order of the scripts; queued ones included.
    pub fn ids(&self) -> Vec<Uuid> {
        self.members.iter().map(|m| m.id).collect()
    }

    /// The next event of any of the pipelines, with its pipeline id, in the
    /// order they arrive; each pipeline's events in its own order, its
    /// [`PipelineEvent::Finished`] last. `None` once all have finished and
    /// been released on the host.
    pub async fn next(&mut self) -> Result<Option<(Uuid, PipelineEvent)>> {
        loop {
            self.drain()?;
            if let Some(e) = self.queued.pop_front() {
                return Ok(Some(e));
            }
            // Host calls (queued by the session while sorting) are
            // answered once the events before them are out.
            if self.session.answer_pending_host_calls().await? {
                continue;
            }
            self.release_finished();
            self.start_queued().await?;
            self.drain()?;
            if !self.queued.is_empty() {
                continue;
            }
            if self.members.iter().all(|m| m.released) {
                return Ok(None);
            }
            if !self.members.iter().any(|m| m.receiving) {
                return Err(Error::Broken(
                    "concurrent pipelines: nothing left to receive from but not all ended".into(),
                ));
            }
            // Host responses go out before waiting for more.
            self.session.flush().await?;
            let report = self
                .rx
                .recv()
                .await
                .ok_or_else(|| Error::Broken("the Receive tasks ended".into()))?;
            self.handle(report)?;
        }
    }

    /// Stops one of the pipelines: a running one gets PowerShell's stop
    /// Signal on the session's connection ([MS-PSRP] 3.1.4.6, 3.1.5.3.9)
    /// and ends as Stopped, seen by [`next`](Self::next); a queued one is
    /// never started and ends as Stopped at once. Nothing for one that
    /// already ended.
    ///
    /// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
    pub async fn stop(&mut self, pipeline_id: Uuid) -> Result<()> {
        let Some(m) = self.member(pipeline_id) else {
            return Err(Error::Usage(format!(
                "pipeline {pipeline_id} is not one of this group"
            )));
        };
        if m.finished {
            return Ok(());
        }
        if m.script.take().is_some() {
            m.finished = true;
            m.released = true;
            self.queued.push_back((
                pipeline_id,
                PipelineEvent::Finished {
                    state: PSInvocationState::Stopped,
                    error: None,
                },
            ));
            return Ok(());
        }
        self.session.signal_stop(pipeline_id).await
    }

    /// Runs every pipeline to its end; one result per script, in the order
    /// of the scripts, with its pipeline id.
    pub async fn collect(mut self) -> Result<Vec<(Uuid, PipelineResult)>> {
        let mut results: Vec<(Uuid, PipelineResult)> = self
            .members
            .iter()
            .map(|m| (m.id, PipelineResult::default()))
            .collect();
        while let Some((id, e)) = self.next().await? {
            if let Some((_, r)) = results.iter_mut().find(|(p, _)| *p == id) {
                r.add(e);
            }
        }
        Ok(results)
    }

    fn member(&mut self, id: Uuid) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }

    /// Feeds a report to the pool in arrival order.
    fn handle(&mut self, report: Report) -> Result<()> {
        match report {
            Report::Data(data) => {
                self.session.pool.receive_data(&data)?;
            }
            Report::Done(id, wsman) => {
                self.spare.push(*wsman);
                self.receive_ended(id, None)?;
            }
            Report::Failed(id, e) => {
                tracing::warn!(pipeline = %id, error = %e, "a pipeline's Receive connection failed");
                self.receive_ended(id, Some(e))?;
            }
        }
        Ok(())
    }

    /// A pipeline's Receives ended: everything it sent was fed, so a
    /// pipeline without its final state by now failed.
    fn receive_ended(&mut self, id: Uuid, error: Option<wsman::Error>) -> Result<()> {
        self.drain()?;
        let Some(m) = self.member(id) else {
            return Ok(());
        };
        m.receiving = false;
        if m.finished {
            return Ok(());
        }
        let message = match error {
            Some(e) => format!(
                "lost the output of pipeline {id}: the connection receiving it failed ({e}); \
                 the host is told to terminate it"
            ),
            None => format!("the host ended pipeline {id} without its final state"),
        };
        self.fail(id, "ReceiveConnectionFailed", &message);
        Ok(())
    }

    /// Ends a pipeline here as Failed with `message`.
    fn fail(&mut self, id: Uuid, error_id: &str, message: &str) {
        if let Some(m) = self.member(id) {
            m.finished = true;
        }
        let record = ErrorRecord::new(message, error_id, CONNECTION_ERROR);
        self.queued.push_back((
            id,
            PipelineEvent::Finished {
                state: PSInvocationState::Failed,
                error: Some(record),
            },
        ));
    }

    /// Sorts the pool's queued events: ours tagged into `queued`, host
    /// calls answered, the rest handled by the session.
    fn drain(&mut self) -> Result<()> {
        while let Some(ev) = self.session.pool.next_event() {
            let (id, e) = match sort(ev) {
                Sorted::Pipeline(id, e) => (id, e),
                Sorted::Skip => continue,
                Sorted::Pool(other) => {
                    self.session.handle_pool_event(other)?;
                    continue;
                }
            };
            let Some(m) = self.member(id) else { continue };
            if m.finished {
                continue;
            }
            if matches!(e, PipelineEvent::Finished { .. }) {
                m.finished = true;
            }
            self.queued.push_back((id, e));
        }
        Ok(())
    }

    /// Marks for release on the host (Signal terminate) the pipelines that
    /// finished and whose Receives ended, as PowerShell does; the session
    /// sends the Signals before its next Command (a queued pipeline's
    /// start), Connect or Disconnect ([`PsSession::release_pending`]).
    fn release_finished(&mut self) {
        for i in 0..self.members.len() {
            let m = &self.members[i];
            if !m.finished || m.receiving || m.released || m.script.is_some() {
                continue;
            }
            let id = m.id;
            self.members[i].released = true;
            // A pipeline that failed here may be gone from the host
            // already: the session takes a fault to its release as done.
            self.session.release_pipeline(id);
        }
    }

    /// Starts queued pipelines while fewer than MaxRunspaces run.
    async fn start_queued(&mut self) -> Result<()> {
        loop {
            let running = self.members.iter().filter(|m| m.running()).count();
            if running >= self.limit {
                return Ok(());
            }
            let Some(i) = self.members.iter().position(|m| m.script.is_some()) else {
                return Ok(());
            };
            let id = self.members[i].id;
            let script = self.members[i].script.take().unwrap_or_default();
            self.start(id, &script).await?;
        }
    }

    /// Starts one pipeline (WS-Man Command on the session's connection)
    /// and its Receive task.
    async fn start(&mut self, id: Uuid, script: &str) -> Result<()> {
        let ps = PowerShell::new(vec![Command::script(script)]);
        let started = self
            .session
            .start_pipeline_as(Some(id), ps, InvokeOptions::default())
            .await;
        match started {
            Ok(_) => {}
            Err(Error::Wsman(wsman::Error::Fault(f))) => {
                // The host refused this one (a quota, say): the others go
                // on, and there is nothing to release on the host.
                let message = format!("the host refused to start pipeline {id}: {f}");
                self.fail(id, "CommandRefused", &message);
                if let Some(m) = self.member(id) {
                    m.released = true;
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let wsman = match self.spare.pop() {
            Some(c) => c,
            None => self.session.receive_connection()?,
        };
        let command_id = self.session.command_id(id);
        let task = receive_loop(
            wsman,
            self.session.resource_uri.clone(),
            self.session.shell_id.clone(),
            command_id,
            id,
            self.tx.clone(),
        );
        self.tasks.retain(|t| !t.is_finished());
        self.tasks.push(tokio::spawn(task));
        if let Some(m) = self.member(id) {
            m.receiving = true;
        }
        Ok(())
    }
}

/// How many times in a row a pipeline's Receive connection may fail to
/// reach the host (connect, authenticate; a lost answer is retransmitted
/// by the client) before the pipeline is given up, and the first wait.
const RECEIVE_ATTEMPTS: u32 = 5;
const RECEIVE_BACKOFF: std::time::Duration = std::time::Duration::from_millis(250);

/// Receives for one pipeline on its own connection until the host says
/// Done, forwarding each `rsp:Stream`'s bytes; `w:TimedOut` (nothing to say
/// within the OperationTimeout) is asked again. A network failure is tried
/// again a few times (a Receive whose answer was lost is then retransmitted,
/// [MS-WSMV] 3.1.4.1.39); a lost answer that cannot be had again ends it.
///
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
async fn receive_loop(
    mut wsman: WsmanClient,
    resource_uri: String,
    shell_id: String,
    command_id: String,
    id: Uuid,
    tx: mpsc::Sender<Report>,
) {
    let mut failures = 0;
    loop {
        let r = wsman
            .receive_once(&resource_uri, &shell_id, Some(&command_id), RECEIVE_STREAM)
            .await;
        match r {
            Err(e)
                if failures + 1 < RECEIVE_ATTEMPTS
                    && !wsman::transport::answer_lost(&e)
                    && matches!(
                        e,
                        wsman::Error::Transport {
                            source: Some(_),
                            ..
                        } | wsman::Error::Timeout { .. }
                    ) =>
            {
                tracing::warn!(pipeline = %id, error = %e, "a pipeline's Receive failed; trying again");
                tokio::time::sleep(RECEIVE_BACKOFF * 2u32.pow(failures)).await;
                failures += 1;
                continue;
            }
            Ok(_) => failures = 0,
            Err(_) => {}
        }
        match r {
            Ok(None) => {}
            Ok(Some(r)) => {
                for s in r.streams {
                    if !s.data.is_empty() && tx.send(Report::Data(s.data)).await.is_err() {
                        return;
                    }
                }
                if r.command_state.is_some_and(|c| c.is_done()) {
                    let _ = tx.send(Report::Done(id, Box::new(wsman))).await;
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Report::Failed(id, e)).await;
                return;
            }
        }
    }
}

/// A pool event, sorted.
enum Sorted {
    /// An event of a pipeline.
    Pipeline(Uuid, PipelineEvent),
    /// A pipeline's state that is not final.
    Skip,
    /// An event of the RunspacePool (a host call, among others).
    Pool(Event),
}

/// Sorts a pool event: a pipeline's, with its id, or the pool's.
fn sort(ev: Event) -> Sorted {
    let (id, e) = match ev {
        Event::Output { pipeline_id, value } => (pipeline_id, PipelineEvent::Output(value)),
        Event::Error {
            pipeline_id,
            record,
        } => (pipeline_id, PipelineEvent::Error(record)),
        Event::Warning {
            pipeline_id,
            record,
        } => (pipeline_id, PipelineEvent::Warning(record)),
        Event::Verbose {
            pipeline_id,
            record,
        } => (pipeline_id, PipelineEvent::Verbose(record)),
        Event::Debug {
            pipeline_id,
            record,
        } => (pipeline_id, PipelineEvent::Debug(record)),
        Event::Information {
            pipeline_id,
            record,
        } => (pipeline_id, PipelineEvent::Information(record)),
        Event::Progress {
            pipeline_id,
            record,
        } => (pipeline_id, PipelineEvent::Progress(record)),
        Event::PipelineState {
            pipeline_id,
            state,
            error,
        } => {
            if !state.is_terminal() {
                return Sorted::Skip;
            }
            (pipeline_id, PipelineEvent::Finished { state, error })
        }
        other => return Sorted::Pool(other),
    };
    Sorted::Pipeline(id, e)
}
