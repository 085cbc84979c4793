//! PSSessions on several hosts at once through the `wsman` binary (issue
//! 11), each step a separate process as a person would run it:
//! `New-PSSession -ComputerName a,b,c`, `Invoke-Command -Session
//! $s1,$s2,$s3`, Receive/Disconnect/Remove on a group, `Get-PSSession
//! -ComputerName a,b`, and a host that is down among them.
use std::path::Path;
use std::process::Output;

use integration_tests::{Cli, TempDir, TestHost};

/// A closed port on loopback: a host that is down.
const DOWN: &str = "http://127.0.0.1:9/wsman";

/// The shared command line with the given state folder and a short
/// connect timeout; `args` carries every other option.
fn cli(state: &Path) -> Cli {
    Cli::new()
        .state_dir(state)
        .arg("--connect-timeout")
        .arg("5")
}

/// Runs `wsman` with a password in the environment and the given state
/// folder; `args` carries every other option.
fn wsman(state: &Path, password: &str, args: &[&str]) -> Output {
    cli(state).password(password).run(args)
}

/// [`wsman`] with `input` on its stdin.
fn wsman_with_input(state: &Path, password: &str, args: &[&str], input: &str) -> Output {
    cli(state).password(password).run_stdin(args, input)
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

/// The lines of `out` prefixed `[host] `, prefix removed.
fn lines_of(out: &str, host: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(&format!("[{host}] ")))
        .map(String::from)
        .collect()
}

/// Every line of `out` as JSON (each must parse).
fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

/// The records' (Id, name, host, InstanceId).
fn records(state: &Path) -> Vec<(u64, String, String, String)> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("sessions.json")).unwrap()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().unwrap(),
                r["name"].as_str().unwrap().to_string(),
                r["computer_name"].as_str().unwrap().to_string(),
                r["instance_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn basic_host() -> Option<TestHost> {
    TestHost::start(&["--auth", "basic", "--allow-unencrypted"])
}

#[test]
fn sessions_on_three_hosts_and_one_down() {
    let (Some(a), Some(b), Some(c)) = (basic_host(), basic_host(), basic_host()) else {
        return;
    };
    let pw = a.get("password").unwrap().to_string();
    let dir = TempDir::new("three");
    let state = dir.path().join("state");
    let urls = [
        a.url().to_string(),
        b.url().to_string(),
        c.url().to_string(),
    ];
    let (ua, ub, uc) = (urls[0].as_str(), urls[1].as_str(), urls[2].as_str());

    // New-PSSession -ComputerName a,down,b,c -Name web: three made, the
    // down host reported, exit code the connection failure's; the down
    // host burns no Id (Ids 1, 2, 3 in the order the hosts were given).
    let hosts = format!("{ua},{DOWN},{ub},{uc}");
    let o = wsman(
        &state,
        &pw,
        &[
            "-H",
            &hosts,
            "-a",
            "basic",
            "--no-encryption",
            "-u",
            "vagrant",
            "session",
            "new",
            "--name",
            "web",
            "--throttle",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(&format!("[{DOWN}] wsman:")),
        "{}",
        text(&o.stderr)
    );
    let rows: Vec<String> = text(&o.stdout)
        .lines()
        .filter(|l| l.contains(" web "))
        .map(String::from)
        .collect();
    assert_eq!(rows.len(), 3, "{}", text(&o.stdout));
    let recs = records(&state);
    assert_eq!(
        recs.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2, 3],
        "{recs:?}"
    );
    let on: Vec<&str> = recs.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(on, [ua, ub, uc], "{recs:?}");
    let mut want = vec![ua, ub, uc];
    want.sort();

    // The records keep the connection settings: no flags but the
    // credentials (not even -u, kept with the record; the password from
    // the environment).
    let plain = |args: &[&str]| wsman(&state, &pw, args);
    ok(plain(&["session", "invoke", "web", "$n = 42"]));
    let out = ok(plain(&["session", "invoke", "web", "$n"]));
    for u in &urls {
        assert_eq!(lines_of(&out, u), ["42"], "{u}:\n{out}");
    }

    // A comma list of an Id, an InstanceId and a name; a session named
    // twice runs once.
    let iid_c = recs.iter().find(|r| r.2 == uc).unwrap().3.clone();
    let id_a = recs.iter().find(|r| r.2 == ua).unwrap().0.to_string();
    let list = format!("{id_a},{iid_c},{id_a}");
    let out = ok(plain(&["session", "invoke", &list, "'x'"]));
    assert_eq!(lines_of(&out, ua), ["x"], "{out}");
    assert_eq!(lines_of(&out, uc), ["x"], "{out}");
    assert!(lines_of(&out, ub).is_empty(), "{out}");
    // One session addressed: no prefix, as before.
    assert_eq!(ok(plain(&["session", "invoke", &id_a, "'y'"])).trim(), "y");

    // --json: each object tagged with its host.
    let out = ok(plain(&["--json", "session", "invoke", "web", "7"]));
    let mut hosts_seen: Vec<String> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            v["host"].as_str().expect("a host field").to_string()
        })
        .collect();
    hosts_seen.sort();
    assert_eq!(hosts_seen, want);
    // Every line, the host's writes and records too, names its host and
    // its session (the local Id recorded for that host).
    let out = ok(plain(&[
        "--json",
        "session",
        "invoke",
        "web",
        "Write-Host 'hi'; Write-Warning 'careful'; 7",
    ]));
    // (Progress lines may come too, as from Windows.)
    let lines = json_lines(&out);
    for v in &lines {
        let host = v["host"].as_str().unwrap_or_else(|| panic!("no host: {v}"));
        let id = recs
            .iter()
            .find(|r| r.2 == host)
            .expect("a recorded host")
            .0;
        assert_eq!(v["session"], id.to_string(), "{v}");
    }
    for stream in ["output", "warning", "information"] {
        assert_eq!(
            lines.iter().filter(|v| v["stream"] == stream).count(),
            3,
            "{stream}: {out}"
        );
    }

    // Exit code: the highest of the sessions'; errors prefixed by host.
    let o = plain(&["session", "invoke", "web", "throw 'boom'"]);
    assert_eq!(o.status.code(), Some(1));
    for u in &urls {
        assert!(
            text(&o.stderr).contains(&format!("[{u}] boom")),
            "{}",
            text(&o.stderr)
        );
    }

    // Invoke-Command -InDisconnectedSession on all three, then Receive.
    ok(plain(&[
        "session",
        "invoke",
        "--disconnected",
        "web",
        "'before'; Start-Sleep -Milliseconds 300; 'after'",
    ]));
    let out = ok(plain(&["session", "receive", "web"]));
    for u in &urls {
        assert_eq!(lines_of(&out, u), ["before", "after"], "{u}:\n{out}");
    }

    // Get-PSSession -ComputerName a,b: each host's sessions, a host column.
    let o = plain(&[
        "-H",
        &format!("{ua},{ub}"),
        "-a",
        "basic",
        "--no-encryption",
        "-u",
        "vagrant",
        "session",
        "list",
        "--remote",
    ]);
    let out = ok(o);
    for u in [ua, ub] {
        let row = out
            .lines()
            .find(|l| l.starts_with("web ") && l.contains(u))
            .unwrap_or_else(|| panic!("no web row for {u}:\n{out}"));
        assert!(row.contains("Disconnected"), "{row}");
    }
    assert!(!out.contains(uc), "c was not asked:\n{out}");

    // Disconnect-PSSession on the group: a row each.
    let out = ok(plain(&["session", "disconnect", "web"]));
    assert_eq!(out.lines().filter(|l| l.contains(" web ")).count(), 3);

    // Enter-PSSession takes one session: a shared name is refused.
    let o = plain(&["enter", "web"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("several"), "{}", text(&o.stderr));

    // A purely local lookup failure is a usage error, whatever the list.
    let o = plain(&["session", "invoke", "web,nosuch", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("nosuch"), "{}", text(&o.stderr));

    // A host goes down: the others still answer; the exit code is the
    // connection failure's.
    drop(c);
    let o = plain(&["session", "invoke", "web", "'up'"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert_eq!(lines_of(&text(&o.stdout), ua), ["up"]);
    assert_eq!(lines_of(&text(&o.stdout), ub), ["up"]);
    assert!(
        text(&o.stderr).contains(&format!("[{uc}] wsman:")),
        "{}",
        text(&o.stderr)
    );
    // --json: the down session's failure is a line of its own, with its
    // host and session.
    let o = plain(&["--json", "session", "invoke", "web", "'up'"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    let lines = json_lines(&text(&o.stdout));
    let id_c = recs.iter().find(|r| r.2 == uc).unwrap().0.to_string();
    let failed: Vec<_> = lines.iter().filter(|v| v["stream"] == "failure").collect();
    assert_eq!(failed.len(), 1, "{lines:?}");
    assert_eq!(failed[0]["host"], uc);
    assert_eq!(failed[0]["session"], id_c.as_str());
    assert_eq!(failed[0]["exit_code"], 4);
    assert_eq!(lines.iter().filter(|v| v["stream"] == "output").count(), 2);
    assert!(lines
        .iter()
        .all(|v| v["host"].is_string() && v["session"].is_string()));

    // Remove-PSSession on the group: the live ones go (host and record),
    // the one on the down host stays recorded.
    let o = plain(&["session", "remove", "web"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    let left = records(&state);
    assert_eq!(
        left.iter().map(|r| r.2.as_str()).collect::<Vec<_>>(),
        [uc],
        "{left:?}"
    );
    for u in [ua, ub] {
        let out = ok(plain(&[
            "-H",
            u,
            "-a",
            "basic",
            "--no-encryption",
            "-u",
            "vagrant",
            "session",
            "list",
            "--remote",
        ]));
        assert!(out.trim().is_empty(), "{u} still keeps:\n{out}");
    }

    // Local Ids are never reused.
    let out = ok(plain(&[
        "-H",
        ua,
        "-a",
        "basic",
        "--no-encryption",
        "-u",
        "vagrant",
        "session",
        "new",
    ]));
    assert!(
        out.contains("WinRM4"),
        "Ids 1-3 were given out before (the down host burned none):\n{out}"
    );
    ok(plain(&["session", "remove", "4"]));

    // Without --name the names (WinRM<Id>) go to the hosts: a host that
    // fails after the last one made gives its Id back, and one that fails
    // alone too.
    let flags = ["-a", "basic", "--no-encryption", "-u", "vagrant"];
    let new_on = |hosts: &str| {
        let mut a = vec!["-H", hosts];
        a.extend(flags);
        a.extend(["session", "new"]);
        plain(&a)
    };
    let o = new_on(&format!("{ua},{DOWN}"));
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("WinRM5"), "{}", text(&o.stdout));
    assert_eq!(new_on(DOWN).status.code(), Some(4));
    let out = ok(new_on(ua));
    assert!(out.contains("WinRM6"), "Ids 5 was the last made:\n{out}");
    ok(plain(&["session", "remove", "5,6"]));
}

#[test]
fn remove_by_instance_id_of_a_session_not_recorded_here() {
    let Some(a) = basic_host() else {
        return;
    };
    let pw = a.get("password").unwrap().to_string();
    let dir = TempDir::new("unrecorded");
    let (mine, elsewhere) = (dir.path().join("mine"), dir.path().join("elsewhere"));
    let flags = ["-a", "basic", "--no-encryption", "-u", "vagrant"];
    let with_host = |state: &Path, rest: &[&str]| {
        let mut args = vec!["-H", a.url()];
        args.extend(flags);
        args.extend(rest);
        wsman(state, &pw, &args)
    };
    // Made by another client.
    ok(with_host(
        &elsewhere,
        &["session", "new", "--name", "other"],
    ));
    let iid = records(&elsewhere)[0].3.clone();

    // Not recorded here and no host named: a usage error, nothing asked.
    let o = wsman(&mine, &pw, &["session", "remove", &iid]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));

    // With the host: removed there.
    ok(with_host(&mine, &["session", "remove", &iid]));
    let out = ok(with_host(&mine, &["session", "list", "--remote"]));
    assert!(!out.contains(&iid), "{out}");
    // An InstanceId the host does not keep: the host's answer, not a usage error.
    let o = with_host(&mine, &["session", "remove", &iid]);
    assert_ne!(o.status.code(), Some(0));
    assert_ne!(o.status.code(), Some(2), "{}", text(&o.stderr));
}

/// A session made over HTTPS with `--ca-file` and NTLM is used later with
/// no flags but the password: the record keeps endpoint, auth and CA file.
#[test]
fn a_record_keeps_https_ca_file_and_auth() {
    let Some(h) = TestHost::start(&["--auth", "ntlm", "--https"]) else {
        return;
    };
    let pw = h.get("password").unwrap().to_string();
    let https = h.get("https_url").expect("--https").to_string();
    let ca = h.get("ca_file").expect("a CA").to_string();
    let dir = TempDir::new("https");
    let state = dir.path().join("state");
    let made = ok(wsman(
        &state,
        &pw,
        &[
            "-H",
            &https,
            "-a",
            "ntlm",
            "-u",
            "vagrant",
            "--ca-file",
            &ca,
            "session",
            "new",
            "--name",
            "tls",
        ],
    ));
    assert!(made.contains("https://"), "{made}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("sessions.json")).unwrap()).unwrap();
    let kept = &v[0]["connection"];
    assert_eq!(kept["auth"], "ntlm", "{v}");
    assert_eq!(kept["ca_file"], ca.as_str(), "{v}");
    assert!(!v.to_string().contains(&pw), "no secret in the record: {v}");

    ok(wsman(
        &state,
        &pw,
        &["session", "invoke", "tls", "$k = 'kept'"],
    ));
    assert_eq!(
        ok(wsman(&state, &pw, &["session", "invoke", "tls", "$k"])).trim(),
        "kept"
    );
    // Enter-PSSession on it too: the record's endpoint, auth and CA file,
    // lines read from stdin.
    let o = wsman_with_input(&state, &pw, &["enter", "tls"], "$k\nexit\n");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("kept"), "{}", text(&o.stdout));
    // A flag given on the command line still wins: a CA that does not
    // sign the host's certificate fails the TLS check (exit 4).
    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, "not a certificate").unwrap();
    let o = wsman(
        &state,
        &pw,
        &[
            "--ca-file",
            other_ca.to_str().unwrap(),
            "session",
            "invoke",
            "tls",
            "1",
        ],
    );
    assert_ne!(o.status.code(), Some(0), "{}", text(&o.stdout));
    ok(wsman(&state, &pw, &["session", "remove", "tls"]));
}

/// With no -p nor WSMAN_PASSWORD, on a terminal: a command on several hosts
/// and then on the sessions they made asks for the password once each, not
/// once per host (driven in a pseudo-terminal by `tests/pty/answer_password.py`).
#[test]
fn the_password_is_asked_once_for_many_hosts() {
    let (Some(a), Some(b)) = (basic_host(), basic_host()) else {
        return;
    };
    let pw = a.get("password").unwrap().to_string();
    let dir = TempDir::new("prompt");
    let state = dir.path().join("state");
    let python = integration_tests::venv_python().expect("the hosts started, so the venv exists");
    let driver = [
        python.into_os_string(),
        integration_tests::workspace_root()
            .join("tests/pty/answer_password.py")
            .into_os_string(),
        pw.clone().into(),
    ];
    let at_terminal = |args: &[&str]| {
        let o = cli(&state)
            .command_via(&driver, args)
            .output()
            .expect("run the pty driver");
        let out = text(&o.stdout);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}\n{}", text(&o.stderr));
        let screen: String = serde_json::from_str(lines[0]).unwrap();
        (screen, lines[1].to_string(), lines[2].to_string())
    };
    let hosts = format!("{},{}", a.url(), b.url());
    let flags = ["-a", "basic", "--no-encryption", "-u", "vagrant"];
    let mut new = vec!["-H", hosts.as_str()];
    new.extend(flags);
    new.extend(["session", "new", "--name", "two"]);
    let (screen, prompts, code) = at_terminal(&new);
    assert_eq!((prompts.as_str(), code.as_str()), ("1", "0"), "{screen}");
    assert_eq!(screen.matches(" two ").count(), 2, "{screen}");

    let (screen, prompts, code) = at_terminal(&["session", "invoke", "two", "'hello'"]);
    assert_eq!((prompts.as_str(), code.as_str()), ("1", "0"), "{screen}");
    assert_eq!(screen.matches("] hello").count(), 2, "{screen}");
    let (screen, _, code) = at_terminal(&["session", "remove", "two"]);
    assert_eq!(code, "0", "{screen}");
    assert!(
        !screen.contains(&pw),
        "the password is not echoed: {screen}"
    );
}
