//! `wsman copy` end to end against the test host, whose files are on its
//! own disk (`--fs-root`: `C:` is FS_ROOT/C), so the bytes are compared
//! there: a 64 MiB random file both ways, a folder tree with `-r` both ways
//! (nested folders, an empty folder, an empty file, names with spaces and
//! non-ASCII characters), and the failures a user meets, each leaving
//! nothing partial on either side: a destination the host refuses (which
//! fails before the file is sent), a missing source, the host killed
//! mid-copy, Ctrl+C.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use integration_tests::{Cli, TempDir, TestHost};
use sha2::{Digest, Sha256};

struct Host {
    host: TestHost,
    cli: Cli,
    fs: TempDir,
}

fn start() -> Option<Host> {
    let fs = TempDir::new("fs");
    let root = fs.path().to_str().unwrap().to_string();
    let host = TestHost::start(&["--auth", "basic", "--allow-unencrypted", "--fs-root", &root])?;
    std::fs::create_dir_all(fs.path().join("C/data")).unwrap();
    let cli = Cli::for_host(&host);
    Some(Host { host, cli, fs })
}

impl Host {
    /// The local path of a path on the host's C: drive (`data/x` for C:\data\x).
    fn c(&self, rel: &str) -> PathBuf {
        self.fs.path().join("C").join(rel)
    }

    fn wsman(&self, args: &[&str]) -> Command {
        self.cli.command(args)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cli.run(args)
    }

    fn requests(&self) -> u64 {
        TestHost::stat(&self.host.stats()["totals"], "requests")
            .max(TestHost::stat(&self.host.stats(), "requests"))
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Random bytes (xorshift), fast enough for 64 MiB in a debug build.
fn random_file(path: &Path, len: usize) {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(len);
    std::fs::write(path, data).unwrap();
}

fn sha256_file(path: &Path) -> String {
    let mut h = Sha256::new();
    let mut f = std::fs::File::open(path).unwrap();
    std::io::copy(&mut f, &mut h).unwrap();
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file and folder under `root`, relative, with each file's digest.
fn tree(root: &Path) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.push((rel, None));
                stack.push(p);
            } else {
                out.push((rel, Some(sha256_file(&p))));
            }
        }
    }
    out.sort();
    out
}

/// Partial files or folders anywhere under `root`.
fn partials(root: &Path) -> Vec<String> {
    tree(root)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.contains(".wsman-partial"))
        .collect()
}

#[test]
fn a_64_mib_file_to_the_host_and_back() {
    let Some(h) = start() else { return };
    let dir = TempDir::new("big");
    let src = dir.path().join("big.bin");
    random_file(&src, 64 << 20);
    let out = h.run(&["copy", src.to_str().unwrap(), r"host:C:\data\big.bin"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let digest = sha256_file(&src);
    // The digest wsman reports is the one of the bytes on the host's disk.
    assert_eq!(sha256_file(&h.c("data/big.bin")), digest);
    let said = text(&out.stdout);
    assert!(
        said.contains(r"host:C:\data\big.bin") && said.contains(&digest),
        "{said}"
    );
    // Not a terminal and no -v: no progress line.
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    // Into an existing folder: under the file's own name, as Copy-Item.
    let small = dir.path().join("small name é.txt");
    std::fs::write(&small, b"small").unwrap();
    let out = h.run(&["copy", small.to_str().unwrap(), r"host:C:\data"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(h.c("data/small name é.txt")).unwrap(),
        b"small"
    );

    let back = dir.path().join("back.bin");
    let out = h.run(&["copy", r"host:C:\data\big.bin", back.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(sha256_file(&back), digest);
    assert!(text(&out.stdout).contains(&digest));
    assert!(partials(h.fs.path()).is_empty() && partials(dir.path()).is_empty());
}

fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub/deeper/deepest")).unwrap();
    std::fs::create_dir_all(root.join("empty folder")).unwrap();
    std::fs::write(root.join("empty.txt"), b"").unwrap();
    std::fs::write(root.join("a file é ü ñ 日本.txt"), "héllo wörld\r\n").unwrap();
    std::fs::write(root.join("sub/one.bin"), vec![7u8; 300_000]).unwrap();
    random_file(&root.join("sub/deeper/deepest/two.bin"), 1 << 20);
    std::fs::write(root.join("sub/deeper/x y.txt"), b"x").unwrap();
}

#[test]
fn a_folder_tree_with_r_both_ways() {
    let Some(h) = start() else { return };
    let dir = TempDir::new("tree");
    let src = dir.path().join("Folder ä");
    make_tree(&src);
    let want = tree(&src);
    assert_eq!(want.len(), 9, "{want:?}");

    // To an existing folder: the tree lands in it under its own name.
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(tree(&h.c("data/Folder ä")), want);
    let said = text(&out.stdout);
    assert!(said.contains("5 files"), "{said}");
    // Without -r a folder is refused.
    let out = h.run(&["copy", src.to_str().unwrap(), r"host:C:\data\x"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // A target that exists is not merged into.
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );

    // And back, under a new name.
    let back = dir.path().join("back");
    let out = h.run(&[
        "copy",
        "-r",
        r"host:C:\data\Folder ä",
        back.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(tree(&back), want);
    // Into an existing folder: under the remote folder's name.
    let into = dir.path().join("into");
    std::fs::create_dir(&into).unwrap();
    let out = h.run(&[
        "copy",
        "-r",
        r"host:C:\data\Folder ä",
        into.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(tree(&into.join("Folder ä")), want);
    assert!(partials(h.fs.path()).is_empty() && partials(dir.path()).is_empty());
}

#[test]
fn a_refused_destination_fails_before_the_file_is_sent_and_leaves_nothing() {
    let Some(h) = start() else { return };
    std::fs::create_dir_all(h.c("data/sub/big.bin")).unwrap();
    let dir = TempDir::new("refused");
    let src = dir.path().join("big.bin");
    random_file(&src, 32 << 20);
    for (dest, says) in [
        (
            r"host:C:\Windows\big.bin",
            r"Access to the path 'C:\Windows\big.bin.wsman-partial' is denied",
        ),
        (
            r"host:C:\nope\big.bin",
            r"the folder 'C:\nope' does not exist",
        ),
        (r"host:C:\data\sub", r"'C:\data\sub\big.bin' is a directory"),
    ] {
        let before = h.requests();
        let out = h.run(&["copy", src.to_str().unwrap(), dest]);
        assert_eq!(out.status.code(), Some(1), "{dest}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(says),
            "{dest}: {}",
            text(&out.stderr)
        );
        // 32 MiB would take hundreds of Sends; the refusal comes first.
        let used = h.requests() - before;
        assert!(used < 30, "{dest}: {used} requests");
    }
    // A folder into a place the host refuses.
    let tree_src = dir.path().join("t");
    make_tree(&tree_src);
    let out = h.run(&["copy", "-r", tree_src.to_str().unwrap(), r"host:C:\Windows"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("denied"),
        "{}",
        text(&out.stderr)
    );
    assert!(!h.c("Windows/big.bin").exists() && !h.c("Windows/t").exists());
    assert!(partials(h.fs.path()).is_empty());
}

#[test]
fn failures_from_the_host_leave_nothing_here() {
    let Some(h) = start() else { return };
    let dir = TempDir::new("from");
    let dest = dir.path().join("x.bin");
    let out = h.run(&["copy", r"host:C:\data\missing.bin", dest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(r"'C:\data\missing.bin' does not exist"));
    let out = h.run(&[
        "copy",
        "-r",
        r"host:C:\data\missing",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("does not exist"),
        "{}",
        text(&out.stderr)
    );
    // A local destination that cannot be written: under a file.
    std::fs::write(h.c("data/f.txt"), b"abc").unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"").unwrap();
    let out = h.run(&[
        "copy",
        r"host:C:\data\f.txt",
        blocker.join("f.txt").to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("cannot write"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        tree(dir.path()).iter().all(|(p, _)| p == "file"),
        "{:?}",
        tree(dir.path())
    );
}

/// Waits until `cond` holds (a copy under way), at most a minute.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(60), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("wsman did not end");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

#[test]
fn ctrl_c_mid_copy_removes_the_partial_copy_on_both_sides() {
    let Some(h) = start() else { return };
    let dir = TempDir::new("intr");
    let src = dir.path().join("big.bin");
    random_file(&src, 64 << 20);
    let partial = h.c("data/big.bin.wsman-partial");
    let child = h
        .wsman(&["copy", src.to_str().unwrap(), r"host:C:\data\big.bin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the copy to the host started", || {
        partial.metadata().is_ok_and(|m| m.len() > 0)
    });
    signal(child.id(), "-INT");
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("interrupted"),
        "{}",
        text(&out.stderr)
    );
    assert!(!h.c("data/big.bin").exists());
    assert!(
        partials(h.fs.path()).is_empty(),
        "{:?}",
        partials(h.fs.path())
    );

    // From the host.
    std::fs::copy(&src, h.c("data/big.bin")).unwrap();
    let dest = dir.path().join("back.bin");
    let mut local_partial = dest.clone().into_os_string();
    local_partial.push(".wsman-partial");
    let local_partial = PathBuf::from(local_partial);
    let child = h
        .wsman(&["copy", r"host:C:\data\big.bin", dest.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the copy from the host started", || {
        local_partial.metadata().is_ok_and(|m| m.len() > 0)
    });
    signal(child.id(), "-INT");
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(!dest.exists() && !local_partial.exists());
}

/// Kills the host (SIGKILL) once `started` holds.
fn kill_host_when(h: &Host, what: &str, started: impl FnMut() -> bool) {
    wait_for(what, started);
    signal(h.host.info["pid"].as_u64().unwrap() as u32, "-KILL");
}

/// A copy to the host fails once the host is gone (nothing sent is ever
/// resent); one from the host keeps trying to reach it for the session's
/// reconnect window (4 minutes, as PowerShell's robust connections), and
/// Ctrl+C twice gives up at once: either way nothing partial is left here.
/// (What the killed host had written stays on its disk, as it would on a
/// Windows host whose WinRM service was killed; the next copy to the same
/// place replaces it.)
#[test]
fn the_host_killed_mid_copy_leaves_nothing_here() {
    let dir = TempDir::new("kill");
    let src = dir.path().join("big.bin");
    random_file(&src, 64 << 20);
    {
        let Some(h) = start() else { return };
        let partial = h.c("data/big.bin.wsman-partial");
        let child = h
            .wsman(&["copy", src.to_str().unwrap(), r"host:C:\data\big.bin"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Killed while chunks are being sent (a Receive, which waits for
        // the host to come back, is what the other direction shows).
        kill_host_when(&h, "the copy to the host started", || {
            partial.metadata().is_ok_and(|m| m.len() > 2 << 20)
        });
        let out = finish(child);
        assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("127.0.0.1"),
            "{}",
            text(&out.stderr)
        );
    }
    let Some(h) = start() else { return };
    std::fs::copy(&src, h.c("data/big.bin")).unwrap();
    let dest = dir.path().join("back.bin");
    let mut local_partial = dest.clone().into_os_string();
    local_partial.push(".wsman-partial");
    let local_partial = PathBuf::from(local_partial);
    let mut child = h
        .wsman(&["copy", r"host:C:\data\big.bin", dest.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    kill_host_when(&h, "the copy from the host started", || {
        local_partial.metadata().is_ok_and(|m| m.len() > 0)
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().unwrap().is_none(),
        "wsman waits for the host to come back"
    );
    signal(child.id(), "-INT");
    std::thread::sleep(Duration::from_millis(500));
    signal(child.id(), "-INT");
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        !dest.exists() && !local_partial.exists(),
        "{:?}",
        tree(dir.path())
    );
}

/// On a terminal: one progress line redrawn in place (each draw clears the
/// line first, so a shorter line leaves nothing of a longer one) with the
/// bytes, the rate and the time left, and cleared at the end, before the
/// report.
#[test]
fn progress_on_a_terminal_is_one_line_cleared_at_the_end() {
    let Some(h) = start() else { return };
    let Some(python) = integration_tests::venv_python() else {
        return;
    };
    let dir = TempDir::new("pty");
    let src = dir.path().join("p.bin");
    random_file(&src, 32 << 20);
    let driver = [
        python,
        integration_tests::workspace_root().join("tests/pty/run_in_pty.py"),
    ];
    let out = h
        .cli
        .command_via(
            &driver,
            &["copy", src.to_str().unwrap(), r"host:C:\data\p.bin"],
        )
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    let screen: String = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(lines.next(), Some("0"), "{screen:?}");
    const CLEAR: &str = "\r\x1b[2K";
    let draws: Vec<&str> = screen.split(CLEAR).collect();
    assert!(draws.len() > 3, "{screen:?}");
    assert!(
        draws
            .iter()
            .any(|d| d.contains("MiB/s") && d.contains(" left") && d.contains("/ 32.0 MiB")),
        "{screen:?}"
    );
    // No newline inside the progress: one line, redrawn.
    assert!(
        draws[1..draws.len() - 1].iter().all(|d| !d.contains('\n')),
        "{screen:?}"
    );
    // Cleared at the end: after the last clear only the report.
    let last = draws.last().unwrap();
    assert!(
        last.starts_with(src.to_str().unwrap()) && last.contains("(verified)"),
        "{last:?}"
    );
    assert_eq!(sha256_file(&h.c("data/p.bin")), sha256_file(&src));
}
