//! A running pipeline: its events stream in the order the host sent them
//! ([MS-PSRP] 3.1.4.4 to 3.1.4.6).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use psrp::clixml::Value;
use psrp::types::{
    ErrorRecord, InformationRecord, InformationalRecord, PSInvocationState, ProgressRecord,
};
use psrp::Event;
use uuid::Uuid;

use super::PsSession;
use crate::Result;

/// One thing a pipeline produced.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineEvent {
    /// An output object.
    Output(Value),
    /// An error record (Write-Error, a non-terminating error).
    Error(ErrorRecord),
    /// Write-Warning.
    Warning(InformationalRecord),
    /// Write-Verbose.
    Verbose(InformationalRecord),
    /// Write-Debug.
    Debug(InformationalRecord),
    /// Write-Information.
    Information(InformationRecord),
    /// Write-Progress.
    Progress(ProgressRecord),
    /// The pipeline ended: Completed, Failed (with the terminating error)
    /// or Stopped. Always the last event.
    Finished {
        /// The final state.
        state: PSInvocationState,
        /// The terminating error of a failed pipeline.
        error: Option<ErrorRecord>,
    },
}

/// Everything a pipeline produced, collected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineResult {
    /// Output objects, in order.
    pub output: Vec<Value>,
    /// Error records.
    pub errors: Vec<ErrorRecord>,
    /// Warnings.
    pub warnings: Vec<InformationalRecord>,
    /// Verbose messages.
    pub verbose: Vec<InformationalRecord>,
    /// Debug messages.
    pub debug: Vec<InformationalRecord>,
    /// Information records.
    pub information: Vec<InformationRecord>,
    /// Progress records.
    pub progress: Vec<ProgressRecord>,
    /// The final state (Completed, Failed or Stopped).
    pub state: Option<PSInvocationState>,
    /// The terminating error of a failed pipeline.
    pub error: Option<ErrorRecord>,
}

impl PipelineResult {
    /// Adds one event to the collection.
    pub fn add(&mut self, e: PipelineEvent) {
        match e {
            PipelineEvent::Output(v) => self.output.push(v),
            PipelineEvent::Error(e) => self.errors.push(e),
            PipelineEvent::Warning(w) => self.warnings.push(w),
            PipelineEvent::Verbose(w) => self.verbose.push(w),
            PipelineEvent::Debug(w) => self.debug.push(w),
            PipelineEvent::Information(i) => self.information.push(i),
            PipelineEvent::Progress(p) => self.progress.push(p),
            PipelineEvent::Finished { state, error } => {
                self.state = Some(state);
                self.error = error;
            }
        }
    }

    /// Whether the pipeline failed or wrote errors (`wsman` exits 1 then).
    pub fn had_errors(&self) -> bool {
        !self.errors.is_empty() || self.state != Some(PSInvocationState::Completed)
    }
}

/// A pipeline running in a [`PsSession`]; borrows the session until it ends.
///
/// Read its events with [`Pipeline::next`] or as a `Stream`
/// ([`Pipeline::into_stream`]). Dropping it before
/// [`PipelineEvent::Finished`] stops nothing: the command goes on running on
/// the host, its output buffered there; [`PsSession::stop`] stops it.
pub struct Pipeline<'a> {
    session: &'a mut PsSession,
    id: Uuid,
    finished: bool,
    released: bool,
}

impl std::fmt::Debug for Pipeline<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("id", &self.id)
            .field("finished", &self.finished)
            .finish()
    }
}

impl<'a> Pipeline<'a> {
    pub(super) fn new(session: &'a mut PsSession, id: Uuid) -> Self {
        Pipeline {
            session,
            id,
            finished: false,
            released: false,
        }
    }

    /// The pipeline id, which is also the WS-Man CommandId.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The next of this pipeline's events the pool has queued, taken one at
    /// a time (a Receive's thousands of outputs are not copied into a second
    /// queue); host calls met on the way are answered, other events handled
    /// by the session.
    /// `None` when nothing is queued: [`next`](Self::next) would then wait
    /// on the network (a caller batching its output flushes it first).
    pub async fn next_queued(&mut self) -> Result<Option<PipelineEvent>> {
        while let Some(ev) = self.session.pool_mut().next_event() {
            let mine = |pid: Uuid| pid == self.id;
            let e = match ev {
                Event::Output { pipeline_id, value } if mine(pipeline_id) => {
                    PipelineEvent::Output(value)
                }
                Event::Error {
                    pipeline_id,
                    record,
                } if mine(pipeline_id) => PipelineEvent::Error(record),
                Event::Warning {
                    pipeline_id,
                    record,
                } if mine(pipeline_id) => PipelineEvent::Warning(record),
                Event::Verbose {
                    pipeline_id,
                    record,
                } if mine(pipeline_id) => PipelineEvent::Verbose(record),
                Event::Debug {
                    pipeline_id,
                    record,
                } if mine(pipeline_id) => PipelineEvent::Debug(record),
                Event::Information {
                    pipeline_id,
                    record,
                } if mine(pipeline_id) => PipelineEvent::Information(record),
                Event::Progress {
                    pipeline_id,
                    record,
                } if mine(pipeline_id) => PipelineEvent::Progress(record),
                Event::PipelineState {
                    pipeline_id,
                    state,
                    error,
                } if mine(pipeline_id) => {
                    if state.is_terminal() {
                        self.finished = true;
                        PipelineEvent::Finished { state, error }
                    } else {
                        continue;
                    }
                }
                Event::HostCall { call, .. } => {
                    self.session.answer_host_call(call).await?;
                    continue;
                }
                other => {
                    self.session.handle_pool_event(other)?;
                    continue;
                }
            };
            return Ok(Some(e));
        }
        Ok(None)
    }

    /// The next event, receiving from the host as needed; `None` after
    /// [`PipelineEvent::Finished`].
    pub async fn next(&mut self) -> Result<Option<PipelineEvent>> {
        loop {
            if let Some(e) = self.next_queued().await? {
                return Ok(Some(e));
            }
            if self.finished {
                if !self.released {
                    self.released = true;
                    // Sent before the session's next operation that needs it.
                    self.session.release_pipeline(self.id);
                }
                return Ok(None);
            }
            // Host responses and input go out before the next Receive.
            self.session.flush().await?;
            self.session.receive(Some(self.id)).await?;
        }
    }

    /// Sends one input object ([MS-PSRP] 3.1.4.5).
    pub async fn send_input(&mut self, value: Value) -> Result<()> {
        self.session.pool_mut().send_input(self.id, value)?;
        self.session.flush().await
    }

    /// Sends every object of `values` and ends the input, packed into as
    /// few WS-Man Sends as fit ([MS-PSRP] 3.1.4.5): a pipeline fed from a
    /// collection, as `$list | Invoke-Command -Session`.
    pub async fn send_all_input(&mut self, values: impl IntoIterator<Item = Value>) -> Result<()> {
        let pool = self.session.pool_mut();
        for v in values {
            pool.send_input(self.id, v)?;
        }
        pool.close_input(self.id)?;
        self.session.flush().await
    }

    /// Queues one input object without sending it yet ([MS-PSRP] 3.1.4.5);
    /// [`send_queued_input`](Self::send_queued_input) sends what is queued,
    /// packed into as few WS-Man Sends as fit. For streaming many small
    /// objects with bounded memory: queue some, send, queue more.
    pub fn queue_input(&mut self, value: Value) -> Result<()> {
        self.session.pool_mut().send_input(self.id, value)?;
        Ok(())
    }

    /// Queues one input object, the string that is the base64 of `bytes`,
    /// without sending it yet ([MS-PSRP] 3.1.4.5): encoded straight into
    /// the message, for a file's chunks
    /// ([`RunspacePool::send_input_base64`](psrp::RunspacePool::send_input_base64)).
    pub fn queue_input_base64(&mut self, bytes: &[u8]) -> Result<()> {
        self.session.pool_mut().send_input_base64(self.id, bytes)?;
        Ok(())
    }

    /// Sends the input queued by [`queue_input`](Self::queue_input).
    pub async fn send_queued_input(&mut self) -> Result<()> {
        self.session.flush().await
    }

    /// Ends the input: END_OF_PIPELINE_INPUT ([MS-PSRP] 3.1.4.5).
    pub async fn close_input(&mut self) -> Result<()> {
        self.session.pool_mut().close_input(self.id)?;
        self.session.flush().await
    }

    /// Asks the host to stop the pipeline (a Signal, [MS-PSRP] 3.1.4.6,
    /// 3.1.5.3.9); keep calling [`next`](Self::next) to see it end as
    /// Stopped.
    pub async fn stop(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.session.signal_stop(self.id).await
    }

    /// Runs the pipeline to its end, collecting everything.
    pub async fn collect(mut self) -> Result<PipelineResult> {
        let mut r = PipelineResult::default();
        while let Some(e) = self.next().await? {
            r.add(e);
        }
        Ok(r)
    }
}

impl<'a> Pipeline<'a> {
    /// The events as a [`Stream`](futures_core::Stream), for code built on
    /// stream combinators; it ends after [`PipelineEvent::Finished`] or
    /// after the first error.
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<PipelineEvent>> + 'a {
        futures_util::stream::unfold(Some(self), |state| async move {
            let mut pipeline = state?;
            match pipeline.next().await {
                Ok(Some(event)) => Some((Ok(event), Some(pipeline))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}
