//! Keeping a session alive and getting it back: the keep-alive that stops
//! the host from disconnecting an idle session, and the bounded recovery of
//! a Receive after the network dropped.
//!
//! **Idle sessions.** The host disconnects a session whose client sent
//! nothing for its `rsp:IdleTimeOut` ([MS-WSMV] 3.1.4.5 `IdleTimeOut`); an
//! outstanding Receive counts as traffic. PowerShell keeps a Receive on the
//! RunspacePool outstanding for as long as the session is open, marked
//! with the `WSMAN_CMDSHELL_OPTION_KEEPALIVE` option ([MS-WSMV] 3.1.4.14).
//! This crate holds no task per session, so a caller holding a session
//! idle calls [`PsSession::keep_alive`] at least every
//! [`PsSession::keep_alive_interval`]: one pool Receive with a short
//! OperationTimeout, which the host answers with `w:TimedOut` (or with pool
//! messages, which are handled). `wsman enter` does so while the prompt
//! waits for a line.
//!
//! **Network drops.** A Receive whose answer was lost is retransmitted
//! ([MS-WSMV] 3.1.4.1.39 robust connections, see `wsman::client`) so the
//! host sends the answer it kept; a host that keeps nothing makes it a
//! "lost output" error naming the session, never a silent gap. When the
//! host cannot be reached, a pipeline's or the pool's Receive tries again with
//! exponential backoff (250 ms doubling to 5 s) for the session's reconnect
//! window ([`SessionOptions::reconnect_window`], 4 minutes by default, as
//! PowerShell's robust connections), taking the session back with WS-Man
//! Reconnect if the host disconnected it meanwhile. When the window passes,
//! the error says that the session and its pipelines were left on the host
//! and how to get their output: the host keeps the session, turns it
//! Disconnected after its idle timeout and keeps buffering the output, so
//! [`PsSession::connect`] + [`PsSession::receive_pipeline`] (or `wsman
//! session receive`) later gets the rest. Nothing sent by Command or Send
//! is ever repeated (see `wsman::transport`).
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
//! [`SessionOptions::reconnect_window`]: super::SessionOptions::reconnect_window
use std::time::{Duration, Instant};

use psrp::types::RunspacePoolState;
use uuid::Uuid;
use wsman::soap::response::Received;

use super::PsSession;
use crate::binding::{guid_text, RECEIVE_STREAM};
use crate::{Error, Result};

/// How long a Receive keeps trying to reach the host after the network
/// dropped, unless [`SessionOptions::reconnect_window`] says otherwise: 4
/// minutes, as PowerShell's robust connections.
///
/// [`SessionOptions::reconnect_window`]: super::SessionOptions::reconnect_window
pub const DEFAULT_RECONNECT_WINDOW: Duration = Duration::from_secs(240);

/// The OperationTimeout of a keep-alive Receive: how long it waits for pool
/// messages before the host answers `w:TimedOut`.
const KEEP_ALIVE_POLL: Duration = Duration::from_secs(1);

/// Keep-alive interval when the host's idle timeout is not known: well
/// within the 60 s that Windows takes as the smallest IdleTimeout.
const UNKNOWN_IDLE_INTERVAL: Duration = Duration::from_secs(20);

/// The first wait before trying to reach the host again, doubled after
/// each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl PsSession {
    /// The host's idle timeout for this session (`rsp:IdleTimeOut` of its
    /// shell), when known: from the Create answer for sessions made by
    /// [`open`](Self::open) (or what was asked for), and from
    /// [`host_state`](Self::host_state) otherwise. A connected session that
    /// sends nothing for this long is disconnected by the host.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    pub(crate) fn note_idle_timeout(&mut self, idle: Option<Duration>) {
        if idle.is_some() {
            self.idle_timeout = idle;
        }
    }

    /// How often to call [`keep_alive`](Self::keep_alive) while the session
    /// is idle: a third of [`idle_timeout`](Self::idle_timeout), between
    /// 500 ms and 60 s (which also keeps the HTTP connection from being
    /// closed as idle); 20 s when the idle timeout is unknown.
    pub fn keep_alive_interval(&self) -> Duration {
        match self.idle_timeout {
            Some(idle) => (idle / 3).clamp(Duration::from_millis(500), Duration::from_secs(60)),
            None => UNKNOWN_IDLE_INTERVAL,
        }
    }

    /// Tells the host the client is still there, so that an idle session is
    /// not disconnected after its idle timeout: one Receive on the
    /// RunspacePool with `WSMAN_CMDSHELL_OPTION_KEEPALIVE` and an
    /// OperationTimeout of 1 s ([MS-WSMV] 3.1.4.14), what PowerShell keeps
    /// outstanding on an open pool. Pool messages it brings (host calls,
    /// state changes) are handled as usual. Takes up to about a second.
    ///
    /// A Rust program holding a session between pipelines calls it at
    /// least every [`keep_alive_interval`](Self::keep_alive_interval),
    /// e.g. from a `tokio::time::interval` in the task that owns the
    /// session; running pipelines need none (their Receives are traffic).
    /// Does nothing unless the pool is Opened (a disconnected session stays
    /// disconnected). A network failure is handled as for any Receive (see
    /// [`SessionOptions::reconnect_window`](super::SessionOptions::reconnect_window)),
    /// so while the host cannot be reached this can take that long; the
    /// future may be dropped at any point (something else to do): nothing is
    /// lost, and the next request opens a new connection.
    ///
    /// ```no_run
    /// # async fn demo(mut session: pssession::session::PsSession,
    /// #     mut work: tokio::sync::mpsc::Receiver<String>) -> pssession::Result<()> {
    /// // Run scripts as they come; keep the session alive in between.
    /// loop {
    ///     tokio::select! {
    ///         script = work.recv() => match script {
    ///             Some(script) => { session.run(&script).await?; }
    ///             None => break,
    ///         },
    ///         _ = tokio::time::sleep(session.keep_alive_interval()) => {
    ///             session.keep_alive().await?;
    ///         }
    ///     }
    /// }
    /// session.close().await
    /// # }
    /// ```
    ///
    /// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
    pub async fn keep_alive(&mut self) -> Result<()> {
        if self.pool.state() != RunspacePoolState::Opened {
            return Ok(());
        }
        let poll = KEEP_ALIVE_POLL.min(self.wsman.options().operation_timeout);
        let r = self.receive_recovering(None, Some(poll)).await?;
        self.take_received(r)?;
        self.drain_pool_events().await
    }

    /// How long a Receive keeps trying to reach the host after the network
    /// dropped before it gives up, leaving the session on the host
    /// ([`DEFAULT_RECONNECT_WINDOW`] unless
    /// [`SessionOptions::reconnect_window`](super::SessionOptions::reconnect_window)
    /// said otherwise).
    pub fn reconnect_window(&self) -> Duration {
        self.reconnect_window
    }

    /// Changes [`reconnect_window`](Self::reconnect_window), e.g. for a
    /// session from [`connect`](Self::connect). `Duration::ZERO` gives up
    /// at the first failure the transport could not recover from.
    pub fn set_reconnect_window(&mut self, window: Duration) {
        self.reconnect_window = window;
    }

    /// One Receive for the pool (`None`) or a pipeline, trying again with
    /// backoff within the reconnect window while the host cannot be reached.
    pub(crate) async fn receive_recovering(
        &mut self,
        pipeline_id: Option<Uuid>,
        operation_timeout: Option<Duration>,
    ) -> Result<Option<Received>> {
        let command_id = pipeline_id.map(|p| self.command_id(p));
        let mut lost: Option<(Instant, u32)> = None;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let r = self
                .wsman
                .receive_once_within(
                    &self.resource_uri,
                    &self.shell_id,
                    command_id.as_deref(),
                    RECEIVE_STREAM,
                    operation_timeout,
                )
                .await;
            let e = match r {
                Ok(r) => {
                    if let Some((since, attempts)) = lost {
                        tracing::info!(
                            after = ?since.elapsed(),
                            attempts,
                            "reached the host again; receiving where it left off"
                        );
                    }
                    return Ok(r);
                }
                Err(e) => e,
            };
            let after_outage = lost.is_some()
                || self
                    .last_outage
                    .is_some_and(|t| t.elapsed() < self.reconnect_window);
            let e = if after_outage && is_disconnected_fault(&e) {
                // The host disconnected the session while it could not be
                // reached (its idle timeout passed): take it back.
                tracing::info!("the host disconnected the session meanwhile; reconnecting it");
                match self
                    .wsman
                    .reconnect(&self.resource_uri, &self.shell_id)
                    .await
                {
                    Ok(()) => {
                        self.last_outage = None;
                        continue;
                    }
                    Err(e) => e,
                }
            } else {
                e
            };
            if wsman::transport::answer_lost(&e) {
                return Err(self.output_lost(e, pipeline_id));
            }
            if !is_network_failure(&e) {
                return Err(e.into());
            }
            self.last_outage = Some(Instant::now());
            let (since, attempts) = lost.get_or_insert((Instant::now(), 0));
            *attempts += 1;
            let elapsed = since.elapsed();
            if elapsed + backoff > self.reconnect_window {
                return Err(self.left_on_host(e, pipeline_id, elapsed, *attempts));
            }
            tracing::warn!(
                error = %e,
                retry_in = ?backoff,
                "cannot reach {}; trying again",
                self.info.computer_name()
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// The error when a Receive's answer was lost on a host that cannot
    /// send it again (no [MS-WSMV] 3.1.4.1.39 robust connections): what was
    /// lost and where the session is.
    ///
    /// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
    fn output_lost(&self, cause: wsman::Error, pipeline_id: Option<Uuid>) -> Error {
        let id = self.pool.id();
        let what = match pipeline_id {
            Some(p) => format!("output of pipeline {} is missing", guid_text(p)),
            None => "messages of the session (host calls, state changes) are missing".into(),
        };
        let why = match &cause {
            wsman::Error::Transport { message, .. } => message.clone(),
            other => other.to_string(),
        };
        let message = format!(
            "lost output: {why}. So {what}; the results are incomplete. Session {id} is still on \
             the host (`wsman session receive {id}` gets what came after the loss, `wsman \
             session remove {id}` removes it if this command did not)",
        );
        tracing::debug!(error = %cause, "the lost answer");
        Error::Wsman(wsman::Error::Transport {
            message,
            source: None,
        })
    }

    /// A PSRP error in the host's output: a fragment that continues a
    /// message whose start never came means output was lost before (an
    /// answer lost with a connection to a host without robust connections,
    /// or a broken host), which is said as such.
    pub(crate) fn stream_error(&self, e: psrp::Error) -> Error {
        let lost_start = matches!(
            &e,
            psrp::Error::Malformed { detail, .. } if detail.contains("before its start fragment")
        );
        if !lost_start {
            return e.into();
        }
        let id = self.pool.id();
        Error::Broken(format!(
            "lost output: the output of session {id} on {host} continues a message whose \
             beginning never arrived ({e}), so output was lost before (an answer lost with its \
             connection to a host without robust connections); what follows cannot be read in \
             order. Remove the session with `wsman session remove {id}`",
            host = self.info.computer_name(),
        ))
    }

    /// The error once the reconnect window has passed: what is left on the
    /// host and how to get it.
    fn left_on_host(
        &self,
        cause: wsman::Error,
        pipeline_id: Option<Uuid>,
        elapsed: Duration,
        attempts: u32,
    ) -> Error {
        let id = self.pool.id();
        let name = match &self.name {
            Some(n) => format!("{id} ({n})"),
            None => id.to_string(),
        };
        let idle = match self.idle_timeout {
            Some(d) => format!("after its idle timeout ({}s)", d.as_secs()),
            None => "after its idle timeout".into(),
        };
        let running = match pipeline_id {
            Some(p) => format!(
                "; pipeline {} keeps running there and its output stays buffered",
                guid_text(p)
            ),
            None => String::new(),
        };
        let message = format!(
            "lost the connection to {host} and could not reach it again within {secs:.1}s \
             ({attempts} attempts): session {name} is left on the host{running}. The host \
             marks it Disconnected {idle} and keeps it for that long again; get the output \
             with `wsman session receive {id}` (or PsSession::connect and \
             receive_pipeline), or `wsman session connect {id}` to use it again",
            host = self.info.computer_name(),
            secs = elapsed.as_secs_f64(),
        );
        Error::Wsman(wsman::Error::Transport {
            message,
            source: Some(Box::new(cause)),
        })
    }
}

/// A failure of the network or of the host's reachability (connection
/// refused or reset, no answer in time), as opposed to an answer from the
/// host (fault, authentication) or a malformed one.
fn is_network_failure(e: &wsman::Error) -> bool {
    e.is_network()
}

/// The host says the shell is disconnected (`w:InvalidState`).
fn is_disconnected_fault(e: &wsman::Error) -> bool {
    e.fault()
        .is_some_and(|f| f.kind() == wsman::FaultKind::ShellDisconnected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(subcode: &str) -> wsman::Error {
        wsman::fault::Fault {
            code: "s:Sender".into(),
            subcode: Some(subcode.into()),
            ..Default::default()
        }
        .into()
    }

    #[test]
    fn only_an_unreachable_host_is_retried() {
        let refused = wsman::Error::Transport {
            message: "cannot connect to h:5985".into(),
            source: Some(Box::new(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            ))),
        };
        assert!(is_network_failure(&refused));
        let no_answer = wsman::Error::Timeout {
            message: "no answer".into(),
        };
        assert!(is_network_failure(&no_answer));
        // An HTTP status the host chose (413, 404) is its answer.
        let status = wsman::Error::Transport {
            message: "answered HTTP 413".into(),
            source: None,
        };
        assert!(!is_network_failure(&status));
        assert!(!is_network_failure(&fault("w:InvalidSelectors")));
        let refused_user = wsman::Error::Authentication {
            message: "refused".into(),
        };
        assert!(!is_network_failure(&refused_user));
    }

    #[test]
    fn a_disconnected_shell_is_recognised_by_its_subcode() {
        assert!(is_disconnected_fault(&fault("w:InvalidState")));
        assert!(!is_disconnected_fault(&fault("w:InvalidSelectors")));
        assert!(!is_disconnected_fault(&wsman::Error::Timeout {
            message: "x".into()
        }));
    }
}
