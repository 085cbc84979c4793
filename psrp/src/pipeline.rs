//! The client side of a pipeline ([MS-PSRP] 3.1.1.2.6 pipeline table,
//! 3.1.4.4 to 3.1.4.7): its state and whether it still takes input. The
//! [`RunspacePool`](crate::RunspacePool) owns every pipeline and routes
//! calls and messages by pipeline id.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use crate::types::PSInvocationState;

/// One entry of the pool's pipeline table.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    /// NotStarted, Running, Stopping, Stopped, Completed, Failed or
    /// Disconnected ([MS-PSRP] 2.2.3.5).
    pub(crate) state: PSInvocationState,
    /// Whether PIPELINE_INPUT may still be sent.
    pub(crate) input_open: bool,
}

impl Pipeline {
    pub(crate) fn new(state: PSInvocationState, input_open: bool) -> Self {
        Pipeline { state, input_open }
    }
}
