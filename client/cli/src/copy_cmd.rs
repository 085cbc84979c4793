//! `wsman copy SRC DEST` (Copy-Item -ToSession / -FromSession): the side
//! written `host:PATH` is the remote one; a temporary session carries the
//! file ([`crate::copy`]), a progress bar shows on stderr when it is a
//! terminal.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::args::ConnectionArgs;
use super::config::{connection_info, single_host};
use super::output::out_line;
use crate::console_host::ConsoleHost;
use crate::copy::{
    copy_from_host, copy_to_host, CopyOptions, CopyReport, Progress, PARTIAL_SUFFIX as PARTIAL,
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

/// A one-line progress bar on stderr, redrawn at most ten times a second.
struct Bar {
    label: String,
    shown: Option<Instant>,
    drawn: bool,
}

impl Bar {
    fn draw(&mut self, p: Progress, force: bool) {
        let now = Instant::now();
        if !force
            && self
                .shown
                .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.shown = Some(now);
        self.drawn = true;
        let mut e = std::io::stderr().lock();
        let _ = write!(e, "\r{}", render_bar(&self.label, p, 30));
        let _ = e.flush();
    }

    fn end(&mut self) {
        if self.drawn {
            let _ = writeln!(std::io::stderr());
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

/// `label [#####.....]  42% 1.2 MiB / 3.0 MiB`.
fn render_bar(label: &str, p: Progress, width: usize) -> String {
    match p.total {
        Some(total) => {
            let frac = if total == 0 {
                1.0
            } else {
                (p.done.min(total) as f64) / (total as f64)
            };
            let full = (frac * width as f64).round() as usize;
            format!(
                "{label} [{}{}] {:>3}% {} / {}",
                "#".repeat(full),
                ".".repeat(width - full),
                (frac * 100.0).floor() as u32,
                human(p.done),
                human(total)
            )
        }
        None => format!("{label} {}", human(p.done)),
    }
}

/// `wsman copy SRC DEST`.
pub async fn copy(args: &ConnectionArgs, src: &str, dest: &str) -> Result<i32> {
    let dir = direction(src, dest)?;
    let info = connection_info(args, single_host(args)?)?;
    let host = Box::new(ConsoleHost {
        show_progress: false,
        ..Default::default()
    });
    let mut session = PsSession::open(&info, SessionOptions::default(), host).await?;
    let mut bar = Bar {
        label: match &dir {
            Direction::ToHost { local, .. } => (*local).to_string(),
            Direction::FromHost { remote, .. } => (*remote).to_string(),
        },
        shown: None,
        drawn: false,
    };
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !args.json;
    let mut last = Progress {
        done: 0,
        total: None,
    };
    let mut on_progress = |p: Progress| {
        last = p;
        if terminal {
            bar.draw(p, false);
        }
    };
    let options = CopyOptions::default();
    let copying = async {
        match &dir {
            Direction::ToHost { local, remote } => {
                copy_to_host(
                    &mut session,
                    Path::new(local),
                    remote,
                    &mut on_progress,
                    &options,
                )
                .await
            }
            Direction::FromHost { remote, local } => {
                let target = local_target(Path::new(local), remote);
                copy_from_host(&mut session, remote, &target, &mut on_progress, &options).await
            }
        }
    };
    // Ctrl+C drops the copy (a local partial file is removed with it) and
    // still removes the session from the host.
    let result = tokio::select! {
        r = copying => r,
        Ok(()) = tokio::signal::ctrl_c() => Err(Error::Broken(match &dir {
            Direction::ToHost { remote, .. } => format!(
                "interrupted: the copy to {remote} did not finish (the host may keep \
                 {remote}{PARTIAL}, which can be removed)"
            ),
            Direction::FromHost { remote, .. } => {
                format!("interrupted: the copy of {remote} did not finish")
            }
        })),
    };
    if terminal {
        bar.draw(last, true);
        bar.end();
    }
    // Leave nothing behind, whatever happened.
    let closed = session.close().await;
    let report = result?;
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
                "SHA256": r.digest, "Warnings": r.warnings,
            })
            .to_string(),
        );
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
    fn bar_shows_share_and_sizes() {
        let p = |done, total| Progress { done, total };
        let s = render_bar("f", p(512, Some(2048)), 8);
        assert_eq!(s, "f [##......]  25% 512 B / 2.0 KiB");
        assert_eq!(render_bar("f", p(0, Some(0)), 4), "f [####] 100% 0 B / 0 B");
        assert_eq!(render_bar("f", p(3 << 20, None), 4), "f 3.0 MiB");
    }
}
