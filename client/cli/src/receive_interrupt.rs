//! Ctrl+C (or SIGTERM, SIGHUP) during `wsman session receive`: the
//! session is disconnected from a second connection, as
//! Disconnect-PSSession does while a Receive is outstanding ([MS-WSMV]
//! 3.1.4.15); the host then ends that Receive. What it had already sent is
//! printed whole; the rest stays buffered on the host for the next
//! `session receive`. Nothing is stopped: the pipeline keeps running.
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use uuid::Uuid;

use super::output::{self, err_line};
use super::render::Printer;
use super::sanitize::error_text;
use super::signals::Interrupt;
use crate::host::Host;
use crate::session::Pipeline;
use crate::{ConnectionInfo, Result};

/// Prints `pipe`'s events until it ends (`Ok(None)`) or a signal comes
/// (`Ok(Some(exit code))`, the session `instance_id` then disconnected on
/// the host). `info` opens the second connection; when the disconnection
/// fails, the pipeline is received to its end (a second signal exits at
/// once).
pub(crate) async fn print_until_interrupted(
    mut pipe: Pipeline<'_>,
    printer: &mut Printer,
    host: &mut dyn Host,
    info: &ConnectionInfo,
    instance_id: Uuid,
) -> Result<Option<i32>> {
    let interrupt = Interrupt::current();
    let signalled = || async {
        match &interrupt {
            Some(i) => i.wait().await,
            None => std::future::pending().await,
        }
    };
    let mut stopping = None;
    let mut disconnected = true;
    let _batch = output::Batch::begin();
    loop {
        while let Some(e) = pipe.next_queued().await? {
            printer.event(&e, host);
        }
        output::flush_out();
        let next = pipe.next();
        tokio::pin!(next);
        let event = loop {
            tokio::select! {
                e = &mut next => break e,
                _ = super::render::held_rows_due(printer.held_since()) => {
                    printer.release_held();
                    output::flush_out();
                }
                code = signalled(), if stopping.is_none() => {
                    stopping = Some(code);
                    err_line(&format!(
                        "wsman: {}: disconnecting the session",
                        Interrupt::name(code)
                    ));
                    if let Err(e) = disconnect_aside(info, instance_id).await {
                        err_line(&format!(
                            "wsman: could not disconnect the session: {}; receiving the rest \
                             (interrupt again to exit at once)",
                            error_text(&e.to_string())
                        ));
                        disconnected = false;
                    }
                }
            }
        };
        let stopped = stopping.filter(|_| disconnected);
        match event {
            Ok(Some(e)) => printer.event(&e, host),
            Ok(None) => return Ok(stopped),
            // The Receive the disconnection ended (or the next one, which
            // finds the session disconnected).
            Err(_) if stopped.is_some() => return Ok(stopped),
            Err(e) => return Err(e),
        }
    }
}

/// Disconnects the session on a new connection, leaving the session's own
/// (with its Receive in flight) alone.
async fn disconnect_aside(info: &ConnectionInfo, instance_id: Uuid) -> Result<()> {
    let shell_id = instance_id.hyphenated().to_string().to_uppercase();
    let mut c = info.wsman_client()?;
    c.disconnect(&info.resource_uri(), &shell_id, None, None)
        .await?;
    Ok(())
}
