//! `wsman copy` end to end against the test host, whose files are on its
//! own disk (`--fs-root`: `C:` is FS_ROOT/C), so the bytes are compared
//! there: a 64 MiB random file both ways, a folder tree with `-r` both ways
//! (nested folders, an empty folder, an empty file, names with spaces and
//! non-ASCII characters), a second `-r` merging into the folder the first
//! made (both ways), local symbolic links followed, and the failures a
//! user meets, each leaving nothing partial on either side: a destination
//! the host refuses (which fails before the file is sent), a missing
//! source, a read-only file a merge would replace, the host killed
//! mid-copy or mid-merge, Ctrl+C.
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
    start_on(TempDir::new("fs"))
}

/// A host whose drives are under `fs` (one a killed host used, say).
fn start_on(fs: TempDir) -> Option<Host> {
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
    // A target that exists is merged into (a_second_copy_r_merges_both_ways).
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("merged"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(tree(&h.c("data/Folder ä")), want);

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

/// `wsman ARGS` (a copy from the host) with the host killed once
/// `started` holds: wsman keeps waiting for the host to come back, and
/// Ctrl+C twice ends it with exit code 130. Its output, for the caller to
/// check what was left.
fn from_killed_host_then_ctrl_c(
    h: &Host,
    args: &[&str],
    what: &str,
    started: impl FnMut() -> bool,
) -> Output {
    let mut child = h
        .wsman(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    kill_host_when(h, what, started);
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
    out
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
    from_killed_host_then_ctrl_c(
        &h,
        &["copy", r"host:C:\data\big.bin", dest.to_str().unwrap()],
        "the copy from the host started",
        || local_partial.metadata().is_ok_and(|m| m.len() > 0),
    );
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

/// `tree` without the entries named in `except` (relative paths).
fn tree_without(root: &Path, except: &[&str]) -> Vec<(String, Option<String>)> {
    tree(root)
        .into_iter()
        .filter(|(p, _)| !except.contains(&p.as_str()))
        .collect()
}

/// A second `copy -r` of the same folder, each way, merges into the folder
/// the first made, as Copy-Item -Recurse does: a changed file is replaced,
/// a new one added, one only the destination has is kept.
#[test]
fn a_second_copy_r_merges_both_ways() {
    let Some(h) = start() else { return };
    let dir = TempDir::new("merge");
    let src = dir.path().join("Folder ä");
    make_tree(&src);
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("merged"),
        "{}",
        text(&out.stdout)
    );

    // Here: one file changed, one added (in a new folder too); there: one
    // file of the host's own.
    random_file(&src.join("sub/one.bin"), 200_000);
    std::fs::write(src.join("added.txt"), b"added").unwrap();
    std::fs::create_dir_all(src.join("new folder")).unwrap();
    std::fs::write(src.join("new folder/n.txt"), b"n").unwrap();
    std::fs::write(h.c("data/Folder ä/sub/host only.txt"), b"mine").unwrap();
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains(r"host:C:\data\Folder ä (merged into the existing folder): 7 files"),
        "{said}"
    );
    let on_host = h.c("data/Folder ä");
    assert_eq!(tree_without(&on_host, &["sub/host only.txt"]), tree(&src));
    assert_eq!(
        std::fs::read(on_host.join("sub/host only.txt")).unwrap(),
        b"mine"
    );

    // Back, twice into the same local folder: the second merges.
    let into = dir.path().join("into");
    std::fs::create_dir(&into).unwrap();
    let back = into.join("Folder ä");
    let from = r"host:C:\data\Folder ä";
    let out = h.run(&["copy", "-r", from, into.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(tree(&back), tree(&on_host));
    random_file(&on_host.join("sub/deeper/x y.txt"), 70_000);
    std::fs::write(on_host.join("host added.txt"), b"new on the host").unwrap();
    std::fs::write(back.join("sub/local only.txt"), b"mine here").unwrap();
    let out = h.run(&["copy", "-r", from, into.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["Merged"], true, "{report}");
    assert_eq!(report["Files"], 9, "{report}");
    assert_eq!(tree_without(&back, &["sub/local only.txt"]), tree(&on_host));
    assert_eq!(
        std::fs::read(back.join("sub/local only.txt")).unwrap(),
        b"mine here"
    );
    assert!(partials(h.fs.path()).is_empty() && partials(dir.path()).is_empty());
}

fn set_read_only(path: &Path, yes: bool) {
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(yes);
    std::fs::set_permissions(path, perms).unwrap();
}

/// A merge that would replace a read-only file (Copy-Item refuses one
/// without -Force), or put a file where a folder is, fails before anything
/// changes: the destination stays as it was, with no partial name on
/// either side.
#[test]
fn a_merge_over_a_read_only_file_or_a_folder_changes_nothing() {
    let Some(h) = start() else { return };
    let dir = TempDir::new("ro");
    let src = dir.path().join("t");
    make_tree(&src);
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let on_host = h.c("data/t");
    let before = tree(&on_host);
    random_file(&src.join("sub/one.bin"), 1000);
    std::fs::write(src.join("empty.txt"), b"no longer empty").unwrap();
    set_read_only(&on_host.join("empty.txt"), true);
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(r"'C:\data\t\empty.txt' is read-only"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(tree(&on_host), before);
    set_read_only(&on_host.join("empty.txt"), false);
    // A folder where the copy has a file.
    std::fs::remove_file(on_host.join("sub/one.bin")).unwrap();
    std::fs::create_dir(on_host.join("sub/one.bin")).unwrap();
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is a folder, and the copy has a file of that name"),
        "{}",
        text(&out.stderr)
    );
    assert!(partials(h.fs.path()).is_empty());

    // Here: a read-only local file the copy back would replace.
    let into = dir.path().join("into");
    std::fs::create_dir(&into).unwrap();
    std::fs::remove_dir(on_host.join("sub/one.bin")).unwrap();
    let out = h.run(&["copy", "-r", r"host:C:\data\t", into.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let local = into.join("t");
    std::fs::write(on_host.join("empty.txt"), b"changed on the host").unwrap();
    set_read_only(&local.join("empty.txt"), true);
    let before = tree(&local);
    let out = h.run(&["copy", "-r", r"host:C:\data\t", into.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("empty.txt is read-only"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(tree(&local), before);
    // A file where the copy has a folder.
    set_read_only(&local.join("empty.txt"), false);
    std::fs::remove_dir_all(local.join("empty folder")).unwrap();
    std::fs::write(local.join("empty folder"), b"").unwrap();
    let out = h.run(&["copy", "-r", r"host:C:\data\t", into.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is a file, and the copy has a folder of that name"),
        "{}",
        text(&out.stderr)
    );
    assert!(partials(dir.path()).is_empty() && partials(h.fs.path()).is_empty());
}

/// The host killed while a merge's files travel: the folder merged into
/// is as it was on both sides (the files go to the staging folder first),
/// and the next copy, to a host started again on the same disk, removes
/// the staging folder the killed host kept and merges.
#[test]
fn the_host_killed_mid_merge_leaves_the_folder_as_it_was() {
    let dir = TempDir::new("killmerge");
    let src = dir.path().join("m");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("sub/small.txt"), b"v1").unwrap();
    let Some(h) = start() else { return };
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let on_host = h.c("data/m");
    std::fs::write(src.join("sub/small.txt"), b"v2").unwrap();
    random_file(&src.join("sub/zz big.bin"), 48 << 20);
    let before = tree(&on_host);
    let staged = h.c("data/m.wsman-partial/sub/zz big.bin.wsman-partial");
    let child = h
        .wsman(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    kill_host_when(&h, "the merge to the host started", || {
        staged.metadata().is_ok_and(|m| m.len() > 2 << 20)
    });
    let out = finish(child);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(tree(&on_host), before);
    assert!(partials(&on_host).is_empty());
    let Host { host, fs, .. } = h;
    drop(host);
    let Some(h) = start_on(fs) else { return };
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(tree(&h.c("data/m")), tree(&src));
    assert!(partials(h.fs.path()).is_empty());

    // From the host: killed, then Ctrl+C twice (wsman waits for a host
    // that may come back); the local folder is as it was.
    let into = dir.path().join("into");
    std::fs::create_dir_all(into.join("m/sub")).unwrap();
    std::fs::write(into.join("m/sub/small.txt"), b"old here").unwrap();
    let before = tree(&into);
    let staged = into.join("m.wsman-partial/sub/zz big.bin.wsman-partial");
    let out = from_killed_host_then_ctrl_c(
        &h,
        &["copy", "-r", r"host:C:\data\m", into.to_str().unwrap()],
        "the merge from the host started",
        || staged.metadata().is_ok_and(|m| m.len() > 0),
    );
    assert_eq!(tree(&into), before, "{}", text(&out.stderr));
}

/// Local symbolic links are followed, as Copy-Item and `cp -rL` do: a link
/// to a file arrives as the file, a link to a folder as the folder; a loop,
/// a second link to a folder already copied and a dangling link are each a
/// warning on stderr, and the copy of the rest succeeds.
#[cfg(unix)]
#[test]
fn local_links_are_followed_and_loops_and_dangling_links_are_warnings() {
    use std::os::unix::fs::symlink;
    let Some(h) = start() else { return };
    let dir = TempDir::new("links");
    let src = dir.path().join("l");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::create_dir_all(outside.join("inner")).unwrap();
    std::fs::write(src.join("a/plain.txt"), b"plain").unwrap();
    std::fs::write(outside.join("target.txt"), b"pointed at").unwrap();
    std::fs::write(outside.join("inner/deep.txt"), b"deep").unwrap();
    symlink(outside.join("target.txt"), src.join("file link.txt")).unwrap();
    symlink(&outside, src.join("folder link")).unwrap();
    symlink(&outside, src.join("a/folder again")).unwrap();
    symlink(&src, src.join("a/loop")).unwrap();
    symlink(dir.path().join("nowhere"), src.join("dangling")).unwrap();
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("WARNING: ")).collect();
    assert_eq!(warnings.len(), 3, "{err}");
    assert!(
        err.contains("a/loop (a link to a folder this copy already has"),
        "{err}"
    );
    assert!(
        err.contains("a/folder again (a link to a folder this copy already has"),
        "{err}"
    );
    assert!(
        err.contains("dangling (a link to ") && err.contains("nowhere"),
        "{err}"
    );
    assert!(
        text(&out.stdout).contains("4 files"),
        "{}",
        text(&out.stdout)
    );
    let on_host = h.c("data/l");
    assert_eq!(
        std::fs::read(on_host.join("file link.txt")).unwrap(),
        b"pointed at"
    );
    assert_eq!(
        std::fs::read(on_host.join("folder link/inner/deep.txt")).unwrap(),
        b"deep"
    );
    assert_eq!(
        tree(&on_host)
            .into_iter()
            .map(|(p, _)| p)
            .collect::<Vec<_>>(),
        [
            "a",
            "a/plain.txt",
            "file link.txt",
            "folder link",
            "folder link/inner",
            "folder link/inner/deep.txt",
            "folder link/target.txt"
        ]
    );
    // Nothing on the host is a link.
    assert!(std::fs::symlink_metadata(on_host.join("file link.txt"))
        .unwrap()
        .is_file());
}

/// Ctrl+C while a merge's files travel, each way: the folder merged into
/// is as it was, with no partial name on either side.
#[test]
fn ctrl_c_mid_merge_leaves_the_folder_as_it_was_on_both_sides() {
    let Some(h) = start() else { return };
    let dir = TempDir::new("intrmerge");
    let src = dir.path().join("m");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("sub/small.txt"), b"v1").unwrap();
    let out = h.run(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(src.join("sub/small.txt"), b"v2").unwrap();
    random_file(&src.join("sub/zz big.bin"), 48 << 20);
    let on_host = h.c("data/m");
    let before = tree(&on_host);
    let staged = h.c("data/m.wsman-partial/sub/zz big.bin.wsman-partial");
    let child = h
        .wsman(&["copy", "-r", src.to_str().unwrap(), r"host:C:\data"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the merge to the host started", || {
        staged.metadata().is_ok_and(|m| m.len() > 0)
    });
    signal(child.id(), "-INT");
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(tree(&on_host), before);
    assert!(
        partials(h.fs.path()).is_empty(),
        "{:?}",
        partials(h.fs.path())
    );

    // From the host, into a local copy of the old version.
    std::fs::copy(src.join("sub/zz big.bin"), on_host.join("sub/zz big.bin")).unwrap();
    std::fs::write(on_host.join("sub/small.txt"), b"v2").unwrap();
    let into = dir.path().join("into");
    std::fs::create_dir_all(into.join("m/sub")).unwrap();
    std::fs::write(into.join("m/sub/small.txt"), b"v1").unwrap();
    let before = tree(&into);
    let staged = into.join("m.wsman-partial/sub/zz big.bin.wsman-partial");
    let child = h
        .wsman(&["copy", "-r", r"host:C:\data\m", into.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the merge from the host started", || {
        staged.metadata().is_ok_and(|m| m.len() > 0)
    });
    signal(child.id(), "-INT");
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(tree(&into), before);
    assert!(partials(dir.path()).is_empty() && partials(h.fs.path()).is_empty());
}
