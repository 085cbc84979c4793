//! The whole PSSession lifecycle through the `wsman` binary against the
//! test host, each command a separate process, for Basic, NTLM (sealed)
//! and Kerberos (sealed), as a person would use it.
use std::path::Path;
use std::process::Output;

use integration_tests::TestHost;

struct Cli<'a> {
    host: &'a TestHost,
    auth: &'static str,
    password: String,
    state_dir: &'a Path,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &self.password, self.state_dir)
    }

    fn run_with(&self, args: &[&str], password: &str, state_dir: &Path) -> Output {
        integration_tests::Cli::for_host_with(self.host, self.auth)
            .password(password)
            .state_dir(state_dir)
            .run(args)
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

fn lifecycle(cli: &Cli, second_state_dir: &Path) {
    // A PSSession that stays on the host between runs.
    let out = ok(cli.run(&["session", "new", "--name", "s1"]));
    assert!(out.contains("s1") && out.contains("Disconnected"), "{out}");
    ok(cli.run(&["session", "invoke", "s1", "$x = 42"]));
    assert_eq!(ok(cli.run(&["session", "invoke", "s1", "$x"])).trim(), "42");

    // A script left running while nobody is connected.
    ok(cli.run(&[
        "session",
        "invoke",
        "--disconnected",
        "s1",
        "'before'; Start-Sleep 1; 'after'",
    ]));
    let listed = ok(cli.run(&["session", "list", "--remote"]));
    let line = listed
        .lines()
        .find(|l| l.starts_with("s1 "))
        .unwrap_or_else(|| panic!("s1 not listed:\n{listed}"));
    assert!(line.contains("Disconnected"), "{line}");
    // Its output not received yet, the session is busy: a new command is
    // refused at once rather than left waiting behind it (issue 8).
    let busy = cli.run(&["session", "invoke", "s1", "'alive'"]);
    assert_eq!(busy.status.code(), Some(2), "{}", stderr(&busy));
    assert!(
        stderr(&busy).contains("busy") && stderr(&busy).contains("session receive"),
        "{}",
        stderr(&busy)
    );
    let received = ok(cli.run(&["session", "receive", "s1"]));
    assert_eq!(received.lines().collect::<Vec<_>>(), ["before", "after"]);

    // Another client (another state folder) connects by InstanceId.
    let records: serde_json::Value = serde_json::from_slice(
        &std::fs::read(cli.state_dir.join("sessions.json")).expect("records"),
    )
    .unwrap();
    let instance_id = records[0]["instance_id"].as_str().unwrap().to_string();
    let out = cli.run_with(
        &["session", "connect", &instance_id],
        &cli.password,
        second_state_dir,
    );
    ok(out);
    let out = cli.run_with(
        &["session", "invoke", &instance_id, "$x"],
        &cli.password,
        second_state_dir,
    );
    assert_eq!(ok(out).trim(), "42");

    ok(cli.run(&["session", "remove", "s1"]));
    let listed = ok(cli.run(&["session", "list", "--remote"]));
    assert!(!listed.contains(&instance_id), "still listed:\n{listed}");
    assert!(ok(cli.run(&["session", "list"])).trim().is_empty());

    // A temporary session leaves nothing behind.
    assert_eq!(ok(cli.run(&["invoke", "'temp'"])).trim(), "temp");
    assert!(ok(cli.run(&["session", "list", "--remote"]))
        .trim()
        .is_empty());

    // A failing script: exit 1, its message on stderr.
    let out = cli.run(&["invoke", "throw 'boom'"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("boom"), "{}", stderr(&out));

    // A wrong password: exit 3, naming the user and the host, never the password.
    let out = cli.run_with(&["invoke", "1"], "not-the-password", cli.state_dir);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("vagrant"), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");
}

fn run_for(auth: &'static str, host: &TestHost) {
    let dir = std::env::temp_dir().join(format!("wsman-cli-{auth}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (one, two) = (dir.join("one"), dir.join("two"));
    // Kerberos reaches the host by name (the SPN) with the realm's user
    // (integration_tests::Cli::for_host_with).
    let cli = Cli {
        host,
        auth,
        password: host.get("password").unwrap().to_string(),
        state_dir: &one,
    };
    lifecycle(&cli, &two);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lifecycle_with_basic() {
    if let Some(host) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) {
        run_for("basic", &host);
    }
}

#[test]
fn lifecycle_with_ntlm_sealed() {
    if let Some(host) = TestHost::start(&["--auth", "ntlm"]) {
        run_for("ntlm", &host);
    }
}

#[test]
fn lifecycle_with_kerberos_sealed() {
    if let Some(host) = TestHost::start(&["--auth", "kerberos"]) {
        run_for("kerberos", &host);
    }
}
