//! `wsman --json` against the test host, as `shared/docs/cli.md` ("JSON
//! lines") says: for `invoke`, `session invoke`, `session receive` and the
//! fan-out form, stdout holds only JSON objects, one per line, each with a
//! `stream` field; every line parses (with serde_json, and with `jq` when
//! it is installed).
use std::io::Write;
use std::process::{Command, Output, Stdio};

use integration_tests::{Cli, TempDir, TestHost};
use serde_json::Value;

/// Runs `wsman` with Basic over HTTP against `host`, state in `state`.
fn wsman(host: &TestHost, state: &std::path::Path, args: &[&str]) -> Output {
    Cli::new()
        .auth("basic")
        .user("vagrant")
        .password(host.get("password").unwrap())
        .state_dir(state)
        .run(args)
}

/// Every stdout line as a JSON object with a `stream` field; also fed
/// through `jq -c .` when jq is installed.
fn json_lines(o: &Output) -> Vec<Value> {
    let text = String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}\nall:\n{text}"));
            assert!(v.is_object(), "one object per line: {l}");
            assert!(v["stream"].is_string(), "a stream field: {l}");
            v
        })
        .collect();
    if let Ok(mut jq) = Command::new("jq")
        .arg("-c")
        .arg(".")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        jq.stdin.take().unwrap().write_all(&o.stdout).unwrap();
        let out = jq.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "jq refused the output: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            lines.len(),
            "jq reads as many objects as there are lines"
        );
    }
    lines
}

fn of<'a>(lines: &'a [Value], stream: &str) -> Vec<&'a Value> {
    lines.iter().filter(|v| v["stream"] == stream).collect()
}

const SCRIPT: &str = "'before'; 1; $null; Write-Host 'hello host'; \
    $host.UI.WriteLine('ui line'); Write-Warning 'careful'; Write-Verbose 'details'; \
    Write-Error 'it broke'; Write-Information 'noted'; \
    Write-Progress -Activity 'Copying' -Status 'Half' -PercentComplete 50; 'after'";

fn check_script_lines(lines: &[Value], host: Option<&str>) {
    let outputs: Vec<&Value> = of(lines, "output").iter().map(|v| &v["value"]).collect();
    assert_eq!(
        outputs,
        [
            &Value::from("before"),
            &Value::from(1),
            &Value::Null,
            &Value::from("after")
        ],
        "{lines:?}"
    );
    let ui: Vec<&Value> = of(lines, "information")
        .into_iter()
        .filter(|v| v["ui"] == true)
        .map(|v| &v["message"])
        .collect();
    assert_eq!(ui, ["hello host", "ui line"], "{lines:?}");
    let info = of(lines, "information");
    assert!(
        info.iter()
            .any(|v| v["message"] == "noted" && v["ui"].is_null()),
        "Write-Information is information without ui: {info:?}"
    );
    let warnings = of(lines, "warning");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["message"], "careful");
    let verbose = of(lines, "verbose");
    assert_eq!(verbose.len(), 1, "{verbose:?}");
    assert_eq!(verbose[0]["message"], "details");
    let errors = of(lines, "error");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["message"], "it broke");
    assert_eq!(errors[0]["category"], "NotSpecified");
    assert!(
        errors[0]["fqid"]
            .as_str()
            .unwrap()
            .starts_with("Microsoft.PowerShell.Commands.WriteErrorException"),
        "{errors:?}"
    );
    assert!(errors[0].get("target").is_some(), "{errors:?}");
    // (Windows also reports "Preparing modules for first use.")
    let progress: Vec<&Value> = of(lines, "progress")
        .into_iter()
        .filter(|v| v["activity"] == "Copying")
        .collect();
    assert_eq!(progress.len(), 1, "{lines:?}");
    assert_eq!(progress[0]["status"], "Half");
    assert_eq!(progress[0]["percent"], 50);
    for v in lines {
        assert_eq!(v["host"].as_str(), host, "host field: {v}");
    }
}

#[test]
fn every_stream_is_a_json_line() {
    let Some(h) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    let state = TempDir::new("streams");
    let dir = state.path();

    // invoke: every stream, nothing but JSON on stdout; exit 1 for the error.
    let o = wsman(
        &h,
        dir,
        &["-H", h.url(), "--json", "--show-verbose", "invoke", SCRIPT],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let lines = json_lines(&o);
    check_script_lines(&lines, None);

    // session invoke and session receive likewise.
    let out = wsman(
        &h,
        dir,
        &["-H", h.url(), "--json", "session", "new", "--name", "j"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = wsman(
        &h,
        dir,
        &["--json", "--show-verbose", "session", "invoke", "j", SCRIPT],
    );
    check_script_lines(&json_lines(&o), None);
    let o = wsman(
        &h,
        dir,
        &[
            "session",
            "invoke",
            "--disconnected",
            "j",
            "'later'; Write-Warning 'w2'",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = wsman(&h, dir, &["--json", "session", "receive", "j"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines = json_lines(&o);
    assert_eq!(of(&lines, "output")[0]["value"], "later", "{lines:?}");
    assert_eq!(of(&lines, "warning")[0]["message"], "w2", "{lines:?}");
    let o = wsman(&h, dir, &["session", "remove", "j"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // A session that is not recorded: a failure line on stdout, exit 2.
    let o = wsman(&h, dir, &["--json", "session", "invoke", "nosuch", "1"]);
    assert_eq!(o.status.code(), Some(2));
    let lines = json_lines(&o);
    assert_eq!(of(&lines, "failure").len(), 1, "{lines:?}");
    assert_eq!(lines[0]["exit_code"], 2);
    assert_eq!(lines[0]["session"], "nosuch");
}

#[test]
fn fan_out_lines_carry_their_host_and_failures() {
    let Some(a) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    let state = TempDir::new("fanout");
    let down = "http://127.0.0.1:9/wsman";
    let hosts = format!("{},{down}", a.url());
    let o = wsman(
        &a,
        state.path(),
        &[
            "-H",
            &hosts,
            "--json",
            "--show-verbose",
            "--connect-timeout",
            "5",
            "invoke",
            SCRIPT,
        ],
    );
    assert_eq!(o.status.code(), Some(4), "the unreachable host's code");
    let lines = json_lines(&o);
    let (failures, rest): (Vec<Value>, Vec<Value>) =
        lines.into_iter().partition(|v| v["stream"] == "failure");
    check_script_lines(&rest, Some(a.url()));
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["host"], down);
    assert_eq!(failures[0]["exit_code"], 4);
    assert!(failures[0]["message"].as_str().unwrap().len() > 5);
}
