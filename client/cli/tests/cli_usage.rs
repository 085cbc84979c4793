//! The `wsman` binary's usage contract without a host: help that teaches,
//! usage errors exit 2, refusals before anything is sent, unreachable
//! hosts exit 4 quickly.
use std::process::Command;
use std::time::{Duration, Instant};

fn wsman(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wsman"))
        .args(args)
        .env_remove("WSMAN_HOST")
        .env_remove("WSMAN_USER")
        .env_remove("WSMAN_PASSWORD")
        .output()
        .expect("run wsman")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_lists_every_command_of_the_contract() {
    let out = wsman(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for cmd in [
        "identify",
        "get",
        "enumerate",
        "exec",
        "invoke",
        "enter",
        "session",
        "copy",
    ] {
        assert!(help.contains(cmd), "--help does not mention {cmd}:\n{help}");
    }
    assert!(help.contains("Exit codes"), "{help}");
    let out = wsman(&["session", "--help"]);
    let help = text(&out.stdout);
    for cmd in [
        "new",
        "list",
        "invoke",
        "receive",
        "connect",
        "disconnect",
        "remove",
    ] {
        assert!(help.contains(cmd), "session --help does not mention {cmd}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = wsman(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = wsman(&["identify"]);
    assert_eq!(out.status.code(), Some(2), "no host is a usage error");
    assert!(text(&out.stderr).contains("-H"), "{}", text(&out.stderr));
}

#[test]
fn basic_over_http_is_refused_before_sending_anything() {
    let out = wsman(&[
        "-H",
        "http://127.0.0.1:9/wsman",
        "-u",
        "u",
        "-p",
        "secret-pw-123",
        "-a",
        "basic",
        "identify",
    ]);
    // A usage mistake (shared/docs/cli.md): exit 2.
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--no-encryption"), "{err}");
    assert!(!err.contains("secret-pw-123"), "the password leaked: {err}");
}

#[test]
fn an_unreachable_host_exits_4_within_the_connect_timeout() {
    // Port 9 (discard) on loopback is closed: the connection is refused.
    let start = Instant::now();
    let out = wsman(&[
        "-H",
        "http://127.0.0.1:9/wsman",
        "-u",
        "u",
        "-p",
        "pw",
        "-a",
        "ntlm",
        "--connect-timeout",
        "3",
        "identify",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(text(&out.stderr).contains("127.0.0.1"), "names the host");
}
