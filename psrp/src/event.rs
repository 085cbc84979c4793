//! What the client RunspacePool reports: [`Event`]s, polled with
//! [`RunspacePool::next_event`](crate::RunspacePool::next_event).

use uuid::Uuid;

use crate::clixml::Value;
use crate::messages::{Availability, HostCall, SessionCapability, UserEvent};
use crate::types::{
    ErrorRecord, InformationRecord, InformationalRecord, PSInvocationState, PrimitiveDictionary,
    ProgressRecord, RunspacePoolState,
};

/// One thing that happened, in the order the messages arrived.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The RunspacePool changed state (RUNSPACEPOOL_STATE, or a disconnect,
    /// connect or close the transport reported).
    RunspacePoolState {
        /// The new state.
        state: RunspacePoolState,
        /// Why it broke or closed, when the server said.
        error: Option<ErrorRecord>,
    },
    /// The server's SESSION_CAPABILITY.
    SessionCapability(SessionCapability),
    /// APPLICATION_PRIVATE_DATA (PSVersionTable and the like).
    ApplicationPrivateData(Option<PrimitiveDictionary>),
    /// RUNSPACEPOOL_INIT_DATA after a connect: the pool's size.
    RunspacePoolInitData {
        /// MinRunspaces.
        min_runspaces: i32,
        /// MaxRunspaces.
        max_runspaces: i32,
    },
    /// RUNSPACE_AVAILABILITY: the answer to set_max_runspaces,
    /// set_min_runspaces, get_available_runspaces or reset_runspace_state.
    RunspaceAvailability {
        /// The call id the request returned.
        ci: i64,
        /// Success, or the number of available runspaces.
        response: Availability,
    },
    /// USER_EVENT.
    UserEvent(UserEvent),
    /// The session key exchange finished: SecureStrings can be sent and read.
    KeyExchanged,
    /// A pipeline changed state (PIPELINE_STATE, or a stop or disconnect).
    PipelineState {
        /// The pipeline.
        pipeline_id: Uuid,
        /// The new state.
        state: PSInvocationState,
        /// Why it failed or stopped, when the server said.
        error: Option<ErrorRecord>,
    },
    /// PIPELINE_OUTPUT: one output object.
    Output {
        /// The pipeline.
        pipeline_id: Uuid,
        /// The object.
        value: Value,
    },
    /// ERROR_RECORD.
    Error {
        /// The pipeline.
        pipeline_id: Uuid,
        /// The record.
        record: ErrorRecord,
    },
    /// WARNING_RECORD.
    Warning {
        /// The pipeline.
        pipeline_id: Uuid,
        /// The record.
        record: InformationalRecord,
    },
    /// VERBOSE_RECORD.
    Verbose {
        /// The pipeline.
        pipeline_id: Uuid,
        /// The record.
        record: InformationalRecord,
    },
    /// DEBUG_RECORD.
    Debug {
        /// The pipeline.
        pipeline_id: Uuid,
        /// The record.
        record: InformationalRecord,
    },
    /// INFORMATION_RECORD.
    Information {
        /// The pipeline.
        pipeline_id: Uuid,
        /// The record.
        record: InformationRecord,
    },
    /// PROGRESS_RECORD.
    Progress {
        /// The pipeline.
        pipeline_id: Uuid,
        /// The record.
        record: ProgressRecord,
    },
    /// RUNSPACEPOOL_HOST_CALL (`pipeline_id` None) or PIPELINE_HOST_CALL.
    /// Answer with [`RunspacePool::host_response`](crate::RunspacePool::host_response)
    /// when [`HostCall::ci`] is not -100 and the method returns a value.
    HostCall {
        /// The pipeline, or `None` for the pool.
        pipeline_id: Option<Uuid>,
        /// The call.
        call: HostCall,
    },
}
