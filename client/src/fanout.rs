//! Invoke-Command -ComputerName from Rust: a script in a temporary session
//! that leaves nothing behind ([`invoke_command`]), and the same on many
//! hosts at once with a throttle ([`invoke_on_hosts`]), each host's result
//! tagged with the host and one host's failure not stopping the others.
//!
//! [`throttled`] is the runner under every "many at once" in this crate
//! and in the `wsman` command line (`-ThrottleLimit`): one tokio task per
//! item (no thread per item), at most `throttle` working at a time, each
//! outcome handed back as it finishes. [`SessionGroup`](crate::group::SessionGroup)
//! uses it for a group of PSSessions.
use std::future::Future;
use std::sync::Arc;

use crate::host::{Host, NullHost};
use crate::session::{PipelineResult, PsSession, SessionOptions};
use crate::{ConnectionInfo, Result};

/// Runs `work(index, item)` for every item, at most `throttle` (at least
/// one) at once, each on its own tokio task, and calls `done(index,
/// output)` on the caller's task as each one finishes, in the order they
/// finish. A task that panicked is logged and skipped: the others' outcomes
/// still arrive. Returns when every item is done.
pub async fn throttled<I, T, F, Fut>(
    items: impl IntoIterator<Item = I>,
    throttle: usize,
    mut work: F,
    mut done: impl FnMut(usize, T),
) where
    F: FnMut(usize, I) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let limit = Arc::new(tokio::sync::Semaphore::new(throttle.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, item) in items.into_iter().enumerate() {
        let limit = limit.clone();
        let fut = work(index, item);
        tasks.spawn(async move {
            // The semaphore is never closed: acquiring only waits.
            let _permit = limit.acquire_owned().await;
            (index, fut.await)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, out)) => done(index, out),
            // A panicking task is a bug; keep the others' results.
            Err(e) => tracing::error!("a fan-out task failed: {e}"),
        }
    }
}

/// Like [`throttled`], collecting the outcomes, in the items' order.
pub async fn throttled_collect<I, T, F, Fut>(
    items: impl IntoIterator<Item = I>,
    throttle: usize,
    work: F,
) -> Vec<Option<T>>
where
    F: FnMut(usize, I) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut out: Vec<Option<T>> = Vec::new();
    throttled(items, throttle, work, |i, t| {
        if out.len() <= i {
            out.resize_with(i + 1, || None);
        }
        out[i] = Some(t);
    })
    .await;
    out
}

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
    let mut out = Vec::new();
    throttled(
        infos,
        throttle,
        |_, info| {
            let script = script.to_string();
            async move {
                let result = invoke_command(&info, &script, Box::new(NullHost)).await;
                HostResult {
                    computer_name: info.computer_name(),
                    result,
                }
            }
        },
        |_, r| out.push(r),
    )
    .await;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn never_more_than_throttle_at_once_and_every_item_done() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let out = throttled_collect(0..20u64, 3, |_, n| {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5 + n % 3)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                n * 2
            }
        })
        .await;
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        let values: Vec<u64> = out.into_iter().map(|v| v.unwrap()).collect();
        assert_eq!(values, (0..20).map(|n| n * 2).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_panicking_item_does_not_lose_the_others() {
        let out = throttled_collect(0..4, 2, |_, n| async move {
            assert_ne!(n, 1, "item 1 fails");
            n
        })
        .await;
        assert_eq!(out, [Some(0), None, Some(2), Some(3)]);
    }
}
