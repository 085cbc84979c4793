//! The commands every remoting demo starts with, through the `wsman` CLI
//! against the test host: `$env:USERNAME`, `whoami`, `hostname`, an
//! environment variable set in one `session invoke` and read by the next
//! (the session's process keeps it), `Get-ChildItem env:`, and our
//! `--delegate` help example `Invoke-Command -ComputerName srv2 { hostname }`
//! across two hosts (the first maps the name srv2 to the second with
//! `--host-entry`, as a hosts file would).
use integration_tests::cli::{ok, stderr, stdout};
use integration_tests::{Cli, TestHost};

#[test]
fn identity_and_environment_of_the_remote_session() {
    let Some(host) = TestHost::start(&["--auth", "ntlm", "--computer-name", "WEB01"]) else {
        return;
    };
    let user = host.get("user").expect("user").to_string();
    let cli = Cli::for_host_with(&host, "ntlm");

    let out = ok(&cli.run(&[
        "invoke",
        "$env:USERNAME; whoami; hostname; \"$env:USERDOMAIN\\$env:USERNAME on $env:COMPUTERNAME\"",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            user.as_str(),
            &format!("web01\\{user}"),
            "WEB01",
            &format!("WEB01\\{user} on WEB01"),
        ],
        "{out}"
    );

    // Set in one `session invoke`, read by the next: the variable lives in
    // the session on the host, not in the client.
    ok(&cli.run(&["session", "new", "--name", "envdemo"]));
    let set = cli.run(&["session", "invoke", "envdemo", "$env:DEMO_X = 'kept'"]);
    assert!(set.status.success(), "{}", stderr(&set));
    assert_eq!(stdout(&set), "", "assigning prints nothing");
    let out = ok(&cli.run(&["session", "invoke", "envdemo", "$env:demo_x; $env:TEMP"]));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["kept", &format!("C:\\Users\\{user}\\AppData\\Local\\Temp")],
        "{out}"
    );
    // A temporary session (another process on the host) does not have it.
    let out = cli.run(&["invoke", "$env:DEMO_X; 'end'"]);
    assert_eq!(stdout(&out).trim(), "end", "{}", stderr(&out));

    // The Env: drive as JSON: DictionaryEntry objects sorted by name,
    // including the one this session set.
    let out = ok(&cli.run(&[
        "--json",
        "session",
        "invoke",
        "envdemo",
        "Get-ChildItem env:",
    ]));
    let keys: Vec<String> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|j| j["stream"] == "output")
        .filter_map(|j| j["value"]["Key"].as_str().map(String::from))
        .collect();
    assert!(keys.contains(&"DEMO_X".to_string()), "{out}");
    assert!(keys.contains(&"USERNAME".to_string()), "{out}");
    let mut sorted = keys.clone();
    sorted.sort_by_key(|k| k.to_lowercase());
    assert_eq!(keys, sorted, "{out}");

    // A name that is not there: PowerShell's error record, exit code 1.
    let out = cli.run(&["session", "invoke", "envdemo", "Get-ChildItem env:NOPE"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Cannot find path 'NOPE' because it does not exist."),
        "{}",
        stderr(&out)
    );
    ok(&cli.run(&["session", "remove", "envdemo"]));
}

/// `wsman --help`'s --delegate example, end to end: Kerberos with a
/// forwarded ticket to the first host, which runs `Invoke-Command
/// -ComputerName srv2 { hostname }` against the second.
#[test]
fn delegate_help_example_reaches_the_named_host() {
    let Some(second) = TestHost::start(&[
        "--auth",
        "ntlm,kerberos,negotiate",
        "--computer-name",
        "SRV2",
    ]) else {
        return;
    };
    let realm_dir = std::path::Path::new(second.get("state_dir").expect("state_dir")).join("realm");
    let port = second
        .url()
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .expect("a port")
        .to_string();
    let Some(first) = TestHost::start(&[
        "--auth",
        "ntlm,kerberos,negotiate",
        "--join-realm",
        realm_dir.to_str().expect("utf-8 path"),
        "--host-entry",
        &format!("srv2=localhost:{port}"),
    ]) else {
        return;
    };
    let script = "Invoke-Command -ComputerName srv2 { hostname; whoami }";
    let user = first.get("user").expect("user").to_string();

    let cli = Cli::for_host_with(&first, "kerberos").arg("--delegate");
    let out = ok(&cli.run(&["invoke", script]));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["SRV2", &format!("srv2\\{user}")],
        "{out}"
    );

    // Without --delegate the first host has nothing to pass on: the
    // double-hop error, naming the host as the script did.
    let out = Cli::for_host_with(&first, "kerberos").run(&["invoke", script]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Connecting to remote server srv2 failed"),
        "{}",
        stderr(&out)
    );
}
