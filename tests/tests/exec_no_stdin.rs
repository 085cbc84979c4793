//! `wsman exec -n`: a script whose stdin is a pipe that never closes still
//! gets its command's output and exit code (as `ssh -n`); without `-n` such
//! a stdin is sent to the command.
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use integration_tests::{Cli, TestHost};

#[test]
fn no_stdin_does_not_wait_for_an_open_pipe() {
    let Some(host) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    let mut child = Cli::for_host(&host)
        .command(&["exec", "-n", "sh", "-c", "echo remote-ok; exit 7"])
        .stdin(Stdio::piped()) // kept open, never written
        .stdout(Stdio::piped())
        .spawn()
        .expect("run wsman");
    let _open_stdin = child.stdin.take();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("wsman exec -n waited for stdin");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out.trim(), "remote-ok");
    assert_eq!(status.code(), Some(7), "the remote exit code is ours");
}
