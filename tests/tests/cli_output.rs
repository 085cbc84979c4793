//! `wsman invoke` output to a pipe is written a Receive at a time, not a
//! line at a time (issue 14), and nothing is lost or reordered doing so:
//! against the independent test host (NTLM, sealed), the write system
//! calls on stdout are counted with `strace` (the test says so and skips
//! where strace is not installed or not permitted).
use std::process::{Command, Stdio};

use integration_tests::{wsman_bin, TestHost};

const N: usize = 20_000;

#[test]
fn invoke_output_to_a_pipe_is_written_per_receive_in_order() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let strace_ok = Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !strace_ok {
        eprintln!("skipped: strace is not installed or not permitted here");
        return;
    }
    let bin = wsman_bin();
    assert!(bin.exists(), "{} is not built", bin.display());
    let state = std::env::temp_dir().join(format!("wsman-cli-output-{}", std::process::id()));
    let trace = state.with_extension("strace");
    let out = Command::new("strace")
        .arg("-f")
        .args(["-e", "trace=write,writev", "-o"])
        .arg(&trace)
        .arg(&bin)
        .args([
            "-H",
            host.url(),
            "-a",
            "ntlm",
            "-u",
            host.get("user").unwrap(),
        ])
        .args(["invoke", &format!("1..{N}")])
        .env("WSMAN_PASSWORD", host.get("password").unwrap())
        .env("WSMAN_STATE_DIR", &state)
        .env_remove("WSMAN_HOST")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let log = std::fs::read_to_string(&trace).unwrap_or_default();
    let _ = std::fs::remove_file(&trace);
    let _ = std::fs::remove_dir_all(&state);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let expected: String = (1..=N).map(|i| format!("{i}\n")).collect();
    assert!(text == expected, "output lost or reordered");
    // writes to fd 1 ("write(1, ..." in strace's log, with or without a pid)
    let writes = log
        .lines()
        .filter(|l| l.contains("write(1,") || l.contains("writev(1,"))
        .count();
    assert!(writes > 0, "strace saw no write to stdout:\n{log}");
    assert!(
        writes <= N / 100,
        "{writes} writes to stdout for {N} lines: output is not batched"
    );
}
