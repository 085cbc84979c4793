//! Writing to stdout and stderr without panicking when the reader has gone
//! (`wsman ... | head`): output stops quietly, the command still cleans up
//! on the host.
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `bytes` to stdout, flushing; nothing once stdout is closed.
pub fn out_bytes(bytes: &[u8]) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if out.write_all(bytes).and_then(|_| out.flush()).is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Whether stdout's reader has gone (a write failed, e.g. `wsman ... | head`).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Writes one line to stdout.
pub fn out_line(line: &str) {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    out_bytes(&buf);
}

/// Writes `bytes` to stderr (errors ignored: there is nowhere left to report them).
pub fn err_bytes(bytes: &[u8]) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(bytes).and_then(|_| err.flush());
}

/// Writes one line to stderr.
pub fn err_line(line: &str) {
    err_bytes(format!("{line}\n").as_bytes());
}
