//! `wsman copy SRC DEST` (Copy-Item -ToSession / -FromSession): the side
//! written `host:PATH` is the remote one; a temporary session carries the
//! file ([`crate::copy`]), a progress bar shows on stderr when it is a
//! terminal.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::args::ConnectionArgs;
use super::config::{connection_info, single_host};
use super::output::out_line;
use crate::console_host::ConsoleHost;
use crate::copy::tree::{copy_dir_from_host, copy_dir_to_host};
use crate::copy::{
    copy_from_host, copy_to_host, interrupted, is_interrupted, CopyOptions, CopyReport, Progress,
};
use crate::session::{PsSession, SessionOptions};
use crate::{Error, Result};

/// Which way a copy goes.
#[derive(Debug, PartialEq, Eq)]
enum Direction<'a> {
    /// Local SRC to remote DEST.
    ToHost { local: &'a str, remote: &'a str },
    /// Remote SRC to local DEST.
    FromHost { remote: &'a str, local: &'a str },
}

fn remote_part(p: &str) -> Option<&str> {
    p.strip_prefix("host:")
}

fn direction<'a>(src: &'a str, dest: &'a str) -> Result<Direction<'a>> {
    match (remote_part(src), remote_part(dest)) {
        (None, Some(remote)) if !remote.is_empty() => Ok(Direction::ToHost { local: src, remote }),
        (Some(remote), None) if !remote.is_empty() => Ok(Direction::FromHost {
            remote,
            local: dest,
        }),
        (Some(_), Some(_)) => Err(Error::Usage(
            "copy: both paths are on the host; one must be local".into(),
        )),
        (None, None) => Err(Error::Usage(
            "copy: mark the remote path with host:, e.g. wsman copy ./a.txt 'host:C:\\temp\\a.txt'"
                .into(),
        )),
        _ => Err(Error::Usage("copy: host: needs a path after it".into())),
    }
}

/// The local file a copy from the host writes: `local` itself, or, when it
/// is a folder, the remote file's name in it (as `cp` and Copy-Item do).
fn local_target(local: &Path, remote: &str) -> PathBuf {
    let name = remote
        .rsplit(['\\', '/'])
        .find(|p| !p.is_empty())
        .unwrap_or(remote);
    if local.is_dir() && !name.is_empty() && !name.ends_with(':') {
        local.join(name)
    } else {
        local.to_path_buf()
    }
}

/// The progress line on stderr: on a terminal one line redrawn in place
/// (at most ten times a second) and cleared at the end; elsewhere, with
/// `-v`, a plain line every few seconds; else nothing.
struct Bar {
    label: String,
    terminal: bool,
    plain: bool,
    start: Instant,
    shown: Option<Instant>,
    drawn: bool,
    /// Recent (time, bytes) samples, for the rate.
    samples: std::collections::VecDeque<(Instant, u64)>,
}

impl Bar {
    fn new(label: String, terminal: bool, plain: bool) -> Bar {
        Bar {
            label,
            terminal,
            plain,
            start: Instant::now(),
            shown: None,
            drawn: false,
            samples: Default::default(),
        }
    }

    /// Bytes a second over the last five seconds.
    fn rate(&mut self, now: Instant, done: u64) -> Option<f64> {
        self.samples.push_back((now, done));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now - *t > Duration::from_secs(5))
        {
            self.samples.pop_front();
        }
        let (t0, d0) = *self.samples.front()?;
        let secs = (now - t0).as_secs_f64();
        (secs >= 0.2 && done > d0).then(|| (done - d0) as f64 / secs)
    }

    fn update(&mut self, p: Progress) {
        if !self.terminal && !self.plain {
            return;
        }
        let now = Instant::now();
        let rate = self.rate(now, p.done);
        let every = if self.terminal {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(2)
        };
        if self.shown.is_some_and(|t| now - t < every) {
            return;
        }
        self.shown = Some(now);
        let line = render_bar(&self.label, p, rate, 20);
        let mut e = std::io::stderr().lock();
        if self.terminal {
            self.drawn = true;
            // Clear the line first: a shorter line leaves nothing of a longer one.
            let _ = write!(e, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(e, "{line}");
        }
        let _ = e.flush();
    }

    /// Clears the line (a terminal) or says how long it took (`-v`).
    fn end(&mut self, last: Progress) {
        if self.terminal && self.drawn {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K");
            let _ = e.flush();
        } else if self.plain {
            let secs = self.start.elapsed().as_secs_f64();
            super::output::err_line(&format!(
                "{}: {} in {:.1} s ({}/s)",
                self.label,
                human(last.done),
                secs,
                human((last.done as f64 / secs.max(0.001)) as u64)
            ));
        }
    }
}

fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `1:05` or `1:02:03`.
fn clock(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// `label [#####.....]  42% 1.2 MiB / 3.0 MiB  5.0 MiB/s  0:12 left`.
fn render_bar(label: &str, p: Progress, rate: Option<f64>, width: usize) -> String {
    let speed = match rate {
        Some(r) => format!("  {}/s", human(r as u64)),
        None => String::new(),
    };
    match p.total {
        Some(total) => {
            let frac = if total == 0 {
                1.0
            } else {
                (p.done.min(total) as f64) / (total as f64)
            };
            let full = (frac * width as f64).round() as usize;
            let left = match rate {
                Some(r) if r > 0.0 && total > p.done => {
                    format!(
                        "  {} left",
                        clock(((total - p.done) as f64 / r).ceil() as u64)
                    )
                }
                _ => String::new(),
            };
            format!(
                "{label} [{}{}] {:>3}% {} / {}{speed}{left}",
                "#".repeat(full),
                ".".repeat(width - full),
                (frac * 100.0).floor() as u32,
                human(p.done),
                human(total)
            )
        }
        None => format!("{label} {}{speed}", human(p.done)),
    }
}

/// The name a progress line shows: the last part of a path.
fn short_name(path: &str) -> String {
    path.rsplit(['\\', '/'])
        .find(|p| !p.is_empty())
        .unwrap_or(path)
        .to_string()
}

/// `wsman copy [-r] SRC DEST`.
pub async fn copy(args: &ConnectionArgs, recurse: bool, src: &str, dest: &str) -> Result<i32> {
    let dir = direction(src, dest)?;
    let info = connection_info(args, single_host(args)?)?;
    let host = Box::new(ConsoleHost {
        show_progress: false,
        ..Default::default()
    });
    let mut session = PsSession::open(&info, SessionOptions::default(), host).await?;
    let label = match &dir {
        Direction::ToHost { local, .. } => short_name(local),
        Direction::FromHost { remote, .. } => short_name(remote),
    };
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !args.json;
    let mut bar = Bar::new(label, terminal, args.verbose > 0 && !terminal);
    let mut last = Progress {
        done: 0,
        total: None,
    };
    let mut on_progress = |p: Progress| {
        last = p;
        bar.update(p);
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let options = CopyOptions {
        cancel: Some(cancel.clone()),
        ..CopyOptions::default()
    };
    let copying = async {
        match (&dir, recurse) {
            (Direction::ToHost { local, remote }, false) => {
                copy_to_host(
                    &mut session,
                    Path::new(local),
                    remote,
                    &mut on_progress,
                    &options,
                )
                .await
            }
            (Direction::ToHost { local, remote }, true) => {
                copy_dir_to_host(
                    &mut session,
                    Path::new(local),
                    remote,
                    &mut on_progress,
                    &options,
                )
                .await
            }
            (Direction::FromHost { remote, local }, false) => {
                let target = local_target(Path::new(local), remote);
                copy_from_host(&mut session, remote, &target, &mut on_progress, &options).await
            }
            (Direction::FromHost { remote, local }, true) => {
                copy_dir_from_host(
                    &mut session,
                    remote,
                    Path::new(local),
                    &mut on_progress,
                    &options,
                )
                .await
            }
        }
    };
    // The first Ctrl+C stops the copy between two chunks, which then
    // removes what it left on both sides; a second one gives up at once
    // (a local partial file is still removed as the copy is dropped).
    let mut interrupts = 0;
    let result = {
        tokio::pin!(copying);
        loop {
            tokio::select! {
                r = &mut copying => break r,
                Ok(()) = tokio::signal::ctrl_c() => {
                    interrupts += 1;
                    cancel.store(true, Ordering::Relaxed);
                    if interrupts > 1 {
                        break Err(interrupted(&format!("the copy of {src}")));
                    }
                }
            }
        }
    };
    bar.end(last);
    // Leave nothing behind, whatever happened; after a second Ctrl+C the
    // host is not waited for long (it may be unreachable).
    let closed = if interrupts > 1 {
        tokio::time::timeout(Duration::from_secs(5), session.close())
            .await
            .unwrap_or(Ok(()))
    } else {
        session.close().await
    };
    let report = match result {
        Err(e) if is_interrupted(&e) => {
            super::output::err_line(&format!("wsman: {e}"));
            return Ok(130);
        }
        r => r?,
    };
    closed?;
    print_report(&report, &dir, args.json);
    Ok(0)
}

fn print_report(r: &CopyReport, dir: &Direction<'_>, json: bool) {
    for w in &r.warnings {
        super::output::err_line(&format!("WARNING: {}", super::sanitize::for_terminal(w)));
    }
    let (from, to) = match dir {
        Direction::ToHost { local, .. } => ((*local).to_string(), format!("host:{}", r.path)),
        Direction::FromHost { remote, .. } => (format!("host:{remote}"), r.path.clone()),
    };
    if json {
        out_line(
            &serde_json::json!({
                "Source": from, "Destination": to, "Bytes": r.bytes,
                "SHA256": r.digest, "Files": r.files, "Warnings": r.warnings,
                "Merged": r.merged,
            })
            .to_string(),
        );
    } else if r.digest.is_empty() {
        let merged = if r.merged {
            " (merged into the existing folder)"
        } else {
            ""
        };
        out_line(&format!(
            "{from} -> {to}{merged}: {} files, {} bytes, every SHA-256 verified",
            r.files, r.bytes
        ));
    } else {
        out_line(&format!(
            "{from} -> {to}: {} bytes, SHA-256 {} (verified)",
            r.bytes, r.digest
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_prefix_picks_the_direction() {
        assert_eq!(
            direction("./a", "host:C:\\t\\a").unwrap(),
            Direction::ToHost {
                local: "./a",
                remote: "C:\\t\\a"
            }
        );
        assert_eq!(
            direction("host:C:\\l\\a.log", "a.log").unwrap(),
            Direction::FromHost {
                remote: "C:\\l\\a.log",
                local: "a.log"
            }
        );
        for (s, d) in [("a", "b"), ("host:a", "host:b"), ("a", "host:")] {
            let e = direction(s, d).unwrap_err();
            assert_eq!(crate::exit_code(&e), 2, "{s} {d}: {e}");
        }
    }

    #[test]
    fn a_local_folder_receives_the_remote_name() {
        let dir = std::env::temp_dir();
        assert_eq!(local_target(&dir, r"C:\logs\a.log"), dir.join("a.log"));
        assert_eq!(local_target(&dir, "C:/logs/b.log"), dir.join("b.log"));
        assert_eq!(
            local_target(Path::new("out.log"), r"C:\logs\a.log"),
            Path::new("out.log")
        );
        // Nothing to name the file after: the folder itself (an error later).
        assert_eq!(local_target(&dir, "C:"), dir);
    }

    #[test]
    fn bar_shows_share_sizes_rate_and_time_left() {
        let p = |done, total| Progress { done, total };
        let s = render_bar("f", p(512, Some(2048)), None, 8);
        assert_eq!(s, "f [##......]  25% 512 B / 2.0 KiB");
        assert_eq!(
            render_bar("f", p(0, Some(0)), None, 4),
            "f [####] 100% 0 B / 0 B"
        );
        assert_eq!(render_bar("f", p(3 << 20, None), None, 4), "f 3.0 MiB");
        assert_eq!(
            render_bar("f", p(10 << 20, Some(40 << 20)), Some(2.0 * 1048576.0), 4),
            "f [#...]  25% 10.0 MiB / 40.0 MiB  2.0 MiB/s  0:15 left"
        );
        assert_eq!(clock(3725), "1:02:05");
        assert_eq!(short_name(r"C:\data\big.bin"), "big.bin");
    }

    #[test]
    fn rate_comes_from_recent_samples() {
        let mut bar = Bar::new("f".into(), false, false);
        let t = Instant::now();
        assert_eq!(bar.rate(t, 0), None);
        let r = bar.rate(t + Duration::from_secs(1), 1 << 20).unwrap();
        assert!((r - 1048576.0).abs() < 1.0, "{r}");
        // Samples older than five seconds no longer count.
        let r = bar.rate(t + Duration::from_secs(6), 6 << 20).unwrap();
        assert!((r - 1048576.0).abs() < 1.0, "{r}");
    }
}
