//! Copying a file to or from the host over a PSSession, as `Copy-Item
//! -ToSession` and `-FromSession` do: the file travels as PowerShell
//! objects of a pipeline ([MS-PSRP] 3.1.4.5 pipeline input, 3.1.4.4
//! output), in chunks, never whole in memory on either side, and its digest
//! (SHA-256 unless [`CopyOptions::digest`] says otherwise) is computed on
//! both sides and compared.
//!
//! To the host ([`copy_to_host`]): a script checks the destination and
//! opens the partial file before any input, answering the target's path
//! (the client waits for that answer after the first chunk, so a refused
//! destination fails on the first chunk, not after a whole segment), then
//! reads base64 chunks from its input (each chunk one PIPELINE_INPUT sized to fit one WS-Man Send), writes
//! them to `DEST.wsman-partial` through a `System.IO.FileStream` while
//! hashing them, and gets the client's digest as the last input (a string
//! starting with `digest:`). It compares, moves the partial file over DEST
//! only when they match (and removes it otherwise, also when anything
//! fails), and outputs DEST's full path and its digest, which the client
//! compares once more.
//!
//! From the host ([`copy_from_host`]): a script outputs the file's length,
//! then base64 chunks, then the digest as its last output. The client
//! writes the chunks to `DEST.wsman-partial`, holding one output back so the
//! last one is taken as the digest, compares, and renames the partial file
//! over DEST only when they match; on any error the partial file is
//! removed.
//!
//! Both scripts accept outputs of hosts that do not send everything: a
//! missing length (no total for the progress), a copy to the host that
//! answers only the path (the host compared the digests itself; older
//! clients' scripts do so).
//!
//! The session configuration's MaximumReceivedDataSizePerCommandMB (50 MB
//! by default on Windows) caps what one pipeline may receive, so a copy to
//! the host larger than [`CopyOptions::segment_size`] goes in several
//! pipelines, one after another in the same session: the first opens the
//! partial file and keeps it (with the hash state) in a global variable of
//! the session's runspace, the next ones go on writing, the one that gets
//! the digest finishes.
//!
//! Folders ([`tree`]) are copied file by file into a staging folder
//! `DEST.wsman-partial` renamed to DEST at the end, or, when DEST is a
//! folder already, whose files are then moved into it (a merge, as
//! Copy-Item -Recurse does); whatever a failed or interrupted copy left is
//! removed on both sides ([`scripts::ABORT`] on the host).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
mod merge;
pub mod scripts;
pub mod tree;

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use psrp::clixml::Value;
use psrp::types::{Command, PSInvocationState, PowerShell};
use sha2::Digest;

use crate::session::{InvokeOptions, Pipeline, PipelineEvent, PsSession};
use crate::{Error, Result};

pub use scripts::PARTIAL_SUFFIX;

/// A digest computed as the file streams, on this side; the host computes
/// the same with the .NET class [`FileDigest::powershell`] names.
pub trait FileDigest: Send {
    /// A PowerShell expression creating the same algorithm on the host,
    /// such as `[System.Security.Cryptography.SHA256]::Create()`.
    fn powershell(&self) -> &'static str;
    /// The length of the digest in bytes.
    fn digest_len(&self) -> usize;
    /// Hashes more of the file.
    fn update(&mut self, data: &[u8]);
    /// The digest of everything given, in lower-case hex.
    fn finish_hex(&mut self) -> String;
}

/// SHA-256, the default.
#[derive(Default)]
pub struct Sha256Digest(sha2::Sha256);

impl FileDigest for Sha256Digest {
    fn powershell(&self) -> &'static str {
        "[System.Security.Cryptography.SHA256]::Create()"
    }
    fn digest_len(&self) -> usize {
        32
    }
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finish_hex(&mut self) -> String {
        hex(&std::mem::take(&mut self.0).finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// How a copy is done.
#[derive(Clone)]
pub struct CopyOptions {
    /// Makes the digest both sides compute (SHA-256 by default).
    pub digest: fn() -> Box<dyn FileDigest>,
    /// Bytes per chunk; derived from the session's MaxEnvelopeSize when
    /// `None` ([`chunk_size`]).
    pub chunk_size: Option<usize>,
    /// Most bytes a copy to the host sends in one pipeline; a larger file
    /// goes in several, one after another, the host keeping the file open
    /// between them. [`DEFAULT_SEGMENT_SIZE`] when `None`.
    pub segment_size: Option<u64>,
    /// Wait for the host to accept the destination after the first chunk
    /// before sending more (the receiving script answers the target's path
    /// first).
    /// On by default; off only to replay traffic recorded from a client
    /// that did not wait.
    pub wait_for_host: bool,
    /// Set (by a Ctrl+C handler, say) to stop the copy between two chunks:
    /// it then fails with an error [`is_interrupted`] knows, after removing
    /// what it left on both sides.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl CopyOptions {
    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// The error of a copy stopped through [`CopyOptions::cancel`].
pub fn interrupted(what: &str) -> Error {
    Error::Broken(format!("{what}: interrupted"))
}

/// Whether `e` is the error of a copy stopped through [`CopyOptions::cancel`].
pub fn is_interrupted(e: &Error) -> bool {
    matches!(e, Error::Broken(m) if m.ends_with(": interrupted"))
}

/// 24 MiB: 32 MiB of base64 per pipeline, within the 50 MB a session
/// configuration takes by default in one command
/// (MaximumReceivedDataSizePerCommandMB).
pub const DEFAULT_SEGMENT_SIZE: u64 = 24 << 20;

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            digest: || Box::new(Sha256Digest::default()),
            chunk_size: None,
            segment_size: None,
            wait_for_host: true,
            cancel: None,
        }
    }
}

impl fmt::Debug for CopyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyOptions")
            .field("chunk_size", &self.chunk_size)
            .field("segment_size", &self.segment_size)
            .field("wait_for_host", &self.wait_for_host)
            .finish()
    }
}

/// How far a copy is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes copied so far.
    pub done: u64,
    /// The file's size, when known.
    pub total: Option<u64>,
}

/// What a finished copy reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Where the file now is: the host's full path of a copy to the host,
    /// the local path of a copy from it.
    pub path: String,
    /// Bytes copied.
    pub bytes: u64,
    /// The digest computed on this side (lower-case hex).
    pub digest: String,
    /// The digest the host reported, when it did (equal to `digest`).
    pub remote_digest: Option<String>,
    /// Warnings the host wrote (Write-Warning), or this side noted.
    pub warnings: Vec<String>,
    /// Files copied: 1 for a file, any number for a folder (whose
    /// `digest` is then empty: each file's was verified).
    pub files: u64,
    /// Whether a folder was merged into one that existed (its files that
    /// the copy also had replaced, the others kept) rather than made.
    pub merged: bool,
}

/// Bytes before base64 of one PIPELINE_INPUT that, with its headers and
/// `<S>` element, fills at most one PSRP packet of a WS-Man Send in an
/// envelope of `max_envelope` bytes (the same room the session leaves for
/// the SOAP around it).
pub fn chunk_size(max_envelope: u32) -> usize {
    let b64 = crate::binding::max_string_input(max_envelope);
    (b64 / 4 * 3).max(3)
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the file.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn local_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Usage(format!("{what} {}: {e}", path.display()))
}

/// Whether `e` is a failure the host's script reported ([`failed`]).
fn reported_by_host(e: &Error) -> bool {
    matches!(e, Error::Broken(m) if m.contains(" on the host"))
}

/// What ended a pipeline badly, as a user reads it.
fn failed(what: &str, state: PSInvocationState, error: Option<String>) -> Error {
    match error {
        Some(m) => Error::Broken(format!("{what} failed on the host: {m}")),
        None => Error::Broken(format!("{what} ended {state:?} on the host")),
    }
}

/// Keeps the first error a pipeline reported (an error record, or its end
/// other than Completed), so that it runs to its end and is released.
fn note_failure(failure: &mut Option<Error>, what: &str, ev: PipelineEvent) {
    let e = match ev {
        PipelineEvent::Error(e) => {
            failed(what, PSInvocationState::Failed, Some(e.message().into()))
        }
        PipelineEvent::Finished { state, error } if state != PSInvocationState::Completed => {
            failed(what, state, error.map(|e| e.message().into()))
        }
        _ => return,
    };
    failure.get_or_insert(e);
}

/// After input could not be sent: the host's own error when the pipeline
/// failed there (its script refused the destination, say), which explains
/// more than the WS-Man fault of the Send; else the Send's error.
async fn why_input_failed(pipeline: &mut Pipeline<'_>, what: &str, sent: Error) -> Error {
    let mut failure = None;
    // It runs to its end, so that it is released on the host: at once when
    // it failed; one still running (the Send failed for another reason) is
    // not waited for long.
    let drain = async {
        while let Ok(Some(ev)) = pipeline.next().await {
            note_failure(&mut failure, what, ev);
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), drain).await;
    failure.unwrap_or(sent)
}

/// Copies the local file `local` to `remote` on the host (Copy-Item
/// -ToSession), in chunks of pipeline input; `progress` is called after
/// each chunk. The host keeps nothing of a copy that fails: what it wrote
/// is removed ([`scripts::ABORT`]) when the host can still be reached.
pub async fn copy_to_host(
    session: &mut PsSession,
    local: &Path,
    remote: &str,
    progress: &mut (dyn FnMut(Progress) + Send),
    options: &CopyOptions,
) -> Result<CopyReport> {
    let meta = std::fs::metadata(local).map_err(|e| local_error("cannot read", local, e))?;
    if meta.is_dir() {
        return Err(Error::Usage(format!(
            "{} is a directory: copy a folder with -r",
            local.display()
        )));
    }
    let file = std::fs::File::open(local).map_err(|e| local_error("cannot open", local, e))?;
    let mut started = false;
    let result = send_file(
        session,
        file,
        meta.len(),
        local,
        remote,
        progress,
        options,
        &mut started,
    )
    .await;
    match &result {
        // The script removes what it wrote when it fails; what this side
        // broke off (Ctrl+C, a local error, a lost connection) is removed
        // here.
        Err(e) if started && !reported_by_host(e) => {
            abort_on_host(session, &format!("{remote}{PARTIAL_SUFFIX}")).await;
        }
        _ => {}
    }
    result
}

/// Removes a partial copy from the host (the file kept open between
/// pipelines, the partial file or staging folder), best effort: the
/// copy's own error is what the user needs to see.
pub(crate) async fn abort_on_host(session: &mut PsSession, partial: &str) {
    let ps = PowerShell::new(vec![
        Command::script(scripts::ABORT).argument(Value::String(partial.to_string()))
    ]);
    let run = async {
        if let Ok(p) = session.invoke_with(ps, InvokeOptions::default()).await {
            let _ = p.collect().await;
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), run).await;
}

/// Stops a pipeline that is still running and runs it to its end, so that
/// the runspace is free for the next one.
async fn stop_pipeline(pipeline: &mut Pipeline<'_>) {
    let run = async {
        let _ = pipeline.stop().await;
        while let Ok(Some(_)) = pipeline.next().await {}
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), run).await;
}

/// Waits for the receiving script to accept the destination: its first
/// output (the target's path) before any chunk goes; its failure (the
/// destination refused) at once.
async fn host_ready(
    pipeline: &mut Pipeline<'_>,
    what: &str,
    warnings: &mut Vec<String>,
) -> Result<String> {
    let mut failure = None;
    while let Some(ev) = pipeline.next().await? {
        match ev {
            PipelineEvent::Output(v) if failure.is_none() => {
                return Ok(v.as_str().unwrap_or_default().to_string());
            }
            PipelineEvent::Warning(w) => warnings.push(w.message),
            other => note_failure(&mut failure, what, other),
        }
    }
    Err(failure
        .unwrap_or_else(|| Error::Broken(format!("{what}: the host ended the copy at once"))))
}

/// The body of [`copy_to_host`]; `started` tells whether the host may
/// hold part of the copy.
#[allow(clippy::too_many_arguments)]
async fn send_file(
    session: &mut PsSession,
    mut file: std::fs::File,
    total: u64,
    local: &Path,
    remote: &str,
    progress: &mut (dyn FnMut(Progress) + Send),
    options: &CopyOptions,
    started: &mut bool,
) -> Result<CopyReport> {
    let size = options
        .chunk_size
        .unwrap_or_else(|| chunk_size(session.connection().options.max_envelope_size))
        .max(1);
    let segment = options
        .segment_size
        .unwrap_or(DEFAULT_SEGMENT_SIZE)
        .max(size as u64);
    let mut digest = (options.digest)();
    let what = format!("the copy to {remote}");
    let script = scripts::receive(digest.powershell());
    let name = local.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let opts = InvokeOptions {
        input: true,
        ..Default::default()
    };
    progress(Progress {
        done: 0,
        total: Some(total),
    });
    // One chunk read ahead, so that the last goes in one Send with the
    // digest and the end of input.
    let mut current = vec![0u8; size];
    let mut next = vec![0u8; size];
    let mut n =
        read_full(&mut file, &mut current).map_err(|e| local_error("cannot read", local, e))?;
    let mut done = 0u64;
    let mut warnings = Vec::new();
    let mut continuing = false;
    // One pipeline per segment; the host keeps the open file between them.
    loop {
        let ps = PowerShell::new(vec![Command::script(script.clone())
            .argument(Value::String(remote.to_string()))
            .argument(Value::Bool(continuing))
            .argument(Value::String(name.to_string()))]);
        let mut pipeline = session.invoke_with(ps, opts).await?;
        *started = true;
        let mut target = None;
        let mut in_segment = 0u64;
        loop {
            if options.cancelled() {
                stop_pipeline(&mut pipeline).await;
                return Err(interrupted(&what));
            }
            let m = if n == size {
                match read_full(&mut file, &mut next) {
                    Ok(m) => m,
                    Err(e) => {
                        stop_pipeline(&mut pipeline).await;
                        return Err(local_error("cannot read", local, e));
                    }
                }
            } else {
                0
            };
            let last = n < size || m == 0;
            digest.update(&current[..n]);
            // base64 straight into the PIPELINE_INPUT message
            if let Err(e) = pipeline.queue_input_base64(&current[..n]) {
                return Err(why_input_failed(&mut pipeline, &what, e).await);
            }
            done += n as u64;
            in_segment += n as u64;
            if last {
                let sum = digest.finish_hex();
                let sent = pipeline
                    .send_all_input([Value::String(format!("digest:{sum}"))])
                    .await;
                if let Err(e) = sent {
                    return Err(why_input_failed(&mut pipeline, &what, e).await);
                }
                progress(Progress {
                    done,
                    total: Some(total),
                });
                let outputs = finish_segment(pipeline, &what, &mut warnings).await?;
                // The path and digest the script's end block wrote (its
                // begin block's answer comes first when it was not waited for).
                let skip = outputs.len().saturating_sub(2);
                let mut outputs = outputs.into_iter().skip(skip);
                let path = outputs
                    .next()
                    .or(target)
                    .ok_or_else(|| Error::Broken(format!("{what}: the host answered nothing")))?;
                let report = CopyReport {
                    path,
                    bytes: done,
                    digest: sum,
                    remote_digest: outputs.next(),
                    warnings,
                    files: 1,
                    merged: false,
                };
                if let Some(theirs) = &report.remote_digest {
                    check_digest(&what, &report.digest, theirs, digest.digest_len())?;
                }
                return Ok(report);
            }
            if let Err(e) = pipeline.send_queued_input().await {
                return Err(why_input_failed(&mut pipeline, &what, e).await);
            }
            if options.wait_for_host && target.is_none() {
                // The script's first answer: the destination accepted (or
                // its failure, before more of the file is sent).
                target = Some(host_ready(&mut pipeline, &what, &mut warnings).await?);
            }
            progress(Progress {
                done,
                total: Some(total),
            });
            std::mem::swap(&mut current, &mut next);
            n = m;
            if in_segment + n as u64 > segment {
                break;
            }
        }
        if let Err(e) = pipeline.close_input().await {
            return Err(why_input_failed(&mut pipeline, &what, e).await);
        }
        finish_segment(pipeline, &what, &mut warnings).await?;
        continuing = true;
    }
}

/// Runs a pipeline of a copy to the host to its end (so that it is
/// released on the host): its first two outputs, warnings noted, its
/// failure as the error.
async fn finish_segment(
    mut pipeline: Pipeline<'_>,
    what: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>> {
    let mut outputs = Vec::new();
    let mut failure = None;
    while let Some(ev) = pipeline.next().await? {
        match ev {
            PipelineEvent::Output(v) if outputs.len() < 3 => {
                outputs.push(v.as_str().unwrap_or_default().to_string());
            }
            PipelineEvent::Warning(w) => warnings.push(w.message),
            other => note_failure(&mut failure, what, other),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(outputs),
    }
}

fn check_digest(what: &str, ours: &str, theirs: &str, len: usize) -> Result<()> {
    let theirs = theirs.trim();
    if theirs.len() != len * 2 || !theirs.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Broken(format!(
            "{what}: the host's digest {theirs:?} is not one of the {}-bit algorithm asked for",
            len * 8
        )));
    }
    if !theirs.eq_ignore_ascii_case(ours) {
        return Err(Error::Broken(format!(
            "{what}: hash mismatch: the file here has digest {ours}, the host's has {theirs}"
        )));
    }
    Ok(())
}

/// Decodes base64 `text` (white space around it ignored) into its own
/// memory; `None` when it is not base64.
fn decode_in_place(text: &mut [u8]) -> Option<&mut [u8]> {
    let Some(start) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Some(&mut text[..0]);
    };
    let end = text.iter().rposition(|b| !b.is_ascii_whitespace())? + 1;
    base64_simd::STANDARD
        .decode_inplace(&mut text[start..end])
        .ok()
}

/// The partial file next to `dest`, removed when dropped unless kept.
struct Partial {
    path: PathBuf,
    file: Option<std::fs::File>,
    keep: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        self.file.take();
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Copies `remote` on the host to the local file `local` (Copy-Item
/// -FromSession); `progress` is called after each chunk. Nothing is left
/// at `local` when the copy fails (an existing file there is replaced only
/// by a complete, verified copy).
pub async fn copy_from_host(
    session: &mut PsSession,
    remote: &str,
    local: &Path,
    progress: &mut (dyn FnMut(Progress) + Send),
    options: &CopyOptions,
) -> Result<CopyReport> {
    if local.is_dir() {
        return Err(Error::Usage(format!(
            "{} is a directory: give the path of the file to write",
            local.display()
        )));
    }
    let mut partial_path = local.as_os_str().to_owned();
    partial_path.push(PARTIAL_SUFFIX);
    let partial_path = PathBuf::from(partial_path);
    let file = std::fs::File::create(&partial_path)
        .map_err(|e| local_error("cannot write", &partial_path, e))?;
    let mut partial = Partial {
        path: partial_path,
        file: Some(file),
        keep: false,
    };
    let size = options
        .chunk_size
        .unwrap_or_else(|| chunk_size(session.connection().options.max_envelope_size))
        .max(1);
    let mut digest = (options.digest)();
    let what = format!("the copy of {remote}");
    let ps = PowerShell::new(vec![Command::script(scripts::send(digest.powershell()))
        .argument(Value::String(remote.to_string()))
        .argument(Value::I32(i32::try_from(size).unwrap_or(i32::MAX)))]);
    let mut pipeline = session.invoke_with(ps, InvokeOptions::default()).await?;
    let mut total = None;
    let mut done = 0u64;
    let mut held: Option<String> = None;
    let mut first = true;
    let mut warnings = Vec::new();
    let mut failure = None;
    // Each chunk is decoded in place, in the memory of its own text.
    let mut write_chunk = |text: String, done: &mut u64| -> Result<()> {
        let mut text = text.into_bytes();
        let bytes = decode_in_place(&mut text).ok_or_else(|| {
            Error::Broken(format!("{what}: the host sent a chunk that is not base64"))
        })?;
        digest.update(bytes);
        if let Some(f) = partial.file.as_mut() {
            f.write_all(bytes)
                .map_err(|e| local_error("cannot write", &partial.path, e))?;
        }
        *done += bytes.len() as u64;
        Ok(())
    };
    while let Some(ev) = pipeline.next().await? {
        if options.cancelled() {
            stop_pipeline(&mut pipeline).await;
            return Err(interrupted(&what));
        }
        match ev {
            PipelineEvent::Output(_) if failure.is_some() => {}
            PipelineEvent::Output(v) => {
                if std::mem::take(&mut first) {
                    if let Some(len) = v.as_i64() {
                        total = u64::try_from(len).ok();
                        progress(Progress { done, total });
                        continue;
                    }
                }
                // A plain <S> is taken without a copy; one wrapped in an
                // object with notes, as its primitive.
                let text = match v {
                    Value::String(t) => t,
                    other => match other.as_str() {
                        Some(t) => t.to_string(),
                        None => {
                            stop_pipeline(&mut pipeline).await;
                            return Err(Error::Broken(format!(
                                "{what}: the host sent something other than text"
                            )));
                        }
                    },
                };
                if let Some(prev) = held.replace(text) {
                    if let Err(e) = write_chunk(prev, &mut done) {
                        stop_pipeline(&mut pipeline).await;
                        return Err(e);
                    }
                    progress(Progress { done, total });
                }
            }
            PipelineEvent::Warning(w) => warnings.push(w.message),
            other => note_failure(&mut failure, &what, other),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let theirs = held.ok_or_else(|| Error::Broken(format!("{what}: the host sent no digest")))?;
    let sum = digest.finish_hex();
    check_digest(&what, &sum, &theirs, digest.digest_len())?;
    if let Some(f) = partial.file.take() {
        f.sync_all()
            .map_err(|e| local_error("cannot write", &partial.path, e))?;
    }
    std::fs::rename(&partial.path, local).map_err(|e| local_error("cannot write", local, e))?;
    partial.keep = true;
    Ok(CopyReport {
        path: local.display().to_string(),
        bytes: done,
        digest: sum,
        remote_digest: Some(theirs.trim().to_ascii_lowercase()),
        warnings,
        files: 1,
        merged: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_fills_one_send_of_the_envelope() {
        for envelope in [153_600u32, 512_000, 8_192] {
            let n = chunk_size(envelope);
            let b64 = n.div_ceil(3) * 4;
            let room = crate::binding::max_string_input(envelope);
            assert!(b64 <= room, "{envelope}: {n}");
            assert!(b64 + 4 > room, "{envelope}: {n} leaves room");
            assert_eq!(n % 3, 0, "whole base64 groups, no padding mid-file");
        }
    }

    #[test]
    fn chunks_decode_in_place_and_bad_text_is_refused() {
        use base64::Engine as _;
        let data: Vec<u8> = (0..=255u8).cycle().take(100_001).collect();
        for n in [0usize, 1, 2, 3, 4, 99_999, 100_001] {
            let text = base64::engine::general_purpose::STANDARD.encode(&data[..n]);
            let mut padded = format!(" {text}\r\n").into_bytes();
            assert_eq!(decode_in_place(&mut padded).unwrap(), &data[..n], "{n}");
        }
        for bad in ["QUJD!", "QUJ", "QU JD", "QUJDRA"] {
            assert!(
                decode_in_place(&mut bad.as_bytes().to_vec()).is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn sha256_matches_the_known_digest() {
        let mut d = Sha256Digest::default();
        d.update(b"ab");
        d.update(b"c");
        assert_eq!(
            d.finish_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.digest_len(), 32);
    }

    #[test]
    fn digests_compare_without_case_and_reject_another_algorithm() {
        let ours = "ab".repeat(32);
        assert!(check_digest("x", &ours, &"AB".repeat(32), 32).is_ok());
        let e = check_digest("x", &ours, &"cd".repeat(32), 32).unwrap_err();
        assert!(e.to_string().contains("hash mismatch"), "{e}");
        let e = check_digest("x", &ours, &"ab".repeat(20), 32).unwrap_err();
        assert!(e.to_string().contains("256-bit"), "{e}");
    }

    #[test]
    fn read_full_fills_across_short_reads() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(2);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = Trickle(b"abcdefg");
        let mut buf = [0u8; 5];
        assert_eq!(read_full(&mut r, &mut buf).unwrap(), 5);
        assert_eq!(&buf, b"abcde");
        assert_eq!(read_full(&mut r, &mut buf).unwrap(), 2);
        assert_eq!(read_full(&mut r, &mut buf).unwrap(), 0);
    }
}
