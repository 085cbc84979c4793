//! Invoke-Command -ComputerName from Rust: a script in a temporary session
//! that leaves nothing behind ([`invoke_command`]), and the same on many
//! hosts at once with a throttle ([`invoke_on_hosts`]), each host's result
//! tagged with the host and one host's failure not stopping the others.
use std::sync::Arc;

use crate::host::{Host, NullHost};
use crate::session::{PipelineResult, PsSession, SessionOptions};
use crate::{ConnectionInfo, Result};

/// Runs `script` in a temporary session on one host: opened, run to its
/// end, removed (also when the script fails).
pub async fn invoke_command(
    info: &ConnectionInfo,
    script: &str,
    host: Box<dyn Host>,
) -> Result<PipelineResult> {
    let mut session = PsSession::open(info, SessionOptions::default(), host).await?;
    let result = session.run(script).await;
    let closed = session.close().await;
    let result = result?;
    closed?;
    Ok(result)
}

/// One host's outcome in [`invoke_on_hosts`].
#[derive(Debug)]
pub struct HostResult {
    /// The host's endpoint URL.
    pub computer_name: String,
    /// What the script produced there, or why the host could not run it.
    pub result: Result<PipelineResult>,
}

/// Runs `script` on every host of `infos`, at most `throttle` at once, and
/// returns one [`HostResult`] per host as each finishes.
pub async fn invoke_on_hosts(
    infos: Vec<ConnectionInfo>,
    script: &str,
    throttle: usize,
) -> Vec<HostResult> {
    let limit = Arc::new(tokio::sync::Semaphore::new(throttle.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for info in infos {
        let limit = limit.clone();
        let script = script.to_string();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let result = invoke_command(&info, &script, Box::new(NullHost)).await;
            HostResult {
                computer_name: info.computer_name(),
                result,
            }
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(r) => out.push(r),
            // A panicking task is a bug; keep the others' results.
            Err(e) => tracing::error!("a host task failed: {e}"),
        }
    }
    out
}
