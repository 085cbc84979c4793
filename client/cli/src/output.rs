//! Writing to stdout and stderr without panicking when the reader has gone
//! (`wsman ... | head`): output stops quietly, the command still cleans up
//! on the host.
//!
//! Output to a pipe or a file can be batched ([`Batch`]): lines collect in
//! memory and go out in one `write` per Receive, flushed by [`flush_out`]
//! before the program waits on the network (and before anything goes to
//! stderr, so `2>&1` keeps its order). A terminal sees each line at once.
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// Whether stdout is being batched (a [`Batch`] is alive, stdout no terminal).
static BATCHING: AtomicBool = AtomicBool::new(false);
/// The batched bytes not written yet.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Whether a progress line is on the terminal (stderr, no line end), to be
/// erased before anything else is written ([`progress_line`]).
static PROGRESS_SHOWN: AtomicBool = AtomicBool::new(false);
/// A batch larger than this is written without waiting for [`flush_out`].
const BATCH_LIMIT: usize = 256 * 1024;

/// Writes `bytes` to stdout, flushing (or, batching, queues them); nothing
/// once stdout is closed.
pub fn out_bytes(bytes: &[u8]) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    if BATCHING.load(Ordering::Relaxed) {
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend_from_slice(bytes);
        if pending.len() >= BATCH_LIMIT {
            write_out(&mut pending);
        }
        return;
    }
    clear_progress();
    let mut out = std::io::stdout().lock();
    if out.write_all(bytes).and_then(|_| out.flush()).is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Writes the batched bytes to stdout and empties the batch.
fn write_out(pending: &mut Vec<u8>) {
    if pending.is_empty() {
        return;
    }
    if !STDOUT_CLOSED.load(Ordering::Relaxed) {
        let mut out = std::io::stdout().lock();
        if out.write_all(pending).and_then(|_| out.flush()).is_err() {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
    }
    pending.clear();
}

/// Writes what is batched for stdout; call before waiting on the network.
pub fn flush_out() {
    if BATCHING.load(Ordering::Relaxed) {
        write_out(&mut PENDING.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Batches stdout while alive when stdout is a pipe or a file (a terminal
/// still sees each line at once); dropping it writes what is left.
pub struct Batch {
    active: bool,
}

impl Batch {
    /// Starts batching (unless stdout is a terminal or a batch is already on).
    pub fn begin() -> Batch {
        let wanted = !std::io::stdout().is_terminal();
        let active = wanted && !BATCHING.swap(true, Ordering::Relaxed);
        Batch { active }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if self.active {
            BATCHING.store(false, Ordering::Relaxed);
            write_out(&mut PENDING.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }
}

/// Whether stdout's reader has gone (a write failed, e.g. `wsman ... | head`).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Writes one line to stdout.
pub fn out_line(line: &str) {
    if BATCHING.load(Ordering::Relaxed) {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return;
        }
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend_from_slice(line.as_bytes());
        pending.push(b'\n');
        if pending.len() >= BATCH_LIMIT {
            write_out(&mut pending);
        }
        return;
    }
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    out_bytes(&buf);
}

/// Writes `bytes` to stderr (errors ignored: there is nowhere left to report them).
pub fn err_bytes(bytes: &[u8]) {
    flush_out();
    clear_progress();
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(bytes).and_then(|_| err.flush());
}

/// Writes one line to stderr.
pub fn err_line(line: &str) {
    err_bytes(format!("{line}\n").as_bytes());
}

/// Shows `text` as the one progress line on stderr (a terminal), in place
/// of the one shown: carriage return, erase line (ECMA-48 EL), the text,
/// no line end. Any other write erases it first; [`clear_progress`] too.
pub fn progress_line(text: &str) {
    flush_out();
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(format!("\r\x1b[2K{text}").as_bytes())
        .and_then(|_| err.flush());
    PROGRESS_SHOWN.store(true, Ordering::Relaxed);
}

/// Erases the progress line, if one is shown (a command ended, or other
/// text is about to be written).
pub fn clear_progress() {
    if PROGRESS_SHOWN.swap(false, Ordering::Relaxed) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(b"\r\x1b[2K").and_then(|_| err.flush());
    }
}

/// The width in columns of the terminal on stderr, when it is one.
pub fn stderr_width() -> Option<usize> {
    #[cfg(unix)]
    {
        let size = rustix::termios::tcgetwinsize(std::io::stderr()).ok()?;
        (size.ws_col > 0).then_some(usize::from(size.ws_col))
    }
    #[cfg(not(unix))]
    {
        std::env::var("COLUMNS").ok()?.parse().ok()
    }
}
