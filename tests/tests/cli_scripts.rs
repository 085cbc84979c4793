//! `wsman invoke -f FILE --arg VALUE...` and `session invoke` with
//! arguments against the test host (Invoke-Command -FilePath
//! -ArgumentList), and the messages after `session invoke --disconnected`
//! and `session connect` (`shared/docs/cli.md`).
use integration_tests::cli::ok;
use integration_tests::{Cli, TestHost};

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn script_files_and_arguments() {
    let Some(h) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    let env = Cli::for_host(&h);
    let file = env.state().join("deploy.ps1");
    std::fs::write(
        &file,
        "param($name, $port = 80)\r\n\"$name on $port\"\r\n$args\r\n$args.Count\r\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();

    // Positional arguments fill param() in order, the rest are $args;
    // an argument starting with '-' is a value, not an option.
    let out = ok(&env.run(&[
        "invoke", "-f", file, "--arg", "web", "--arg", "8080", "--arg", "-x",
    ]));
    assert_eq!(lines(&out), ["web on 8080", "-x", "1"]);
    // A default stays when no argument is given.
    let out = ok(&env.run(&["invoke", "-f", file, "--arg", "db"]));
    assert_eq!(lines(&out), ["db on 80", "0"]);
    // The script from stdin.
    let out = ok(&env.run_stdin(&["invoke", "-f", "-", "--arg", "a", "--arg", "b"], "$args"));
    assert_eq!(lines(&out), ["a", "b"]);
    // Script text with arguments.
    let out = ok(&env.run(&["invoke", "$args.Count", "--arg", "1", "--arg", "2"]));
    assert_eq!(lines(&out), ["2"]);
    // A missing file: usage error, nothing sent.
    let o = env.run(&["invoke", "-f", "/nonexistent/x.ps1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/x.ps1"));
    // SCRIPT and -f together: usage error.
    let o = env.run(&["invoke", "-f", file, "1"]);
    assert_eq!(o.status.code(), Some(2));

    // session invoke: the same, and its variables persist as before.
    ok(&env.run(&["session", "new", "--name", "s"]));
    let out = ok(&env.run(&[
        "session", "invoke", "s", "-f", file, "--arg", "api", "--arg", "443",
    ]));
    assert_eq!(lines(&out), ["api on 443", "0"]);
    ok(&env.run(&[
        "session",
        "invoke",
        "s",
        "param($v) $kept = $v",
        "--arg",
        "42",
    ]));
    assert_eq!(
        lines(&ok(&env.run(&["session", "invoke", "s", "$kept"]))),
        ["42"]
    );

    // --disconnected says what state the session is left in and what next.
    let o = env.run(&["session", "invoke", "--disconnected", "s", "'later'"]);
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("left disconnected") && err.contains("wsman session receive s"),
        "{err}"
    );
    assert_eq!(
        lines(&ok(&env.run(&["session", "receive", "s"]))),
        ["later"]
    );
    // So does connect.
    let o = env.run(&["session", "connect", "s"]);
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("connected to session") && err.contains("wsman session invoke"),
        "{err}"
    );
    ok(&env.run(&["session", "remove", "s"]));
}

#[test]
fn identify_is_unauthenticated_unless_auth_is_given() {
    let Some(h) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    let run = |args: &[&str], password: &str| {
        Cli::new()
            .url(h.url())
            .env("WSMAN_USER", "vagrant")
            .password(password)
            .run(args)
    };
    // As Test-WSMan: no credentials sent (a wrong password does not
    // matter), and Windows leaves ProductVersion out of an anonymous answer.
    let out = ok(&run(&["identify"], "wrong-password"));
    assert!(
        out.contains("ProtocolVersion") && out.contains("Microsoft"),
        "{out}"
    );
    assert!(!out.contains("ProductVersion"), "{out}");
    // With -a: authenticated, ProductVersion included; a wrong password fails.
    let out = ok(&run(
        &["-a", "basic", "--no-encryption", "identify"],
        h.get("password").unwrap(),
    ));
    assert!(
        out.contains("ProductVersion") && out.contains("OS: 10.0"),
        "{out}"
    );
    let o = run(
        &["-a", "basic", "--no-encryption", "identify"],
        "wrong-password",
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
