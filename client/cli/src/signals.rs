//! SIGINT (Ctrl+C), SIGTERM and SIGHUP, for the commands that must clean
//! up on the host or finish a line before they exit (`invoke`, `session
//! invoke`, `session receive`, `exec`, `get`, `enumerate`): the first
//! signal asks the command to stop its remote work and clean up (the
//! temporary session removed, a PSSession left disconnected, no item
//! printed halfway), then it
//! exits with 128 + the signal's number, as shells report a process a
//! signal stopped: 130, 143, 129. A second signal exits at once.
//!
//! Only those commands listen: once a process handles a signal, the
//! default action (exit) is gone for good, so every other command keeps
//! it.
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

static LISTENING: OnceLock<Interrupt> = OnceLock::new();

/// Exit code after SIGINT (Ctrl+C).
pub const EXIT_SIGINT: i32 = 130;
/// Exit code after SIGTERM.
pub const EXIT_SIGTERM: i32 = 143;
/// Exit code after SIGHUP (the terminal went away).
pub const EXIT_SIGHUP: i32 = 129;

/// The process's stop request (signal handlers are per process): cheap to
/// clone, shared by the parts of the command.
#[derive(Debug, Clone)]
pub struct Interrupt {
    code: Arc<AtomicI32>,
    notify: Arc<Notify>,
}

impl Interrupt {
    /// Starts listening for SIGINT, SIGTERM and SIGHUP (SIGINT only where
    /// the others do not exist). From now on they no longer end the
    /// process: the command sees them through [`code`](Self::code) and
    /// [`wait`](Self::wait). Needs a tokio runtime. Called again, returns
    /// the same request.
    pub fn listen() -> Interrupt {
        LISTENING.get_or_init(Self::install).clone()
    }

    /// The request if [`listen`](Self::listen) was called in this process.
    pub fn current() -> Option<Interrupt> {
        LISTENING.get().cloned()
    }

    fn install() -> Interrupt {
        let me = Interrupt {
            code: Arc::new(AtomicI32::new(0)),
            notify: Arc::new(Notify::new()),
        };
        let shared = me.clone();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let kinds = [
                (SignalKind::interrupt(), EXIT_SIGINT),
                (SignalKind::terminate(), EXIT_SIGTERM),
                (SignalKind::hangup(), EXIT_SIGHUP),
            ];
            for (kind, code) in kinds {
                // Registered here, synchronously: a signal from now on is ours.
                let Ok(mut stream) = signal(kind) else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    while stream.recv().await.is_some() {
                        shared.raise(code);
                    }
                });
            }
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                shared.raise(EXIT_SIGINT);
            }
        });
        me
    }

    /// Records a signal: the first one asks for a clean stop; a second one
    /// ends the process at once (the person does not want to wait).
    fn raise(&self, code: i32) {
        if self
            .code
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            super::output::err_line("wsman: interrupted again: exiting without cleaning up");
            std::process::exit(self.code.load(Ordering::SeqCst));
        }
        self.notify.notify_waiters();
    }

    /// The exit code of the signal received (130, 143, 129), if any.
    pub fn code(&self) -> Option<i32> {
        match self.code.load(Ordering::SeqCst) {
            0 => None,
            c => Some(c),
        }
    }

    /// Waits for a signal (returns at once if one came already); its exit
    /// code.
    pub async fn wait(&self) -> i32 {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(c) = self.code() {
                return c;
            }
            notified.await;
        }
    }

    /// Which signal, for messages.
    pub fn name(code: i32) -> &'static str {
        match code {
            EXIT_SIGTERM => "terminated (SIGTERM)",
            EXIT_SIGHUP => "hung up (SIGHUP)",
            _ => "interrupted",
        }
    }
}
