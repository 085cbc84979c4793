//! `wsman -a credssp` against the test host ([MS-CSSP]; the host's acceptor
//! is pyspnego's, which pypsrp passes first: fixtures/testhost selfcheck).
//!
//! End to end through the binary: one-shot invoke with bodies longer than
//! 16 KiB both ways (`multipart/x-multi-encrypted` over HTTP) and over
//! HTTPS, a session's lifecycle, and the refusals a user meets (exit 3):
//! CredSSP not enabled, a wrong password, a host whose CredSSP binding
//! does not match its TLS key (no credentials sent). The password never
//! appears in `-vv` output.
//!
//! [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
use std::path::Path;
use std::process::{Command, Output};

use integration_tests::{wsman_bin, TempDir, TestHost};

fn wsman(state: &Path, password: &str, args: &[&str]) -> Output {
    let bin = wsman_bin();
    assert!(bin.exists(), "{} is not built", bin.display());
    Command::new(bin)
        .args(["--connect-timeout", "5", "-a", "credssp", "-u", "vagrant"])
        .args(args)
        .env("WSMAN_PASSWORD", password)
        .env("WSMAN_STATE_DIR", state)
        .env_remove("WSMAN_HOST")
        .env_remove("WSMAN_USER")
        .output()
        .expect("run wsman")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

/// Exit 3 with `needle` in stderr; returns stdout + stderr.
fn refused(o: Output, needle: &str) -> String {
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(3), "{all}");
    assert!(
        text(&o.stderr).contains(needle),
        "stderr lacks {needle:?}: {all}"
    );
    all
}

fn delegated(h: &TestHost) -> u64 {
    TestHost::stat(&h.stats(), "credentials_delegated")
}

/// A 60000-character string out and in: more than 16 KiB each way.
fn big_script(fill: char) -> (String, String) {
    let s: String = std::iter::repeat_n(fill, 60000).collect();
    (format!("'{s}'; 1..3"), format!("{s}\n1\n2\n3\n"))
}

#[test]
fn credssp_invoke_session_and_big_bodies_over_http_and_https() {
    let Some(h) = TestHost::start(&["--https", "--auth", "ntlm,credssp"]) else {
        return;
    };
    let pw = h.get("password").unwrap().to_string();
    let dir = TempDir::new("credssp");
    let state = dir.path().join("state");
    let http = h.url().to_string();
    let https = h.get("https_url").unwrap().to_string();
    let ca = h.get("ca_file").unwrap().to_string();

    // HTTP: sealed with the CredSSP TLS channel, long bodies in 16 KiB pieces
    let (script, want) = big_script('h');
    let o = wsman(&state, &pw, &["-vv", "-H", &http, "invoke", &script]);
    let log = text(&o.stderr);
    assert_eq!(ok(o), want);
    assert_eq!(delegated(&h), 1, "the host got the delegated password");
    let stats = h.stats();
    assert_eq!(
        TestHost::stat(&stats, "delegated_password_matches"),
        1,
        "and it is the user's: {stats}"
    );
    for dir in ["HTTP request", "HTTP response"] {
        assert!(
            log.lines()
                .any(|l| l.contains(dir) && l.contains("multipart/x-multi-encrypted")),
            "no chunked {dir}: {log}"
        );
    }

    // HTTPS: CredSSP authenticates, the bodies go in the outer TLS
    let (script, want) = big_script('s');
    let out = ok(wsman(
        &state,
        &pw,
        &["-H", &https, "--ca-file", &ca, "invoke", &script],
    ));
    assert_eq!(out, want);
    assert_eq!(delegated(&h), 2);

    // A session kept on the host between runs, each run a CredSSP logon
    let out = ok(wsman(
        &state,
        &pw,
        &["-H", &http, "session", "new", "--name", "c1"],
    ));
    assert!(out.contains("c1"), "{out}");
    ok(wsman(&state, &pw, &["session", "invoke", "c1", "$x = 42"]));
    let out = ok(wsman(&state, &pw, &["session", "invoke", "c1", "$x"]));
    assert_eq!(out.trim(), "42");
    ok(wsman(&state, &pw, &["session", "remove", "c1"]));
    assert!(delegated(&h) >= 5, "one delegation per connection");

    // -vv shows the exchange but never the password
    let o = wsman(&state, &pw, &["-vv", "-H", &http, "invoke", "'quiet'"]);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{all}");
    assert!(all.contains("CredSSP"), "-vv names the scheme: {all}");
    assert!(!all.contains(&pw), "the password leaked at -vv");

    // A wrong password: the host's TSRequest errorCode, exit 3, nothing delegated
    let before = delegated(&h);
    let o = wsman(
        &state,
        "not-the-password",
        &["-vv", "-H", &http, "invoke", "1"],
    );
    let all = refused(o, "CredSSP");
    assert!(all.contains("password is incorrect"), "{all}");
    assert!(
        !all.contains(&pw) && !all.contains("not-the-password"),
        "{all}"
    );
    assert_eq!(delegated(&h), before);
}

#[test]
fn credssp_refusals_exit_3() {
    // A host that does not offer CredSSP
    let Some(plain) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let dir = TempDir::new("credssp-refused");
    let state = dir.path().join("state");
    let pw = plain.get("password").unwrap().to_string();
    let all = refused(
        wsman(&state, &pw, &["-H", plain.url(), "invoke", "1"]),
        "CredSSP",
    );
    assert!(all.contains("does not offer CredSSP"), "{all}");
    drop(plain);

    // A host whose CredSSP proof binds another key than its TLS shows (what a
    // man in the middle looks like): the client stops, the password stays home
    let Some(mitm) = TestHost::start(&["--auth", "credssp", "--credssp-tamper", "server-binding"])
    else {
        return;
    };
    let o = wsman(&state, &pw, &["-vv", "-H", mitm.url(), "invoke", "1"]);
    let all = refused(o, "man in the middle");
    assert!(all.contains("not sent"), "{all}");
    assert!(!all.contains(&pw), "{all}");
    let stats = mitm.stats();
    assert_eq!(
        TestHost::stat(&stats, "credentials_delegated"),
        0,
        "{stats}"
    );
    assert_eq!(TestHost::stat(&stats, "requests"), 0, "{stats}");
    drop(mitm);

    // A host whose inner TLS presents another key than it binds: the host
    // refuses our proof
    let Some(other) = TestHost::start(&["--auth", "credssp", "--credssp-tamper", "tls-key"]) else {
        return;
    };
    refused(
        wsman(&state, &pw, &["-H", other.url(), "invoke", "1"]),
        "refused user vagrant",
    );
    assert_eq!(delegated(&other), 0);
}

/// A connection cut inside a CredSSP-sealed exchange: the client opens a
/// new connection with a new CredSSP logon (a new inner TLS) and the
/// command completes; a clear-text fault injected on the sealed channel is
/// not taken for the host's answer.
#[test]
fn credssp_cut_connection_and_injected_fault() {
    use integration_tests::forwarder::{Fault, Forwarder, PLAIN_FAULT_TEXT};
    let Some(h) = TestHost::start(&["--auth", "credssp"]) else {
        return;
    };
    let pw = h.get("password").unwrap().to_string();
    let dir = TempDir::new("credssp-cut");
    let state = dir.path().join("state");
    let addr = h
        .url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let fwd = Forwarder::start(addr);

    fwd.plan(2, Fault::LoseAnswer);
    let o = wsman(
        &state,
        &pw,
        &["-H", &fwd.url(), "invoke", "'after the cut'"],
    );
    assert!(fwd.fired());
    assert_eq!(ok(o), "after the cut\n");
    assert_eq!(
        delegated(&h),
        2,
        "a second CredSSP logon on the new connection"
    );

    fwd.plan(2, Fault::PlainFault);
    let o = wsman(&state, &pw, &["-H", &fwd.url(), "invoke", "'sealed'"]);
    assert!(fwd.fired());
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("clear text"), "{err}");
    assert!(
        !err.contains(PLAIN_FAULT_TEXT) && !err.contains(&pw),
        "{err}"
    );
}
